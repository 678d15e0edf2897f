use sea_orm::entity::prelude::*;

/// Why points moved.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::N(32))")]
pub enum PointsKind {
    /// Earned by volunteering.
    #[sea_orm(string_value = "VOLUNTEERING")]
    Volunteering,
    /// Earned by attending a joint activity.
    #[sea_orm(string_value = "ACTIVITY")]
    Activity,
    /// Bonus of a granted award.
    #[sea_orm(string_value = "AWARD_BONUS")]
    AwardBonus,
    /// Spent on a merchant's reward.
    #[sea_orm(string_value = "REWARD_SPENT")]
    RewardSpent,
    /// A spent amount given back.
    #[sea_orm(string_value = "REFUND")]
    Refund,
    /// A staff correction.
    #[sea_orm(string_value = "ADJUSTMENT")]
    Adjustment,
}

/// What kind of object caused a posting; with the source key it names the cause uniquely.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::N(32))")]
pub enum SourceType {
    /// A claim of a coupon with a points cost (the key is the claim's id).
    #[sea_orm(string_value = "COUPON_CLAIM")]
    CouponClaim,
    /// The refund of a voided points claim (the key is the claim's id).
    #[sea_orm(string_value = "COUPON_CLAIM_REFUND")]
    CouponClaimRefund,
    /// A staff adjustment (the key is the staff member's id and idempotency key).
    #[sea_orm(string_value = "STAFF_ADJUSTMENT")]
    StaffAdjustment,
    /// Attendance of a joint activity (the key is the attendance's id).
    #[sea_orm(string_value = "ACTIVITY_ATTENDANCE")]
    ActivityAttendance,
    /// The bonus of a granted award (the key is the award's id).
    #[sea_orm(string_value = "AWARD")]
    Award,
    /// Points the demo alliance starts with.
    #[sea_orm(string_value = "DEMO")]
    Demo,
}

/// One change of a user's points. Entries are never updated or deleted; a correction is a new
/// entry. `(user_id, source_type, source_key)` is unique: a source posts to a user once.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "points_entries")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub user_id: i64,
    pub street_id: Option<i64>,
    pub amount: i32,
    pub kind: PointsKind,
    pub source_type: SourceType,
    pub source_key: String,
    pub actor_user_id: Option<i64>,
    pub note: Option<String>,
    pub created_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
