//! Answers keep the selection order at every level (GraphQL spec, CollectFields), whatever
//! order the fields finish in: the executor joins a container's fields as they complete.

use serde_json::json;

use crate::support::*;

/// The keys of every object along `path`, in the order the body wrote them.
fn keys_at(body: &[u8], path: &[&str]) -> Vec<String> {
    let mut value: async_graphql::Value = serde_json::from_slice(body).unwrap();
    for step in path {
        value = match value {
            async_graphql::Value::Object(mut map) => map.shift_remove(*step).unwrap(),
            async_graphql::Value::List(mut items) => items.swap_remove(step.parse().unwrap()),
            other => panic!("no {step} in {other}"),
        };
    }
    match value {
        async_graphql::Value::Object(map) => map.keys().map(|k| k.to_string()).collect(),
        other => panic!("not an object: {other}"),
    }
}

/// Fields that wait for the database selected before fields that answer at once, at the top
/// level and inside an object the executor resolves itself (`me`), through fragments and
/// aliases, come back in the order selected, every time.
#[tokio::test]
async fn fields_come_back_in_the_order_they_were_selected() {
    let app = TestApp::spawn().await;
    let street = app.new_street("九棵树街道", &["新城嘉园"]).await;
    for _ in 0..3 {
        let m = app.new_merchant(&street).insert().await;
        app.new_coupon(&m).insert().await;
    }
    let resident = app.user("13800000001", &[], Some(street.id)).await;
    let query = "query Q { merchants(first: 20) { totalCount edges { node { name } } } \
                 me { street { name } ...Who id } \
                 first: __typename \
                 coupons(first: 5) { nodes { title } } \
                 ... on QueryRoot { later: __typename } } \
                 fragment Who on User { displayName roles }";
    let body = json!({ "query": query }).to_string();
    let auth = format!("Bearer {}", resident.token);
    for _ in 0..12 {
        let reply = app
            .post(
                body.clone(),
                &[
                    ("content-type", "application/json"),
                    ("authorization", &auth),
                ],
            )
            .await;
        assert!(reply.json().get("errors").is_none(), "{}", reply.json());
        assert_eq!(keys_at(&reply.body, &[]), ["data"]);
        assert_eq!(
            keys_at(&reply.body, &["data"]),
            ["merchants", "me", "first", "coupons", "later"]
        );
        assert_eq!(
            keys_at(&reply.body, &["data", "me"]),
            ["street", "displayName", "roles", "id"]
        );
        assert_eq!(
            keys_at(&reply.body, &["data", "merchants"]),
            ["totalCount", "edges"]
        );
    }
}

/// A skipped field leaves the others in order; a key selected twice is placed
/// where it was first selected.
#[tokio::test]
async fn skipped_and_repeated_fields_keep_the_order() {
    let app = TestApp::spawn().await;
    let street = app.new_street("九棵树街道", &["新城嘉园"]).await;
    app.new_merchant(&street).insert().await;
    let query = "query Q { a: __typename @skip(if: true) \
                 merchants(first: 5) { totalCount } \
                 b: __typename coupons(first: 5) { totalCount } a: __typename @include(if: true) }";
    let body = json!({ "query": query }).to_string();
    for _ in 0..6 {
        let reply = app
            .post(body.clone(), &[("content-type", "application/json")])
            .await;
        assert!(reply.json().get("errors").is_none(), "{}", reply.json());
        assert_eq!(
            keys_at(&reply.body, &["data"]),
            ["merchants", "b", "coupons", "a"]
        );
    }
}

/// An object behind an interface is put in the order of its own type's selection, and one
/// whose type its keys cannot tell is left as the executor answered, never reordered by a
/// guess: here both types select `id` and `status`, in opposite orders.
#[tokio::test]
async fn objects_behind_an_interface_keep_their_own_types_order() {
    let app = TestApp::spawn().await;
    let street = app.new_street("九棵树街道", &["新城嘉园"]).await;
    let m = app.new_merchant(&street).insert().await;
    let c = app.new_coupon(&m).insert().await;
    let query = "query Q($ids: [ID!]!) { nodes(ids: $ids) { \
                 ... on Merchant { name coupons { title } id } \
                 ... on Coupon { merchant { name } title id } } }";
    let body = json!({ "query": query, "variables": { "ids": [m.gid, c.gid] } }).to_string();
    for _ in 0..6 {
        let reply = app
            .post(body.clone(), &[("content-type", "application/json")])
            .await;
        assert!(reply.json().get("errors").is_none(), "{}", reply.json());
        assert_eq!(
            keys_at(&reply.body, &["data", "nodes", "0"]),
            ["name", "coupons", "id"]
        );
        assert_eq!(
            keys_at(&reply.body, &["data", "nodes", "1"]),
            ["merchant", "title", "id"]
        );
    }
    let query = "query Q($id: ID!) { node(id: $id) { \
                 ... on Merchant { status id } ... on Coupon { id status } } }";
    let body = json!({ "query": query, "variables": { "id": c.gid } }).to_string();
    let reply = app
        .post(body, &[("content-type", "application/json")])
        .await;
    assert_eq!(keys_at(&reply.body, &["data", "node"]), ["id", "status"]);
}
