//! Two-way points: the ledger, staff adjustments, spending on rewards, refunds, reports and the
//! leaderboard. After every concurrent test the balance equals the sum of the entries.

use chrono::{Duration, Utc};
use entity::user_role::Role;
use sea_orm::{ConnectionTrait, Statement};
use serde_json::{Value, json};

use entity::names::ObjectKind;
use shangju::domain::context::Cx;
use shangju::domain::points::{self, PointsKind, Posting, Source, SourceType};

use crate::builders::*;
use crate::support::*;

const ADJUST: &str =
    "mutation($input: AdjustPointsInput!) { adjustPoints(input: $input) { id amount kind note } }";
const MY_POINTS: &str = "{ myPoints { balance lifetimeEarned entries { totalCount edges { node { amount kind sourceType note } } } } }";

fn gid(kind: ObjectKind, id: i64) -> String {
    shangju::graphql::id::encode(kind, id).0
}

/// The balance and the sum of the entries, which must agree.
async fn ledger(app: &TestApp, user_id: i64) -> (i64, i64) {
    let backend = app.db.get_database_backend();
    let one = |sql: String| Statement::from_string(backend, sql);
    let sum = app
        .db
        .query_one_raw(one(format!(
            "SELECT COALESCE(SUM(amount), 0) AS n FROM points_entries WHERE user_id = {user_id}"
        )))
        .await
        .unwrap()
        .unwrap()
        .try_get::<i64>("", "n")
        .unwrap();
    let balance = points::account(&Cx::system(&app.state), user_id)
        .await
        .unwrap()
        .balance;
    assert_eq!(balance, sum, "balance {balance} but entries sum to {sum}");
    assert!(balance >= 0);
    (balance, sum)
}

/// A street and a staff member of it.
struct Street {
    app: TestApp,
    street: i64,
    place: TestStreet,
    staff: TestUser,
}

async fn street() -> Street {
    let app = TestApp::spawn().await;
    let place = app
        .new_street("九棵树街道", &["新城嘉园", "翠屏北里"])
        .await;
    let staff = app.new_user().staff_of(&place).insert().await;
    Street {
        street: place.id,
        place,
        staff,
        app,
    }
}

async fn give(s: &Street, user_id: i64, amount: i32) -> Value {
    s.app
        .gql_as(&s.staff.token, ADJUST, json!({ "input": { "userId": gid(ObjectKind::User, user_id), "amount": amount, "reason": "志愿服务" } }))
        .await
}

#[tokio::test]
async fn staff_adjust_points_and_residents_see_their_ledger() {
    let s = street().await;
    let r = s
        .app
        .user("13600000001", &[Role::Resident], Some(s.street))
        .await;
    let v = give(&s, r.id, 100).await;
    assert_eq!(v["data"]["adjustPoints"]["kind"], "ADJUSTMENT", "{v}");
    let v = give(&s, r.id, -30).await;
    assert_eq!(v["data"]["adjustPoints"]["amount"], -30);

    let mine = s.app.gql_as(&r.token, MY_POINTS, json!({})).await;
    let p = &mine["data"]["myPoints"];
    assert_eq!(p["balance"], 70, "{mine}");
    assert_eq!(p["lifetimeEarned"], 100);
    assert_eq!(p["entries"]["totalCount"], 2);
    assert_eq!(
        p["entries"]["edges"][0]["node"]["amount"], -30,
        "newest first"
    );
    assert_eq!(p["entries"]["edges"][0]["node"]["note"], "志愿服务");
    assert_eq!(
        s.app
            .count("audit_entries WHERE action = 'points.adjust'")
            .await,
        2
    );
    ledger(&s.app, r.id).await;

    let q = "query($u: ID!) { residentPoints(userId: $u) { balance } }";
    let v = s
        .app
        .gql_as(
            &s.staff.token,
            q,
            json!({ "u": gid(ObjectKind::User, r.id) }),
        )
        .await;
    assert_eq!(v["data"]["residentPoints"]["balance"], 70);
    let other = s
        .app
        .user("13600000002", &[Role::Resident], Some(s.street))
        .await;
    let v = s
        .app
        .gql_as(&other.token, q, json!({ "u": gid(ObjectKind::User, r.id) }))
        .await;
    expect_code(&v, "FORBIDDEN");
    let fresh = s.app.gql_as(&other.token, MY_POINTS, json!({})).await;
    assert_eq!(fresh["data"]["myPoints"]["balance"], 0);
}

#[tokio::test]
async fn adjustments_are_refused_to_the_wrong_people_and_bad_values() {
    let s = street().await;
    let r = s
        .app
        .user("13600000003", &[Role::Resident], Some(s.street))
        .await;
    let (far, _) = s.app.street("别的街道", &[]).await;
    let far_staff = s.app.staff("13600000004", far).await;
    let input = |amount: Value, reason: &str| json!({ "input": { "userId": gid(ObjectKind::User, r.id), "amount": amount, "reason": reason } });

    expect_code(
        &s.app.gql(ADJUST, input(json!(10), "x")).await,
        "UNAUTHENTICATED",
    );
    expect_code(
        &s.app.gql_by(Some(&r), ADJUST, input(json!(10), "x")).await,
        "FORBIDDEN",
    );
    expect_code(
        &s.app
            .gql_by(Some(&far_staff), ADJUST, input(json!(10), "x"))
            .await,
        "FORBIDDEN",
    );
    for (amount, reason, field) in [
        (json!(10), "", "reason"),
        (json!(0), "x", "amount"),
        (json!(10_001), "x", "amount"),
        (json!(-10_001), "x", "amount"),
    ] {
        let v = s
            .app
            .gql_as(&s.staff.token, ADJUST, input(amount.clone(), reason))
            .await;
        assert_eq!(code(&v), "BAD_USER_INPUT", "{amount} {reason:?}");
        assert_eq!(v["errors"][0]["extensions"]["field"], field);
    }
    let v = s
        .app
        .gql_as(&s.staff.token, ADJUST, input(json!(-1), "扣减"))
        .await;
    expect_code(&v, "INSUFFICIENT_POINTS");
    let missing =
        json!({ "input": { "userId": gid(ObjectKind::User, 9999), "amount": 5, "reason": "x" } });
    expect_code(
        &s.app.gql_by(Some(&s.staff), ADJUST, missing).await,
        "NOT_FOUND",
    );
    assert_eq!(s.app.count("points_entries").await, 0);
    assert_eq!(s.app.count("audit_entries").await, 0);
    ledger(&s.app, r.id).await;
}

#[tokio::test]
async fn one_source_posts_once_sequentially_and_in_parallel() {
    let s = street().await;
    let r = s
        .app
        .user("13600000005", &[Role::Resident], Some(s.street))
        .await;

    // Through the API: the same idempotency key.
    let keyed = json!({ "input": { "userId": gid(ObjectKind::User, r.id), "amount": 20, "reason": "活动", "idempotencyKey": "act-7" } });
    let a = s.app.gql_as(&s.staff.token, ADJUST, keyed.clone()).await;
    let b = s.app.gql_as(&s.staff.token, ADJUST, keyed.clone()).await;
    assert_eq!(a["data"], b["data"]);
    let answers = s
        .app
        .parallel(
            (0..20)
                .map(|_| {
                    (
                        Some(s.staff.token.clone()),
                        ADJUST.to_owned(),
                        keyed.clone(),
                    )
                })
                .collect(),
        )
        .await;
    assert_eq!(tally(&answers).get(""), Some(&20));
    assert_eq!(s.app.count("points_entries").await, 1);
    assert_eq!(ledger(&s.app, r.id).await.0, 20);

    // Through the posting API later capabilities use: one source, many tries.
    let posting = || Posting {
        user_id: r.id,
        street_id: Some(s.street),
        amount: 15,
        kind: PointsKind::Activity,
        source: Source::new(SourceType::ActivityAttendance, 42),
        note: None,
    };
    let first = points::post(&Cx::system(&s.app.state), posting())
        .await
        .unwrap();
    assert!(matches!(first, points::Posted::Created(_)));
    let again = points::post(&Cx::system(&s.app.state), posting())
        .await
        .unwrap();
    assert!(matches!(again, points::Posted::Already(_)));
    let tasks: Vec<_> = (0..20)
        .map(|_| {
            let state = s.app.state.clone();
            let p = posting();
            tokio::spawn(async move {
                let cx = Cx::system(&state);
                let tx = cx.write().await.unwrap();
                let r = points::post(&tx, p).await.unwrap();
                tx.commit().await.unwrap();
                r
            })
        })
        .collect();
    for t in tasks {
        assert!(matches!(t.await.unwrap(), points::Posted::Already(_)));
    }
    let mut parallel_new = Vec::new();
    for _ in 0..20 {
        let state = s.app.state.clone();
        let mut p = posting();
        p.source = Source::new(SourceType::ActivityAttendance, 43);
        parallel_new.push(tokio::spawn(async move {
            let cx = Cx::system(&state);
            let tx = cx.write().await.unwrap();
            let r = points::post(&tx, p).await.unwrap();
            tx.commit().await.unwrap();
            r
        }));
    }
    let mut created = 0;
    for t in parallel_new {
        created += usize::from(matches!(t.await.unwrap(), points::Posted::Created(_)));
    }
    assert_eq!(created, 1);
    assert_eq!(s.app.count("points_entries").await, 3);
    assert_eq!(ledger(&s.app, r.id).await.0, 50);
}

struct RewardShop {
    s: Street,
    merchant: String,
    owner: TestUser,
    coupon: String,
}

async fn reward_shop(cost: i32, per_user: i32) -> RewardShop {
    let s = street().await;
    let m = s.app.new_merchant(&s.place).insert().await;
    let (merchant, owner) = (m.gid, m.owner);
    let coupon = s
        .app
        .coupon(&owner, &merchant, json!({ "title": "积分换午餐", "kind": "FREE_ITEM", "percentOff": null,
            "itemName": "午餐一份", "pointsCost": cost, "perUserLimit": per_user, "totalStock": 100 }))
        .await;
    RewardShop {
        s,
        merchant,
        owner,
        coupon,
    }
}

#[tokio::test]
async fn twenty_parallel_claims_of_a_hundred_point_reward_with_a_hundred_points_give_one() {
    let shop = reward_shop(100, 20).await;
    let s = &shop.s;
    let r = s
        .app
        .user("13600000006", &[Role::Resident], Some(s.street))
        .await;
    give(s, r.id, 100).await;
    let answers = s
        .app
        .parallel(
            (0..20)
                .map(|_| {
                    (
                        Some(r.token.clone()),
                        CLAIM.to_owned(),
                        json!({ "id": shop.coupon }),
                    )
                })
                .collect(),
        )
        .await;
    let t = tally(&answers);
    assert_eq!(t.get(""), Some(&1), "{t:?}");
    assert_eq!(t.get("INSUFFICIENT_POINTS"), Some(&19), "{t:?}");
    assert_eq!(ledger(&s.app, r.id).await.0, 0);
    let c = s
        .app
        .gql_as(
            &shop.owner.token,
            "query($id: ID!) { coupon(id: $id) { remainingStock claimedCount pointsCost } }",
            json!({ "id": shop.coupon }),
        )
        .await;
    assert_eq!(
        c["data"]["coupon"]["remainingStock"], 99,
        "a refused claim takes no stock"
    );
    assert_eq!(c["data"]["coupon"]["claimedCount"], 1);
    assert_eq!(c["data"]["coupon"]["pointsCost"], 100);
    let mine = s.app.gql_as(&r.token, MY_POINTS, json!({})).await;
    assert_eq!(
        mine["data"]["myPoints"]["entries"]["edges"][0]["node"]["kind"],
        "REWARD_SPENT"
    );
    assert_eq!(mine["data"]["myPoints"]["lifetimeEarned"], 100);
}

#[tokio::test]
async fn voiding_an_unredeemed_points_claim_refunds_it() {
    let shop = reward_shop(40, 5).await;
    let s = &shop.s;
    let r = s
        .app
        .user("13600000007", &[Role::Resident], Some(s.street))
        .await;
    give(s, r.id, 50).await;
    let v = s
        .app
        .gql_as(
            &r.token,
            "mutation($id: ID!) { claimCoupon(couponId: $id) { id pointsSpent } }",
            json!({ "id": shop.coupon }),
        )
        .await;
    assert_eq!(v["data"]["claimCoupon"]["pointsSpent"], 40, "{v}");
    let claim = v["data"]["claimCoupon"]["id"].as_str().unwrap().to_owned();
    assert_eq!(ledger(&s.app, r.id).await.0, 10);
    let short = s
        .app
        .gql_as(&r.token, CLAIM, json!({ "id": shop.coupon }))
        .await;
    expect_code(&short, "INSUFFICIENT_POINTS");

    let void = "mutation($id: ID!) { voidCouponClaim(id: $id, reason: \"顾客取消\") { status } }";
    let v = s
        .app
        .gql_as(&shop.owner.token, void, json!({ "id": claim }))
        .await;
    assert_eq!(v["data"]["voidCouponClaim"]["status"], "VOIDED", "{v}");
    assert_eq!(ledger(&s.app, r.id).await.0, 50);
    let mine = s.app.gql_as(&r.token, MY_POINTS, json!({})).await;
    assert_eq!(
        mine["data"]["myPoints"]["entries"]["edges"][0]["node"]["kind"],
        "REFUND"
    );
    assert_eq!(
        mine["data"]["myPoints"]["lifetimeEarned"], 50,
        "a refund is not earning"
    );
    assert_eq!(mine["data"]["myPoints"]["entries"]["totalCount"], 3);
}

#[tokio::test]
async fn merchants_and_staff_see_what_points_rewards_collected() {
    let shop = reward_shop(30, 1).await;
    let s = &shop.s;
    for i in 0..3 {
        let r = s
            .app
            .user(&format!("1360000010{i}"), &[Role::Resident], Some(s.street))
            .await;
        give(s, r.id, 30).await;
        let v = s
            .app
            .gql_as(&r.token, CLAIM, json!({ "id": shop.coupon }))
            .await;
        if i == 0 {
            let code_text = v["data"]["claimCoupon"]["code"].as_str().unwrap();
            s.app
                .gql_as(
                    &shop.owner.token,
                    REDEEM,
                    json!({ "code": code_text, "key": "k" }),
                )
                .await;
        }
    }
    let from = (Utc::now() - Duration::hours(1)).to_rfc3339();
    let to = (Utc::now() + Duration::hours(1)).to_rfc3339();
    let q = "query($m: ID, $from: DateTime!, $to: DateTime!) { pointsRewardReport(merchantId: $m, from: $from, to: $to) { merchant { name } claimed redeemed pointsCollected } }";
    let v = s
        .app
        .gql_as(
            &shop.owner.token,
            q,
            json!({ "m": shop.merchant, "from": from, "to": to }),
        )
        .await;
    let row = &v["data"]["pointsRewardReport"][0];
    assert_eq!(
        (
            row["claimed"].as_i64(),
            row["redeemed"].as_i64(),
            row["pointsCollected"].as_i64()
        ),
        (Some(3), Some(1), Some(90)),
        "{v}"
    );
    assert_eq!(row["merchant"]["name"], "社区食堂");

    let v = s
        .app
        .gql_as(&s.staff.token, q, json!({ "from": from, "to": to }))
        .await;
    assert_eq!(
        v["data"]["pointsRewardReport"].as_array().unwrap().len(),
        1,
        "{v}"
    );
    assert_eq!(v["data"]["pointsRewardReport"][0]["pointsCollected"], 90);
    let earlier = s
        .app
        .gql_as(
            &s.staff.token,
            q,
            json!({ "from": "2020-01-01T00:00:00Z", "to": "2020-02-01T00:00:00Z" }),
        )
        .await;
    assert_eq!(earlier["data"]["pointsRewardReport"][0]["claimed"], 0);

    let resident = s
        .app
        .user("13600000199", &[Role::Resident], Some(s.street))
        .await;
    expect_code(
        &s.app
            .gql_by(
                Some(&resident),
                q,
                json!({ "m": shop.merchant, "from": from, "to": to }),
            )
            .await,
        "FORBIDDEN",
    );
    expect_code(
        &s.app
            .gql_by(Some(&shop.owner), q, json!({ "from": from, "to": to }))
            .await,
        "FORBIDDEN",
    );
    expect_code(
        &s.app
            .gql_by(Some(&s.staff), q, json!({ "from": to, "to": from }))
            .await,
        "BAD_USER_INPUT",
    );
}

#[tokio::test]
async fn the_leaderboard_ranks_masks_and_respects_opt_outs() {
    let s = street().await;
    let community = s.place.community("新城嘉园").gid.clone();
    let mut people = Vec::new();
    for (i, (name, pts)) in [("陈文林", 50), ("曹秀兰", 80), ("王五", 20), ("李四", 90)]
        .into_iter()
        .enumerate()
    {
        let u = s
            .app
            .new_user()
            .phone(&format!("1370000000{i}"))
            .name(name)
            .lives_in(&s.place, "新城嘉园")
            .insert()
            .await;
        give(&s, u.id, pts).await;
        people.push(u);
    }
    // Spending does not lower what was earned; 李四 opts out.
    give(&s, people[1].id, -70).await;
    let out = s
        .app
        .gql_as(
            &people[3].token,
            "mutation { setLeaderboardOptOut(optOut: true) }",
            json!({}),
        )
        .await;
    assert_eq!(out["data"]["setLeaderboardOptOut"], true);

    let q = "query($c: ID) { pointsLeaderboard(communityId: $c, period: WEEK, first: 2) { entries { rank displayName points } myRank { rank points } } }";
    let v = s.app.gql(q, json!({ "c": community })).await;
    let board = &v["data"]["pointsLeaderboard"];
    assert_eq!(
        board["entries"],
        json!([
            { "rank": 1, "displayName": "曹*兰", "points": 80 },
            { "rank": 2, "displayName": "陈*林", "points": 50 },
        ]),
        "{v}"
    );
    assert_eq!(board["myRank"], json!(null));
    let v = s
        .app
        .gql_as(&people[2].token, q, json!({ "c": community }))
        .await;
    assert_eq!(
        v["data"]["pointsLeaderboard"]["myRank"],
        json!({ "rank": 3, "points": 20 })
    );
    let v = s.app.gql_as(&people[2].token, q, json!({})).await;
    assert_eq!(
        v["data"]["pointsLeaderboard"]["myRank"]["rank"], 3,
        "defaults to the viewer's community"
    );
    expect_code(&s.app.gql(q, json!({})).await, "BAD_USER_INPUT");
}

/// A stored value the code does not know is an internal error (and a log line), never a
/// silent default.
#[tokio::test]
async fn an_unknown_stored_kind_is_an_error_not_a_default() {
    let s = street().await;
    let r = s.app.new_user().street(s.street).insert().await;
    let backend = s.app.db.get_database_backend();
    let insert = |kind: &str, key: &str| {
        let sql = match backend {
            sea_orm::DbBackend::Postgres => {
                "INSERT INTO points_entries (user_id, amount, kind, source_type, source_key, created_at) VALUES ($1, 10, $2, 'DEMO', $3, $4)"
            }
            _ => {
                "INSERT INTO points_entries (user_id, amount, kind, source_type, source_key, created_at) VALUES (?, 10, ?, 'DEMO', ?, ?)"
            }
        };
        Statement::from_sql_and_values(
            backend,
            sql,
            [r.id.into(), kind.into(), key.into(), Utc::now().into()],
        )
    };
    // A known value written the same way reads back fine …
    s.app
        .db
        .execute_raw(insert("VOLUNTEERING", "a"))
        .await
        .unwrap();
    let v = s.app.gql_as(&r.token, MY_POINTS, json!({})).await;
    assert_eq!(v["data"]["myPoints"]["entries"]["totalCount"], 1, "{v}");
    // … an unknown one does not.
    s.app.db.execute_raw(insert("BOGUS", "b")).await.unwrap();
    let v = s.app.gql_as(&r.token, MY_POINTS, json!({})).await;
    expect_code(&v, "INTERNAL_SERVER_ERROR");
    assert!(!v.to_string().contains("BOGUS"), "{v}");
}
