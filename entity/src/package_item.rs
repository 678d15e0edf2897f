use sea_orm::entity::prelude::*;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::N(16))")]
pub enum ItemKind {
    /// A count of uses (or unlimited), perhaps at most so many a day.
    #[sea_orm(string_value = "ENTITLEMENT")]
    Entitlement,
    /// A cash value in fen, spent at the provider in one or more uses.
    #[sea_orm(string_value = "VOUCHER")]
    Voucher,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::N(16))")]
pub enum ItemStatus {
    /// In a draft package; its provider has not been asked.
    #[sea_orm(string_value = "DRAFT")]
    Draft,
    /// Its provider is asked to confirm it.
    #[sea_orm(string_value = "REQUESTED")]
    Requested,
    /// Its provider gives it, for every copy.
    #[sea_orm(string_value = "CONFIRMED")]
    Confirmed,
    /// Its provider will not give it (`decline_reason` says why).
    #[sea_orm(string_value = "DECLINED")]
    Declined,
}

/// What one provider gives in a package, for all its copies.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "package_items")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub package_id: i64,
    /// The provider: a member merchant of the package's street.
    pub merchant_id: i64,
    pub kind: ItemKind,
    /// What one use is, e.g. 一份午餐.
    pub description: String,
    /// Uses per recipient; `None` is unlimited (entitlements) or up to the value (vouchers).
    pub total_uses: Option<i32>,
    pub per_day_limit: Option<i32>,
    /// Days it is good for from the grant.
    pub valid_days: i32,
    /// A voucher's value.
    pub value_fen: Option<i64>,
    pub status: ItemStatus,
    pub decline_reason: Option<String>,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
