//! Redeeming entitlements at the provider's counter: one use (or an amount off a voucher) per
//! redemption, exactly as many as are left however many race, at most the day's limit, only at
//! its provider, never past its validity; a retry with the same key returns the first result.

use serde_json::{Value, json};

use crate::builders::*;
use crate::grant::{GRANT, MINE, Setting, account, award, ready_package_of, setting};
use crate::support::*;

const REDEEM: &str = "mutation($c: String!, $k: String!, $a: Int) {
  redeemEntitlement(code: $c, idempotencyKey: $k, amountFen: $a) { usedCount remainingValueFen status } }";

/// Grants `item` (from the canteen) to a new resident; returns them and the code.
async fn granted(app: &TestApp, s: &Setting, item: Value) -> (TestUser, String) {
    let holder = app
        .new_user()
        .lives_in(&s.street, "新城嘉园")
        .insert()
        .await;
    let package = ready_package_of(app, s, vec![item], 1).await;
    let a = award(app, s, account(&holder), true).await;
    expect_ok(
        &app.gql_by(Some(&s.staff), GRANT, json!({ "id": a, "p": package }))
            .await,
    );
    let v = app.gql_by(Some(&holder), MINE, json!({})).await;
    let code = v["data"]["myEntitlements"]["nodes"][0]["code"]
        .as_str()
        .unwrap_or_else(|| panic!("{v}"))
        .to_owned();
    (holder, code)
}

fn lunches(s: &Setting, total: Option<i32>, per_day: Option<i32>) -> Value {
    json!({ "providerId": s.canteen.gid, "kind": "ENTITLEMENT", "description": "一份午餐",
            "totalUses": total, "perDayLimit": per_day, "validDays": 365 })
}

fn racing(
    by: &TestUser,
    code: &str,
    n: usize,
    amount: Option<i64>,
) -> Vec<(Option<String>, String, Value)> {
    (0..n)
        .map(|i| {
            (
                Some(by.token.clone()),
                REDEEM.to_owned(),
                json!({ "c": code, "k": format!("scan-{i}"), "a": amount }),
            )
        })
        .collect()
}

#[tokio::test]
async fn the_last_use_is_redeemed_once_however_many_race() {
    let app = TestApp::spawn().await;
    let s = setting(&app).await;
    let (holder, code) = granted(&app, &s, lunches(&s, Some(1), None)).await;
    let t = tally(
        &app.parallel(racing(&s.canteen.owner, &code, 20, None))
            .await,
    );
    assert_eq!(t.get(""), Some(&1), "{t:?}");
    assert_eq!(t.get("LIMIT_REACHED"), Some(&19), "{t:?}");
    assert_eq!(app.count("entitlement_uses").await, 1);
    assert_eq!(
        app.count("audit_entries WHERE action = 'entitlement.redeem'")
            .await,
        1
    );
    // The holder hears of the one use, as a coupon's holder does.
    assert_eq!(
        app.count(&format!(
            "events WHERE kind = 'entitlement.redeemed' AND CAST(concerned_user_ids AS TEXT) = '[{}]'",
            holder.id
        ))
        .await,
        1
    );
    let v = app.gql_by(Some(&holder), MINE, json!({})).await;
    let e = &v["data"]["myEntitlements"]["nodes"][0];
    assert_eq!(
        (e["usedCount"].clone(), e["status"].clone()),
        (json!(1), json!("USED_UP"))
    );
}

#[tokio::test]
async fn a_lunch_a_day_means_one_a_day() {
    let app = TestApp::spawn().await;
    let s = setting(&app).await;
    let (_, code) = granted(&app, &s, lunches(&s, Some(365), Some(1))).await;
    let t = tally(
        &app.parallel(racing(&s.canteen.owner, &code, 10, None))
            .await,
    );
    assert_eq!(t.get(""), Some(&1), "{t:?}");
    assert_eq!(t.get("LIMIT_REACHED"), Some(&9), "{t:?}");
    // The next day, the next lunch.
    app.clock.advance(chrono::Duration::days(1));
    let v = app
        .gql_by(
            Some(&s.canteen.owner),
            REDEEM,
            json!({ "c": code, "k": "tomorrow" }),
        )
        .await;
    assert_eq!(v["data"]["redeemEntitlement"]["usedCount"], 2, "{v}");
}

/// Days are Shanghai's: 15:30 and 16:30 UTC on one date are two days there (23:30, 00:30).
#[tokio::test]
async fn the_daily_limit_counts_days_in_the_streets_time_zone() {
    let app = TestApp::spawn().await;
    app.clock.set(
        chrono::DateTime::parse_from_rfc3339("2026-12-02T15:30:00Z")
            .unwrap()
            .to_utc(),
    );
    let s = setting(&app).await;
    let (_, code) = granted(&app, &s, lunches(&s, Some(365), Some(1))).await;
    let by = Some(&s.canteen.owner);
    expect_ok(
        &app.gql_by(by, REDEEM, json!({ "c": code, "k": "late" }))
            .await,
    );
    expect_code(
        &app.gql_by(by, REDEEM, json!({ "c": code, "k": "again" }))
            .await,
        "LIMIT_REACHED",
    );
    app.clock.advance(chrono::Duration::hours(1));
    let v = app
        .gql_by(by, REDEEM, json!({ "c": code, "k": "early" }))
        .await;
    assert_eq!(v["data"]["redeemEntitlement"]["usedCount"], 2, "{v}");
}

/// One key racing itself: one use, and every answer the same.
#[tokio::test]
async fn one_key_racing_itself_uses_once() {
    let app = TestApp::spawn().await;
    let s = setting(&app).await;
    let (_, code) = granted(&app, &s, lunches(&s, Some(365), None)).await;
    let same: Vec<_> = (0..20)
        .map(|_| {
            (
                Some(s.canteen.owner.token.clone()),
                REDEEM.to_owned(),
                json!({ "c": code, "k": "one-key" }),
            )
        })
        .collect();
    let answers = app.parallel(same).await;
    assert_eq!(tally(&answers).get(""), Some(&20), "{answers:?}");
    assert!(answers.iter().all(|a| a == &answers[0]), "{answers:?}");
    assert_eq!(app.count("entitlement_uses").await, 1);
}

#[tokio::test]
async fn a_voucher_pays_out_no_more_than_its_value() {
    let app = TestApp::spawn().await;
    let s = setting(&app).await;
    let voucher = json!({ "providerId": s.canteen.gid, "kind": "VOUCHER",
        "description": "代金券", "valueFen": 5000, "validDays": 180 });
    let (holder, code) = granted(&app, &s, voucher).await;
    let t = tally(
        &app.parallel(racing(&s.canteen.owner, &code, 20, Some(1000)))
            .await,
    );
    assert_eq!(t.get(""), Some(&5), "{t:?}");
    assert_eq!(t.get("INSUFFICIENT_VALUE"), Some(&15), "{t:?}");
    let v = app.gql_by(Some(&holder), MINE, json!({})).await;
    let e = &v["data"]["myEntitlements"]["nodes"][0];
    assert_eq!(e["remainingValueFen"], 0, "{v}");
    assert_eq!(e["status"], "USED_UP");
}

#[tokio::test]
async fn redemptions_that_may_not_happen_change_nothing() {
    let app = TestApp::spawn().await;
    let s = setting(&app).await;
    let (holder, code) = granted(&app, &s, lunches(&s, Some(10), None)).await;
    let market = app.new_merchant(&s.street).name("七鲜超市").insert().await;
    let market_clerk = app.new_user().insert().await;
    app.join_as_clerk(&market.owner, &market.gid, &market_clerk)
        .await;
    let canteen_clerk = app.new_user().insert().await;
    app.join_as_clerk(&s.canteen.owner, &s.canteen.gid, &canteen_clerk)
        .await;
    let cases: Vec<(Option<&TestUser>, Value, &str)> = vec![
        (None, json!({ "c": code, "k": "a" }), "UNAUTHENTICATED"),
        (
            Some(&market_clerk),
            json!({ "c": code, "k": "b" }),
            "FORBIDDEN",
        ),
        (
            Some(&market.owner),
            json!({ "c": code, "k": "c" }),
            "FORBIDDEN",
        ),
        (Some(&holder), json!({ "c": code, "k": "d" }), "FORBIDDEN"),
        (Some(&s.staff), json!({ "c": code, "k": "e" }), "FORBIDDEN"),
        (
            Some(&canteen_clerk),
            json!({ "c": "ABCD-EFGH-JKMN", "k": "f" }),
            "NOT_FOUND",
        ),
        (
            Some(&canteen_clerk),
            json!({ "c": "not a code", "k": "g" }),
            "BAD_USER_INPUT",
        ),
        (
            Some(&canteen_clerk),
            json!({ "c": code, "k": "h", "a": 100 }),
            "BAD_USER_INPUT",
        ),
        (
            Some(&canteen_clerk),
            json!({ "c": code, "k": "bad key!" }),
            "BAD_USER_INPUT",
        ),
    ];
    for (who, vars, want) in cases {
        let v = app.gql_by(who, REDEEM, vars.clone()).await;
        assert_eq!(code_of(&v), want, "{vars} → {v}");
    }
    assert_eq!(app.count("entitlement_uses").await, 0);

    // A clerk of the provider redeems; the same key again answers the first result.
    let v = app
        .gql_by(
            Some(&canteen_clerk),
            REDEEM,
            json!({ "c": code, "k": "lunch-1" }),
        )
        .await;
    assert_eq!(v["data"]["redeemEntitlement"]["usedCount"], 1, "{v}");
    let second = json!({ "c": code, "k": "lunch-2" });
    expect_ok(&app.gql_by(Some(&canteen_clerk), REDEEM, second).await);
    // The first key again answers what it did then (one use), not the entitlement now (two).
    let first = json!({ "c": code, "k": "lunch-1" });
    let again = app.gql_by(Some(&canteen_clerk), REDEEM, first).await;
    assert_eq!(
        again["data"]["redeemEntitlement"]["usedCount"], 1,
        "{again}"
    );
    assert_eq!(app.count("entitlement_uses").await, 2);
    let served = format!(
        "entitlement_uses WHERE served_by = {} AND merchant_id = {} AND request_id IS NOT NULL",
        canteen_clerk.id, s.canteen.id
    );
    assert_eq!(app.count(&served).await, 2);

    // Past its validity: expired.
    app.clock.advance(chrono::Duration::days(366));
    let v = app
        .gql_by(
            Some(&canteen_clerk),
            REDEEM,
            json!({ "c": code, "k": "late" }),
        )
        .await;
    assert_eq!(code_of(&v), "EXPIRED", "{v}");
    assert_eq!(app.count("entitlement_uses").await, 2);
}

#[tokio::test]
async fn a_voucher_needs_an_amount_and_a_key_is_bound_to_it() {
    let app = TestApp::spawn().await;
    let s = setting(&app).await;
    let voucher = json!({ "providerId": s.canteen.gid, "kind": "VOUCHER",
        "description": "代金券", "valueFen": 5000, "validDays": 180 });
    let (_, code) = granted(&app, &s, voucher).await;
    let by = Some(&s.canteen.owner);
    for (vars, want) in [
        (json!({ "c": code, "k": "v0" }), "BAD_USER_INPUT"),
        (json!({ "c": code, "k": "v0", "a": 0 }), "BAD_USER_INPUT"),
        (
            json!({ "c": code, "k": "v0", "a": 6000 }),
            "INSUFFICIENT_VALUE",
        ),
    ] {
        let v = app.gql_by(by, REDEEM, vars.clone()).await;
        assert_eq!(code_of(&v), want, "{vars} → {v}");
    }
    let v = app
        .gql_by(by, REDEEM, json!({ "c": code, "k": "v1", "a": 1200 }))
        .await;
    assert_eq!(
        v["data"]["redeemEntitlement"]["remainingValueFen"], 3800,
        "{v}"
    );
    let v = app
        .gql_by(by, REDEEM, json!({ "c": code, "k": "v1", "a": 800 }))
        .await;
    assert_eq!(code_of(&v), "IDEMPOTENCY_KEY_REUSED", "{v}");
    assert_eq!(app.count("entitlement_uses").await, 1);
}

fn code_of(v: &Value) -> String {
    code(v)
}

/// A provider sees what it has given, with each use and the holder's phone masked, never the
/// code; the holder sees the same history.
#[tokio::test]
async fn a_provider_sees_what_it_gave_and_the_holder_its_history() {
    let app = TestApp::spawn().await;
    let s = setting(&app).await;
    let (holder, code) = granted(&app, &s, lunches(&s, Some(365), Some(1))).await;
    expect_ok(
        &app.gql_by(
            Some(&s.canteen.owner),
            REDEEM,
            json!({ "c": code, "k": "day-1" }),
        )
        .await,
    );
    let provided = "query($m: ID!) { providedEntitlements(merchantId: $m) { totalCount
      nodes { usedCount holderPhone code uses { amountFen localDay usedAt } } } }";
    let v = app
        .gql_by(
            Some(&s.canteen.owner),
            provided,
            json!({ "m": s.canteen.gid }),
        )
        .await;
    let list = &v["data"]["providedEntitlements"];
    assert_eq!(list["totalCount"], 1, "{v}");
    let e = &list["nodes"][0];
    let masked = format!("{}****{}", &holder.phone[..3], &holder.phone[7..]);
    assert_eq!(e["holderPhone"], masked);
    assert_eq!(e["uses"].as_array().unwrap().len(), 1);
    assert!(e["code"].is_null(), "{v}");
    expect_code(&v, "FORBIDDEN");
    let v = app
        .gql_by(Some(&s.staff), provided, json!({ "m": s.canteen.gid }))
        .await;
    assert_eq!(v["data"]["providedEntitlements"]["totalCount"], 1, "{v}");
    let other = app.new_merchant(&s.street).name("七鲜超市").insert().await;
    for who in [&other.owner, &holder] {
        let v = app
            .gql_by(Some(who), provided, json!({ "m": s.canteen.gid }))
            .await;
        expect_code(&v, "FORBIDDEN");
    }
    let v = app
        .gql_by(
            Some(&holder),
            "{ myEntitlements { nodes { code uses { localDay } } } }",
            json!({}),
        )
        .await;
    let mine = &v["data"]["myEntitlements"]["nodes"][0];
    assert_eq!(mine["uses"].as_array().unwrap().len(), 1, "{v}");
    assert!(mine["code"].is_string(), "{v}");

    // By ID: whoever sees it in the provider's records, without its code; nobody else.
    let v = app
        .gql_by(
            Some(&holder),
            "{ myEntitlements { nodes { id } } }",
            json!({}),
        )
        .await;
    let id = v["data"]["myEntitlements"]["nodes"][0]["id"].clone();
    let node = "query($id: ID!) { node(id: $id) { ... on Entitlement { usedCount code } } }";
    for who in [&s.canteen.owner, &s.staff] {
        let v = app.gql_by(Some(who), node, json!({ "id": id })).await;
        assert_eq!(v["data"]["node"]["usedCount"], 1, "{v}");
        assert!(v["data"]["node"]["code"].is_null(), "{v}");
    }
    let v = app.gql_by(Some(&holder), node, json!({ "id": id })).await;
    assert!(v["data"]["node"]["code"].is_string(), "{v}");
    let v = app
        .gql_by(Some(&other.owner), node, json!({ "id": id }))
        .await;
    expect_code(&v, "FORBIDDEN");
}

#[tokio::test]
async fn staff_void_an_entitlement_and_it_is_redeemed_no_more() {
    let app = TestApp::spawn().await;
    let s = setting(&app).await;
    let (holder, code) = granted(&app, &s, lunches(&s, Some(365), None)).await;
    let v = app
        .gql_by(
            Some(&holder),
            "{ myEntitlements { nodes { id } } }",
            json!({}),
        )
        .await;
    let id = v["data"]["myEntitlements"]["nodes"][0]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let far = app.new_street("别的街道", &["远方社区"]).await;
    let far_staff = app.new_user().staff_of(&far).insert().await;
    let void = "mutation($id: ID!, $r: String!) { voidEntitlement(id: $id, reason: $r) { status voidReason } }";
    for (who, r, want) in [
        (None, "发错了", "UNAUTHENTICATED"),
        (Some(&far_staff), "发错了", "FORBIDDEN"),
        (Some(&s.canteen.owner), "发错了", "FORBIDDEN"),
        (Some(&holder), "发错了", "FORBIDDEN"),
        (Some(&s.staff), " ", "BAD_USER_INPUT"),
    ] {
        let v = app.gql_by(who, void, json!({ "id": id, "r": r })).await;
        assert_eq!(code_of(&v), want, "{v}");
    }
    let v = app
        .gql_by(Some(&s.staff), void, json!({ "id": id, "r": "重复发放" }))
        .await;
    assert_eq!(v["data"]["voidEntitlement"]["status"], "VOIDED", "{v}");
    assert_eq!(v["data"]["voidEntitlement"]["voidReason"], "重复发放");
    expect_code(
        &app.gql_by(Some(&s.staff), void, json!({ "id": id, "r": "再作废" }))
            .await,
        "INVALID_STATE",
    );
    let v = app
        .gql_by(
            Some(&s.canteen.owner),
            REDEEM,
            json!({ "c": code, "k": "after-void" }),
        )
        .await;
    assert_eq!(code_of(&v), "INVALID_STATE", "{v}");
    assert_eq!(app.count("entitlement_uses").await, 0);
    assert_eq!(
        app.count("audit_entries WHERE action = 'entitlement.void'")
            .await,
        1
    );
}

#[tokio::test]
async fn lists_show_entitlements_by_where_they_stand() {
    let app = TestApp::spawn().await;
    let s = setting(&app).await;
    let holder = app
        .new_user()
        .lives_in(&s.street, "新城嘉园")
        .insert()
        .await;
    let item = |d: &str, uses: i32, days: i32| {
        json!({ "providerId": s.canteen.gid, "kind": "ENTITLEMENT", "description": d,
            "totalUses": uses, "validDays": days })
    };
    let package = ready_package_of(
        &app,
        &s,
        vec![
            item("一次用完", 1, 365),
            item("将被作废", 5, 365),
            item("全年午餐", 365, 365),
            item("一天有效", 1, 1),
        ],
        1,
    )
    .await;
    let a = award(&app, &s, account(&holder), true).await;
    expect_ok(
        &app.gql_by(Some(&s.staff), GRANT, json!({ "id": a, "p": package }))
            .await,
    );
    let v = app
        .gql_by(
            Some(&holder),
            "{ myEntitlements { nodes { id description code } } }",
            json!({}),
        )
        .await;
    let nodes = v["data"]["myEntitlements"]["nodes"]
        .as_array()
        .unwrap()
        .clone();
    let find = |d: &str| {
        nodes
            .iter()
            .find(|n| n["description"] == d)
            .unwrap_or_else(|| panic!("{v}"))
            .clone()
    };
    expect_ok(
        &app.gql_by(
            Some(&s.canteen.owner),
            REDEEM,
            json!({ "c": find("一次用完")["code"], "k": "k1" }),
        )
        .await,
    );
    expect_ok(
        &app.gql_by(
            Some(&s.staff),
            "mutation($id: ID!) { voidEntitlement(id: $id, reason: \"重复发放\") { id } }",
            json!({ "id": find("将被作废")["id"] }),
        )
        .await,
    );
    app.clock.advance(chrono::Duration::days(2));
    let mine = "query($s: EntitlementStatus, $o: EntitlementOrder) {
      myEntitlements(status: $s, orderBy: $o) { totalCount nodes { description status } } }";
    for (status, want) in [
        ("ACTIVE", "全年午餐"),
        ("USED_UP", "一次用完"),
        ("VOIDED", "将被作废"),
        ("EXPIRED", "一天有效"),
    ] {
        let v = app
            .gql_by(Some(&holder), mine, json!({ "s": status }))
            .await;
        let list = &v["data"]["myEntitlements"];
        assert_eq!(list["totalCount"], 1, "{status}: {v}");
        assert_eq!(list["nodes"][0]["description"], want, "{status}");
        assert_eq!(
            list["nodes"][0]["status"], status,
            "the filter and the field agree"
        );
    }
    let order = |v: &Value| -> Vec<String> {
        v["data"]["myEntitlements"]["nodes"]
            .as_array()
            .unwrap()
            .iter()
            .map(|n| n["description"].as_str().unwrap().to_owned())
            .collect()
    };
    let newest = order(&app.gql_by(Some(&holder), mine, json!({})).await);
    let mut oldest = order(
        &app.gql_by(
            Some(&holder),
            mine,
            json!({ "o": { "field": "CREATED_AT", "direction": "ASC" } }),
        )
        .await,
    );
    oldest.reverse();
    assert_eq!(newest, oldest);
    assert_eq!(newest.len(), 4);
    let v = app
        .gql_by(
            Some(&s.canteen.owner),
            "query($m: ID!) { providedEntitlements(merchantId: $m, status: ACTIVE) { totalCount } }",
            json!({ "m": s.canteen.gid }),
        )
        .await;
    assert_eq!(v["data"]["providedEntitlements"]["totalCount"], 1, "{v}");
}
