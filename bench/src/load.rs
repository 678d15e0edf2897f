//! The load benchmark: (1) a public list of 20 merchants with their active coupons over
//! GraphQL, (2) a flash sale of many residents claiming one coupon, (3) the same list as a plain
//! axum JSON handler over the same SQL, the floor GraphQL adds its cost to.

use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::Utc;
use sea_orm::{ActiveModelTrait, DatabaseConnection, EntityTrait, Set};
use serde_json::{Value, json};
use tokio::sync::Semaphore;

use entity::coupon::{CouponKind, CouponStatus};
use entity::merchant::MerchantStatus;
use entity::merchant_member::MemberRole;
use entity::user_role::Role;
use entity::{coupon, merchant, merchant_member, user, user_role};
use shangju::domain;

use crate::server::{SECRET, Server};

pub struct Sizes {
    pub list_requests: usize,
    pub residents: usize,
    pub stock: i32,
    pub concurrency: usize,
}

const MERCHANTS: usize = 20;
const LIST: &str = "{ merchants(first: 20) { edges { node { id name category address coupons { id title kind amountFen percentOff remainingStock validUntil } } } } }";

struct Fixture {
    flash_coupon: i64,
    tokens: Vec<String>,
}

/// Inserts the street, 20 active merchants with three coupons each, the flash-sale coupon and
/// the residents, straight into the database the server uses.
async fn seed(db: &DatabaseConnection, sizes: &Sizes) -> Fixture {
    let now = Utc::now();
    let street = entity::street::ActiveModel {
        name: Set("九棵树街道".into()),
        created_at: Set(now),
        ..Default::default()
    }
    .insert(db)
    .await
    .expect("seed the benchmark database");
    let community = entity::community::ActiveModel {
        street_id: Set(street.id),
        name: Set("新城嘉园".into()),
        created_at: Set(now),
        ..Default::default()
    }
    .insert(db)
    .await
    .expect("seed the benchmark database");
    let hash = shangju::auth::password::hash_with(
        shangju::auth::password::owasp_params(),
        "bench-password",
    )
    .expect("seed the benchmark database");
    let new_user = |phone: String| user::ActiveModel {
        phone: Set(phone),
        display_name: Set("居民".into()),
        password_hash: Set(hash.clone()),
        street_id: Set(Some(street.id)),
        community_id: Set(Some(community.id)),
        disabled: Set(false),
        birth_date: Set(None),
        leaderboard_opt_out: Set(false),
        session_version: Set(0),
        created_at: Set(now),
        updated_at: Set(now),
        ..Default::default()
    };
    let mut flash_coupon = 0;
    for i in 0..MERCHANTS {
        let owner = new_user(format!("139{i:08}"))
            .insert(db)
            .await
            .expect("seed the benchmark database");
        user_role::ActiveModel {
            user_id: Set(owner.id),
            role: Set(Role::Merchant),
        }
        .insert(db)
        .await
        .expect("seed the benchmark database");
        let m = merchant::ActiveModel {
            street_id: Set(street.id),
            community_id: Set(Some(community.id)),
            owner_user_id: Set(owner.id),
            name: Set(format!("商户{i}")),
            category: Set("CANTEEN".into()),
            address: Set("九棵树东路".into()),
            contact_phone: Set("13911112222".into()),
            licence_no: Set(format!("LIC-{i}")),
            description: Set(String::new()),
            status: Set(MerchantStatus::Active),
            status_reason: Set(None),
            created_at: Set(now),
            updated_at: Set(now),
            ..Default::default()
        }
        .insert(db)
        .await
        .expect("seed the benchmark database");
        merchant_member::ActiveModel {
            merchant_id: Set(m.id),
            user_id: Set(owner.id),
            role: Set(MemberRole::Owner),
            created_at: Set(now),
        }
        .insert(db)
        .await
        .expect("seed the benchmark database");
        let coupons = if i == 0 { 4 } else { 3 };
        for j in 0..coupons {
            let flash = i == 0 && j == 3;
            let stock = if flash { sizes.stock } else { 1000 };
            let c = coupon::ActiveModel {
                merchant_id: Set(m.id),
                street_id: Set(street.id),
                title: Set(if flash {
                    "秒杀".into()
                } else {
                    format!("券{j}")
                }),
                description: Set(String::new()),
                kind: Set(CouponKind::PercentOff),
                amount_fen: Set(None),
                min_spend_fen: Set(None),
                percent_off: Set(Some(20)),
                item_name: Set(None),
                total_stock: Set(Some(stock)),
                remaining_stock: Set(Some(stock)),
                per_user_limit: Set(1),
                valid_from: Set(now - chrono::Duration::hours(1)),
                valid_until: Set(now + chrono::Duration::days(30)),
                min_age: Set(None),
                points_cost: Set(0),
                status: Set(CouponStatus::Active),
                status_reason: Set(None),
                claimed_count: Set(0),
                redeemed_count: Set(0),
                created_at: Set(now),
                updated_at: Set(now),
                ..Default::default()
            }
            .insert(db)
            .await
            .expect("seed the benchmark database");
            if flash {
                flash_coupon = c.id;
            }
        }
    }
    let tokens = shangju::auth::token::TokenService::new(
        SECRET.as_bytes(),
        shangju::config::JWT_ISSUER,
        shangju::config::JWT_AUDIENCE,
        Duration::from_secs(3600),
        Duration::from_secs(3600),
    );
    let mut out = Vec::with_capacity(sizes.residents);
    for i in 0..sizes.residents {
        let u = new_user(format!("158{i:08}"))
            .insert(db)
            .await
            .expect("seed the benchmark database");
        user_role::ActiveModel {
            user_id: Set(u.id),
            role: Set(Role::Resident),
        }
        .insert(db)
        .await
        .expect("seed the benchmark database");
        out.push(
            tokens
                .issue_access(u.id, vec![], 0, Utc::now())
                .expect("sign a token")
                .0,
        );
    }
    Fixture {
        flash_coupon,
        tokens: out,
    }
}

/// Latencies and outcome counts of one scenario.
pub struct Run {
    pub name: &'static str,
    pub elapsed: Duration,
    pub latencies: Vec<Duration>,
    pub failures: usize,
}

impl Run {
    pub fn rps(&self) -> f64 {
        self.latencies.len() as f64 / self.elapsed.as_secs_f64()
    }

    fn pct(&self, p: f64) -> f64 {
        let mut l = self.latencies.clone();
        l.sort();
        let i = ((l.len() as f64 * p).ceil() as usize).clamp(1, l.len()) - 1;
        l[i].as_secs_f64() * 1000.0
    }

    pub fn print(&self) {
        println!(
            "{:<34} {:>7} req {:>9.0} req/s  p50 {:>7.2} ms  p99 {:>7.2} ms  failures {}",
            self.name,
            self.latencies.len(),
            self.rps(),
            self.pct(0.50),
            self.pct(0.99),
            self.failures
        );
    }
}

/// Sends every request with at most `concurrency` in flight; `check` judges each answer.
async fn drive(
    name: &'static str,
    requests: Vec<reqwest::RequestBuilder>,
    concurrency: usize,
    check: impl Fn(&Value) -> bool + Send + Sync + 'static,
) -> (Run, Vec<Value>) {
    let gate = Arc::new(Semaphore::new(concurrency));
    let check = Arc::new(check);
    let start = Instant::now();
    let tasks: Vec<_> = requests
        .into_iter()
        .map(|req| {
            let gate = gate.clone();
            let check = check.clone();
            tokio::spawn(async move {
                let _permit = gate
                    .acquire_owned()
                    .await
                    .expect("the gate is never closed");
                let t = Instant::now();
                let answer = match req.send().await {
                    Ok(r) if r.status().is_success() => {
                        r.json::<Value>().await.unwrap_or(Value::Null)
                    }
                    _ => Value::Null,
                };
                let ok = check(&answer);
                (t.elapsed(), ok, answer)
            })
        })
        .collect();
    let mut latencies = Vec::new();
    let mut failures = 0;
    let mut answers = Vec::new();
    for t in tasks {
        let (l, ok, a) = t.await.expect("a load task panicked");
        latencies.push(l);
        failures += usize::from(!ok);
        answers.push(a);
    }
    (
        Run {
            name,
            elapsed: start.elapsed(),
            latencies,
            failures,
        },
        answers,
    )
}

fn graphql_ok(v: &Value) -> bool {
    v.get("errors").is_none() && !v["data"].is_null()
}

pub async fn run(server: &Server, sizes: Sizes) -> bool {
    let db = server.connect().await;
    let fx = seed(&db, &sizes).await;
    let floor = crate::floor::start(db.clone()).await;
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(sizes.concurrency)
        .build()
        .expect("seed the benchmark database");
    let mut ok = true;

    // Warm both up so that the first connections are not measured.
    for _ in 0..20 {
        let _ = client
            .post(server.graphql_url())
            .json(&json!({ "query": LIST }))
            .send()
            .await;
        let _ = client.get(&floor).send().await;
    }

    let reqs = (0..sizes.list_requests)
        .map(|_| {
            client
                .post(server.graphql_url())
                .json(&json!({ "query": LIST }))
        })
        .collect();
    let (graphql, answers) = drive(
        "(1) GraphQL: 20 merchants + coupons",
        reqs,
        sizes.concurrency,
        graphql_ok,
    )
    .await;
    let n = answers[0]["data"]["merchants"]["edges"]
        .as_array()
        .map_or(0, Vec::len);
    if n != MERCHANTS {
        eprintln!("list returned {n} merchants");
        ok = false;
    }
    graphql.print();

    let reqs = (0..sizes.list_requests)
        .map(|_| client.get(&floor))
        .collect();
    let (plain, _) = drive(
        "(3) plain axum JSON, same SQL",
        reqs,
        sizes.concurrency,
        |v| v.is_array(),
    )
    .await;
    plain.print();
    println!(
        "{:<34} GraphQL throughput is {:.2} of the floor; p50 {:.2}x",
        "(1)/(3)",
        graphql.rps() / plain.rps(),
        graphql.pct(0.5) / plain.pct(0.5)
    );

    let claim = "mutation($id: ID!) { claimCoupon(couponId: $id) { id } }";
    let gid = shangju::graphql::id::encode(entity::names::ObjectKind::Coupon, fx.flash_coupon);
    let reqs = fx
        .tokens
        .iter()
        .map(|t| {
            client
                .post(server.graphql_url())
                .bearer_auth(t)
                .json(&json!({ "query": claim, "variables": { "id": gid } }))
        })
        .collect();
    let (flash, answers) = drive(
        "(2) flash sale: claimCoupon",
        reqs,
        sizes.concurrency,
        |v| graphql_ok(v) || v["errors"][0]["extensions"]["code"] == "OUT_OF_STOCK",
    )
    .await;
    flash.print();
    let claimed = answers.iter().filter(|a| graphql_ok(a)).count();
    let remaining = coupon::Entity::find_by_id(fx.flash_coupon)
        .one(&db)
        .await
        .expect("read the flash coupon")
        .expect("the flash coupon exists")
        .remaining_stock;
    let rows = domain::coupon::query::count_claims(&db, fx.flash_coupon)
        .await
        .expect("count the flash claims");
    println!(
        "{:<34} {claimed} claims answered, {rows} stored, stock left {remaining:?} (expected {} and Some(0))",
        "flash sale check", sizes.stock
    );
    if claimed != sizes.stock as usize || rows != sizes.stock as u64 || remaining != Some(0) {
        ok = false;
    }
    if graphql.failures + plain.failures + flash.failures > 0 {
        ok = false;
    }
    ok
}
