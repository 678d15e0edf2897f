use sea_orm::entity::prelude::*;

/// 街道: the tenant. One alliance per street.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "streets")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    #[sea_orm(unique)]
    pub name: String,
    pub created_at: DateTimeUtc,
    /// The name shown to people, when it differs from the registered `name`.
    pub display_name: Option<String>,
    /// The day the alliance started (the figures count from it).
    pub founded_on: Option<Date>,
    /// An IANA time zone, `Asia/Shanghai` by default.
    pub time_zone: String,
    /// The most points one activity may award (the activities capability reads it).
    pub max_activity_points: Option<i32>,
    /// How many hours a raised need may wait for a first answer (the demands capability).
    pub demand_response_hours: Option<i32>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {
    #[sea_orm(has_many = "super::community::Entity")]
    Community,
}

impl Related<super::community::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Community.def()
    }
}

impl ActiveModelBehavior for ActiveModel {}
