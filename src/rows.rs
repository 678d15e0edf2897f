//! Rows read by position instead of by column name, for the tables that lists read most.
//!
//! sea-orm reads a model column by column, by name: a hash lookup per column per row, and for
//! every NULL a formatted error message that it then drops. For a page of merchants with their
//! coupons that was about a fifth of the server's instructions per request. A [`Positional`]
//! model selects its columns in the order its reader takes them, and reads them by index,
//! through sqlx as sea-orm does, so values decode the same on SQLite and PostgreSQL.

use std::future::Future;

use sea_orm::{
    ActiveEnum, ConnectionTrait, DbErr, EntityTrait, QueryResult, QuerySelect, QueryTrait, Select,
};

use entity::{coupon, merchant};

/// A value read from a column by its position.
pub trait Cell: Sized {
    fn read(row: &QueryResult, at: usize) -> Result<Self, DbErr>;
}

fn decode_error(e: sqlx::Error) -> DbErr {
    DbErr::Type(e.to_string())
}

macro_rules! sqlx_cell {
    ($t:ty) => {
        impl Cell for $t {
            fn read(row: &QueryResult, at: usize) -> Result<Self, DbErr> {
                use sqlx::Row;
                if let Some(r) = row.try_as_pg_row() {
                    return r.try_get::<$t, _>(at).map_err(decode_error);
                }
                if let Some(r) = row.try_as_sqlite_row() {
                    return r.try_get::<$t, _>(at).map_err(decode_error);
                }
                row.try_get_by_index(at)
            }
        }
    };
}

/// Each type and its nullable form.
macro_rules! sqlx_cells {
    ($($t:ty),* $(,)?) => {$(
        sqlx_cell!($t);
        sqlx_cell!(Option<$t>);
    )*};
}

sqlx_cells!(i64, i32, String, chrono::DateTime<chrono::Utc>);

/// Enumerations stored as their string value.
macro_rules! string_enum_cells {
    ($($t:ty),* $(,)?) => {$(
        impl Cell for $t {
            fn read(row: &QueryResult, at: usize) -> Result<Self, DbErr> {
                <$t as ActiveEnum>::try_from_value(&String::read(row, at)?)
            }
        }
    )*};
}

string_enum_cells!(
    coupon::CouponKind,
    coupon::CouponStatus,
    merchant::MerchantStatus
);

/// A model read by position: [`Positional::columns`] are selected in the order
/// [`Positional::decode`] reads them.
pub trait Positional: Sized {
    type Entity: EntityTrait;
    fn columns() -> Vec<<Self::Entity as EntityTrait>::Column>;
    fn decode(row: &QueryResult) -> Result<Self, DbErr>;
}

/// Declares a model's positional reader: each field with the column it is read from, in one
/// list, so the selected order and the read order cannot drift apart.
macro_rules! positional {
    ($entity:ty, $model:ty { $($field:ident: $column:ident),* $(,)? }) => {
        impl Positional for $model {
            type Entity = $entity;

            fn columns() -> Vec<<$entity as EntityTrait>::Column> {
                vec![$(<$entity as EntityTrait>::Column::$column),*]
            }

            fn decode(row: &QueryResult) -> Result<Self, DbErr> {
                let mut at = 0usize..;
                Ok(Self {
                    $($field: Cell::read(row, at.next().unwrap_or_default())?,)*
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
    conn: &impl ConnectionTrait,
    select: Select<M::Entity>,
) -> Result<Vec<M>, DbErr> {
    let statement = select
        .select_only()
        .columns(M::columns())
        .build(conn.get_database_backend());
    conn.query_all_raw(statement)
        .await?
        .iter()
        .map(M::decode)
        .collect()
}

/// How a list reads its rows: by position where the model has a reader, else as sea-orm does.
pub trait ReadRows: EntityTrait {
    fn read_all<C: ConnectionTrait>(
        conn: &C,
        select: Select<Self>,
    ) -> impl Future<Output = Result<Vec<Self::Model>, DbErr>> + Send;
}

async fn by_name<E: EntityTrait>(
    conn: &impl ConnectionTrait,
    select: Select<E>,
) -> Result<Vec<E::Model>, DbErr> {
    select.all(conn).await
}

macro_rules! read_rows {
    ($read:ident: $($entity:ty),* $(,)?) => {$(
        impl ReadRows for $entity {
            fn read_all<C: ConnectionTrait>(
                conn: &C,
                select: Select<Self>,
            ) -> impl Future<Output = Result<Vec<Self::Model>, DbErr>> + Send {
                $read(conn, select)
            }
        }
    )*};
}

read_rows!(all: coupon::Entity, merchant::Entity);
read_rows!(
    by_name: entity::street::Entity,
    entity::award::Entity,
    entity::benefit_package::Entity,
    entity::package_item::Entity,
    entity::coupon_claim::Entity,
    entity::points_entry::Entity,
    entity::entitlement::Entity,
);
