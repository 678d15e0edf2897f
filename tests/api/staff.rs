//! A street's staff and its settings, kept by its administrators: adding answers the same for
//! any number, nobody removes themselves or the last administrator, other streets are refused,
//! every change is audited; `create-staff` makes an administrator.

use serde_json::json;

use entity::names::ObjectKind;

use crate::builders::*;
use crate::support::*;

const ADD: &str = "mutation($p: String!, $a: Boolean!) { addStaff(phone: $p, name: \"李干事\", admin: $a) { id roles isStreetAdmin street { name } } }";
const REMOVE: &str = "mutation($u: ID!) { removeStaff(userId: $u) { roles isStreetAdmin } }";
const SETTINGS: &str =
    "mutation($input: StreetSettingsInput!) { updateStreetSettings(input: $input) {
  name displayName foundedOn timeZone maxActivityPoints demandResponseHours } }";

#[tokio::test]
async fn administrators_add_and_remove_staff_but_never_the_last_administrator() {
    let app = TestApp::spawn().await;
    let street = app.new_street("九棵树街道", &["新城嘉园"]).await;
    let far = app.new_street("别的街道", &[]).await;
    let admin = app.new_street_admin(&street).await;
    let plain_staff = app.new_user().staff_of(&street).insert().await;
    let far_admin = app.new_street_admin(&far).await;
    let resident = app.new_user().lives_in(&street, "新城嘉园").insert().await;

    // Plain staff and residents do not add staff.
    for who in [&plain_staff, &resident] {
        expect_code(
            &app.gql_by(Some(who), ADD, json!({ "p": unique_phone(), "a": false }))
                .await,
            "FORBIDDEN",
        );
    }
    // Registered or not, the same answer.
    let existing = app
        .gql_by(
            Some(&admin),
            ADD,
            json!({ "p": resident.phone, "a": false }),
        )
        .await;
    let new = app
        .gql_by(Some(&admin), ADD, json!({ "p": "13912345670", "a": true }))
        .await;
    for v in [&existing, &new] {
        assert!(
            v["data"]["addStaff"]["roles"]
                .as_array()
                .unwrap()
                .contains(&json!("STAFF")),
            "{v}"
        );
        assert_eq!(v["data"]["addStaff"]["street"]["name"], "九棵树街道");
    }
    assert_eq!(new["data"]["addStaff"]["isStreetAdmin"], true);
    // The new account has no password yet: nothing signs in to it.
    let v = app
        .gql(LOGIN, json!({ "phone": "13912345670", "password": "" }))
        .await;
    expect_code(&v, "UNAUTHENTICATED");
    // Staff of another street stay theirs.
    expect_code(
        &app.gql_by(
            Some(&admin),
            ADD,
            json!({ "p": far_admin.phone, "a": false }),
        )
        .await,
        "CONFLICT",
    );
    // Removing: not by plain staff, not across streets, not oneself, not the last admin.
    let resident_gid = gid(ObjectKind::User, resident.id);
    expect_code(
        &app.gql_by(Some(&plain_staff), REMOVE, json!({ "u": resident_gid }))
            .await,
        "FORBIDDEN",
    );
    expect_code(
        &app.gql_by(Some(&far_admin), REMOVE, json!({ "u": resident_gid }))
            .await,
        "NOT_FOUND",
    );
    let admin_gid = gid(ObjectKind::User, admin.id);
    expect_code(
        &app.gql_by(Some(&admin), REMOVE, json!({ "u": admin_gid }))
            .await,
        "FORBIDDEN",
    );
    let v = app
        .gql_by(Some(&admin), REMOVE, json!({ "u": resident_gid }))
        .await;
    assert_eq!(
        v["data"]["removeStaff"]["roles"],
        json!(["RESIDENT"]),
        "{v}"
    );
    // With two administrators one may remove the other, then is the last.
    let second = new["data"]["addStaff"]["id"].clone();
    let v = app
        .gql_by(Some(&admin), REMOVE, json!({ "u": second }))
        .await;
    assert_eq!(v["data"]["removeStaff"]["isStreetAdmin"], false, "{v}");
    let far_far = app.new_street_admin(&far).await;
    let v = app
        .gql_by(
            Some(&far_far),
            REMOVE,
            json!({ "u": gid(ObjectKind::User, far_admin.id) }),
        )
        .await;
    expect_ok(&v);
    let v = app
        .gql_by(
            Some(&far_admin),
            REMOVE,
            json!({ "u": gid(ObjectKind::User, far_far.id) }),
        )
        .await;
    expect_code(&v, "FORBIDDEN");
    assert_eq!(
        app.count("audit_entries WHERE action = 'staff.add'").await,
        2
    );
    assert_eq!(
        app.count("audit_entries WHERE action = 'staff.remove'")
            .await,
        3
    );
}

#[tokio::test]
async fn the_last_administrator_stays() {
    let app = TestApp::spawn().await;
    let street = app.new_street("九棵树街道", &[]).await;
    let a = app.new_street_admin(&street).await;
    let b = app.new_street_admin(&street).await;
    // Each removes the other at once: one of them must stay an administrator.
    let answers = app
        .parallel(vec![
            (
                Some(a.token.clone()),
                REMOVE.to_owned(),
                json!({ "u": gid(ObjectKind::User, b.id) }),
            ),
            (
                Some(b.token.clone()),
                REMOVE.to_owned(),
                json!({ "u": gid(ObjectKind::User, a.id) }),
            ),
        ])
        .await;
    assert!(
        app.count("users WHERE is_street_admin").await >= 1,
        "{answers:?}"
    );
    let c = app.new_user().staff_of(&street).insert().await;
    let last = if app
        .count(&format!("users WHERE id = {} AND is_street_admin", a.id))
        .await
        == 1
    {
        &a
    } else {
        &b
    };
    let removed = app
        .gql_by(
            Some(last),
            REMOVE,
            json!({ "u": gid(ObjectKind::User, c.id) }),
        )
        .await;
    expect_ok(&removed);
}

#[tokio::test]
async fn administrators_change_the_streets_settings() {
    let app = TestApp::spawn().await;
    let street = app.new_street("九棵树街道", &[]).await;
    let admin = app.new_street_admin(&street).await;
    let staff = app.new_user().staff_of(&street).insert().await;
    let input = json!({ "displayName": "九棵树（未来城）街道", "foundedOn": "2024-05-01",
        "timeZone": "Asia/Urumqi", "maxActivityPoints": 50, "demandResponseHours": 48 });
    expect_code(
        &app.gql_by(Some(&staff), SETTINGS, json!({ "input": input }))
            .await,
        "FORBIDDEN",
    );
    let v = app
        .gql_by(Some(&admin), SETTINGS, json!({ "input": input }))
        .await;
    let s = &v["data"]["updateStreetSettings"];
    assert_eq!(s["displayName"], "九棵树（未来城）街道", "{v}");
    assert_eq!(s["name"], "九棵树街道");
    assert_eq!(s["foundedOn"], "2024-05-01");
    assert_eq!(s["timeZone"], "Asia/Urumqi");
    assert_eq!(s["maxActivityPoints"], 50);
    assert_eq!(s["demandResponseHours"], 48);
    for (bad, field) in [
        (json!({ "timeZone": "Mars/Olympus" }), "timeZone"),
        (json!({ "foundedOn": "2999-01-01" }), "foundedOn"),
        (json!({ "foundedOn": "1850-01-01" }), "foundedOn"),
        (json!({ "maxActivityPoints": 0 }), "maxActivityPoints"),
        (
            json!({ "demandResponseHours": 10000 }),
            "demandResponseHours",
        ),
        (json!({ "displayName": "" }), "displayName"),
    ] {
        let v = app
            .gql_by(Some(&admin), SETTINGS, json!({ "input": bad }))
            .await;
        expect_code(&v, "BAD_USER_INPUT");
        assert_eq!(v["errors"][0]["extensions"]["field"], field, "{v}");
    }
    let public = app
        .gql(
            "{ streets { edges { node { timeZone foundedOn } } } }",
            json!({}),
        )
        .await;
    assert_eq!(
        public["data"]["streets"]["edges"][0]["node"]["timeZone"],
        "Asia/Urumqi"
    );
    use sea_orm::EntityTrait;
    let audit = entity::audit_entry::Entity::find()
        .all(&app.db)
        .await
        .unwrap();
    assert_eq!(audit.len(), 1);
    assert_eq!(
        audit[0].before.as_ref().unwrap()["timeZone"],
        "Asia/Shanghai"
    );
    assert_eq!(audit[0].after.as_ref().unwrap()["timeZone"], "Asia/Urumqi");
}

/// An administrator cannot pull someone of another street (or of none) into their staff: that
/// would move them without asking, and let the administrator reset their password.
#[tokio::test]
async fn administrators_add_only_their_own_residents() {
    let app = TestApp::spawn().await;
    let street = app.new_street("九棵树街道", &["新城嘉园"]).await;
    let far = app.new_street("别的街道", &["远方社区"]).await;
    let admin = app.new_street_admin(&street).await;
    let elsewhere = app.new_user().lives_in(&far, "远方社区").insert().await;
    let nowhere = app.new_user().insert().await;
    for person in [&elsewhere, &nowhere] {
        expect_code(
            &app.gql_by(Some(&admin), ADD, json!({ "p": person.phone, "a": true }))
                .await,
            "CONFLICT",
        );
    }
    let me = app
        .gql_by(
            Some(&elsewhere),
            "{ me { roles street { name } } }",
            json!({}),
        )
        .await;
    assert_eq!(me["data"]["me"]["roles"], json!(["RESIDENT"]), "{me}");
    assert_eq!(me["data"]["me"]["street"]["name"], "别的街道");
    assert_eq!(app.count("audit_entries").await, 0);
}
