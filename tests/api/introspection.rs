//! The standard introspection query that GraphiQL, graphql-codegen, Apollo, Altair and Postman
//! send (graphql-js 16's `getIntrospectionQuery()`, verbatim in `fixtures/`) works in
//! development and, when the operator turns it on, in production; introspection that expands
//! types through type references (the amplification attack) is still refused.

use serde_json::json;

use crate::builders::*;
use crate::support::*;

const STANDARD: &str = include_str!("fixtures/introspection.graphql");

fn type_names(v: &serde_json::Value) -> Vec<String> {
    v["data"]["__schema"]["types"]
        .as_array()
        .unwrap_or_else(|| panic!("{v}"))
        .iter()
        .map(|t| t["name"].as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test]
async fn the_standard_introspection_query_answers_in_development() {
    let app = TestApp::spawn().await;
    let v = app.gql(STANDARD, json!({})).await;
    assert!(v.get("errors").is_none(), "{v}");
    let names = type_names(&v);
    for t in [
        "Merchant",
        "Coupon",
        "MerchantConnection",
        "PageInfo",
        "DateTime",
    ] {
        assert!(names.iter().any(|n| n == t), "{t} missing");
    }
    assert_eq!(v["data"]["__schema"]["queryType"]["name"], "QueryRoot");
}

#[tokio::test]
async fn production_answers_it_only_when_the_operator_turns_it_on() {
    let off = TestApp::spawn_with(Spawn {
        production: true,
        ..Default::default()
    })
    .await;
    // Refused with a code and a way to the SDL, not a silent `null` that codegen chokes on.
    // 403 for clients of the GraphQL-over-HTTP media type, 200 for legacy JSON ones.
    for (lang, accept, status) in [
        ("zh-CN", "application/graphql-response+json", 403),
        ("en", "application/json", 200),
    ] {
        let reply = off
            .post(
                json!({ "query": STANDARD }).to_string(),
                &[
                    ("content-type", "application/json"),
                    ("accept-language", lang),
                    ("accept", accept),
                ],
            )
            .await;
        assert_eq!(reply.status.as_u16(), status);
        let v = reply.json();
        expect_code(&v, "FORBIDDEN");
        assert!(v.get("data").is_none(), "{v}");
        assert!(message(&v).contains("schema.graphql"), "{v}");
        assert!(
            message(&v).contains(if lang == "en" {
                "Introspection is off"
            } else {
                "内省"
            }),
            "{v}"
        );
    }
    // `__typename` is no introspection of the schema.
    expect_ok(&off.gql("{ __typename }", json!({})).await);

    let on = TestApp::spawn_with(Spawn {
        production: true,
        introspection: Some(true),
        ..Default::default()
    })
    .await;
    let v = on.gql(STANDARD, json!({})).await;
    assert!(v.get("errors").is_none(), "{v}");
    assert!(type_names(&v).iter().any(|n| n == "Merchant"));
    // GraphiQL stays off in production either way.
    assert_eq!(on.get("/").await.status, axum::http::StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn expanding_types_through_references_is_still_refused() {
    let app = TestApp::spawn().await;
    for q in [
        "{ __schema { types { fields { type { fields { name } } } } } }",
        "{ __schema { types { fields { type { ofType { fields { name } } } } } } }",
        "{ __type(name: \"Merchant\") { interfaces { fields { name } } } }",
        "{ __schema { types { possibleTypes { possibleTypes { name } } } } }",
        "query { __schema { types { ...T } } } fragment T on __Type { fields { type { ...U } } } fragment U on __Type { inputFields { name } }",
    ] {
        let v = app.gql(q, json!({})).await;
        expect_code(&v, "BAD_USER_INPUT");
        assert!(v["data"].is_null(), "{q}: {v}");
    }
    // A deep chain of type references beyond the introspection depth is refused too.
    let deep = format!(
        "{{ __type(name: \"Merchant\") {{ fields {{ type {{ {} name {} }} }} }} }}",
        "ofType { ".repeat(20),
        "} ".repeat(20)
    );
    expect_code(&app.gql(&deep, json!({})).await, "BAD_USER_INPUT");
    // Data queries keep their own, smaller depth limit.
    let data = format!(
        "{{ {} __typename {} }}",
        "me { street { ".repeat(7),
        "} } ".repeat(7)
    );
    expect_code(&app.gql(&data, json!({})).await, "BAD_USER_INPUT");
}

/// With the schema hidden, a misspelt field gets no "Did you mean …", which would give it away.
#[tokio::test]
async fn production_suggests_no_field_names() {
    let misspelt = "{ merchnts(first: 1) { totalCount } }";
    let dev = TestApp::spawn().await;
    let v = dev.gql(misspelt, json!({})).await;
    assert!(message(&v).contains("是否想用 merchants"), "{v}");
    let v = dev.gql_en(misspelt, json!({})).await;
    assert!(message(&v).contains("Did you mean \"merchants\""), "{v}");
    let prod = TestApp::spawn_with(Spawn {
        production: true,
        ..Spawn::default()
    })
    .await;
    for doc in [
        misspelt,
        "{ merchants(frist: 1) { totalCount } }",
        "{ merchants { edgs { node { id } } } }",
        "{ coupon(id: \"x\") { titel } }",
    ] {
        let v = prod.gql(doc, json!({})).await;
        assert!(v["errors"].is_array(), "{v}");
        assert!(!v.to_string().contains("Did you mean"), "{doc}: {v}");
        assert!(!v.to_string().contains("是否想用"), "{doc}: {v}");
    }
}

/// Unknown directives are errors wherever they stand, `__typename` included (async-graphql's
/// validation does not look at it).
#[tokio::test]
async fn unknown_directives_and_arguments_on_typename_are_refused() {
    let app = TestApp::spawn().await;
    for doc in [
        "{ __typename @nosuchdirective }",
        "{ merchants(first: 1) { __typename @nosuch(x: 1) totalCount } }",
        "{ __typename(x: 1) }",
        "{ ... on QueryRoot @nosuch { __typename } }",
    ] {
        let v = app.gql(doc, json!({})).await;
        assert_eq!(code(&v), "BAD_USER_INPUT", "{doc}: {v}");
        assert!(v["data"].is_null(), "{doc}: {v}");
    }
    let v = app
        .gql("{ __typename @include(if: true) }", json!({}))
        .await;
    assert_eq!(v["data"]["__typename"], "QueryRoot", "{v}");
}
