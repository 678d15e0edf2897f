use sea_orm::entity::prelude::*;

/// Stored states; `EXPIRED` is not stored but read from the coupon's validity.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::N(16))")]
pub enum ClaimStatus {
    #[sea_orm(string_value = "CLAIMED")]
    Claimed,
    #[sea_orm(string_value = "REDEEMED")]
    Redeemed,
    #[sea_orm(string_value = "VOIDED")]
    Voided,
}

/// 领券: one resident's claimed coupon, redeemed at the counter by its code.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "coupon_claims")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub coupon_id: i64,
    pub merchant_id: i64,
    pub user_id: i64,
    #[sea_orm(unique)]
    pub code: String,
    pub status: ClaimStatus,
    pub claimed_at: DateTimeUtc,
    /// The coupon's `valid_until` at claim time; a claim unredeemed after it reads as expired.
    pub expires_at: DateTimeUtc,
    /// Points debited for this claim, refunded if it is voided unredeemed.
    pub points_spent: i32,
    pub redeemed_at: Option<DateTimeUtc>,
    pub redeemed_by: Option<i64>,
    pub redeem_key: Option<String>,
    pub voided_at: Option<DateTimeUtc>,
    pub voided_by: Option<i64>,
    pub void_reason: Option<String>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
