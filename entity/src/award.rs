use sea_orm::entity::prelude::*;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::N(16))")]
pub enum AwardStatus {
    /// Waiting for staff of the street.
    #[sea_orm(string_value = "NOMINATED")]
    Nominated,
    /// Staff found the deed worthy: it may be granted.
    #[sea_orm(string_value = "APPROVED")]
    Approved,
    /// Staff did not (with a reason).
    #[sea_orm(string_value = "REJECTED")]
    Rejected,
    /// Granted with a package and points; on the honour roll.
    #[sea_orm(string_value = "GRANTED")]
    Granted,
}

/// A good deed someone signed in put forward for recognition (表彰): the person who did it
/// (an account, or a name and phone of someone who may have none), what happened, when and in
/// which community.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "awards")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    /// The street of the community where it happened, whose staff review it.
    pub street_id: i64,
    pub community_id: i64,
    pub nominator_id: i64,
    /// The nominee's account, when they have one.
    pub nominee_user_id: Option<i64>,
    pub nominee_name: String,
    /// For a nominee without an account: the number the grant is held for.
    pub nominee_phone: Option<String>,
    pub title: String,
    pub deed: String,
    pub happened_on: Date,
    pub evidence: Option<String>,
    pub status: AwardStatus,
    /// Why staff rejected it (or what they noted approving it).
    pub status_reason: Option<String>,
    /// The package it was granted with.
    pub package_id: Option<i64>,
    /// The points it was granted with.
    pub bonus_points: Option<i32>,
    pub granted_at: Option<DateTimeUtc>,
    /// For a grant held for a nominee without an account: the keyed digest of the one-time
    /// code on their certificate.
    pub claim_code_digest: Option<String>,
    /// When the nominee claimed a held grant with that code.
    pub claimed_at: Option<DateTimeUtc>,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
