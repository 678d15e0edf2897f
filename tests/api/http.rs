//! The transport: content types, batches, body size, GET, health, GraphiQL, production mode,
//! panics and internal errors.

use std::sync::Arc;

use async_graphql::extensions::{
    Extension, ExtensionContext, ExtensionFactory, NextResolve, ResolveInfo,
};
use async_graphql::{ServerResult, Value as GqlValue};
use axum::http::StatusCode;
use sea_orm::ConnectionTrait;
use serde_json::json;

use crate::builders::*;
use crate::support::*;

const TYPENAME: &str = r#"{"query":"{ __typename }"}"#;

#[tokio::test]
async fn only_json_bodies_are_accepted() {
    let app = TestApp::spawn().await;
    let ok = app
        .post(
            TYPENAME,
            &[("content-type", "application/json; charset=utf-8")],
        )
        .await;
    assert_eq!(ok.status, StatusCode::OK);
    assert_eq!(ok.json()["data"]["__typename"], "QueryRoot");

    for ct in [
        None,
        Some("text/plain"),
        Some("application/x-www-form-urlencoded"),
        Some("application/graphql"),
    ] {
        let headers: Vec<(&str, &str)> = ct.map(|c| vec![("content-type", c)]).unwrap_or_default();
        let reply = app.post(TYPENAME, &headers).await;
        assert_eq!(reply.status, StatusCode::UNSUPPORTED_MEDIA_TYPE, "{ct:?}");
        assert_eq!(
            reply.json()["errors"][0]["extensions"]["code"],
            "BAD_USER_INPUT"
        );
    }
}

#[tokio::test]
async fn batches_and_malformed_json_are_bad_requests() {
    let app = TestApp::spawn().await;
    let batch = format!("  [{TYPENAME},{TYPENAME}]");
    let reply = app
        .post(batch, &[("content-type", "application/json")])
        .await;
    assert_eq!(reply.status, StatusCode::BAD_REQUEST);
    assert_eq!(
        reply.json()["errors"][0]["extensions"]["code"],
        "BAD_USER_INPUT"
    );

    for body in ["{", "null", "42", r#"{"query": 5}"#] {
        let reply = app
            .post(body, &[("content-type", "application/json")])
            .await;
        assert_eq!(reply.status, StatusCode::BAD_REQUEST, "{body}");
    }
}

#[tokio::test]
async fn bodies_over_64_kib_are_refused() {
    let app = TestApp::spawn().await;
    let padding = " ".repeat(64 * 1024);
    let body = format!(r#"{{"query":"{{ __typename }}"{padding}}}"#);
    let reply = app
        .post(body, &[("content-type", "application/json")])
        .await;
    assert_eq!(reply.status, StatusCode::PAYLOAD_TOO_LARGE);
    // Refused at the HTTP layer, and still answered in the shape of a GraphQL error.
    assert_eq!(code(&reply.json()), "BAD_USER_INPUT");

    let just_under = format!(r#"{{"query":"{{ __typename }}"{}}}"#, " ".repeat(60 * 1024));
    let reply = app
        .post(just_under, &[("content-type", "application/json")])
        .await;
    assert_eq!(reply.status, StatusCode::OK);
}

#[tokio::test]
async fn get_runs_queries_but_never_mutations() {
    let app = TestApp::spawn().await;
    let reply = app.get("/graphql?query=%7B__typename%7D").await;
    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(reply.json()["data"]["__typename"], "QueryRoot");

    let mutation = "mutation { register(input: { phone: \"13400000001\", password: \"long enough pw\", displayName: \"x\" }) { accessToken } }";
    let uri = format!("/graphql?query={}", urlencode(mutation));
    let reply = app.get(&uri).await;
    assert_eq!(reply.status, StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(reply.headers["allow"], "POST");
    let v = reply.json();
    assert_eq!(code(&v), "BAD_USER_INPUT", "{v}");
    assert!(v["data"].is_null());
    assert_eq!(app.count("users").await, 0);

    let reply = app.get("/graphql").await;
    assert_eq!(reply.status, StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn health_readiness_and_request_ids() {
    let app = TestApp::spawn().await;
    let h = app.get("/healthz").await;
    assert_eq!(h.status, StatusCode::OK);
    let r = app.get("/readyz").await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.json()["status"], "ready");
    assert!(h.headers.get("x-request-id").is_some());

    // The client's id is a correlation id, never the request's own.
    for header in ["x-request-id", "x-correlation-id"] {
        let req = axum::http::Request::get("/healthz").header(header, "client-chosen-id_1");
        let reply = app
            .request(req.body(axum::body::Body::empty()).unwrap())
            .await;
        assert_ne!(reply.headers["x-request-id"], "client-chosen-id_1");
        assert!(uuid::Uuid::parse_str(reply.headers["x-request-id"].to_str().unwrap()).is_ok());
        assert_eq!(reply.headers["x-correlation-id"], "client-chosen-id_1");
    }
    let req = axum::http::Request::get("/healthz").header("x-request-id", "bad id with spaces");
    let reply = app
        .request(req.body(axum::body::Body::empty()).unwrap())
        .await;
    assert_ne!(reply.headers["x-request-id"], "bad id with spaces");
    assert!(reply.headers.get("x-correlation-id").is_none());
}

/// An audit entry's request id is the server's, whatever id the client sends.
#[tokio::test]
async fn audit_entries_carry_the_servers_request_id() {
    use sea_orm::EntityTrait;
    let app = TestApp::spawn().await;
    let street = app.new_street("九棵树街道", &["新城嘉园"]).await;
    let staff = app.new_user().staff_of(&street).insert().await;
    let resident = app.new_user().street(street.id).insert().await;
    let chosen = "0".repeat(64);
    let body = json!({
        "query": "mutation($u: ID!) { adjustPoints(input: { userId: $u, amount: 20, reason: \"志愿服务\" }) { amount } }",
        "variables": { "u": gid(entity::names::ObjectKind::User, resident.id) },
    });
    let bearer = format!("Bearer {}", staff.token);
    let reply = app
        .post(
            body.to_string(),
            &[
                ("content-type", "application/json"),
                ("authorization", bearer.as_str()),
                ("x-request-id", chosen.as_str()),
            ],
        )
        .await;
    assert_eq!(
        reply.json()["data"]["adjustPoints"]["amount"],
        20,
        "{}",
        reply.json()
    );
    let ours = reply.headers["x-request-id"].to_str().unwrap().to_owned();
    assert_ne!(ours, chosen);
    assert_eq!(reply.headers["x-correlation-id"], chosen.as_str());
    let entries = entity::audit_entry::Entity::find()
        .all(&app.db)
        .await
        .unwrap();
    assert_eq!(entries.len(), 1);
    assert_eq!(entries[0].request_id.as_deref(), Some(ours.as_str()));
}

#[tokio::test]
async fn readiness_fails_when_the_database_is_gone() {
    let app = TestApp::spawn().await;
    app.db.clone().close().await.unwrap();
    let r = app.get("/readyz").await;
    assert_eq!(r.status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(app.get("/healthz").await.status, StatusCode::OK);
}

#[tokio::test]
async fn development_serves_graphiql_and_introspection() {
    let app = TestApp::spawn().await;
    let page = app.get("/").await;
    assert_eq!(page.status, StatusCode::OK);
    let html = String::from_utf8_lossy(&page.body).into_owned();
    assert!(html.contains("graphiql"));
    // Everything the page loads comes from this server, so it works offline.
    assert!(
        !html.contains("http://") && !html.contains("https://"),
        "{html}"
    );
    for (file, kind) in [
        ("graphiql.min.js", "text/javascript"),
        ("graphiql.min.css", "text/css"),
        ("react.production.min.js", "text/javascript"),
        ("react-dom.production.min.js", "text/javascript"),
        ("init.js", "text/javascript"),
    ] {
        assert!(html.contains(&format!("/assets/graphiql/{file}")), "{file}");
        let r = app.get(&format!("/assets/graphiql/{file}")).await;
        assert_eq!(r.status, StatusCode::OK, "{file}");
        assert!(
            r.headers["content-type"]
                .to_str()
                .unwrap()
                .starts_with(kind)
        );
        assert!(r.body.len() > 500, "{file}");
    }
    assert_eq!(
        app.get("/assets/graphiql/../Cargo.toml").await.status,
        StatusCode::NOT_FOUND
    );
    // Large answers are compressed for clients that accept it.
    let gz = app
        .request(
            axum::http::Request::get("/assets/graphiql/graphiql.min.js")
                .header("accept-encoding", "gzip")
                .body(axum::body::Body::empty())
                .unwrap(),
        )
        .await;
    assert_eq!(gz.headers["content-encoding"], "gzip");
    assert!(gz.body.len() < 1_500_000, "{}", gz.body.len());
    let v = app
        .gql("{ __schema { queryType { name } } }", json!({}))
        .await;
    assert_eq!(v["data"]["__schema"]["queryType"]["name"], "QueryRoot");
}

#[tokio::test]
async fn production_serves_neither_graphiql_nor_introspection() {
    let app = TestApp::spawn_with(Spawn {
        production: true,
        ..Default::default()
    })
    .await;
    assert_eq!(app.get("/").await.status, StatusCode::NOT_FOUND);
    for doc in [
        "{ __schema { queryType { name } } }",
        "{ __type(name: \"User\") { name } }",
        "query { ...F } fragment F on QueryRoot { __schema { queryType { name } } }",
    ] {
        let reply = app
            .post(
                json!({ "query": doc }).to_string(),
                &[
                    ("content-type", "application/json"),
                    ("accept", "application/graphql-response+json"),
                ],
            )
            .await;
        assert_eq!(reply.status, StatusCode::FORBIDDEN, "{doc}");
        expect_code(&reply.json(), "FORBIDDEN");
    }
    let v = app.gql("{ __typename }", json!({})).await;
    assert_eq!(v["data"]["__typename"], "QueryRoot");
}

/// Panics when `me` is resolved, to prove a panicking resolver cannot take the server down.
struct PanicOnMe;

impl ExtensionFactory for PanicOnMe {
    fn create(&self) -> Arc<dyn Extension> {
        Arc::new(PanicOnMe)
    }
}

#[async_trait::async_trait]
impl Extension for PanicOnMe {
    async fn resolve(
        &self,
        ctx: &ExtensionContext<'_>,
        info: ResolveInfo<'_>,
        next: NextResolve<'_>,
    ) -> ServerResult<Option<GqlValue>> {
        if info.name == "me" {
            panic!("boom: secret internals");
        }
        next.run(ctx, info).await
    }
}

#[tokio::test]
async fn a_panicking_resolver_gets_an_internal_error_and_the_server_keeps_serving() {
    let app = TestApp::spawn_with(Spawn {
        customizers: vec![Box::new(|b| b.extension(PanicOnMe))],
        ..Default::default()
    })
    .await;
    let reply = app
        .post(
            r#"{"query":"{ me { id } }"}"#,
            &[("content-type", "application/json")],
        )
        .await;
    assert_eq!(reply.status, StatusCode::OK);
    let v = reply.json();
    assert_eq!(code(&v), "INTERNAL_SERVER_ERROR", "{v}");
    let request_id = reply.headers["x-request-id"].to_str().unwrap();
    assert_eq!(v["errors"][0]["extensions"]["requestId"], request_id);
    assert!(!reply.body.windows(4).any(|w| w == b"boom"));

    let v = app.gql("{ __typename }", json!({})).await;
    assert_eq!(v["data"]["__typename"], "QueryRoot");
}

#[tokio::test]
async fn database_errors_are_internal_and_never_leak_their_text() {
    let app = TestApp::spawn().await;
    app.db
        .execute_unprepared("ALTER TABLE communities RENAME TO communities_gone")
        .await
        .unwrap();
    app.street("九棵树街道", &[]).await;
    let reply = app
        .post(
            r#"{"query":"{ streets { edges { node { name communities { name } } } } }"}"#,
            &[("content-type", "application/json")],
        )
        .await;
    let v = reply.json();
    assert_eq!(code(&v), "INTERNAL_SERVER_ERROR", "{v}");
    assert_eq!(message(&v), "服务器内部错误");
    let text = String::from_utf8_lossy(&reply.body).to_lowercase();
    for leak in [
        "no such table",
        "does not exist",
        "sqlite",
        "relation",
        "select",
    ] {
        assert!(!text.contains(leak), "{leak}: {text}");
    }
    assert!(
        v["errors"][0]["extensions"]["requestId"]
            .as_str()
            .unwrap()
            .len()
            > 8
    );
}

const GRAPHQL_RESPONSE: &str = "application/graphql-response+json";

async fn post_accepting(app: &TestApp, accept: &str, body: serde_json::Value) -> Reply {
    app.post(
        body.to_string(),
        &[("content-type", "application/json"), ("accept", accept)],
    )
    .await
}

/// The GraphQL-over-HTTP specification: clients that accept `application/graphql-response+json`
/// get it, with 400 and no `data` for requests that could not be executed; legacy
/// `application/json` clients keep 200.
#[tokio::test]
async fn request_errors_use_http_status_codes_for_the_graphql_media_type() {
    let app = TestApp::spawn().await;
    let cases = [
        ("syntax", json!({ "query": "{ __typename" })),
        ("validation", json!({ "query": "{ noSuchField }" })),
        (
            "limits",
            json!({ "query": format!("{{ {} }}", "__typename ".repeat(600)) }),
        ),
        (
            "variables",
            json!({ "query": "query($id: ID!) { coupon(id: $id) { title } }", "variables": { "id": null } }),
        ),
    ];
    for (what, body) in cases {
        let r = post_accepting(&app, GRAPHQL_RESPONSE, body.clone()).await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST, "{what}");
        assert!(
            r.headers["content-type"]
                .to_str()
                .unwrap()
                .starts_with(GRAPHQL_RESPONSE)
        );
        let v = r.json();
        assert!(v.get("data").is_none(), "{what}: {v}");
        assert_eq!(code(&v), "BAD_USER_INPUT", "{what}");
        let legacy = post_accepting(&app, "application/json", body).await;
        assert_eq!(legacy.status, StatusCode::OK, "{what}");
        assert_eq!(legacy.headers["content-type"], "application/json");
        assert_eq!(code(&legacy.json()), "BAD_USER_INPUT", "{what}");
    }
    // An error during execution is a field error: 200 with `data`, in either media type.
    let r = post_accepting(
        &app,
        GRAPHQL_RESPONSE,
        json!({ "query": "{ coupon(id: \"Q291cG9uOjk5\") { title } }" }),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK);
    let v = r.json();
    assert!(v.get("data").is_some(), "{v}");
    assert_eq!(code(&v), "NOT_FOUND");
    // Preference follows the q-values; `*/*` and no Accept mean application/json.
    for (accept, graphql) in [
        (
            "application/json;q=0.9, application/graphql-response+json",
            true,
        ),
        (
            "application/graphql-response+json;q=0.5, application/json",
            false,
        ),
        ("*/*", false),
    ] {
        let r = post_accepting(&app, accept, json!({ "query": "{ __typename }" })).await;
        let ct = r.headers["content-type"].to_str().unwrap().to_owned();
        assert_eq!(ct.starts_with(GRAPHQL_RESPONSE), graphql, "{accept}: {ct}");
    }
}

#[tokio::test]
async fn malformed_parameters_are_bad_requests_in_any_media_type() {
    let app = TestApp::spawn().await;
    for body in [
        json!({}),
        json!({ "query": "" }),
        json!({ "query": ["{ __typename }"] }),
        json!({ "query": "{ __typename }", "variables": [] }),
        json!({ "query": "{ __typename }", "variables": "{}" }),
        json!({ "query": "{ __typename }", "operationName": 7 }),
        json!({ "query": "{ __typename }", "extensions": "x" }),
    ] {
        for accept in ["application/json", GRAPHQL_RESPONSE] {
            let r = post_accepting(&app, accept, body.clone()).await;
            assert_eq!(r.status, StatusCode::BAD_REQUEST, "{body} {accept}");
            assert_eq!(code(&r.json()), "BAD_USER_INPUT");
        }
    }
    // Over GET: variables as a JSON string work; a malformed one is a bad request.
    let ok = app
        .get(&format!(
            "/graphql?query={}&variables={}",
            urlencode("query($n: String!) { __type(name: $n) { name } }"),
            urlencode(r#"{"n":"Merchant"}"#)
        ))
        .await;
    assert_eq!(ok.status, StatusCode::OK);
    assert_eq!(ok.json()["data"]["__type"]["name"], "Merchant");
    let bad = app
        .get(&format!(
            "/graphql?query={}&variables=%7B",
            urlencode("{ __typename }")
        ))
        .await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST);
    // A method the route does not take answers in the GraphQL error shape too.
    let put = app
        .request(
            axum::http::Request::put("/graphql")
                .body(axum::body::Body::empty())
                .unwrap(),
        )
        .await;
    assert_eq!(put.status, StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(code(&put.json()), "BAD_USER_INPUT");
}

#[tokio::test]
async fn browsers_on_allowed_origins_may_call_and_others_may_not() {
    let preflight = |origin: &'static str| {
        axum::http::Request::builder()
            .method("OPTIONS")
            .uri("/graphql")
            .header("origin", origin)
            .header("access-control-request-method", "POST")
            .header(
                "access-control-request-headers",
                "content-type,authorization",
            )
            .body(axum::body::Body::empty())
            .unwrap()
    };
    let console = "https://console.jiukeshu.example";
    let app = TestApp::spawn_with(Spawn {
        production: true,
        cors: Some(shangju::config::Cors::Origins(vec![console.to_owned()])),
        ..Default::default()
    })
    .await;
    let ok = app.request(preflight(console)).await;
    assert_eq!(ok.headers["access-control-allow-origin"], console);
    assert!(
        ok.headers["access-control-allow-headers"]
            .to_str()
            .unwrap()
            .contains("authorization")
    );
    let other = app.request(preflight("https://evil.example")).await;
    assert!(other.headers.get("access-control-allow-origin").is_none());

    // Production allows no origin unless told.
    let closed = TestApp::spawn_with(Spawn {
        production: true,
        ..Default::default()
    })
    .await;
    let r = closed.request(preflight(console)).await;
    assert!(r.headers.get("access-control-allow-origin").is_none());
}
