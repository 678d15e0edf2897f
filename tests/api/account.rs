//! register, login, me, changePassword, logout; throttling and hash upgrades.

use entity::user;
use entity::user_role::{self, Role};
use sea_orm::{ActiveModelTrait, ColumnTrait, EntityTrait, QueryFilter, Set};
use serde_json::json;

use shangju::domain::context::Cx;

use crate::builders::*;
use crate::support::*;

#[tokio::test]
async fn register_creates_a_resident_who_can_see_themselves() {
    let app = TestApp::spawn().await;
    let (_, communities) = app.street("九棵树街道", &["新城嘉园"]).await;
    let community_id = app
        .gql(
            "{ streets { edges { node { communities { id } } } } }",
            json!({}),
        )
        .await["data"]["streets"]["edges"][0]["node"]["communities"][0]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(communities.len(), 1);

    let v = app
        .gql(
            REGISTER,
            json!({ "input": app.proven(json!({ "phone": "+86 138-1234-5678", "password": PASSWORD,
                    "displayName": "  陈文林 ", "communityId": community_id })).await }),
        )
        .await;
    let reg = &v["data"]["register"];
    assert_eq!(reg["user"]["phone"], "13812345678", "{v}");
    assert_eq!(reg["user"]["displayName"], "陈文林");
    assert_eq!(reg["user"]["roles"], json!(["RESIDENT"]));
    assert_eq!(reg["user"]["community"]["name"], "新城嘉园");
    assert_eq!(reg["user"]["street"]["name"], "九棵树街道");

    let token = reg["accessToken"].as_str().unwrap();
    let me = app.gql_as(token, ME, json!({})).await;
    assert_eq!(me["data"]["me"]["phone"], "13812345678");
    assert_eq!(me["data"]["me"]["id"], reg["user"]["id"]);
}

#[tokio::test]
async fn me_is_null_without_a_token() {
    let app = TestApp::spawn().await;
    let v = app.gql(ME, json!({})).await;
    assert_eq!(v["data"]["me"], json!(null));
    assert!(v.get("errors").is_none());
}

#[tokio::test]
async fn register_refuses_invalid_values_and_creates_nothing() {
    let app = TestApp::spawn().await;
    let long = "x".repeat(129);
    let cases = [
        (
            json!({ "phone": "12345", "password": PASSWORD, "displayName": "甲" }),
            "phone",
        ),
        (
            json!({ "phone": "12812345678", "password": PASSWORD, "displayName": "甲" }),
            "phone",
        ),
        (
            json!({ "phone": "13812345678", "password": "short", "displayName": "甲" }),
            "password",
        ),
        (
            json!({ "phone": "13812345678", "password": long, "displayName": "甲" }),
            "password",
        ),
        (
            json!({ "phone": "13812345678", "password": PASSWORD, "displayName": "   " }),
            "displayName",
        ),
        (
            json!({ "phone": "13812345678", "password": PASSWORD, "displayName": "甲".repeat(33) }),
            "displayName",
        ),
        (
            json!({ "phone": "13812345678", "password": PASSWORD, "displayName": "甲", "communityId": "bm9wZQ" }),
            "communityId",
        ),
        (
            json!({ "phone": "13812345678", "password": PASSWORD, "displayName": "甲", "communityId": "Q29tbXVuaXR5Ojk5" }),
            "communityId",
        ),
    ];
    for (input, field) in cases {
        let v = app.gql(REGISTER, json!({ "input": input })).await;
        assert_eq!(code(&v), "BAD_USER_INPUT", "{input} → {v}");
        assert_eq!(
            v["errors"][0]["extensions"]["field"], field,
            "{input} → {v}"
        );
        assert_eq!(v["data"], json!(null));
    }
    assert_eq!(app.count("users").await, 0);
}

#[tokio::test]
async fn a_registered_phone_is_a_conflict_even_when_raced() {
    // Without SMS codes (a production server with no provider) a phone is not proven first.
    let app = TestApp::spawn_with(Spawn {
        without_sms: true,
        ..Spawn::default()
    })
    .await;
    let input =
        json!({ "input": { "phone": "13900000001", "password": PASSWORD, "displayName": "甲" } });
    let answers = app
        .parallel(
            (0..12)
                .map(|_| (None, REGISTER.to_owned(), input.clone()))
                .collect(),
        )
        .await;
    for v in &answers {
        if code(v) == "CONFLICT" {
            assert_eq!(v["errors"][0]["extensions"]["field"], "phone");
        }
    }
    let t = tally(&answers);
    let (ok, conflict) = (t.get("").copied(), t.get("CONFLICT").copied());
    assert_eq!(t.len(), 2, "{t:?}");
    assert_eq!((ok, conflict), (Some(1), Some(11)));
    assert_eq!(app.count("users").await, 1);
    assert_eq!(app.count("user_roles").await, 1);

    let again = app.gql(REGISTER, input).await;
    expect_code(&again, "CONFLICT");
}

/// Where the server sends SMS codes, only the holder of a number registers it, and only they
/// learn that it is registered.
#[tokio::test]
async fn registering_proves_the_phone_with_a_code() {
    let app = TestApp::spawn().await;
    let phone = "13900000002";
    let input = json!({ "phone": phone, "password": PASSWORD, "displayName": "甲" });
    let v = app.gql(REGISTER, json!({ "input": input })).await;
    expect_code(&v, "BAD_USER_INPUT");
    assert_eq!(v["errors"][0]["extensions"]["field"], "code", "{v}");
    let mut wrong = input.clone();
    wrong["code"] = json!("000000");
    app.send_code(phone).await;
    let v = app.gql(REGISTER, json!({ "input": wrong })).await;
    expect_code(&v, "UNAUTHENTICATED");
    assert_eq!(app.count("users").await, 0);
    // The right code, and the next code to the registered phone, is a conflict for its holder.
    app.clock.advance(chrono::Duration::seconds(61));
    let v = app
        .gql(
            REGISTER,
            json!({ "input": app.proven(input.clone()).await }),
        )
        .await;
    assert!(v["data"]["register"]["accessToken"].is_string(), "{v}");
    app.clock.advance(chrono::Duration::seconds(61));
    let v = app
        .gql(REGISTER, json!({ "input": app.proven(input).await }))
        .await;
    expect_code(&v, "CONFLICT");
    assert_eq!(app.count("users").await, 1);
}

/// With an SMS gateway, nothing but the right code tells whether a phone is registered.
#[tokio::test]
async fn registered_and_new_phones_register_alike_until_proven() {
    let app = TestApp::spawn().await;
    let known = app.new_user().phone("13900000031").insert().await;
    let attempt = |phone: &str, code: Option<&str>| {
        let mut input = json!({ "phone": phone, "password": PASSWORD, "displayName": "甲" });
        if let Some(c) = code {
            input["code"] = json!(c);
        }
        app.gql(REGISTER, json!({ "input": input }))
    };
    for phone in [known.phone.as_str(), "13900000032"] {
        app.send_code(phone).await;
    }
    let (a, b) = (
        attempt(&known.phone, None).await,
        attempt("13900000032", None).await,
    );
    assert_eq!(a, b);
    expect_code(&a, "BAD_USER_INPUT");
    let a = attempt(&known.phone, Some("000000")).await;
    let b = attempt("13900000032", Some("000000")).await;
    assert_eq!(a, b);
    expect_code(&a, "UNAUTHENTICATED");
    assert_eq!(app.count("users").await, 1);
}

/// In production without an SMS gateway, registration is closed (anyone could register another's
/// number, and learn which are registered) unless the operator opens it to unproven phones.
#[tokio::test]
async fn production_without_sms_registers_nobody_unless_told_to() {
    let input =
        json!({ "input": { "phone": "13900000041", "password": PASSWORD, "displayName": "甲" } });
    let closed = TestApp::spawn_with(Spawn {
        production: true,
        without_sms: true,
        ..Spawn::default()
    })
    .await;
    let v = closed.gql(REGISTER, input.clone()).await;
    expect_code(&v, "FORBIDDEN");
    assert!(message(&v).contains("注册"), "{v}");
    assert_eq!(closed.count("users").await, 0);
    // Even a phone already registered answers the same.
    closed.new_user().phone("13900000042").insert().await;
    let mut taken = input.clone();
    taken["input"]["phone"] = json!("13900000042");
    assert_eq!(closed.gql(REGISTER, taken).await, v);

    let open = TestApp::spawn_with(Spawn {
        production: true,
        without_sms: true,
        unverified_registration: Some(true),
        ..Spawn::default()
    })
    .await;
    let v = open.gql(REGISTER, input.clone()).await;
    assert!(v["data"]["register"]["accessToken"].is_string(), "{v}");
    // Development without SMS is open by default.
    let dev = TestApp::spawn_with(Spawn {
        without_sms: true,
        ..Spawn::default()
    })
    .await;
    let v = dev.gql(REGISTER, input).await;
    assert!(v["data"]["register"]["accessToken"].is_string(), "{v}");
}

#[tokio::test]
async fn login_answers_unknown_phone_exactly_like_wrong_password() {
    let app = TestApp::spawn().await;
    app.user("13700000001", &[Role::Resident], None).await;

    let ok = app
        .gql(
            LOGIN,
            json!({ "phone": "13700000001", "password": PASSWORD }),
        )
        .await;
    assert_eq!(ok["data"]["login"]["user"]["phone"], "13700000001", "{ok}");
    assert!(ok["data"]["login"]["accessToken"].as_str().unwrap().len() > 20);

    let wrong = app
        .gql(
            LOGIN,
            json!({ "phone": "13700000001", "password": "wrong password" }),
        )
        .await;
    let unknown = app
        .gql(
            LOGIN,
            json!({ "phone": "13700000009", "password": "wrong password" }),
        )
        .await;
    expect_code(&wrong, "UNAUTHENTICATED");
    assert_eq!(wrong["errors"], unknown["errors"]);
    assert_eq!(wrong["data"], unknown["data"]);
}

#[tokio::test]
async fn repeated_failures_lock_a_phone_whether_or_not_it_has_an_account() {
    let app = TestApp::spawn().await;
    app.user("13700000002", &[Role::Resident], None).await;
    for phone in ["13700000002", "13700000008"] {
        app.use_up_login_attempts(phone).await;
        let v = app
            .gql(LOGIN, json!({ "phone": phone, "password": PASSWORD }))
            .await;
        assert_eq!(code(&v), "RATE_LIMITED", "{phone}: {v}");
        assert!(v["errors"][0]["extensions"]["retryAfter"].as_u64().unwrap() >= 1);
    }
    // The first lock lasts 30 seconds; then the right password signs in again.
    app.clock.advance(chrono::Duration::seconds(31));
    let v = app
        .gql(
            LOGIN,
            json!({ "phone": "13700000002", "password": PASSWORD }),
        )
        .await;
    assert!(v["data"]["login"]["accessToken"].is_string(), "{v}");
}

#[tokio::test]
async fn a_success_clears_earlier_failures() {
    let app = TestApp::spawn().await;
    app.user("13700000003", &[Role::Resident], None).await;
    for _ in 0..3 {
        app.gql(
            LOGIN,
            json!({ "phone": "13700000003", "password": "nope nope" }),
        )
        .await;
    }
    let ok = app
        .gql(
            LOGIN,
            json!({ "phone": "13700000003", "password": PASSWORD }),
        )
        .await;
    assert_eq!(code(&ok), "");
    for _ in 0..3 {
        app.gql(
            LOGIN,
            json!({ "phone": "13700000003", "password": "nope nope" }),
        )
        .await;
    }
    let ok = app
        .gql(
            LOGIN,
            json!({ "phone": "13700000003", "password": PASSWORD }),
        )
        .await;
    assert_eq!(code(&ok), "", "{ok}");
}

#[tokio::test]
async fn a_hash_with_old_parameters_is_upgraded_at_login() {
    let app = TestApp::spawn().await;
    let u = app.user("13700000004", &[Role::Resident], None).await;
    let weak = argon2::Params::new(4096, 1, 1, None).unwrap();
    let old = shangju::auth::password::hash_with(weak, PASSWORD).unwrap();
    let mut am: user::ActiveModel = user::Entity::find_by_id(u.id)
        .one(&app.db)
        .await
        .unwrap()
        .unwrap()
        .into();
    am.password_hash = Set(old.clone());
    am.update(&app.db).await.unwrap();

    let v = app
        .gql(
            LOGIN,
            json!({ "phone": "13700000004", "password": PASSWORD }),
        )
        .await;
    assert_eq!(code(&v), "", "{v}");
    let stored = user::Entity::find_by_id(u.id)
        .one(&app.db)
        .await
        .unwrap()
        .unwrap()
        .password_hash;
    assert_ne!(stored, old);
    assert!(
        stored.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"),
        "{stored}"
    );
    let again = app
        .gql(
            LOGIN,
            json!({ "phone": "13700000004", "password": PASSWORD }),
        )
        .await;
    assert_eq!(code(&again), "");
}

const CHANGE: &str = "mutation($current: String!, $new: String!) {
  changePassword(input: { currentPassword: $current, newPassword: $new }) { accessToken refreshToken }
}";

#[tokio::test]
async fn changing_the_password_ends_every_earlier_token() {
    let app = TestApp::spawn().await;
    app.user("13700000005", &[Role::Resident], None).await;
    let login = app
        .gql(
            LOGIN,
            json!({ "phone": "13700000005", "password": PASSWORD }),
        )
        .await;
    let old_access = login["data"]["login"]["accessToken"]
        .as_str()
        .unwrap()
        .to_owned();
    let old_refresh = login["data"]["login"]["refreshToken"]
        .as_str()
        .unwrap()
        .to_owned();

    let changed = app
        .gql_as(
            &old_access,
            CHANGE,
            json!({ "current": PASSWORD, "new": "a brand new secret" }),
        )
        .await;
    assert_eq!(code(&changed), "", "{changed}");
    let new_access = changed["data"]["changePassword"]["accessToken"]
        .as_str()
        .unwrap();

    let me = app.gql_as(&old_access, ME, json!({})).await;
    expect_code(&me, "UNAUTHENTICATED");
    let refreshed = app
        .gql(
            "mutation($t: String!) { refreshToken(refreshToken: $t) { accessToken } }",
            json!({ "t": old_refresh }),
        )
        .await;
    expect_code(&refreshed, "UNAUTHENTICATED");

    let me = app.gql_as(new_access, ME, json!({})).await;
    assert_eq!(me["data"]["me"]["phone"], "13700000005");
    let old_pw = app
        .gql(
            LOGIN,
            json!({ "phone": "13700000005", "password": PASSWORD }),
        )
        .await;
    expect_code(&old_pw, "UNAUTHENTICATED");
    let new_pw = app
        .gql(
            LOGIN,
            json!({ "phone": "13700000005", "password": "a brand new secret" }),
        )
        .await;
    assert_eq!(code(&new_pw), "");
}

#[tokio::test]
async fn change_password_refuses_bad_requests_and_changes_nothing() {
    let app = TestApp::spawn().await;
    let u = app.user("13700000006", &[Role::Resident], None).await;
    let before = user::Entity::find_by_id(u.id)
        .one(&app.db)
        .await
        .unwrap()
        .unwrap();

    let anon = app
        .gql(
            CHANGE,
            json!({ "current": PASSWORD, "new": "whatever else" }),
        )
        .await;
    expect_code(&anon, "UNAUTHENTICATED");
    let wrong = app
        .gql_as(
            &u.token,
            CHANGE,
            json!({ "current": "not it at all", "new": "whatever else" }),
        )
        .await;
    expect_code(&wrong, "BAD_USER_INPUT");
    assert_eq!(wrong["errors"][0]["extensions"]["field"], "currentPassword");
    let short = app
        .gql_as(
            &u.token,
            CHANGE,
            json!({ "current": PASSWORD, "new": "short" }),
        )
        .await;
    expect_code(&short, "BAD_USER_INPUT");
    assert_eq!(short["errors"][0]["extensions"]["field"], "newPassword");

    let after = user::Entity::find_by_id(u.id)
        .one(&app.db)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(before, after);
    let me = app.gql_as(&u.token, ME, json!({})).await;
    assert_eq!(code(&me), "");
}

#[tokio::test]
async fn role_changes_and_disabling_take_effect_on_the_next_request() {
    let app = TestApp::spawn().await;
    let u = app.user("13700000007", &[Role::Resident], None).await;
    let me = app.gql_as(&u.token, ME, json!({})).await;
    assert_eq!(me["data"]["me"]["roles"], json!(["RESIDENT"]));

    user_role::ActiveModel {
        user_id: Set(u.id),
        role: Set(Role::Merchant),
    }
    .insert(&app.db)
    .await
    .unwrap();
    app.tag(u.id, "COURIER").await;
    let me = app.gql_as(&u.token, ME, json!({})).await;
    assert_eq!(me["data"]["me"]["roles"], json!(["RESIDENT", "MERCHANT"]));
    assert_eq!(me["data"]["me"]["tags"], json!(["COURIER"]));

    user::Entity::update_many()
        .col_expr(
            user::Column::Disabled,
            sea_orm::sea_query::Expr::value(true),
        )
        .filter(user::Column::Id.eq(u.id))
        .exec(&app.db)
        .await
        .unwrap();
    let me = app.gql_as(&u.token, ME, json!({})).await;
    expect_code(&me, "UNAUTHENTICATED");
    assert_eq!(me["data"], json!(null));
    let login = app
        .gql(
            LOGIN,
            json!({ "phone": "13700000007", "password": PASSWORD }),
        )
        .await;
    expect_code(&login, "UNAUTHENTICATED");
}

#[tokio::test]
async fn logout_ends_the_refresh_token() {
    let app = TestApp::spawn().await;
    app.user("13700000010", &[Role::Resident], None).await;
    let login = app
        .gql(
            LOGIN,
            json!({ "phone": "13700000010", "password": PASSWORD }),
        )
        .await;
    let refresh = login["data"]["login"]["refreshToken"].as_str().unwrap();
    let out = app
        .gql(
            "mutation($t: String!) { logout(refreshToken: $t) }",
            json!({ "t": refresh }),
        )
        .await;
    assert_eq!(out["data"]["logout"], json!(true));
    let again = app
        .gql(
            "mutation($t: String!) { refreshToken(refreshToken: $t) { accessToken } }",
            json!({ "t": refresh }),
        )
        .await;
    expect_code(&again, "UNAUTHENTICATED");
    let unknown = app
        .gql(
            "mutation($t: String!) { logout(refreshToken: $t) }",
            json!({ "t": "never-issued" }),
        )
        .await;
    assert_eq!(unknown["data"]["logout"], json!(true));
}

#[tokio::test]
async fn messages_are_chinese_by_default_and_english_on_request() {
    let app = TestApp::spawn().await;
    let zh = app
        .gql(
            LOGIN,
            json!({ "phone": "13700000011", "password": "wrong password" }),
        )
        .await;
    assert_eq!(message(&zh), "手机号或密码错误");
    let en = app
        .gql_with(
            None,
            &[("accept-language", "en-US,en;q=0.9")],
            LOGIN,
            json!({ "phone": "13700000012", "password": "wrong password" }),
        )
        .await;
    assert_eq!(message(&en), "Wrong phone number or password");
    assert!(en["errors"][0]["extensions"].get("_messageEn").is_none());
}

#[tokio::test]
async fn others_see_a_masked_phone_and_staff_of_the_street_see_it_whole() {
    let app = TestApp::spawn().await;
    let (street, _) = app.street("九棵树街道", &[]).await;
    let resident = app
        .user("13612345678", &[Role::Resident], Some(street))
        .await;
    let staff = app.user("13600000001", &[Role::Staff], Some(street)).await;
    let other = app
        .user("13600000002", &[Role::Resident], Some(street))
        .await;
    let view = shangju::domain::account::get_view(&app.db, resident.id)
        .await
        .unwrap()
        .unwrap();
    let staff_viewer =
        shangju::domain::account::authenticate(&Cx::system(&app.state), &staff.token)
            .await
            .unwrap();
    let other_viewer =
        shangju::domain::account::authenticate(&Cx::system(&app.state), &other.token)
            .await
            .unwrap();
    let personal = |v: Option<&shangju::auth::Viewer>| {
        shangju::domain::policy::PersonRights::of(v, view.user.id, view.user.street_id).personal
    };
    assert!(personal(Some(&staff_viewer)));
    assert!(!personal(Some(&other_viewer)));
    assert!(!personal(None));
    assert_eq!(
        shangju::domain::values::mask_phone("13612345678"),
        "136****5678"
    );
}

/// The lock counts an attempt before its password is checked, so racing attempts cannot all be
/// checked: of 40 wrong passwords sent at once, the free ones are checked and the rest refused.
#[tokio::test]
async fn parallel_wrong_passwords_are_checked_no_more_than_the_lock_allows() {
    let app = TestApp::spawn().await;
    app.user("13700000011", &[Role::Resident], None).await;
    let attempts = (0..40)
        .map(|i| {
            (
                None,
                LOGIN.to_owned(),
                json!({ "phone": "13700000011", "password": format!("guess number {i}") }),
            )
        })
        .collect();
    let answers = app.parallel(attempts).await;
    let codes = tally(&answers);
    let free = shangju::domain::account::FREE_LOGIN_FAILURES as usize;
    assert_eq!(codes.get("UNAUTHENTICATED"), Some(&free), "{codes:?}");
    assert_eq!(codes.get("RATE_LIMITED"), Some(&(40 - free)), "{codes:?}");
    let v = app
        .gql(
            LOGIN,
            json!({ "phone": "13700000011", "password": PASSWORD }),
        )
        .await;
    assert_eq!(code(&v), "RATE_LIMITED", "{v}");
}

/// One request checks one password: aliased or fragment-spread sign-ins are refused before
/// any of them runs.
#[tokio::test]
async fn a_request_checks_at_most_one_password() {
    let app = TestApp::spawn().await;
    app.user("13700000012", &[Role::Resident], None).await;
    let aliased: String = (0..30)
        .map(|i| {
            format!(
                "a{i}: login(input: {{ phone: \"13700000012\", password: \"guess {i}\" }}) {{ accessToken }} "
            )
        })
        .collect();
    let through_fragments = "mutation { ...A ... on MutationRoot { login(input: { phone: \"13700000012\", password: \"x1\" }) { accessToken } } } \
        fragment A on MutationRoot { b: login(input: { phone: \"13700000012\", password: \"x2\" }) { accessToken } }";
    let mixed = format!(
        "mutation {{ login(input: {{ phone: \"13700000012\", password: \"{PASSWORD}\" }}) {{ accessToken }} \
         register(input: {{ phone: \"13700000013\", password: \"{PASSWORD}\", displayName: \"甲\" }}) {{ accessToken }} }}"
    );
    for doc in [
        format!("mutation {{ {aliased} }}"),
        through_fragments.to_owned(),
        mixed,
    ] {
        let v = app.gql(&doc, json!({})).await;
        assert_eq!(code(&v), "BAD_USER_INPUT", "{v}");
        assert!(v["data"].is_null(), "{v}");
    }
    assert_eq!(app.count("login_throttles").await, 0);
    assert_eq!(app.count("refresh_tokens").await, 0);
    assert_eq!(app.count("users").await, 1);
    let one = app
        .gql(
            LOGIN,
            json!({ "phone": "13700000012", "password": PASSWORD }),
        )
        .await;
    assert!(one["data"]["login"]["accessToken"].is_string(), "{one}");
}

/// Passwords an attacker tries first are refused when chosen (at registration and when
/// changing one); a password someone made up is fine.
#[tokio::test]
async fn common_and_guessable_passwords_are_refused() {
    let app = TestApp::spawn().await;
    let phone = "13700000021";
    for weak in [
        "12345678",
        "123456789",
        "password",
        "11111111",
        "qwertyuiop",
        "woaini1314",
        "a123456",
        "a12345678",
        "shangju-demo-2024",
        phone,
        "13912345678",
        "19851231",
        "abcdefgh",
    ] {
        let v = app
            .gql(
                REGISTER,
                json!({ "input": { "phone": phone, "password": weak, "displayName": "新居民" } }),
            )
            .await;
        expect_code(&v, "BAD_USER_INPUT");
        assert_eq!(
            v["errors"][0]["extensions"]["field"], "password",
            "{weak}: {v}"
        );
    }
    assert_eq!(app.count("users").await, 0);
    let v = app
        .gql(
            REGISTER,
            json!({ "input": app.proven(json!({ "phone": phone, "password": "九棵树的煎饼最好吃", "displayName": "新居民" })).await }),
        )
        .await;
    let token = v["data"]["register"]["accessToken"]
        .as_str()
        .unwrap()
        .to_owned();
    let change = "mutation($c: String!, $n: String!) { changePassword(input: { currentPassword: $c, newPassword: $n }) { accessToken } }";
    let v = app
        .gql_as(
            &token,
            change,
            json!({ "c": "九棵树的煎饼最好吃", "n": "password1" }),
        )
        .await;
    expect_code(&v, "BAD_USER_INPUT");
    assert_eq!(v["errors"][0]["extensions"]["field"], "newPassword", "{v}");
}

/// Guessing the current password through `changePassword` (with a stolen session) runs into
/// the same lock as signing in.
#[tokio::test]
async fn wrong_current_passwords_lock_the_phone_too() {
    let app = TestApp::spawn().await;
    let u = app.user("13700000031", &[Role::Resident], None).await;
    let change = "mutation($c: String!) { changePassword(input: { currentPassword: $c, newPassword: \"九棵树的馄饨也好吃\" }) { accessToken } }";
    for i in 0..shangju::domain::account::FREE_LOGIN_FAILURES {
        let v = app
            .gql_as(&u.token, change, json!({ "c": format!("guess {i}") }))
            .await;
        expect_code(&v, "BAD_USER_INPUT");
    }
    let v = app.gql_as(&u.token, change, json!({ "c": PASSWORD })).await;
    expect_code(&v, "RATE_LIMITED");
    let v = app
        .gql(
            LOGIN,
            json!({ "phone": "13700000031", "password": PASSWORD }),
        )
        .await;
    expect_code(&v, "RATE_LIMITED");
}
