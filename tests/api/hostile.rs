//! Documents crafted to make the parser, validator or executor work hard are refused cheaply,
//! and the server keeps answering. (Their timings are measured by `cargo run --release --bin
//! shangju-bench -- hostile`, not asserted here.)

use axum::http::StatusCode;
use serde_json::json;

use crate::builders::*;
use crate::support::*;

pub fn hostile_documents() -> Vec<(&'static str, String)> {
    shangju::graphql::limits::hostile_documents()
}

#[tokio::test]
async fn hostile_documents_are_refused_and_the_server_keeps_serving() {
    let app = TestApp::spawn().await;
    for (name, query) in hostile_documents() {
        let body = json!({ "query": query }).to_string();
        assert!(body.len() <= 64 * 1024, "{name} is {} bytes", body.len());
        let reply = app
            .post(body, &[("content-type", "application/json")])
            .await;
        assert_eq!(reply.status, StatusCode::OK, "{name}");
        let v = reply.json();
        assert_eq!(
            code(&v),
            "BAD_USER_INPUT",
            "{name}: {}",
            &v.to_string()[..200.min(v.to_string().len())]
        );
        assert!(v["data"].is_null(), "{name}");
    }
    let v = app.gql("{ __typename }", json!({})).await;
    assert_eq!(v["data"]["__typename"], "QueryRoot");
}

#[tokio::test]
async fn large_but_ordinary_lists_pass_the_complexity_limit() {
    let app = TestApp::spawn().await;
    let q = "{ merchants(first: 100) { totalCount edges { cursor node { id name category address contactPhone
        coupons(first: 20) { id title kind amountFen minSpendFen percentOff itemName remainingStock validFrom validUntil } } } } }";
    let v = app.gql(q, json!({})).await;
    assert_eq!(code(&v), "", "{v}");
    let nested = "{ merchants(first: 100) { edges { node { coupons(first: 100) { merchant { coupons(first: 100) { title } } } } } } }";
    let v = app.gql(nested, json!({})).await;
    assert_eq!(code(&v), "BAD_USER_INPUT", "{v}");
}

#[tokio::test]
async fn page_sizes_are_capped() {
    let app = TestApp::spawn().await;
    let v = app
        .gql("{ streets(first: 101) { totalCount } }", json!({}))
        .await;
    expect_code(&v, "BAD_USER_INPUT");
    assert_eq!(v["errors"][0]["extensions"]["field"], "first");
    let v = app
        .gql("{ streets(first: -1) { totalCount } }", json!({}))
        .await;
    expect_code(&v, "BAD_USER_INPUT");
    let v = app
        .gql("{ streets(first: 100) { totalCount } }", json!({}))
        .await;
    assert_eq!(code(&v), "", "{v}");
}

#[tokio::test]
async fn ordinary_queries_with_fragments_and_a_few_aliases_pass() {
    let app = TestApp::spawn().await;
    app.street("九棵树街道", &["新城嘉园", "翠屏北里"]).await;
    let q = "query Q { a: streets(first: 5) { ...S } b: streets(first: 1) { ...S } }
             fragment S on StreetConnection { totalCount edges { cursor node { id name communities { name street { name } } } } pageInfo { hasNextPage } }";
    let v = app.gql(q, json!({})).await;
    assert_eq!(code(&v), "", "{v}");
    assert_eq!(
        v["data"]["a"]["edges"][0]["node"]["communities"][1]["name"],
        "翠屏北里"
    );
}
