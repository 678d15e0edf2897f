//! The cheap request path answers exactly as async-graphql's own: objects resolved in one pass
//! (`graphql::eager`), rows read by position (`rows`), documents checked once
//! (`limits::CheckedDocuments`); and a page of merchants with their coupons stays 2 statements.

use sea_orm::{ActiveModelTrait, EntityTrait, IntoActiveModel, Set};
use serde_json::{Value, json};

use entity::coupon::{self, CouponKind};
use entity::merchant;

use crate::builders::*;
use crate::support::*;

/// Two merchants, one with a coupon whose every optional column is set and one with NULLs.
async fn alliance(app: &TestApp) -> TestMerchant {
    let street = app.new_street("九棵树街道", &["新城嘉园"]).await;
    let first = app.new_merchant(&street).name("社区食堂").insert().await;
    let second = app.new_merchant(&street).name("七鲜超市").insert().await;
    app.new_coupon(&first).title("午餐 8 折").insert().await;
    let full = app
        .new_coupon(&second)
        .title("满 50 减 10")
        .stock(None)
        .insert()
        .await;
    let mut row = coupon::Entity::find_by_id(full.id)
        .one(&app.db)
        .await
        .unwrap()
        .unwrap()
        .into_active_model();
    row.kind = Set(CouponKind::AmountOff);
    row.description = Set("每单限用一张".into());
    row.amount_fen = Set(Some(1_000));
    row.min_spend_fen = Set(Some(5_000));
    row.percent_off = Set(None);
    row.item_name = Set(Some("豆浆".into()));
    row.min_age = Set(Some(60));
    row.status_reason = Set(Some("复审通过".into()));
    row.update(&app.db).await.unwrap();
    first
}

const SELECTION: &str = "__typename id n: name ...M
    coupons { __typename ...C ... on Coupon { kind amountFen minSpendFen } ... on Node { nid: id } }";
const FRAGMENTS: &str = "fragment M on Merchant { category status createdAt }
    fragment C on Coupon { id title description itemName percentOff totalStock remainingStock
      perUserLimit pointsCost validFrom validUntil status }";

fn merchants_with(selection: &str) -> String {
    let fragments = if selection.contains("...M") {
        FRAGMENTS
    } else {
        ""
    };
    format!("{{ merchants(first: 5) {{ edges {{ cursor node {{ {selection} }} }} }} }} {fragments}")
}

#[tokio::test]
async fn objects_resolved_in_one_pass_answer_as_the_executor_does() {
    let app = TestApp::spawn().await;
    alliance(&app).await;
    let eager = app.gql(&merchants_with(SELECTION), json!({})).await;
    // A response key selected twice sends every object down async-graphql's own path, which
    // merges the two selections into the same answer.
    let executor = app
        .gql(
            &merchants_with(&format!("{SELECTION} id coupons {{ id }}")),
            json!({}),
        )
        .await;
    assert!(eager.get("errors").is_none(), "{eager}");
    assert_eq!(eager, executor);
    let edges = eager["data"]["merchants"]["edges"].as_array().unwrap();
    assert_eq!(edges.len(), 2, "{eager}");
    let node = &edges[1]["node"];
    assert_eq!(node["__typename"], "Merchant");
    assert_eq!(node["n"], "七鲜超市");
    assert!(node.get("name").is_none(), "{node}");
    let c = &node["coupons"][0];
    assert_eq!(c["__typename"], "Coupon");
    assert_eq!(c["kind"], "AMOUNT_OFF");
    assert_eq!(c["amountFen"], 1_000);
    assert_eq!(c["minSpendFen"], 5_000);
    assert_eq!(c["percentOff"], Value::Null);
    assert_eq!(c["itemName"], "豆浆");
    assert_eq!(c["totalStock"], Value::Null);
    assert_eq!(c["nid"], c["id"]);
    // Keys come in the order they were selected, fragments where they were spread.
    let body = app
        .post(
            json!({ "query": merchants_with(SELECTION) }).to_string(),
            &[("content-type", "application/json")],
        )
        .await;
    let text = String::from_utf8(body.body.to_vec()).unwrap();
    let in_order = |from: &str, keys: &[&str]| {
        let start = text
            .find(from)
            .unwrap_or_else(|| panic!("{from} in {text}"));
        let at: Vec<usize> = keys
            .iter()
            .map(|k| start + text[start..].find(&format!("\"{k}\":")).unwrap())
            .collect();
        assert!(at.windows(2).all(|w| w[0] < w[1]), "{keys:?} in {text}");
    };
    in_order(
        "\"node\":{",
        &[
            "__typename",
            "id",
            "n",
            "category",
            "status",
            "createdAt",
            "coupons",
        ],
    );
    in_order(
        "\"coupons\":[{",
        &[
            "__typename",
            "id",
            "title",
            "status",
            "kind",
            "amountFen",
            "minSpendFen",
            "nid",
        ],
    );
}

#[tokio::test]
async fn fields_that_fail_in_a_list_fail_as_they_did() {
    let app = TestApp::spawn().await;
    alliance(&app).await;
    // Anonymous: the licence is restricted (null and FORBIDDEN), the member list needs a
    // sign-in; the rest of each merchant stands.
    let failing = "name licenceNo members { role } coupons { title claimedCount }";
    let eager = app.gql(&merchants_with(failing), json!({})).await;
    let executor = app
        .gql(&merchants_with(&format!("{failing} name")), json!({}))
        .await;
    assert_eq!(eager["data"], executor["data"]);
    // The same errors, in the order their fields finished.
    let sorted = |v: &Value| {
        let mut e: Vec<String> = v["errors"]
            .as_array()
            .unwrap()
            .iter()
            .map(Value::to_string)
            .collect();
        e.sort();
        e
    };
    assert_eq!(sorted(&eager), sorted(&executor));
    let node = &eager["data"]["merchants"]["edges"][0]["node"];
    assert_eq!(node["name"], "社区食堂", "{eager}");
    assert_eq!(node["licenceNo"], Value::Null);
    assert_eq!(node["coupons"][0]["title"], "午餐 8 折");
    assert_eq!(node["coupons"][0]["claimedCount"], Value::Null);
    let errors = eager["errors"].as_array().unwrap();
    let at = |path: Value, code: &str| {
        errors
            .iter()
            .any(|e| e["path"] == path && e["extensions"]["code"] == code)
    };
    assert!(
        at(
            json!(["merchants", "edges", 0, "node", "licenceNo"]),
            "FORBIDDEN"
        ),
        "{eager}"
    );
    assert!(
        at(
            json!(["merchants", "edges", 1, "node", "members"]),
            "UNAUTHENTICATED"
        ),
        "{eager}"
    );
    assert!(
        at(
            json!([
                "merchants",
                "edges",
                0,
                "node",
                "coupons",
                0,
                "claimedCount"
            ]),
            "FORBIDDEN"
        ),
        "{eager}"
    );
}

/// `merchants` merchants of one street (in its one community), each with `coupons` coupons.
async fn merchants_with_coupons(app: &TestApp, merchants: usize, coupons: usize) {
    let street = app.new_street("九棵树街道", &["新城嘉园"]).await;
    for i in 0..merchants {
        let m = app.new_merchant(&street).insert().await;
        for j in 0..coupons {
            app.new_coupon(&m)
                .title(&format!("券{i}-{j}"))
                .insert()
                .await;
        }
    }
}

#[tokio::test]
async fn a_page_of_merchants_with_their_coupons_is_two_statements() {
    let app = TestApp::spawn().await;
    merchants_with_coupons(&app, 4, 3).await;
    let (v, statements) = app
        .gql_counting(
            None,
            "{ merchants(first: 20) { edges { node { id name category address coupons { id title kind amountFen percentOff remainingStock validUntil } } } } }",
        )
        .await;
    assert!(v.get("errors").is_none(), "{v}");
    let edges = v["data"]["merchants"]["edges"].as_array().unwrap();
    assert_eq!(edges.len(), 4);
    assert!(
        edges
            .iter()
            .all(|e| e["node"]["coupons"].as_array().unwrap().len() == 3)
    );
    assert_eq!(statements, 2, "the page and its coupons");
    let (_, counted) = app
        .gql_counting(
            None,
            "{ merchants(first: 20) { totalCount edges { node { id coupons { id } } } } }",
        )
        .await;
    assert_eq!(counted, 3, "the page, the count and the coupons");
}

/// A list holds one connection for its page and everything it primes, so it must never wait
/// for a second one while it holds it: on a pool of a single connection the deepest selections
/// the lists prime still answer (a wait would end in `TIMEOUT` after the pool's 3 s).
#[tokio::test]
async fn a_page_and_what_it_primes_need_only_one_connection() {
    let app = TestApp::spawn_with(Spawn {
        max_connections: Some(1),
        ..Spawn::default()
    })
    .await;
    merchants_with_coupons(&app, 3, 2).await;
    let v = app
        .gql(
            "{ merchants(first: 20) { totalCount edges { node { name community { name } \
               street { name } coupons { title audience { communities { name } } \
               merchant { name street { name } coupons { id } } } } } } \
               coupons(first: 20) { totalCount edges { node { title \
               audience { communities { name } } \
               merchant { name community { name } street { name } coupons { title } } } } } }",
            json!({}),
        )
        .await;
    assert!(v.get("errors").is_none(), "{v}");
    assert_eq!(v["data"]["merchants"]["totalCount"], 3);
    let merchants = v["data"]["merchants"]["edges"].as_array().unwrap();
    assert!(merchants.iter().all(|e| {
        let node = &e["node"];
        node["street"]["name"] == "九棵树街道"
            && node["community"]["name"] == "新城嘉园"
            && node["coupons"].as_array().unwrap().len() == 2
            && node["coupons"][0]["merchant"]["coupons"]
                .as_array()
                .unwrap()
                .len()
                == 2
    }));
    assert_eq!(v["data"]["coupons"]["totalCount"], 6);
    let coupons = v["data"]["coupons"]["edges"].as_array().unwrap();
    assert!(
        coupons
            .iter()
            .all(|e| e["node"]["merchant"]["street"]["name"] == "九棵树街道")
    );
}

/// A request never holds one connection while it waits for another: on a pool of a single
/// connection, a signed-in request that reads the viewer, lists and claims (and reads what it
/// claimed through the loaders) still answers; a wait would end in `TIMEOUT` after the pool's
/// 3 s.
#[tokio::test]
async fn a_signed_in_request_needs_only_one_connection() {
    let app = TestApp::spawn_with(Spawn {
        max_connections: Some(1),
        ..Spawn::default()
    })
    .await;
    merchants_with_coupons(&app, 2, 2).await;
    let resident = app.new_user().name("王大爷").insert().await;
    let read = "{ me { displayName } merchants(first: 20) { edges { node { name \
                 coupons { id title merchant { name street { name } } } } } } \
                 coupons(first: 20) { nodes { title } } }";
    let v = app.gql_by(Some(&resident), read, json!({})).await;
    assert!(v.get("errors").is_none(), "{v}");
    assert_eq!(v["data"]["me"]["displayName"], "王大爷");
    let coupon = v["data"]["merchants"]["edges"][0]["node"]["coupons"][0]["id"].clone();
    let claim = "mutation($id: ID!) { claimCoupon(couponId: $id) { status \
                 coupon { title merchant { name street { name } } } } }";
    let v = app
        .gql_by(Some(&resident), claim, json!({ "id": coupon }))
        .await;
    assert!(v.get("errors").is_none(), "{v}");
    assert_eq!(v["data"]["claimCoupon"]["status"], "CLAIMED");
    assert_eq!(
        v["data"]["claimCoupon"]["coupon"]["merchant"]["street"]["name"],
        "九棵树街道"
    );
    let v = app
        .gql_by(
            Some(&resident),
            "mutation { updateProfile(input: { displayName: \"张阿姨\" }) { displayName } }",
            json!({}),
        )
        .await;
    assert_eq!(v["data"]["updateProfile"]["displayName"], "张阿姨", "{v}");
}

/// A page and everything it primes share one leased connection, and a claim's checks another:
/// one lease per page or claim, whether the claim wins or is refused.
#[tokio::test]
async fn a_page_or_a_claim_leases_one_connection() {
    let app = TestApp::spawn().await;
    merchants_with_coupons(&app, 2, 2).await;
    let resident = app.new_user().insert().await;
    let held = || app.metric("shangju_db_leases_total", &[]);
    let page = "{ merchants(first: 20) { edges { node { name coupons { id } } } } }";
    let before = held().await;
    let v = app.gql_by(Some(&resident), page, json!({})).await;
    assert!(v.get("errors").is_none(), "{v}");
    assert_eq!(held().await - before, 1.0, "a signed-in page");
    let coupon = v["data"]["merchants"]["edges"][0]["node"]["coupons"][0]["id"].clone();
    let before = held().await;
    let claim = "mutation($id: ID!) { claimCoupon(couponId: $id) { status } }";
    let v = app
        .gql_by(Some(&resident), claim, json!({ "id": coupon }))
        .await;
    assert_eq!(v["data"]["claimCoupon"]["status"], "CLAIMED", "{v}");
    assert_eq!(held().await - before, 1.0, "a signed-in claim");
    let before = held().await;
    let v = app
        .gql_by(Some(&resident), claim, json!({ "id": coupon }))
        .await;
    assert_eq!(code(&v), "LIMIT_REACHED");
    assert_eq!(held().await - before, 1.0, "a refused claim");
}

/// The statements of a context made `on_one_connection` run on one connection: a temporary
/// table, which only its own connection sees, is there for the next statement.
#[tokio::test]
async fn a_context_on_one_connection_runs_every_statement_on_it() {
    use sea_orm::{ConnectionTrait, TransactionTrait};
    let app = TestApp::spawn().await;
    let cx = shangju::domain::context::Cx::system(&app.state).on_one_connection();
    run(&cx, "CREATE TEMPORARY TABLE probe (n INTEGER)").await;
    // Once a connection given back has settled in the pool, another transaction takes it: a
    // context that went back to the pool between statements would not find its table.
    tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    let other = app.db.begin().await.unwrap();
    run(&other, "SELECT 1").await;
    run(&cx, "INSERT INTO probe (n) VALUES (1)").await;
    let read = shangju::rows::query(
        &cx,
        sea_orm::Statement::from_string(cx.get_database_backend(), "SELECT n FROM probe"),
    )
    .await
    .unwrap();
    assert_eq!(read.len(), 1);
    drop(other);
}

/// Runs `sql`, which must succeed.
async fn run(conn: &impl sea_orm::ConnectionTrait, sql: &str) {
    conn.execute_unprepared(sql).await.unwrap();
}

/// A context that reads on one connection gives it back before it writes, and takes its
/// transaction from the pool: on a pool of one, its write begins (a lease kept would make it
/// wait for the pool's 3 s and fail), commits, and the context reads again afterwards.
#[tokio::test]
async fn a_context_gives_its_connection_back_before_it_writes() {
    use shangju::domain::context::Cx;
    let app = TestApp::spawn_with(Spawn {
        max_connections: Some(1),
        ..Spawn::default()
    })
    .await;
    run(&app.db, "CREATE TABLE lease_probe (n BIGINT)").await;
    let cx = Cx::system(&app.state).on_one_connection();
    assert_eq!(
        read(&cx, "SELECT n FROM lease_probe").await,
        Vec::<i64>::new()
    );
    let tx = cx.write().await.unwrap();
    run(&tx, "INSERT INTO lease_probe (n) VALUES (1)").await;
    tx.commit().await.unwrap();
    assert_eq!(read(&cx, "SELECT n FROM lease_probe").await, [1]);
    drop(cx);
    assert_eq!(committed(&app, "SELECT n FROM lease_probe").await, [1]);
}

/// The first column of `sql`'s rows, as the context reads them.
async fn read(cx: &shangju::domain::context::Cx<'_>, sql: &str) -> Vec<i64> {
    use sea_orm::ConnectionTrait;
    let rows = shangju::rows::query(
        cx,
        sea_orm::Statement::from_string(cx.get_database_backend(), sql),
    )
    .await
    .unwrap();
    rows.iter()
        .map(|r| r.try_get_by_index::<i64>(0).unwrap())
        .collect()
}

/// What a query reads on a connection of its own: only committed rows.
async fn committed(app: &TestApp, sql: &str) -> Vec<i64> {
    use sea_orm::ConnectionTrait;
    let other = sea_orm::Database::connect(&app.database_url).await.unwrap();
    let rows = other
        .query_all_raw(sea_orm::Statement::from_string(
            other.get_database_backend(),
            sql,
        ))
        .await
        .unwrap();
    rows.iter()
        .map(|r| r.try_get_by_index::<i64>(0).unwrap())
        .collect()
}

#[tokio::test]
async fn rows_read_by_position_are_the_rows_sea_orm_reads() {
    let app = TestApp::spawn().await;
    let merchant = alliance(&app).await;
    let mut row = merchant::Entity::find_by_id(merchant.id)
        .one(&app.db)
        .await
        .unwrap()
        .unwrap()
        .into_active_model();
    row.status_reason = Set(Some("材料齐全".into()));
    row.community_id = Set(None);
    row.update(&app.db).await.unwrap();

    let by_name = coupon::Entity::find().all(&app.db).await.unwrap();
    let by_position: Vec<coupon::Model> = shangju::rows::all(&app.db, coupon::Entity::find())
        .await
        .unwrap();
    assert_eq!(by_name.len(), 2);
    assert_eq!(by_position, by_name);
    assert!(by_name.iter().any(|c| c.item_name.is_some()));
    assert!(by_name.iter().any(|c| c.item_name.is_none()));

    let by_name = merchant::Entity::find().all(&app.db).await.unwrap();
    let by_position: Vec<merchant::Model> = shangju::rows::all(&app.db, merchant::Entity::find())
        .await
        .unwrap();
    assert_eq!(by_position, by_name);
    assert!(by_name.iter().any(|m| m.community_id.is_none()));
    assert!(by_name.iter().any(|m| m.status_reason.is_some()));
}

#[tokio::test]
async fn a_document_seen_before_answers_as_the_first_time() {
    let app = TestApp::spawn().await;
    alliance(&app).await;
    let query = "query($n: Int) { merchants(first: $n) { nodes { name } } }";
    for (n, expected) in [(1, 1), (2, 2), (1, 1)] {
        let v = app.gql(query, json!({ "n": n })).await;
        assert_eq!(
            v["data"]["merchants"]["nodes"].as_array().map(Vec::len),
            Some(expected),
            "{v}"
        );
    }
    // Refused documents are refused every time.
    let nested = format!(
        "{{ {} }}",
        "merchants { nodes { coupons { merchant { coupons { merchant { coupons { merchant { coupons { merchant { coupons { merchant { coupons { merchant { id } } } } } } } } } } } } }"
    );
    for _ in 0..2 {
        let v = app.gql(&nested, json!({})).await;
        assert_eq!(code(&v), "BAD_USER_INPUT", "{v}");
    }
    // Of a cached document with two operations, the one named runs.
    let two = "query A { merchants(first: 1) { nodes { name } } } query B { __typename }";
    for (name, key) in [("A", "merchants"), ("B", "__typename"), ("A", "merchants")] {
        let body = json!({ "query": two, "operationName": name }).to_string();
        let v = app
            .post(body, &[("content-type", "application/json")])
            .await
            .json();
        assert!(v["data"].get(key).is_some(), "{v}");
    }
    // A mutation, once seen over POST, is still refused over GET.
    let mutation = "mutation { __typename }";
    app.gql(mutation, json!({})).await;
    let reply = app
        .get(&format!(
            "/graphql?query={}",
            form_urlencoded::byte_serialize(mutation.as_bytes()).collect::<String>()
        ))
        .await;
    assert_eq!(reply.status, axum::http::StatusCode::METHOD_NOT_ALLOWED);
}

/// The fields of `type` in the schema's SDL.
fn fields_of(sdl: &str, ty: &str) -> Vec<String> {
    let start = sdl
        .find(&format!("\ntype {ty} "))
        .unwrap_or_else(|| panic!("type {ty} in the schema"));
    let body = &sdl[start..];
    let body = &body[body.find('{').unwrap() + 1..body.find("\n}").unwrap()];
    body.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('"') && !l.starts_with('#'))
        .filter_map(|l| l.split(['(', ':']).next())
        .map(|name| name.trim().to_owned())
        .collect()
}

/// Every type the schema resolves eagerly lists only fields it has: found by building the
/// schema, so a new eager type is checked without being named here.
#[test]
fn every_field_listed_as_ready_is_a_field_of_its_type() {
    use shangju::graphql::eager::{ready_types, unknown_ready_fields};
    assert_eq!(unknown_ready_fields(), Vec::<String>::new());
    let types = ready_types();
    for ty in [
        "Merchant",
        "Coupon",
        "CouponClaim",
        "MerchantEdge",
        "Street",
    ] {
        assert!(types.iter().any(|t| t == ty), "{ty} in {types:?}");
    }
}

/// A field's selection for the comparison: objects need a field of their own.
fn select(field: &str) -> String {
    match field {
        "merchant" | "street" | "community" => format!("{field} {{ id name }}"),
        "coupons" => "coupons { id title description }".into(),
        _ => field.into(),
    }
}

#[tokio::test]
async fn a_list_that_reads_only_the_selected_columns_answers_as_the_whole_row() {
    use shangju::graphql::{coupon, merchant};
    let app = TestApp::spawn().await;
    alliance(&app).await;
    // `merchant(id)` and `coupon(id)` read whole rows; a list reads the columns of its
    // selection, by each type's table of the column each field reads.
    let lists = [
        (
            "merchant",
            merchant::FIELD_COLUMNS,
            "{ merchants { nodes { id FIELD } } }",
        ),
        (
            "coupon",
            coupon::FIELD_COLUMNS,
            "{ merchants { nodes { coupons { id FIELD } } } }",
        ),
    ];
    for (one, table, list_query) in lists {
        for (field, _) in table {
            let list = app
                .gql(&list_query.replace("FIELD", &select(field)), json!({}))
                .await;
            assert!(list.get("errors").is_none(), "{field}: {list}");
            let mut items = Vec::new();
            for m in list["data"]["merchants"]["nodes"].as_array().unwrap() {
                match one {
                    "merchant" => items.push(m),
                    _ => items.extend(m["coupons"].as_array().unwrap()),
                }
            }
            assert_eq!(items.len(), 2, "{list}");
            for item in items {
                let query = format!(
                    "query($id: ID!) {{ {one}(id: $id) {{ id {} }} }}",
                    select(field)
                );
                let whole = app.gql(&query, json!({ "id": item["id"] })).await;
                assert_eq!(&whole["data"][one], item, "{one}.{field}");
            }
        }
    }
}

#[tokio::test]
async fn rows_read_for_one_selection_are_not_handed_to_another() {
    let app = TestApp::spawn().await;
    alliance(&app).await;
    let coupon = coupon::Entity::find()
        .all(&app.db)
        .await
        .unwrap()
        .into_iter()
        .find(|c| !c.description.is_empty())
        .unwrap();
    // The list reads names and coupon ids only; the same merchant and coupons reached through
    // `coupon(id)` in the same request are read whole.
    let v = app
        .gql(
            "query($id: ID!) {
              merchants { nodes { name coupons { id } } }
              coupon(id: $id) { merchant { address coupons { id description } } }
            }",
            json!({ "id": shangju::graphql::id::encode(
                entity::names::ObjectKind::Coupon,
                coupon.id
            ) }),
        )
        .await;
    assert!(v.get("errors").is_none(), "{v}");
    let m = &v["data"]["coupon"]["merchant"];
    let stored = merchant::Entity::find_by_id(coupon.merchant_id)
        .one(&app.db)
        .await
        .unwrap()
        .unwrap();
    assert!(!stored.address.is_empty());
    assert_eq!(m["address"], stored.address.as_str(), "{v}");
    assert_eq!(m["coupons"][0]["description"], "每单限用一张", "{v}");
}

#[test]
fn every_field_given_columns_is_a_field_of_its_type() {
    use shangju::graphql::{coupon, merchant};
    let sdl =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/schema.graphql")).unwrap();
    for (ty, table) in [
        ("Merchant", merchant::FIELD_COLUMNS),
        ("Coupon", coupon::FIELD_COLUMNS),
    ] {
        let fields = fields_of(&sdl, ty);
        for (name, _) in table {
            assert!(
                *name == "__typename" || fields.iter().any(|f| f == name),
                "{ty}.{name} in {fields:?}"
            );
        }
    }
}
