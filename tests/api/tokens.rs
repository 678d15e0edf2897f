//! Access tokens are checked strictly; refresh tokens rotate and detect reuse.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::Utc;
use entity::user_role::Role;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde_json::json;

use crate::builders::*;
use crate::support::*;

const REFRESH: &str = "mutation($t: String!) { refreshToken(refreshToken: $t) { accessToken refreshToken user { phone } } }";

fn sign(claims: serde_json::Value, secret: &[u8], alg: Algorithm) -> String {
    jsonwebtoken::encode(
        &Header::new(alg),
        &claims,
        &EncodingKey::from_secret(secret),
    )
    .unwrap()
}

fn claims(user_id: i64) -> serde_json::Value {
    let now = Utc::now().timestamp();
    json!({ "sub": user_id.to_string(), "roles": ["RESIDENT"], "iss": "shangju",
            "aud": "shangju-api", "exp": now + 600, "iat": now, "sv": 0 })
}

#[tokio::test]
async fn a_well_formed_token_signs_in() {
    let app = TestApp::spawn().await;
    let u = app.user("13500000001", &[Role::Resident], None).await;
    let token = sign(claims(u.id), SECRET, Algorithm::HS256);
    let me = app.gql_as(&token, ME, json!({})).await;
    assert_eq!(me["data"]["me"]["phone"], "13500000001", "{me}");
}

#[tokio::test]
async fn forged_expired_and_misdirected_tokens_are_unauthenticated_not_anonymous() {
    let app = TestApp::spawn().await;
    let u = app.user("13500000002", &[Role::Resident], None).await;
    let now = Utc::now().timestamp();
    let mut bad = Vec::new();

    bad.push((
        "bad signature",
        sign(
            claims(u.id),
            b"another-secret-of-32-bytes-or-more!!",
            Algorithm::HS256,
        ),
    ));
    bad.push((
        "HS512 instead of HS256",
        sign(claims(u.id), SECRET, Algorithm::HS512),
    ));
    let none_header = URL_SAFE_NO_PAD.encode(br#"{"alg":"none","typ":"JWT"}"#);
    let none_body = URL_SAFE_NO_PAD.encode(claims(u.id).to_string());
    bad.push(("alg none", format!("{none_header}.{none_body}.")));
    let mut c = claims(u.id);
    c["exp"] = json!(now - 60);
    bad.push(("expired", sign(c, SECRET, Algorithm::HS256)));
    let mut c = claims(u.id);
    c["aud"] = json!("someone-else");
    bad.push(("wrong audience", sign(c, SECRET, Algorithm::HS256)));
    let mut c = claims(u.id);
    c["iss"] = json!("evil");
    bad.push(("wrong issuer", sign(c, SECRET, Algorithm::HS256)));
    let mut c = claims(u.id);
    c.as_object_mut().unwrap().remove("iat");
    bad.push(("no iat", sign(c, SECRET, Algorithm::HS256)));
    let mut c = claims(u.id);
    c["iat"] = json!(now + 3600);
    bad.push(("issued in the future", sign(c, SECRET, Algorithm::HS256)));
    let mut c = claims(u.id);
    c["nbf"] = json!(now + 3600);
    bad.push(("not valid for an hour", sign(c, SECRET, Algorithm::HS256)));
    let mut c = claims(u.id);
    c["sub"] = json!("999999");
    bad.push(("no such user", sign(c, SECRET, Algorithm::HS256)));
    let mut c = claims(u.id);
    c["sv"] = json!(1);
    bad.push(("stale session version", sign(c, SECRET, Algorithm::HS256)));
    bad.push(("garbage", "not.a.token".to_owned()));

    let login = app
        .gql(
            LOGIN,
            json!({ "phone": "13500000002", "password": PASSWORD }),
        )
        .await;
    let refresh = login["data"]["login"]["refreshToken"]
        .as_str()
        .unwrap()
        .to_owned();
    bad.push(("refresh token as access token", refresh));

    for (what, token) in bad {
        let v = app.gql_as(&token, ME, json!({})).await;
        assert_eq!(code(&v), "UNAUTHENTICATED", "{what}: {v}");
        assert_eq!(v["data"], json!(null), "{what}");
    }

    let mut c = claims(u.id);
    c["nbf"] = json!(now - 60);
    let valid_since_a_minute = sign(c, SECRET, Algorithm::HS256);
    let v = app.gql_as(&valid_since_a_minute, ME, json!({})).await;
    assert!(v["data"]["me"]["id"].is_string(), "{v}");

    for header in ["Basic dXNlcjpwYXNz", "Bearer", "Bearer    ", "token abc"] {
        let v = app
            .gql_with(None, &[("authorization", header)], ME, json!({}))
            .await;
        assert_eq!(code(&v), "UNAUTHENTICATED", "{header}: {v}");
    }
}

#[tokio::test]
async fn a_refresh_token_rotates_and_its_reuse_ends_the_family() {
    let app = TestApp::spawn().await;
    app.user("13500000003", &[Role::Resident], None).await;
    let login = app
        .gql(
            LOGIN,
            json!({ "phone": "13500000003", "password": PASSWORD }),
        )
        .await;
    let first = login["data"]["login"]["refreshToken"]
        .as_str()
        .unwrap()
        .to_owned();

    let r1 = app.gql(REFRESH, json!({ "t": first })).await;
    assert_eq!(code(&r1), "", "{r1}");
    let second = r1["data"]["refreshToken"]["refreshToken"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_ne!(first, second);
    assert_eq!(r1["data"]["refreshToken"]["user"]["phone"], "13500000003");
    let access = r1["data"]["refreshToken"]["accessToken"].as_str().unwrap();
    assert_eq!(
        app.gql_as(access, ME, json!({})).await["data"]["me"]["phone"],
        "13500000003"
    );

    // The old token again at once (another page of the app resuming): the same new pair.
    let again = app.gql(REFRESH, json!({ "t": first })).await;
    assert_eq!(again["data"], r1["data"], "{again}");
    // Later: refused, and the token it was rotated into dies with it, its access token too.
    app.clock.advance(chrono::Duration::seconds(
        shangju::domain::account::REFRESH_GRACE_SECS + 1,
    ));
    let replay = app.gql(REFRESH, json!({ "t": first })).await;
    expect_code(&replay, "UNAUTHENTICATED");
    let after = app.gql(REFRESH, json!({ "t": second })).await;
    expect_code(&after, "UNAUTHENTICATED");
    expect_code(&app.gql_as(access, ME, json!({})).await, "UNAUTHENTICATED");

    // Another login is another family and is unaffected.
    let login2 = app
        .gql(
            LOGIN,
            json!({ "phone": "13500000003", "password": PASSWORD }),
        )
        .await;
    let other = login2["data"]["login"]["refreshToken"].as_str().unwrap();
    expect_code(&app.gql(REFRESH, json!({ "t": other })).await, "");
}

/// A mini-program resuming several pages at once refreshes with one token in parallel: all of
/// them get the same new pair, one successor is stored, and the user stays signed in.
#[tokio::test]
async fn parallel_refreshes_of_one_token_all_get_the_same_pair() {
    let app = TestApp::spawn().await;
    app.user("13500000004", &[Role::Resident], None).await;
    let login = app
        .gql(
            LOGIN,
            json!({ "phone": "13500000004", "password": PASSWORD }),
        )
        .await;
    let token = login["data"]["login"]["refreshToken"]
        .as_str()
        .unwrap()
        .to_owned();
    let answers = app
        .parallel(
            (0..20)
                .map(|_| (None, REFRESH.to_owned(), json!({ "t": token })))
                .collect(),
        )
        .await;
    assert_eq!(tally(&answers).get("").copied(), Some(20), "{answers:?}");
    let pairs: std::collections::BTreeSet<String> = answers
        .iter()
        .map(|a| a["data"]["refreshToken"].to_string())
        .collect();
    assert_eq!(pairs.len(), 1, "{pairs:?}");
    // The login's token and its one successor.
    assert_eq!(app.count("refresh_tokens").await, 2);
    let next = answers[0]["data"]["refreshToken"]["refreshToken"].clone();
    expect_code(&app.gql(REFRESH, json!({ "t": next })).await, "");
}

/// `logout` ends the session's access token at once; `logoutEverywhere` ends every session.
#[tokio::test]
async fn logging_out_ends_access_tokens_too() {
    let app = TestApp::spawn().await;
    app.user("13500000005", &[Role::Resident], None).await;
    let sign_in = || async {
        let v = app
            .gql(
                LOGIN,
                json!({ "phone": "13500000005", "password": PASSWORD }),
            )
            .await;
        (
            v["data"]["login"]["accessToken"]
                .as_str()
                .unwrap()
                .to_owned(),
            v["data"]["login"]["refreshToken"]
                .as_str()
                .unwrap()
                .to_owned(),
        )
    };
    let (phone_access, phone_refresh) = sign_in().await;
    let (pad_access, pad_refresh) = sign_in().await;
    let logout = "mutation($t: String!) { logout(refreshToken: $t) }";
    expect_ok(&app.gql(logout, json!({ "t": phone_refresh })).await);
    expect_code(
        &app.gql_as(&phone_access, ME, json!({})).await,
        "UNAUTHENTICATED",
    );
    // The other device's session goes on.
    assert!(app.gql_as(&pad_access, ME, json!({})).await["data"]["me"]["phone"].is_string());
    let (laptop_access, laptop_refresh) = sign_in().await;
    let v = app
        .gql_as(&pad_access, "mutation { logoutEverywhere }", json!({}))
        .await;
    assert_eq!(v["data"]["logoutEverywhere"], true, "{v}");
    for access in [&pad_access, &laptop_access] {
        expect_code(&app.gql_as(access, ME, json!({})).await, "UNAUTHENTICATED");
    }
    for refresh in [&pad_refresh, &laptop_refresh] {
        expect_code(
            &app.gql(REFRESH, json!({ "t": refresh })).await,
            "UNAUTHENTICATED",
        );
    }
    expect_code(
        &app.gql("mutation { logoutEverywhere }", json!({})).await,
        "UNAUTHENTICATED",
    );
    // Signing in again works.
    let (access, _) = sign_in().await;
    assert!(app.gql_as(&access, ME, json!({})).await["data"]["me"]["phone"].is_string());
}

#[tokio::test]
async fn unknown_and_expired_refresh_tokens_are_refused() {
    let app = TestApp::spawn().await;
    let v = app.gql(REFRESH, json!({ "t": "never-issued" })).await;
    expect_code(&v, "UNAUTHENTICATED");

    app.user("13500000005", &[Role::Resident], None).await;
    let login = app
        .gql(
            LOGIN,
            json!({ "phone": "13500000005", "password": PASSWORD }),
        )
        .await;
    let token = login["data"]["login"]["refreshToken"].as_str().unwrap();
    // Refresh tokens live 30 days.
    app.clock.advance(chrono::Duration::days(31));
    let v = app.gql(REFRESH, json!({ "t": token })).await;
    expect_code(&v, "UNAUTHENTICATED");
}
