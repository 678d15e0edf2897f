use sea_orm::entity::prelude::*;

use crate::package_item::ItemKind;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::N(16))")]
pub enum EntitlementStatus {
    /// Usable within its validity while uses or value are left.
    #[sea_orm(string_value = "ACTIVE")]
    Active,
    /// Voided by staff.
    #[sea_orm(string_value = "VOIDED")]
    Voided,
}

/// What one item of a granted package gives its recipient: uses (or a voucher's value) within
/// a validity, redeemed only at the item's provider with a code like a coupon claim's.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "entitlements")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub street_id: i64,
    pub award_id: i64,
    pub package_id: i64,
    pub item_id: i64,
    /// The provider, where alone it is redeemed.
    pub merchant_id: i64,
    pub holder_user_id: i64,
    pub kind: ItemKind,
    pub description: String,
    /// `None`: unlimited (entitlements) or up to the value (vouchers).
    pub total_uses: Option<i32>,
    pub used_count: i32,
    pub value_fen: Option<i64>,
    pub remaining_value_fen: Option<i64>,
    pub per_day_limit: Option<i32>,
    pub valid_from: DateTimeUtc,
    pub valid_until: DateTimeUtc,
    /// 60 random bits in Crockford base 32, shown as `XXXX-XXXX-XXXX`.
    #[sea_orm(unique)]
    pub code: String,
    pub status: EntitlementStatus,
    /// Why staff voided it.
    pub void_reason: Option<String>,
    pub last_used_at: Option<DateTimeUtc>,
    pub created_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
