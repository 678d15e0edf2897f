//! Rows read by position instead of by column name, for the tables that lists read most.
//!
//! sea-orm reads a model column by column, by name: a hash lookup per column per row, and for
//! every NULL a formatted error message that it then drops. For a page of merchants with their
//! coupons that was about a fifth of the server's instructions per request. A [`Positional`]
//! model selects its columns in the order its reader takes them, and reads them by index,
//! through sqlx as sea-orm does, so values decode the same on SQLite and PostgreSQL.

use std::future::Future;
use std::sync::Arc;
use std::time::Instant;

use sea_orm::sea_query::Values;
use sea_orm::{
    ActiveEnum, ConnAcquireErr, ConnectionTrait, DatabaseConnection, DatabaseTransaction,
    DbBackend, DbErr, EntityTrait, IdenStatic, Iterable, QueryResult, QuerySelect, QueryTrait,
    RuntimeErr, Select, Statement,
};
use sea_query_sqlx::SqlxValues;

use crate::metrics::Metrics;

use entity::{coupon, merchant};

/// A value read from a column by its position, and the value a column that was not read
/// holds (see [`Columns`]).
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
/// holds the first variant.
macro_rules! string_enum_cells {
    ($($t:ty),* $(,)?) => {$(
        impl Cell for $t {
            fn read(row: &QueryResult, at: usize) -> Result<Self, DbErr> {
                <$t as ActiveEnum>::try_from_value(&String::read(row, at)?)
            }

            fn blank() -> Self {
                <$t as sea_orm::Iterable>::iter()
                    .next()
                    .unwrap_or_else(|| unreachable!("an enumeration has a variant"))
            }
        }

        impl Cell for Option<$t> {
            fn read(row: &QueryResult, at: usize) -> Result<Self, DbErr> {
                Option::<String>::read(row, at)?
                    .map(|v| <$t as ActiveEnum>::try_from_value(&v))
                    .transpose()
            }

            fn blank() -> Self {
                None
            }
        }
    )*};
}

string_enum_cells!(
    coupon::CouponKind,
    coupon::CouponStatus,
    merchant::MerchantStatus,
    entity::coupon_audience::AudienceRule,
    entity::user_role::Role,
);

/// Some of a model's columns, by their place in the entity's `Column` enumeration.
///
/// A row read with a set holds blanks (zero, empty, `None`, the first variant) in the columns
/// outside it: only code that reads nothing else may see it. The GraphQL layer computes the set
/// from the fields a selection asks for, and never caches such a row where a whole one is
/// expected.
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

/// A model read by position: [`Positional::columns`] are selected in the order
/// [`Positional::decode`] reads them.
pub trait Positional: Sized {
    type Entity: EntityTrait;
    /// The columns of `set`, in reading order.
    fn columns(set: Columns) -> Vec<<Self::Entity as EntityTrait>::Column>;
    /// A row selected with `columns(set)`.
    fn decode(row: &QueryResult, set: Columns) -> Result<Self, DbErr>;
}

/// Declares a model's positional reader: each field with the column it is read from, in one
/// list, so the selected order and the read order cannot drift apart.
macro_rules! positional {
    ($entity:ty, $model:ty { $($field:ident: $column:ident),* $(,)? }) => {
        impl Positional for $model {
            type Entity = $entity;

            fn columns(set: Columns) -> Vec<<$entity as EntityTrait>::Column> {
                type C = <$entity as EntityTrait>::Column;
                [$(C::$column),*]
                    .into_iter()
                    .filter(|c| set.has(*c as u8))
                    .collect()
            }

            fn decode(row: &QueryResult, set: Columns) -> Result<Self, DbErr> {
                type C = <$entity as EntityTrait>::Column;
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

positional!(
    coupon::Entity,
    coupon::Model {
        id: Id,
        merchant_id: MerchantId,
        street_id: StreetId,
        title: Title,
        description: Description,
        kind: Kind,
        amount_fen: AmountFen,
        min_spend_fen: MinSpendFen,
        percent_off: PercentOff,
        item_name: ItemName,
        total_stock: TotalStock,
        remaining_stock: RemainingStock,
        per_user_limit: PerUserLimit,
        valid_from: ValidFrom,
        valid_until: ValidUntil,
        min_age: MinAge,
        points_cost: PointsCost,
        status: Status,
        status_reason: StatusReason,
        claimed_count: ClaimedCount,
        redeemed_count: RedeemedCount,
        created_at: CreatedAt,
        updated_at: UpdatedAt,
    }
);

positional!(
    merchant::Entity,
    merchant::Model {
        id: Id,
        street_id: StreetId,
        community_id: CommunityId,
        owner_user_id: OwnerUserId,
        name: Name,
        category: Category,
        address: Address,
        contact_phone: ContactPhone,
        licence_no: LicenceNo,
        description: Description,
        status: Status,
        status_reason: StatusReason,
        created_at: CreatedAt,
        updated_at: UpdatedAt,
    }
);

/// Runs `select` (its filters, order and limit kept; its columns replaced) and reads the rows
/// by position.
pub async fn all<M: Positional>(
    conn: &impl Reads,
    select: Select<M::Entity>,
) -> Result<Vec<M>, DbErr> {
    some(conn, select, Columns::ALL).await
}

/// [`all`], reading only the columns of `set` (see [`Columns`]).
pub async fn some<M: Positional>(
    conn: &impl Reads,
    select: Select<M::Entity>,
    set: Columns,
) -> Result<Vec<M>, DbErr> {
    let statement = select
        .select_only()
        .columns(M::columns(set))
        .build(conn.get_database_backend());
    query(conn, statement)
        .await?
        .iter()
        .map(|row| M::decode(row, set))
        .collect()
}

/// Runs `statement` and returns its rows, for a caller that reads them by position: a model's
/// columns first ([`Positional::decode`]), then whatever it joined ([`Cell::read`]).
pub async fn query(conn: &impl Reads, statement: Statement) -> Result<Vec<QueryResult>, DbErr> {
    match conn.pool() {
        Some((db, metrics)) => fetch_all(db, metrics, statement).await,
        None => conn.query_all_raw(statement).await,
    }
}

/// A connection that reads through sqlx itself when it is a pool rather than a transaction.
pub trait Reads: ConnectionTrait {
    /// The pool, and the metrics its statements are counted in; `None` in a transaction.
    fn pool(&self) -> Option<(&DatabaseConnection, &Metrics)> {
        None
    }
}

impl Reads for DatabaseConnection {}
impl Reads for DatabaseTransaction {}

/// What sea-orm's `query_all_raw` does on a pool, without its layers: moving their futures
/// was a tenth of a small page's instructions. Counted and timed in the statement metrics as
/// sea-orm's statements are; errors map as sea-orm maps them.
async fn fetch_all(
    db: &DatabaseConnection,
    metrics: &Metrics,
    statement: Statement,
) -> Result<Vec<QueryResult>, DbErr> {
    let backend = db.get_database_backend();
    if !matches!(backend, DbBackend::Postgres | DbBackend::Sqlite) {
        return db.query_all_raw(statement).await;
    }
    let Statement { sql, values, .. } = statement;
    let values = SqlxValues(values.unwrap_or(Values(Vec::new())));
    let query = sqlx::AssertSqlSafe(sql.as_str());
    let started = Instant::now();
    let rows = if backend == DbBackend::Postgres {
        sqlx::query_with(query, values)
            .fetch_all(db.get_postgres_connection_pool())
            .await
            .map(|rows| rows.into_iter().map(QueryResult::from).collect())
    } else {
        sqlx::query_with(query, values)
            .fetch_all(db.get_sqlite_connection_pool())
            .await
            .map(|rows| rows.into_iter().map(QueryResult::from).collect())
    };
    metrics.statement(&sql, started.elapsed(), rows.is_err());
    rows.map_err(|e| match e {
        sqlx::Error::PoolTimedOut => DbErr::ConnectionAcquire(ConnAcquireErr::Timeout),
        e => DbErr::Query(RuntimeErr::SqlxError(Arc::new(e))),
    })
}

/// How a list reads its rows: by position where the model has a reader, else as sea-orm does.
pub trait ReadRows: EntityTrait {
    /// Rows with at least the columns of `set`.
    fn read_all<C: Reads>(
        conn: &C,
        select: Select<Self>,
        set: Columns,
    ) -> impl Future<Output = Result<Vec<Self::Model>, DbErr>> + Send;
}

/// As sea-orm reads: every column.
async fn by_name<E: EntityTrait>(
    conn: &impl ConnectionTrait,
    select: Select<E>,
    _: Columns,
) -> Result<Vec<E::Model>, DbErr> {
    select.all(conn).await
}

macro_rules! read_rows {
    ($read:ident: $($entity:ty),* $(,)?) => {$(
        impl ReadRows for $entity {
            fn read_all<C: Reads>(
                conn: &C,
                select: Select<Self>,
                set: Columns,
            ) -> impl Future<Output = Result<Vec<Self::Model>, DbErr>> + Send {
                $read(conn, select, set)
            }
        }
    )*};
}

read_rows!(some: coupon::Entity, merchant::Entity);
read_rows!(
    by_name: entity::street::Entity,
    entity::award::Entity,
    entity::benefit_package::Entity,
    entity::package_item::Entity,
    entity::coupon_claim::Entity,
    entity::points_entry::Entity,
    entity::entitlement::Entity,
);
