//! The raw floor: the same answers as the GraphQL shapes, equal to shangju's as JSON, from a
//! plain axum handler running the same two statements through sqlx into `serde` structs: the
//! least a Rust JSON endpoint can cost for them. Its pool does not test a connection with a
//! round trip each time it lends one (sqlx's default), so nothing but the work is measured. It
//! runs as a process of its own (`shangju-bench floor`), so its CPU can be read like the
//! server's. Also the raw claim, the ceiling of the flash sale.

use std::collections::HashMap;

use axum::extract::{Query, State};
use axum::routing::get;
use axum::{Json, Router};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use sqlx::{PgPool, SqlitePool};

use entity::names::ObjectKind;

#[derive(Clone)]
pub enum Pool {
    Sqlite(SqlitePool),
    Postgres(PgPool),
}

impl Pool {
    pub async fn connect(url: &str, size: u32) -> Pool {
        if url.starts_with("sqlite:") {
            let opts = url
                .parse::<sqlx::sqlite::SqliteConnectOptions>()
                .expect("a SQLite URL")
                .journal_mode(sqlx::sqlite::SqliteJournalMode::Wal)
                .busy_timeout(std::time::Duration::from_secs(10));
            Pool::Sqlite(
                sqlx::sqlite::SqlitePoolOptions::new()
                    .max_connections(size)
                    .test_before_acquire(false)
                    .connect_with(opts)
                    .await
                    .expect("connect the floor to SQLite"),
            )
        } else {
            Pool::Postgres(
                sqlx::postgres::PgPoolOptions::new()
                    .max_connections(size)
                    .test_before_acquire(false)
                    .connect(url)
                    .await
                    .expect("connect the floor to PostgreSQL"),
            )
        }
    }
}

#[derive(sqlx::FromRow)]
struct MerchantRow {
    id: i64,
    name: String,
    category: String,
    address: String,
}

#[derive(sqlx::FromRow)]
struct CouponRow {
    id: i64,
    merchant_id: i64,
    title: String,
    kind: String,
    amount_fen: Option<i64>,
    percent_off: Option<i32>,
    remaining_stock: Option<i32>,
    valid_until: DateTime<Utc>,
}

/// A coupon with shape L's fields (the `Option`s set) or shape S's, in the order the GraphQL
/// queries select them.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Coupon {
    id: String,
    title: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    kind: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    amount_fen: Option<Option<i64>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    percent_off: Option<Option<i32>>,
    remaining_stock: Option<i32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    valid_until: Option<String>,
}

#[derive(Serialize)]
struct Merchant {
    id: String,
    name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    category: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    address: Option<String>,
    coupons: Vec<Coupon>,
}

/// The GraphQL answer's envelope: `{"data":{"merchants":{"edges":[{"node":…}]}}}`.
#[derive(Serialize)]
struct Answer {
    data: Data,
}

#[derive(Serialize)]
struct Data {
    merchants: Edges,
}

#[derive(Serialize)]
struct Edges {
    edges: Vec<Edge>,
}

#[derive(Serialize)]
struct Edge {
    node: Merchant,
}

/// `first` merchants, each with up to `coupons` of its active coupons; `full` is shape L's
/// fields, otherwise shape S's.
#[derive(Deserialize)]
struct Shape {
    first: i64,
    coupons: usize,
    full: bool,
}

fn gid(kind: ObjectKind, id: i64) -> String {
    shangju::graphql::id::encode(kind, id).0
}

/// The coupons statement for `n` merchants, as shangju runs it (an `IN` list on both engines),
/// made once per `n`.
fn coupons_sql(n: usize, postgres: bool) -> &'static str {
    static SQL: std::sync::OnceLock<[Vec<String>; 2]> = std::sync::OnceLock::new();
    let made = SQL.get_or_init(|| {
        let make = |pg: bool| {
            (0..=100)
                .map(|n| {
                    let mark = |i: usize| if pg { format!("${i}") } else { "?".to_owned() };
                    let ids: Vec<String> = (1..=n).map(mark).collect();
                    format!(
                        "SELECT id, merchant_id, title, kind, amount_fen, percent_off, \
                         remaining_stock, valid_until FROM coupons WHERE merchant_id IN ({}) \
                         AND status = 'ACTIVE' AND valid_until > {} ORDER BY id DESC",
                        ids.join(", "),
                        mark(n + 1)
                    )
                })
                .collect()
        };
        [make(false), make(true)]
    });
    &made[usize::from(postgres)][n.min(100)]
}

async fn merchants(State(pool): State<Pool>, Query(shape): Query<Shape>) -> Json<Answer> {
    let now = Utc::now();
    // The GraphQL page: active merchants, oldest first, one more than asked to know whether a
    // next page exists.
    const PAGE_SQLITE: &str = "SELECT id, name, category, address FROM merchants \
        WHERE status = 'ACTIVE' ORDER BY created_at, id LIMIT ?";
    const PAGE_PG: &str = "SELECT id, name, category, address FROM merchants \
        WHERE status = 'ACTIVE' ORDER BY created_at, id LIMIT $1";
    // A GraphQL page is at most 100 long, and the statements are made for up to 100.
    let shape = Shape {
        first: shape.first.clamp(0, 100),
        ..shape
    };
    let limit = shape.first + 1;
    let (rows, coupons): (Vec<MerchantRow>, Vec<CouponRow>) = match &pool {
        Pool::Sqlite(p) => {
            let rows: Vec<MerchantRow> = sqlx::query_as(PAGE_SQLITE)
                .bind(limit)
                .fetch_all(p)
                .await
                .unwrap_or_default();
            let ids = &rows[..rows.len().min(shape.first as usize)];
            // Only placeholders are spliced in; the values are bound.
            let mut q = sqlx::query_as(sqlx::AssertSqlSafe(coupons_sql(ids.len(), false)));
            for m in ids {
                q = q.bind(m.id);
            }
            let coupons = if ids.is_empty() {
                Vec::new()
            } else {
                q.bind(now).fetch_all(p).await.unwrap_or_default()
            };
            (rows, coupons)
        }
        Pool::Postgres(p) => {
            let rows: Vec<MerchantRow> = sqlx::query_as(PAGE_PG)
                .bind(limit)
                .fetch_all(p)
                .await
                .unwrap_or_default();
            let ids = &rows[..rows.len().min(shape.first as usize)];
            let mut q = sqlx::query_as(sqlx::AssertSqlSafe(coupons_sql(ids.len(), true)));
            for m in ids {
                q = q.bind(m.id);
            }
            let coupons = if ids.is_empty() {
                Vec::new()
            } else {
                q.bind(now).fetch_all(p).await.unwrap_or_default()
            };
            (rows, coupons)
        }
    };
    let mut by_merchant: HashMap<i64, Vec<Coupon>> = HashMap::new();
    for c in coupons {
        let list = by_merchant.entry(c.merchant_id).or_default();
        if list.len() < shape.coupons {
            list.push(Coupon {
                id: gid(ObjectKind::Coupon, c.id),
                title: c.title,
                kind: shape.full.then_some(c.kind),
                amount_fen: shape.full.then_some(c.amount_fen),
                percent_off: shape.full.then_some(c.percent_off),
                remaining_stock: c.remaining_stock,
                valid_until: shape.full.then(|| c.valid_until.to_rfc3339()),
            });
        }
    }
    let edges = rows
        .into_iter()
        .take(shape.first as usize)
        .map(|m| Edge {
            node: Merchant {
                id: gid(ObjectKind::Merchant, m.id),
                coupons: by_merchant.remove(&m.id).unwrap_or_default(),
                name: m.name,
                category: shape.full.then_some(m.category),
                address: shape.full.then_some(m.address),
            },
        })
        .collect();
    Json(Answer {
        data: Data {
            merchants: Edges { edges },
        },
    })
}

/// Serves the floor on `port` until killed (`shangju-bench floor`).
pub async fn serve(db: &str, port: u16) {
    let pool = Pool::connect(db, 16).await;
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", port))
        .await
        .expect("bind the floor's port");
    let app = Router::new()
        .route("/merchants", get(merchants))
        .route("/healthz", get(|| async { "ok" }))
        .with_state(pool);
    axum::serve(listener, app).await.expect("serve the floor");
}

/// One raw claim, the least any server can do for it: in one write transaction, take a unit of
/// stock if there is one and write the claim. True when it won a unit.
pub async fn raw_claim(pool: &Pool, coupon_id: i64, merchant_id: i64, user_id: i64) -> bool {
    let now = Utc::now();
    // Unique per resident and coupon, as the column requires: a sale runs on several coupons.
    let code = format!("{user_id:08X}{coupon_id:08X}");
    let take = "UPDATE coupons SET remaining_stock = remaining_stock - 1, \
                claimed_count = claimed_count + 1 WHERE id = $1 AND remaining_stock > 0";
    let insert = "INSERT INTO coupon_claims (coupon_id, merchant_id, user_id, code, status, \
                  claimed_at, expires_at, points_spent) VALUES ($1, $2, $3, $4, 'CLAIMED', $5, $5, 0)";
    // The same two statements on either engine's transaction.
    macro_rules! take_and_write {
        ($begun:expr) => {{
            let Ok(mut tx) = $begun.await else {
                return false;
            };
            let taken = sqlx::query(take)
                .bind(coupon_id)
                .execute(&mut *tx)
                .await
                .is_ok_and(|r| r.rows_affected() == 1);
            // A unit taken but a claim not written is no win, and gives its unit back (the
            // transaction, dropped, rolls back). Every other raw claim ends with a COMMIT.
            let won = taken
                && sqlx::query(insert)
                    .bind(coupon_id)
                    .bind(merchant_id)
                    .bind(user_id)
                    .bind(code)
                    .bind(now)
                    .execute(&mut *tx)
                    .await
                    .is_ok();
            if taken && !won {
                return false;
            }
            tx.commit().await.is_ok() && won
        }};
    }
    match pool {
        // SQLite takes its write lock at BEGIN, as the server's write transactions do.
        Pool::Sqlite(p) => take_and_write!(p.begin_with("BEGIN IMMEDIATE")),
        Pool::Postgres(p) => take_and_write!(p.begin()),
    }
}
