//! `/metrics`: requests by operation and outcome, latency, refusals, the database pool, the
//! password-hash queue and the alliance's own counters, which move only when work commits.

use axum::http::StatusCode;
use serde_json::{Value, json};

use crate::builders::*;
use crate::support::*;

async fn named(app: &TestApp, body: Value) -> Value {
    app.post(body.to_string(), &[("content-type", "application/json")])
        .await
        .json()
}

/// As [`named`], signed in as `who`.
async fn named_by(app: &TestApp, who: &TestUser, body: Value) -> Value {
    let auth = format!("Bearer {}", who.token);
    app.post(
        body.to_string(),
        &[
            ("content-type", "application/json"),
            ("authorization", auth.as_str()),
        ],
    )
    .await
    .json()
}

#[tokio::test]
async fn metrics_are_prometheus_text() {
    let app = TestApp::spawn().await;
    let reply = app.get("/metrics").await;
    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(
        reply.headers["content-type"], "text/plain; version=0.0.4",
        "the Prometheus text exposition format"
    );
    let text = String::from_utf8_lossy(&reply.body);
    for family in [
        "shangju_db_pool_connections",
        "shangju_password_hash_waiting",
        "shangju_password_hash_running",
        "shangju_coupon_claims_total",
        "shangju_coupon_redemptions_total",
    ] {
        assert!(
            text.contains(&format!("# TYPE {family} ")),
            "{family} missing:\n{text}"
        );
        assert!(
            text.contains(&format!("# HELP {family} ")),
            "{family} has no help"
        );
    }
}

#[tokio::test]
async fn requests_are_counted_by_operation_kind_and_outcome() {
    let app = TestApp::spawn().await;
    let someone = app.new_user().insert().await;
    let shops = json!({ "query": "query Shops { merchants(first: 1) { totalCount } }" });
    // An anonymous client's new name makes no label: it counts under `_other` …
    expect_ok(&named(&app, shops.clone()).await);
    // … until a signed-in client's request labels it; then anonymous ones count under it too.
    expect_ok(&named_by(&app, &someone, shops.clone()).await);
    expect_ok(&named(&app, shops).await);
    // Executed with an error: nobody is signed in.
    let failed = named(
        &app,
        json!({
            "query": "mutation Out { changePassword(input: { currentPassword: \"a-password-1\", newPassword: \"b-password-2\" }) { accessToken } }",
            "operationName": "Out"
        }),
    )
    .await;
    assert!(failed["errors"].is_array(), "{failed}");
    // Not executed at all: a syntax error, and an `operationName` the document lacks.
    named(&app, json!({ "query": "query Broken {" })).await;
    named(
        &app,
        json!({ "query": "query Real { __typename }", "operationName": "Invented" }),
    )
    .await;

    let requests = "shangju_graphql_requests_total";
    let shops = [("operation", "Shops"), ("kind", "query"), ("outcome", "ok")];
    assert_eq!(app.metric(requests, &shops).await, 2.0);
    let other = [
        ("operation", "_other"),
        ("kind", "query"),
        ("outcome", "ok"),
    ];
    assert_eq!(app.metric(requests, &other).await, 1.0);
    // Anonymous, so under `_other` too.
    let out = [
        ("operation", "_other"),
        ("kind", "mutation"),
        ("outcome", "error"),
    ];
    assert_eq!(app.metric(requests, &out).await, 1.0);
    assert_eq!(
        app.metric(requests, &[("outcome", "refused"), ("operation", "")])
            .await,
        2.0,
        "requests that ran nothing carry no operation label"
    );
    assert_eq!(
        app.metric(requests, &[("operation", "Invented")]).await,
        0.0,
        "a name the document does not define is no label"
    );
    let latency = "shangju_graphql_request_duration_seconds_count";
    assert_eq!(
        app.metric(latency, &[("operation", "Shops"), ("kind", "query")])
            .await,
        2.0
    );
    let errors = "shangju_graphql_errors_total";
    assert_eq!(
        app.metric(errors, &[("code", "UNAUTHENTICATED")]).await,
        1.0
    );
    assert_eq!(app.metric(errors, &[("code", "BAD_USER_INPUT")]).await, 2.0);
    assert_eq!(
        app.metric(
            "shangju_http_responses_total",
            &[("route", "/graphql"), ("status", "200")]
        )
        .await,
        6.0
    );
}

#[tokio::test]
async fn operation_labels_are_bounded() {
    let app = TestApp::spawn().await;
    let someone = app.new_user().insert().await;
    let extra = 15;
    for i in 0..shangju::metrics::MAX_OPERATION_LABELS + extra {
        let v = named_by(
            &app,
            &someone,
            json!({ "query": format!("query Op{i} {{ __typename }}") }),
        )
        .await;
        expect_ok(&v);
    }
    let reply = app.get("/metrics").await;
    let text = String::from_utf8_lossy(&reply.body);
    let names: std::collections::BTreeSet<String> =
        samples(&text, "shangju_graphql_requests_total")
            .filter_map(|(labels, _)| {
                labels
                    .into_iter()
                    .find(|(k, _)| k == "operation")
                    .map(|(_, v)| v)
            })
            .collect();
    assert_eq!(
        names.len(),
        shangju::metrics::MAX_OPERATION_LABELS + 1,
        "{names:?}"
    );
    assert_eq!(
        metric_in(
            &text,
            "shangju_graphql_requests_total",
            &[("operation", "_other")]
        ),
        extra as f64
    );
}

#[tokio::test]
async fn claims_redemptions_and_points_count_once_committed() {
    let app = TestApp::spawn().await;
    let street = app.new_street("九棵树街道", &["新城嘉园"]).await;
    let shop = app.new_merchant(&street).insert().await;
    let coupon = app
        .new_coupon(&shop)
        .stock(Some(1))
        .points_cost(5)
        .insert()
        .await;
    let resident = app.new_user().lives_in(&street, "新城嘉园").insert().await;
    let poor = app.new_user().lives_in(&street, "新城嘉园").insert().await;
    app.give_points(&resident, 8).await;

    let claims = "shangju_coupon_claims_total";
    let spent = [("kind", "REWARD_SPENT"), ("direction", "debit")];
    // Refused (not enough points): the claim rolls back and counts for nothing.
    let refused = app
        .gql_by(Some(&poor), CLAIM, json!({ "id": coupon.gid }))
        .await;
    expect_code(&refused, "INSUFFICIENT_POINTS");
    assert_eq!(app.metric(claims, &[]).await, 0.0);
    assert_eq!(app.metric("shangju_points_posted_total", &spent).await, 0.0);

    let claimed = app
        .gql_by(Some(&resident), CLAIM, json!({ "id": coupon.gid }))
        .await;
    expect_ok(&claimed);
    assert_eq!(app.metric(claims, &[]).await, 1.0);
    assert_eq!(app.metric("shangju_points_posted_total", &spent).await, 5.0);
    assert_eq!(
        app.metric(
            "shangju_points_posted_total",
            &[("kind", "VOLUNTEERING"), ("direction", "credit")]
        )
        .await,
        8.0
    );
    assert_eq!(
        app.metric("shangju_points_postings_total", &[]).await,
        2.0,
        "the credit and the debit"
    );
    // Out of stock now: nothing more is counted.
    let again = app
        .gql_by(Some(&poor), CLAIM, json!({ "id": coupon.gid }))
        .await;
    assert!(again["errors"].is_array(), "{again}");
    assert_eq!(app.metric(claims, &[]).await, 1.0);

    let code = claimed["data"]["claimCoupon"]["code"].as_str().unwrap();
    let redeem = json!({ "code": code, "key": "scan-1" });
    for _ in 0..2 {
        // The second is the same scan again: its first answer, no second redemption.
        let v = app.gql_by(Some(&shop.owner), REDEEM, redeem.clone()).await;
        expect_ok(&v);
    }
    assert_eq!(
        app.metric("shangju_coupon_redemptions_total", &[]).await,
        1.0
    );
    assert_eq!(
        app.metric("shangju_events_total", &[("kind", "coupon_claim.redeemed")])
            .await,
        1.0
    );
}

#[tokio::test]
async fn rate_limit_refusals_and_password_hashing_are_counted() {
    let app = TestApp::spawn().await;
    let phone = "13700000002";
    app.use_up_login_attempts(phone).await;
    let v = app
        .gql(
            LOGIN,
            json!({ "phone": phone, "password": "not the password" }),
        )
        .await;
    expect_code(&v, "RATE_LIMITED");
    assert_eq!(
        app.metric("shangju_rate_limit_refusals_total", &[("limit", "login")])
            .await,
        1.0
    );
    let checks = app
        .metric("shangju_password_hash_wait_seconds_count", &[])
        .await;
    assert!(
        checks >= shangju::domain::account::FREE_LOGIN_FAILURES as f64,
        "every failed login checked a hash: {checks}"
    );
    assert_eq!(app.metric("shangju_password_hash_waiting", &[]).await, 0.0);
    assert_eq!(app.metric("shangju_password_hash_running", &[]).await, 0.0);
}

#[tokio::test]
async fn the_pool_statements_and_transaction_waits_are_reported() {
    let app = TestApp::spawn().await;
    let street = app.new_street("九棵树街道", &["新城嘉园"]).await;
    let shop = app.new_merchant(&street).insert().await;
    let coupon = app.new_coupon(&shop).insert().await;
    let resident = app.new_user().lives_in(&street, "新城嘉园").insert().await;
    let before = app
        .metric("shangju_db_transaction_wait_seconds_count", &[])
        .await;
    expect_ok(
        &app.gql_by(Some(&resident), CLAIM, json!({ "id": coupon.gid }))
            .await,
    );
    assert_eq!(
        app.metric("shangju_db_transaction_wait_seconds_count", &[])
            .await,
        before + 1.0,
        "the claim waited once for its write transaction"
    );
    assert_eq!(
        app.metric("shangju_db_transaction_wait_timeouts_total", &[])
            .await,
        0.0
    );
    let max = app
        .metric("shangju_db_pool_connections", &[("state", "max")])
        .await;
    assert_eq!(max, 8.0, "the test pool's size");
    let in_use = app
        .metric("shangju_db_pool_connections", &[("state", "in_use")])
        .await;
    assert!((0.0..=max).contains(&in_use), "{in_use} of {max}");
    assert!(
        app.metric("shangju_db_statement_duration_seconds_count", &[])
            .await
            >= 3.0,
        "the claim's statements are timed"
    );
}

#[tokio::test]
async fn refusals_before_graphql_are_counted_by_route_and_status() {
    let app = TestApp::spawn().await;
    let big = "x".repeat(shangju::http::MAX_BODY_BYTES + 1);
    let reply = app.post(big, &[("content-type", "application/json")]).await;
    assert_eq!(reply.status, StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(app.get("/no-such-page").await.status, StatusCode::NOT_FOUND);
    let responses = "shangju_http_responses_total";
    assert_eq!(
        app.metric(responses, &[("route", "/graphql"), ("status", "413")])
            .await,
        1.0
    );
    assert_eq!(
        app.metric(responses, &[("route", "other"), ("status", "404")])
            .await,
        1.0,
        "unknown paths share one label"
    );
}

#[tokio::test]
async fn metrics_can_have_an_address_of_their_own() {
    let app = TestApp::spawn_with(Spawn {
        separate_metrics: true,
        ..Spawn::default()
    })
    .await;
    assert_eq!(app.get("/metrics").await.status, StatusCode::NOT_FOUND);
    let own = shangju::http::metrics_router(app.state.clone());
    let reply = tower::ServiceExt::oneshot(
        own,
        axum::http::Request::get("/metrics")
            .body(axum::body::Body::empty())
            .unwrap(),
    )
    .await
    .unwrap();
    assert_eq!(reply.status(), StatusCode::OK);
    let body = axum::body::to_bytes(reply.into_body(), usize::MAX)
        .await
        .unwrap();
    let text = String::from_utf8_lossy(&body);
    assert!(
        metric_in(
            &text,
            "shangju_http_responses_total",
            &[("route", "/metrics"), ("status", "404")]
        ) == 1.0,
        "the API's own router counted the refused scrape:\n{text}"
    );
}

/// The operations of documents the operator registered are labelled for anonymous clients too.
#[tokio::test]
async fn registered_operations_have_labels_from_the_start() {
    let doc = "query Streets { streets(first: 1) { totalCount } }";
    let list = shangju::http::persisted::PersistedQueries::parse_manifest(
        &json!({ shangju::http::persisted::hash(doc): doc }).to_string(),
    )
    .unwrap();
    let app = TestApp::spawn_with(Spawn {
        persisted_only: Some(list),
        ..Spawn::default()
    })
    .await;
    expect_ok(&named(&app, json!({ "query": doc })).await);
    let streets = [
        ("operation", "Streets"),
        ("kind", "query"),
        ("outcome", "ok"),
    ];
    assert_eq!(
        app.metric("shangju_graphql_requests_total", &streets).await,
        1.0
    );
}
