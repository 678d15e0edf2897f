//! `TestApp`: a fresh database, the real migrations, the real router, and helpers to talk to it.

use std::sync::{Arc, OnceLock};
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::http::{HeaderMap, Request, StatusCode};
use chrono::Utc;
use sea_orm::{ActiveModelTrait, ConnectionTrait, DatabaseConnection, Set};
use serde_json::{Value, json};
use tower::ServiceExt;

use entity::user_role::Role;
use entity::user_tag;
use shangju::app::{self, AppOptions};
use shangju::clock::ManualClock;
use shangju::db::{self, DbSettings};
use shangju::graphql::SchemaCustomizer;
use shangju::state::AppState;

pub const PASSWORD: &str = "correct horse battery";
pub const SECRET: &[u8] = b"test-secret-of-at-least-32-bytes!!";

/// One hash of [`PASSWORD`] shared by every test user, so that setting up users is cheap.
pub fn password_hash() -> &'static str {
    static HASH: OnceLock<String> = OnceLock::new();
    HASH.get_or_init(|| {
        shangju::auth::password::hash_with(shangju::auth::password::owasp_params(), PASSWORD)
            .expect("hash")
    })
}

pub struct TestApp {
    pub router: Router,
    pub db: DatabaseConnection,
    pub state: AppState,
    /// A URL that reaches this test's database from another process.
    pub database_url: String,
    /// The server's clock: tests move time with it.
    pub clock: ManualClock,
    /// The SMS provider the server sends codes to.
    pub sms: crate::fakes::FakeSms,
    /// WeChat, as the server sees it.
    pub wechat: crate::fakes::FakeWeChat,
    _dir: Option<tempfile::TempDir>,
}

#[derive(Default)]
pub struct Spawn {
    pub production: bool,
    /// Overrides the default (on in development, off in production).
    pub introspection: Option<bool>,
    /// Overrides the default (any origin in development, none in production).
    pub cors: Option<shangju::config::Cors>,
    /// Allow-list mode with these documents.
    pub persisted_only: Option<shangju::http::PersistedDocuments>,
    /// `/metrics` on an address of its own, not on the API's router.
    pub separate_metrics: bool,
    pub customizers: Vec<SchemaCustomizer>,
    /// Overrides the 10 s a GraphQL request may run.
    pub request_timeout: Option<Duration>,
    /// Overrides the 10 s a client may take to send a body.
    pub body_timeout: Option<Duration>,
    /// Overrides the 5 s a statement may run or wait for SQLite's lock.
    pub statement_timeout: Option<Duration>,
    /// Overrides the pool's 8 connections.
    pub max_connections: Option<u32>,
    /// Limits per client address (none by default: every test request comes from 127.0.0.1).
    pub rate_limits: shangju::http::ratelimit::RateLimits,
    /// No SMS provider set up (as in production without one).
    pub without_sms: bool,
    /// WeChat sign-in not set up.
    pub without_wechat: bool,
    /// Registration of unproven phones without SMS; default: as the environment's default.
    pub unverified_registration: Option<bool>,
    /// A SQLite file in this directory, whatever `TEST_DATABASE_URL` says (storage-fault tests
    /// put it on a filesystem of their own).
    pub sqlite_dir: Option<std::path::PathBuf>,
}

/// The response of one request.
pub struct Reply {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Vec<u8>,
}

impl Reply {
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|_| panic!("not JSON: {}", String::from_utf8_lossy(&self.body)))
    }
}

impl TestApp {
    pub async fn spawn() -> TestApp {
        TestApp::spawn_with(Spawn::default()).await
    }

    pub async fn spawn_with(spawn: Spawn) -> TestApp {
        let (mut settings, dir) = match &spawn.sqlite_dir {
            Some(d) => {
                let url = format!("sqlite://{}?mode=rwc", d.join("test.db").display());
                let mut settings = DbSettings::new(url);
                settings.max_connections = 8;
                (settings, None)
            }
            None => fresh_database().await,
        };
        if let Some(t) = spawn.statement_timeout {
            settings.statement_timeout = Some(t);
        }
        if let Some(n) = spawn.max_connections {
            settings.max_connections = n;
        }
        let db = db::connect_migrated(&settings)
            .await
            .expect("connect and migrate");
        let sms = crate::fakes::FakeSms::start().await;
        let wechat = crate::fakes::FakeWeChat::start().await;
        let options = AppOptions {
            jwt_secret: SECRET.to_vec(),
            access_token_ttl: Duration::from_secs(900),
            refresh_token_ttl: Duration::from_secs(30 * 86400),
            hash_concurrency: 2,
            production: spawn.production,
            introspection: spawn.introspection.unwrap_or(!spawn.production),
            cors: spawn.cors.clone().unwrap_or(if spawn.production {
                shangju::config::Cors::None
            } else {
                shangju::config::Cors::Any
            }),
            slow_request: Duration::from_secs(1),
            persisted_only: spawn.persisted_only.clone(),
            metrics_on_api: !spawn.separate_metrics,
            unverified_registration: spawn.unverified_registration.unwrap_or(!spawn.production),
            request_timeout: spawn.request_timeout.unwrap_or(Duration::from_secs(10)),
            body_timeout: spawn.body_timeout.unwrap_or(Duration::from_secs(10)),
            rate_limits: spawn.rate_limits,
            sms: if spawn.without_sms {
                shangju::gateway::sms::SmsSettings::Off
            } else {
                shangju::gateway::sms::SmsSettings::Http {
                    url: sms.url.clone(),
                    api_key: crate::fakes::SMS_API_KEY.to_owned(),
                    template: shangju::gateway::sms::DEFAULT_TEMPLATE.to_owned(),
                }
            },
            storage: settings.storage.clone(),
            wechat: (!spawn.without_wechat).then(|| shangju::gateway::wechat::WeChatSettings {
                api_base: wechat.base.clone(),
                app_id: crate::fakes::WECHAT_APP_ID.to_owned(),
                secret: crate::fakes::WECHAT_SECRET.to_owned(),
            }),
        };
        let clock = ManualClock::new();
        let mut state = app::state(db.clone(), &options);
        state.clock = Arc::new(clock.clone());
        let router = app::router_with(state.clone(), &options, spawn.customizers);
        TestApp {
            router,
            db,
            state,
            database_url: cli_url(&settings),
            clock,
            sms,
            wechat,
            _dir: dir,
        }
    }

    /// Sends one request through the router.
    /// Sends one request, from 127.0.0.1 unless it names its peer (as the server's accept loop
    /// does, in a `ConnectInfo`).
    pub async fn request(&self, mut req: Request<Body>) -> Reply {
        type Peer = axum::extract::ConnectInfo<std::net::SocketAddr>;
        if req.extensions().get::<Peer>().is_none() {
            req.extensions_mut()
                .insert(axum::extract::ConnectInfo(std::net::SocketAddr::from((
                    [127, 0, 0, 1],
                    40000,
                ))));
        }
        let resp = self.router.clone().oneshot(req).await.expect("infallible");
        let status = resp.status();
        let headers = resp.headers().clone();
        let body = axum::body::to_bytes(resp.into_body(), usize::MAX)
            .await
            .map(|b| b.to_vec())
            .unwrap_or_default();
        Reply {
            status,
            headers,
            body,
        }
    }

    /// POSTs a raw body with the given headers.
    pub async fn post(&self, body: impl Into<Body>, headers: &[(&str, &str)]) -> Reply {
        let mut req = Request::post("/graphql");
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        self.request(req.body(body.into()).unwrap()).await
    }

    pub async fn get(&self, uri: &str) -> Reply {
        self.request(Request::get(uri).body(Body::empty()).unwrap())
            .await
    }

    /// Runs a GraphQL operation with optional bearer token and extra headers.
    pub async fn gql_with(
        &self,
        token: Option<&str>,
        headers: &[(&str, &str)],
        query: &str,
        variables: Value,
    ) -> Value {
        let body = json!({ "query": query, "variables": variables }).to_string();
        let auth = token.map(|t| format!("Bearer {t}"));
        let mut all = vec![("content-type", "application/json")];
        if let Some(a) = &auth {
            all.push(("authorization", a.as_str()));
        }
        all.extend_from_slice(headers);
        let reply = self.post(body, &all).await;
        assert_eq!(
            reply.status,
            StatusCode::OK,
            "{}",
            String::from_utf8_lossy(&reply.body)
        );
        reply.json()
    }

    /// As [`TestApp::gql`], asking for English messages.
    pub async fn gql_en(&self, query: &str, variables: Value) -> Value {
        self.gql_with(None, &[("accept-language", "en")], query, variables)
            .await
    }

    pub async fn gql(&self, query: &str, variables: Value) -> Value {
        self.gql_with(None, &[], query, variables).await
    }

    pub async fn gql_as(&self, token: &str, query: &str, variables: Value) -> Value {
        self.gql_with(Some(token), &[], query, variables).await
    }

    /// Creates a user straight in the database (password [`PASSWORD`]) and returns its id and
    /// an access token.
    pub async fn user(&self, phone: &str, roles: &[Role], street_id: Option<i64>) -> TestUser {
        let mut b = self.new_user().phone(phone).roles(roles);
        if let Some(s) = street_id {
            b = b.street(s);
        }
        b.insert().await
    }

    /// Runs an operation as `who` (anonymous for `None`).
    pub async fn gql_by(&self, who: Option<&TestUser>, query: &str, variables: Value) -> Value {
        self.gql_with(who.map(|u| u.token.as_str()), &[], query, variables)
            .await
    }

    pub async fn tag(&self, user_id: i64, tag: &str) {
        user_tag::ActiveModel {
            user_id: Set(user_id),
            tag: Set(tag.to_owned()),
        }
        .insert(&self.db)
        .await
        .expect("insert tag");
    }

    pub fn token_for(&self, user_id: i64, session_version: i32) -> String {
        self.state
            .tokens
            .issue_access(user_id, vec![], session_version, None, Utc::now())
            .expect("token")
            .0
    }

    /// A street with communities, made straight in the database.
    pub async fn street(&self, name: &str, communities: &[&str]) -> (i64, Vec<i64>) {
        let cx = shangju::domain::context::Cx::system(&self.state);
        let street = shangju::domain::street::find_or_create(&cx, name)
            .await
            .expect("street");
        let mut ids = Vec::new();
        for c in communities {
            ids.push(
                shangju::domain::street::find_or_create_community(&cx, street.id, c)
                    .await
                    .expect("community")
                    .id,
            );
        }
        (street.id, ids)
    }

    /// Waits (up to 10 s) until every connection the server's pool holds is idle in it, that
    /// is until every request still running has ended; whether it did.
    pub async fn pool_settled(&self) -> bool {
        let idle = || match self.db.get_database_backend() {
            sea_orm::DbBackend::Postgres => {
                let pool = self.db.get_postgres_connection_pool();
                pool.num_idle() as u32 == pool.size()
            }
            _ => {
                let pool = self.db.get_sqlite_connection_pool();
                pool.num_idle() as u32 == pool.size()
            }
        };
        for _ in 0..100 {
            if idle() {
                return true;
            }
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
        false
    }

    pub async fn count(&self, table: &str) -> i64 {
        let backend = self.db.get_database_backend();
        let row = self
            .db
            .query_one_raw(sea_orm::Statement::from_string(
                backend,
                format!("SELECT COUNT(*) AS n FROM {table}"),
            ))
            .await
            .expect("count")
            .expect("row");
        row.try_get::<i64>("", "n").expect("n")
    }
}

impl TestApp {
    /// Runs `query` as `who` and counts the SQL statements the server ran for it.
    pub async fn gql_counting(&self, who: Option<&TestUser>, query: &str) -> (Value, usize) {
        let before = self.statement_count();
        let v = self.gql_by(who, query, json!({})).await;
        (v, self.statement_count() - before)
    }

    /// SQL statements the server has run so far (its metrics count every one), for tests that
    /// nested lists cost no query per row.
    pub fn statement_count(&self) -> usize {
        self.state.metrics.statement_count()
    }

    /// The value of a metric as `/metrics` shows it now: the sum over the series of `name`
    /// whose labels include all of `labels` (0 when there is none).
    pub async fn metric(&self, name: &str, labels: &[(&str, &str)]) -> f64 {
        let reply = self.get("/metrics").await;
        assert_eq!(reply.status, StatusCode::OK);
        metric_in(&String::from_utf8_lossy(&reply.body), name, labels)
    }

    /// Asks for an SMS code for `phone` and returns it as the fake provider received it.
    pub async fn send_code(&self, phone: &str) -> String {
        let v = self.gql(SEND_CODE, json!({ "phone": phone })).await;
        assert!(v.get("errors").is_none(), "{v}");
        self.sms.last_code(phone)
    }

    /// A `RegisterInput` with the SMS code that proves its phone.
    pub async fn proven(&self, mut input: Value) -> Value {
        let raw = input["phone"].as_str().unwrap();
        let digits: String = raw.chars().filter(char::is_ascii_digit).collect();
        let phone = digits
            .strip_prefix("86")
            .filter(|d| d.len() == 11)
            .unwrap_or(&digits);
        input["code"] = json!(self.send_code(phone).await);
        input
    }

    /// Signs in to `phone` with a wrong password as often as is free, so the next attempt of
    /// any password meets the lock.
    pub async fn use_up_login_attempts(&self, phone: &str) {
        for _ in 0..shangju::domain::account::FREE_LOGIN_FAILURES {
            let v = self
                .gql(
                    LOGIN,
                    json!({ "phone": phone, "password": "not the password" }),
                )
                .await;
            assert_eq!(code(&v), "UNAUTHENTICATED", "{v}");
        }
    }

    /// The router on a real socket, served by the server's own accept loop with `limits`; it
    /// stops when the test ends.
    pub async fn listen(&self, limits: shangju::app::ConnectionLimits) -> std::net::SocketAddr {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(app::serve_until(
            listener,
            self.router.clone(),
            limits,
            Duration::from_secs(1),
            std::future::pending(),
        ));
        addr
    }

    /// The owner invites `clerk` by phone and the clerk accepts, through the API.
    pub async fn join_as_clerk(&self, owner: &TestUser, merchant_gid: &str, clerk: &TestUser) {
        let invited = self
            .gql_as(
                &owner.token,
                "mutation($id: ID!, $p: String!) { inviteMerchantClerk(merchantId: $id, phone: $p) { id } }",
                json!({ "id": merchant_gid, "p": clerk.phone }),
            )
            .await;
        let id = invited["data"]["inviteMerchantClerk"]["id"].clone();
        assert!(id.is_string(), "{invited}");
        let accepted = self
            .gql_as(
                &clerk.token,
                "mutation($id: ID!) { acceptClerkInvitation(id: $id) { status } }",
                json!({ "id": id }),
            )
            .await;
        assert_eq!(
            accepted["data"]["acceptClerkInvitation"]["status"], "ACCEPTED",
            "{accepted}"
        );
    }

    /// A staff member of the street.
    pub async fn staff(&self, phone: &str, street_id: i64) -> TestUser {
        self.user(phone, &[Role::Staff], Some(street_id)).await
    }

    /// An active merchant in the community, owned by a new resident with the given phone.
    /// Returns the merchant's ID and its owner.
    pub async fn merchant(
        &self,
        name: &str,
        owner_phone: &str,
        community_gid: &str,
    ) -> (String, TestUser) {
        let community_id = shangju::graphql::id::decode(
            entity::names::ObjectKind::Community,
            "community",
            &async_graphql::ID(community_gid.to_owned()),
        )
        .expect("community ID");
        let community = shangju::domain::street::get_community(&self.db, community_id)
            .await
            .expect("community")
            .expect("community exists");
        let owner = self.new_user().phone(owner_phone).insert().await;
        let m = self
            .new_merchant_in(community.street_id)
            .name(name)
            .community_id(community.id)
            .owner(owner)
            .insert()
            .await;
        (m.gid, m.owner)
    }

    /// A published coupon of the merchant; `fields` override the defaults.
    pub async fn coupon(&self, owner: &TestUser, merchant_gid: &str, fields: Value) -> String {
        // By the server's clock, which a test may have set to a day of its own.
        let now = shangju::clock::Clock::now(&self.clock);
        let mut input = json!({
            "merchantId": merchant_gid, "title": "午餐 8 折", "kind": "PERCENT_OFF",
            "percentOff": 20, "totalStock": 100,
            "validFrom": (now - chrono::Duration::hours(1)).to_rfc3339(),
            "validUntil": (now + chrono::Duration::days(30)).to_rfc3339(),
        });
        for (k, v) in fields.as_object().unwrap() {
            input[k] = v.clone();
        }
        let v = self
            .gql_as(&owner.token, CREATE_COUPON, json!({ "input": input }))
            .await;
        let id = v["data"]["createCoupon"]["id"]
            .as_str()
            .unwrap_or_else(|| panic!("create failed: {v}"))
            .to_owned();
        let p = self
            .gql_as(
                &owner.token,
                "mutation($id: ID!) { publishCoupon(id: $id) { status } }",
                json!({ "id": id }),
            )
            .await;
        assert_eq!(p["data"]["publishCoupon"]["status"], "ACTIVE", "{p}");
        id
    }

    /// The opaque ID of a community made with [`TestApp::street`].
    pub async fn community_gid(&self, street_name: &str, community: &str) -> String {
        let v = self
            .gql(
                "{ streets(first: 100) { edges { node { name communities { id name } } } } }",
                json!({}),
            )
            .await;
        v["data"]["streets"]["edges"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|e| e["node"]["name"] == street_name)
            .flat_map(|e| e["node"]["communities"].as_array().unwrap().clone())
            .find(|c| c["name"] == community)
            .and_then(|c| c["id"].as_str().map(str::to_owned))
            .expect("community")
    }

    /// Sends `n` copies of one operation at once and returns the answers.
    pub async fn parallel(&self, requests: Vec<(Option<String>, String, Value)>) -> Vec<Value> {
        let tasks: Vec<_> = requests
            .into_iter()
            .map(|(token, query, vars)| {
                let router = self.router.clone();
                tokio::spawn(async move {
                    let body = json!({ "query": query, "variables": vars }).to_string();
                    let mut req =
                        Request::post("/graphql").header("content-type", "application/json");
                    if let Some(t) = token {
                        req = req.header("authorization", format!("Bearer {t}"));
                    }
                    let mut req = req.body(Body::from(body)).unwrap();
                    // From 127.0.0.1, as `request` sends them.
                    req.extensions_mut().insert(axum::extract::ConnectInfo(
                        std::net::SocketAddr::from(([127, 0, 0, 1], 40000)),
                    ));
                    let resp = router.oneshot(req).await.unwrap();
                    let bytes = axum::body::to_bytes(resp.into_body(), usize::MAX)
                        .await
                        .unwrap();
                    serde_json::from_slice::<Value>(&bytes).unwrap()
                })
            })
            .collect();
        let mut out = Vec::new();
        for t in tasks {
            out.push(t.await.unwrap());
        }
        out
    }
}

/// Counts answers by their first error code ("" for success).
pub fn tally(answers: &[Value]) -> std::collections::BTreeMap<String, usize> {
    let mut m = std::collections::BTreeMap::new();
    for a in answers {
        *m.entry(code(a)).or_insert(0) += 1;
    }
    m
}

pub const APPLY: &str =
    "mutation($input: ApplyMerchantInput!) { applyMerchant(input: $input) { id status } }";
pub const REVIEW: &str = "mutation($input: ReviewMerchantInput!) { reviewMerchant(input: $input) { id status statusReason } }";
pub const CREATE_COUPON: &str = "mutation($input: CreateCouponInput!) { createCoupon(input: $input) { id status remainingStock } }";
pub const CLAIM: &str =
    "mutation($id: ID!) { claimCoupon(couponId: $id) { id code qrPayload status } }";
pub const REDEEM: &str = "mutation($code: String!, $key: String!) { redeemCoupon(code: $code, idempotencyKey: $key) { id status redeemedAt } }";

#[derive(Clone)]
pub struct TestUser {
    pub id: i64,
    pub token: String,
    pub phone: String,
}

/// An empty, unmigrated database for a child process: its URL, and the folder that must live
/// as long as it is used (SQLite).
pub async fn empty_database_url() -> (String, Option<tempfile::TempDir>) {
    let (settings, dir) = fresh_database().await;
    (cli_url(&settings), dir)
}

/// A fresh database: a temporary SQLite file, or a new schema in `TEST_DATABASE_URL`.
async fn fresh_database() -> (DbSettings, Option<tempfile::TempDir>) {
    match std::env::var("TEST_DATABASE_URL") {
        Ok(url) if !url.is_empty() => {
            let schema = format!("t_{}", uuid::Uuid::new_v4().simple());
            let admin = db::connect(&DbSettings::new(url.clone()))
                .await
                .expect("connect to TEST_DATABASE_URL");
            admin
                .execute_unprepared(&format!("CREATE SCHEMA \"{schema}\""))
                .await
                .expect("create schema");
            admin.close().await.ok();
            let mut settings = DbSettings::new(url);
            settings.schema = Some(schema);
            settings.max_connections = 8;
            (settings, None)
        }
        _ => {
            let dir = tempfile::tempdir().expect("tempdir");
            let url = format!("sqlite://{}?mode=rwc", dir.path().join("test.db").display());
            let mut settings = DbSettings::new(url);
            settings.max_connections = 8;
            (settings, Some(dir))
        }
    }
}

fn cli_url(settings: &DbSettings) -> String {
    match &settings.schema {
        Some(schema) => {
            let sep = if settings.url.contains('?') { '&' } else { '?' };
            format!("{}{sep}options=-c%20search_path%3D{schema}", settings.url)
        }
        None => settings.url.clone(),
    }
}

/// The first error's `extensions.code`, or "" when there is none.
pub fn code(v: &Value) -> String {
    v["errors"][0]["extensions"]["code"]
        .as_str()
        .unwrap_or("")
        .to_owned()
}

pub fn message(v: &Value) -> String {
    v["errors"][0]["message"].as_str().unwrap_or("").to_owned()
}

pub const SEND_CODE: &str =
    "mutation($phone: String!) { sendLoginCode(phone: $phone) { expiresAt resendAt } }";

pub const LOGIN: &str = "mutation($phone: String!, $password: String!) {
  login(input: { phone: $phone, password: $password }) {
    accessToken refreshToken expiresAt refreshExpiresAt user { id phone roles }
  }
}";

pub const REGISTER: &str = "mutation($input: RegisterInput!) {
  register(input: $input) { accessToken refreshToken user { id phone displayName roles community { name } street { name } } }
}";

pub const ME: &str = "{ me { id phone displayName roles tags } }";

/// The sum over the samples of `name` in Prometheus text whose labels include all of `labels`.
pub fn metric_in(text: &str, name: &str, labels: &[(&str, &str)]) -> f64 {
    samples(text, name)
        .filter(|(have, _)| {
            labels
                .iter()
                .all(|(k, v)| have.iter().any(|(hk, hv)| hk == k && hv == v))
        })
        .map(|(_, value)| value)
        .sum()
}

/// The samples of `name`: their labels and values.
pub fn samples<'a>(
    text: &'a str,
    name: &'a str,
) -> impl Iterator<Item = (Vec<(String, String)>, f64)> + 'a {
    text.lines().filter_map(move |line| {
        let rest = line.strip_prefix(name)?;
        let (labels, value) = match rest.strip_prefix('{') {
            Some(r) => {
                let (labels, value) = r.split_once("} ")?;
                (labels, value)
            }
            None => ("", rest.strip_prefix(' ')?),
        };
        let labels = labels
            .split("\",")
            .filter(|p| !p.is_empty())
            .filter_map(|p| {
                let (k, v) = p.split_once("=\"")?;
                Some((k.to_owned(), v.trim_end_matches('"').to_owned()))
            })
            .collect();
        Some((labels, value.trim().parse().ok()?))
    })
}

/// Percent-encodes a query parameter (everything but unreserved characters).
pub fn urlencode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}
