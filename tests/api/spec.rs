//! The GraphQL response to the letter of the specifications (GraphQL, GraphQL-over-HTTP):
//! locations only where the document has a place, the media type asked for on every answer,
//! messages that say what is wrong in both languages, field copies run once, and GET requests
//! that a page on another site cannot make a production server run.

use axum::body::Body;
use axum::http::{Request, StatusCode};
use serde_json::json;

use crate::builders::*;
use crate::support::*;

const GRAPHQL_RESPONSE: &str = "application/graphql-response+json";

async fn post_raw(app: &TestApp, body: impl Into<Body>, extra: &[(&str, &str)]) -> Reply {
    let mut headers = vec![("content-type", "application/json")];
    headers.extend_from_slice(extra);
    app.post(body, &headers).await
}

fn content_type(reply: &Reply) -> String {
    reply.headers["content-type"].to_str().unwrap().to_owned()
}

#[tokio::test]
async fn errors_from_outside_the_document_have_no_locations() {
    let app = TestApp::spawn_with(Spawn {
        rate_limits: shangju::http::ratelimit::RateLimits {
            sign_in: shangju::config::Rate::parse("1/hour").unwrap(),
            ..Default::default()
        },
        ..Spawn::default()
    })
    .await;
    let body = json!({ "query": "{ __typename }" }).to_string();
    for auth in ["Bearer not-a-token", "Basic YTpi"] {
        let v = post_raw(&app, body.clone(), &[("authorization", auth)])
            .await
            .json();
        expect_code(&v, "UNAUTHENTICATED");
        assert!(v["errors"][0].get("locations").is_none(), "{auth}: {v}");
    }
    let login = json!({ "query": LOGIN, "variables": { "phone": "13900000001", "password": "wrong password" } }).to_string();
    post_raw(&app, login.clone(), &[]).await;
    let limited = post_raw(&app, login, &[]).await;
    assert_eq!(limited.status, StatusCode::TOO_MANY_REQUESTS);
    let v = limited.json();
    expect_code(&v, "RATE_LIMITED");
    assert!(v["errors"][0].get("locations").is_none(), "{v}");
    // An error in the document keeps its place, counted from 1.
    let v = post_raw(&app, json!({ "query": "{ nope }" }).to_string(), &[])
        .await
        .json();
    assert_eq!(
        v["errors"][0]["locations"],
        json!([{ "line": 1, "column": 3 }])
    );
}

#[tokio::test]
async fn every_answer_to_a_graphql_response_client_is_of_its_media_type() {
    let app = TestApp::spawn().await;
    let accept = [("accept", GRAPHQL_RESPONSE)];
    for (what, body, status) in [
        (
            "malformed JSON",
            b"{\"query\": 1".to_vec(),
            StatusCode::BAD_REQUEST,
        ),
        ("empty body", Vec::new(), StatusCode::BAD_REQUEST),
        (
            "not UTF-8",
            b"{\"query\":\"\xff\"}".to_vec(),
            StatusCode::BAD_REQUEST,
        ),
        ("batch", b"[]".to_vec(), StatusCode::BAD_REQUEST),
        (
            "too large",
            vec![b' '; 70 * 1024],
            StatusCode::PAYLOAD_TOO_LARGE,
        ),
        (
            "a good one",
            br#"{"query":"{ __typename }"}"#.to_vec(),
            StatusCode::OK,
        ),
    ] {
        let r = post_raw(&app, body, &accept).await;
        assert_eq!(r.status, status, "{what}");
        assert!(
            content_type(&r).starts_with(GRAPHQL_RESPONSE),
            "{what}: {}",
            content_type(&r)
        );
    }
    let get = app
        .request(
            Request::get("/graphql")
                .header("accept", GRAPHQL_RESPONSE)
                .body(Body::empty())
                .unwrap(),
        )
        .await;
    assert_eq!(get.status, StatusCode::BAD_REQUEST);
    assert!(content_type(&get).starts_with(GRAPHQL_RESPONSE));
    // Neither JSON media type acceptable: 406, whatever the method.
    let xml = post_raw(
        &app,
        json!({ "query": "{ __typename }" }).to_string(),
        &[("accept", "application/xml")],
    )
    .await;
    assert_eq!(xml.status, StatusCode::NOT_ACCEPTABLE);
    expect_code(&xml.json(), "BAD_USER_INPUT");
    let xml = app
        .request(
            Request::get("/graphql?query=%7B__typename%7D")
                .header("accept", "application/xml")
                .body(Body::empty())
                .unwrap(),
        )
        .await;
    assert_eq!(xml.status, StatusCode::NOT_ACCEPTABLE);
}

#[tokio::test]
async fn a_malformed_body_gets_a_message_that_says_so() {
    let app = TestApp::spawn().await;
    let en = [("accept-language", "en")];
    for (body, says) in [
        (b"".to_vec(), "empty"),
        (b"  \n".to_vec(), "empty"),
        (b"{\"query\":\"\xff\"}".to_vec(), "not valid UTF-8"),
        (b"{\"query\": ".to_vec(), "not valid JSON"),
        (b"{\"query\": 7}".to_vec(), "query must be a string"),
    ] {
        let r = post_raw(&app, body.clone(), &en).await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST);
        let v = r.json();
        expect_code(&v, "BAD_USER_INPUT");
        assert!(
            message(&v).contains(says),
            "{:?}: {v}",
            String::from_utf8_lossy(&body)
        );
    }
    let v = post_raw(&app, b"{\"query\": ".to_vec(), &[]).await.json();
    assert!(message(&v).contains("不是有效的 JSON"), "{v}");
}

#[tokio::test]
async fn a_required_variable_left_out_is_not_provided() {
    let app = TestApp::spawn().await;
    let doc = "query($n: Int!, $m: Int, $k: Int! = 2) { streets(first: $n) { totalCount } m: streets(first: $m) { totalCount } k: streets(first: $k) { totalCount } }";
    let v = app.gql_en(doc, json!({})).await;
    expect_code(&v, "BAD_USER_INPUT");
    assert_eq!(
        v["errors"].as_array().map(Vec::len),
        Some(1),
        "only $n is required and missing: {v}"
    );
    assert_eq!(
        message(&v),
        r#"Variable "$n" of required type "Int!" was not provided."#
    );
    let v = app.gql(doc, json!({})).await;
    assert!(message(&v).contains("未提供"), "{v}");
    expect_ok(&app.gql(doc, json!({ "n": 1 })).await);
}

#[tokio::test]
async fn a_subscription_gets_one_error() {
    let app = TestApp::spawn().await;
    let v = app.gql_en("subscription { __typename }", json!({})).await;
    assert_eq!(v["errors"].as_array().map(Vec::len), Some(1), "{v}");
    expect_code(&v, "BAD_USER_INPUT");
    assert!(message(&v).contains("subscriptions"), "{v}");
}

/// The common validation messages read in Chinese by default and in English on request.
#[tokio::test]
async fn validation_messages_speak_both_languages() {
    let app = TestApp::spawn().await;
    for (doc, zh, en) in [
        (
            "{ strets(first: 1) { totalCount } }",
            "类型 QueryRoot 没有字段 strets；是否想用 streets",
            r#"Unknown field "strets" on type "QueryRoot". Did you mean "streets""#,
        ),
        (
            "{ merchant { name } }",
            "字段 merchant 缺少必填参数 id",
            r#"Field "merchant" argument "id" is required but not provided"#,
        ),
        (
            r#"{ streets(first: "x") { totalCount } }"#,
            "参数 first 的值无效，应为 Int 类型",
            r#"Invalid value for argument "first", expected type "Int""#,
        ),
        (
            "{ streets { totalCount }",
            "查询文档语法错误（第 1 行第 25 列）",
            "Syntax error at line 1, column 25",
        ),
        (
            &format!("{{ {} }}", "__typename ".repeat(501)),
            "查询选择的字段过多",
            "The query selects too many fields",
        ),
    ] {
        let v = app.gql(doc, json!({})).await;
        expect_code(&v, "BAD_USER_INPUT");
        assert!(message(&v).contains(zh), "{doc}: {v}");
        let v = app.gql_en(doc, json!({})).await;
        assert!(message(&v).contains(en), "{doc}: {v}");
    }
}

/// Copies of a field (same name, arguments and no directives) run once, as the specification's
/// field collection merges them; the limits count every copy written.
#[tokio::test]
async fn copies_of_a_field_run_once_and_count_each() {
    let app = TestApp::spawn().await;
    let street = app.new_street("九棵树街道", &["新城嘉园"]).await;
    let one = "{ streets(first: 1) { totalCount } }";
    let (v, once) = app.gql_counting(None, one).await;
    expect_ok(&v);
    let copies = format!("{{ {} }}", "streets(first: 1) { totalCount } ".repeat(250));
    let (v, many) = app.gql_counting(None, &copies).await;
    assert_eq!(v, json!({ "data": { "streets": { "totalCount": 1 } } }));
    assert_eq!(many, once, "250 copies cost what one does");
    // Copies inside plain inline fragments, and a fragment spread twice, are collected once.
    let (v, fragments) = app
        .gql_counting(
            None,
            "query { ... { streets(first: 1) { totalCount } } streets(first: 1) { totalCount } ...S ...S } fragment S on QueryRoot { __typename }",
        )
        .await;
    assert_eq!(
        v,
        json!({ "data": { "streets": { "totalCount": 1 }, "__typename": "QueryRoot" } })
    );
    assert_eq!(fragments, once);
    // Copies' selections join: each key once, in the order first written.
    let v = app
        .gql(
            "{ streets(first: 1) { totalCount } streets(first: 1) { edges { node { name } } totalCount } }",
            json!({}),
        )
        .await;
    assert_eq!(
        v["data"]["streets"],
        json!({ "totalCount": 1, "edges": [{ "node": { "name": "九棵树街道" } }] })
    );
    // Copies with other arguments are not merged: validation refuses them.
    let v = app
        .gql(
            "{ streets(first: 1) { totalCount } streets(first: 2) { totalCount } }",
            json!({}),
        )
        .await;
    expect_code(&v, "BAD_USER_INPUT");
    // 500 copies of a field pass the limit, the 501st is refused.
    expect_ok(
        &app.gql(&format!("{{ {} }}", "__typename ".repeat(500)), json!({}))
            .await,
    );
    expect_code(
        &app.gql(&format!("{{ {} }}", "__typename ".repeat(501)), json!({}))
            .await,
        "BAD_USER_INPUT",
    );
    // A mutation's copies run once too: one claim, not two.
    let shop = app.new_merchant(&street).insert().await;
    let coupon = app.new_coupon(&shop).per_user_limit(5).insert().await;
    let resident = app.new_user().insert().await;
    let claim = "mutation($id: ID!) { claimCoupon(couponId: $id) { id } claimCoupon(couponId: $id) { id } }";
    let v = app
        .gql_by(Some(&resident), claim, json!({ "id": coupon.gid }))
        .await;
    expect_ok(&v);
    assert_eq!(app.count("coupon_claims").await, 1, "{v}");
}

async fn get_with(app: &TestApp, uri: &str, headers: &[(&str, &str)]) -> Reply {
    let mut req = Request::get(uri);
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    app.request(req.body(Body::empty()).unwrap()).await
}

/// In production a GET runs only with a header that makes a browser ask first (CORS
/// preflight), or as the hash of a document of the operator's manifest, so a page on another
/// site cannot make its visitor's client run a query.
#[tokio::test]
async fn production_gets_need_a_header_that_forces_a_preflight() {
    let doc = "{ streets(first: 1) { totalCount } }";
    let uri = format!("/graphql?query={}", urlencode(doc));
    let prod = TestApp::spawn_with(Spawn {
        production: true,
        ..Spawn::default()
    })
    .await;
    let bare = get_with(&prod, &uri, &[("accept-language", "en")]).await;
    assert_eq!(bare.status, StatusCode::BAD_REQUEST);
    let v = bare.json();
    expect_code(&v, "BAD_USER_INPUT");
    assert!(message(&v).contains("apollo-require-preflight"), "{v}");
    // A form's content type is no preflight either.
    let form = get_with(&prod, &uri, &[("content-type", "text/plain")]).await;
    assert_eq!(form.status, StatusCode::BAD_REQUEST);
    for header in [
        ("apollo-require-preflight", "true"),
        ("x-apollo-operation-name", "Streets"),
        ("content-type", "application/json"),
    ] {
        let ok = get_with(&prod, &uri, &[header]).await;
        assert_eq!(ok.status, StatusCode::OK, "{header:?}");
        expect_ok(&ok.json());
    }
    // A hash alone passes without the header only where nothing but the operator's manifest
    // runs; elsewhere anyone can register a document by POST (or send it with its hash).
    let hash = shangju::http::persisted::hash(doc);
    let ext = json!({ "persistedQuery": { "version": 1, "sha256Hash": hash } });
    expect_ok(
        &post_raw(
            &prod,
            json!({ "query": doc, "extensions": ext }).to_string(),
            &[],
        )
        .await
        .json(),
    );
    let by_hash = format!("/graphql?extensions={}", urlencode(&ext.to_string()));
    assert_eq!(
        get_with(&prod, &by_hash, &[]).await.status,
        StatusCode::BAD_REQUEST
    );
    let with_text = format!("{uri}&extensions={}", urlencode(&ext.to_string()));
    assert_eq!(
        get_with(&prod, &with_text, &[]).await.status,
        StatusCode::BAD_REQUEST
    );
    let manifest = shangju::http::persisted::PersistedQueries::parse_manifest(
        &json!({ hash.clone(): doc }).to_string(),
    )
    .unwrap();
    let listed = TestApp::spawn_with(Spawn {
        production: true,
        persisted_only: Some(manifest),
        ..Spawn::default()
    })
    .await;
    let ok = get_with(&listed, &by_hash, &[]).await;
    assert_eq!(ok.status, StatusCode::OK);
    expect_ok(&ok.json());
    assert_eq!(
        get_with(&listed, &uri, &[]).await.status,
        StatusCode::BAD_REQUEST
    );
    // Development lets a bare GET run, for curl and the browser's address bar.
    let dev = TestApp::spawn().await;
    assert_eq!(get_with(&dev, &uri, &[]).await.status, StatusCode::OK);
}
