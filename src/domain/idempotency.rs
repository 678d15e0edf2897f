//! Idempotency keys bound to the request they first came with. A command that takes a key
//! binds it in its own write transaction, before its effect: the first time, the key is stored
//! with the actor, the command and a fingerprint of the parameters, and the command settles it
//! with the id of what it produced; the same key with the same parameters replays that result;
//! with other parameters it is `IDEMPOTENCY_KEY_REUSED`. A command that fails rolls its binding
//! back with everything else, so only successes are remembered.

use sea_orm::sea_query::OnConflict;
use sea_orm::{ActiveModelTrait, ColumnTrait, EntityTrait, QueryFilter, Set};
use sha2::{Digest, Sha256};

use entity::idempotency_key;

use crate::domain::codes::IdempotencyKey;
use crate::domain::context::Cx;
use crate::error::{AppError, AppResult};

/// The commands that take idempotency keys; a key is one actor's, per command.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Scope {
    AdjustPoints,
    RedeemCoupon,
    RedeemEntitlement,
}

impl Scope {
    fn as_str(self) -> &'static str {
        match self {
            Scope::AdjustPoints => "adjustPoints",
            Scope::RedeemCoupon => "redeemCoupon",
            Scope::RedeemEntitlement => "redeemEntitlement",
        }
    }
}

/// A key bound in the current transaction.
#[derive(Debug)]
pub enum Binding {
    /// First use: settle it with what the command produced.
    Fresh(i64),
    /// Used before with the same parameters: the id the first request produced.
    Replay(i64),
}

/// Binds `key` for the viewer and `scope` to `params` (every parameter that shapes the result).
pub async fn bind(
    cx: &Cx<'_>,
    scope: Scope,
    key: &IdempotencyKey,
    params: serde_json::Value,
) -> AppResult<Binding> {
    let actor = cx.viewer()?.user_id;
    let fingerprint = hex::encode(Sha256::digest(params.to_string().as_bytes()));
    let inserted = idempotency_key::Entity::insert(idempotency_key::ActiveModel {
        actor_user_id: Set(actor),
        scope: Set(scope.as_str().to_owned()),
        key: Set(key.as_str().to_owned()),
        fingerprint: Set(fingerprint.clone()),
        result_id: Set(None),
        created_at: Set(cx.now()),
        ..Default::default()
    })
    // A concurrent first use holds the unique index until it commits; we then see its row.
    .on_conflict(
        OnConflict::columns([
            idempotency_key::Column::ActorUserId,
            idempotency_key::Column::Scope,
            idempotency_key::Column::Key,
        ])
        .do_nothing()
        .to_owned(),
    )
    .exec_without_returning(cx)
    .await?;
    let row = idempotency_key::Entity::find()
        .filter(idempotency_key::Column::ActorUserId.eq(actor))
        .filter(idempotency_key::Column::Scope.eq(scope.as_str()))
        .filter(idempotency_key::Column::Key.eq(key.as_str()))
        .one(cx)
        .await?
        .ok_or_else(|| AppError::internal("idempotency key vanished"))?;
    if inserted == 1 {
        return Ok(Binding::Fresh(row.id));
    }
    if row.fingerprint != fingerprint {
        return Err(AppError::IdempotencyKeyReused);
    }
    row.result_id
        .map(Binding::Replay)
        .ok_or_else(|| AppError::internal("idempotency key stored without its result"))
}

/// Records what a fresh binding's command produced; a replay needs nothing.
pub async fn settle(cx: &Cx<'_>, binding: &Binding, result_id: i64) -> AppResult<()> {
    if let Binding::Fresh(id) = binding {
        idempotency_key::ActiveModel {
            id: Set(*id),
            result_id: Set(Some(result_id)),
            ..Default::default()
        }
        .update(cx)
        .await?;
    }
    Ok(())
}
