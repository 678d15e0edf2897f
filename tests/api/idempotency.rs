//! Idempotency keys are bound to the request they first came with: the same key and parameters
//! replay the first result; the key with other parameters is `IDEMPOTENCY_KEY_REUSED` and does
//! nothing, sequentially and in parallel.

use entity::names::ObjectKind;
use serde_json::json;

use crate::builders::*;
use crate::support::*;

const ADJUST: &str =
    "mutation($input: AdjustPointsInput!) { adjustPoints(input: $input) { id amount } }";

fn adjust(user_id: i64, amount: i32, reason: &str, key: &str) -> serde_json::Value {
    json!({ "input": { "userId": gid(ObjectKind::User, user_id), "amount": amount,
                       "reason": reason, "idempotencyKey": key } })
}

#[tokio::test]
async fn a_points_key_sent_with_other_parameters_is_refused() {
    let app = TestApp::spawn().await;
    let street = app.new_street("九棵树街道", &["新城嘉园"]).await;
    let staff = app.new_user().staff_of(&street).insert().await;
    let resident = app.new_user().street(street.id).insert().await;
    let other = app.new_user().street(street.id).insert().await;
    // The longest key the API takes fits on both engines.
    let key = "k".repeat(64);
    let first = app
        .gql_by(
            Some(&staff),
            ADJUST,
            adjust(resident.id, 20, "志愿服务", &key),
        )
        .await;
    assert_eq!(first["data"]["adjustPoints"]["amount"], 20, "{first}");
    for changed in [
        adjust(resident.id, 200, "志愿服务", &key),
        adjust(resident.id, 20, "另一个理由", &key),
        adjust(other.id, 20, "志愿服务", &key),
    ] {
        let v = app.gql_by(Some(&staff), ADJUST, changed).await;
        expect_code(&v, "IDEMPOTENCY_KEY_REUSED");
    }
    let again = app
        .gql_by(
            Some(&staff),
            ADJUST,
            adjust(resident.id, 20, "志愿服务", &key),
        )
        .await;
    assert_eq!(again["data"], first["data"]);
    assert_eq!(app.count("points_entries").await, 1);
    // Keys are each actor's own: another staff member's K is a new request.
    let colleague = app.new_user().staff_of(&street).insert().await;
    let theirs = app
        .gql_by(
            Some(&colleague),
            ADJUST,
            adjust(resident.id, 200, "志愿服务", &key),
        )
        .await;
    assert_eq!(theirs["data"]["adjustPoints"]["amount"], 200, "{theirs}");
    assert_eq!(app.count("points_entries").await, 2);
}

#[tokio::test]
async fn racing_requests_with_one_key_post_once_whatever_their_parameters() {
    let app = TestApp::spawn().await;
    let street = app.new_street("九棵树街道", &["新城嘉园"]).await;
    let staff = app.new_user().staff_of(&street).insert().await;
    let resident = app.new_user().street(street.id).insert().await;
    let answers = app
        .parallel(
            (0..40)
                .map(|i| {
                    let amount = if i % 2 == 0 { 20 } else { 200 };
                    (
                        Some(staff.token.clone()),
                        ADJUST.to_owned(),
                        adjust(resident.id, amount, "志愿服务", "race-1"),
                    )
                })
                .collect(),
        )
        .await;
    let codes = tally(&answers);
    assert_eq!(codes.get("").copied().unwrap_or(0), 20, "{codes:?}");
    assert_eq!(
        codes.get("IDEMPOTENCY_KEY_REUSED").copied(),
        Some(20),
        "{codes:?}"
    );
    assert_eq!(app.count("points_entries").await, 1);
    let amounts: std::collections::BTreeSet<i64> = answers
        .iter()
        .filter_map(|a| a["data"]["adjustPoints"]["amount"].as_i64())
        .collect();
    assert_eq!(amounts.len(), 1, "every success replays the one posting");
}

#[tokio::test]
async fn a_redemption_key_used_for_another_code_is_refused() {
    let app = TestApp::spawn().await;
    let street = app.new_street("九棵树街道", &["新城嘉园"]).await;
    let m = app.new_merchant(&street).insert().await;
    let coupon = app.new_coupon(&m).insert().await;
    let holder = app.new_user().street(street.id).insert().await;
    let a = app.new_claim(&coupon, &holder).await;
    let b = app.new_claim(&coupon, &holder).await;
    let owner = Some(&m.owner);
    let first = app
        .gql_by(owner, REDEEM, json!({ "code": a.code, "key": "scan-1" }))
        .await;
    assert_eq!(
        first["data"]["redeemCoupon"]["status"], "REDEEMED",
        "{first}"
    );
    expect_code(
        &app.gql_by(owner, REDEEM, json!({ "code": b.code, "key": "scan-1" }))
            .await,
        "IDEMPOTENCY_KEY_REUSED",
    );
    assert_eq!(
        app.count("coupon_claims WHERE status = 'REDEEMED'").await,
        1
    );
    let again = app
        .gql_by(owner, REDEEM, json!({ "code": a.code, "key": "scan-1" }))
        .await;
    assert_eq!(again["data"], first["data"]);
    let other = app
        .gql_by(owner, REDEEM, json!({ "code": b.code, "key": "scan-2" }))
        .await;
    assert_eq!(
        other["data"]["redeemCoupon"]["status"], "REDEEMED",
        "{other}"
    );
}
