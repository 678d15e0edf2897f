//! Password recovery with a reset code staff issue in person: good once (also in parallel),
//! for a day, guesses count against the phone's lock, every earlier session ends, and only
//! staff of the person's street (never for themselves) issue one.

use serde_json::json;

use entity::names::ObjectKind;

use crate::builders::*;
use crate::support::*;

const ISSUE: &str = "mutation($u: ID!) { issueResetCode(userId: $u) { code expiresAt } }";
const RESET: &str = "mutation($p: String!, $c: String!, $n: String!) {
  resetPasswordWithCode(input: { phone: $p, code: $c, newPassword: $n }) { accessToken } }";
const NEW_PASSWORD: &str = "九棵树的早点铺子";

#[tokio::test]
async fn a_code_from_staff_sets_a_new_password_once_and_ends_old_sessions() {
    let app = TestApp::spawn().await;
    let street = app.new_street("九棵树街道", &["新城嘉园"]).await;
    let far = app.new_street("别的街道", &[]).await;
    let staff = app.new_user().staff_of(&street).insert().await;
    let far_staff = app.new_user().staff_of(&far).insert().await;
    let senior = app.new_user().lives_in(&street, "新城嘉园").insert().await;
    let uid = gid(ObjectKind::User, senior.id);
    for (who, want) in [
        (Some(&far_staff), "FORBIDDEN"),
        (Some(&senior), "FORBIDDEN"),
        (None, "UNAUTHENTICATED"),
    ] {
        expect_code(&app.gql_by(who, ISSUE, json!({ "u": uid })).await, want);
    }
    expect_code(
        &app.gql_by(
            Some(&staff),
            ISSUE,
            json!({ "u": gid(ObjectKind::User, staff.id) }),
        )
        .await,
        "FORBIDDEN",
    );
    let v = app.gql_by(Some(&staff), ISSUE, json!({ "u": uid })).await;
    let code_text = v["data"]["issueResetCode"]["code"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(code_text.len(), 14, "{v}");
    // A weak new password is refused without using the code.
    expect_code(
        &app.gql(
            RESET,
            json!({ "p": senior.phone, "c": code_text, "n": "12345678" }),
        )
        .await,
        "BAD_USER_INPUT",
    );
    // Ten at once with the same code: one sets the password.
    let answers = app
        .parallel(
            (0..10)
                .map(|_| {
                    (
                        None,
                        RESET.to_owned(),
                        json!({ "p": senior.phone, "c": code_text.to_lowercase(), "n": NEW_PASSWORD }),
                    )
                })
                .collect(),
        )
        .await;
    let codes = tally(&answers);
    assert_eq!(codes.get("").copied(), Some(1), "{codes:?}");
    // The old session is over; the new password signs in, the old one does not.
    expect_code(
        &app.gql_as(&senior.token, "{ me { id } }", json!({})).await,
        "UNAUTHENTICATED",
    );
    // The losing attempts counted against the phone after the winner cleared its count, so
    // the phone may be locked for a while; past the longest lock it signs in.
    app.clock.advance(chrono::Duration::minutes(16));
    let v = app
        .gql(
            LOGIN,
            json!({ "phone": senior.phone, "password": NEW_PASSWORD }),
        )
        .await;
    assert!(v["data"]["login"]["accessToken"].is_string(), "{v}");
    expect_code(
        &app.gql(
            LOGIN,
            json!({ "phone": senior.phone, "password": PASSWORD }),
        )
        .await,
        "UNAUTHENTICATED",
    );
    assert_eq!(
        app.count("audit_entries WHERE action = 'account.reset_code'")
            .await,
        1
    );
    assert_eq!(
        app.count("audit_entries WHERE action = 'account.password_reset'")
            .await,
        1
    );
}

#[tokio::test]
async fn expired_replaced_and_guessed_codes_fail() {
    let app = TestApp::spawn().await;
    let street = app.new_street("九棵树街道", &["新城嘉园"]).await;
    let admin = app.new_street_admin(&street).await;
    // Staff added without a password set one with a code.
    let v = app
        .gql_by(
            Some(&admin),
            "mutation { addStaff(phone: \"13912345671\", name: \"新干事\") { id } }",
            json!({}),
        )
        .await;
    let new_staff = v["data"]["addStaff"]["id"].clone();
    let issue = |u: serde_json::Value| {
        let app = &app;
        let admin = &admin;
        async move {
            let v = app.gql_by(Some(admin), ISSUE, json!({ "u": u })).await;
            v["data"]["issueResetCode"]["code"]
                .as_str()
                .unwrap()
                .to_owned()
        }
    };
    let first = issue(new_staff.clone()).await;
    let second = issue(new_staff.clone()).await;
    // The first stopped working when the second was issued.
    expect_code(
        &app.gql(
            RESET,
            json!({ "p": "13912345671", "c": first, "n": NEW_PASSWORD }),
        )
        .await,
        "UNAUTHENTICATED",
    );
    app.clock.advance(chrono::Duration::hours(25));
    expect_code(
        &app.gql(
            RESET,
            json!({ "p": "13912345671", "c": second, "n": NEW_PASSWORD }),
        )
        .await,
        "UNAUTHENTICATED",
    );
    let third = issue(new_staff).await;
    let v = app
        .gql(
            RESET,
            json!({ "p": "13912345671", "c": third, "n": NEW_PASSWORD }),
        )
        .await;
    assert!(
        v["data"]["resetPasswordWithCode"]["accessToken"].is_string(),
        "{v}"
    );

    // Guesses for someone else's phone run into the sign-in lock.
    let resident = app.new_user().lives_in(&street, "新城嘉园").insert().await;
    let real = issue(json!(gid(ObjectKind::User, resident.id))).await;
    for i in 0..shangju::domain::account::FREE_LOGIN_FAILURES {
        let guess = format!("AAAA-BBBB-CC{i:02}");
        expect_code(
            &app.gql(
                RESET,
                json!({ "p": resident.phone, "c": guess, "n": NEW_PASSWORD }),
            )
            .await,
            "UNAUTHENTICATED",
        );
    }
    expect_code(
        &app.gql(
            RESET,
            json!({ "p": resident.phone, "c": real, "n": NEW_PASSWORD }),
        )
        .await,
        "RATE_LIMITED",
    );
    // One reset per request, like every credential check.
    let two = format!(
        "mutation {{ a: resetPasswordWithCode(input: {{ phone: \"{p}\", code: \"{real}\", newPassword: \"{NEW_PASSWORD}\" }}) {{ accessToken }} \
         b: resetPasswordWithCode(input: {{ phone: \"{p}\", code: \"{real}\", newPassword: \"{NEW_PASSWORD}\" }}) {{ accessToken }} }}",
        p = resident.phone
    );
    expect_code(&app.gql(&two, json!({})).await, "BAD_USER_INPUT");
}

/// A reset code signs in as its holder, so only an administrator hands one to staff: plain
/// staff cannot take over a colleague or an administrator.
#[tokio::test]
async fn only_administrators_issue_codes_for_staff() {
    let app = TestApp::spawn().await;
    let street = app.new_street("九棵树街道", &["新城嘉园"]).await;
    let admin = app.new_street_admin(&street).await;
    let staff = app.new_user().staff_of(&street).insert().await;
    let colleague = app.new_user().staff_of(&street).insert().await;
    for target in [&admin, &colleague] {
        expect_code(
            &app.gql_by(
                Some(&staff),
                ISSUE,
                json!({ "u": gid(ObjectKind::User, target.id) }),
            )
            .await,
            "FORBIDDEN",
        );
    }
    assert_eq!(app.count("reset_codes").await, 0);
    let v = app
        .gql_by(
            Some(&admin),
            ISSUE,
            json!({ "u": gid(ObjectKind::User, colleague.id) }),
        )
        .await;
    assert!(v["data"]["issueResetCode"]["code"].is_string(), "{v}");
}
