use sea_orm::entity::prelude::*;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::N(16))")]
pub enum CouponStatus {
    #[sea_orm(string_value = "DRAFT")]
    Draft,
    #[sea_orm(string_value = "ACTIVE")]
    Active,
    #[sea_orm(string_value = "PAUSED")]
    Paused,
    #[sea_orm(string_value = "ENDED")]
    Ended,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::N(16))")]
pub enum CouponKind {
    /// 满减: `amount_fen` off a bill of at least `min_spend_fen`.
    #[sea_orm(string_value = "AMOUNT_OFF")]
    AmountOff,
    /// `percent_off` percent off, optionally above `min_spend_fen`.
    #[sea_orm(string_value = "PERCENT_OFF")]
    PercentOff,
    /// A free item or service, `item_name`.
    #[sea_orm(string_value = "FREE_ITEM")]
    FreeItem,
    /// A voucher worth `amount_fen`.
    #[sea_orm(string_value = "CASH_VOUCHER")]
    CashVoucher,
}

/// 优惠券: an offer a merchant publishes. Stock and counters change only through conditional
/// updates, so they stay exact under concurrency.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "coupons")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub merchant_id: i64,
    pub street_id: i64,
    pub title: String,
    pub description: String,
    pub kind: CouponKind,
    pub amount_fen: Option<i64>,
    pub min_spend_fen: Option<i64>,
    pub percent_off: Option<i32>,
    pub item_name: Option<String>,
    /// `None`: unlimited.
    pub total_stock: Option<i32>,
    pub remaining_stock: Option<i32>,
    pub per_user_limit: i32,
    pub valid_from: DateTimeUtc,
    pub valid_until: DateTimeUtc,
    pub min_age: Option<i32>,
    /// Points a claim costs (商家回馈); 0 for a plain offer.
    pub points_cost: i32,
    pub status: CouponStatus,
    pub status_reason: Option<String>,
    pub claimed_count: i32,
    pub redeemed_count: i32,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {
    /// The member that issues it.
    #[sea_orm(
        belongs_to = "super::merchant::Entity",
        from = "Column::MerchantId",
        to = "super::merchant::Column::Id"
    )]
    Merchant,
    /// Who may claim it, beyond a minimum age.
    #[sea_orm(has_many = "super::coupon_audience::Entity")]
    Audience,
}

impl Related<super::merchant::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Merchant.def()
    }
}

impl Related<super::coupon_audience::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Audience.def()
    }
}

impl ActiveModelBehavior for ActiveModel {}

/// What a merchant offers, from which a new coupon row is made ([`Terms::into_row`]): its
/// stock starts full, its counters at zero. The one way a coupon row is made, by the server,
/// the demo, the tests and the benchmark alike.
#[derive(Clone, Debug)]
pub struct Terms {
    pub merchant_id: i64,
    pub street_id: i64,
    pub title: String,
    pub description: String,
    pub kind: CouponKind,
    pub amount_fen: Option<i64>,
    pub min_spend_fen: Option<i64>,
    pub percent_off: Option<i32>,
    pub item_name: Option<String>,
    /// `None` for no limit.
    pub total_stock: Option<i32>,
    pub per_user_limit: i32,
    pub valid_from: DateTimeUtc,
    pub valid_until: DateTimeUtc,
    pub min_age: Option<i32>,
    pub points_cost: i32,
}

impl Terms {
    /// The row of a new coupon in `status`, made at `now`.
    pub fn into_row(self, status: CouponStatus, now: DateTimeUtc) -> ActiveModel {
        use sea_orm::ActiveValue::Set;
        ActiveModel {
            merchant_id: Set(self.merchant_id),
            street_id: Set(self.street_id),
            title: Set(self.title),
            description: Set(self.description),
            kind: Set(self.kind),
            amount_fen: Set(self.amount_fen),
            min_spend_fen: Set(self.min_spend_fen),
            percent_off: Set(self.percent_off),
            item_name: Set(self.item_name),
            total_stock: Set(self.total_stock),
            remaining_stock: Set(self.total_stock),
            per_user_limit: Set(self.per_user_limit),
            valid_from: Set(self.valid_from),
            valid_until: Set(self.valid_until),
            min_age: Set(self.min_age),
            points_cost: Set(self.points_cost),
            status: Set(status),
            status_reason: Set(None),
            claimed_count: Set(0),
            redeemed_count: Set(0),
            created_at: Set(now),
            updated_at: Set(now),
            ..Default::default()
        }
    }
}
