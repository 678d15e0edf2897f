//! Recovery after storage faults (SQLite): a database file that could not be written while the
//! pool opened its connections, and a full disk. Writes then answer `UNAVAILABLE` with
//! `Retry-After` at once, `/readyz` says not ready while writes cannot begin, and writes work
//! again within seconds of the storage coming back, without a restart. Faulting the storage
//! takes root (`chattr +i` on ext4, mounting a small tmpfs); without it a test says so on its
//! output and checks nothing.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use axum::http::StatusCode;
use serde_json::{Value, json};

use crate::builders::*;
use crate::support::*;

/// Says why a test checks nothing here. In CI (`CI` set, as root on this project's machine)
/// a test that cannot fault the storage fails instead, so recovery is always checked there.
fn skip<T>(why: &str) -> Option<T> {
    assert!(
        std::env::var_os("CI").is_none(),
        "CI must be able to fault the storage: {why}"
    );
    eprintln!("skipped: {why}");
    None
}

/// A tmpfs mounted on a directory of its own, unmounted when dropped.
struct Tmpfs {
    dir: tempfile::TempDir,
}

impl Tmpfs {
    /// Mounts one of `size` (`16m`), or says why it cannot.
    fn mount(size: &str) -> Option<Tmpfs> {
        let dir = tempfile::tempdir().ok()?;
        let out = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
            .arg(dir.path())
            .output();
        match out {
            Ok(o) if o.status.success() => Some(Tmpfs { dir }),
            Ok(o) => skip(&format!(
                "cannot mount a tmpfs to fault the storage ({}); run the tests as root to check this",
                String::from_utf8_lossy(&o.stderr).trim()
            )),
            Err(e) => skip(&format!("no `mount` to fault the storage ({e})")),
        }
    }

    fn path(&self) -> PathBuf {
        self.dir.path().to_path_buf()
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        // Lazily: a pool may still be closing its files.
        let _ = Command::new("umount")
            .arg("-l")
            .arg(self.dir.path())
            .status();
    }
}

async fn login(app: &TestApp, who: &TestUser) -> (Reply, Duration) {
    let started = Instant::now();
    let body = json!({ "query": LOGIN, "variables": { "phone": who.phone, "password": PASSWORD } });
    let reply = app
        .post(body.to_string(), &[("content-type", "application/json")])
        .await;
    (reply, started.elapsed())
}

/// A refusal that says the storage is at fault and when to try again, promptly.
fn assert_unavailable(reply: &Reply, took: Duration) {
    let v: Value = reply.json();
    expect_code(&v, "UNAVAILABLE");
    assert_eq!(v["errors"][0]["extensions"]["retryAfter"], 5, "{v}");
    assert_eq!(reply.headers["retry-after"], "5");
    assert!(took < Duration::from_secs(2), "answered after {took:?}");
}

fn signed_in(reply: &Reply) -> bool {
    reply.json()["data"]["login"]["accessToken"].is_string()
}

/// The database file made immutable (`chattr +i`, which binds root too), undone when dropped.
struct Immutable(PathBuf);

impl Immutable {
    fn set(path: &Path) -> Option<Immutable> {
        let out = Command::new("chattr").arg("+i").arg(path).output();
        match out {
            Ok(o) if o.status.success() => Some(Immutable(path.to_path_buf())),
            Ok(o) => skip(&format!(
                "cannot make the database file immutable ({}); run the tests as root on ext4 to check this",
                String::from_utf8_lossy(&o.stderr).trim()
            )),
            Err(e) => skip(&format!(
                "no `chattr` to make the database file immutable ({e})"
            )),
        }
    }

    fn lift(&self) {
        let ok = Command::new("chattr")
            .arg("-i")
            .arg(&self.0)
            .status()
            .is_ok_and(|s| s.success());
        assert!(ok, "chattr -i");
    }
}

impl Drop for Immutable {
    fn drop(&mut self) {
        let _ = Command::new("chattr").arg("-i").arg(&self.0).status();
    }
}

#[tokio::test]
async fn writes_come_back_when_a_file_opened_read_only_is_writable_again() {
    let dir = tempfile::tempdir().unwrap();
    let spawn = || {
        TestApp::spawn_with(Spawn {
            sqlite_dir: Some(dir.path().to_path_buf()),
            ..Spawn::default()
        })
    };
    let first = spawn().await;
    let person = first.new_user().insert().await;
    first.db.clone().close().await.unwrap();
    drop(first);
    let Some(immutable) = Immutable::set(&dir.path().join("test.db")) else {
        return;
    };
    // The server starts while its file cannot be written: SQLite opens every connection for
    // reading only, and every write is refused at once as a storage fault, never as an
    // internal error.
    let app = spawn().await;
    // Not ready before any request has met the fault: the probe finds it.
    assert_eq!(
        app.get("/readyz").await.status,
        StatusCode::SERVICE_UNAVAILABLE
    );
    for _ in 0..4 {
        let (reply, took) = login(&app, &person).await;
        assert_unavailable(&reply, took);
    }
    assert_eq!(
        app.get("/readyz").await.status,
        StatusCode::SERVICE_UNAVAILABLE
    );

    immutable.lift();
    // Without a restart: the pool replaces the connections it opened read-only.
    let deadline = Instant::now() + Duration::from_secs(5);
    let mut tries = 0;
    loop {
        tries += 1;
        let (reply, _) = login(&app, &person).await;
        if signed_in(&reply) {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "writes never came back ({tries} tries): {}",
            String::from_utf8_lossy(&reply.body)
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert!(tries <= 2, "{tries} tries after the file became writable");
    assert_eq!(app.get("/readyz").await.status, StatusCode::OK);
}

/// Fills the filesystem of `dir` with a file of zeros until it is full; returns the file.
fn fill(dir: &Path) -> PathBuf {
    use std::io::Write;
    let path = dir.join("filler");
    let mut f = std::fs::File::create(&path).unwrap();
    let chunk = vec![0u8; 64 * 1024];
    while f.write_all(&chunk).is_ok() {}
    let small = [0u8; 512];
    while f.write_all(&small).is_ok() {}
    let _ = f.flush();
    path
}

#[tokio::test]
async fn a_full_disk_answers_unavailable_at_once_and_loses_nothing() {
    let Some(fs) = Tmpfs::mount("32m") else {
        return;
    };
    let app = TestApp::spawn_with(Spawn {
        sqlite_dir: Some(fs.path()),
        ..Spawn::default()
    })
    .await;
    let person = app.new_user().insert().await;
    let (reply, _) = login(&app, &person).await;
    assert!(signed_in(&reply));
    let filler = fill(&fs.path());

    // Each sign-in writes a session; once the database needs room the disk does not have,
    // every write is refused at once as retryable, and none leaves half of itself behind.
    let mut refused = 0;
    for _ in 0..200 {
        let before = app.count("refresh_tokens").await;
        let (reply, took) = login(&app, &person).await;
        if signed_in(&reply) {
            assert_eq!(app.count("refresh_tokens").await, before + 1);
            continue;
        }
        assert_unavailable(&reply, took);
        assert_eq!(app.count("refresh_tokens").await, before);
        refused += 1;
        if refused == 4 {
            break;
        }
    }
    assert_eq!(refused, 4, "the disk never filled up");

    std::fs::remove_file(filler).unwrap();
    let (reply, _) = login(&app, &person).await;
    assert!(
        signed_in(&reply),
        "writes work at once once there is room: {}",
        String::from_utf8_lossy(&reply.body)
    );
    assert_eq!(app.get("/readyz").await.status, StatusCode::OK);
    app.db.clone().close().await.unwrap();
}

/// A write the database refuses for want of a writable store is told apart from every other
/// error, on the engine the suite runs on: a read-only transaction's on PostgreSQL
/// (`read_only_sql_transaction`), a read-only connection's on SQLite (`SQLITE_READONLY`).
#[tokio::test]
async fn a_store_that_cannot_write_is_told_apart_on_either_engine() {
    use sea_orm::{ConnectionTrait, DbBackend, TransactionTrait};
    let app = TestApp::spawn().await;
    let write = "CREATE TABLE storage_probe (id INTEGER)";
    let refused = match app.db.get_database_backend() {
        DbBackend::Postgres => {
            let tx = app.db.begin().await.unwrap();
            tx.execute_unprepared("SET TRANSACTION READ ONLY")
                .await
                .unwrap();
            tx.execute_unprepared(write).await.unwrap_err()
        }
        _ => {
            let url = app.database_url.replace("mode=rwc", "mode=ro");
            let reader = sea_orm::Database::connect(url).await.unwrap();
            reader.execute_unprepared(write).await.unwrap_err()
        }
    };
    assert!(shangju::error::is_storage_fault(&refused), "{refused}");
    assert_eq!(
        shangju::error::AppError::from(refused).code(),
        "UNAVAILABLE"
    );
    // Nothing else is: a statement that is wrong, or a broken rule.
    let wrong = app
        .db
        .execute_unprepared("SELECT * FROM no_such_table")
        .await
        .unwrap_err();
    assert!(!shangju::error::is_storage_fault(&wrong), "{wrong}");
}
