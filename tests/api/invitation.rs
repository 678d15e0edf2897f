//! Clerk invitations: inviting answers the same whether or not the number has an account, so
//! an owner cannot test which numbers are registered; the person with the number accepts or
//! declines; the owner revokes; strangers see nothing; expired invitations cannot be accepted.

use serde_json::{Value, json};

use entity::names::ObjectKind;

use crate::builders::*;
use crate::support::*;

const INVITE: &str = "mutation($id: ID!, $p: String!) { inviteMerchantClerk(merchantId: $id, phone: $p) { id phone status expiresAt merchant { name } } }";
const ACCEPT: &str = "mutation($id: ID!) { acceptClerkInvitation(id: $id) { status decidedAt } }";
const DECLINE: &str = "mutation($id: ID!) { declineClerkInvitation(id: $id) { status } }";
const REVOKE: &str = "mutation($id: ID!) { revokeClerkInvitation(id: $id) { status } }";
const MINE: &str = "{ myClerkInvitations { id merchant { name } } }";

/// The answer without what differs by construction (the id, the number typed, the time).
fn shape(v: &Value) -> Value {
    let mut i = v["data"]["inviteMerchantClerk"].clone();
    for k in ["id", "phone", "expiresAt"] {
        i.as_object_mut().unwrap().remove(k);
    }
    json!({ "invitation": i, "errors": v.get("errors") })
}

#[tokio::test]
async fn inviting_reveals_nothing_and_the_invited_person_decides() {
    let app = TestApp::spawn().await;
    let street = app.new_street("九棵树街道", &["新城嘉园"]).await;
    let m = app.new_merchant(&street).insert().await;
    let registered = app.new_user().insert().await;
    let owner = Some(&m.owner);
    // Registered or not, the owner gets the same answer.
    let a = app
        .gql_by(owner, INVITE, json!({ "id": m.gid, "p": registered.phone }))
        .await;
    let b = app
        .gql_by(owner, INVITE, json!({ "id": m.gid, "p": "13912340000" }))
        .await;
    assert_eq!(shape(&a), shape(&b), "{a} {b}");
    assert_eq!(a["data"]["inviteMerchantClerk"]["status"], "PENDING", "{a}");
    // Inviting again while pending answers with the same invitation.
    let again = app
        .gql_by(owner, INVITE, json!({ "id": m.gid, "p": registered.phone }))
        .await;
    assert_eq!(
        again["data"]["inviteMerchantClerk"]["id"],
        a["data"]["inviteMerchantClerk"]["id"]
    );
    assert_eq!(app.count("clerk_invitations").await, 2);

    let invitation = a["data"]["inviteMerchantClerk"]["id"].clone();
    let mine = app.gql_by(Some(&registered), MINE, json!({})).await;
    assert_eq!(
        mine["data"]["myClerkInvitations"][0]["id"], invitation,
        "{mine}"
    );
    // Nobody else may answer it, or see it.
    let stranger = app.new_user().insert().await;
    for doc in [ACCEPT, DECLINE] {
        expect_code(
            &app.gql_by(Some(&stranger), doc, json!({ "id": invitation }))
                .await,
            "FORBIDDEN",
        );
        expect_code(
            &app.gql_by(owner, doc, json!({ "id": invitation })).await,
            "FORBIDDEN",
        );
    }
    expect_code(
        &app.gql_by(
            Some(&stranger),
            "query($id: ID!) { node(id: $id) { id } }",
            json!({ "id": invitation }),
        )
        .await,
        "FORBIDDEN",
    );
    let accepted = app
        .gql_by(Some(&registered), ACCEPT, json!({ "id": invitation }))
        .await;
    assert_eq!(
        accepted["data"]["acceptClerkInvitation"]["status"], "ACCEPTED",
        "{accepted}"
    );
    let me = app
        .gql_by(Some(&registered), "{ me { roles } }", json!({}))
        .await;
    assert_eq!(me["data"]["me"]["roles"], json!(["RESIDENT", "MERCHANT"]));
    expect_code(
        &app.gql_by(Some(&registered), ACCEPT, json!({ "id": invitation }))
            .await,
        "INVALID_STATE",
    );
    // The number that had no account registers and finds its invitation waiting.
    let newcomer = app.new_user().phone("13912340000").insert().await;
    let waiting = app.gql_by(Some(&newcomer), MINE, json!({})).await;
    let second = waiting["data"]["myClerkInvitations"][0]["id"].clone();
    assert_eq!(second, b["data"]["inviteMerchantClerk"]["id"], "{waiting}");
    let declined = app
        .gql_by(Some(&newcomer), DECLINE, json!({ "id": second }))
        .await;
    assert_eq!(
        declined["data"]["declineClerkInvitation"]["status"], "DECLINED",
        "{declined}"
    );
    assert_eq!(app.count("merchant_members").await, 2);
}

#[tokio::test]
async fn the_owner_revokes_and_time_expires_invitations() {
    let app = TestApp::spawn().await;
    let street = app.new_street("九棵树街道", &["新城嘉园"]).await;
    let m = app.new_merchant(&street).insert().await;
    let person = app.new_user().insert().await;
    let owner = Some(&m.owner);
    let v = app
        .gql_by(owner, INVITE, json!({ "id": m.gid, "p": person.phone }))
        .await;
    let first = v["data"]["inviteMerchantClerk"]["id"].clone();
    let pending = app
        .gql_by(
            owner,
            "query($id: ID!) { merchant(id: $id) { clerkInvitations { id } } }",
            json!({ "id": m.gid }),
        )
        .await;
    assert_eq!(
        pending["data"]["merchant"]["clerkInvitations"][0]["id"], first,
        "{pending}"
    );
    // Only the owner revokes.
    expect_code(
        &app.gql_by(Some(&person), REVOKE, json!({ "id": first }))
            .await,
        "FORBIDDEN",
    );
    let revoked = app.gql_by(owner, REVOKE, json!({ "id": first })).await;
    assert_eq!(
        revoked["data"]["revokeClerkInvitation"]["status"], "REVOKED",
        "{revoked}"
    );
    expect_code(
        &app.gql_by(Some(&person), ACCEPT, json!({ "id": first }))
            .await,
        "INVALID_STATE",
    );
    // A new invitation, left for longer than a week.
    let v = app
        .gql_by(owner, INVITE, json!({ "id": m.gid, "p": person.phone }))
        .await;
    let second = v["data"]["inviteMerchantClerk"]["id"].clone();
    assert_ne!(second, first);
    app.clock.advance(chrono::Duration::days(8));
    expect_code(
        &app.gql_by(Some(&person), ACCEPT, json!({ "id": second }))
            .await,
        "EXPIRED",
    );
    let mine = app.gql_by(Some(&person), MINE, json!({})).await;
    assert_eq!(mine["data"]["myClerkInvitations"], json!([]), "{mine}");
    assert_eq!(app.count("merchant_members").await, 1);
    // Anonymous callers are asked to sign in; bad ids are bad input.
    expect_code(
        &app.gql(ACCEPT, json!({ "id": second })).await,
        "UNAUTHENTICATED",
    );
    expect_code(
        &app.gql_by(
            Some(&person),
            ACCEPT,
            json!({ "id": gid(ObjectKind::Merchant, 1) }),
        )
        .await,
        "BAD_USER_INPUT",
    );
}
