//! The floor: the merchants list served by a plain axum JSON handler over the same SQL the
//! GraphQL resolvers run (one page of merchants, one batch of their active coupons).

use axum::extract::State;
use axum::routing::get;
use axum::{Json, Router};
use sea_orm::{DatabaseConnection, EntityTrait, QueryFilter};
use serde_json::{Value, json};

use entity::merchant;
use entity::names::ObjectKind;
use shangju::domain;

async fn merchants(State(db): State<DatabaseConnection>) -> Json<Value> {
    let q = merchant::Entity::find().filter(domain::policy::visible_merchants(None));
    let window = domain::page::Window {
        first: Some(20),
        ..Default::default()
    };
    let order = domain::merchant::MerchantSort::CreatedAt.order(false);
    let rows: Vec<merchant::Model> = domain::page::fetch(&db, q, order, window)
        .await
        .map(|page| page.rows.into_iter().map(|(_, m)| m).collect())
        .unwrap_or_default();
    let ids: Vec<i64> = rows.iter().map(|m| m.id).collect();
    let coupons = domain::coupon::query::active_of_merchants(&db, &ids, chrono::Utc::now())
        .await
        .unwrap_or_default();
    Json(Value::Array(
        rows.iter()
            .map(|m| {
                json!({
                    "id": shangju::graphql::id::encode(ObjectKind::Merchant, m.id).0,
                    "name": m.name, "category": m.category, "address": m.address,
                    "coupons": coupons.iter().filter(|c| c.merchant_id == m.id).take(20).map(|c| json!({
                        "id": shangju::graphql::id::encode(ObjectKind::Coupon, c.id).0,
                        "title": c.title, "kind": format!("{:?}", c.kind), "amountFen": c.amount_fen,
                        "percentOff": c.percent_off, "remainingStock": c.remaining_stock,
                        "validUntil": c.valid_until.to_rfc3339(),
                    })).collect::<Vec<_>>(),
                })
            })
            .collect(),
    ))
}

/// Serves the floor on a free port; returns its URL.
pub async fn start(db: DatabaseConnection) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind a free port");
    let url = format!(
        "http://{}/merchants",
        listener.local_addr().expect("local address")
    );
    let app = Router::new()
        .route("/merchants", get(merchants))
        .with_state(db);
    tokio::spawn(async move { axum::serve(listener, app).await });
    url
}
