//! The audit log: who did what to which object, when, why, under which request. Entries are
//! written in the transaction of the change they record, so neither exists without the other.

use sea_orm::{ActiveModelTrait, Set};

use entity::audit_entry;
pub use entity::audit_entry::AuditAction;
use entity::names::ObjectKind;

use crate::domain::context::Cx;
use crate::error::AppResult;

pub struct AuditRecord {
    pub street_id: Option<i64>,
    pub action: AuditAction,
    pub target_type: ObjectKind,
    pub target_id: Option<i64>,
    pub reason: Option<String>,
    /// For a change of state: the decision-bearing fields (state, reason) before and after.
    pub change: Option<Change>,
}

impl AuditRecord {
    /// An entry of `action` on the object, with no reason and no change recorded.
    pub fn of(
        street_id: Option<i64>,
        action: AuditAction,
        target_type: ObjectKind,
        target_id: i64,
    ) -> AuditRecord {
        AuditRecord {
            street_id,
            action,
            target_type,
            target_id: Some(target_id),
            reason: None,
            change: None,
        }
    }

    pub fn reason(mut self, reason: Option<String>) -> AuditRecord {
        self.reason = reason;
        self
    }

    pub fn change(mut self, before: serde_json::Value, after: serde_json::Value) -> AuditRecord {
        self.change = Some(Change { before, after });
        self
    }
}

pub struct Change {
    pub before: serde_json::Value,
    pub after: serde_json::Value,
}

/// Writes the entry with the command's actor, the server's request id and the time.
pub async fn record(cx: &Cx<'_>, rec: AuditRecord) -> AppResult<()> {
    audit_entry::ActiveModel {
        street_id: Set(rec.street_id),
        actor_user_id: Set(cx.actor_id()),
        action: Set(rec.action),
        target_type: Set(rec.target_type),
        target_id: Set(rec.target_id),
        reason: Set(rec.reason),
        before: Set(rec.change.as_ref().map(|c| c.before.clone())),
        after: Set(rec.change.map(|c| c.after)),
        request_id: Set(cx.request_id().map(str::to_owned)),
        created_at: Set(cx.now()),
        ..Default::default()
    }
    .insert(cx)
    .await?;
    Ok(())
}
