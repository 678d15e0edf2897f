//! Events: the record that something happened which a person may want to hear about, written
//! with [`record`] in the same transaction as the change it describes (the outbox pattern), so
//! a change that rolls back leaves no event and a committed one always has its event. The
//! notifications capability delivers them in order of id.

use sea_orm::{ActiveModelTrait, Set};

use entity::event;
pub use entity::event::EventKind;
use entity::names::ObjectKind;

use crate::domain::context::Cx;
use crate::error::AppResult;
use crate::metrics::Tally;

/// An event about one object.
#[derive(Clone, Debug)]
pub struct Event {
    pub kind: EventKind,
    pub street_id: Option<i64>,
    pub object_type: ObjectKind,
    pub object_id: i64,
    /// The users it concerns, e.g. the merchant's owner or the claim's holder.
    pub concerned: Vec<i64>,
    /// What a message about it needs, kept small.
    pub payload: serde_json::Value,
}

impl Event {
    pub fn new(kind: EventKind, object_type: ObjectKind, object_id: i64) -> Event {
        Event {
            kind,
            street_id: None,
            object_type,
            object_id,
            concerned: Vec::new(),
            payload: serde_json::Value::Object(Default::default()),
        }
    }

    pub fn concerning(mut self, user_id: i64) -> Event {
        if !self.concerned.contains(&user_id) {
            self.concerned.push(user_id);
        }
        self
    }

    pub fn payload(mut self, payload: serde_json::Value) -> Event {
        self.payload = payload;
        self
    }
}

/// Writes the event in the command's transaction, with its actor, request id and time.
pub async fn record(cx: &Cx<'_>, e: Event) -> AppResult<()> {
    event::ActiveModel {
        kind: Set(e.kind),
        street_id: Set(e.street_id),
        actor_user_id: Set(cx.actor_id()),
        object_type: Set(e.object_type),
        object_id: Set(e.object_id),
        concerned_user_ids: Set(serde_json::Value::from(e.concerned)),
        payload: Set(e.payload),
        request_id: Set(cx.request_id().map(str::to_owned)),
        created_at: Set(cx.now()),
        ..Default::default()
    }
    .insert(cx)
    .await?;
    cx.tally(Tally::Event(e.kind));
    Ok(())
}
