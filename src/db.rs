//! Database connection, migrations and write transactions, the same on SQLite and PostgreSQL.

use std::path::Path;
use std::time::Duration;

use migration::{Migrator, MigratorTrait};
use sea_orm::{
    ConnectOptions, ConnectionTrait, Database, DatabaseConnection, DatabaseTransaction, DbBackend,
    DbErr, SqlErr, SqliteTransactionMode, TransactionOptions, TransactionTrait,
};

/// Where the embedded default keeps its data.
pub const DEFAULT_DATABASE_URL: &str = "sqlite://data/shangju.db?mode=rwc";

#[derive(Clone, Debug)]
pub struct DbSettings {
    pub url: String,
    pub max_connections: u32,
    pub acquire_timeout: Duration,
    /// How long one statement may run (PostgreSQL's `statement_timeout`) or wait for the
    /// database's lock (SQLite's busy timeout), so a stall ends in an error; none for
    /// migrations, which may wait their turn.
    pub statement_timeout: Option<Duration>,
    /// PostgreSQL only: the schema to use (tests give each test its own).
    pub schema: Option<String>,
    /// Where commands note storage faults, so that the pool replaces what they touched.
    pub storage: StorageFaults,
}

impl DbSettings {
    pub fn new(url: impl Into<String>) -> DbSettings {
        DbSettings {
            url: url.into(),
            max_connections: 10,
            acquire_timeout: Duration::from_secs(3),
            statement_timeout: Some(Duration::from_secs(5)),
            schema: None,
            storage: StorageFaults::default(),
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
    let busy_timeout = settings
        .statement_timeout
        .unwrap_or(Duration::from_secs(10));
    let mut opt = ConnectOptions::new(settings.url.clone());
    opt.max_connections(settings.max_connections)
        .min_connections(0)
        .connect_timeout(settings.acquire_timeout)
        .acquire_timeout(settings.acquire_timeout)
        .idle_timeout(Duration::from_secs(300))
        // sqlx tests each connection with a round trip when it goes back to the pool; testing
        // it again when it is lent is only worth it after a quiet second (a restarted database,
        // a dropped link), not for every statement of a busy server. As HikariCP does.
        .test_before_acquire_if_idle_for(Duration::from_secs(1))
        .sqlx_logging(false)
        .map_sqlx_sqlite_opts(move |o| {
            o.journal_mode(sqlx_sqlite_journal_wal())
                .synchronous(sea_orm::sqlx::sqlite::SqliteSynchronous::Normal)
                .busy_timeout(busy_timeout)
                .foreign_keys(true)
                .create_if_missing(true)
        });
    // A SQLite connection opened while its file could not be written stays read-only for
    // good (SQLite falls back to reading), and one that met an I/O error may not recover: the
    // pool replaces every connection opened before the last storage fault.
    if sqlite_file(&settings.url).is_some() {
        let storage = settings.storage.clone();
        opt.map_sqlx_sqlite_before_acquire(move |_conn, meta| {
            let fresh = !storage.opened_before_fault(meta.age);
            Box::pin(async move { Ok(fresh) })
        });
    }
    if let Some(t) = settings.statement_timeout {
        opt.statement_timeout(t);
    }
    if let Some(schema) = &settings.schema {
        opt.set_schema_search_path(schema.clone());
    }
    Database::connect(opt).await
}

fn sqlx_sqlite_journal_wal() -> sea_orm::sqlx::sqlite::SqliteJournalMode {
    sea_orm::sqlx::sqlite::SqliteJournalMode::Wal
}

/// The file of a SQLite URL: `sqlite://data/shangju.db?mode=rwc` → `data/shangju.db`; none
/// for an in-memory database.
fn sqlite_file(url: &str) -> Option<&str> {
    let path = url
        .trim_start_matches("sqlite://")
        .trim_start_matches("sqlite:")
        .split('?')
        .next()
        .unwrap_or("");
    (!path.is_empty() && path != ":memory:").then_some(path)
}

/// `sqlite://data/shangju.db?mode=rwc` → create `data/` so the first start just works.
fn create_sqlite_parent_dir(url: &str) {
    let Some(path) = sqlite_file(url) else {
        return;
    };
    if let Some(parent) = Path::new(path).parent()
        && !parent.as_os_str().is_empty()
    {
        let _ = std::fs::create_dir_all(parent);
    }
}

/// The PostgreSQL advisory lock that serialises migrations: servers and `migrate` commands
/// started at once take turns, and those that come later find nothing to do.
const MIGRATION_LOCK: i64 = 0x0053_4841_4e47_4a55; // "SHANGJU" in ASCII

pub async fn migrate(db: &DatabaseConnection) -> Result<(), DbErr> {
    Migrator::up(db, None).await
}

/// Applies pending migrations on a one-connection pool of its own. On PostgreSQL it holds an
/// advisory lock on that connection meanwhile, on SQLite an exclusive lock on
/// `<database>.migrate-lock`, so servers and `migrate` commands started at once take turns
/// instead of racing to create the same tables.
pub async fn migrate_locked(settings: &DbSettings) -> Result<(), DbErr> {
    // SQLite: an exclusive lock on a file beside the database, held until this returns.
    let _file_lock = match is_sqlite(&settings.url)
        .then(|| sqlite_file(&settings.url))
        .flatten()
    {
        Some(path) => {
            create_sqlite_parent_dir(&settings.url);
            let lock_path = format!("{path}.migrate-lock");
            let file = tokio::task::spawn_blocking(move || {
                let file = std::fs::OpenOptions::new()
                    .create(true)
                    .truncate(false)
                    .write(true)
                    .open(lock_path)?;
                file.lock()?;
                Ok::<_, std::io::Error>(file)
            })
            .await
            .map_err(|e| DbErr::Custom(format!("migration lock: {e}")))?
            .map_err(|e| DbErr::Custom(format!("migration lock: {e}")))?;
            Some(file)
        }
        None => None,
    };
    let mut one = settings.clone();
    one.max_connections = 1;
    one.statement_timeout = None;
    let migrating = connect(&one).await?;
    let postgres = migrating.get_database_backend() == DbBackend::Postgres;
    if postgres {
        migrating
            .execute_unprepared(&format!("SELECT pg_advisory_lock({MIGRATION_LOCK})"))
            .await?;
    }
    let result = migrate(&migrating).await;
    if postgres {
        migrating
            .execute_unprepared(&format!("SELECT pg_advisory_unlock({MIGRATION_LOCK})"))
            .await?;
    }
    migrating.close().await?;
    result
}

/// Migration names with whether each is applied.
pub async fn migration_status(db: &DatabaseConnection) -> Result<Vec<(String, bool)>, DbErr> {
    Ok(Migrator::get_migration_with_status(db)
        .await?
        .into_iter()
        .map(|m| {
            let applied = m.status() == migration::MigrationStatus::Applied;
            (m.name().to_owned(), applied)
        })
        .collect())
}

/// Migrates (under the lock), then opens the pool to serve with: every serving connection then
/// starts from the migrated schema (a SQLite connection opened before an `ALTER TABLE` can
/// otherwise carry the old table definition).
pub async fn connect_migrated(settings: &DbSettings) -> Result<DatabaseConnection, DbErr> {
    migrate_locked(settings).await?;
    connect(settings).await
}

/// Begins a transaction that will write. On SQLite it takes the write lock at BEGIN
/// (`BEGIN IMMEDIATE`), so two writers never both read and then fail to upgrade their lock;
/// the second waits for the busy timeout instead. PostgreSQL ignores the mode.
///
/// The BEGIN runs in a task of its own, which the caller's cancellation does not reach: sqlx
/// counts a transaction only once the server has answered its BEGIN, so a request cancelled
/// while waiting for that answer would give its connection back to the pool inside a
/// transaction that nobody rolls back (`tests/api/cancel.rs`). Left to finish, the task hands
/// back a transaction that rolls back when dropped.
pub async fn begin_write(db: &DatabaseConnection) -> Result<DatabaseTransaction, DbErr> {
    let db = db.clone();
    tokio::spawn(async move {
        db.begin_with_options(TransactionOptions {
            sqlite_transaction_mode: Some(SqliteTransactionMode::Immediate),
            ..Default::default()
        })
        .await
    })
    .await
    .map_err(|e| DbErr::Custom(format!("BEGIN did not finish: {e}")))?
}

/// The storage faults commands met (SQLite read-only or full, an I/O error; PostgreSQL's disk
/// full), and the writes that succeeded since: whether writes work now, for `/readyz`, and
/// which pooled connections to replace.
#[derive(Clone, Debug, Default)]
pub struct StorageFaults(std::sync::Arc<FaultTimes>);

#[derive(Debug)]
pub struct FaultTimes {
    origin: std::time::Instant,
    /// Milliseconds since `origin` (plus one; 0 for never) of the last fault and the last
    /// write that committed.
    fault: std::sync::atomic::AtomicU64,
    wrote: std::sync::atomic::AtomicU64,
}

impl Default for FaultTimes {
    fn default() -> Self {
        FaultTimes {
            origin: std::time::Instant::now(),
            fault: 0.into(),
            wrote: 0.into(),
        }
    }
}

impl StorageFaults {
    fn now(&self) -> u64 {
        u64::try_from(self.0.origin.elapsed().as_millis()).unwrap_or(u64::MAX - 1) + 1
    }

    /// Notes `err` if it is a storage fault.
    pub fn note(&self, err: &DbErr) {
        if crate::error::is_storage_fault(err) {
            self.0
                .fault
                .store(self.now(), std::sync::atomic::Ordering::Relaxed);
        }
    }

    /// Notes a write that committed.
    pub fn wrote(&self) {
        self.0
            .wrote
            .store(self.now(), std::sync::atomic::Ordering::Relaxed);
    }

    /// No write has committed yet, or a fault came after the last one: writes may not work
    /// now (a server started on a read-only file has met no fault yet).
    pub fn unproven(&self) -> bool {
        use std::sync::atomic::Ordering::Relaxed;
        let wrote = self.0.wrote.load(Relaxed);
        wrote == 0 || self.0.fault.load(Relaxed) > wrote
    }

    /// Whether a connection of this age was opened before the last fault (at or before it).
    fn opened_before_fault(&self, age: Duration) -> bool {
        let fault = self.0.fault.load(std::sync::atomic::Ordering::Relaxed);
        let age = u64::try_from(age.as_millis()).unwrap_or(u64::MAX);
        fault != 0 && self.now().saturating_sub(age) <= fault
    }
}

/// Whether a write can be made now, rolled back: on SQLite it rewrites the file header's
/// `user_version` with its own value (a connection opened read-only refuses even that, while
/// `BEGIN IMMEDIATE` alone passes); on PostgreSQL a transaction's round trips. For `/readyz`.
pub async fn probe_write(db: &DatabaseConnection) -> Result<(), DbErr> {
    let tx = begin_write(db).await?;
    if tx.get_database_backend() == DbBackend::Sqlite {
        let version: i64 = tx
            .query_one_raw(sea_orm::Statement::from_string(
                DbBackend::Sqlite,
                "PRAGMA user_version",
            ))
            .await?
            .map(|row| row.try_get_by_index(0))
            .transpose()?
            .unwrap_or(0);
        tx.execute_unprepared(&format!("PRAGMA user_version = {version}"))
            .await?;
    }
    tx.rollback().await
}

pub fn is_unique_violation(err: &DbErr) -> bool {
    matches!(err.sql_err(), Some(SqlErr::UniqueConstraintViolation(_)))
}

/// A write whose unique index is the rule: a violation is the caller's `CONFLICT` (or whatever
/// error it names), one check however close the racing write came; any other error is itself.
pub trait OrConflict<T> {
    fn or_conflict(
        self,
        conflict: impl FnOnce() -> crate::error::AppError,
    ) -> crate::error::AppResult<T>;
}

impl<T> OrConflict<T> for Result<T, DbErr> {
    fn or_conflict(
        self,
        conflict: impl FnOnce() -> crate::error::AppError,
    ) -> crate::error::AppResult<T> {
        self.map_err(|e| {
            if is_unique_violation(&e) {
                conflict()
            } else {
                e.into()
            }
        })
    }
}
