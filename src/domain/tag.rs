//! Tags on residents. `SENIOR` follows from the birth date (see `audience`). Other tags
//! (`COURIER`, `VOLUNTEER`, or any a street uses) are verified facts: a resident asks for one
//! (`request`) and staff of their street grant or refuse it (`review`), or staff grant one
//! directly; staff revoke one with a reason. Only granted tags are in `user_tags`, which is
//! what audience rules read, so an unverified request counts for nothing.

use sea_orm::sea_query::OnConflict;
use sea_orm::{ActiveModelTrait, ColumnTrait, EntityTrait, QueryFilter, QueryOrder, Set};

use entity::names::ObjectKind;
use entity::tag_request::{self, TagRequestStatus};
use entity::{user, user_tag};

use crate::domain::account::governed_person;
use crate::domain::audience::{SENIOR, check_tag};
use crate::domain::audit::AuditAction;
use crate::domain::context::Cx;
use crate::domain::events::{self, Event, EventKind};
use crate::domain::lifecycle::{self, Lifecycle, NoteRule, RoleChange, Rule, Step};
use crate::domain::policy::{self, PersonRights, Who};
use crate::domain::values::{Reason, text_field};
use crate::error::{AppError, AppResult, Text};

/// A staff decision on a request.
#[derive(Clone, Copy, Debug, PartialEq, Eq, sea_orm::EnumIter)]
pub enum TagRequestAction {
    Grant,
    Refuse,
}

impl Lifecycle for tag_request::Entity {
    type State = TagRequestStatus;
    type Action = TagRequestAction;
    const KIND: ObjectKind = ObjectKind::TagRequest;

    fn rules() -> &'static [Rule<TagRequestStatus, TagRequestAction>] {
        &[
            Rule {
                action: TagRequestAction::Grant,
                from: &[TagRequestStatus::Pending],
                to: TagRequestStatus::Granted,
                who: Who::StreetStaff,
                note: NoteRule::None,
                audit: Some(AuditAction::TagGrant),
                event: Some(EventKind::TagRequestGranted),
            },
            Rule {
                action: TagRequestAction::Refuse,
                from: &[TagRequestStatus::Pending],
                to: TagRequestStatus::Refused,
                who: Who::StreetStaff,
                note: NoteRule::Required,
                audit: Some(AuditAction::TagRefuse),
                event: Some(EventKind::TagRequestRefused),
            },
        ]
    }

    fn id_column() -> tag_request::Column {
        tag_request::Column::Id
    }

    fn state_column() -> tag_request::Column {
        tag_request::Column::Status
    }

    fn reason_column() -> Option<tag_request::Column> {
        Some(tag_request::Column::Reason)
    }

    fn updated_at_column() -> Option<tag_request::Column> {
        Some(tag_request::Column::DecidedAt)
    }
}

/// A tag someone may ask for or be given: any well-formed one but `SENIOR`, which no one is
/// given: it follows from the birth date.
fn grantable(raw: &str) -> AppResult<String> {
    let tag = check_tag("tag", raw)?;
    if tag == SENIOR {
        return Err(AppError::bad_input(
            "tag",
            Text::new(
                "SENIOR 由出生日期自动得出，请在个人资料中填写出生日期",
                "SENIOR follows from the birth date: set it in the profile",
            ),
        ));
    }
    Ok(tag)
}

async fn has_tag(cx: &Cx<'_>, user_id: i64, tag: &str) -> AppResult<bool> {
    Ok(user_tag::Entity::find_by_id((user_id, tag.to_owned()))
        .one(cx)
        .await?
        .is_some())
}

/// A resident of a street asks its staff for a tag. Asking again while a request is pending
/// answers with that request; asking for a tag one has is `CONFLICT`.
pub async fn request(cx: &Cx<'_>, tag: &str, note: &str) -> AppResult<tag_request::Model> {
    cx.viewer()?;
    let tag = grantable(tag)?;
    let note = text_field("note", note, 0, 200, true)?;
    let tx = cx.write().await?;
    // Locked, so two requests at once make one.
    let me = crate::domain::account::own_row_locked(&tx).await?;
    let Some(street_id) = me.street_id else {
        return Err(AppError::InvalidState(Text::new(
            "请先在个人资料中选择所在社区",
            "Choose your community in your profile first",
        )));
    };
    if has_tag(&tx, me.id, &tag).await? {
        return Err(AppError::Conflict {
            field: "tag".into(),
            text: Text::new("你已有这个标签", "You have this tag already"),
        });
    }
    if let Some(open) = tag_request::Entity::find()
        .filter(tag_request::Column::UserId.eq(me.id))
        .filter(tag_request::Column::Tag.eq(tag.as_str()))
        .filter(tag_request::Column::Status.eq(TagRequestStatus::Pending))
        .one(&tx)
        .await?
    {
        return Ok(open);
    }
    let r = tag_request::ActiveModel {
        user_id: Set(me.id),
        street_id: Set(street_id),
        tag: Set(tag),
        note: Set(note),
        status: Set(TagRequestStatus::Pending),
        reason: Set(None),
        created_at: Set(tx.now()),
        decided_at: Set(None),
        ..Default::default()
    }
    .insert(&tx)
    .await?;
    let waiting = Event::new(EventKind::TagRequestSubmitted, ObjectKind::TagRequest, r.id)
        .payload(serde_json::json!({ "tag": r.tag }));
    events::tell_street_staff(&tx, street_id, waiting).await?;
    tx.commit().await?;
    Ok(r)
}

/// Staff of the requester's street (never the requester) grant or refuse a request; a refusal
/// needs a reason.
pub async fn review(
    cx: &Cx<'_>,
    id: i64,
    action: TagRequestAction,
    reason: Option<&str>,
) -> AppResult<tag_request::Model> {
    let viewer = cx.viewer()?;
    let tx = cx.write().await?;
    let r = tag_request::Entity::find_by_id(id)
        .one(&tx)
        .await?
        .ok_or(AppError::NotFound("tag request"))?;
    // The resident's street now, not when they asked: staff of a street they left decide
    // nothing for them.
    let person = user::Entity::find_by_id(r.user_id)
        .one(&tx)
        .await?
        .ok_or(AppError::NotFound("user"))?;
    let street = person.street_id.filter(|s| *s == r.street_id);
    let rights = PersonRights::of(Some(viewer), r.user_id, street);
    let step = Step::<tag_request::Entity>::new(r.id, action)
        .street(r.street_id)
        .reason(reason)
        .concerning(r.user_id)
        .payload(serde_json::json!({ "tag": r.tag }));
    let decided = lifecycle::apply(&tx, &rights, step).await?;
    if action == TagRequestAction::Grant {
        give(&tx, r.user_id, &r.tag).await?;
    }
    tx.commit().await?;
    Ok(decided)
}

async fn give(cx: &Cx<'_>, user_id: i64, tag: &str) -> AppResult<()> {
    user_tag::Entity::insert(user_tag::ActiveModel {
        user_id: Set(user_id),
        tag: Set(tag.to_owned()),
    })
    .on_conflict(
        OnConflict::columns([user_tag::Column::UserId, user_tag::Column::Tag])
            .do_nothing()
            .to_owned(),
    )
    .exec_without_returning(cx)
    .await?;
    Ok(())
}

/// Staff give a resident of their street a tag directly (having verified it in person).
pub async fn grant(cx: &Cx<'_>, user_id: i64, tag: &str) -> AppResult<()> {
    let tag = grantable(tag)?;
    let tx = cx.write().await?;
    let u = governed_person(&tx, user_id).await?;
    if !has_tag(&tx, u.id, &tag).await? {
        give(&tx, u.id, &tag).await?;
        let change = RoleChange::new(u.street_id, ObjectKind::User, u.id, AuditAction::TagGrant)
            .change(
                serde_json::json!({ "tag": null }),
                serde_json::json!({ "tag": tag }),
            )
            .tell(
                EventKind::TagGranted,
                vec![u.id],
                serde_json::json!({ "tag": tag }),
            );
        lifecycle::record_role_change(&tx, change).await?;
    }
    tx.commit().await
}

/// Staff take a tag away from a resident of their street, with a reason.
pub async fn revoke(cx: &Cx<'_>, user_id: i64, tag: &str, reason: &str) -> AppResult<()> {
    let tag = check_tag("tag", tag)?;
    let reason = Reason::parse("reason", reason)?.into_inner();
    let tx = cx.write().await?;
    let u = governed_person(&tx, user_id).await?;
    let removed = user_tag::Entity::delete_by_id((u.id, tag.clone()))
        .exec(&tx)
        .await?;
    if removed.rows_affected == 0 {
        return Err(AppError::NotFound("tag"));
    }
    let change = RoleChange::new(u.street_id, ObjectKind::User, u.id, AuditAction::TagRevoke)
        .reason(Some(reason))
        .change(
            serde_json::json!({ "tag": tag }),
            serde_json::json!({ "tag": null }),
        )
        .tell(
            EventKind::TagRevoked,
            vec![u.id],
            serde_json::json!({ "tag": tag }),
        );
    lifecycle::record_role_change(&tx, change).await?;
    tx.commit().await
}

/// The pending requests of the staff member's street, oldest first.
pub async fn pending(cx: &Cx<'_>) -> AppResult<Vec<tag_request::Model>> {
    let street = policy::governed_street(cx.viewer()?)?;
    Ok(tag_request::Entity::find()
        .filter(tag_request::Column::StreetId.eq(street))
        .filter(tag_request::Column::Status.eq(TagRequestStatus::Pending))
        .order_by_asc(tag_request::Column::Id)
        .all(cx)
        .await?)
}

/// The signed-in person's requests, newest first.
pub async fn mine(cx: &Cx<'_>) -> AppResult<Vec<tag_request::Model>> {
    let viewer = cx.viewer()?;
    Ok(tag_request::Entity::find()
        .filter(tag_request::Column::UserId.eq(viewer.user_id))
        .order_by_desc(tag_request::Column::Id)
        .all(cx)
        .await?)
}

/// One request: for the person who made it and staff of their street.
pub async fn get(cx: &Cx<'_>, id: i64) -> AppResult<tag_request::Model> {
    let r = tag_request::Entity::find_by_id(id)
        .one(cx)
        .await?
        .ok_or(AppError::NotFound("tag request"))?;
    PersonRights::of(cx.viewer_opt(), r.user_id, Some(r.street_id)).require_personal()?;
    Ok(r)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_tag_request_step_has_one_rule() {
        lifecycle::check_table::<tag_request::Entity>();
    }
}
