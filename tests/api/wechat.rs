//! Signing in from the WeChat mini-program, against a local fake of WeChat's
//! `jscode2session`: a new WeChat user binds a phone with an SMS code, a linked one signs
//! straight in, only our tokens ever come back, and WeChat's error answers become ours.

use serde_json::{Value, json};

use entity::names::ObjectKind;

use crate::builders::*;
use crate::fakes::{WECHAT_APP_ID, WECHAT_SECRET};
use crate::support::*;

const WX_LOGIN: &str = "mutation($code: String!) { loginWithWeChat(code: $code) {
  __typename
  ... on AuthPayload { accessToken user { id phone } }
  ... on WeChatPhoneNeeded { bindingTicket expiresAt } } }";
const BIND: &str = "mutation($t: String!, $p: String!, $c: String!) {
  bindWeChatPhone(bindingTicket: $t, phone: $p, code: $c) { accessToken user { id phone roles } } }";

async fn wx_login(app: &TestApp, code: &str) -> (Value, String) {
    let body = json!({ "query": WX_LOGIN, "variables": { "code": code } }).to_string();
    let reply = app
        .post(body, &[("content-type", "application/json")])
        .await;
    let raw = String::from_utf8_lossy(&reply.body).into_owned();
    (reply.json(), raw)
}

#[tokio::test]
async fn a_new_wechat_user_binds_a_phone_then_signs_straight_in() {
    let app = TestApp::spawn().await;
    app.wechat
        .user("wx-code-1", "o6_bmjrPTlm6_2sgVt7hMZOPfL2M", Some("union-1"));
    let (v, raw) = wx_login(&app, "wx-code-1").await;
    let result = &v["data"]["loginWithWeChat"];
    assert_eq!(result["__typename"], "WeChatPhoneNeeded", "{v}");
    let ticket = result["bindingTicket"].as_str().unwrap().to_owned();
    // Only ours leaves the server: never WeChat's ids or session key.
    for secret in ["o6_bmjrPTlm6", "union-1", "sk-", WECHAT_SECRET] {
        assert!(!raw.contains(secret), "{secret} in {raw}");
    }
    // WeChat was asked as our mini-program.
    let calls = app.wechat.calls.lock().unwrap().clone();
    assert_eq!(calls.len(), 1);
    assert_eq!(calls[0]["appid"], WECHAT_APP_ID);
    assert_eq!(calls[0]["js_code"], "wx-code-1");
    assert_eq!(app.count("wechat_accounts").await, 0);

    let phone = "13900002020";
    let code = app.send_code(phone).await;
    // A wrong code keeps the ticket.
    let v = app
        .gql(BIND, json!({ "t": ticket, "p": phone, "c": "000000" }))
        .await;
    assert_eq!(code_of(&v), "UNAUTHENTICATED", "{v}");
    let body = json!({ "query": BIND, "variables": { "t": ticket, "p": phone, "c": code } });
    let reply = app
        .post(body.to_string(), &[("content-type", "application/json")])
        .await;
    let raw = String::from_utf8_lossy(&reply.body).into_owned();
    let v = reply.json();
    assert!(v.get("errors").is_none(), "{v}");
    assert!(
        !raw.contains("o6_bmjrPTlm6") && !raw.contains("sk-"),
        "{raw}"
    );
    let user_id = v["data"]["bindWeChatPhone"]["user"]["id"].clone();
    assert_eq!(
        v["data"]["bindWeChatPhone"]["user"]["roles"],
        json!(["RESIDENT"])
    );
    assert_eq!(app.count("wechat_accounts").await, 1);
    let links = app
        .count("audit_entries WHERE action = 'account.wechat_link'")
        .await;
    assert_eq!(links, 1, "the link is audited");

    // The ticket works once.
    let v = app
        .gql(BIND, json!({ "t": ticket, "p": phone, "c": code }))
        .await;
    assert_eq!(code_of(&v), "UNAUTHENTICATED", "{v}");
    // The next wx.login() code of the same WeChat user signs straight in.
    app.wechat
        .user("wx-code-2", "o6_bmjrPTlm6_2sgVt7hMZOPfL2M", Some("union-1"));
    let (v, raw) = wx_login(&app, "wx-code-2").await;
    assert_eq!(
        v["data"]["loginWithWeChat"]["__typename"], "AuthPayload",
        "{v}"
    );
    assert_eq!(v["data"]["loginWithWeChat"]["user"]["id"], user_id);
    assert!(
        !raw.contains("o6_bmjrPTlm6") && !raw.contains("sk-"),
        "{raw}"
    );
}

/// A WeChat user new to us binds `phone`; returns the access token, with the clock a minute on
/// so that the phone may have another code.
async fn bind_new(app: &TestApp, wx_code: &str, openid: &str, phone: &str) -> String {
    app.wechat.user(wx_code, openid, None);
    let (v, _) = wx_login(app, wx_code).await;
    let ticket = v["data"]["loginWithWeChat"]["bindingTicket"]
        .as_str()
        .unwrap()
        .to_owned();
    let code = app.send_code(phone).await;
    let v = app
        .gql(BIND, json!({ "t": ticket, "p": phone, "c": code }))
        .await;
    app.clock.advance(chrono::Duration::seconds(61));
    v["data"]["bindWeChatPhone"]["accessToken"]
        .as_str()
        .unwrap_or_else(|| panic!("{v}"))
        .to_owned()
}

fn code_of(v: &Value) -> String {
    code(v)
}

#[tokio::test]
async fn binding_a_registered_phone_links_its_account_and_tickets_expire() {
    let app = TestApp::spawn().await;
    let known = app.new_user().phone("13900002121").insert().await;
    app.wechat.user("c1", "openid-known", None);
    let (v, _) = wx_login(&app, "c1").await;
    let ticket = v["data"]["loginWithWeChat"]["bindingTicket"]
        .as_str()
        .unwrap()
        .to_owned();
    let code = app.send_code(&known.phone).await;
    let v = app
        .gql(BIND, json!({ "t": ticket, "p": known.phone, "c": code }))
        .await;
    assert_eq!(
        v["data"]["bindWeChatPhone"]["user"]["id"],
        json!(gid(ObjectKind::User, known.id)),
        "{v}"
    );
    let users = app.count("users").await;

    // A ticket is good for 10 minutes; a stale one does not cost the person their code.
    app.wechat.user("c2", "openid-other", None);
    let (v, _) = wx_login(&app, "c2").await;
    let ticket = v["data"]["loginWithWeChat"]["bindingTicket"]
        .as_str()
        .unwrap()
        .to_owned();
    app.clock.advance(chrono::Duration::minutes(11));
    let phone = "13900002222";
    let code = app.send_code(phone).await;
    let v = app
        .gql(BIND, json!({ "t": ticket, "p": phone, "c": code }))
        .await;
    assert_eq!(code_of(&v), "UNAUTHENTICATED", "{v}");
    assert_eq!(app.count("users").await, users);
    let v = app
        .gql(
            "mutation($p: String!, $c: String!) { loginWithCode(phone: $p, code: $c) { accessToken } }",
            json!({ "p": phone, "c": code }),
        )
        .await;
    assert!(v.get("errors").is_none(), "the code still works: {v}");
}

#[tokio::test]
async fn wechat_errors_become_ours() {
    let app = TestApp::spawn().await;
    app.wechat.answer(
        "limited",
        json!({ "errcode": 45011, "errmsg": "api minute-quota reach limit" }),
    );
    app.wechat
        .answer("busy", json!({ "errcode": -1, "errmsg": "system error" }));
    app.wechat.answer(
        "used",
        json!({ "errcode": 40163, "errmsg": "code been used" }),
    );
    app.wechat.answer(
        "risky",
        json!({ "errcode": 40226, "errmsg": "invalid user" }),
    );
    app.wechat.answer(
        "odd",
        json!({ "errcode": 40013, "errmsg": "invalid appid" }),
    );
    for (code, want) in [
        ("not-a-code-wechat-knows", "UNAUTHENTICATED"),
        ("used", "UNAUTHENTICATED"),
        ("limited", "RATE_LIMITED"),
        ("busy", "UNAVAILABLE"),
        ("risky", "FORBIDDEN"),
        ("odd", "UNAVAILABLE"),
        ("", "BAD_USER_INPUT"),
    ] {
        let (v, raw) = wx_login(&app, code).await;
        assert_eq!(code_of(&v), want, "{code}: {v}");
        assert!(v["data"]["loginWithWeChat"].is_null(), "{v}");
        assert!(!raw.contains("errcode") && !raw.contains("appid"), "{raw}");
    }
    assert_eq!(app.count("wechat_bindings").await, 0);

    let app = TestApp::spawn_with(Spawn {
        without_wechat: true,
        ..Spawn::default()
    })
    .await;
    let (v, _) = wx_login(&app, "any").await;
    assert_eq!(code_of(&v), "UNAVAILABLE", "{v}");
    assert!(app.wechat.calls.lock().unwrap().is_empty());
}

#[tokio::test]
async fn logging_out_everywhere_and_a_new_password_end_the_wechat_link() {
    let app = TestApp::spawn().await;
    for (round, end) in [
        "mutation { logoutEverywhere }",
        "mutation($p: String!, $c: String!) { resetPasswordWithCode(input: { phone: $p, code: $c, newPassword: \"九棵树的早点铺子\" }) { accessToken } }",
    ]
    .into_iter()
    .enumerate()
    {
        let phone = "13900002424";
        app.clock.advance(chrono::Duration::seconds(61));
        let token = bind_new(&app, &format!("c{round}a"), "openid-ending", phone).await;
        let code = app.send_code(phone).await;
        let v = app
            .gql_as(&token, end, json!({ "p": phone, "c": code }))
            .await;
        assert!(v.get("errors").is_none(), "{v}");
        assert_eq!(app.count("wechat_accounts").await, 0, "{end}");
        let again = format!("c{round}b");
        app.wechat.user(&again, "openid-ending", None);
        let (v, _) = wx_login(&app, &again).await;
        assert_eq!(v["data"]["loginWithWeChat"]["__typename"], "WeChatPhoneNeeded", "{v}");
    }
}

#[tokio::test]
async fn leaving_removes_the_wechat_link() {
    let app = TestApp::spawn().await;
    let phone = "13900002323";
    let token = bind_new(&app, "c1", "openid-leaver", phone).await;
    let code = app.send_code(phone).await;
    let v = app
        .gql_as(
            &token,
            "mutation($c: String) { deleteMyAccount(code: $c) }",
            json!({ "c": code }),
        )
        .await;
    assert_eq!(v["data"]["deleteMyAccount"], true, "{v}");
    assert_eq!(app.count("wechat_accounts").await, 0);
    // The same WeChat user is new to us again.
    app.wechat.user("c2", "openid-leaver", None);
    let (v, _) = wx_login(&app, "c2").await;
    assert_eq!(
        v["data"]["loginWithWeChat"]["__typename"], "WeChatPhoneNeeded",
        "{v}"
    );
}
