//! The binary itself: export-schema without a database, production refusing a weak secret,
//! create-staff reading the password from standard input.

use std::io::Write;
use std::process::{Command, Stdio};

use serde_json::json;

use crate::support::*;

fn shangju() -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_shangju"));
    for var in [
        "SHANGJU_ENV",
        "SHANGJU_JWT_SECRET",
        "DATABASE_URL",
        "SHANGJU_DEMO",
        "SHANGJU_NO_MIGRATE",
        "SHANGJU_BIND",
        "SHANGJU_METRICS_BIND",
        "SHANGJU_METRICS_ON_API",
        "SHANGJU_DEMO_IN_PRODUCTION",
        "SHANGJU_UNVERIFIED_REGISTRATION",
        "SHANGJU_CORS_ORIGINS",
    ] {
        cmd.env_remove(var);
    }
    cmd
}

/// Runs `cmd` with `input` on its standard input; what it printed and how it ended.
fn run_with_stdin(cmd: &mut Command, input: &[u8]) -> std::process::Output {
    let mut child = cmd
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(input).unwrap();
    child.wait_with_output().unwrap()
}

#[test]
fn export_schema_prints_the_sdl_without_a_database() {
    let out = shangju()
        .arg("export-schema")
        .env("DATABASE_URL", "postgres://nobody@127.0.0.1:1/none")
        .output()
        .unwrap();
    assert!(out.status.success());
    assert_eq!(
        String::from_utf8(out.stdout).unwrap(),
        shangju::graphql::sdl()
    );
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
    // The same phone twice: the second is refused.
    let create_staff = |name: &str, password: &[u8]| {
        run_with_stdin(
            shangju()
                .args([
                    "create-staff",
                    "--street",
                    "新街道",
                    "--phone",
                    "13300000001",
                    "--name",
                    name,
                    "--password-stdin",
                ])
                .env("DATABASE_URL", &app.database_url),
            password,
        )
    };
    let out = create_staff("王干事", b"staff password 1\n");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    let v = app
        .gql(
            LOGIN,
            json!({ "phone": "13300000001", "password": "staff password 1" }),
        )
        .await;
    assert_eq!(v["data"]["login"]["user"]["roles"], json!(["STAFF"]), "{v}");
    let token = v["data"]["login"]["accessToken"].as_str().unwrap();
    let me = app
        .gql_as(token, "{ me { street { name } } }", json!({}))
        .await;
    assert_eq!(me["data"]["me"]["street"]["name"], "新街道");
    assert_eq!(app.count("audit_entries").await, 1);

    let out = create_staff("重复", b"another password\n");
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("already registered"));
    assert_eq!(app.count("users").await, 1);
}

/// Serves on a free port with JSON logs, answers, logs no secrets, and exits cleanly on SIGTERM.
#[test]
fn serve_logs_no_secrets_and_stops_on_sigterm() {
    let dir = tempfile::tempdir().unwrap();
    let free_port = || {
        std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port()
    };
    let (port, metrics_port) = (free_port(), free_port());
    let log_path = dir.path().join("log");
    let mut child = shangju()
        .env(
            "DATABASE_URL",
            format!("sqlite://{}/s.db?mode=rwc", dir.path().display()),
        )
        .env("SHANGJU_BIND", format!("127.0.0.1:{port}"))
        .env("SHANGJU_METRICS_BIND", format!("127.0.0.1:{metrics_port}"))
        .env("SHANGJU_LOG_FORMAT", "json")
        .stdout(std::fs::File::create(&log_path).unwrap())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();

    let send = |port: u16, req: &str| -> String {
        use std::io::Read;
        for _ in 0..100 {
            if let Ok(mut s) = std::net::TcpStream::connect(("127.0.0.1", port)) {
                s.write_all(req.as_bytes()).unwrap();
                let mut out = String::new();
                s.read_to_string(&mut out).unwrap();
                return out;
            }
            std::thread::sleep(std::time::Duration::from_millis(100));
        }
        panic!("server never listened");
    };
    let post = |body: &str| {
        send(
            port,
            &format!(
                "POST /graphql HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                body.len()
            ),
        )
    };
    let scrape = |port: u16| {
        send(
            port,
            "GET /metrics HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n",
        )
    };
    let wrong = r#"{"query":"mutation { login(input: { phone: \"13800000001\", password: \"wrong-password-xyz\" }) { accessToken } }"}"#;
    assert!(post(wrong).contains("UNAUTHENTICATED"));
    let right = r#"{"query":"mutation SignIn { login(input: { phone: \"13800000001\", password: \"shangju-demo-2024\" }) { accessToken user { id } } }","operationName":"SignIn"}"#;
    let reply = post(right);
    let token = reply
        .split("\"accessToken\":\"")
        .nth(1)
        .and_then(|s| s.split('"').next())
        .expect("a token")
        .to_owned();
    // Metrics are on their own address, not the API's.
    let metrics = scrape(metrics_port);
    assert!(metrics.starts_with("HTTP/1.1 200"), "{metrics}");
    // Signing in is anonymous: its name makes no label of its own.
    let signed_in = [
        ("operation", "_other"),
        ("kind", "mutation"),
        ("outcome", "ok"),
    ];
    assert_eq!(
        metric_in(&metrics, "shangju_graphql_requests_total", &signed_in),
        1.0,
        "{metrics}"
    );
    assert!(scrape(port).starts_with("HTTP/1.1 404"));
    // Development made a secret and keeps it beside the database, for the next start.
    let kept = std::fs::read_to_string(dir.path().join("jwt-secret")).unwrap();
    assert_eq!(kept.trim().len(), 64, "{kept}");

    let status = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let mut exited = None;
    for _ in 0..100 {
        if let Some(s) = child.try_wait().unwrap() {
            exited = Some(s);
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    let exited = exited.unwrap_or_else(|| {
        child.kill().ok();
        panic!("did not stop on SIGTERM")
    });
    assert!(exited.success());

    let log = std::fs::read_to_string(&log_path).unwrap();
    assert!(log.contains("\"request_id\""), "{log}");
    // One line per request: operation, kind, status, time and error codes.
    let lines: Vec<serde_json::Value> = log
        .lines()
        .filter_map(|l| serde_json::from_str(l).ok())
        .filter(|v: &serde_json::Value| v["fields"]["message"] == "graphql request")
        .collect();
    assert_eq!(lines.len(), 2, "{log}");
    let failed = &lines[0]["fields"];
    assert_eq!(failed["kind"], "mutation", "{failed}");
    assert_eq!(failed["status"], 200);
    assert_eq!(failed["errors"], "UNAUTHENTICATED");
    assert!(failed["duration_ms"].as_f64().is_some());
    let signed_in = &lines[1]["fields"];
    assert_eq!(signed_in["operation"], "SignIn", "{signed_in}");
    assert_eq!(signed_in["errors"], "");
    assert!(
        log.contains("138****0001"),
        "the failed login is logged, masked: {log}"
    );
    for secret in [
        "13800000001",
        "wrong-password-xyz",
        "shangju-demo-2024",
        token.as_str(),
    ] {
        let in_log = log
            .lines()
            .filter(|l| l.starts_with('{'))
            .any(|l| l.contains(secret));
        assert!(!in_log, "{secret} appears in a log line");
    }
}

/// A request in flight when SIGTERM arrives is answered in full before the process exits.
#[test]
fn sigterm_lets_an_in_flight_request_finish() {
    use std::io::{BufRead, BufReader, Read};

    let dir = tempfile::tempdir().unwrap();
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let mut child = shangju()
        .env(
            "DATABASE_URL",
            format!("sqlite://{}/s.db?mode=rwc", dir.path().display()),
        )
        .env("SHANGJU_BIND", format!("127.0.0.1:{port}"))
        .env("SHANGJU_DEMO", "false")
        // Registration without an SMS code, as on a server that sends none.
        .env("SHANGJU_SMS_GATEWAY", "off")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut stream = None;
    for _ in 0..100 {
        if let Ok(s) = std::net::TcpStream::connect(("127.0.0.1", port)) {
            stream = Some(s);
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    let mut stream = stream.expect("server never listened");
    let request = |body: &str| {
        format!(
            "POST /graphql HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n{body}",
            body.len()
        )
    };
    // A first request on the connection makes sure the server has accepted it.
    stream
        .write_all(request(r#"{"query":"{ __typename }"}"#).as_bytes())
        .unwrap();
    let mut reader = BufReader::new(stream.try_clone().unwrap());
    let read_response = |reader: &mut BufReader<std::net::TcpStream>| -> String {
        let mut len = 0;
        loop {
            let mut line = String::new();
            reader.read_line(&mut line).unwrap();
            if line == "\r\n" {
                break;
            }
            if let Some(v) = line.to_ascii_lowercase().strip_prefix("content-length:") {
                len = v.trim().parse().unwrap();
            }
        }
        let mut body = vec![0; len];
        reader.read_exact(&mut body).unwrap();
        String::from_utf8(body).unwrap()
    };
    assert!(read_response(&mut reader).contains("QueryRoot"));

    // Half a request is on the wire when the signal arrives: the server has read its head and
    // is waiting for the body, so the request is in flight by construction, not by timing.
    let register = r#"{"query":"mutation { register(input: { phone: \"13912345678\", password: \"a long password\", displayName: \"陈文林\" }) { user { phone } } }"}"#;
    let whole = request(register);
    let (head, rest) = whole.split_at(whole.len() - register.len() / 2);
    stream.write_all(head.as_bytes()).unwrap();
    stream.flush().unwrap();
    std::thread::sleep(std::time::Duration::from_millis(300));
    assert!(
        Command::new("kill")
            .args(["-TERM", &child.id().to_string()])
            .status()
            .unwrap()
            .success()
    );
    std::thread::sleep(std::time::Duration::from_millis(500));
    assert!(
        child.try_wait().unwrap().is_none(),
        "the server exited with a request in flight"
    );
    stream.write_all(rest.as_bytes()).unwrap();
    let answer = read_response(&mut reader);
    assert!(answer.contains("13912345678"), "{answer}");
    let mut exited = None;
    for _ in 0..100 {
        if let Some(s) = child.try_wait().unwrap() {
            exited = Some(s);
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    let exited = exited.unwrap_or_else(|| {
        child.kill().ok();
        panic!("did not stop on SIGTERM")
    });
    assert!(exited.success());
}

fn run_migrate(url: &str, args: &[&str]) -> std::process::Output {
    shangju()
        .arg("migrate")
        .args(args)
        .env("DATABASE_URL", url)
        .output()
        .unwrap()
}

/// Three `migrate` commands started at once on one empty database all succeed (they take
/// turns), and `migrate --status` tells what is applied.
#[tokio::test]
async fn concurrent_migrations_take_turns_and_status_tells_what_is_applied() {
    let (url, _dir) = empty_database_url().await;
    let before = String::from_utf8(run_migrate(&url, &["--status"]).stdout).unwrap();
    assert!(
        before.contains("pending  m20260101_000001_accounts"),
        "{before}"
    );
    assert!(before.contains("0 applied"), "{before}");

    let children: Vec<_> = (0..3)
        .map(|_| {
            shangju()
                .arg("migrate")
                .env("DATABASE_URL", &url)
                .stdout(Stdio::null())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    for child in children {
        let out = child.wait_with_output().unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let after = String::from_utf8(run_migrate(&url, &["--status"]).stdout).unwrap();
    assert!(after.contains(" 0 pending"), "{after}");
    assert!(!after.contains("pending  m"), "{after}");
}

/// With `--no-migrate` the server refuses to start on a database with pending migrations, and
/// says what to do.
#[tokio::test]
async fn no_migrate_refuses_pending_migrations() {
    let (url, _dir) = empty_database_url().await;
    let out = shangju()
        .args(["--no-migrate", "serve"])
        .env("DATABASE_URL", &url)
        .env("SHANGJU_BIND", "127.0.0.1:0")
        .env("SHANGJU_DEMO", "false")
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("pending") && err.contains("shangju migrate"),
        "{err}"
    );
    let status = String::from_utf8(run_migrate(&url, &["--status"]).stdout).unwrap();
    assert!(
        status.contains("0 applied"),
        "nothing was migrated: {status}"
    );
}

/// A second server on a busy address fails at once, before it migrates or loads anything.
#[test]
fn a_busy_address_fails_before_the_database_is_touched() {
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = taken.local_addr().unwrap().port();
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("never.db");
    let out = shangju()
        .env(
            "DATABASE_URL",
            format!("sqlite://{}?mode=rwc", db.display()),
        )
        .env("SHANGJU_BIND", format!("127.0.0.1:{port}"))
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("cannot listen"), "{err}");
    assert!(
        !db.exists(),
        "the database was created before the address was checked"
    );
}

#[test]
fn an_origin_that_is_not_one_is_refused_at_start() {
    let out = shangju()
        .args(["migrate", "--status"])
        .env("DATABASE_URL", "sqlite::memory:")
        .env("SHANGJU_CORS_ORIGINS", "console.example.org")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("SHANGJU_CORS_ORIGINS"));
}

#[test]
fn persisted_only_needs_a_manifest() {
    let out = shangju()
        .args(["--persisted-only", "migrate", "--status"])
        .env("DATABASE_URL", "sqlite::memory:")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--persisted-queries"));
}

/// One request to a server on `port`, over plain HTTP/1.1; the JSON body of the answer.
fn post_graphql(
    port: u16,
    token: Option<&str>,
    query: &str,
    variables: serde_json::Value,
) -> serde_json::Value {
    use std::io::Read;
    let body = json!({ "query": query, "variables": variables }).to_string();
    let auth = token
        .map(|t| format!("authorization: Bearer {t}\r\n"))
        .unwrap_or_default();
    let request = format!(
        "POST /graphql HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\n{auth}\
         content-length: {}\r\nconnection: close\r\n\r\n{body}",
        body.len()
    );
    for _ in 0..150 {
        if let Ok(mut s) = std::net::TcpStream::connect(("127.0.0.1", port)) {
            s.write_all(request.as_bytes()).unwrap();
            let mut out = String::new();
            s.read_to_string(&mut out).unwrap();
            let json = out.split("\r\n\r\n").nth(1).unwrap_or("");
            return serde_json::from_str(json).unwrap_or_else(|_| panic!("not JSON: {out}"));
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    panic!("server never listened");
}

fn text<'a>(v: &'a serde_json::Value, path: &[&str]) -> &'a str {
    let mut at = &v["data"];
    for p in path {
        at = &at[*p];
    }
    at.as_str().unwrap_or_else(|| panic!("no {path:?} in {v}"))
}

/// A street starts from nothing: a production server with no demo, set up only through the
/// command line and the API, reaches a merchant whose published offer for seniors a resident
/// (who gave their birth date and community) claims and the merchant redeems.
#[tokio::test]
async fn a_street_starts_from_nothing_in_production() {
    let (database_url, _dir) = empty_database_url().await;
    let secret = "a-production-secret-of-at-least-32-bytes";
    let production = |cmd: &mut Command| {
        cmd.env("SHANGJU_ENV", "production")
            .env("SHANGJU_JWT_SECRET", secret)
            .env("DATABASE_URL", &database_url);
    };
    let mut migrate = shangju();
    production(migrate.arg("migrate"));
    assert!(migrate.status().unwrap().success());
    let mut staff_cmd = shangju();
    production(staff_cmd.args([
        "create-staff",
        "--street",
        "九棵树街道",
        "--phone",
        "13300000009",
        "--name",
        "王干事",
        "--password-stdin",
    ]));
    let out = run_with_stdin(&mut staff_cmd, b"staff first password\n");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let mut serve = shangju();
    // No SMS provider here: the operator opens registration to unproven phones explicitly.
    production(
        serve
            .env("SHANGJU_BIND", format!("127.0.0.1:{port}"))
            .env("SHANGJU_UNVERIFIED_REGISTRATION", "true"),
    );
    let mut server = serve
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let result = std::panic::catch_unwind(|| {
        let gql =
            |token: Option<&str>, q: &str, v: serde_json::Value| post_graphql(port, token, q, v);
        let sign_in = |phone: &str, password: &str| {
            let v = gql(None, LOGIN, json!({ "phone": phone, "password": password }));
            text(&v, &["login", "accessToken"]).to_owned()
        };
        let staff = sign_in("13300000009", "staff first password");
        let me = gql(Some(&staff), "{ me { isStreetAdmin roles } }", json!({}));
        assert_eq!(me["data"]["me"]["isStreetAdmin"], true, "{me}");
        let v = gql(
            Some(&staff),
            "mutation { createCommunity(name: \"新城嘉园\") { id status } }",
            json!({}),
        );
        let community = text(&v, &["createCommunity", "id"]).to_owned();
        let streets = gql(
            None,
            "{ streets { edges { node { communities { name } } } } }",
            json!({}),
        );
        assert_eq!(
            streets["data"]["streets"]["edges"][0]["node"]["communities"][0]["name"],
            "新城嘉园"
        );

        let register = |phone: &str, name: &str| {
            let v = gql(
                None,
                REGISTER,
                json!({ "input": { "phone": phone, "password": PASSWORD,
                "displayName": name, "communityId": community } }),
            );
            text(&v, &["register", "accessToken"]).to_owned()
        };
        let owner = register("13300000010", "李老板");
        let senior = register("13300000011", "张阿姨");
        let v = gql(
            Some(&owner),
            APPLY,
            json!({ "input": {
            "profile": { "name": "新城食堂", "category": "CANTEEN", "address": "新城嘉园 2 号楼",
                         "contactPhone": "13300000010", "description": "老人午餐" },
            "licenceNo": "91310000MA1K", "communityId": community } }),
        );
        let merchant = text(&v, &["applyMerchant", "id"]).to_owned();
        let v = gql(
            Some(&staff),
            REVIEW,
            json!({ "input": { "merchantId": merchant, "decision": "APPROVE" } }),
        );
        assert_eq!(text(&v, &["reviewMerchant", "status"]), "ACTIVE");
        let v = gql(
            Some(&owner),
            CREATE_COUPON,
            json!({ "input": {
            "merchantId": merchant, "title": "银发午餐 8 折", "kind": "PERCENT_OFF", "percentOff": 20,
            "totalStock": 10, "perUserLimit": 1,
            "validFrom": "2020-01-01T00:00:00Z", "validUntil": "2099-01-01T00:00:00Z",
            "audience": { "tags": ["SENIOR"], "minAge": 60 } } }),
        );
        let coupon = text(&v, &["createCoupon", "id"]).to_owned();
        let v = gql(
            Some(&owner),
            "mutation($id: ID!) { publishCoupon(id: $id) { status } }",
            json!({ "id": coupon }),
        );
        assert_eq!(text(&v, &["publishCoupon", "status"]), "ACTIVE");

        // Without a birth date the senior offer is not hers yet; with one, it is.
        let v = gql(Some(&senior), CLAIM, json!({ "id": coupon }));
        assert_eq!(code(&v), "NOT_ELIGIBLE", "{v}");
        let born = chrono::Utc::now().date_naive() - chrono::Duration::days(65 * 366);
        let v = gql(
            Some(&senior),
            "mutation($d: Date!) { updateProfile(input: { birthDate: $d }) { birthDate } }",
            json!({ "d": born.to_string() }),
        );
        assert_eq!(text(&v, &["updateProfile", "birthDate"]), born.to_string());
        let v = gql(Some(&senior), CLAIM, json!({ "id": coupon }));
        let code_text = text(&v, &["claimCoupon", "code"]).to_owned();
        let v = gql(
            Some(&owner),
            REDEEM,
            json!({ "code": code_text, "key": "till-1" }),
        );
        assert_eq!(text(&v, &["redeemCoupon", "status"]), "REDEEMED");
    });
    server.kill().ok();
    server.wait().ok();
    if let Err(panic) = result {
        std::panic::resume_unwind(panic);
    }
}

/// A district operator creates streets by name; a name is taken once.
#[tokio::test]
async fn create_street_makes_a_street_once() {
    let app = TestApp::spawn().await;
    let run = || {
        shangju()
            .args(["create-street", "浦江镇街道"])
            .env("DATABASE_URL", &app.database_url)
            .output()
            .unwrap()
    };
    let first = run();
    assert!(
        first.status.success(),
        "{}",
        String::from_utf8_lossy(&first.stderr)
    );
    let again = run();
    assert!(!again.status.success());
    assert!(String::from_utf8_lossy(&again.stderr).contains("exists"));
    let v = app
        .gql(
            "{ streets { totalCount edges { node { name timeZone } } } }",
            json!({}),
        )
        .await;
    assert_eq!(v["data"]["streets"]["totalCount"], 1, "{v}");
    assert_eq!(
        v["data"]["streets"]["edges"][0]["node"]["timeZone"],
        "Asia/Shanghai"
    );
    assert_eq!(
        app.count("audit_entries WHERE action = 'street.create'")
            .await,
        1
    );
}
