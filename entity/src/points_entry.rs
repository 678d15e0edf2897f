use sea_orm::entity::prelude::*;

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
    pub kind: String,
    pub source_type: String,
    pub source_key: String,
    pub actor_user_id: Option<i64>,
    pub note: Option<String>,
    pub created_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
