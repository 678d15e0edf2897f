//! The binary itself: export-schema without a database, production refusing a weak secret,
//! create-staff reading the password from standard input.

use std::io::Write;
use std::process::{Command, Stdio};

use serde_json::json;

use crate::support::*;

fn shangju() -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_shangju"));
    for var in ["SHANGJU_ENV", "SHANGJU_JWT_SECRET", "DATABASE_URL", "SHANGJU_DEMO"] {
        cmd.env_remove(var);
    }
    cmd
}

#[test]
fn export_schema_prints_the_sdl_without_a_database() {
    let out = shangju()
        .arg("export-schema")
        .env("DATABASE_URL", "postgres://nobody@127.0.0.1:1/none")
        .output()
        .unwrap();
    assert!(out.status.success());
    assert_eq!(String::from_utf8(out.stdout).unwrap(), shangju::graphql::sdl());
}

#[test]
fn production_refuses_to_start_without_a_strong_secret() {
    for secret in [None, Some("too-short")] {
        let mut cmd = shangju();
        cmd.args(["migrate"])
            .env("SHANGJU_ENV", "production")
            .env("DATABASE_URL", "sqlite::memory:");
        if let Some(s) = secret {
            cmd.env("SHANGJU_JWT_SECRET", s);
        }
        let out = cmd.output().unwrap();
        assert_eq!(out.status.code(), Some(2), "{secret:?}");
        assert!(String::from_utf8_lossy(&out.stderr).contains("SHANGJU_JWT_SECRET"));
    }
}

#[tokio::test]
async fn create_staff_reads_the_password_from_stdin() {
    let app = TestApp::spawn().await;
    let mut child = shangju()
        .args(["create-staff", "--street", "新街道", "--phone", "13300000001", "--name", "王干事", "--password-stdin"])
        .env("DATABASE_URL", &app.database_url)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(b"staff password 1\n")
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));

    let v = app
        .gql(LOGIN, json!({ "phone": "13300000001", "password": "staff password 1" }))
        .await;
    assert_eq!(v["data"]["login"]["user"]["roles"], json!(["STAFF"]), "{v}");
    let token = v["data"]["login"]["accessToken"].as_str().unwrap();
    let me = app.gql_as(token, "{ me { street { name } } }", json!({})).await;
    assert_eq!(me["data"]["me"]["street"]["name"], "新街道");
    assert_eq!(app.count("audit_entries").await, 1);

    let out = shangju()
        .args(["create-staff", "--street", "新街道", "--phone", "13300000001", "--name", "重复", "--password-stdin"])
        .env("DATABASE_URL", &app.database_url)
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert!(!out.status.success());
}
