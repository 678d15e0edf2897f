//! The command context: what every domain command runs with — the connection (the pool, or an
//! open write transaction), the viewer, the request id and the instant the command happens.
//!
//! A command that writes calls [`Cx::write`] and commits what it gets back. On the pool that
//! begins a write transaction (`BEGIN IMMEDIATE` on SQLite); inside a transaction it opens a
//! savepoint, so a command can run another's inside its own and both commit or roll back
//! together:
//!
//! ```text
//! pub async fn grant(cx: &Cx<'_>, …) -> AppResult<…> {
//!     let tx = cx.write().await?;
//!     entitlement::create(&tx, …).await?;   // its own `write()` is a savepoint of ours
//!     points::post(&tx, …).await?;
//!     tx.commit().await
//! }
//! ```

use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

use chrono::{DateTime, Utc};
use sea_orm::{
    ConnectionTrait, DatabaseTransaction, DbBackend, DbErr, ExecResult, QueryResult, Statement,
    TransactionTrait,
};

use crate::auth::{Auth, Viewer};
use crate::db::begin_write;
use crate::error::{AppError, AppResult};
use crate::metrics::Tally;
use crate::rows::{Cutoff, Direct, Lease, Reads, Want};
use crate::state::AppState;

static ANONYMOUS: Auth = Auth::Anonymous;

pub struct Cx<'a> {
    state: &'a AppState,
    auth: &'a Auth,
    request_id: Option<&'a str>,
    now: DateTime<Utc>,
    /// The write transaction (or savepoint) [`Cx::write`] began; `None` reads from the pool.
    txn: Option<DatabaseTransaction>,
    /// The context this one's transaction is a savepoint of.
    parent: Option<&'a Cx<'a>>,
    /// What this transaction did, counted in the metrics when the outermost one commits.
    tallies: Mutex<Vec<Tally>>,
    /// One connection for every read, when the context was made [`Cx::on_one_connection`].
    lease: Option<Lease>,
    /// A savepoint of this transaction is open: its statements and this one's share a
    /// connection, so a second one at once is refused.
    nested: AtomicBool,
    /// When the request's statements stop ([`Cx::until`]).
    cutoff: Cutoff,
}

impl<'a> Cx<'a> {
    /// A command of `auth` in request `request_id`, happening at `now`: the request's one
    /// instant, so every row a request writes and every rule it checks agree on the time.
    pub fn new(
        state: &'a AppState,
        auth: &'a Auth,
        request_id: Option<&'a str>,
        now: DateTime<Utc>,
    ) -> Cx<'a> {
        Cx {
            state,
            auth,
            request_id,
            now,
            txn: None,
            parent: None,
            tallies: Mutex::new(Vec::new()),
            lease: None,
            nested: AtomicBool::new(false),
            cutoff: Cutoff::default(),
        }
    }

    /// The same context for a request whose statements stop at `cutoff`. A request is never
    /// dropped midway (see [`Cutoff`]): past its cutoff it begins no statement, and its
    /// transaction rolls back instead of committing (`TIMEOUT`), so a request answered
    /// `TIMEOUT` changed nothing unless its COMMIT was already under way.
    pub fn until(mut self, cutoff: Cutoff) -> Cx<'a> {
        self.cutoff = cutoff;
        self
    }

    /// The same context, reading on one connection, taken at the first read and given back
    /// when the context is dropped or begins to write (see [`Lease`]): for a page and what it
    /// primes, or a command's checks before its transaction. Such a context must be the only
    /// way to the database while it reads.
    pub fn on_one_connection(mut self) -> Cx<'a> {
        if self.txn.is_none() {
            self.lease = Some(Lease::default());
        }
        self
    }

    /// A command of the system itself (the command line, the demo loader): no viewer, and
    /// now by the state's clock.
    pub fn system(state: &'a AppState) -> Cx<'a> {
        Cx::new(state, &ANONYMOUS, None, state.clock.now())
    }

    pub fn state(&self) -> &'a AppState {
        self.state
    }

    pub fn now(&self) -> DateTime<Utc> {
        self.now
    }

    /// The signed-in viewer, or `UNAUTHENTICATED`.
    pub fn viewer(&self) -> AppResult<&'a Viewer> {
        self.auth.viewer()
    }

    pub fn viewer_opt(&self) -> Option<&'a Viewer> {
        self.auth.viewer_opt()
    }

    /// The viewer's user id, for audit and event rows (none for the system).
    pub fn actor_id(&self) -> Option<i64> {
        self.viewer_opt().map(|v| v.user_id)
    }

    pub fn request_id(&self) -> Option<&'a str> {
        self.request_id
    }

    /// Begins writing: a write transaction on the pool, a savepoint inside a transaction. A
    /// context reading on one connection gives it back first, so a command never holds two.
    /// The new context borrows this one, so an outer transaction cannot be committed while an
    /// inner one is open.
    pub async fn write(&self) -> AppResult<Cx<'_>> {
        let txn = match &self.txn {
            Some(outer) => {
                // Two savepoints at once would interleave their statements on the one
                // connection and release each other: commands nest them, never run them side
                // by side.
                if self.nested.swap(true, Ordering::AcqRel) {
                    return Err(AppError::internal(
                        "two savepoints at once on one transaction",
                    ));
                }
                // Failed or cancelled before the savepoint began: the mark goes with it.
                let opening = Opening(&self.nested);
                let txn = outer.begin().await?;
                // From here the savepoint's own context clears the mark when it ends.
                std::mem::forget(opening);
                txn
            }
            None => {
                self.cutoff.check()?;
                if let Some(lease) = &self.lease {
                    lease.release().await;
                }
                let started = Instant::now();
                let began = self.noted(begin_write(&self.state.db).await);
                self.state
                    .metrics
                    .transaction_wait(started.elapsed(), began.is_ok());
                began?
            }
        };
        Ok(Cx {
            state: self.state,
            auth: self.auth,
            request_id: self.request_id,
            now: self.now,
            txn: Some(txn),
            parent: Some(self),
            tallies: Mutex::new(Vec::new()),
            lease: None,
            nested: AtomicBool::new(false),
            cutoff: self.cutoff.clone(),
        })
    }

    /// Commits what [`Cx::write`] began (releases the savepoint when nested). Dropping a
    /// context without committing rolls its changes back, and forgets what it tallied.
    pub async fn commit(mut self) -> AppResult<()> {
        let Some(txn) = self.txn.take() else {
            // Only `write` makes a context that commits; anything else is a bug to hear of.
            return Err(AppError::internal("commit without a transaction"));
        };
        let tallies = take(&self.tallies);
        let outermost = self.parent.is_none_or(|p| p.txn.is_none());
        if outermost && self.cutoff.reached() {
            txn.rollback().await?;
            return Err(AppError::Timeout);
        }
        self.noted(txn.commit().await)?;
        self.state.storage.wrote();
        if outermost {
            self.state.metrics.apply(&tallies);
        } else if let Some(parent) = self.parent {
            lock(&parent.tallies).extend(tallies);
        }
        Ok(())
    }

    /// Notes something this command did for the metrics; it counts once the work commits
    /// (at once when there is no transaction).
    pub fn tally(&self, t: Tally) {
        if self.txn.is_some() {
            lock(&self.tallies).push(t);
        } else {
            self.state.metrics.apply(&[t]);
        }
    }
}

/// A savepoint being opened: clears its transaction's mark if it never opens.
struct Opening<'c>(&'c AtomicBool);

impl Drop for Opening<'_> {
    fn drop(&mut self) {
        self.0.store(false, Ordering::Release);
    }
}

impl Drop for Cx<'_> {
    /// A savepoint ended (committed or rolled back): its transaction may open another.
    fn drop(&mut self) {
        if let Some(parent) = self.parent
            && parent.txn.is_some()
        {
            parent.nested.store(false, Ordering::Release);
        }
    }
}

fn lock(tallies: &Mutex<Vec<Tally>>) -> std::sync::MutexGuard<'_, Vec<Tally>> {
    // A panic while holding this lock leaves a plain list; keep using it.
    tallies
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

fn take(tallies: &Mutex<Vec<Tally>>) -> Vec<Tally> {
    std::mem::take(&mut *lock(tallies))
}

// Outside a transaction a command's reads go straight to sqlx: on the pool, or on the one
// connection of its lease.
impl Reads for Cx<'_> {
    fn direct(&self) -> Option<Direct<'_>> {
        self.txn.is_none().then(|| Direct {
            db: &self.state.db,
            metrics: &self.state.metrics,
            lease: self.lease.as_ref(),
            cutoff: &self.cutoff,
        })
    }
}

impl Cx<'_> {
    /// Statements on this context's lease, when it reads on one connection.
    fn leased(&self) -> Option<Direct<'_>> {
        self.direct().filter(|d| d.lease.is_some())
    }
}

impl Cx<'_> {
    /// Passes a statement's result on, noting a storage fault for the pool and `/readyz`.
    fn noted<T>(&self, done: Result<T, DbErr>) -> Result<T, DbErr> {
        if let Err(e) = &done {
            self.state.storage.note(e);
        }
        done
    }
}

#[async_trait::async_trait]
impl ConnectionTrait for Cx<'_> {
    fn get_database_backend(&self) -> DbBackend {
        match &self.txn {
            Some(t) => t.get_database_backend(),
            None => self.state.db.get_database_backend(),
        }
    }

    async fn execute_raw(&self, stmt: Statement) -> Result<ExecResult, DbErr> {
        self.cutoff.check()?;
        let done = async {
            match (&self.txn, self.leased()) {
                (Some(t), _) => t.execute_raw(stmt).await,
                (None, Some(direct)) => direct.run(stmt, Want::Exec).await?.done(),
                (None, None) => self.state.db.execute_raw(stmt).await,
            }
        }
        .await;
        self.noted(done)
    }

    async fn execute_unprepared(&self, sql: &str) -> Result<ExecResult, DbErr> {
        self.cutoff.check()?;
        let done = async {
            match (&self.txn, self.leased()) {
                (Some(t), _) => t.execute_unprepared(sql).await,
                (None, Some(direct)) => {
                    let stmt = Statement::from_string(self.get_database_backend(), sql);
                    direct.run(stmt, Want::Exec).await?.done()
                }
                (None, None) => self.state.db.execute_unprepared(sql).await,
            }
        }
        .await;
        self.noted(done)
    }

    async fn query_one_raw(&self, stmt: Statement) -> Result<Option<QueryResult>, DbErr> {
        self.cutoff.check()?;
        let done = async {
            match (&self.txn, self.leased()) {
                (Some(t), _) => t.query_one_raw(stmt).await,
                (None, Some(direct)) => direct.run(stmt, Want::One).await?.row(),
                (None, None) => self.state.db.query_one_raw(stmt).await,
            }
        }
        .await;
        self.noted(done)
    }

    async fn query_all_raw(&self, stmt: Statement) -> Result<Vec<QueryResult>, DbErr> {
        self.cutoff.check()?;
        let done = async {
            match (&self.txn, self.leased()) {
                (Some(t), _) => t.query_all_raw(stmt).await,
                (None, Some(direct)) => direct.run(stmt, Want::All).await?.rows(),
                (None, None) => self.state.db.query_all_raw(stmt).await,
            }
        }
        .await;
        self.noted(done)
    }
}
