//! Keyset pagination: pages never repeat or skip an item under inserts, `last`/`before` walk
//! backwards, every list takes `orderBy`, cursors are checked, and `totalCount` costs a
//! statement only when it is selected.

use chrono::Duration;
use serde_json::{Value, json};

use crate::builders::*;
use crate::support::*;

const COUPONS: &str = "query($first: Int, $after: String, $last: Int, $before: String, $order: CouponOrder) {
  coupons(first: $first, after: $after, last: $last, before: $before, orderBy: $order) {
    edges { cursor node { title } } pageInfo { hasNextPage hasPreviousPage startCursor endCursor } } }";

fn titles(v: &Value) -> Vec<String> {
    v["data"]["coupons"]["edges"]
        .as_array()
        .unwrap_or_else(|| panic!("{v}"))
        .iter()
        .map(|e| e["node"]["title"].as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test]
async fn a_page_never_repeats_or_skips_when_items_are_published_between_loads() {
    let app = TestApp::spawn().await;
    let street = app.new_street("九棵树街道", &["新城嘉园"]).await;
    let m = app.new_merchant(&street).insert().await;
    for i in 1..=5 {
        app.new_coupon(&m).title(&format!("券{i}")).insert().await;
        app.clock.advance(Duration::seconds(1));
    }
    // Newest first: 券5 券4 | 券3 券2 | 券1
    let p1 = app.gql(COUPONS, json!({ "first": 2 })).await;
    assert_eq!(titles(&p1), ["券5", "券4"], "{p1}");
    assert_eq!(p1["data"]["coupons"]["pageInfo"]["hasNextPage"], true);
    assert_eq!(p1["data"]["coupons"]["pageInfo"]["hasPreviousPage"], false);
    // Two coupons are published between the loads; page 2 still starts right after 券4.
    app.new_coupon(&m).title("券6").insert().await;
    app.clock.advance(Duration::seconds(1));
    app.new_coupon(&m).title("券7").insert().await;
    let end = p1["data"]["coupons"]["pageInfo"]["endCursor"].clone();
    let p2 = app.gql(COUPONS, json!({ "first": 2, "after": end })).await;
    assert_eq!(titles(&p2), ["券3", "券2"], "{p2}");
    assert_eq!(p2["data"]["coupons"]["pageInfo"]["hasPreviousPage"], true);
    let end = p2["data"]["coupons"]["pageInfo"]["endCursor"].clone();
    let p3 = app.gql(COUPONS, json!({ "first": 2, "after": end })).await;
    assert_eq!(titles(&p3), ["券1"], "{p3}");
    assert_eq!(p3["data"]["coupons"]["pageInfo"]["hasNextPage"], false);

    // Backwards from 券2: the two before it.
    let start = p2["data"]["coupons"]["edges"][1]["cursor"].clone();
    let back = app
        .gql(COUPONS, json!({ "last": 2, "before": start }))
        .await;
    assert_eq!(titles(&back), ["券4", "券3"], "{back}");
    assert_eq!(back["data"]["coupons"]["pageInfo"]["hasPreviousPage"], true);
    assert_eq!(back["data"]["coupons"]["pageInfo"]["hasNextPage"], true);
    let last = app.gql(COUPONS, json!({ "last": 3 })).await;
    assert_eq!(titles(&last), ["券3", "券2", "券1"], "{last}");
    assert_eq!(last["data"]["coupons"]["pageInfo"]["hasPreviousPage"], true);

    // Another order: soonest-ending first.
    let by_end = app
        .gql(
            COUPONS,
            json!({ "first": 7, "order": { "field": "VALID_UNTIL", "direction": "ASC" } }),
        )
        .await;
    assert_eq!(
        titles(&by_end),
        ["券1", "券2", "券3", "券4", "券5", "券6", "券7"]
    );
}

#[tokio::test]
async fn ties_in_the_sort_key_are_broken_by_id_and_names_sort_too() {
    let app = TestApp::spawn().await;
    let street = app.new_street("九棵树街道", &["新城嘉园"]).await;
    for name in ["云景里理发店", "七鲜超市", "社区食堂", "七鲜超市"] {
        app.new_merchant(&street).name(name).insert().await;
    }
    let q = "query($after: String) { merchants(first: 1, after: $after, orderBy: { field: NAME, direction: DESC }) {
      nodes { name } pageInfo { endCursor hasNextPage } } }";
    let mut seen = Vec::new();
    let mut after = Value::Null;
    loop {
        let v = app.gql(q, json!({ "after": after })).await;
        let page = &v["data"]["merchants"];
        seen.push(
            page["nodes"][0]["name"]
                .as_str()
                .unwrap_or_else(|| panic!("{v}"))
                .to_owned(),
        );
        if page["pageInfo"]["hasNextPage"] != true {
            break;
        }
        after = page["pageInfo"]["endCursor"].clone();
    }
    let mut sorted = seen.clone();
    sorted.sort_by(|a, b| b.cmp(a));
    assert_eq!(seen, sorted);
    assert_eq!(seen.len(), 4, "{seen:?}");
}

#[tokio::test]
async fn bad_cursors_and_arguments_are_refused() {
    let app = TestApp::spawn().await;
    let street = app.new_street("九棵树街道", &["新城嘉园"]).await;
    let m = app.new_merchant(&street).insert().await;
    app.new_coupon(&m).insert().await;
    app.new_coupon(&m).insert().await;
    for bad in ["garbage", "eyJ4IjoxfQ", "", "AAAA"] {
        let v = app.gql(COUPONS, json!({ "after": bad })).await;
        expect_code(&v, "BAD_USER_INPUT");
        assert_eq!(v["errors"][0]["extensions"]["field"], "after", "{v}");
    }
    // A cursor of one order is not valid in another.
    let p = app.gql(COUPONS, json!({ "first": 1 })).await;
    let cursor = p["data"]["coupons"]["pageInfo"]["endCursor"].clone();
    let v = app
        .gql(
            COUPONS,
            json!({ "after": cursor, "order": { "field": "VALID_UNTIL" } }),
        )
        .await;
    expect_code(&v, "BAD_USER_INPUT");
    // Crafted cursors of the right order: values of the wrong type or out of range, and text
    // the database would refuse, are bad input on both engines, never an internal error.
    use base64::Engine;
    let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
    let real: Value =
        serde_json::from_slice(&b64.decode(cursor.as_str().unwrap()).unwrap()).unwrap();
    let field = real["f"].clone();
    for crafted in [
        json!({ "f": field, "v": { "s": "not a time" }, "i": 1 }),
        json!({ "f": field, "v": { "s": "nul\u{0}byte" }, "i": 1 }),
        json!({ "f": field, "v": { "i": i64::MAX }, "i": 1 }),
        json!({ "f": field, "v": real["v"], "i": u64::MAX }),
        json!({ "f": field, "v": real["v"], "i": 9.5 }),
        json!({ "f": field, "v": { "t": "999999-01-01T00:00:00Z" }, "i": 1 }),
        json!({ "f": field, "v": { "t": "-5000-01-01T00:00:00Z" }, "i": 1 }),
        json!({ "f": field, "v": { "t": "+200000-01-01T00:00:00Z" }, "i": 1 }),
        json!({ "f": field, "v": { "x": 1 }, "i": 1 }),
    ] {
        let encoded = b64.encode(crafted.to_string());
        let v = app.gql(COUPONS, json!({ "after": encoded })).await;
        expect_code(&v, "BAD_USER_INPUT");
    }
    let extreme = b64.encode(json!({ "f": field, "v": real["v"], "i": i64::MAX }).to_string());
    let v = app
        .gql(COUPONS, json!({ "after": extreme, "first": 1 }))
        .await;
    expect_ok(&v);
    // first and last at once, or beyond the cap, or negative.
    let v = app.gql(COUPONS, json!({ "first": 1, "last": 1 })).await;
    expect_code(&v, "BAD_USER_INPUT");
    expect_code(
        &app.gql(COUPONS, json!({ "last": 101 })).await,
        "BAD_USER_INPUT",
    );
    expect_code(
        &app.gql(COUPONS, json!({ "first": -1 })).await,
        "BAD_USER_INPUT",
    );
}

#[tokio::test]
async fn the_total_is_counted_only_when_selected() {
    let app = TestApp::spawn().await;
    let street = app.new_street("九棵树街道", &["新城嘉园"]).await;
    for _ in 0..3 {
        app.new_merchant(&street).insert().await;
    }
    let run = |q: &'static str| {
        let app = &app;
        async move {
            let before = app.statement_count();
            let v = app.gql(q, json!({})).await;
            (app.statement_count() - before, v)
        }
    };
    let (without, v) = run("{ merchants(first: 2) { nodes { name } } }").await;
    assert_eq!(
        v["data"]["merchants"]["nodes"].as_array().map(Vec::len),
        Some(2)
    );
    let (with, v) = run("{ merchants(first: 2) { totalCount nodes { name } } }").await;
    assert_eq!(v["data"]["merchants"]["totalCount"], 3);
    assert_eq!(with, without + 1, "{without} vs {with}");
    let (aliased, v) =
        run("{ merchants(first: 2) { ...F } } fragment F on MerchantConnection { n: totalCount }")
            .await;
    assert_eq!(v["data"]["merchants"]["n"], 3, "{v}");
    assert_eq!(aliased, with);
}
