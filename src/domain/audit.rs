//! The audit log: who did what to which object, when, why, under which request. Entries are
//! written in the transaction of the change they record, so neither exists without the other.

use chrono::Utc;
use sea_orm::{ActiveModelTrait, ConnectionTrait, Set};

use entity::audit_entry;

use crate::error::AppResult;

pub struct AuditRecord<'a> {
    pub street_id: Option<i64>,
    pub actor_user_id: Option<i64>,
    pub action: &'a str,
    pub target_type: &'a str,
    pub target_id: Option<i64>,
    pub reason: Option<String>,
    pub request_id: Option<&'a str>,
}

pub async fn record(conn: &impl ConnectionTrait, rec: AuditRecord<'_>) -> AppResult<()> {
    audit_entry::ActiveModel {
        street_id: Set(rec.street_id),
        actor_user_id: Set(rec.actor_user_id),
        action: Set(rec.action.to_owned()),
        target_type: Set(rec.target_type.to_owned()),
        target_id: Set(rec.target_id),
        reason: Set(rec.reason),
        request_id: Set(rec.request_id.map(str::to_owned)),
        created_at: Set(Utc::now()),
        ..Default::default()
    }
    .insert(conn)
    .await?;
    Ok(())
}
