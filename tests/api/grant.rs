//! Granting an award: an approved award and a ready package with a copy left become, in one
//! transaction, the nominee's entitlements (one per item, shown with provider and progress),
//! bonus points posted once, and a used copy; racing or retried grants grant once.

use serde_json::{Value, json};

use entity::names::ObjectKind;

use crate::builders::*;
use crate::support::*;

pub const GRANT: &str = "mutation($id: ID!, $p: ID!, $b: Int) {
  grantAward(id: $id, packageId: $p, bonusPoints: $b) {
    claimCode award { id status bonusPoints grantedAt awaitingClaim } } }";
const CLAIM: &str = "mutation($c: String!) { claimAwardGrant(code: $c) {
  title bonusPoints entitlements { description usedCount validFrom validUntil provider { name } } } }";
pub const MINE: &str = "{ myEntitlements { totalCount nodes { kind description totalUses usedCount
  perDayLimit remainingValueFen status code qrPayload packageTitle provider { name } } } }";

pub struct Setting {
    pub street: TestStreet,
    pub staff: TestUser,
    pub canteen: TestMerchant,
    pub nominator: TestUser,
}

pub async fn setting(app: &TestApp) -> Setting {
    let street = app.new_street("九棵树街道", &["新城嘉园"]).await;
    let staff = app.new_user().staff_of(&street).insert().await;
    let canteen = app.new_merchant(&street).name("社区食堂").insert().await;
    let nominator = app.new_user().lives_in(&street, "新城嘉园").insert().await;
    Setting {
        street,
        staff,
        canteen,
        nominator,
    }
}

/// A ready package of `items` lunch items from the canteen, with `copies` copies.
async fn ready_package(app: &TestApp, s: &Setting, items: usize, copies: i32) -> String {
    let item = json!({ "providerId": s.canteen.gid, "kind": "ENTITLEMENT",
        "description": "一份午餐", "totalUses": 365, "perDayLimit": 1, "validDays": 365 });
    ready_package_of(app, s, vec![item; items], copies).await
}

/// A ready package of these items (all from the canteen), with `copies` copies.
pub async fn ready_package_of(
    app: &TestApp,
    s: &Setting,
    items: Vec<Value>,
    copies: i32,
) -> String {
    ready_package_by(app, s, items, copies, &[&s.canteen.owner]).await
}

/// A ready package of these items, with `copies` copies, item `i` confirmed by
/// `confirmers[i]` (or the last of them), its provider's owner.
pub async fn ready_package_by(
    app: &TestApp,
    s: &Setting,
    items: Vec<Value>,
    copies: i32,
    confirmers: &[&TestUser],
) -> String {
    let (id, item_ids) = draft_package(app, s, items, copies).await;
    send_package(app, s, &id).await;
    for (n, i) in item_ids.iter().enumerate() {
        let owner = confirmers[n.min(confirmers.len() - 1)];
        expect_ok(
            &app.gql_by(
                Some(owner),
                "mutation($id: ID!) { confirmPackageItem(id: $id) { id } }",
                json!({ "id": i }),
            )
            .await,
        );
    }
    id
}

/// A draft package of these items, with `copies` copies: its id and its items' ids.
pub async fn draft_package(
    app: &TestApp,
    s: &Setting,
    items: Vec<Value>,
    copies: i32,
) -> (String, Vec<String>) {
    let v = app
        .gql_by(
            Some(&s.staff),
            "mutation($input: CreateBenefitPackageInput!) { createBenefitPackage(input: $input) { id items { id } } }",
            json!({ "input": { "title": "暖心大礼包", "copies": copies, "items": items } }),
        )
        .await;
    let p = &v["data"]["createBenefitPackage"];
    let id = p["id"].as_str().unwrap_or_else(|| panic!("{v}")).to_owned();
    let items = p["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["id"].as_str().unwrap().to_owned())
        .collect();
    (id, items)
}

/// Staff send the package to its providers.
pub async fn send_package(app: &TestApp, s: &Setting, id: &str) {
    expect_ok(
        &app.gql_by(
            Some(&s.staff),
            "mutation($id: ID!) { sendBenefitPackage(id: $id) { id } }",
            json!({ "id": id }),
        )
        .await,
    );
}

/// An award for `nominee` (an account or a name and phone), approved unless `approve` is false.
pub async fn award(app: &TestApp, s: &Setting, nominee: Value, approve: bool) -> String {
    let mut input = json!({ "title": "燃气泄漏挨家敲门", "deed": "逐户敲门疏散",
        "happenedOn": "2026-11-20", "communityId": s.street.community("新城嘉园").gid });
    for (k, v) in nominee.as_object().unwrap() {
        input[k] = v.clone();
    }
    let v = app
        .gql_by(
            Some(&s.nominator),
            "mutation($input: NominateAwardInput!) { nominateAward(input: $input) { id } }",
            json!({ "input": input }),
        )
        .await;
    let id = v["data"]["nominateAward"]["id"]
        .as_str()
        .unwrap_or_else(|| panic!("{v}"))
        .to_owned();
    if approve {
        expect_ok(
            &app.gql_by(
                Some(&s.staff),
                "mutation($id: ID!) { reviewAward(id: $id, decision: APPROVE) { id } }",
                json!({ "id": id }),
            )
            .await,
        );
    }
    id
}

pub fn account(u: &TestUser) -> Value {
    json!({ "nomineeId": gid(ObjectKind::User, u.id) })
}

#[tokio::test]
async fn a_grant_gives_the_nominee_the_package_and_points_once() {
    let app = TestApp::spawn().await;
    let s = setting(&app).await;
    let courier = app
        .new_user()
        .lives_in(&s.street, "新城嘉园")
        .insert()
        .await;
    let package = ready_package(&app, &s, 2, 2).await;
    let first = award(&app, &s, account(&courier), true).await;
    let v = app
        .gql_by(
            Some(&s.staff),
            GRANT,
            json!({ "id": first, "p": package, "b": 200 }),
        )
        .await;
    assert_eq!(v["data"]["grantAward"]["claimCode"], Value::Null, "{v}");
    let g = &v["data"]["grantAward"]["award"];
    assert_eq!(g["awaitingClaim"], false, "{v}");
    assert_eq!(g["status"], "GRANTED", "{v}");
    assert_eq!(g["bonusPoints"], 200);
    assert!(g["grantedAt"].is_string());

    let v = app.gql_by(Some(&courier), MINE, json!({})).await;
    let mine = &v["data"]["myEntitlements"];
    assert_eq!(mine["totalCount"], 2, "{v}");
    let e = &mine["nodes"][0];
    assert_eq!(e["provider"]["name"], "社区食堂");
    assert_eq!(e["packageTitle"], "暖心大礼包");
    assert_eq!(
        (e["totalUses"].clone(), e["usedCount"].clone()),
        (json!(365), json!(0))
    );
    assert_eq!(e["status"], "ACTIVE");
    let code = e["code"].as_str().unwrap();
    assert_eq!(code.len(), 14, "{code}");
    assert!(
        e["qrPayload"]
            .as_str()
            .unwrap()
            .ends_with(&code.replace('-', ""))
    );
    assert_ne!(mine["nodes"][0]["code"], mine["nodes"][1]["code"]);
    let bonus = "points_entries WHERE kind = 'AWARD_BONUS' AND amount = 200";
    assert_eq!(app.count(bonus).await, 1);
    assert_eq!(
        app.count("audit_entries WHERE action = 'award.grant'")
            .await,
        1
    );
    // Nobody else sees them.
    let v = app.gql_by(Some(&s.nominator), MINE, json!({})).await;
    assert_eq!(v["data"]["myEntitlements"]["totalCount"], 0, "{v}");

    // Granted again: refused. Two copies grant twice, then no more.
    let again = app
        .gql_by(
            Some(&s.staff),
            GRANT,
            json!({ "id": first, "p": package, "b": 200 }),
        )
        .await;
    expect_code(&again, "INVALID_STATE");
    let second = award(&app, &s, account(&courier), true).await;
    expect_ok(
        &app.gql_by(Some(&s.staff), GRANT, json!({ "id": second, "p": package }))
            .await,
    );
    let third = award(&app, &s, account(&courier), true).await;
    expect_code(
        &app.gql_by(Some(&s.staff), GRANT, json!({ "id": third, "p": package }))
            .await,
        "INVALID_STATE",
    );
    assert_eq!(app.count("entitlements").await, 4);
    let v = app
        .gql_by(
            Some(&s.staff),
            "query($id: ID!) { benefitPackage(id: $id) { copiesLeft } }",
            json!({ "id": package }),
        )
        .await;
    assert_eq!(v["data"]["benefitPackage"]["copiesLeft"], 0, "{v}");
}

/// A nominee named by a number nobody has registered.
pub fn held_nominee() -> Value {
    json!({ "nomineeName": "陈文林", "nomineePhone": HELD_PHONE })
}

pub const HELD_PHONE: &str = "13911110000";

/// Grants an award to [`held_nominee`] with `package`, and returns the certificate's code.
pub async fn held_grant(app: &TestApp, s: &Setting, package: &str, bonus: i32) -> String {
    let by_phone = award(app, s, held_nominee(), true).await;
    let v = app
        .gql_by(
            Some(&s.staff),
            GRANT,
            json!({ "id": by_phone, "p": package, "b": bonus }),
        )
        .await;
    assert_eq!(v["data"]["grantAward"]["award"]["status"], "GRANTED", "{v}");
    assert_eq!(
        v["data"]["grantAward"]["award"]["awaitingClaim"], true,
        "{v}"
    );
    v["data"]["grantAward"]["claimCode"]
        .as_str()
        .unwrap_or_else(|| panic!("{v}"))
        .to_owned()
}

/// Signs in by SMS with `phone` (a new number becomes a resident) and returns the token.
pub async fn sign_in_by_code(app: &TestApp, phone: &str) -> String {
    let code = app.send_code(phone).await;
    let v = app
        .gql(
            "mutation($p: String!, $c: String!) { loginWithCode(phone: $p, code: $c) { accessToken } }",
            json!({ "p": phone, "c": code }),
        )
        .await;
    v["data"]["loginWithCode"]["accessToken"]
        .as_str()
        .unwrap_or_else(|| panic!("{v}"))
        .to_owned()
}

#[tokio::test]
async fn a_grant_for_someone_without_an_account_waits_for_their_claim_code() {
    let app = TestApp::spawn().await;
    let s = setting(&app).await;
    let package = ready_package(&app, &s, 2, 1).await;
    let printed = held_grant(&app, &s, &package, 300).await;
    assert_eq!(printed.len(), 14, "{printed}");
    // Held: nothing is anyone's yet, and the code itself is not stored.
    assert_eq!(app.count("entitlements").await, 0);
    assert_eq!(
        app.count("points_entries WHERE kind = 'AWARD_BONUS'").await,
        0
    );
    assert_eq!(
        app.count(&format!(
            "awards WHERE claim_code_digest LIKE '%{}%'",
            printed.replace('-', "")
        ))
        .await,
        0
    );
    assert_eq!(
        app.count("benefit_packages WHERE granted_count = 1").await,
        1
    );

    let impostor = sign_in_by_code(&app, "13922220000").await;
    let nominee = sign_in_by_code(&app, HELD_PHONE).await;
    let wrong = "ABCD-EFGH-JKMN";
    let cases: Vec<(Option<&str>, &str, &str)> = vec![
        (None, printed.as_str(), "UNAUTHENTICATED"),
        (Some(impostor.as_str()), printed.as_str(), "FORBIDDEN"),
        (Some(s.staff.token.as_str()), printed.as_str(), "FORBIDDEN"),
        (Some(nominee.as_str()), wrong, "BAD_USER_INPUT"),
        (Some(nominee.as_str()), "12345", "BAD_USER_INPUT"),
    ];
    for (token, c, want) in cases {
        let v = match token {
            Some(t) => app.gql_as(t, CLAIM, json!({ "c": c })).await,
            None => app.gql(CLAIM, json!({ "c": c })).await,
        };
        assert_eq!(code(&v), want, "{c} → {v}");
    }
    assert_eq!(app.count("entitlements").await, 0);
    assert_eq!(app.count("awards WHERE claimed_at IS NOT NULL").await, 0);

    // The nominee, signed in with the number, types the code as printed, in any case.
    let v = app
        .gql_as(&nominee, CLAIM, json!({ "c": printed.to_lowercase() }))
        .await;
    let c = &v["data"]["claimAwardGrant"];
    assert_eq!(c["bonusPoints"], 300, "{v}");
    assert_eq!(c["entitlements"].as_array().unwrap().len(), 2);
    assert_eq!(c["entitlements"][0]["provider"]["name"], "社区食堂");
    let v = app
        .gql_as(&nominee, "{ myPoints { balance } }", json!({}))
        .await;
    assert_eq!(v["data"]["myPoints"]["balance"], 300, "{v}");
    let v = app.gql_as(&nominee, MINE, json!({})).await;
    assert_eq!(v["data"]["myEntitlements"]["totalCount"], 2, "{v}");
    assert_eq!(
        app.count("audit_entries WHERE action = 'award.claim'")
            .await,
        1
    );
    // The claim is a step of the award's history: it stays granted, and the nominee took it.
    let v = app
        .gql_by(Some(&s.staff), "{ awards { nodes { id } } }", json!({}))
        .await;
    let id = v["data"]["awards"]["nodes"][0]["id"].clone();
    let v = app
        .gql_by(
            Some(&s.staff),
            "query($id: ID!) { history(id: $id) { nodes { action fromState toState } } }",
            json!({ "id": id }),
        )
        .await;
    let steps = &v["data"]["history"]["nodes"];
    assert_eq!(
        steps.as_array().unwrap().last().unwrap(),
        &json!({ "action": "CLAIM", "fromState": "GRANTED", "toState": "GRANTED" }),
        "{v}"
    );
    assert_eq!(
        app.count("lifecycle_history WHERE action = 'CLAIM' AND actor_user_id IS NOT NULL")
            .await,
        1
    );
    assert_eq!(app.count("events WHERE kind = 'award.claimed'").await, 1);
    // A used code is used.
    expect_code(
        &app.gql_as(&nominee, CLAIM, json!({ "c": printed })).await,
        "INVALID_STATE",
    );
    assert_eq!(app.count("entitlements").await, 2);
    assert_eq!(
        app.count("points_entries WHERE kind = 'AWARD_BONUS'").await,
        1
    );
}

#[tokio::test]
async fn a_lost_claim_code_is_replaced_by_staff_and_the_old_one_dies() {
    let app = TestApp::spawn().await;
    let s = setting(&app).await;
    let package = ready_package(&app, &s, 1, 1).await;
    let lost = held_grant(&app, &s, &package, 0).await;
    let v = app
        .gql_by(
            Some(&s.staff),
            "{ awards(filter: { status: GRANTED }) { nodes { id awaitingClaim } } }",
            json!({}),
        )
        .await;
    let id = v["data"]["awards"]["nodes"][0]["id"].clone();
    assert_eq!(
        v["data"]["awards"]["nodes"][0]["awaitingClaim"], true,
        "{v}"
    );
    let reissue = "mutation($id: ID!) { reissueAwardClaimCode(id: $id) { claimCode } }";
    for who in [None, Some(&s.nominator), Some(&s.canteen.owner)] {
        let v = app.gql_by(who, reissue, json!({ "id": id })).await;
        assert!(
            ["UNAUTHENTICATED", "FORBIDDEN"].contains(&code(&v).as_str()),
            "{v}"
        );
    }
    let v = app
        .gql_by(Some(&s.staff), reissue, json!({ "id": id }))
        .await;
    let fresh = v["data"]["reissueAwardClaimCode"]["claimCode"]
        .as_str()
        .unwrap_or_else(|| panic!("{v}"))
        .to_owned();
    assert_ne!(fresh, lost);
    let nominee = sign_in_by_code(&app, HELD_PHONE).await;
    expect_code(
        &app.gql_as(&nominee, CLAIM, json!({ "c": lost })).await,
        "BAD_USER_INPUT",
    );
    expect_ok(&app.gql_as(&nominee, CLAIM, json!({ "c": fresh })).await);
    expect_code(
        &app.gql_by(Some(&s.staff), reissue, json!({ "id": id }))
            .await,
        "INVALID_STATE",
    );
    assert_eq!(
        app.count("audit_entries WHERE action = 'award.reissue_code'")
            .await,
        1
    );
}

#[tokio::test]
async fn a_package_with_two_copies_grants_two_of_five_racing_awards() {
    let app = TestApp::spawn().await;
    let s = setting(&app).await;
    let courier = app
        .new_user()
        .lives_in(&s.street, "新城嘉园")
        .insert()
        .await;
    let package = ready_package(&app, &s, 2, 2).await;
    let mut racing = Vec::new();
    for _ in 0..5 {
        let a = award(&app, &s, account(&courier), true).await;
        racing.push((
            Some(s.staff.token.clone()),
            GRANT.to_owned(),
            json!({ "id": a, "p": package, "b": 10 }),
        ));
    }
    let t = tally(&app.parallel(racing).await);
    assert_eq!(t.get(""), Some(&2), "{t:?}");
    assert_eq!(t.get("INVALID_STATE"), Some(&3), "{t:?}");
    assert_eq!(app.count("awards WHERE status = 'GRANTED'").await, 2);
    assert_eq!(app.count("entitlements").await, 4);
    assert_eq!(
        app.count("points_entries WHERE kind = 'AWARD_BONUS'").await,
        2
    );
    assert_eq!(
        app.count("benefit_packages WHERE granted_count = 2").await,
        1
    );
}

#[tokio::test]
async fn twenty_racing_claims_deliver_once() {
    let app = TestApp::spawn().await;
    let s = setting(&app).await;
    let package = ready_package(&app, &s, 3, 1).await;
    let code = held_grant(&app, &s, &package, 50).await;
    let nominee = sign_in_by_code(&app, HELD_PHONE).await;
    let racing: Vec<_> = (0..20)
        .map(|_| {
            (
                Some(nominee.clone()),
                CLAIM.to_owned(),
                json!({ "c": code }),
            )
        })
        .collect();
    let t = tally(&app.parallel(racing).await);
    assert_eq!(t.get(""), Some(&1), "{t:?}");
    assert_eq!(t.get("INVALID_STATE"), Some(&19), "{t:?}");
    assert_eq!(app.count("entitlements").await, 3);
    assert_eq!(
        app.count("points_entries WHERE kind = 'AWARD_BONUS'").await,
        1
    );
}

#[tokio::test]
async fn a_nominee_who_signs_up_before_the_grant_gets_it_directly() {
    let app = TestApp::spawn().await;
    let s = setting(&app).await;
    let package = ready_package(&app, &s, 1, 1).await;
    let by_phone = award(&app, &s, held_nominee(), true).await;
    let token = sign_in_by_code(&app, HELD_PHONE).await;
    let v = app
        .gql_by(
            Some(&s.staff),
            GRANT,
            json!({ "id": by_phone, "p": package }),
        )
        .await;
    assert_eq!(v["data"]["grantAward"]["claimCode"], Value::Null, "{v}");
    let v = app.gql_as(&token, MINE, json!({})).await;
    assert_eq!(v["data"]["myEntitlements"]["totalCount"], 1, "{v}");
}

/// An account that merely typed the number in, without proving it by SMS, is not handed the
/// grant: it is held, and the certificate's code is the proof.
#[tokio::test]
async fn an_unproven_account_with_the_number_needs_the_certificate() {
    let app = TestApp::spawn().await;
    let s = setting(&app).await;
    let package = ready_package(&app, &s, 1, 1).await;
    let typed = app.new_user().phone(HELD_PHONE).insert().await;
    let printed = held_grant(&app, &s, &package, 0).await;
    assert_eq!(app.count("entitlements").await, 0);
    expect_ok(
        &app.gql_by(Some(&typed), CLAIM, json!({ "c": printed }))
            .await,
    );
    let v = app.gql_by(Some(&typed), MINE, json!({})).await;
    assert_eq!(v["data"]["myEntitlements"]["totalCount"], 1, "{v}");
}

#[tokio::test]
async fn twenty_racing_grants_grant_once() {
    let app = TestApp::spawn().await;
    let s = setting(&app).await;
    let courier = app
        .new_user()
        .lives_in(&s.street, "新城嘉园")
        .insert()
        .await;
    let package = ready_package(&app, &s, 3, 5).await;
    let id = award(&app, &s, account(&courier), true).await;
    let racing: Vec<_> = (0..20)
        .map(|_| {
            (
                Some(s.staff.token.clone()),
                GRANT.to_owned(),
                json!({ "id": id, "p": package, "b": 100 }),
            )
        })
        .collect();
    let t = tally(&app.parallel(racing).await);
    assert_eq!(t.get(""), Some(&1), "{t:?}");
    assert_eq!(t.get("INVALID_STATE"), Some(&19), "{t:?}");
    assert_eq!(app.count("entitlements").await, 3);
    assert_eq!(
        app.count("points_entries WHERE kind = 'AWARD_BONUS'").await,
        1
    );
    assert_eq!(
        app.count("benefit_packages WHERE granted_count = 1").await,
        1
    );
    assert_eq!(
        app.count("audit_entries WHERE action = 'award.grant'")
            .await,
        1
    );
    assert_eq!(app.count("events WHERE kind = 'award.granted'").await, 1);
}

#[tokio::test]
async fn grants_that_may_not_happen_change_nothing() {
    let app = TestApp::spawn().await;
    let s = setting(&app).await;
    let courier = app
        .new_user()
        .lives_in(&s.street, "新城嘉园")
        .insert()
        .await;
    let far = app.new_street("别的街道", &["远方社区"]).await;
    let far_staff = app.new_user().staff_of(&far).insert().await;
    let ready = ready_package(&app, &s, 1, 3).await;
    // A package still waiting for its provider.
    let v = app
        .gql_by(
            Some(&s.staff),
            "mutation($input: CreateBenefitPackageInput!) { createBenefitPackage(input: $input) { id } }",
            json!({ "input": { "title": "待确认", "items": [{ "providerId": s.canteen.gid,
                "kind": "VOUCHER", "description": "代金券", "valueFen": 1000, "validDays": 30 }] } }),
        )
        .await;
    let waiting = v["data"]["createBenefitPackage"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    expect_ok(
        &app.gql_by(
            Some(&s.staff),
            "mutation($id: ID!) { sendBenefitPackage(id: $id) { id } }",
            json!({ "id": waiting }),
        )
        .await,
    );
    let approved = award(&app, &s, account(&courier), true).await;
    // A package with an item its provider declined; one from another street; a withdrawn one.
    let declined = ready_package(&app, &s, 1, 1).await;
    let v = app
        .gql_by(
            Some(&s.staff),
            "query($id: ID!) { benefitPackage(id: $id) { items { id } } }",
            json!({ "id": declined }),
        )
        .await;
    let item = v["data"]["benefitPackage"]["items"][0]["id"].clone();
    expect_ok(
        &app.gql_by(
            Some(&s.staff),
            "mutation($id: ID!, $input: PackageItemInput!) { updatePackageItem(id: $id, input: $input) { id } }",
            json!({ "id": item, "input": { "providerId": s.canteen.gid, "kind": "ENTITLEMENT",
                "description": "两份午餐", "totalUses": 365, "perDayLimit": 1, "validDays": 365 } }),
        )
        .await,
    );
    expect_ok(
        &app.gql_by(
            Some(&s.canteen.owner),
            "mutation($id: ID!) { declinePackageItem(id: $id, reason: \"供不上\") { id } }",
            json!({ "id": item }),
        )
        .await,
    );
    let withdrawn = ready_package(&app, &s, 1, 1).await;
    expect_ok(
        &app.gql_by(
            Some(&s.staff),
            "mutation($id: ID!) { withdrawBenefitPackage(id: $id, reason: \"改期\") { id } }",
            json!({ "id": withdrawn }),
        )
        .await,
    );
    let far_s = Setting {
        canteen: app.new_merchant(&far).name("远方食堂").insert().await,
        street: far,
        staff: far_staff.clone(),
        nominator: s.nominator.clone(),
    };
    let elsewhere = ready_package(&app, &far_s, 1, 1).await;
    // Staff who nominated it themselves, approved by a colleague.
    let colleague = app.new_user().staff_of(&s.street).insert().await;
    let v = app
        .gql_by(
            Some(&s.staff),
            "mutation($input: NominateAwardInput!) { nominateAward(input: $input) { id } }",
            json!({ "input": { "title": "扶老人过街", "deed": "扶老人过街",
                "happenedOn": "2026-11-20", "communityId": s.street.community("新城嘉园").gid,
                "nomineeId": gid(ObjectKind::User, courier.id) } }),
        )
        .await;
    let own = v["data"]["nominateAward"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    expect_ok(
        &app.gql_by(
            Some(&colleague),
            "mutation($id: ID!) { reviewAward(id: $id, decision: APPROVE) { id } }",
            json!({ "id": own }),
        )
        .await,
    );
    let nominated = award(&app, &s, account(&courier), false).await;
    let rejected = award(&app, &s, account(&courier), false).await;
    expect_ok(
        &app.gql_by(
            Some(&s.staff),
            "mutation($id: ID!) { reviewAward(id: $id, decision: REJECT, reason: \"证据不足\") { id } }",
            json!({ "id": rejected }),
        )
        .await,
    );
    let cases: Vec<(Option<&TestUser>, Value, &str)> = vec![
        (
            None,
            json!({ "id": approved, "p": ready }),
            "UNAUTHENTICATED",
        ),
        (
            Some(&s.nominator),
            json!({ "id": approved, "p": ready }),
            "FORBIDDEN",
        ),
        (
            Some(&far_staff),
            json!({ "id": approved, "p": ready }),
            "FORBIDDEN",
        ),
        (
            Some(&s.canteen.owner),
            json!({ "id": approved, "p": ready }),
            "FORBIDDEN",
        ),
        (
            Some(&courier),
            json!({ "id": approved, "p": ready }),
            "FORBIDDEN",
        ),
        (
            Some(&s.staff),
            json!({ "id": approved, "p": waiting }),
            "INVALID_STATE",
        ),
        (
            Some(&s.staff),
            json!({ "id": approved, "p": declined }),
            "INVALID_STATE",
        ),
        (
            Some(&s.staff),
            json!({ "id": approved, "p": withdrawn }),
            "INVALID_STATE",
        ),
        (
            Some(&s.staff),
            json!({ "id": approved, "p": elsewhere }),
            "BAD_USER_INPUT",
        ),
        (
            Some(&s.staff),
            json!({ "id": own, "p": ready }),
            "FORBIDDEN",
        ),
        (
            Some(&s.staff),
            json!({ "id": nominated, "p": ready }),
            "INVALID_STATE",
        ),
        (
            Some(&s.staff),
            json!({ "id": rejected, "p": ready }),
            "INVALID_STATE",
        ),
        (
            Some(&s.staff),
            json!({ "id": approved, "p": ready, "b": -5 }),
            "BAD_USER_INPUT",
        ),
        (
            Some(&s.staff),
            json!({ "id": approved, "p": ready, "b": 10001 }),
            "BAD_USER_INPUT",
        ),
        (
            Some(&s.staff),
            json!({ "id": approved, "p": "QmVuZWZpdFBhY2thZ2U6OTk" }),
            "BAD_USER_INPUT",
        ),
    ];
    for (who, vars, want) in cases {
        let v = app.gql_by(who, GRANT, vars.clone()).await;
        assert_eq!(code(&v), want, "{vars} → {v}");
    }
    assert_eq!(app.count("entitlements").await, 0);
    assert_eq!(
        app.count("points_entries WHERE kind = 'AWARD_BONUS'").await,
        0
    );
    assert_eq!(app.count("awards WHERE status = 'GRANTED'").await, 0);
    assert_eq!(
        app.count("benefit_packages WHERE granted_count > 0").await,
        0
    );
    assert_eq!(
        app.count("audit_entries WHERE action = 'award.grant'")
            .await,
        0
    );
    assert_eq!(app.count("events WHERE kind = 'award.granted'").await, 0);
}

/// Fifty entitlements with their providers and packages cost what five do.
#[tokio::test]
async fn listing_entitlements_costs_the_same_for_five_and_fifty() {
    let app = TestApp::spawn().await;
    let s = setting(&app).await;
    let few = app
        .new_user()
        .lives_in(&s.street, "新城嘉园")
        .insert()
        .await;
    let many = app
        .new_user()
        .lives_in(&s.street, "新城嘉园")
        .insert()
        .await;
    let small = ready_package(&app, &s, 5, 1).await;
    let a = award(&app, &s, account(&few), true).await;
    expect_ok(
        &app.gql_by(Some(&s.staff), GRANT, json!({ "id": a, "p": small }))
            .await,
    );
    // Fifty from five packages: a lookup per package would show.
    for _ in 0..5 {
        let big = ready_package(&app, &s, 10, 1).await;
        let a = award(&app, &s, account(&many), true).await;
        expect_ok(
            &app.gql_by(Some(&s.staff), GRANT, json!({ "id": a, "p": big }))
                .await,
        );
    }
    let q = "{ myEntitlements(first: 100) { nodes { description usedCount provider { name } packageTitle } } }";
    let (v5, n5) = app.gql_counting(Some(&few), q).await;
    let (v50, n50) = app.gql_counting(Some(&many), q).await;
    assert_eq!(
        v5["data"]["myEntitlements"]["nodes"]
            .as_array()
            .unwrap()
            .len(),
        5
    );
    assert_eq!(
        v50["data"]["myEntitlements"]["nodes"]
            .as_array()
            .unwrap()
            .len(),
        50
    );
    assert_eq!(n5, n50, "statements: {n5} for 5, {n50} for 50");
    assert!(n50 <= 4, "{n50} statements");
}
