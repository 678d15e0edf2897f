//! Tags residents ask for and staff of their street verify: an unverified request satisfies no
//! audience rule; staff grant, refuse (with a reason), grant directly and revoke (with a
//! reason); nobody decides on their own request; other streets' staff are refused.

use serde_json::json;

use entity::names::ObjectKind;

use crate::builders::*;
use crate::support::*;

const REQUEST: &str =
    "mutation($t: String!) { requestTag(tag: $t, note: \"在九棵树送外卖三年\") { id tag status } }";
const REVIEW_TAG: &str = "mutation($id: ID!, $d: TagDecision!, $r: String) { reviewTagRequest(id: $id, decision: $d, reason: $r) { status reason } }";
const PENDING: &str = "{ tagRequests { id tag user { displayName } } }";
const GRANT: &str = "mutation($u: ID!, $t: String!) { grantTag(userId: $u, tag: $t) { tags } }";
const REVOKE: &str = "mutation($u: ID!, $t: String!, $r: String!) { revokeTag(userId: $u, tag: $t, reason: $r) { tags } }";

#[tokio::test]
async fn a_requested_tag_counts_only_once_staff_grant_it() {
    let app = TestApp::spawn().await;
    let street = app.new_street("九棵树街道", &["新城嘉园"]).await;
    let far = app.new_street("别的街道", &["远方社区"]).await;
    let staff = app.new_user().staff_of(&street).insert().await;
    let far_staff = app.new_user().staff_of(&far).insert().await;
    let courier = app.new_user().lives_in(&street, "新城嘉园").insert().await;
    let m = app.new_merchant(&street).insert().await;
    let coupon = app
        .coupon(
            &m.owner,
            &m.gid,
            json!({ "title": "骑手关爱", "audience": { "tags": ["COURIER"] } }),
        )
        .await;

    let v = app
        .gql_by(Some(&courier), REQUEST, json!({ "t": "courier" }))
        .await;
    assert_eq!(v["data"]["requestTag"]["tag"], "COURIER", "{v}");
    assert_eq!(v["data"]["requestTag"]["status"], "PENDING");
    let request = v["data"]["requestTag"]["id"].clone();
    let again = app
        .gql_by(Some(&courier), REQUEST, json!({ "t": "COURIER" }))
        .await;
    assert_eq!(again["data"]["requestTag"]["id"], request);
    // Self-declared, not yet verified: no courier offer.
    expect_code(
        &app.gql_by(Some(&courier), CLAIM, json!({ "id": coupon }))
            .await,
        "NOT_ELIGIBLE",
    );
    let me = app
        .gql_by(Some(&courier), "{ me { tags } }", json!({}))
        .await;
    assert_eq!(me["data"]["me"]["tags"], json!([]), "{me}");

    let pending = app.gql_by(Some(&staff), PENDING, json!({})).await;
    assert_eq!(
        pending["data"]["tagRequests"][0]["id"], request,
        "{pending}"
    );
    let far_pending = app.gql_by(Some(&far_staff), PENDING, json!({})).await;
    assert_eq!(
        far_pending["data"]["tagRequests"],
        json!([]),
        "{far_pending}"
    );
    expect_code(
        &app.gql_by(Some(&courier), PENDING, json!({})).await,
        "FORBIDDEN",
    );
    for who in [&far_staff, &courier] {
        expect_code(
            &app.gql_by(
                Some(who),
                REVIEW_TAG,
                json!({ "id": request, "d": "GRANT" }),
            )
            .await,
            "FORBIDDEN",
        );
    }
    expect_code(
        &app.gql_by(
            Some(&staff),
            REVIEW_TAG,
            json!({ "id": request, "d": "REFUSE" }),
        )
        .await,
        "BAD_USER_INPUT",
    );
    let v = app
        .gql_by(
            Some(&staff),
            REVIEW_TAG,
            json!({ "id": request, "d": "GRANT" }),
        )
        .await;
    assert_eq!(v["data"]["reviewTagRequest"]["status"], "GRANTED", "{v}");
    expect_code(
        &app.gql_by(
            Some(&staff),
            REVIEW_TAG,
            json!({ "id": request, "d": "GRANT" }),
        )
        .await,
        "INVALID_STATE",
    );
    let v = app
        .gql_by(Some(&courier), CLAIM, json!({ "id": coupon }))
        .await;
    assert_eq!(v["data"]["claimCoupon"]["status"], "CLAIMED", "{v}");
    expect_code(
        &app.gql_by(Some(&courier), REQUEST, json!({ "t": "COURIER" }))
            .await,
        "CONFLICT",
    );
    assert_eq!(
        app.count("audit_entries WHERE action = 'tag.grant'").await,
        1
    );
    assert_eq!(
        app.count("events WHERE kind = 'tag_request.granted'").await,
        1
    );
}

#[tokio::test]
async fn refusals_need_a_reason_and_nobody_reviews_their_own_request() {
    let app = TestApp::spawn().await;
    let street = app.new_street("九棵树街道", &["新城嘉园"]).await;
    let staff = app.new_user().staff_of(&street).insert().await;
    let colleague = app.new_user().staff_of(&street).insert().await;
    let v = app
        .gql_by(Some(&staff), REQUEST, json!({ "t": "VOLUNTEER" }))
        .await;
    let own = v["data"]["requestTag"]["id"].clone();
    assert!(own.is_string(), "{v}");
    expect_code(
        &app.gql_by(Some(&staff), REVIEW_TAG, json!({ "id": own, "d": "GRANT" }))
            .await,
        "FORBIDDEN",
    );
    let v = app
        .gql_by(
            Some(&colleague),
            REVIEW_TAG,
            json!({ "id": own, "d": "REFUSE", "r": "未见志愿记录" }),
        )
        .await;
    assert_eq!(v["data"]["reviewTagRequest"]["status"], "REFUSED", "{v}");
    assert_eq!(v["data"]["reviewTagRequest"]["reason"], "未见志愿记录");
    let mine = app
        .gql_by(
            Some(&staff),
            "{ myTagRequests { status reason } }",
            json!({}),
        )
        .await;
    assert_eq!(
        mine["data"]["myTagRequests"][0]["status"], "REFUSED",
        "{mine}"
    );
    // SENIOR is never asked for or given: it follows from the birth date.
    let resident = app.new_user().lives_in(&street, "新城嘉园").insert().await;
    expect_code(
        &app.gql_by(Some(&resident), REQUEST, json!({ "t": "SENIOR" }))
            .await,
        "BAD_USER_INPUT",
    );
    let uid = gid(ObjectKind::User, resident.id);
    expect_code(
        &app.gql_by(Some(&staff), GRANT, json!({ "u": uid, "t": "SENIOR" }))
            .await,
        "BAD_USER_INPUT",
    );
    // A resident without a street has nobody to ask.
    let nowhere = app.new_user().insert().await;
    expect_code(
        &app.gql_by(Some(&nowhere), REQUEST, json!({ "t": "COURIER" }))
            .await,
        "INVALID_STATE",
    );
}

#[tokio::test]
async fn staff_grant_and_revoke_tags_directly_with_an_audit_trail() {
    let app = TestApp::spawn().await;
    let street = app.new_street("九棵树街道", &["新城嘉园"]).await;
    let far = app.new_street("别的街道", &["远方社区"]).await;
    let staff = app.new_user().staff_of(&street).insert().await;
    let far_staff = app.new_user().staff_of(&far).insert().await;
    let resident = app.new_user().lives_in(&street, "新城嘉园").insert().await;
    let uid = gid(ObjectKind::User, resident.id);
    expect_code(
        &app.gql_by(
            Some(&far_staff),
            GRANT,
            json!({ "u": uid, "t": "VOLUNTEER" }),
        )
        .await,
        "FORBIDDEN",
    );
    expect_code(
        &app.gql_by(
            Some(&resident),
            GRANT,
            json!({ "u": uid, "t": "VOLUNTEER" }),
        )
        .await,
        "FORBIDDEN",
    );
    let me = gid(ObjectKind::User, staff.id);
    expect_code(
        &app.gql_by(Some(&staff), GRANT, json!({ "u": me, "t": "VOLUNTEER" }))
            .await,
        "FORBIDDEN",
    );
    let v = app
        .gql_by(Some(&staff), GRANT, json!({ "u": uid, "t": "volunteer" }))
        .await;
    assert_eq!(v["data"]["grantTag"]["tags"], json!(["VOLUNTEER"]), "{v}");
    expect_code(
        &app.gql_by(
            Some(&staff),
            REVOKE,
            json!({ "u": uid, "t": "VOLUNTEER", "r": "" }),
        )
        .await,
        "BAD_USER_INPUT",
    );
    expect_code(
        &app.gql_by(
            Some(&far_staff),
            REVOKE,
            json!({ "u": uid, "t": "VOLUNTEER", "r": "误授" }),
        )
        .await,
        "FORBIDDEN",
    );
    let v = app
        .gql_by(
            Some(&staff),
            REVOKE,
            json!({ "u": uid, "t": "VOLUNTEER", "r": "已不在志愿队" }),
        )
        .await;
    assert_eq!(v["data"]["revokeTag"]["tags"], json!([]), "{v}");
    expect_code(
        &app.gql_by(
            Some(&staff),
            REVOKE,
            json!({ "u": uid, "t": "VOLUNTEER", "r": "再撤" }),
        )
        .await,
        "NOT_FOUND",
    );
    use sea_orm::{EntityTrait, QueryOrder};
    let entries = entity::audit_entry::Entity::find()
        .order_by_asc(entity::audit_entry::Column::Id)
        .all(&app.db)
        .await
        .unwrap();
    use entity::audit_entry::AuditAction::{TagGrant, TagRevoke};
    assert_eq!(
        entries.iter().map(|e| e.action).collect::<Vec<_>>(),
        [TagGrant, TagRevoke]
    );
    assert_eq!(entries[1].reason.as_deref(), Some("已不在志愿队"));
    assert_eq!(entries[1].before, Some(json!({ "tag": "VOLUNTEER" })));
}
