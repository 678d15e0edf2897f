//! Sign-in codes by SMS: sent through the real HTTP gateway to a local fake provider; 6
//! digits, 5 minutes, 5 tries, good once (also in parallel), the newest only; one a minute
//! per phone and daily caps per phone and per address; the same answers for registered and
//! unregistered phones; a provider's failure sends nothing and blocks nothing.

use serde_json::{Value, json};

use crate::builders::*;
use crate::fakes::{SMS_API_KEY, SmsAnswer};
use crate::support::*;

const LOGIN_WITH_CODE: &str = "mutation($phone: String!, $code: String!) {
  loginWithCode(phone: $phone, code: $code) {
    accessToken refreshToken user { id displayName roles phone } } }";
const ME: &str = "{ me { id phone } }";

async fn login_with(app: &TestApp, phone: &str, code: &str) -> Value {
    app.gql(LOGIN_WITH_CODE, json!({ "phone": phone, "code": code }))
        .await
}

/// A wrong code for `right`: the same length, another number.
fn wrong(right: &str) -> String {
    let n: u32 = right.parse().unwrap();
    format!("{:06}", (n + 1) % 1_000_000)
}

/// Fixes the clock at 10:00 in Shanghai, so that a test's minutes stay in one local day.
fn morning(app: &TestApp) {
    app.clock.set(
        chrono::DateTime::parse_from_rfc3339("2026-12-02T02:00:00Z")
            .unwrap()
            .to_utc(),
    );
}

#[tokio::test]
async fn a_code_signs_in_once_and_registers_a_new_phone() {
    let app = TestApp::spawn().await;
    let phone = "13900001111";
    let sent = app.gql(SEND_CODE, json!({ "phone": phone })).await;
    assert!(sent.get("errors").is_none(), "{sent}");
    let expires = chrono::DateTime::parse_from_rfc3339(
        sent["data"]["sendLoginCode"]["expiresAt"].as_str().unwrap(),
    )
    .unwrap();
    let resend = chrono::DateTime::parse_from_rfc3339(
        sent["data"]["sendLoginCode"]["resendAt"].as_str().unwrap(),
    )
    .unwrap();
    assert_eq!((expires - resend).num_seconds(), 4 * 60, "{sent}");

    // The provider got the key, the number and the message with the code.
    let forms = app.sms.received.lock().unwrap().clone();
    assert_eq!(forms.len(), 1);
    assert_eq!(forms[0]["apikey"], SMS_API_KEY);
    assert_eq!(forms[0]["mobile"], phone);
    assert!(
        forms[0]["text"].starts_with("【商居同盟】"),
        "{:?}",
        forms[0]
    );
    let code = app.sms.last_code(phone);
    assert_eq!(app.count("sms_codes").await, 1);
    let stored: Vec<String> = <entity::sms_code::Entity as sea_orm::EntityTrait>::find()
        .all(&app.db)
        .await
        .unwrap()
        .into_iter()
        .map(|c| c.code_hash)
        .collect();
    assert!(
        !stored[0].contains(&code),
        "only an HMAC of the code is kept"
    );

    let users_before = app.count("users").await;
    let v = login_with(&app, phone, &code).await;
    assert!(v.get("errors").is_none(), "{v}");
    let user = &v["data"]["loginWithCode"]["user"];
    assert_eq!(user["roles"], json!(["RESIDENT"]));
    assert_eq!(user["phone"], phone);
    assert_eq!(user["displayName"], "居民1111");
    assert_eq!(app.count("users").await, users_before + 1);
    let token = v["data"]["loginWithCode"]["accessToken"].as_str().unwrap();
    let me = app.gql_as(token, ME, json!({})).await;
    assert_eq!(me["data"]["me"]["id"], user["id"]);

    // Good once.
    let again = login_with(&app, phone, &code).await;
    assert_eq!(code_of(&again), "UNAUTHENTICATED", "{again}");
    assert_eq!(app.count("users").await, users_before + 1);
    // A password account signs in to itself with a code: no second account.
    let known = app.new_user().phone("13900002222").insert().await;
    let code = app.send_code(&known.phone).await;
    let v = login_with(&app, &known.phone, &code).await;
    assert_eq!(
        v["data"]["loginWithCode"]["user"]["id"],
        json!(gid(entity::names::ObjectKind::User, known.id)),
        "{v}"
    );
    assert_eq!(app.count("users").await, users_before + 2);
}

fn code_of(v: &Value) -> String {
    code(v)
}

/// The answer with its times taken out.
fn shape(v: &Value) -> Value {
    let mut v = v.clone();
    if let Some(sent) = v["data"]["sendLoginCode"].as_object_mut() {
        for t in sent.values_mut() {
            *t = json!("<time>");
        }
    }
    v
}

#[tokio::test]
async fn registered_and_unregistered_phones_get_the_same_answers() {
    let app = TestApp::spawn().await;
    let known = app.new_user().phone("13900003333").insert().await;
    let unknown = "13900004444";
    let a = app.gql(SEND_CODE, json!({ "phone": known.phone })).await;
    let b = app.gql(SEND_CODE, json!({ "phone": unknown })).await;
    assert_eq!(shape(&a), shape(&b));
    assert!(a.get("errors").is_none(), "{a}");
    // Both were sent a code.
    assert_eq!(app.sms.texts_to(&known.phone).len(), 1);
    assert_eq!(app.sms.texts_to(unknown).len(), 1);
    // A wrong code, and a phone never sent one, answer alike.
    let wa = login_with(&app, &known.phone, &wrong(&app.sms.last_code(&known.phone))).await;
    let wb = login_with(&app, unknown, &wrong(&app.sms.last_code(unknown))).await;
    let never = login_with(&app, "13900005555", "123456").await;
    assert_eq!(wa, wb);
    assert_eq!(wa, never);
    assert_eq!(code_of(&wa), "UNAUTHENTICATED");
    // Too soon, alike.
    let a = app.gql(SEND_CODE, json!({ "phone": known.phone })).await;
    let b = app.gql(SEND_CODE, json!({ "phone": unknown })).await;
    assert_eq!(a, b);
    assert_eq!(code_of(&a), "RATE_LIMITED", "{a}");
}

#[tokio::test]
async fn five_wrong_codes_spend_it_and_an_expired_code_fails() {
    let app = TestApp::spawn().await;
    morning(&app);
    let phone = "13900006666";
    let code = app.send_code(phone).await;
    for _ in 0..5 {
        let v = login_with(&app, phone, &wrong(&code)).await;
        assert_eq!(code_of(&v), "UNAUTHENTICATED", "{v}");
    }
    let v = login_with(&app, phone, &code).await;
    assert_eq!(
        code_of(&v),
        "UNAUTHENTICATED",
        "the right code after 5 tries: {v}"
    );
    // A new code works, up to its fifth minute.
    app.clock.advance(chrono::Duration::seconds(61));
    let code = app.send_code(phone).await;
    app.clock.advance(chrono::Duration::seconds(5 * 60 - 2));
    let v = login_with(&app, phone, &code).await;
    assert!(v.get("errors").is_none(), "{v}");

    // Expired after 5 minutes.
    app.clock.advance(chrono::Duration::seconds(61));
    let code = app.send_code(phone).await;
    app.clock.advance(chrono::Duration::seconds(5 * 60 + 1));
    let v = login_with(&app, phone, &code).await;
    assert_eq!(code_of(&v), "UNAUTHENTICATED", "{v}");
}

#[tokio::test]
async fn racing_requests_sign_in_once_and_get_five_tries_at_most() {
    let app = TestApp::spawn().await;
    morning(&app);
    let phone = "13900007777";
    let code = app.send_code(phone).await;
    let same: Vec<_> = (0..20)
        .map(|_| {
            (
                None,
                LOGIN_WITH_CODE.to_owned(),
                json!({ "phone": phone, "code": code }),
            )
        })
        .collect();
    let answers = app.parallel(same).await;
    let t = tally(&answers);
    assert_eq!(t.get(""), Some(&1), "{t:?}");
    assert_eq!(t.get("UNAUTHENTICATED"), Some(&19), "{t:?}");
    assert_eq!(app.count("users").await, 1);

    // Forty racing guesses: five are compared, the code is spent, the right one fails after.
    app.clock.advance(chrono::Duration::seconds(61));
    let code = app.send_code(phone).await;
    let guesses: Vec<_> = (1..=40)
        .map(|i| {
            let n: u32 = code.parse().unwrap();
            let guess = format!("{:06}", (n + i) % 1_000_000);
            (
                None,
                LOGIN_WITH_CODE.to_owned(),
                json!({ "phone": phone, "code": guess }),
            )
        })
        .collect();
    let answers = app.parallel(guesses).await;
    assert_eq!(tally(&answers).get("UNAUTHENTICATED"), Some(&40));
    let newest = <entity::sms_code::Entity as sea_orm::EntityTrait>::find()
        .all(&app.db)
        .await
        .unwrap()
        .into_iter()
        .max_by_key(|c| c.id)
        .unwrap();
    assert_eq!(newest.tries, 5);
    let v = login_with(&app, phone, &code).await;
    assert_eq!(code_of(&v), "UNAUTHENTICATED", "{v}");
}

#[tokio::test]
async fn one_code_a_minute_and_the_newest_counts() {
    let app = TestApp::spawn().await;
    morning(&app);
    let phone = "13900008888";
    let first = app.send_code(phone).await;
    // Racing requests for one phone: one code is sent.
    app.clock.advance(chrono::Duration::seconds(61));
    let racing: Vec<_> = (0..20)
        .map(|_| (None, SEND_CODE.to_owned(), json!({ "phone": phone })))
        .collect();
    let answers = app.parallel(racing).await;
    let t = tally(&answers);
    assert_eq!(t.get(""), Some(&1), "{t:?}");
    assert_eq!(t.get("RATE_LIMITED"), Some(&19), "{t:?}");
    assert_eq!(app.sms.texts_to(phone).len(), 2);
    let limited = answers.iter().find(|a| code(a) == "RATE_LIMITED").unwrap();
    let wait = limited["errors"][0]["extensions"]["retryAfter"]
        .as_u64()
        .unwrap();
    assert!((1..=60).contains(&wait), "{limited}");
    // The earlier code no longer works; the newest does.
    let v = login_with(&app, phone, &first).await;
    assert_eq!(code_of(&v), "UNAUTHENTICATED", "{v}");
    let v = login_with(&app, phone, &app.sms.last_code(phone)).await;
    assert!(v.get("errors").is_none(), "{v}");
}

#[tokio::test]
async fn daily_caps_per_phone_and_per_address() {
    let app = TestApp::spawn().await;
    morning(&app);
    let phone = "13900009999";
    for _ in 0..shangju::domain::sms_code::DAILY_PER_PHONE {
        app.send_code(phone).await;
        app.clock.advance(chrono::Duration::seconds(61));
    }
    let v = app.gql(SEND_CODE, json!({ "phone": phone })).await;
    assert_eq!(code_of(&v), "RATE_LIMITED", "{v}");
    // Until midnight in Shanghai (16:00 UTC), some 14 hours on.
    let wait = v["errors"][0]["extensions"]["retryAfter"].as_u64().unwrap();
    assert!((13 * 3600..14 * 3600).contains(&wait), "{v}");
    // The next day the phone may have codes again.
    app.clock.advance(chrono::Duration::hours(15));
    app.send_code(phone).await;

    // Per address (every test request comes from 127.0.0.1), also when racing.
    let app = TestApp::spawn().await;
    morning(&app);
    let cap = shangju::domain::sms_code::DAILY_PER_ADDRESS as usize;
    let racing: Vec<_> = (0..cap + 20)
        .map(|i| {
            let phone = format!("1370000{i:04}");
            (None, SEND_CODE.to_owned(), json!({ "phone": phone }))
        })
        .collect();
    let t = tally(&app.parallel(racing).await);
    assert_eq!(t.get(""), Some(&cap), "{t:?}");
    assert_eq!(t.get("RATE_LIMITED"), Some(&20), "{t:?}");
    assert_eq!(app.sms.received.lock().unwrap().len(), cap);
}

#[tokio::test]
async fn a_provider_that_fails_sends_nothing_and_blocks_nothing() {
    let app = TestApp::spawn().await;
    let phone = "13900001212";
    for answer in [SmsAnswer::Refuse(33, "发送频率过快"), SmsAnswer::Broken] {
        app.sms.answer(answer);
        let v = app.gql(SEND_CODE, json!({ "phone": phone })).await;
        assert_eq!(code_of(&v), "UNAVAILABLE", "{v}");
        assert!(
            !v.to_string().contains("频率"),
            "the provider's words stay inside: {v}"
        );
        assert_eq!(app.count("sms_codes WHERE failed_at IS NULL").await, 0);
    }
    // No code to guess, and no minute to wait.
    let v = login_with(&app, phone, "000000").await;
    assert_eq!(code_of(&v), "UNAUTHENTICATED");
    app.sms.answer(SmsAnswer::Accept);
    let code = app.send_code(phone).await;
    // A later failure does not bring this code back once it is replaced.
    app.clock.advance(chrono::Duration::seconds(61));
    app.sms.answer(SmsAnswer::Broken);
    let v = app.gql(SEND_CODE, json!({ "phone": phone })).await;
    assert_eq!(code_of(&v), "UNAVAILABLE", "{v}");
    let v = login_with(&app, phone, &code).await;
    assert_eq!(code_of(&v), "UNAUTHENTICATED", "{v}");
    app.sms.answer(SmsAnswer::Accept);
    let code = app.send_code(phone).await;
    let v = login_with(&app, phone, &code).await;
    assert!(v.get("errors").is_none(), "{v}");
}

/// Staff do not sign in or recover by SMS (their accounts open with a password, or a reset
/// code an administrator hands over); a suspended account stays closed.
#[tokio::test]
async fn staff_and_suspended_accounts_do_not_open_by_sms() {
    let app = TestApp::spawn().await;
    morning(&app);
    let street = app.new_street("九棵树街道", &["新城嘉园"]).await;
    let staff = app.new_user().staff_of(&street).insert().await;
    let code = app.send_code(&staff.phone).await;
    let v = login_with(&app, &staff.phone, &code).await;
    assert_eq!(code_of(&v), "UNAUTHENTICATED", "{v}");
    app.clock.advance(chrono::Duration::seconds(61));
    let code = app.send_code(&staff.phone).await;
    let reset = "mutation($p: String!, $c: String!) {
      resetPasswordWithCode(input: { phone: $p, code: $c, newPassword: \"九棵树的早点铺子\" }) { accessToken } }";
    let v = app.gql(reset, json!({ "p": staff.phone, "c": code })).await;
    assert_eq!(code_of(&v), "UNAUTHENTICATED", "{v}");
    let v = app
        .gql(LOGIN, json!({ "phone": staff.phone, "password": PASSWORD }))
        .await;
    assert!(v.get("errors").is_none(), "the password still works: {v}");

    let suspended = app.new_user().insert().await;
    sea_orm::ConnectionTrait::execute_unprepared(
        &app.db,
        &format!(
            "UPDATE users SET disabled = TRUE WHERE id = {}",
            suspended.id
        ),
    )
    .await
    .unwrap();
    let code = app.send_code(&suspended.phone).await;
    let v = login_with(&app, &suspended.phone, &code).await;
    assert_eq!(code_of(&v), "INVALID_STATE", "{v}");
}

/// Someone registered a number before codes proved numbers (a server that sent none): the
/// number's holder takes the account over with their first code, and the other's password and
/// sessions end.
#[tokio::test]
async fn the_phones_holder_takes_over_an_account_registered_without_proof() {
    let app = TestApp::spawn().await;
    morning(&app);
    let squatted = app.new_user().insert().await;
    let code = app.send_code(&squatted.phone).await;
    let v = login_with(&app, &squatted.phone, &code).await;
    assert!(v.get("errors").is_none(), "{v}");
    let holder = v["data"]["loginWithCode"]["accessToken"]
        .as_str()
        .unwrap()
        .to_owned();
    let v = app.gql_as(&squatted.token, ME, json!({})).await;
    assert_eq!(
        code_of(&v),
        "UNAUTHENTICATED",
        "the earlier session ended: {v}"
    );
    let v = app
        .gql(
            LOGIN,
            json!({ "phone": squatted.phone, "password": PASSWORD }),
        )
        .await;
    assert_eq!(code_of(&v), "UNAUTHENTICATED", "the password ended: {v}");
    // Once proven, the next code signs in beside the holder's session.
    app.clock.advance(chrono::Duration::seconds(61));
    let code = app.send_code(&squatted.phone).await;
    let v = login_with(&app, &squatted.phone, &code).await;
    assert!(v.get("errors").is_none(), "{v}");
    let v = app.gql_as(&holder, ME, json!({})).await;
    assert!(v["data"]["me"]["id"].is_string(), "{v}");
}

#[tokio::test]
async fn without_an_sms_provider_codes_are_unavailable() {
    let app = TestApp::spawn_with(Spawn {
        without_sms: true,
        ..Spawn::default()
    })
    .await;
    let v = app.gql(SEND_CODE, json!({ "phone": "13900001313" })).await;
    assert_eq!(code_of(&v), "UNAVAILABLE", "{v}");
    assert_eq!(app.count("sms_codes").await, 0);
}

#[tokio::test]
async fn a_code_sets_a_password_and_confirms_leaving() {
    let app = TestApp::spawn().await;
    morning(&app);
    let phone = "13900001414";
    let code = app.send_code(phone).await;
    let v = login_with(&app, phone, &code).await;
    let token = v["data"]["loginWithCode"]["accessToken"]
        .as_str()
        .unwrap()
        .to_owned();
    // No password yet: none signs in.
    let v = app
        .gql(LOGIN, json!({ "phone": phone, "password": "" }))
        .await;
    assert_eq!(code_of(&v), "UNAUTHENTICATED");

    app.clock.advance(chrono::Duration::seconds(61));
    let code = app.send_code(phone).await;
    let reset = "mutation($p: String!, $c: String!, $n: String!) {
      resetPasswordWithCode(input: { phone: $p, code: $c, newPassword: $n }) { accessToken } }";
    let v = app
        .gql(
            reset,
            json!({ "p": phone, "c": wrong(&code), "n": "九棵树的早点铺子" }),
        )
        .await;
    assert_eq!(code_of(&v), "UNAUTHENTICATED", "{v}");
    let v = app
        .gql(
            reset,
            json!({ "p": phone, "c": code, "n": "九棵树的早点铺子" }),
        )
        .await;
    assert!(v.get("errors").is_none(), "{v}");
    let v = app
        .gql(
            LOGIN,
            json!({ "phone": phone, "password": "九棵树的早点铺子" }),
        )
        .await;
    assert!(v.get("errors").is_none(), "{v}");
    // Every earlier session ended.
    let me = app.gql_as(&token, ME, json!({})).await;
    assert_eq!(code_of(&me), "UNAUTHENTICATED", "{me}");
    let token = v["data"]["login"]["accessToken"]
        .as_str()
        .unwrap()
        .to_owned();

    // Leaving with a code: a wrong one changes nothing; neither or both is refused.
    let delete = "mutation($p: String, $c: String) { deleteMyAccount(password: $p, code: $c) }";
    app.clock.advance(chrono::Duration::seconds(61));
    let code = app.send_code(phone).await;
    for (vars, want) in [
        // Signed in, a wrong code is a wrong value: the client keeps its session.
        (json!({ "c": wrong(&code) }), "BAD_USER_INPUT"),
        (json!({}), "BAD_USER_INPUT"),
        (
            json!({ "c": code, "p": "九棵树的早点铺子" }),
            "BAD_USER_INPUT",
        ),
    ] {
        let v = app.gql_as(&token, delete, vars).await;
        assert_eq!(code_of(&v), want, "{v}");
    }
    let v = app.gql_as(&token, delete, json!({ "c": code })).await;
    assert_eq!(v["data"]["deleteMyAccount"], true, "{v}");
    assert_eq!(
        app.count("sms_codes").await,
        0,
        "the phone's codes go with it"
    );
    // The phone can start afresh.
    app.clock.advance(chrono::Duration::seconds(61));
    let code = app.send_code(phone).await;
    let v = login_with(&app, phone, &code).await;
    assert_eq!(
        v["data"]["loginWithCode"]["user"]["displayName"], "居民1414",
        "{v}"
    );
}
