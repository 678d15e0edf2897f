//! Limits per client address: sign-ins, registrations and redemptions from one address are
//! refused past their rate, whatever phone or code they name, with `RATE_LIMITED`, HTTP 429 and
//! `Retry-After`; other addresses are not affected; behind trusted proxies the address is the
//! one they saw, never one the client wrote.

use std::net::SocketAddr;
use std::num::NonZeroU32;
use std::time::Duration;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use serde_json::{Value, json};

use shangju::http::ratelimit::{Rate, RateLimits};

use crate::support::*;

fn per_hour(n: u32) -> Option<Rate> {
    Some(Rate {
        count: NonZeroU32::new(n).unwrap(),
        per: Duration::from_secs(3600),
    })
}

/// One GraphQL request from `peer`, with extra headers.
async fn from(
    app: &TestApp,
    peer: [u8; 4],
    headers: &[(&str, &str)],
    query: &str,
    vars: Value,
) -> Reply {
    let mut req = Request::post("/graphql").header("content-type", "application/json");
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    let mut req = req
        .body(Body::from(
            json!({ "query": query, "variables": vars }).to_string(),
        ))
        .unwrap();
    req.extensions_mut()
        .insert(axum::extract::ConnectInfo(SocketAddr::from((peer, 50000))));
    app.request(req).await
}

fn login_vars(i: usize) -> Value {
    json!({ "phone": format!("1390000{i:04}"), "password": "wrong password" })
}

#[tokio::test]
async fn sign_ins_from_one_address_are_limited_whatever_the_phone() {
    let app = TestApp::spawn_with(Spawn {
        rate_limits: RateLimits {
            sign_in: per_hour(5),
            ..RateLimits::default()
        },
        ..Spawn::default()
    })
    .await;
    let mut codes = Vec::new();
    for i in 0..30 {
        let reply = from(&app, [1, 2, 3, 4], &[], LOGIN, login_vars(i)).await;
        let c = code(&reply.json());
        if c == "RATE_LIMITED" {
            assert_eq!(reply.status, StatusCode::TOO_MANY_REQUESTS);
            let after: u64 = reply.headers["retry-after"]
                .to_str()
                .unwrap()
                .parse()
                .unwrap();
            assert!(after >= 1, "{after}");
            assert_eq!(reply.json()["errors"][0]["extensions"]["retryAfter"], after);
        }
        codes.push(c);
    }
    assert!(
        codes[..5].iter().all(|c| c == "UNAUTHENTICATED"),
        "{codes:?}"
    );
    assert!(codes[5..].iter().all(|c| c == "RATE_LIMITED"), "{codes:?}");
    // Refused before any password was checked or any phone's count moved.
    assert_eq!(app.count("login_throttles").await, 5);
    // Another address signs in as before.
    let other = from(&app, [5, 6, 7, 8], &[], LOGIN, login_vars(99)).await;
    assert_eq!(code(&other.json()), "UNAUTHENTICATED");
    assert_eq!(
        app.metric("shangju_rate_limit_refusals_total", &[("limit", "sign_in")])
            .await,
        25.0
    );
}

#[tokio::test]
async fn registrations_and_redemptions_from_one_address_are_limited() {
    let app = TestApp::spawn_with(Spawn {
        rate_limits: RateLimits {
            register: per_hour(3),
            redeem: per_hour(2),
            ..RateLimits::default()
        },
        ..Spawn::default()
    })
    .await;
    for i in 0..5 {
        let input = json!({ "phone": format!("1370000{i:04}"), "password": PASSWORD, "displayName": "新居民" });
        let vars = json!({ "input": app.proven(input).await });
        let reply = from(&app, [1, 2, 3, 4], &[], REGISTER, vars).await;
        let want = if i < 3 { "" } else { "RATE_LIMITED" };
        assert_eq!(code(&reply.json()), want, "{}", reply.json());
    }
    assert_eq!(app.count("users").await, 3);

    let street = app.new_street("九棵树街道", &["新城嘉园"]).await;
    let m = app.new_merchant(&street).insert().await;
    let coupon = app.new_coupon(&m).insert().await;
    let holder = app.new_user().street(street.id).insert().await;
    let bearer = format!("Bearer {}", m.owner.token);
    let mut codes = Vec::new();
    for i in 0..4 {
        let claim = app.new_claim(&coupon, &holder).await;
        let vars = json!({ "code": claim.code, "key": format!("scan-{i}") });
        let reply = from(
            &app,
            [1, 2, 3, 4],
            &[("authorization", &bearer)],
            REDEEM,
            vars,
        )
        .await;
        codes.push(code(&reply.json()));
    }
    assert_eq!(codes, ["", "", "RATE_LIMITED", "RATE_LIMITED"]);
    assert_eq!(
        app.count("coupon_claims WHERE status = 'REDEEMED'").await,
        2
    );
}

#[tokio::test]
async fn behind_trusted_proxies_the_address_is_the_one_they_saw() {
    let app = TestApp::spawn_with(Spawn {
        rate_limits: RateLimits {
            sign_in: per_hour(2),
            trusted_proxy_hops: 1,
            ..RateLimits::default()
        },
        ..Spawn::default()
    })
    .await;
    let proxy = [10, 0, 0, 1];
    // Two clients behind one proxy have buckets of their own.
    for client in ["203.0.113.7", "203.0.113.8"] {
        for i in 0..2 {
            let reply = from(
                &app,
                proxy,
                &[("x-forwarded-for", client)],
                LOGIN,
                login_vars(i),
            )
            .await;
            assert_eq!(code(&reply.json()), "UNAUTHENTICATED", "{client}");
        }
    }
    // A client cannot pick a fresh address by writing one: only the proxy's entry counts.
    for fake in ["198.51.100.1", "198.51.100.2"] {
        let header = format!("{fake}, 203.0.113.7");
        let reply = from(
            &app,
            proxy,
            &[("x-forwarded-for", &header)],
            LOGIN,
            login_vars(3),
        )
        .await;
        assert_eq!(code(&reply.json()), "RATE_LIMITED");
    }
}

/// Through the server's own accept loop, each request carries its peer's address, so the
/// limits hold for clients on real connections (not only for requests built by a test).
#[tokio::test]
async fn the_accept_loop_gives_every_request_its_address() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let app = TestApp::spawn_with(Spawn {
        rate_limits: RateLimits {
            sign_in: per_hour(2),
            ..RateLimits::default()
        },
        ..Spawn::default()
    })
    .await;
    let addr = app
        .listen(shangju::app::ConnectionLimits {
            header_timeout: Duration::from_secs(10),
            max_connections: 16,
        })
        .await;
    let mut statuses = Vec::new();
    for i in 0..3 {
        let body = json!({ "query": LOGIN, "variables": login_vars(i) }).to_string();
        let request = format!(
            "POST /graphql HTTP/1.1\r\nHost: shangju\r\nContent-Type: application/json\r\n\
             Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        );
        let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
        stream.write_all(request.as_bytes()).await.unwrap();
        let mut answer = String::new();
        stream.read_to_string(&mut answer).await.unwrap();
        statuses.push(answer.split(' ').nth(1).unwrap_or("").to_owned());
    }
    assert_eq!(statuses, ["200", "200", "429"]);
}
