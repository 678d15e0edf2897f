//! `residents`: staff find the people of their street by exact phone, part of a name, a tag or
//! a community; phones stay masked unless the search named the number; every search is
//! audited; nobody else searches.

use serde_json::{Value, json};

use entity::names::ObjectKind;

use crate::builders::*;
use crate::support::*;

const SEARCH: &str =
    "query($f: ResidentFilterInput, $o: ResidentOrder, $first: Int, $after: String) {
  residents(filter: $f, orderBy: $o, first: $first, after: $after) {
    totalCount
    pageInfo { hasNextPage endCursor }
    nodes { id displayName phone tags }
  }
}";

fn names(v: &Value) -> Vec<String> {
    v["data"]["residents"]["nodes"]
        .as_array()
        .unwrap_or_else(|| panic!("{v}"))
        .iter()
        .map(|n| n["displayName"].as_str().unwrap().to_owned())
        .collect()
}

const SEARCHES: &str = "audit_entries WHERE action = 'resident.search'";

#[tokio::test]
async fn staff_find_the_people_of_their_street() {
    let app = TestApp::spawn().await;
    let street = app.new_street("九棵树街道", &["新城嘉园", "玉兰苑"]).await;
    let far = app.new_street("别的街道", &["别的社区"]).await;
    let staff = app
        .new_user()
        .staff_of(&street)
        .name("王干事")
        .insert()
        .await;
    let cao = app
        .new_user()
        .name("曹阿姨")
        .lives_in(&street, "新城嘉园")
        .tag("VOLUNTEER")
        .insert()
        .await;
    app.new_user()
        .name("曹师傅")
        .lives_in(&street, "玉兰苑")
        .insert()
        .await;
    app.new_user()
        .name("李大爷")
        .lives_in(&street, "玉兰苑")
        .tag("VOLUNTEER")
        .insert()
        .await;
    // Another street's namesake, and a closed account, are not in this register.
    app.new_user()
        .name("曹大姐")
        .lives_in(&far, "别的社区")
        .insert()
        .await;
    let closed = app
        .new_user()
        .name("曹已注销")
        .lives_in(&street, "新城嘉园")
        .insert()
        .await;
    sea_orm::ConnectionTrait::execute_unprepared(
        &app.db,
        &format!("UPDATE users SET disabled = true WHERE id = {}", closed.id),
    )
    .await
    .unwrap();

    let search = |f: Value| app.gql_by(Some(&staff), SEARCH, json!({ "f": f }));
    let by_name = search(json!({ "name": "曹" })).await;
    let mut found = names(&by_name);
    found.sort();
    assert_eq!(found, ["曹师傅", "曹阿姨"], "{by_name}");
    // Phones masked: the search did not name the number.
    for n in by_name["data"]["residents"]["nodes"].as_array().unwrap() {
        assert!(n["phone"].as_str().unwrap().contains("****"), "{n}");
    }
    // The exact number finds its person with the phone whole (a `+86` prefix works too).
    let by_phone = search(json!({ "phone": format!("+86{}", cao.phone) })).await;
    assert_eq!(names(&by_phone), ["曹阿姨"]);
    let node = &by_phone["data"]["residents"]["nodes"][0];
    assert_eq!(node["phone"], cao.phone.as_str());
    assert_eq!(node["id"], json!(gid(ObjectKind::User, cao.id)));
    let by_tag = search(json!({ "tag": "VOLUNTEER" })).await;
    let mut found = names(&by_tag);
    found.sort();
    assert_eq!(found, ["曹阿姨", "李大爷"]);
    let yulan = street.community("玉兰苑").gid.clone();
    let both = search(json!({ "tag": "VOLUNTEER", "communityId": yulan })).await;
    assert_eq!(names(&both), ["李大爷"]);
    assert_eq!(
        search(json!({ "phone": "13999999999" })).await["data"]["residents"]["totalCount"],
        0
    );

    // The whole register by name, two at a time, each person once.
    let mut seen = Vec::new();
    let mut after = Value::Null;
    loop {
        let v = app
            .gql_by(
                Some(&staff),
                SEARCH,
                json!({ "o": { "field": "NAME" }, "first": 2, "after": after }),
            )
            .await;
        seen.extend(names(&v));
        let info = &v["data"]["residents"]["pageInfo"];
        if info["hasNextPage"] != true {
            break;
        }
        after = info["endCursor"].clone();
    }
    let mut sorted = seen.clone();
    sorted.sort();
    assert_eq!(seen, sorted, "pages in name order");
    assert_eq!(seen.len(), 4, "staff, 曹阿姨, 曹师傅, 李大爷: {seen:?}");

    // Every search is audited, with what was asked.
    // Five searches and two pages.
    assert_eq!(app.count(SEARCHES).await, 7);
    use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
    let asked = entity::audit_entry::Entity::find()
        .filter(
            entity::audit_entry::Column::Action
                .eq(entity::audit_entry::AuditAction::ResidentSearch),
        )
        .all(&app.db)
        .await
        .unwrap();
    assert!(asked.iter().all(|a| a.actor_user_id == Some(staff.id)));
    let phone_search = asked
        .iter()
        .filter_map(|a| a.after.clone())
        .find(|a| a["phone"].is_string())
        .expect("the phone search is in the log");
    assert_eq!(phone_search["phone"], cao.phone.as_str());
}

#[tokio::test]
async fn only_staff_search_and_bad_input_changes_nothing() {
    let app = TestApp::spawn().await;
    let street = app.new_street("九棵树街道", &["新城嘉园"]).await;
    let far = app.new_street("别的街道", &["别的社区"]).await;
    let resident = app.new_user().lives_in(&street, "新城嘉园").insert().await;
    let shop = app.new_merchant(&street).insert().await;
    let far_staff = app.new_user().staff_of(&far).insert().await;
    let staff = app.new_user().staff_of(&street).insert().await;
    let f = json!({ "f": { "phone": resident.phone } });
    expect_code(&app.gql(SEARCH, f.clone()).await, "UNAUTHENTICATED");
    for who in [&resident, &shop.owner] {
        expect_code(&app.gql_by(Some(who), SEARCH, f.clone()).await, "FORBIDDEN");
    }
    // Staff of another street search their own register only.
    let v = app.gql_by(Some(&far_staff), SEARCH, f.clone()).await;
    assert_eq!(v["data"]["residents"]["totalCount"], 0, "{v}");
    assert_eq!(app.count(SEARCHES).await, 1);
    for bad in [
        json!({ "phone": "12345" }),
        json!({ "name": "x".repeat(33) }),
        json!({ "tag": "" }),
        json!({ "communityId": gid(ObjectKind::Street, street.id) }),
    ] {
        let v = app.gql_by(Some(&staff), SEARCH, json!({ "f": bad })).await;
        expect_code(&v, "BAD_USER_INPUT");
    }
    assert_eq!(app.count(SEARCHES).await, 1, "refused searches are not run");
}
