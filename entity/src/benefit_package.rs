use sea_orm::entity::prelude::*;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::N(16))")]
pub enum PackageStatus {
    /// Being composed by staff.
    #[sea_orm(string_value = "DRAFT")]
    Draft,
    /// Sent to its providers; waiting for every item to be confirmed.
    #[sea_orm(string_value = "CONFIRMING")]
    Confirming,
    /// Every item confirmed: grantable while copies are left.
    #[sea_orm(string_value = "READY")]
    Ready,
    /// Withdrawn by staff before it was granted.
    #[sea_orm(string_value = "WITHDRAWN")]
    Withdrawn,
}

/// A warm-heart gift (暖心礼包) staff of a street compose from items several member merchants
/// give, to grant to as many recipients as it has copies.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "benefit_packages")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub street_id: i64,
    pub title: String,
    pub story: String,
    /// How many recipients it can be granted to.
    pub copies: i32,
    /// Copies granted so far.
    pub granted_count: i32,
    pub status: PackageStatus,
    /// Why staff withdrew it.
    pub status_reason: Option<String>,
    /// The staff member who composed it.
    pub created_by: i64,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
