use sea_orm::entity::prelude::*;

/// The kind of an audience rule.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::N(16))")]
pub enum AudienceRule {
    /// The resident carries this tag (any of the coupon's tags).
    #[sea_orm(string_value = "TAG")]
    Tag,
    /// The resident lives in this community (any of the coupon's communities).
    #[sea_orm(string_value = "COMMUNITY")]
    Community,
}

/// One audience rule of a coupon: a tag the resident must carry (any of), or a community the
/// resident must live in (any of). Minimum age lives on the coupon.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "coupon_audiences")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub coupon_id: i64,
    #[sea_orm(primary_key, auto_increment = false)]
    pub rule: AudienceRule,
    /// The tag, or the community id as text.
    #[sea_orm(primary_key, auto_increment = false)]
    pub value: String,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {
    #[sea_orm(
        belongs_to = "super::coupon::Entity",
        from = "Column::CouponId",
        to = "super::coupon::Column::Id"
    )]
    Coupon,
}

impl Related<super::coupon::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Coupon.def()
    }
}

impl ActiveModelBehavior for ActiveModel {}
