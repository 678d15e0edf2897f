//! Rows read by position instead of by column name, for the tables that lists read most.
//!
//! sea-orm reads a model column by column, by name: a hash lookup per column per row, and for
//! every NULL a formatted error message that it then drops. For a page of merchants with their
//! coupons that was about a fifth of the server's instructions per request. A [`Positional`]
//! model selects its columns in the order its reader takes them, and reads them by index,
//! through sqlx as sea-orm does, so values decode the same on SQLite and PostgreSQL.

use std::future::Future;
use std::ops::Deref;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

use sea_orm::sea_query::Values;
use sea_orm::{
    ConnAcquireErr, ConnectionTrait, DatabaseConnection, DatabaseTransaction, DbBackend, DbErr,
    EntityTrait, ExecResult, IdenStatic, Iterable, QueryResult, QuerySelect, QueryTrait,
    RuntimeErr, Select, Statement,
};
use sea_query_sqlx::SqlxValues;

use crate::error::{AppResult, PAST_CUTOFF};
use crate::metrics::Metrics;

/// A value read from a column by its position, and the value a [`Partial`] row holds, out of
/// reach, for a column that was not read.
pub trait Cell: Sized {
    fn read(row: &QueryResult, at: usize) -> Result<Self, DbErr>;
    fn blank() -> Self;
}

fn decode_error(e: sqlx::Error) -> DbErr {
    DbErr::Type(e.to_string())
}

// Unchecked: sqlx's check of the column's declared type against the Rust type was a twelfth of
// a small page's instructions. The columns are ours, and a test compares these rows with
// sea-orm's, which checks, on both engines.
macro_rules! sqlx_cell {
    ($t:ty, $blank:expr) => {
        impl Cell for $t {
            fn read(row: &QueryResult, at: usize) -> Result<Self, DbErr> {
                use sqlx::Row;
                if let Some(r) = row.try_as_pg_row() {
                    return r.try_get_unchecked::<$t, _>(at).map_err(decode_error);
                }
                if let Some(r) = row.try_as_sqlite_row() {
                    return r.try_get_unchecked::<$t, _>(at).map_err(decode_error);
                }
                row.try_get_by_index(at)
            }

            fn blank() -> Self {
                $blank
            }
        }
    };
}

/// Each type and its nullable form.
macro_rules! sqlx_cells {
    ($($t:ty),* $(,)?) => {$(
        sqlx_cell!($t, Default::default());
        sqlx_cell!(Option<$t>, None);
    )*};
}

sqlx_cells!(i64, i32, bool, String, chrono::DateTime<chrono::Utc>);

/// Enumerations stored as their string value, and their nullable form; a column not read
/// holds the first variant. Declared beside the reads that need them.
macro_rules! string_enum_cells {
    ($($t:ty),* $(,)?) => {$(
        impl $crate::rows::Cell for $t {
            fn read(row: &sea_orm::QueryResult, at: usize) -> Result<Self, sea_orm::DbErr> {
                <$t as sea_orm::ActiveEnum>::try_from_value(
                    &<String as $crate::rows::Cell>::read(row, at)?,
                )
            }

            fn blank() -> Self {
                <$t as sea_orm::Iterable>::iter()
                    .next()
                    .unwrap_or_else(|| unreachable!("an enumeration has a variant"))
            }
        }

        impl $crate::rows::Cell for Option<$t> {
            fn read(row: &sea_orm::QueryResult, at: usize) -> Result<Self, sea_orm::DbErr> {
                <Option<String> as $crate::rows::Cell>::read(row, at)?
                    .map(|v| <$t as sea_orm::ActiveEnum>::try_from_value(&v))
                    .transpose()
            }

            fn blank() -> Self {
                None
            }
        }
    )*};
}

/// Some of a model's columns, by their place in the entity's `Column` enumeration. A row read
/// with a set is a [`Partial`]: its other columns cannot be reached.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Columns(u64);

/// A whole row.
impl Default for Columns {
    fn default() -> Columns {
        Columns::ALL
    }
}

impl Columns {
    pub const ALL: Columns = Columns(u64::MAX);
    pub const NONE: Columns = Columns(0);

    /// The columns at these places (`Column::Title as u8`).
    pub const fn of(places: &[u8]) -> Columns {
        let mut bits = 0;
        let mut i = 0;
        while i < places.len() {
            bits |= 1u64 << places[i];
            i += 1;
        }
        Columns(bits)
    }

    pub const fn with(self, other: Columns) -> Columns {
        Columns(self.0 | other.0)
    }

    pub fn has(self, place: u8) -> bool {
        self.0 & (1u64 << place) != 0
    }

    /// The set of one column, found by name among its entity's.
    pub fn column<C: IdenStatic + Iterable>(column: C) -> Columns {
        C::iter()
            .position(|c| c.as_str() == column.as_str())
            .map_or(Columns::ALL, |at| Columns(1u64 << at))
    }

    /// Whether a row read with `self` holds every column of `other`.
    pub fn covers(self, other: Columns) -> bool {
        self.0 & other.0 == other.0
    }
}

/// The [`Columns`] of an entity, named: `columns![coupon::Column: Id, Title]`.
#[macro_export]
macro_rules! columns {
    ($column:ty: $($name:ident),* $(,)?) => {
        $crate::rows::Columns::of(&[$(<$column>::$name as u8),*])
    };
}

/// A row read with only some of its columns (a list reads what its selection needs). The
/// columns outside the set hold no value, so they are reached only through [`Partial::get`]
/// (or [`Partial::read`]), which answers an error, never a blank, for a column that was not read.
#[derive(Clone, Debug)]
pub struct Partial<M> {
    row: M,
    read: Columns,
}

impl<M> Partial<M> {
    /// A row read with all its columns.
    pub fn all(row: M) -> Partial<M> {
        Partial {
            row,
            read: Columns::ALL,
        }
    }

    /// The columns read.
    pub fn columns(&self) -> Columns {
        self.read
    }

    /// What `f` reads of the primary key, which every read includes ([`some`] reads the
    /// first column, the key of every entity of ours, whatever the set).
    pub fn key<T>(&self, f: impl FnOnce(&M) -> T) -> T {
        f(&self.row)
    }

    /// The row, if it was read whole.
    pub fn whole_row(&self) -> Option<&M> {
        (self.read == Columns::ALL).then_some(&self.row)
    }

    /// What `f` reads from the row, which needs the columns `need`: an internal error if they
    /// were not all read.
    pub fn get<'a, T>(&'a self, need: Columns, f: impl FnOnce(&'a M) -> T) -> Result<T, DbErr> {
        if self.read.covers(need) {
            Ok(f(&self.row))
        } else {
            Err(DbErr::Custom(format!(
                "a column outside the ones read ({:#x} of {:#x})",
                need.0, self.read.0
            )))
        }
    }

    /// The same columns of another form of the row (an `Arc` of it).
    pub fn map<N>(self, f: impl FnOnce(M) -> N) -> Partial<N> {
        Partial {
            row: f(self.row),
            read: self.read,
        }
    }
}

impl<M: Deref> Partial<M> {
    /// What `f` reads of the row behind `M` (an `Arc` of a model), which needs the columns
    /// `need`: an internal error, logged, if they were not all read.
    pub fn read<'a, T>(
        &'a self,
        need: Columns,
        f: impl FnOnce(&'a M::Target) -> T,
    ) -> AppResult<T> {
        Ok(self.get(need, |m| f(m))?)
    }

    /// The whole row, for a field outside the columns a list reads by need (selecting such a
    /// field makes the list read them all).
    pub fn whole(&self) -> AppResult<&M::Target> {
        self.read(Columns::ALL, |m| m)
    }
}

/// A model read by position: [`Positional::columns`] are selected in the order
/// [`Positional::decode`] reads them.
pub trait Positional: Sized {
    type Entity: EntityTrait;
    /// The columns of `set`, in reading order.
    fn columns(set: Columns) -> Vec<<Self::Entity as EntityTrait>::Column>;
    /// A row selected with `columns(set)`.
    fn decode(row: &QueryResult, set: Columns) -> Result<Self, DbErr>;
}

/// Declares a model's positional reader, beside the domain module that reads it: each field
/// with the column it is read from, in one list, so the selected order and the read order
/// cannot drift apart.
macro_rules! positional {
    ($entity:ty, $model:ty { $($field:ident: $column:ident),* $(,)? }) => {
        impl $crate::rows::Positional for $model {
            type Entity = $entity;

            fn columns(
                set: $crate::rows::Columns,
            ) -> Vec<<$entity as sea_orm::EntityTrait>::Column> {
                type C = <$entity as sea_orm::EntityTrait>::Column;
                [$(C::$column),*]
                    .into_iter()
                    .filter(|c| set.has(*c as u8))
                    .collect()
            }

            fn decode(
                row: &sea_orm::QueryResult,
                set: $crate::rows::Columns,
            ) -> Result<Self, sea_orm::DbErr> {
                use $crate::rows::Cell;
                type C = <$entity as sea_orm::EntityTrait>::Column;
                let mut at = 0usize..;
                let mut cell = |column: C| -> Option<usize> {
                    set.has(column as u8).then(|| at.next().unwrap_or_default())
                };
                Ok(Self {
                    $($field: match cell(C::$column) {
                        Some(i) => Cell::read(row, i)?,
                        None => Cell::blank(),
                    },)*
                })
            }
        }
    };
}

/// Runs `select` (its filters, order and limit kept; its columns replaced) and reads the rows
/// by position.
pub async fn all<M: Positional>(
    conn: &impl Reads,
    select: Select<M::Entity>,
) -> Result<Vec<M>, DbErr> {
    let rows = some(conn, select, Columns::ALL).await?;
    Ok(rows.into_iter().map(|p| p.row).collect())
}

/// [`all`], reading only the columns of `set` (see [`Columns`]).
pub async fn some<M: Positional>(
    conn: &impl Reads,
    select: Select<M::Entity>,
    set: Columns,
) -> Result<Vec<Partial<M>>, DbErr> {
    // The key, first in every entity's columns, so that a partial row always names its row.
    let set = set.with(Columns::of(&[0]));
    let statement = select
        .select_only()
        .columns(M::columns(set))
        .build(conn.get_database_backend());
    query(conn, statement)
        .await?
        .iter()
        .map(|row| {
            Ok(Partial {
                row: M::decode(row, set)?,
                read: set,
            })
        })
        .collect()
}

/// Runs `statement` and returns its rows, for a caller that reads them by position: a model's
/// columns first ([`Positional::decode`]), then whatever it joined ([`Cell::read`]).
pub async fn query(conn: &impl Reads, statement: Statement) -> Result<Vec<QueryResult>, DbErr> {
    match conn.direct() {
        Some(direct) => direct.run(statement, Want::All).await?.rows(),
        None => conn.query_all_raw(statement).await,
    }
}

/// A connection that reads through sqlx itself when it is a pool rather than a transaction.
pub trait Reads: ConnectionTrait {
    /// Where reads go when not through sea-orm; `None` in a transaction.
    fn direct(&self) -> Option<Direct<'_>> {
        None
    }
}

impl Reads for DatabaseConnection {}
impl Reads for DatabaseTransaction {}

/// When a request's statements stop: past its deadline, or once nobody waits for its answer.
/// A statement under way always runs to its end, since dropping one midway can strand its
/// pooled connection (sqlx's connections are not safe to cancel, and its pool checks a
/// returned one without a time limit); the next one does not begin.
#[derive(Clone, Default)]
pub struct Cutoff(Option<Arc<CutoffAt>>);

struct CutoffAt {
    deadline: tokio::time::Instant,
    reached: AtomicBool,
}

impl Cutoff {
    pub fn at(deadline: tokio::time::Instant) -> Cutoff {
        Cutoff(Some(Arc::new(CutoffAt {
            deadline,
            reached: AtomicBool::new(false),
        })))
    }

    /// Nobody waits for the answer any more.
    pub fn reach(&self) {
        if let Some(at) = &self.0 {
            at.reached.store(true, Ordering::Release);
        }
    }

    pub fn reached(&self) -> bool {
        self.0.as_ref().is_some_and(|at| {
            at.reached.load(Ordering::Acquire) || tokio::time::Instant::now() >= at.deadline
        })
    }

    /// For the start of a statement: once the cutoff is reached, an error that answers
    /// `TIMEOUT`.
    pub fn check(&self) -> Result<(), DbErr> {
        if self.reached() {
            Err(DbErr::Custom(PAST_CUTOFF.into()))
        } else {
            Ok(())
        }
    }
}

/// Statements run on the pool, each on whatever connection it lends, or, with a [`Lease`], all
/// on the one connection the lease holds. Counted and timed in `metrics`.
#[derive(Clone, Copy)]
pub struct Direct<'a> {
    pub db: &'a DatabaseConnection,
    pub metrics: &'a Metrics,
    pub lease: Option<&'a Lease>,
    pub cutoff: &'a Cutoff,
}

/// One pooled connection that a context's reads share: taken at its first statement and given
/// back when the lease is dropped. sqlx tests a connection with a round trip each time it goes
/// back to the pool (and again when it is lent); a page and the rows it primes on one
/// connection save two of them, and PostgreSQL two wake-ups.
///
/// A lease only reads: no transaction ever begins on it, so it can never go back to the pool
/// inside one. A context that writes gives its lease back first and takes its transaction from
/// the pool (see `Cx::write`). Whoever holds a lease must run every statement through it until
/// it is dropped: waiting for a second connection while holding one is how a full pool
/// deadlocks.
#[derive(Default)]
pub struct Lease {
    held: tokio::sync::Mutex<Slot>,
}

#[derive(Default)]
enum Slot {
    /// Nothing read yet.
    #[default]
    Empty,
    Held(Held),
    /// Given back before a write: reads go to the pool from now on.
    Released,
}

impl Lease {
    /// Gives the connection back to the pool, once any read on it has finished; the reads
    /// after this go to the pool.
    pub async fn release(&self) {
        *self.held.lock().await = Slot::Released;
    }
}

enum Held {
    Postgres(sqlx::pool::PoolConnection<sqlx::Postgres>),
    Sqlite(sqlx::pool::PoolConnection<sqlx::Sqlite>),
}

impl Held {
    async fn take(db: &DatabaseConnection, metrics: &Metrics) -> Result<Held, DbErr> {
        metrics.lease_taken();
        Ok(match db.get_database_backend() {
            DbBackend::Postgres => Held::Postgres(
                Box::pin(db.get_postgres_connection_pool().acquire())
                    .await
                    .map_err(db_err)?,
            ),
            _ => Held::Sqlite(
                Box::pin(db.get_sqlite_connection_pool().acquire())
                    .await
                    .map_err(db_err)?,
            ),
        })
    }
}

/// What a statement is run for.
#[derive(Clone, Copy)]
pub enum Want {
    All,
    One,
    Exec,
}

/// What it gave.
pub enum Ran {
    Rows(Vec<QueryResult>),
    Row(Option<QueryResult>),
    Done(ExecResult),
}

impl Ran {
    pub fn rows(self) -> Result<Vec<QueryResult>, DbErr> {
        match self {
            Ran::Rows(rows) => Ok(rows),
            Ran::Row(row) => Ok(row.into_iter().collect()),
            Ran::Done(_) => Err(DbErr::Custom("a statement run for rows gave none".into())),
        }
    }

    pub fn row(self) -> Result<Option<QueryResult>, DbErr> {
        match self {
            Ran::Row(row) => Ok(row),
            other => other.rows().map(|rows| rows.into_iter().next()),
        }
    }

    pub fn done(self) -> Result<ExecResult, DbErr> {
        match self {
            Ran::Done(done) => Ok(done),
            _ => Err(DbErr::Custom(
                "a statement run for its effect gave rows".into(),
            )),
        }
    }
}

/// Runs one statement on `$conn` (a pool or a connection) of either engine. sqlx's futures are
/// boxed: inline, the twelve of them made this future about 14 KiB, which every future that
/// reads carried and async-graphql moved by value when it joined a list's items.
macro_rules! run_on {
    ($conn:expr, $query:expr, $want:expr) => {{
        let query = $query;
        match $want {
            Want::All => Box::pin(query.fetch_all($conn))
                .await
                .map(|rows| Ran::Rows(rows.into_iter().map(QueryResult::from).collect())),
            Want::One => Box::pin(query.fetch_optional($conn))
                .await
                .map(|row| Ran::Row(row.map(QueryResult::from))),
            Want::Exec => Box::pin(query.execute($conn))
                .await
                .map(|done| Ran::Done(ExecResult::from(done))),
        }
    }};
}

impl Direct<'_> {
    /// What sea-orm does for a statement, without its layers: moving their futures was a
    /// tenth of a small page's instructions. Timed and counted as sea-orm's statements are;
    /// errors map as sea-orm maps them.
    pub async fn run(self, statement: Statement, want: Want) -> Result<Ran, DbErr> {
        self.cutoff.check()?;
        let backend = self.db.get_database_backend();
        if !matches!(backend, DbBackend::Postgres | DbBackend::Sqlite) {
            return match want {
                Want::All => self.db.query_all_raw(statement).await.map(Ran::Rows),
                Want::One => self.db.query_one_raw(statement).await.map(Ran::Row),
                Want::Exec => self.db.execute_raw(statement).await.map(Ran::Done),
            };
        }
        let Statement { sql, values, .. } = statement;
        let values = SqlxValues(values.unwrap_or(Values(Vec::new())));
        let query = sqlx::AssertSqlSafe(sql.as_str());
        let started = Instant::now();
        let mut held = match self.lease {
            Some(lease) => Some(lease.held.lock().await),
            None => None,
        };
        if let Some(slot) = held.as_deref_mut()
            && matches!(slot, Slot::Empty)
        {
            *slot = Slot::Held(Held::take(self.db, self.metrics).await?);
        }
        let ran = match held.as_deref_mut() {
            Some(Slot::Held(Held::Postgres(c))) => {
                run_on!(&mut **c, sqlx::query_with(query, values), want)
            }
            Some(Slot::Held(Held::Sqlite(c))) => {
                run_on!(&mut **c, sqlx::query_with(query, values), want)
            }
            _ if backend == DbBackend::Postgres => {
                run_on!(
                    self.db.get_postgres_connection_pool(),
                    sqlx::query_with(query, values),
                    want
                )
            }
            _ => run_on!(
                self.db.get_sqlite_connection_pool(),
                sqlx::query_with(query, values),
                want
            ),
        };
        drop(held);
        self.metrics
            .statement(&sql, started.elapsed(), ran.is_err());
        ran.map_err(|e| match want {
            Want::Exec => match db_err(e) {
                DbErr::Query(e) => DbErr::Exec(e),
                other => other,
            },
            _ => db_err(e),
        })
    }
}

fn db_err(e: sqlx::Error) -> DbErr {
    match e {
        sqlx::Error::PoolTimedOut => DbErr::ConnectionAcquire(ConnAcquireErr::Timeout),
        e => DbErr::Query(RuntimeErr::SqlxError(Arc::new(e))),
    }
}

/// How a page reads its rows: [`ByName`], as sea-orm does (the standard tier), or
/// [`ByPosition`], for a model with a [`Positional`] reader (the hot tier).
pub trait Reader<E: EntityTrait> {
    /// What it reads a row as: a whole model, or a [`Partial`] one.
    type Row: Send;
    /// Rows with at least the columns of `set`.
    fn read_all<C: Reads>(
        conn: &C,
        select: Select<E>,
        set: Columns,
    ) -> impl Future<Output = Result<Vec<Self::Row>, DbErr>> + Send;
    /// The row's model, for a reader of the columns `set` always includes (a page's order).
    fn model(row: &Self::Row) -> &E::Model;
}

/// Every column, by name, through sea-orm.
pub struct ByName;

impl<E: EntityTrait> Reader<E> for ByName
where
    E::Model: sea_orm::FromQueryResult + Send + Sync,
{
    type Row = E::Model;

    fn read_all<C: Reads>(
        conn: &C,
        select: Select<E>,
        _: Columns,
    ) -> impl Future<Output = Result<Vec<E::Model>, DbErr>> + Send {
        select.all(conn)
    }

    fn model(row: &E::Model) -> &E::Model {
        row
    }
}

/// The columns of the set, by position, through sqlx.
pub struct ByPosition;

impl<E: EntityTrait> Reader<E> for ByPosition
where
    E::Model: Positional<Entity = E> + Send,
{
    type Row = Partial<E::Model>;

    fn read_all<C: Reads>(
        conn: &C,
        select: Select<E>,
        set: Columns,
    ) -> impl Future<Output = Result<Vec<Partial<E::Model>>, DbErr>> + Send {
        some(conn, select, set)
    }

    fn model(row: &Partial<E::Model>) -> &E::Model {
        &row.row
    }
}

pub(crate) use {positional, string_enum_cells};

#[cfg(test)]
mod tests {
    use super::*;

    /// A column outside the ones read is an error, never the blank the row holds for it.
    #[test]
    fn a_partial_row_refuses_what_was_not_read() {
        let read = Columns::of(&[0, 2]);
        let row = Partial {
            row: ("key", "read", "blank"),
            read,
        };
        assert_eq!(row.key(|r| r.0), "key");
        assert_eq!(row.get(Columns::of(&[2]), |r| r.1).unwrap(), "read");
        assert!(row.get(Columns::of(&[1]), |r| r.2).is_err());
        assert!(row.get(Columns::of(&[0, 1]), |r| r.2).is_err());
        assert!(row.whole_row().is_none());
        let whole = Partial::all(("key", "read", "whole"));
        assert_eq!(whole.get(Columns::of(&[1]), |r| r.2).unwrap(), "whole");
        assert!(whole.whole_row().is_some());
    }
}
