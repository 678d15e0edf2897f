//! Events: every change a person should hear about writes one in its own transaction, and a
//! change that rolls back leaves none. Commands compose: one run inside another's transaction
//! commits or rolls back with it.

use entity::event::{self, EventKind};
use entity::merchant::MerchantStatus;
use entity::names::ObjectKind;
use entity::points_entry::{PointsKind, SourceType};
use entity::user;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder};
use serde_json::json;

use shangju::domain::context::Cx;
use shangju::domain::events::{self, Event};
use shangju::domain::points::{self, Posting, Source};

use crate::builders::*;
use crate::support::*;

async fn events(app: &TestApp) -> Vec<event::Model> {
    event::Entity::find()
        .order_by_asc(event::Column::Id)
        .all(&app.db)
        .await
        .expect("events")
}

fn concerned(e: &event::Model) -> Vec<i64> {
    serde_json::from_value(e.concerned_user_ids.clone()).expect("ids")
}

const SUSPEND: &str =
    "mutation($id: ID!, $r: String!) { suspendMerchant(merchantId: $id, reason: $r) { status } }";
const REINSTATE: &str =
    "mutation($id: ID!, $r: String!) { reinstateMerchant(merchantId: $id, reason: $r) { status } }";
const VOID: &str =
    "mutation($id: ID!, $r: String!) { voidCouponClaim(id: $id, reason: $r) { status } }";

#[tokio::test]
async fn merchant_decisions_tell_the_owner() {
    let app = TestApp::spawn().await;
    let street = app.new_street("九棵树街道", &["新城嘉园"]).await;
    let staff = app.new_user().staff_of(&street).insert().await;
    let m = app
        .new_merchant(&street)
        .status(MerchantStatus::Pending)
        .insert()
        .await;
    let v = app
        .gql_by(
            Some(&staff),
            REVIEW,
            json!({ "input": { "merchantId": m.gid, "decision": "APPROVE" } }),
        )
        .await;
    expect_ok(&v);
    expect_ok(
        &app.gql_by(
            Some(&staff),
            SUSPEND,
            json!({ "id": m.gid, "r": "食品安全检查" }),
        )
        .await,
    );
    expect_ok(
        &app.gql_by(
            Some(&staff),
            REINSTATE,
            json!({ "id": m.gid, "r": "整改完成" }),
        )
        .await,
    );

    let all = events(&app).await;
    let kinds: Vec<EventKind> = all.iter().map(|e| e.kind).collect();
    assert_eq!(
        kinds,
        [
            EventKind::MerchantApproved,
            EventKind::MerchantSuspended,
            EventKind::MerchantReinstated
        ]
    );
    for e in &all {
        assert_eq!(e.object_type, ObjectKind::Merchant);
        assert_eq!(e.object_id, m.id);
        assert_eq!(e.street_id, Some(street.id));
        assert_eq!(e.actor_user_id, Some(staff.id));
        assert_eq!(concerned(e), [m.owner.id]);
        assert!(e.request_id.is_some());
    }
    assert_eq!(all[1].payload["reason"], "食品安全检查");
    assert_eq!(all[0].payload["name"], "社区食堂");
}

#[tokio::test]
async fn redemptions_voids_take_downs_and_points_tell_the_people_concerned() {
    let app = TestApp::spawn().await;
    let street = app.new_street("九棵树街道", &["新城嘉园"]).await;
    let staff = app.new_user().staff_of(&street).insert().await;
    let m = app.new_merchant(&street).insert().await;
    let coupon = app
        .new_coupon(&m)
        .per_user_limit(2)
        .points_cost(30)
        .insert()
        .await;
    let resident = app.new_user().street(street.id).points(100).insert().await;
    let before = events(&app).await.len();
    assert_eq!(before, 1, "the credit of 100 points is an event");

    let first = app
        .gql_by(Some(&resident), CLAIM, json!({ "id": coupon.gid }))
        .await;
    let second = app
        .gql_by(Some(&resident), CLAIM, json!({ "id": coupon.gid }))
        .await;
    let code = first["data"]["claimCoupon"]["code"].as_str().expect("code");
    expect_ok(
        &app.gql_by(Some(&m.owner), REDEEM, json!({ "code": code, "key": "k1" }))
            .await,
    );
    let second_id = second["data"]["claimCoupon"]["id"].as_str().expect("id");
    expect_ok(
        &app.gql_by(
            Some(&staff),
            VOID,
            json!({ "id": second_id, "r": "重复领取" }),
        )
        .await,
    );
    let take_down =
        "mutation($id: ID!) { takeDownCoupon(id: $id, reason: \"虚假宣传\") { status } }";
    expect_ok(
        &app.gql_by(Some(&staff), take_down, json!({ "id": coupon.gid }))
            .await,
    );

    let all = events(&app).await;
    let new: Vec<(EventKind, ObjectKind, Vec<i64>)> = all[before..]
        .iter()
        .map(|e| (e.kind, e.object_type, concerned(e)))
        .collect();
    assert_eq!(
        new,
        [
            // Two claims of 30 points each.
            (
                EventKind::PointsPosted,
                ObjectKind::PointsEntry,
                vec![resident.id]
            ),
            (
                EventKind::PointsPosted,
                ObjectKind::PointsEntry,
                vec![resident.id]
            ),
            (
                EventKind::CouponClaimRedeemed,
                ObjectKind::CouponClaim,
                vec![resident.id]
            ),
            (
                EventKind::CouponClaimVoided,
                ObjectKind::CouponClaim,
                vec![resident.id]
            ),
            // The refund of the voided claim.
            (
                EventKind::PointsPosted,
                ObjectKind::PointsEntry,
                vec![resident.id]
            ),
            (
                EventKind::CouponTakenDown,
                ObjectKind::Coupon,
                vec![m.owner.id]
            ),
        ]
    );
    let refund = &all[before + 4];
    assert_eq!(refund.payload["amount"], 30);
    assert_eq!(refund.payload["kind"], "REFUND");
    assert_eq!(refund.actor_user_id, Some(staff.id));
    assert_eq!(all[before + 3].payload["reason"], "重复领取");
}

#[tokio::test]
async fn a_change_that_rolls_back_leaves_no_event() {
    let app = TestApp::spawn().await;
    let street = app.new_street("九棵树街道", &["新城嘉园"]).await;
    let staff = app.new_user().staff_of(&street).insert().await;

    // Directly: an event written in a transaction that is dropped is gone with it.
    let cx = Cx::system(&app.state);
    let tx = cx.write().await.expect("begin");
    events::record(
        &tx,
        Event::new(EventKind::MerchantApproved, ObjectKind::Merchant, 1).concerning(staff.id),
    )
    .await
    .expect("record");
    drop(tx);
    assert_eq!(app.count("events").await, 0);

    // Through the API: a points claim the balance cannot pay takes no stock and tells nobody.
    let m = app.new_merchant(&street).insert().await;
    let reward = app.new_coupon(&m).points_cost(500).insert().await;
    let poor = app.new_user().street(street.id).insert().await;
    expect_code(
        &app.gql_by(Some(&poor), CLAIM, json!({ "id": reward.gid }))
            .await,
        "INSUFFICIENT_POINTS",
    );
    assert_eq!(app.count("events").await, 0);
    assert_eq!(app.count("coupon_claims").await, 0);

    // Ten staff approving one application at once: one decision, one event.
    let pending = app
        .new_merchant(&street)
        .status(MerchantStatus::Pending)
        .insert()
        .await;
    let mut reviewers = Vec::new();
    for _ in 0..10 {
        reviewers.push(app.new_user().staff_of(&street).insert().await);
    }
    let answers = app
        .parallel(
            reviewers
                .iter()
                .map(|r| {
                    (
                        Some(r.token.clone()),
                        REVIEW.to_owned(),
                        json!({ "input": { "merchantId": pending.gid, "decision": "APPROVE" } }),
                    )
                })
                .collect(),
        )
        .await;
    assert_eq!(tally(&answers).get(""), Some(&1), "{answers:?}");
    assert_eq!(
        app.count("events WHERE kind = 'merchant.approved'").await,
        1
    );
    assert_eq!(
        app.count("audit_entries WHERE action = 'merchant.approve'")
            .await,
        1
    );
}

#[tokio::test]
async fn a_command_inside_another_commits_and_rolls_back_with_it() {
    let app = TestApp::spawn().await;
    let resident = app.new_user().insert().await;
    let posting = |key: &str| Posting {
        user_id: resident.id,
        street_id: None,
        amount: 10,
        kind: PointsKind::Activity,
        source: Source::new(SourceType::ActivityAttendance, key),
        note: None,
    };
    let cx = Cx::system(&app.state);

    // The inner command commits its savepoint; the outer transaction is dropped: nothing stays.
    let outer = cx.write().await.expect("begin");
    let inner = outer.write().await.expect("savepoint");
    points::post(&inner, posting("a")).await.expect("post");
    inner.commit().await.expect("release");
    drop(outer);
    assert_eq!(app.count("points_entries").await, 0);
    assert_eq!(app.count("events").await, 0);
    let postings = "shangju_points_postings_total";
    assert_eq!(
        app.metric(postings, &[]).await,
        0.0,
        "nothing committed, nothing counted"
    );

    // The inner command fails (a debit beyond the balance) and rolls back its savepoint; the
    // outer one goes on and commits what it did itself.
    let outer = cx.write().await.expect("begin");
    points::post(&outer, posting("b")).await.expect("post");
    let inner = outer.write().await.expect("savepoint");
    let mut debit = posting("c");
    debit.amount = -50;
    let refused = points::post(&inner, debit).await;
    assert!(matches!(
        refused,
        Err(shangju::error::AppError::InsufficientPoints)
    ));
    drop(inner);
    outer.commit().await.expect("commit");
    assert_eq!(app.count("points_entries").await, 1);
    assert_eq!(app.count("events").await, 1);
    assert_eq!(
        app.metric(postings, &[]).await,
        1.0,
        "only the outer posting counts"
    );
    assert_eq!(app.metric("shangju_events_total", &[]).await, 1.0);
    let balance = points::account(&cx, resident.id).await.expect("account");
    assert_eq!(balance.balance, 10);
}

/// What waits for the street's staff tells each of them, and nobody else: an application, a
/// nomination, a request for a tag.
#[tokio::test]
async fn what_waits_for_staff_tells_the_street_staff() {
    let app = TestApp::spawn().await;
    let street = app.new_street("九棵树街道", &["新城嘉园"]).await;
    let far = app.new_street("别的街道", &["别的社区"]).await;
    let first = app.new_user().staff_of(&street).insert().await;
    let second = app.new_user().staff_of(&street).insert().await;
    app.new_user().staff_of(&far).insert().await;
    let resident = app.new_user().lives_in(&street, "新城嘉园").insert().await;
    let community = street.community("新城嘉园").gid.clone();

    let applied = app
        .gql_by(
            Some(&resident),
            APPLY,
            json!({ "input": {
                "profile": { "name": "鲜丰生鲜超市", "category": "SUPERMARKET",
                             "address": "新城嘉园 3 号楼", "contactPhone": "13922223333" },
                "licenceNo": "91110112MA01", "communityId": community } }),
        )
        .await;
    expect_ok(&applied);
    let nominated = app
        .gql_by(
            Some(&resident),
            "mutation($input: NominateAwardInput!) { nominateAward(input: $input) { id } }",
            json!({ "input": { "nomineeName": "陈文林", "nomineePhone": "13912345678",
                "title": "燃气泄漏预警", "deed": "闻到燃气味后提醒邻居并带保安排查",
                "happenedOn": "2025-01-01", "communityId": community } }),
        )
        .await;
    expect_ok(&nominated);
    let asked = app
        .gql_by(
            Some(&resident),
            "mutation { requestTag(tag: \"COURIER\", note: \"送外卖三年\") { id } }",
            json!({}),
        )
        .await;
    expect_ok(&asked);

    let all = events(&app).await;
    let staff = vec![first.id, second.id];
    for kind in [
        EventKind::MerchantApplied,
        EventKind::AwardNominated,
        EventKind::TagRequestSubmitted,
    ] {
        let e = all
            .iter()
            .find(|e| e.kind == kind)
            .unwrap_or_else(|| panic!("no {kind:?} in {all:?}"));
        assert_eq!(concerned(e), staff, "{kind:?}");
        assert_eq!(e.street_id, Some(street.id), "{kind:?}");
        assert_eq!(e.actor_user_id, Some(resident.id), "{kind:?}");
    }
    // Asking again while the request waits tells nobody twice.
    expect_ok(
        &app.gql_by(
            Some(&resident),
            "mutation { requestTag(tag: \"COURIER\") { id } }",
            json!({}),
        )
        .await,
    );
    assert_eq!(
        app.count("events WHERE kind = 'tag_request.submitted'")
            .await,
        1
    );
}

/// Roles, tags and memberships have no state column, yet each change is audited and told to
/// its person through one helper: a tag given and taken, staff added and removed, a clerk let
/// go; and a password changed or reset is told to its person.
#[tokio::test]
async fn role_and_membership_changes_tell_the_person_and_are_audited() {
    let app = TestApp::spawn().await;
    let street = app.new_street("九棵树街道", &["新城嘉园"]).await;
    let admin = app.new_street_admin(&street).await;
    let staff = app.new_user().staff_of(&street).insert().await;
    let resident = app.new_user().lives_in(&street, "新城嘉园").insert().await;
    let clerk = app.new_user().lives_in(&street, "新城嘉园").insert().await;
    let shop = app.new_merchant(&street).clerk(&clerk).insert().await;
    let who = json!({ "u": gid(ObjectKind::User, resident.id) });

    let steps = [
        (
            &staff,
            "mutation($u: ID!) { grantTag(userId: $u, tag: \"VOLUNTEER\") { id } }",
            who.clone(),
            EventKind::TagGranted,
            resident.id,
        ),
        (
            &staff,
            "mutation($u: ID!) { revokeTag(userId: $u, tag: \"VOLUNTEER\", reason: \"已退出志愿队\") { id } }",
            who.clone(),
            EventKind::TagRevoked,
            resident.id,
        ),
        (
            &shop.owner,
            "mutation($m: ID!, $u: ID!) { removeMerchantClerk(merchantId: $m, userId: $u) { id } }",
            json!({ "m": shop.gid, "u": gid(ObjectKind::User, clerk.id) }),
            EventKind::ClerkRemoved,
            clerk.id,
        ),
    ];
    for (by, op, vars, kind, person) in steps {
        let v = app.gql_by(Some(by), op, vars).await;
        assert!(v.get("errors").is_none(), "{kind:?}: {v}");
        let all = events(&app).await;
        let e = all.last().unwrap();
        assert_eq!((e.kind, concerned(e)), (kind, vec![person]));
    }
    assert_eq!(
        app.count("audit_entries WHERE action = 'merchant.clerk_remove'")
            .await,
        1
    );
    let revoked = events(&app)
        .await
        .into_iter()
        .find(|e| e.kind == EventKind::TagRevoked)
        .unwrap();
    assert_eq!(revoked.payload["reason"], "已退出志愿队");

    let added = app
        .gql_by(
            Some(&admin),
            "mutation { addStaff(phone: \"13911112222\", name: \"李干事\") { id } }",
            json!({}),
        )
        .await;
    let new_staff = added["data"]["addStaff"]["id"].clone();
    assert!(new_staff.is_string(), "{added}");
    let newcomer = user::Entity::find()
        .filter(user::Column::Phone.eq("13911112222"))
        .one(&app.db)
        .await
        .unwrap()
        .unwrap();
    let e = events(&app).await.pop().unwrap();
    assert_eq!(
        (e.kind, concerned(&e)),
        (EventKind::StaffAdded, vec![newcomer.id])
    );
    let removed = app
        .gql_by(
            Some(&admin),
            "mutation($u: ID!) { removeStaff(userId: $u) { id } }",
            json!({ "u": new_staff }),
        )
        .await;
    expect_ok(&removed);
    let last = events(&app).await.pop().unwrap();
    assert_eq!(
        (last.kind, concerned(&last)),
        (EventKind::StaffRemoved, concerned(&e))
    );

    let v = app
        .gql_by(
            Some(&resident),
            "mutation($p: String!) { changePassword(input: { currentPassword: $p, newPassword: \"a much longer secret 42\" }) { accessToken } }",
            json!({ "p": PASSWORD }),
        )
        .await;
    expect_ok(&v);
    let e = events(&app).await.pop().unwrap();
    assert_eq!(
        (e.kind, concerned(&e)),
        (EventKind::PasswordChanged, vec![resident.id])
    );
}
