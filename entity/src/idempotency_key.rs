use sea_orm::entity::prelude::*;

/// An idempotency key as first used: by whom, for which command, with which parameters (a
/// fingerprint), and what it produced. The same key again replays that result; with other
/// parameters it is refused.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "idempotency_keys")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub actor_user_id: i64,
    pub scope: String,
    pub key: String,
    pub fingerprint: String,
    /// The id of the row the first request produced.
    pub result_id: Option<i64>,
    pub created_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
