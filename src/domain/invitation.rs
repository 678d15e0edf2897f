//! Clerk invitations. An owner invites a phone number to clerk for the merchant; the answer is
//! the same whether the number has an account (an invitation), so the owner learns nothing
//! about who is registered. The person with that number sees the invitation once signed in
//! (registering first, if need be) and accepts or declines it; the owner may revoke it while it
//! is pending. Invitations last [`VALID_DAYS`] days.

use chrono::{DateTime, Utc};
use sea_orm::sea_query::OnConflict;
use sea_orm::{ActiveModelTrait, ColumnTrait, EntityTrait, QueryFilter, QueryOrder, Set};

use entity::clerk_invitation::{self, InvitationStatus};
use entity::merchant::{self, MerchantStatus};
use entity::merchant_member::{self, MemberRole};
use entity::names::ObjectKind;
use entity::user;
use entity::user_role::Role;

use crate::domain::account::grant_role;
use crate::domain::context::Cx;
use crate::domain::events::{self, Event, EventKind};
use crate::domain::lifecycle::{self, Lifecycle, NoteRule, Rule, Step};
use crate::domain::merchant as merchant_domain;
use crate::domain::policy::{InvitationRights, Who};
use crate::domain::values::{Phone, invalid_state};
use crate::error::{AppError, AppResult, Text};

pub const VALID_DAYS: i64 = 7;

/// A step of an invitation's lifecycle.
#[derive(Clone, Copy, Debug, PartialEq, Eq, sea_orm::EnumIter)]
pub enum InvitationAction {
    Accept,
    Decline,
    Revoke,
}

impl Lifecycle for clerk_invitation::Entity {
    type State = InvitationStatus;
    type Action = InvitationAction;
    const KIND: ObjectKind = ObjectKind::ClerkInvitation;

    fn rules() -> &'static [Rule<InvitationStatus, InvitationAction>] {
        &[
            Rule {
                action: InvitationAction::Accept,
                from: &[InvitationStatus::Pending],
                to: InvitationStatus::Accepted,
                who: Who::Invitee,
                note: NoteRule::None,
                audit: None,
                event: Some(EventKind::ClerkInvitationAccepted),
            },
            Rule {
                action: InvitationAction::Decline,
                from: &[InvitationStatus::Pending],
                to: InvitationStatus::Declined,
                who: Who::Invitee,
                note: NoteRule::None,
                audit: None,
                event: Some(EventKind::ClerkInvitationDeclined),
            },
            Rule {
                action: InvitationAction::Revoke,
                from: &[InvitationStatus::Pending],
                to: InvitationStatus::Revoked,
                who: Who::Owner,
                note: NoteRule::None,
                audit: None,
                event: Some(EventKind::ClerkInvitationRevoked),
            },
        ]
    }

    fn id_column() -> clerk_invitation::Column {
        clerk_invitation::Column::Id
    }

    fn state_column() -> clerk_invitation::Column {
        clerk_invitation::Column::Status
    }

    fn reason_column() -> Option<clerk_invitation::Column> {
        None
    }

    fn updated_at_column() -> Option<clerk_invitation::Column> {
        Some(clerk_invitation::Column::DecidedAt)
    }
}

/// How an invitation reads now: a pending one past its time is expired.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum InvitationState {
    Pending,
    Accepted,
    Declined,
    Revoked,
    Expired,
}

pub fn state(i: &clerk_invitation::Model, now: DateTime<Utc>) -> InvitationState {
    match i.status {
        InvitationStatus::Pending if now >= i.expires_at => InvitationState::Expired,
        InvitationStatus::Pending => InvitationState::Pending,
        InvitationStatus::Accepted => InvitationState::Accepted,
        InvitationStatus::Declined => InvitationState::Declined,
        InvitationStatus::Revoked => InvitationState::Revoked,
    }
}

/// The steps `rights` may take on an invitation at `now`, by name: none once it has expired,
/// and no accepting while its merchant is not an active member.
pub fn available(
    rights: &InvitationRights,
    i: &clerk_invitation::Model,
    merchant: MerchantStatus,
    now: DateTime<Utc>,
) -> Vec<String> {
    lifecycle::available_where::<clerk_invitation::Entity>(rights, i.status, |a| {
        now < i.expires_at && (a != InvitationAction::Accept || merchant == MerchantStatus::Active)
    })
}

/// The owner invites `phone` to clerk for an active merchant, with the same answer whoever
/// holds the number. Inviting the same number again while an invitation is pending answers
/// with that invitation.
pub async fn invite(
    cx: &Cx<'_>,
    merchant_id: i64,
    phone: &str,
) -> AppResult<clerk_invitation::Model> {
    let viewer = cx.viewer()?;
    let phone = Phone::parse("phone", phone)?;
    let tx = cx.write().await?;
    let m = merchant_domain::find(&tx, merchant_id).await?;
    crate::domain::merchant::rights(&tx, Some(viewer), m.street_id, m.id)
        .await?
        .require(Who::Owner)?;
    if m.status != MerchantStatus::Active {
        return Err(invalid_state());
    }
    let now = tx.now();
    // Looked up only to tell the person, never to change the answer: a number that is already
    // a member gets an invitation like any other, which its holder cannot accept.
    let invitee = user::Entity::find()
        .filter(user::Column::Phone.eq(phone.as_str()))
        .one(&tx)
        .await?;
    if let Some(open) = clerk_invitation::Entity::find()
        .filter(clerk_invitation::Column::MerchantId.eq(m.id))
        .filter(clerk_invitation::Column::Phone.eq(phone.as_str()))
        .filter(clerk_invitation::Column::Status.eq(InvitationStatus::Pending))
        .filter(clerk_invitation::Column::ExpiresAt.gt(now))
        .one(&tx)
        .await?
    {
        return Ok(open);
    }
    let invitation = clerk_invitation::ActiveModel {
        merchant_id: Set(m.id),
        street_id: Set(m.street_id),
        phone: Set(phone.into_inner()),
        invited_by: Set(viewer.user_id),
        status: Set(InvitationStatus::Pending),
        created_at: Set(now),
        expires_at: Set(now + chrono::Duration::days(VALID_DAYS)),
        decided_at: Set(None),
        ..Default::default()
    }
    .insert(&tx)
    .await?;
    let mut event = Event::new(
        EventKind::ClerkInvited,
        ObjectKind::ClerkInvitation,
        invitation.id,
    )
    .payload(serde_json::json!({ "merchantId": m.id }));
    event.street_id = Some(m.street_id);
    if let Some(u) = invitee {
        event = event.concerning(u.id);
    }
    events::record(&tx, event).await?;
    tx.commit().await?;
    Ok(invitation)
}

/// The rights of the viewer over an invitation.
async fn rights(cx: &Cx<'_>, i: &clerk_invitation::Model) -> AppResult<InvitationRights> {
    let viewer = cx.viewer_opt();
    let merchant = crate::domain::merchant::rights(cx, viewer, i.street_id, i.merchant_id).await?;
    let phone = match viewer {
        Some(v) => user::Entity::find_by_id(v.user_id)
            .one(cx)
            .await?
            .map(|u| u.phone),
        None => None,
    };
    Ok(InvitationRights::of(merchant, phone.as_deref(), &i.phone))
}

async fn find(cx: &Cx<'_>, id: i64) -> AppResult<clerk_invitation::Model> {
    clerk_invitation::Entity::find_by_id(id)
        .one(cx)
        .await?
        .ok_or(AppError::NotFound("invitation"))
}

/// One invitation, for the person it names, its merchant's owner and staff of its street.
pub async fn get(cx: &Cx<'_>, id: i64) -> AppResult<clerk_invitation::Model> {
    let i = find(cx, id).await?;
    rights(cx, &i).await?.require_read()?;
    Ok(i)
}

/// The pending invitations for the viewer's phone number, newest first.
pub async fn mine(cx: &Cx<'_>) -> AppResult<Vec<clerk_invitation::Model>> {
    let viewer = cx.viewer()?;
    let Some(me) = user::Entity::find_by_id(viewer.user_id).one(cx).await? else {
        return Err(AppError::Unauthenticated);
    };
    Ok(clerk_invitation::Entity::find()
        .filter(clerk_invitation::Column::Phone.eq(me.phone))
        .filter(clerk_invitation::Column::Status.eq(InvitationStatus::Pending))
        .filter(clerk_invitation::Column::ExpiresAt.gt(cx.now()))
        .order_by_desc(clerk_invitation::Column::Id)
        .all(cx)
        .await?)
}

/// The pending invitations of a merchant, for its owner and staff of its street.
pub async fn of_merchant(
    cx: &Cx<'_>,
    m: &merchant::Model,
) -> AppResult<Vec<clerk_invitation::Model>> {
    crate::domain::merchant::rights(cx, Some(cx.viewer()?), m.street_id, m.id)
        .await?
        .require_member_list()?;
    Ok(clerk_invitation::Entity::find()
        .filter(clerk_invitation::Column::MerchantId.eq(m.id))
        .filter(clerk_invitation::Column::Status.eq(InvitationStatus::Pending))
        .filter(clerk_invitation::Column::ExpiresAt.gt(cx.now()))
        .order_by_desc(clerk_invitation::Column::Id)
        .all(cx)
        .await?)
}

/// Answers an invitation: the person invited accepts (joining as a clerk, with the `MERCHANT`
/// role) or declines; the owner revokes.
pub async fn decide(
    cx: &Cx<'_>,
    id: i64,
    action: InvitationAction,
) -> AppResult<clerk_invitation::Model> {
    let viewer = cx.viewer()?;
    let tx = cx.write().await?;
    let i = find(&tx, id).await?;
    let rights = rights(&tx, &i).await?;
    // Only those who may see it learn that it exists.
    rights.require_read()?;
    lifecycle::authorize::<clerk_invitation::Entity>(&rights, action)?;
    match state(&i, tx.now()) {
        InvitationState::Pending => {}
        InvitationState::Expired => return Err(AppError::Expired),
        _ => return Err(invalid_state()),
    }
    let m = merchant_domain::find(&tx, i.merchant_id).await?;
    if action == InvitationAction::Accept && m.status != MerchantStatus::Active {
        return Err(invalid_state());
    }
    let step = Step::<clerk_invitation::Entity>::new(i.id, action)
        .street(m.street_id)
        .concerning(m.owner_user_id)
        .payload(serde_json::json!({ "merchantId": m.id }));
    let decided = lifecycle::apply(&tx, &rights, step).await?;
    if action == InvitationAction::Accept {
        // Two invitations accepted at once, or one for a member: the second is refused here.
        let joined = merchant_member::Entity::insert(merchant_member::ActiveModel {
            merchant_id: Set(m.id),
            user_id: Set(viewer.user_id),
            role: Set(MemberRole::Clerk),
            created_at: Set(tx.now()),
        })
        .on_conflict(
            OnConflict::columns([
                merchant_member::Column::MerchantId,
                merchant_member::Column::UserId,
            ])
            .do_nothing()
            .to_owned(),
        )
        .exec_without_returning(&tx)
        .await?;
        if joined == 0 {
            return Err(AppError::Conflict {
                field: "id".into(),
                text: Text::new("你已是本商户成员", "You are already a member"),
            });
        }
        grant_role(&tx, viewer.user_id, Role::Merchant).await?;
    }
    tx.commit().await?;
    Ok(decided)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_invitation_step_has_one_rule() {
        lifecycle::check_table::<clerk_invitation::Entity>();
    }
}
