//! Persisted queries: the automatic protocol that Apollo Client and urql speak, and the
//! allow-list mode in which only an operator's registered documents run.

use axum::http::StatusCode;
use serde_json::{Value, json};

use shangju::http::persisted::hash;

use crate::builders::*;
use crate::support::*;

const DOC: &str = "{ streets(first: 1) { totalCount } }";

fn pq(h: &str) -> Value {
    json!({ "persistedQuery": { "version": 1, "sha256Hash": h } })
}

async fn post(app: &TestApp, body: Value) -> Reply {
    app.post(body.to_string(), &[("content-type", "application/json")])
        .await
}

#[tokio::test]
async fn an_unknown_hash_asks_for_the_document_which_then_runs_by_hash() {
    let app = TestApp::spawn().await;
    app.new_street("九棵树街道", &["新城嘉园"]).await;
    let h = hash(DOC);

    let miss = post(&app, json!({ "extensions": pq(&h) })).await;
    assert_eq!(miss.status, StatusCode::OK);
    let v = miss.json();
    assert_eq!(v["errors"][0]["message"], "PersistedQueryNotFound", "{v}");
    expect_code(&v, "PERSISTED_QUERY_NOT_FOUND");

    let register = post(&app, json!({ "query": DOC, "extensions": pq(&h) })).await;
    assert_eq!(register.json()["data"]["streets"]["totalCount"], 1);

    let hit = post(&app, json!({ "extensions": pq(&h) })).await;
    assert_eq!(
        hit.json()["data"]["streets"]["totalCount"],
        1,
        "{}",
        hit.json()
    );
    // Over GET too, so persisted reads can be cached by a CDN or proxy.
    let uri = format!("/graphql?extensions={}", urlencode(&pq(&h).to_string()));
    let get = app.get(&uri).await;
    assert_eq!(get.status, StatusCode::OK);
    assert_eq!(get.json()["data"]["streets"]["totalCount"], 1);

    // A hash that is not the document's, or a protocol version we do not speak.
    let wrong = post(
        &app,
        json!({ "query": "{ __typename }", "extensions": pq(&h) }),
    )
    .await;
    assert_eq!(wrong.status, StatusCode::BAD_REQUEST);
    expect_code(&wrong.json(), "BAD_USER_INPUT");
    let v2 = post(
        &app,
        json!({ "extensions": { "persistedQuery": { "version": 2, "sha256Hash": h } } }),
    )
    .await;
    assert_eq!(v2.status, StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn in_allow_list_mode_only_registered_documents_run() {
    let manifest = format!(
        r#"{{"format":"apollo-persisted-query-manifest","version":1,"operations":[{{"id":"{}","name":"Streets","type":"query","body":"{DOC}"}}]}}"#,
        hash(DOC)
    );
    let list = shangju::http::persisted::PersistedQueries::parse_manifest(&manifest).unwrap();
    let app = TestApp::spawn_with(Spawn {
        production: true,
        persisted_only: Some(list),
        ..Default::default()
    })
    .await;
    let by_hash = post(&app, json!({ "extensions": pq(&hash(DOC)) })).await;
    assert_eq!(
        by_hash.json()["data"]["streets"]["totalCount"],
        0,
        "{}",
        by_hash.json()
    );
    let in_full = post(&app, json!({ "query": DOC })).await;
    assert_eq!(in_full.status, StatusCode::OK);

    let other = "{ __typename }";
    for body in [
        json!({ "query": other }),
        json!({ "query": other, "extensions": pq(&hash(other)) }),
    ] {
        let r = post(&app, body).await;
        assert_eq!(r.status, StatusCode::FORBIDDEN);
        expect_code(&r.json(), "FORBIDDEN");
    }
    // Nothing registers itself: the unregistered document is still unknown by hash.
    let miss = post(&app, json!({ "extensions": pq(&hash(other)) })).await;
    expect_code(&miss.json(), "PERSISTED_QUERY_NOT_FOUND");
}
