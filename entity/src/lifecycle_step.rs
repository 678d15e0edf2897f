use sea_orm::entity::prelude::*;

use crate::names::ObjectKind;

/// One step of an object's lifecycle, as it happened: never updated or deleted.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "lifecycle_history")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub object_type: ObjectKind,
    pub object_id: i64,
    pub street_id: Option<i64>,
    /// The step's action, as its lifecycle names it (`APPROVE`).
    pub action: String,
    /// The stored value of the state it left and the one it reached.
    pub from_state: String,
    pub to_state: String,
    /// Who took it; none when the server took it as the consequence of another step.
    pub actor_user_id: Option<i64>,
    /// The note (reason) the step carried, shown to those who may see the object.
    pub note: Option<String>,
    pub request_id: Option<String>,
    pub created_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
