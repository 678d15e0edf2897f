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
use std::time::Instant;

use chrono::{DateTime, Utc};
use sea_orm::{
    ConnectionTrait, DatabaseTransaction, DbBackend, DbErr, ExecResult, QueryResult, Statement,
    TransactionTrait,
};

use crate::auth::{Auth, Viewer};
use crate::db::begin_write;
use crate::error::AppResult;
use crate::metrics::Tally;
use crate::rows::{Lease, Want};
use crate::state::AppState;

static ANONYMOUS: Auth = Auth::Anonymous;

pub struct Cx<'a> {
    state: &'a AppState,
    auth: &'a Auth,
    request_id: Option<&'a str>,
    now: DateTime<Utc>,
    txn: Option<Txn>,
    /// The context this one's transaction is a savepoint of.
    parent: Option<&'a Cx<'a>>,
    /// What this transaction did, counted in the metrics when the outermost one commits.
    tallies: Mutex<Vec<Tally>>,
    /// One connection for every statement, when the context was made [`Cx::on_one_connection`].
    lease: Option<Lease>,
}

/// Where a context's transaction runs.
enum Txn {
    /// On a connection of its own from the pool, through sea-orm.
    Pool(DatabaseTransaction),
    /// On the connection of the lease of the context it was begun from (or of that one's
    /// parent), and not yet ended.
    Leased,
}

impl<'a> Cx<'a> {
    /// A command of `auth` in request `request_id`; "now" is read from the state's clock once,
    /// so every row a command writes carries the same time.
    pub fn new(state: &'a AppState, auth: &'a Auth, request_id: Option<&'a str>) -> Cx<'a> {
        Cx {
            state,
            auth,
            request_id,
            now: state.clock.now(),
            txn: None,
            parent: None,
            tallies: Mutex::new(Vec::new()),
            lease: None,
        }
    }

    /// The same context, running its statements on one connection, taken at the first and
    /// given back when the context is dropped (see [`Lease`]): for a read of a page and what it
    /// primes, or a command that reads before it writes, whose [`Cx::write`] then begins on
    /// that connection too. Such a context must be the only way to the database while it
    /// lives.
    pub fn on_one_connection(mut self) -> Cx<'a> {
        if self.txn.is_none() {
            self.lease = Some(Lease::default());
        }
        self
    }

    /// The same context, on the connection `lease` holds (see [`Cx::on_one_connection`]).
    pub fn on_lease(mut self, lease: Lease) -> Cx<'a> {
        if self.txn.is_none() {
            self.lease = Some(lease);
        }
        self
    }

    /// The lease this context ran on, with its connection, for the next context to run on.
    pub fn into_lease(mut self) -> Option<Lease> {
        self.lease.take()
    }

    /// A command of the system itself (the command line, the demo loader): no viewer.
    pub fn system(state: &'a AppState) -> Cx<'a> {
        Cx::new(state, &ANONYMOUS, None)
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

    /// Begins writing: a write transaction on the pool, a savepoint inside a transaction. The
    /// new context borrows this one, so an outer transaction cannot be committed while an
    /// inner one is open.
    pub async fn write(&self) -> AppResult<Cx<'_>> {
        let txn = match (&self.txn, self.lease()) {
            (Some(Txn::Pool(outer)), _) => Txn::Pool(outer.begin().await?),
            (Some(Txn::Leased), Some(lease)) => {
                lease.begin(&self.state.db, &self.state.metrics).await?;
                Txn::Leased
            }
            (None, lease) => {
                let started = Instant::now();
                let began = match lease {
                    Some(lease) => lease
                        .begin(&self.state.db, &self.state.metrics)
                        .await
                        .map(|()| Txn::Leased),
                    None => begin_write(&self.state.db).await.map(Txn::Pool),
                };
                self.state
                    .metrics
                    .transaction_wait(started.elapsed(), began.is_ok());
                began?
            }
            (Some(Txn::Leased), None) => unreachable!("a leased transaction has its lease"),
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
        })
    }

    /// Commits what [`Cx::write`] began (releases the savepoint when nested). Dropping a
    /// context without committing rolls its changes back, and forgets what it tallied.
    pub async fn commit(mut self) -> AppResult<()> {
        let tallies = take(&self.tallies);
        match self.txn.take() {
            Some(Txn::Pool(txn)) => txn.commit().await?,
            Some(Txn::Leased) => {
                if let Some(lease) = self.lease() {
                    lease.commit().await?;
                }
            }
            None => {}
        }
        match self.parent {
            Some(parent) if parent.txn.is_some() => lock(&parent.tallies).extend(tallies),
            _ => self.state.metrics.apply(&tallies),
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

fn lock(tallies: &Mutex<Vec<Tally>>) -> std::sync::MutexGuard<'_, Vec<Tally>> {
    // A panic while holding this lock leaves a plain list; keep using it.
    tallies
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

fn take(tallies: &Mutex<Vec<Tally>>) -> Vec<Tally> {
    std::mem::take(&mut *lock(tallies))
}

// A leased transaction that ends without a commit rolls back (sea-orm's does so by itself).
impl Drop for Cx<'_> {
    fn drop(&mut self) {
        if let Some(Txn::Leased) = self.txn
            && let Some(lease) = self.lease()
        {
            lease.roll_back();
        }
    }
}

// Outside a transaction a command's statements go straight to sqlx: on the pool, or on the one
// connection of its lease.
impl crate::rows::Reads for Cx<'_> {
    fn direct(&self) -> Option<crate::rows::Direct<'_>> {
        match self.txn {
            Some(Txn::Pool(_)) => None,
            None | Some(Txn::Leased) => Some(crate::rows::Direct {
                db: &self.state.db,
                metrics: &self.state.metrics,
                lease: self.lease(),
            }),
        }
    }
}

#[async_trait::async_trait]
impl ConnectionTrait for Cx<'_> {
    fn get_database_backend(&self) -> DbBackend {
        match &self.txn {
            Some(Txn::Pool(t)) => t.get_database_backend(),
            _ => self.state.db.get_database_backend(),
        }
    }

    async fn execute_raw(&self, stmt: Statement) -> Result<ExecResult, DbErr> {
        match (&self.txn, self.leased()) {
            (Some(Txn::Pool(t)), _) => t.execute_raw(stmt).await,
            (_, Some(direct)) => direct.run(stmt, Want::Exec).await?.done(),
            _ => self.state.db.execute_raw(stmt).await,
        }
    }

    async fn execute_unprepared(&self, sql: &str) -> Result<ExecResult, DbErr> {
        match (&self.txn, self.leased()) {
            (Some(Txn::Pool(t)), _) => t.execute_unprepared(sql).await,
            (_, Some(direct)) => {
                let stmt = Statement::from_string(self.get_database_backend(), sql);
                direct.run(stmt, Want::Exec).await?.done()
            }
            _ => self.state.db.execute_unprepared(sql).await,
        }
    }

    async fn query_one_raw(&self, stmt: Statement) -> Result<Option<QueryResult>, DbErr> {
        match (&self.txn, self.leased()) {
            (Some(Txn::Pool(t)), _) => t.query_one_raw(stmt).await,
            (_, Some(direct)) => direct.run(stmt, Want::One).await?.row(),
            _ => self.state.db.query_one_raw(stmt).await,
        }
    }

    async fn query_all_raw(&self, stmt: Statement) -> Result<Vec<QueryResult>, DbErr> {
        match (&self.txn, self.leased()) {
            (Some(Txn::Pool(t)), _) => t.query_all_raw(stmt).await,
            (_, Some(direct)) => direct.run(stmt, Want::All).await?.rows(),
            _ => self.state.db.query_all_raw(stmt).await,
        }
    }
}

impl Cx<'_> {
    /// The lease this context's statements run on: its own, or, in a transaction begun on
    /// one (or one just ended), its parent's.
    fn lease(&self) -> Option<&Lease> {
        match (&self.lease, &self.txn, self.parent) {
            (Some(lease), _, _) => Some(lease),
            (None, Some(Txn::Pool(_)), _) | (None, _, None) => None,
            (None, _, Some(parent)) => parent.lease(),
        }
    }

    /// Direct statements on this context's lease, when it has one.
    fn leased(&self) -> Option<crate::rows::Direct<'_>> {
        use crate::rows::Reads;
        self.direct().filter(|d| d.lease.is_some())
    }
}
