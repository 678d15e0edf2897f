use sea_orm::entity::prelude::*;

/// One use of an entitlement at its provider's counter (or an amount off a voucher).
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "entitlement_uses")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub entitlement_id: i64,
    pub merchant_id: i64,
    /// The owner or clerk who served it.
    pub served_by: i64,
    /// Off a voucher.
    pub amount_fen: Option<i64>,
    /// The entitlement's uses and value after this one: what a retry of it answers.
    pub used_count_after: i32,
    pub remaining_value_after: Option<i64>,
    /// The day of the use in the street's time zone, which per-day limits count.
    pub local_day: Date,
    /// The server's id of the request.
    pub request_id: Option<String>,
    pub created_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
