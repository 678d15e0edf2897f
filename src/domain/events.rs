//! Events: the record that something happened which a person may want to hear about, written
//! with [`record`] in the same transaction as the change it describes (the outbox pattern), so
//! a change that rolls back leaves no event and a committed one always has its event. The
//! notifications capability delivers them in order of id.

use sea_orm::sea_query::Query;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder,
    QuerySelect, Set,
};

use entity::event;
pub use entity::event::EventKind;
use entity::names::ObjectKind;
use entity::user;
use entity::user_role::{self, Role};

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

/// The staff of a street, who hear of what waits for them (an application, a nomination, a
/// request for a tag).
pub async fn street_staff(conn: &impl ConnectionTrait, street_id: i64) -> AppResult<Vec<i64>> {
    Ok(user::Entity::find()
        .select_only()
        .column(user::Column::Id)
        .filter(user::Column::StreetId.eq(street_id))
        .filter(
            user::Column::Id.in_subquery(
                Query::select()
                    .column(user_role::Column::UserId)
                    .from(user_role::Entity)
                    .and_where(user_role::Column::Role.eq(Role::Staff))
                    .to_owned(),
            ),
        )
        .order_by_asc(user::Column::Id)
        .into_tuple::<i64>()
        .all(conn)
        .await?)
}

/// An event for the staff of `street_id`.
pub async fn tell_street_staff(cx: &Cx<'_>, street_id: i64, event: Event) -> AppResult<()> {
    let mut event = event;
    event.street_id = Some(street_id);
    for id in street_staff(cx, street_id).await? {
        event = event.concerning(id);
    }
    record(cx, event).await
}
