//! The load benchmark: (1) a public list of 20 merchants with their active coupons over
//! GraphQL, (2) a flash sale of many residents claiming one coupon, (3) the same list as a plain
//! axum JSON handler over the same SQL, the floor GraphQL adds its cost to.

use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::Utc;
use sea_orm::{ActiveModelTrait, DatabaseConnection, EntityTrait, NotSet, Set};
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
    /// Flash sales run, each against its own ceiling; the median ratio is reported.
    pub sale_rounds: usize,
    /// Also measure PostGraphile.
    pub peer: bool,
}

const MERCHANTS: usize = 20;
const LIST: &str = "{ merchants(first: 20) { edges { node { id name category address coupons { id title kind amountFen percentOff remainingStock validUntil } } } } }";

struct Fixture {
    flash_coupon: i64,
    /// A second coupon like the flash one, for the raw claim's ceiling.
    ceiling_coupon: i64,
    merchant: i64,
    tokens: Vec<String>,
    residents: Vec<i64>,
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
    let mut ceiling_coupon = 0;
    let mut first_merchant = 0;
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
        let coupons = if i == 0 { 5 } else { 3 };
        if i == 0 {
            first_merchant = m.id;
        }
        for j in 0..coupons {
            let flash = i == 0 && j >= 3;
            let stock = if flash { sizes.stock } else { 1000 };
            let c = coupon::Terms {
                merchant_id: m.id,
                street_id: street.id,
                title: if flash {
                    "秒杀".into()
                } else {
                    format!("券{j}")
                },
                description: String::new(),
                kind: CouponKind::PercentOff,
                amount_fen: None,
                min_spend_fen: None,
                percent_off: Some(20),
                item_name: None,
                total_stock: Some(stock),
                per_user_limit: 1,
                valid_from: now - chrono::Duration::hours(1),
                valid_until: now + chrono::Duration::days(30),
                min_age: None,
                points_cost: 0,
            }
            .into_row(CouponStatus::Active, now)
            .insert(db)
            .await
            .expect("seed the benchmark database");
            if flash && j == 3 {
                flash_coupon = c.id;
            } else if flash {
                ceiling_coupon = c.id;
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
    let mut residents = Vec::with_capacity(sizes.residents);
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
        residents.push(u.id);
        out.push(
            tokens
                .issue_access(u.id, vec![], 0, None, Utc::now())
                .expect("sign a token")
                .0,
        );
    }
    Fixture {
        flash_coupon,
        ceiling_coupon,
        merchant: first_merchant,
        tokens: out,
        residents,
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

/// Sends the requests open-loop at `rate` per second and times each from when it was due, not
/// from when it was sent: a server that stalls is charged for the requests that queued behind
/// the stall (coordinated omission corrected). Returns p50, p99 and p99.9 in milliseconds, the
/// number of failed answers and when the slowest request was due (seconds from the start), to
/// tell a stall at the start from one later.
async fn at_fixed_rate(
    requests: Vec<reqwest::RequestBuilder>,
    rate: f64,
    check: impl Fn(&Value) -> bool + Send + Sync + 'static,
) -> (f64, f64, f64, usize, f64) {
    let check = Arc::new(check);
    let start = tokio::time::Instant::now();
    let interval = Duration::from_secs_f64(1.0 / rate.max(1.0));
    let tasks: Vec<_> = requests
        .into_iter()
        .enumerate()
        .map(|(i, req)| {
            let check = check.clone();
            let due = start + interval * i as u32;
            tokio::spawn(async move {
                tokio::time::sleep_until(due).await;
                let answer = match req.send().await {
                    Ok(r) if r.status().is_success() => {
                        r.json::<Value>().await.unwrap_or(Value::Null)
                    }
                    _ => Value::Null,
                };
                (due.elapsed(), check(&answer))
            })
        })
        .collect();
    let mut latencies = Vec::with_capacity(tasks.len());
    let mut failures = 0;
    for t in tasks {
        let (l, ok) = t.await.expect("a load task panicked");
        latencies.push(l);
        failures += usize::from(!ok);
    }
    let slowest_due = latencies
        .iter()
        .enumerate()
        .max_by_key(|(_, l)| **l)
        .map_or(0.0, |(i, _)| interval.as_secs_f64() * i as f64);
    let run = Run {
        name: "",
        elapsed: start.elapsed(),
        latencies,
        failures,
    };
    (
        run.pct(0.50),
        run.pct(0.99),
        run.pct(0.999),
        failures,
        slowest_due,
    )
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

/// A list shape, as GraphQL and as the floor ask for it.
struct Shape {
    name: &'static str,
    query: &'static str,
    floor: &'static str,
    peer: &'static str,
}

const SHAPES: [Shape; 2] = [
    Shape {
        name: "L",
        query: LIST,
        floor: "?first=20&coupons=20&full=true",
        peer: crate::peer::L,
    },
    Shape {
        name: "S",
        query: "{ merchants(first: 10) { edges { node { id name coupons(first: 5) { id title remainingStock } } } } }",
        floor: "?first=10&coupons=5&full=false",
        peer: crate::peer::S,
    },
];

/// Merchant ids with their coupon ids, in order: what both servers must agree on.
fn rows(merchants: &Value, coupons_of: impl Fn(&Value) -> &Value) -> Vec<(String, Vec<String>)> {
    merchants
        .as_array()
        .map(|list| {
            list.iter()
                .map(|m| {
                    let m = coupons_of(m);
                    let coupons = m["coupons"]
                        .as_array()
                        .map(|cs| cs.iter().map(|c| c["id"].to_string()).collect())
                        .unwrap_or_default();
                    (m["id"].to_string(), coupons)
                })
                .collect()
        })
        .unwrap_or_default()
}

/// A server under test for one shape: how to ask it, how to judge an answer, and its SQL per
/// request when the server does not count its own.
struct Target<'a> {
    name: &'static str,
    pid: u32,
    request: Box<dyn Fn() -> reqwest::RequestBuilder + 'a>,
    check: fn(&Value) -> bool,
    known_sql: Option<&'static str>,
}

/// One answer as JSON (null when there is none).
async fn answer(req: reqwest::RequestBuilder) -> Value {
    match req.send().await {
        Ok(r) => r.json().await.unwrap_or(Value::Null),
        Err(_) => Value::Null,
    }
}

/// One server's figures for one shape.
struct Figures {
    run: Run,
    cpu_ms: f64,
    statements: Option<f64>,
    peak_rss_mib: f64,
}

impl Figures {
    /// `statements`: what to show when the server does not count its own.
    fn print(&self, shape: &str, server: &str, statements: &str) {
        println!(
            "{shape:<3} {server:<8} {:>9.0} req/s  p50 {:>6.2} ms  p99 {:>6.2} ms  CPU {:>5.3} ms/req  SQL {:>4}/req  peak RSS {:>5.1} MiB  failures {}",
            self.run.rps(),
            self.run.pct(0.50),
            self.run.pct(0.99),
            self.cpu_ms,
            self.statements
                .map_or_else(|| statements.to_owned(), |s| format!("{s:.1}")),
            self.peak_rss_mib,
            self.run.failures,
        );
    }
}

/// Drives the requests and reads what the process at `pid` spent on them.
async fn measure(
    pid: u32,
    requests: Vec<reqwest::RequestBuilder>,
    concurrency: usize,
    check: impl Fn(&Value) -> bool + Send + Sync + 'static,
    statements: Option<(&Server, &reqwest::Client)>,
) -> Figures {
    let n = requests.len().max(1) as f64;
    let before = crate::usage::of(pid);
    let stmts_before = match statements {
        Some((s, c)) => Some(s.statements(c).await),
        None => None,
    };
    let (run, _) = drive("", requests, concurrency, check).await;
    let after = crate::usage::of(pid);
    let stmts = match (statements, stmts_before) {
        (Some((s, c)), Some(b)) => Some((s.statements(c).await - b) / n),
        _ => None,
    };
    Figures {
        run,
        cpu_ms: (after.cpu - before.cpu).as_secs_f64() * 1000.0 / n,
        statements: stmts,
        peak_rss_mib: after.peak_rss_kib as f64 / 1024.0,
    }
}

pub async fn run(server: &Server, sizes: Sizes) -> bool {
    let db = server.connect().await;
    let fx = seed(&db, &sizes).await;
    let floor = crate::server::Floor::start(&server.database_url).await;
    let peer = if sizes.peer {
        crate::peer::Peer::postgraphile(&server.database_url).await
    } else {
        None
    };
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(sizes.concurrency)
        .build()
        .expect("an HTTP client");
    let mut ok = true;

    println!(
        "{} requests per shape and server, {} in flight; CPU is the server process's own (all threads)",
        sizes.list_requests, sizes.concurrency
    );
    for shape in SHAPES {
        let ours_query = json!({ "query": shape.query });
        let floor_url = format!("{}{}", floor.url, shape.floor);
        let peer_query = json!({ "query": shape.peer });
        let mut targets = vec![
            Target {
                name: "shangju",
                pid: server.pid(),
                request: Box::new(|| client.post(server.graphql_url()).json(&ours_query)),
                check: graphql_ok,
                known_sql: None,
            },
            Target {
                name: "floor",
                pid: floor.pid(),
                request: Box::new(|| client.get(&floor_url)),
                check: graphql_ok,
                known_sql: Some("2"),
            },
        ];
        if let Some(p) = &peer {
            targets.push(Target {
                name: "pgl",
                pid: p.pid(),
                request: Box::new(|| client.post(&p.url).json(&peer_query)),
                check: graphql_ok,
                known_sql: Some("n/a"),
            });
        }

        // Every server must give the same rows before anything is timed.
        let mut answers = Vec::new();
        for t in &targets {
            answers.push(answer((t.request)()).await);
        }
        // The floor answers exactly what shangju does, field for field.
        let ours = rows(&answers[0]["data"]["merchants"]["edges"], |e| &e["node"]);
        let same = graphql_ok(&answers[0])
            && !ours.is_empty()
            && answers[1] == answers[0]
            && answers.get(2).is_none_or(|a| crate::peer::rows(a) == ours);
        if !same {
            eprintln!("shape {}: the answers differ", shape.name);
            for (t, a) in targets.iter().zip(&answers) {
                eprintln!("  {}: {a}", t.name);
            }
            ok = false;
            continue;
        }
        // Warm every server up so that the first connections are not measured.
        for t in &targets {
            for _ in 0..50 {
                let _ = (t.request)().send().await;
            }
        }

        let mut figures = Vec::new();
        for t in &targets {
            let reqs = (0..sizes.list_requests).map(|_| (t.request)()).collect();
            let counted = t.known_sql.is_none().then_some((server, &client));
            let f = measure(t.pid, reqs, sizes.concurrency, t.check, counted).await;
            f.print(shape.name, t.name, t.known_sql.unwrap_or(""));
            ok &= f.run.failures == 0;
            figures.push(f);
        }
        for (other, whose) in figures
            .iter()
            .zip(["", "the floor's", "PostGraphile's"])
            .skip(1)
        {
            println!(
                "{:<12} CPU per request {:.2}x {whose}; throughput {:.2}x",
                format!("{} ratios", shape.name),
                figures[0].cpu_ms / other.cpu_ms.max(f64::EPSILON),
                figures[0].run.rps() / other.run.rps().max(f64::EPSILON),
            );
        }

        // The same load for every server: 70 % of the slowest one's closed-loop throughput.
        let slowest = figures
            .iter()
            .map(|f| f.run.rps())
            .fold(f64::INFINITY, f64::min);
        let rate = (0.7 * slowest).max(1.0);
        let n = (sizes.list_requests / 2).max(1);
        for t in &targets {
            // Each server idled while the others ran, long enough for shangju to close its
            // idle keep-alive connections (`SHANGJU_HEADER_TIMEOUT`) and Node its own: a
            // second at the rate, untimed, opens them again, so the first to run is not
            // charged for reconnecting.
            let warm = (0..(rate as usize).max(1)).map(|_| (t.request)()).collect();
            at_fixed_rate(warm, rate, t.check).await;
            let reqs = (0..n).map(|_| (t.request)()).collect();
            let (p50, p99, p999, failed, slowest) = at_fixed_rate(reqs, rate, t.check).await;
            println!(
                "{:<3} {:<8} at {rate:>6.0} req/s fixed  p50 {p50:>6.2} ms  p99 {p99:>6.2} ms  p99.9 {p999:>6.2} ms  failures {failed}  slowest due at {slowest:.1} s",
                shape.name, t.name
            );
            ok &= failed == 0;
        }
    }

    // The sale in rounds, each on a fresh pair of coupons, the server's sale and the raw one by
    // turns: one sale lasts about a second here, too short for one ratio to mean much on a
    // shared machine.
    let claim = "mutation($id: ID!) { claimCoupon(couponId: $id) { id } }";
    let (cpu_before, stmts_before) = (
        crate::usage::of(server.pid()),
        server.statements(&client).await,
    );
    let pool = crate::floor::Pool::connect(&server.database_url, 16).await;
    let mut ratios = Vec::with_capacity(sizes.sale_rounds);
    for round in 0..sizes.sale_rounds {
        let (flash_coupon, ceiling_coupon) = if round == 0 {
            (fx.flash_coupon, fx.ceiling_coupon)
        } else {
            (
                copy_coupon(&db, fx.flash_coupon).await,
                copy_coupon(&db, fx.flash_coupon).await,
            )
        };
        let gid = shangju::graphql::id::encode(entity::names::ObjectKind::Coupon, flash_coupon);
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
        let (flash, answers) = drive("flash sale: claimCoupon", reqs, sizes.concurrency, |v| {
            graphql_ok(v) || v["errors"][0]["extensions"]["code"] == "OUT_OF_STOCK"
        })
        .await;
        flash.print();
        let claimed = answers.iter().filter(|a| graphql_ok(a)).count();
        ok &= sale_ended_right(&db, flash_coupon, claimed, sizes.stock).await;
        ok &= flash.failures == 0;

        // The ceiling: the same sale as raw claims straight on the database.
        let gate = Arc::new(Semaphore::new(sizes.concurrency));
        let start = Instant::now();
        let tasks: Vec<_> = fx
            .residents
            .iter()
            .map(|&user| {
                let (gate, pool) = (gate.clone(), pool.clone());
                let merchant = fx.merchant;
                tokio::spawn(async move {
                    let _permit = gate
                        .acquire_owned()
                        .await
                        .expect("the gate is never closed");
                    crate::floor::raw_claim(&pool, ceiling_coupon, merchant, user).await
                })
            })
            .collect();
        let mut won = 0;
        for t in tasks {
            won += usize::from(t.await.expect("a raw claim panicked"));
        }
        let ceiling_rps = fx.residents.len() as f64 / start.elapsed().as_secs_f64();
        println!(
            "{:<34} {:>7} req {:>9.0} req/s  (raw claims on the database)",
            "flash sale ceiling",
            fx.residents.len(),
            ceiling_rps
        );
        ok &= sale_ended_right(&db, ceiling_coupon, won, sizes.stock).await;
        ratios.push(flash.rps() / ceiling_rps);
    }
    let sold = (sizes.sale_rounds * fx.tokens.len()).max(1) as f64;
    println!(
        "{:<34} CPU {:.3} ms/req  SQL {:.1}/req (winners and the sold-out together)",
        "flash sale, every round",
        (crate::usage::of(server.pid()).cpu - cpu_before.cpu).as_secs_f64() * 1000.0 / sold,
        (server.statements(&client).await - stmts_before) / sold,
    );
    let rounds: Vec<String> = ratios.iter().map(|r| format!("{r:.2}")).collect();
    ratios.sort_by(f64::total_cmp);
    println!(
        "{:<34} the sale runs at {:.2}x its ceiling (the median of rounds {})",
        "flash sale ratio",
        ratios[ratios.len() / 2],
        rounds.join(", ")
    );
    ok
}

/// A new coupon like `like`, with all its stock: the next round's sale.
async fn copy_coupon(db: &DatabaseConnection, like: i64) -> i64 {
    let c = coupon::Entity::find_by_id(like)
        .one(db)
        .await
        .expect("read the coupon")
        .expect("the coupon exists");
    let mut copy: coupon::ActiveModel = c.clone().into();
    copy.id = NotSet;
    copy.remaining_stock = Set(c.total_stock);
    copy.claimed_count = Set(0);
    copy.insert(db).await.expect("add a coupon").id
}

/// Exactly `stock` claims answered and stored, and no stock left.
async fn sale_ended_right(
    db: &DatabaseConnection,
    coupon_id: i64,
    answered: usize,
    stock: i32,
) -> bool {
    let remaining = coupon::Entity::find_by_id(coupon_id)
        .one(db)
        .await
        .expect("read the coupon")
        .expect("the coupon exists")
        .remaining_stock;
    let rows = domain::coupon::query::count_claims(db, coupon_id)
        .await
        .expect("count the claims");
    println!(
        "{:<34} {answered} claims won, {rows} stored, stock left {remaining:?} (expected {stock} and Some(0))",
        "  check"
    );
    answered == stock as usize && rows == stock as u64 && remaining == Some(0)
}
