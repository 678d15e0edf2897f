//! Slow clients and stalls: a client that trickles its headers or body is cut off, connections
//! beyond the limit wait their turn, and a request stuck behind a held lock ends with `TIMEOUT`
//! within the configured time instead of hanging.

use std::time::Duration;

use sea_orm::ConnectionTrait;
use serde_json::json;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use entity::names::ObjectKind;
use shangju::app::ConnectionLimits;

use crate::builders::*;
use crate::support::*;

/// What the server sends before it closes, or `None` if it is still silent after `wait`.
async fn read_until_closed(stream: &mut TcpStream, wait: Duration) -> Option<String> {
    let mut out = Vec::new();
    let read = tokio::time::timeout(wait, stream.read_to_end(&mut out)).await;
    match read {
        Ok(_) => Some(String::from_utf8_lossy(&out).into_owned()),
        Err(_) => None,
    }
}

#[tokio::test]
async fn a_client_that_stops_in_the_middle_of_its_headers_is_disconnected() {
    let app = TestApp::spawn().await;
    let addr = app
        .listen(ConnectionLimits {
            header_timeout: Duration::from_millis(300),
            max_connections: 16,
        })
        .await;
    let mut half = TcpStream::connect(addr).await.unwrap();
    half.write_all(b"GET /healthz HTTP/1.1\r\nHost: shangju\r\nX-Slow: ")
        .await
        .unwrap();
    // Closed long before the 45 s such a client held a connection.
    let answer = read_until_closed(&mut half, Duration::from_secs(10)).await;
    assert!(answer.is_some(), "the connection is still open");
    // A client that sends its request in time is served.
    let mut whole = TcpStream::connect(addr).await.unwrap();
    whole
        .write_all(b"GET /healthz HTTP/1.1\r\nHost: shangju\r\nConnection: close\r\n\r\n")
        .await
        .unwrap();
    let answer = read_until_closed(&mut whole, Duration::from_secs(10)).await;
    assert!(answer.unwrap().starts_with("HTTP/1.1 200"));
}

#[tokio::test]
async fn connections_beyond_the_limit_wait_for_a_free_one() {
    let app = TestApp::spawn().await;
    let addr = app
        .listen(ConnectionLimits {
            header_timeout: Duration::from_secs(30),
            max_connections: 1,
        })
        .await;
    let idle = TcpStream::connect(addr).await.unwrap();
    let mut waiting = TcpStream::connect(addr).await.unwrap();
    waiting
        .write_all(b"GET /healthz HTTP/1.1\r\nHost: shangju\r\nConnection: close\r\n\r\n")
        .await
        .unwrap();
    assert_eq!(
        read_until_closed(&mut waiting, Duration::from_millis(500)).await,
        None,
        "served while the only slot is taken"
    );
    drop(idle);
    let answer = read_until_closed(&mut waiting, Duration::from_secs(10)).await;
    assert!(answer.unwrap().starts_with("HTTP/1.1 200"));
}

#[tokio::test]
async fn a_trickled_body_is_cut_off() {
    let app = TestApp::spawn_with(Spawn {
        body_timeout: Some(Duration::from_millis(300)),
        ..Spawn::default()
    })
    .await;
    let addr = app
        .listen(ConnectionLimits {
            header_timeout: Duration::from_secs(30),
            max_connections: 16,
        })
        .await;
    let mut slow = TcpStream::connect(addr).await.unwrap();
    slow.write_all(
        b"POST /graphql HTTP/1.1\r\nHost: shangju\r\nContent-Type: application/json\r\n\
          Content-Length: 100\r\nConnection: close\r\n\r\n",
    )
    .await
    .unwrap();
    // One byte every 50 ms: each arrives well within 300 ms, the whole body would take 5 s.
    let mut answer = String::new();
    for _ in 0..100 {
        tokio::time::sleep(Duration::from_millis(50)).await;
        if slow.write_all(b" ").await.is_err() {
            break;
        }
        let mut buf = [0u8; 4096];
        if let Ok(Ok(n)) = tokio::time::timeout(Duration::from_millis(1), slow.read(&mut buf)).await
            && n > 0
        {
            answer.push_str(&String::from_utf8_lossy(&buf[..n]));
            let rest = read_until_closed(&mut slow, Duration::from_secs(10)).await;
            answer.push_str(&rest.unwrap_or_default());
            break;
        }
    }
    if answer.is_empty() {
        answer = read_until_closed(&mut slow, Duration::from_secs(10))
            .await
            .expect("the server still waits for the body");
    }
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
    assert!(answer.contains("\"code\""), "{answer}");
}

/// Another connection holds the lock the request needs; the request ends with `TIMEOUT`
/// (HTTP 503) within its time. Its execution runs on until the lock is gone, and then commits
/// nothing: an answer of `TIMEOUT` left nothing behind.
#[tokio::test]
async fn a_request_behind_a_held_lock_times_out() {
    let status = behind_a_held_lock(Spawn {
        request_timeout: Some(Duration::from_secs(1)),
        ..Spawn::default()
    })
    .await;
    assert_eq!(status, axum::http::StatusCode::SERVICE_UNAVAILABLE);
}

/// The same stall ended by the database's own timeout (PostgreSQL's `statement_timeout`,
/// SQLite's busy timeout) before the request's: also `TIMEOUT`, not an internal error, as the
/// error of the field that ran into it (HTTP 200, like every execution error).
#[tokio::test]
async fn a_statement_behind_a_held_lock_times_out() {
    let status = behind_a_held_lock(Spawn {
        statement_timeout: Some(Duration::from_millis(500)),
        ..Spawn::default()
    })
    .await;
    assert_eq!(status, axum::http::StatusCode::OK);
}

/// Runs a points adjustment while another connection holds the lock it needs: it must end with
/// `TIMEOUT`, post nothing even once the lock is gone, and go through when asked again.
/// Returns the HTTP status.
async fn behind_a_held_lock(spawn: Spawn) -> axum::http::StatusCode {
    let app = TestApp::spawn_with(spawn).await;
    let street = app.new_street("九棵树街道", &["新城嘉园"]).await;
    let staff = app.new_user().staff_of(&street).insert().await;
    let resident = app.new_user().street(street.id).insert().await;
    let mut holder_settings = shangju::db::DbSettings::new(app.database_url.clone());
    holder_settings.max_connections = 1;
    let holder = shangju::db::connect(&holder_settings).await.unwrap();
    let lock = if holder.get_database_backend() == sea_orm::DbBackend::Sqlite {
        "BEGIN IMMEDIATE"
    } else {
        "BEGIN; LOCK TABLE points_entries IN ACCESS EXCLUSIVE MODE"
    };
    holder.execute_unprepared(lock).await.unwrap();
    let adjust = "mutation($u: ID!) { adjustPoints(input: { userId: $u, amount: 5, reason: \"志愿服务\" }) { amount } }";
    let vars = json!({ "u": gid(ObjectKind::User, resident.id) });
    let body = json!({ "query": adjust, "variables": vars }).to_string();
    let bearer = format!("Bearer {}", staff.token);
    let reply = tokio::time::timeout(
        Duration::from_secs(20),
        app.post(
            body,
            &[
                ("content-type", "application/json"),
                ("authorization", bearer.as_str()),
            ],
        ),
    )
    .await
    .expect("the request hangs");
    assert_eq!(code(&reply.json()), "TIMEOUT", "{}", reply.json());
    holder.execute_unprepared("ROLLBACK").await.unwrap();
    // Whatever still ran of the request has ended.
    assert!(app.pool_settled().await, "connections still lent out");
    assert_eq!(app.count("points_entries").await, 0);
    // With the lock gone the same request goes through.
    let v = app.gql_by(Some(&staff), adjust, vars).await;
    assert_eq!(v["data"]["adjustPoints"]["amount"], 5, "{v}");
    reply.status
}
