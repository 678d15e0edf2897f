//! Prometheus metrics: what the server does (requests by operation and outcome, latency), what
//! it waits for (database connections, password hashing) and what the alliance does (claims,
//! redemptions, points), rendered in the text exposition format at `/metrics`.
//!
//! Each [`AppState`](crate::state::AppState) has its own registry, so tests (many apps in one
//! process) read exact numbers. Domain counters move only when the transaction that did the
//! work commits: commands [`tally`](crate::domain::context::Cx::tally) on their context and
//! the outermost commit [`apply`](Metrics::apply)s what was tallied.

use std::collections::HashSet;
use std::sync::Mutex;
use std::time::Duration;

use prometheus::{
    Encoder, Histogram, HistogramOpts, HistogramVec, IntCounter, IntCounterVec, IntGauge,
    IntGaugeVec, Opts, Registry, TextEncoder,
};
use sea_orm::{DatabaseConnection, DbBackend};

use entity::event::EventKind;
use entity::points_entry::PointsKind;

/// Distinct operation names that get a label of their own; later ones count as `_other`, so a
/// client inventing names cannot grow the series without bound.
pub const MAX_OPERATION_LABELS: usize = 200;
const OTHER_OPERATION: &str = "_other";
const ANONYMOUS_OPERATION: &str = "_anonymous";

/// Seconds: from a millisecond to ten seconds.
const LATENCY_BUCKETS: &[f64] = &[
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];

/// Something a command did, counted once its transaction commits.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Tally {
    CouponClaimed,
    CouponRedeemed,
    PointsPosted { kind: PointsKind, amount: i64 },
    Event(EventKind),
}

/// How a GraphQL request ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// Executed without errors.
    Ok,
    /// Executed, with at least one error.
    Error,
    /// Not executed: unauthenticated, unparsable, invalid or over a limit.
    Refused,
}

impl Outcome {
    fn label(self) -> &'static str {
        match self {
            Outcome::Ok => "ok",
            Outcome::Error => "error",
            Outcome::Refused => "refused",
        }
    }
}

fn statement_ran(
    duration: &Histogram,
    failures: &IntCounter,
    sql: &str,
    elapsed: Duration,
    failed: bool,
) {
    duration.observe(elapsed.as_secs_f64());
    tracing::trace!(target: "shangju::sql", sql, ?elapsed);
    if failed {
        failures.inc();
    }
}

pub struct Metrics {
    registry: Registry,
    graphql_requests: IntCounterVec,
    graphql_duration: HistogramVec,
    graphql_errors: IntCounterVec,
    http_responses: IntCounterVec,
    rate_limit_refusals: IntCounterVec,
    db_pool: IntGaugeVec,
    db_transaction_wait: Histogram,
    db_acquire_timeouts: IntCounter,
    db_leases: IntCounter,
    db_statement_duration: Histogram,
    db_statement_failures: IntCounter,
    pub(crate) password_hash_waiting: IntGauge,
    pub(crate) password_hash_running: IntGauge,
    pub(crate) password_hash_wait: Histogram,
    coupon_claims: IntCounter,
    coupon_redemptions: IntCounter,
    points_posted: IntCounterVec,
    points_postings: IntCounterVec,
    events: IntCounterVec,
    operations: Mutex<HashSet<String>>,
}

impl std::fmt::Debug for Metrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Metrics")
    }
}

impl Default for Metrics {
    fn default() -> Self {
        Metrics::new()
    }
}

impl Metrics {
    pub fn new() -> Metrics {
        let registry =
            Registry::new_custom(Some("shangju".into()), None).expect("a fixed, valid prefix");
        let r = Registering(&registry);
        Metrics {
            graphql_requests: r.counter_vec(
                "graphql_requests_total",
                "GraphQL requests by operation name, kind (query, mutation) and outcome (ok, error, refused).",
                &["operation", "kind", "outcome"],
            ),
            graphql_duration: r.histogram_vec(
                "graphql_request_duration_seconds",
                "Time from receiving a GraphQL request to its answer, by operation name and kind.",
                &["operation", "kind"],
                LATENCY_BUCKETS,
            ),
            graphql_errors: r.counter_vec(
                "graphql_errors_total",
                "Errors in GraphQL answers, by their extensions.code.",
                &["code"],
            ),
            http_responses: r.counter_vec(
                "http_responses_total",
                "HTTP answers by route and status, including refusals before GraphQL (413, 415, 405).",
                &["route", "status"],
            ),
            rate_limit_refusals: r.counter_vec(
                "rate_limit_refusals_total",
                "Requests refused by a rate limit (RATE_LIMITED), by limit.",
                &["limit"],
            ),
            db_pool: r.gauge_vec(
                "db_pool_connections",
                "Database connections: in_use, idle, and max (the pool's size limit).",
                &["state"],
            ),
            db_transaction_wait: r.histogram(
                "db_transaction_wait_seconds",
                "Time a command waited to begin its write transaction: a pooled connection, and on SQLite the write lock.",
                LATENCY_BUCKETS,
            ),
            db_acquire_timeouts: r.counter(
                "db_transaction_wait_timeouts_total",
                "Write transactions that could not begin in time (no connection or lock within the database timeout).",
            ),
            db_leases: r.counter(
                "db_leases_total",
                "Pooled connections taken to be held for several statements: a signed-in request's session check with the page or claim it goes on to, a page with what it primes.",
            ),
            db_statement_duration: r.histogram(
                "db_statement_duration_seconds",
                "Time the database took to run one statement.",
                LATENCY_BUCKETS,
            ),
            db_statement_failures: r.counter(
                "db_statement_failures_total",
                "Statements the database answered with an error (constraint violations included).",
            ),
            password_hash_waiting: r.gauge(
                "password_hash_waiting",
                "Password hashes or checks waiting for a hashing slot.",
            ),
            password_hash_running: r.gauge(
                "password_hash_running",
                "Password hashes or checks running now.",
            ),
            password_hash_wait: r.histogram(
                "password_hash_wait_seconds",
                "Time a password hash or check waited for a hashing slot.",
                LATENCY_BUCKETS,
            ),
            coupon_claims: r.counter("coupon_claims_total", "Coupons claimed by residents."),
            coupon_redemptions: r.counter(
                "coupon_redemptions_total",
                "Claimed coupons redeemed at a merchant's counter.",
            ),
            points_posted: r.counter_vec(
                "points_posted_total",
                "Points posted to residents' accounts, by kind and direction (credit, debit).",
                &["kind", "direction"],
            ),
            points_postings: r.counter_vec(
                "points_postings_total",
                "Points entries written, by kind.",
                &["kind"],
            ),
            events: r.counter_vec(
                "events_total",
                "Events written to the outbox, by kind.",
                &["kind"],
            ),
            operations: Mutex::new(HashSet::new()),
            registry,
        }
    }

    /// Counts what a committed transaction did.
    pub fn apply(&self, tallies: &[Tally]) {
        for t in tallies {
            match *t {
                Tally::CouponClaimed => self.coupon_claims.inc(),
                Tally::CouponRedeemed => self.coupon_redemptions.inc(),
                Tally::PointsPosted { kind, amount } => {
                    let kind = sea_orm::ActiveEnum::to_value(&kind);
                    let direction = if amount < 0 { "debit" } else { "credit" };
                    self.points_posted
                        .with_label_values(&[kind.as_str(), direction])
                        .inc_by(amount.unsigned_abs());
                    self.points_postings
                        .with_label_values(&[kind.as_str()])
                        .inc();
                }
                Tally::Event(kind) => {
                    let kind = sea_orm::ActiveEnum::to_value(&kind);
                    self.events.with_label_values(&[kind.as_str()]).inc();
                }
            }
        }
    }

    /// One GraphQL request: the operation that ran (its name in the document, if it has one;
    /// `None` when nothing ran), its kind, outcome, time and error codes. Only a signed-in
    /// client's request (`signed_in`) gives a new name a label of its own; anonymous ones count
    /// under a name some signed-in request labelled, or under `_other`.
    pub fn graphql_request(
        &self,
        signed_in: bool,
        operation: Option<Option<&str>>,
        kind: Option<&'static str>,
        outcome: Outcome,
        elapsed: Duration,
        codes: &[String],
    ) {
        // Only names from the parsed document become labels: an `operationName` naming
        // nothing would let any string in.
        let operation = match operation {
            Some(name) => self.operation_label(name, signed_in),
            None => String::new(),
        };
        let kind = kind.unwrap_or("");
        self.graphql_requests
            .with_label_values(&[operation.as_str(), kind, outcome.label()])
            .inc();
        self.graphql_duration
            .with_label_values(&[operation.as_str(), kind])
            .observe(elapsed.as_secs_f64());
        for code in codes {
            self.graphql_errors
                .with_label_values(&[code.as_str()])
                .inc();
            // A refused request's RATE_LIMITED is a per-address limit's, counted by it.
            if code == "RATE_LIMITED" && outcome != Outcome::Refused {
                self.rate_limit_refusals.with_label_values(&["login"]).inc();
            }
        }
    }

    /// A request refused by a per-address limit (`sign_in`, `register`, `redeem`).
    pub fn address_refusal(&self, limit: &str) {
        self.rate_limit_refusals.with_label_values(&[limit]).inc();
    }

    /// Gives these operation names (of documents the operator registered) labels of their
    /// own, for anonymous clients too (sign-in, public pages).
    pub fn know_operations(&self, names: impl IntoIterator<Item = String>) {
        let Ok(mut seen) = self.operations.lock() else {
            return;
        };
        for name in names {
            if seen.len() < MAX_OPERATION_LABELS {
                seen.insert(name);
            }
        }
    }

    fn operation_label(&self, name: Option<&str>, may_add: bool) -> String {
        let Some(name) = name else {
            return ANONYMOUS_OPERATION.to_owned();
        };
        let Ok(mut seen) = self.operations.lock() else {
            return OTHER_OPERATION.to_owned();
        };
        if seen.contains(name) {
            return name.to_owned();
        }
        if may_add && seen.len() < MAX_OPERATION_LABELS && name.len() <= 64 {
            seen.insert(name.to_owned());
            return name.to_owned();
        }
        OTHER_OPERATION.to_owned()
    }

    pub fn http_response(&self, route: &'static str, status: u16) {
        self.http_responses
            .with_label_values(&[route, status.to_string().as_str()])
            .inc();
    }

    /// A write transaction began after `waited`, or (`began` false) gave up.
    pub fn transaction_wait(&self, waited: Duration, began: bool) {
        self.db_transaction_wait.observe(waited.as_secs_f64());
        if !began {
            self.db_acquire_timeouts.inc();
        }
    }

    /// A connection was taken from the pool to be held (`rows::Lease`).
    pub fn lease_taken(&self) {
        self.db_leases.inc();
    }

    /// Times every statement the connection runs, in transactions too.
    pub fn watch_statements(&self, db: &mut DatabaseConnection) {
        let (duration, failures) = (
            self.db_statement_duration.clone(),
            self.db_statement_failures.clone(),
        );
        db.set_metric_callback(move |info| {
            statement_ran(
                &duration,
                &failures,
                &info.statement.sql,
                info.elapsed,
                info.failed,
            );
        });
    }

    /// A statement run outside sea-orm (`rows::query`), counted as sea-orm's are.
    pub fn statement(&self, sql: &str, elapsed: Duration, failed: bool) {
        statement_ran(
            &self.db_statement_duration,
            &self.db_statement_failures,
            sql,
            elapsed,
            failed,
        );
    }

    /// Statements run so far.
    pub fn statement_count(&self) -> usize {
        usize::try_from(self.db_statement_duration.get_sample_count()).unwrap_or(usize::MAX)
    }

    /// The exposition text, with the pool's gauges read now.
    pub fn render(&self, db: &DatabaseConnection) -> String {
        let (size, idle, max) = match db.get_database_backend() {
            DbBackend::Sqlite => {
                let pool = db.get_sqlite_connection_pool();
                (
                    pool.size(),
                    pool.num_idle(),
                    pool.options().get_max_connections(),
                )
            }
            DbBackend::Postgres => {
                let pool = db.get_postgres_connection_pool();
                (
                    pool.size(),
                    pool.num_idle(),
                    pool.options().get_max_connections(),
                )
            }
            _ => (0, 0, 0),
        };
        let idle = i64::try_from(idle).unwrap_or(i64::MAX);
        self.db_pool
            .with_label_values(&["in_use"])
            .set(i64::from(size) - idle);
        self.db_pool.with_label_values(&["idle"]).set(idle);
        self.db_pool.with_label_values(&["max"]).set(i64::from(max));
        let mut out = Vec::new();
        if let Err(e) = TextEncoder::new().encode(&self.registry.gather(), &mut out) {
            tracing::error!(error = %e, "encoding metrics failed");
        }
        String::from_utf8(out).unwrap_or_default()
    }
}

/// Raises a gauge for as long as it lives, so a cancelled wait lowers it again.
pub struct GaugeGuard(IntGauge);

impl GaugeGuard {
    pub fn raise(gauge: &IntGauge) -> GaugeGuard {
        gauge.inc();
        GaugeGuard(gauge.clone())
    }
}

impl Drop for GaugeGuard {
    fn drop(&mut self) {
        self.0.dec();
    }
}

/// Creates metrics and registers them; the names and labels are fixed, so failing is a bug.
struct Registering<'a>(&'a Registry);

impl Registering<'_> {
    fn register<C: prometheus::core::Collector + Clone + 'static>(&self, c: C) -> C {
        self.0
            .register(Box::new(c.clone()))
            .expect("metric names are unique");
        c
    }

    fn counter(&self, name: &str, help: &str) -> IntCounter {
        self.register(IntCounter::with_opts(Opts::new(name, help)).expect("valid metric"))
    }

    fn counter_vec(&self, name: &str, help: &str, labels: &[&str]) -> IntCounterVec {
        self.register(IntCounterVec::new(Opts::new(name, help), labels).expect("valid metric"))
    }

    fn gauge(&self, name: &str, help: &str) -> IntGauge {
        self.register(IntGauge::with_opts(Opts::new(name, help)).expect("valid metric"))
    }

    fn gauge_vec(&self, name: &str, help: &str, labels: &[&str]) -> IntGaugeVec {
        self.register(IntGaugeVec::new(Opts::new(name, help), labels).expect("valid metric"))
    }

    fn histogram(&self, name: &str, help: &str, buckets: &[f64]) -> Histogram {
        self.register(
            Histogram::with_opts(HistogramOpts::new(name, help).buckets(buckets.to_vec()))
                .expect("valid metric"),
        )
    }

    fn histogram_vec(
        &self,
        name: &str,
        help: &str,
        labels: &[&str],
        buckets: &[f64],
    ) -> HistogramVec {
        self.register(
            HistogramVec::new(
                HistogramOpts::new(name, help).buckets(buckets.to_vec()),
                labels,
            )
            .expect("valid metric"),
        )
    }
}
