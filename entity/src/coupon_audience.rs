use sea_orm::entity::prelude::*;

/// One audience rule of a coupon: a tag the resident must carry (any of), or a community the
/// resident must live in (any of). Minimum age lives on the coupon.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "coupon_audiences")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub coupon_id: i64,
    /// `TAG` or `COMMUNITY`.
    #[sea_orm(primary_key, auto_increment = false)]
    pub rule: String,
    /// The tag, or the community id as text.
    #[sea_orm(primary_key, auto_increment = false)]
    pub value: String,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
