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

const CREATE_COMMUNITY: &str =
    "mutation($n: String!) { createCommunity(name: $n) { id name status street { name } } }";
const RENAME_COMMUNITY: &str =
    "mutation($id: ID!, $n: String!) { renameCommunity(id: $id, name: $n) { name } }";
const ARCHIVE_COMMUNITY: &str = "mutation($id: ID!) { archiveCommunity(id: $id) { status } }";

/// Staff of a street manage its communities; nobody else does; every change is audited.
#[tokio::test]
async fn staff_create_rename_and_archive_their_communities() {
    let app = TestApp::spawn().await;
    let street = app.new_street("九棵树街道", &[]).await;
    let far = app.new_street("别的街道", &["远方社区"]).await;
    let staff = app.new_user().staff_of(&street).insert().await;
    let other_staff = app.new_user().staff_of(&far).insert().await;
    let resident = app.new_user().street(street.id).insert().await;

    let v = app
        .gql_by(Some(&staff), CREATE_COMMUNITY, json!({ "n": " 新城嘉园 " }))
        .await;
    assert_eq!(v["data"]["createCommunity"]["name"], "新城嘉园", "{v}");
    assert_eq!(v["data"]["createCommunity"]["status"], "ACTIVE");
    assert_eq!(v["data"]["createCommunity"]["street"]["name"], "九棵树街道");
    let id = v["data"]["createCommunity"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    for (who, want) in [(None, "UNAUTHENTICATED"), (Some(&resident), "FORBIDDEN")] {
        expect_code(
            &app.gql_by(who, CREATE_COMMUNITY, json!({ "n": "翠屏北里" }))
                .await,
            want,
        );
    }
    expect_code(
        &app.gql_by(Some(&staff), CREATE_COMMUNITY, json!({ "n": "新城嘉园" }))
            .await,
        "CONFLICT",
    );
    for bad in ["", &"长".repeat(33), "新\u{0}城"] {
        expect_code(
            &app.gql_by(Some(&staff), CREATE_COMMUNITY, json!({ "n": bad }))
                .await,
            "BAD_USER_INPUT",
        );
    }
    // Another street's staff can neither rename nor archive it.
    expect_code(
        &app.gql_by(
            Some(&other_staff),
            RENAME_COMMUNITY,
            json!({ "id": id, "n": "改名" }),
        )
        .await,
        "FORBIDDEN",
    );
    expect_code(
        &app.gql_by(Some(&other_staff), ARCHIVE_COMMUNITY, json!({ "id": id }))
            .await,
        "FORBIDDEN",
    );
    let v = app
        .gql_by(
            Some(&staff),
            RENAME_COMMUNITY,
            json!({ "id": id, "n": "新城嘉苑" }),
        )
        .await;
    assert_eq!(v["data"]["renameCommunity"]["name"], "新城嘉苑", "{v}");
    let v = app
        .gql_by(Some(&staff), ARCHIVE_COMMUNITY, json!({ "id": id }))
        .await;
    assert_eq!(v["data"]["archiveCommunity"]["status"], "ARCHIVED", "{v}");
    expect_code(
        &app.gql_by(Some(&staff), ARCHIVE_COMMUNITY, json!({ "id": id }))
            .await,
        "INVALID_STATE",
    );
    // Audited: created, renamed (with both names), archived.
    use sea_orm::{EntityTrait, QueryOrder};
    let entries = entity::audit_entry::Entity::find()
        .order_by_asc(entity::audit_entry::Column::Id)
        .all(&app.db)
        .await
        .unwrap();
    let actions: Vec<_> = entries.iter().map(|e| e.action).collect();
    use entity::audit_entry::AuditAction::*;
    assert_eq!(
        actions,
        [CommunityCreate, CommunityRename, CommunityArchive]
    );
    assert_eq!(entries[1].before, Some(json!({ "name": "新城嘉园" })));
    assert_eq!(entries[1].after, Some(json!({ "name": "新城嘉苑" })));
    assert!(entries.iter().all(|e| e.actor_user_id == Some(staff.id)));
}

/// An archived community keeps its history and takes no new members.
#[tokio::test]
async fn an_archived_community_takes_no_new_members() {
    let app = TestApp::spawn().await;
    let street = app
        .new_street("九棵树街道", &["新城嘉园", "翠屏北里"])
        .await;
    let staff = app.new_user().staff_of(&street).insert().await;
    let living_there = app.new_user().lives_in(&street, "新城嘉园").insert().await;
    let old = street.community("新城嘉园").gid.clone();
    expect_ok(
        &app.gql_by(Some(&staff), ARCHIVE_COMMUNITY, json!({ "id": old }))
            .await,
    );
    let v = app
        .gql(
            REGISTER,
            json!({ "input": { "phone": unique_phone(), "password": PASSWORD, "displayName": "新人", "communityId": old } }),
        )
        .await;
    expect_code(&v, "INVALID_STATE");
    let newcomer = app.new_user().insert().await;
    let v = app
        .gql_by(
            Some(&newcomer),
            "mutation($c: ID!) { updateProfile(input: { communityId: $c }) { id } }",
            json!({ "c": old }),
        )
        .await;
    expect_code(&v, "INVALID_STATE");
    let v = app
        .gql_by(
            Some(&newcomer),
            APPLY,
            json!({ "input": { "profile": { "name": "小店", "category": "RETAIL", "address": "1 号",
                    "contactPhone": "13922223333", "description": "" },
                    "licenceNo": "91310000MA77", "communityId": old } }),
        )
        .await;
    expect_code(&v, "INVALID_STATE");
    // Its residents keep it; lists show it only when asked.
    let me = app
        .gql_by(
            Some(&living_there),
            "{ me { community { name status } } }",
            json!({}),
        )
        .await;
    assert_eq!(me["data"]["me"]["community"]["status"], "ARCHIVED", "{me}");
    let q = "query($all: Boolean!) { streets { edges { node { communities(includeArchived: $all) { name } } } } }";
    let active = app.gql(q, json!({ "all": false })).await;
    assert_eq!(
        active["data"]["streets"]["edges"][0]["node"]["communities"],
        json!([{ "name": "翠屏北里" }])
    );
    let all = app.gql(q, json!({ "all": true })).await;
    assert_eq!(
        all["data"]["streets"]["edges"][0]["node"]["communities"]
            .as_array()
            .unwrap()
            .len(),
        2
    );
}
