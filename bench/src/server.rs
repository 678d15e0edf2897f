//! Starts the release `shangju` binary on a free port with a fresh database, and stops it.

use std::process::Stdio;
use std::time::Duration;

use tokio::process::{Child, Command};

/// The server's JWT secret, with which the bench signs its users' tokens (random-looking:
/// production refuses a guessable one).
pub const SECRET: &str = "Jq7vR2nX9kL4wP8sT1mZ6cB3hF0dY5gA";

pub struct Server {
    child: Child,
    pub port: u16,
    pub database_url: String,
    _dir: Option<std::path::PathBuf>,
}

impl Server {
    /// Starts `exe` (default: the `shangju` next to this benchmark).
    pub async fn start(db: &str, exe: Option<&std::path::Path>) -> Server {
        let port = free_port();
        let exe = exe.map(std::path::Path::to_path_buf).unwrap_or_else(|| {
            std::env::current_exe()
                .expect("own path")
                .with_file_name("shangju")
        });
        let (url, dir) = if db == "sqlite" {
            let dir = std::env::temp_dir().join(format!("shangju-bench-{port}"));
            std::fs::create_dir_all(&dir).expect("temp dir");
            (
                format!("sqlite://{}/bench.db?mode=rwc", dir.display()),
                Some(dir),
            )
        } else {
            (db.to_owned(), None)
        };
        // The server migrates at start; make sure the schema exists before it is ready.
        let child = Command::new(&exe)
            .arg("serve")
            .env("SHANGJU_BIND", format!("127.0.0.1:{port}"))
            .env("DATABASE_URL", &url)
            .env("SHANGJU_ENV", "production")
            .env("SHANGJU_JWT_SECRET", SECRET)
            // The bench counts statements from the metrics, on the API's address.
            .env("SHANGJU_METRICS_ON_API", "true")
            .env("SHANGJU_LOG_LEVEL", "warn")
            .env("SHANGJU_DB_MAX_CONNECTIONS", "16")
            .stdout(Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .unwrap_or_else(|e| {
                panic!(
                    "cannot start {}: {e} (run `cargo build --release` first)",
                    exe.display()
                )
            });
        let server = Server {
            child,
            port,
            database_url: url,
            _dir: dir,
        };
        wait_ready(&format!("http://127.0.0.1:{port}/readyz")).await;
        server
    }

    pub fn pid(&self) -> u32 {
        self.child.id().unwrap_or(0)
    }

    /// The number of SQL statements the server has run, from its metrics.
    pub async fn statements(&self, client: &reqwest::Client) -> f64 {
        let text = client
            .get(format!("http://127.0.0.1:{}/metrics", self.port))
            .send()
            .await
            .expect("scrape the metrics")
            .text()
            .await
            .unwrap_or_default();
        text.lines()
            .find_map(|l| l.strip_prefix("shangju_db_statement_duration_seconds_count "))
            .and_then(|v| v.trim().parse().ok())
            .unwrap_or(0.0)
    }

    /// A connection of the benchmark's own to the server's database, for fixtures and checks.
    pub async fn connect(&self) -> sea_orm::DatabaseConnection {
        let mut settings = shangju::db::DbSettings::new(self.database_url.clone());
        settings.max_connections = 16;
        shangju::db::connect(&settings).await.expect("connect")
    }

    pub fn graphql_url(&self) -> String {
        format!("http://127.0.0.1:{}/graphql", self.port)
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.start_kill();
        if let Some(dir) = &self._dir {
            let _ = std::fs::remove_dir_all(dir);
        }
    }
}

/// The raw floor (`shangju-bench floor`) as a process of its own, on the same database.
pub struct Floor {
    child: Child,
    pub url: String,
}

impl Floor {
    pub async fn start(database_url: &str) -> Floor {
        let port = free_port();
        let child = Command::new(std::env::current_exe().expect("own path"))
            .args(["--db", database_url, "floor", "--port", &port.to_string()])
            .stdout(Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .expect("start the floor");
        wait_ready(&format!("http://127.0.0.1:{port}/healthz")).await;
        Floor {
            child,
            url: format!("http://127.0.0.1:{port}/merchants"),
        }
    }

    pub fn pid(&self) -> u32 {
        self.child.id().unwrap_or(0)
    }
}

async fn wait_ready(url: &str) {
    let client = reqwest::Client::new();
    for _ in 0..200 {
        if let Ok(r) = client.get(url).send().await
            && r.status().is_success()
        {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("{url} did not become ready");
}

pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("free port")
}
