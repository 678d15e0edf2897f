//! `node(id)` and `nodes(ids)`: any object by its opaque ID, with the visibility rules of its
//! typed query.

use entity::merchant::MerchantStatus;
use entity::names::ObjectKind;
use serde_json::json;

use crate::builders::*;
use crate::support::*;

const NODE: &str = "query($id: ID!) { node(id: $id) { id __typename
  ... on Street { name } ... on Merchant { name } ... on Coupon { title }
  ... on CouponClaim { status } ... on User { displayName } ... on PointsEntry { amount } } }";

#[tokio::test]
async fn node_finds_each_kind_as_its_typed_query_would() {
    let app = TestApp::spawn().await;
    let street = app.new_street("九棵树街道", &["新城嘉园"]).await;
    let staff = app.new_user().staff_of(&street).insert().await;
    let m = app.new_merchant(&street).insert().await;
    let pending = app
        .new_merchant(&street)
        .status(MerchantStatus::Pending)
        .insert()
        .await;
    let coupon = app.new_coupon(&m).title("银发午餐").insert().await;
    let holder = app.new_user().street(street.id).points(30).insert().await;
    let other = app.new_user().street(street.id).insert().await;
    let claim = app.new_claim(&coupon, &holder).await;
    let entry_id: i64 = {
        use sea_orm::{EntityTrait, QueryOrder};
        entity::points_entry::Entity::find()
            .order_by_asc(entity::points_entry::Column::Id)
            .one(&app.db)
            .await
            .unwrap()
            .unwrap()
            .id
    };
    let node = |who: Option<&TestUser>, id: String| {
        let app = &app;
        let who = who.cloned();
        async move { app.gql_by(who.as_ref(), NODE, json!({ "id": id })).await }
    };

    let s = node(None, gid(ObjectKind::Street, street.id)).await;
    assert_eq!(s["data"]["node"]["name"], "九棵树街道", "{s}");
    let v = node(None, m.gid.clone()).await;
    assert_eq!(v["data"]["node"]["__typename"], "Merchant");
    assert_eq!(v["data"]["node"]["id"], m.gid);
    expect_code(&node(None, pending.gid.clone()).await, "FORBIDDEN");
    assert_eq!(
        node(Some(&staff), pending.gid.clone()).await["data"]["node"]["name"],
        "社区食堂"
    );
    assert_eq!(
        node(None, coupon.gid.clone()).await["data"]["node"]["title"],
        "银发午餐"
    );
    // A claim: its holder, the merchant and staff; not another resident.
    for who in [&holder, &m.owner, &staff] {
        let v = node(Some(who), claim.gid.clone()).await;
        assert_eq!(v["data"]["node"]["status"], "CLAIMED", "{v}");
    }
    expect_code(&node(Some(&other), claim.gid.clone()).await, "FORBIDDEN");
    expect_code(&node(None, claim.gid.clone()).await, "UNAUTHENTICATED");
    // A person: themself and staff of their street.
    let me = gid(ObjectKind::User, holder.id);
    assert!(node(Some(&holder), me.clone()).await["data"]["node"]["displayName"].is_string());
    assert!(node(Some(&staff), me.clone()).await["data"]["node"]["displayName"].is_string());
    expect_code(&node(Some(&other), me).await, "FORBIDDEN");
    // A points entry: its owner only (and staff).
    let entry = gid(ObjectKind::PointsEntry, entry_id);
    assert_eq!(
        node(Some(&holder), entry.clone()).await["data"]["node"]["amount"],
        30
    );
    expect_code(&node(Some(&other), entry).await, "FORBIDDEN");
    // Unknown and malformed IDs.
    expect_code(
        &node(None, gid(ObjectKind::Merchant, 9999)).await,
        "NOT_FOUND",
    );
    expect_code(&node(None, "bm9wZTox".into()).await, "BAD_USER_INPUT");
}

#[tokio::test]
async fn nodes_answers_in_order_with_null_and_an_error_where_one_is_not_visible() {
    let app = TestApp::spawn().await;
    let street = app.new_street("九棵树街道", &["新城嘉园"]).await;
    let a = app.new_merchant(&street).name("甲").insert().await;
    let hidden = app
        .new_merchant(&street)
        .status(MerchantStatus::Suspended)
        .insert()
        .await;
    let b = app.new_merchant(&street).name("乙").insert().await;
    let v = app
        .gql(
            "query($ids: [ID!]!) { found: nodes(ids: $ids) { ... on Merchant { name } } }",
            json!({ "ids": [a.gid, hidden.gid, "garbage", b.gid] }),
        )
        .await;
    assert_eq!(
        v["data"]["found"],
        json!([{ "name": "甲" }, null, null, { "name": "乙" }]),
        "{v}"
    );
    let errors = v["errors"].as_array().unwrap();
    assert_eq!(errors.len(), 2, "{v}");
    assert_eq!(errors[0]["path"], json!(["found", 1]));
    assert_eq!(errors[0]["extensions"]["code"], "FORBIDDEN");
    assert_eq!(errors[1]["path"], json!(["found", 2]));
    assert_eq!(errors[1]["extensions"]["code"], "BAD_USER_INPUT");
    let too_many: Vec<String> = (0..101).map(|_| a.gid.clone()).collect();
    expect_code(
        &app.gql(
            "query($ids: [ID!]!) { nodes(ids: $ids) { id } }",
            json!({ "ids": too_many }),
        )
        .await,
        "BAD_USER_INPUT",
    );
}
