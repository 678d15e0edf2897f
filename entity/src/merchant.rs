use sea_orm::entity::prelude::*;

/// Where a merchant is in its membership of the alliance.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::N(16))")]
pub enum MerchantStatus {
    #[sea_orm(string_value = "PENDING")]
    Pending,
    #[sea_orm(string_value = "ACTIVE")]
    Active,
    #[sea_orm(string_value = "REJECTED")]
    Rejected,
    #[sea_orm(string_value = "SUSPENDED")]
    Suspended,
}

/// 商户 / 商企 / 社会单位: a member organisation of a street's alliance.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "merchants")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub street_id: i64,
    pub community_id: Option<i64>,
    pub owner_user_id: i64,
    pub name: String,
    pub category: String,
    pub address: String,
    pub contact_phone: String,
    pub licence_no: String,
    pub description: String,
    pub status: MerchantStatus,
    /// The reason given with the last review, suspension or reinstatement.
    pub status_reason: Option<String>,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
