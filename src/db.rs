//! Database connection, migrations and write transactions, the same on SQLite and PostgreSQL.

use std::path::Path;
use std::time::Duration;

use migration::{Migrator, MigratorTrait};
use sea_orm::{
    ConnectOptions, Database, DatabaseConnection, DatabaseTransaction, DbErr, SqlErr,
    SqliteTransactionMode, TransactionOptions, TransactionTrait,
};

/// Where the embedded default keeps its data.
pub const DEFAULT_DATABASE_URL: &str = "sqlite://data/shangju.db?mode=rwc";

#[derive(Clone, Debug)]
pub struct DbSettings {
    pub url: String,
    pub max_connections: u32,
    pub acquire_timeout: Duration,
    /// PostgreSQL only: the schema to use (tests give each test its own).
    pub schema: Option<String>,
}

impl DbSettings {
    pub fn new(url: impl Into<String>) -> DbSettings {
        DbSettings {
            url: url.into(),
            max_connections: 10,
            acquire_timeout: Duration::from_secs(3),
            schema: None,
        }
    }
}

pub fn is_sqlite(url: &str) -> bool {
    url.starts_with("sqlite:")
}

/// Connects with short timeouts, so that a lost database fails requests fast and the pool
/// reconnects by itself when it returns. SQLite runs in WAL mode with a busy timeout, so readers
/// never block the writer and concurrent writers wait instead of failing.
pub async fn connect(settings: &DbSettings) -> Result<DatabaseConnection, DbErr> {
    if is_sqlite(&settings.url) {
        create_sqlite_parent_dir(&settings.url);
    }
    let mut opt = ConnectOptions::new(settings.url.clone());
    opt.max_connections(settings.max_connections)
        .min_connections(0)
        .connect_timeout(settings.acquire_timeout)
        .acquire_timeout(settings.acquire_timeout)
        .idle_timeout(Duration::from_secs(300))
        .sqlx_logging(false)
        .map_sqlx_sqlite_opts(|o| {
            o.journal_mode(sqlx_sqlite_journal_wal())
                .synchronous(sea_orm::sqlx::sqlite::SqliteSynchronous::Normal)
                .busy_timeout(Duration::from_secs(10))
                .foreign_keys(true)
                .create_if_missing(true)
        });
    if let Some(schema) = &settings.schema {
        opt.set_schema_search_path(schema.clone());
    }
    Database::connect(opt).await
}

fn sqlx_sqlite_journal_wal() -> sea_orm::sqlx::sqlite::SqliteJournalMode {
    sea_orm::sqlx::sqlite::SqliteJournalMode::Wal
}

/// `sqlite://data/shangju.db?mode=rwc` → create `data/` so the first start just works.
fn create_sqlite_parent_dir(url: &str) {
    let path = url
        .trim_start_matches("sqlite://")
        .trim_start_matches("sqlite:")
        .split('?')
        .next()
        .unwrap_or("");
    if path.is_empty() || path == ":memory:" {
        return;
    }
    if let Some(parent) = Path::new(path).parent()
        && !parent.as_os_str().is_empty()
    {
        let _ = std::fs::create_dir_all(parent);
    }
}

pub async fn migrate(db: &DatabaseConnection) -> Result<(), DbErr> {
    Migrator::up(db, None).await
}

/// Migrates on a pool of its own, then opens the pool to serve with: every serving connection
/// then starts from the migrated schema (a SQLite connection opened before an `ALTER TABLE` can
/// otherwise carry the old table definition).
pub async fn connect_migrated(settings: &DbSettings) -> Result<DatabaseConnection, DbErr> {
    let migrating = connect(settings).await?;
    migrate(&migrating).await?;
    migrating.close().await?;
    connect(settings).await
}

/// Begins a transaction that will write. On SQLite it takes the write lock at BEGIN
/// (`BEGIN IMMEDIATE`), so two writers never both read and then fail to upgrade their lock;
/// the second waits for the busy timeout instead. PostgreSQL ignores the mode.
pub async fn begin_write(db: &DatabaseConnection) -> Result<DatabaseTransaction, DbErr> {
    db.begin_with_options(TransactionOptions {
        sqlite_transaction_mode: Some(SqliteTransactionMode::Immediate),
        ..Default::default()
    })
    .await
}

pub fn is_unique_violation(err: &DbErr) -> bool {
    matches!(err.sql_err(), Some(SqlErr::UniqueConstraintViolation(_)))
}
