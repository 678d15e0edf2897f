//! Streets and communities: public, paginated, with nested lists batched.

use serde_json::json;

use crate::builders::*;
use crate::support::*;

#[tokio::test]
async fn streets_page_with_cursors_and_total() {
    let app = TestApp::spawn().await;
    for i in 0..5 {
        app.street(&format!("街道{i}"), &["甲社区", "乙社区"]).await;
    }
    let q = "query($after: String) { streets(first: 2, after: $after) {
        totalCount pageInfo { hasNextPage hasPreviousPage endCursor }
        edges { node { name communities { name } } } } }";
    let mut names = Vec::new();
    let mut after = serde_json::Value::Null;
    loop {
        let v = app.gql(q, json!({ "after": after })).await;
        let page = &v["data"]["streets"];
        assert_eq!(page["totalCount"], 5, "{v}");
        for e in page["edges"].as_array().unwrap() {
            names.push(e["node"]["name"].as_str().unwrap().to_owned());
            assert_eq!(e["node"]["communities"].as_array().unwrap().len(), 2);
        }
        if !page["pageInfo"]["hasNextPage"].as_bool().unwrap() {
            break;
        }
        after = page["pageInfo"]["endCursor"].clone();
    }
    assert_eq!(names, ["街道0", "街道1", "街道2", "街道3", "街道4"]);

    let bad = app.gql(q, json!({ "after": "garbage" })).await;
    expect_code(&bad, "BAD_USER_INPUT");
    assert_eq!(bad["errors"][0]["extensions"]["field"], "after");
}

#[tokio::test]
async fn a_street_by_id_and_typed_ids() {
    let app = TestApp::spawn().await;
    app.street("九棵树街道", &["新城嘉园"]).await;
    let v = app
        .gql(
            "{ streets { edges { node { id communities { id } } } } }",
            json!({}),
        )
        .await;
    let street_id = v["data"]["streets"]["edges"][0]["node"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let community_id = v["data"]["streets"]["edges"][0]["node"]["communities"][0]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let q = "query($id: ID!) { street(id: $id) { name } }";
    let v = app.gql(q, json!({ "id": street_id })).await;
    assert_eq!(v["data"]["street"]["name"], "九棵树街道");
    // A community's ID is not a street's.
    let v = app.gql(q, json!({ "id": community_id })).await;
    expect_code(&v, "BAD_USER_INPUT");
    let v = app.gql(q, json!({ "id": "U3RyZWV0Ojk5OQ" })).await;
    assert_eq!(v["data"]["street"], json!(null));
}
