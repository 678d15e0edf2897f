use sea_orm::entity::prelude::*;

/// A one-time code sent to a phone by SMS; only an HMAC of it is kept. The newest code of a
/// phone is the one that counts.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "sms_codes")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub phone: String,
    pub code_hash: String,
    /// Guesses spent on it.
    pub tries: i32,
    /// The client address that asked for it.
    pub address: Option<String>,
    pub created_at: DateTimeUtc,
    pub expires_at: DateTimeUtc,
    pub used_at: Option<DateTimeUtc>,
    /// The provider did not deliver it: it counts for nothing and holds up no resend.
    pub failed_at: Option<DateTimeUtc>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
