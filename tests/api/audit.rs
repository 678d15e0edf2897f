//! The audit log and the points ledger are append-only in the database itself, and an audited
//! change of state records the decision-bearing fields before and after it.

use sea_orm::{ConnectionTrait, EntityTrait};
use serde_json::json;

use entity::merchant::MerchantStatus;
use entity::names::ObjectKind;

use crate::builders::*;
use crate::support::*;

#[tokio::test]
async fn the_database_refuses_to_change_or_remove_audit_and_points_entries() {
    let app = TestApp::spawn().await;
    let street = app.new_street("九棵树街道", &["新城嘉园"]).await;
    let staff = app.new_user().staff_of(&street).insert().await;
    let resident = app.new_user().street(street.id).insert().await;
    let v = app
        .gql_by(
            Some(&staff),
            "mutation($u: ID!) { adjustPoints(input: { userId: $u, amount: 20, reason: \"志愿服务\" }) { amount } }",
            json!({ "u": gid(ObjectKind::User, resident.id) }),
        )
        .await;
    expect_ok(&v);
    for statement in [
        "UPDATE audit_entries SET reason = 'rewritten'",
        "DELETE FROM audit_entries",
        "UPDATE points_entries SET amount = 5000",
        "DELETE FROM points_entries",
    ] {
        let err = app
            .db
            .execute_unprepared(statement)
            .await
            .expect_err(statement);
        assert!(
            err.to_string().contains("append-only"),
            "{statement}: {err}"
        );
    }
    assert_eq!(
        app.count("audit_entries WHERE reason = '志愿服务'").await,
        1
    );
    assert_eq!(app.count("points_entries WHERE amount = 20").await, 1);
}

#[tokio::test]
async fn a_decision_records_its_state_and_reason_before_and_after() {
    let app = TestApp::spawn().await;
    let street = app.new_street("九棵树街道", &["新城嘉园"]).await;
    let staff = app.new_user().staff_of(&street).insert().await;
    let pending = app
        .new_merchant(&street)
        .status(MerchantStatus::Pending)
        .insert()
        .await;
    let review = json!({ "input": { "merchantId": pending.gid, "decision": "REJECT", "reason": "执照过期" } });
    expect_ok(&app.gql_by(Some(&staff), REVIEW, review).await);
    let entries = entity::audit_entry::Entity::find()
        .all(&app.db)
        .await
        .unwrap();
    assert_eq!(entries.len(), 1);
    assert_eq!(
        entries[0].before,
        Some(json!({ "status": "PENDING", "status_reason": null }))
    );
    assert_eq!(
        entries[0].after,
        Some(json!({ "status": "REJECTED", "status_reason": "执照过期" }))
    );
}
