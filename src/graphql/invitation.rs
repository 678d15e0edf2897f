//! Clerk invitations: `inviteMerchantClerk`, `acceptClerkInvitation`,
//! `declineClerkInvitation`, `revokeClerkInvitation`, `myClerkInvitations`.

use async_graphql::{Context, Enum, ID, Object};

use entity::clerk_invitation::Model;
use entity::names::ObjectKind;

use crate::domain::invitation::{self as domain, InvitationAction, InvitationState};
use crate::domain::policy::InvitationRights;
use crate::error::AppResult;
use crate::graphql::loader::{MerchantKey, UserKey};
use crate::graphql::merchant::{Merchant, merchant_rights};
use crate::graphql::scalars::DateTime;
use crate::graphql::{ContextExt, id};

/// Where an invitation stands.
#[derive(Enum, Copy, Clone, Eq, PartialEq)]
pub enum ClerkInvitationStatus {
    /// Waiting for the person invited.
    Pending,
    /// The person joined as a clerk.
    Accepted,
    /// The person said no.
    Declined,
    /// The owner withdrew it.
    Revoked,
    /// Not answered within 7 days.
    Expired,
}

impl From<InvitationState> for ClerkInvitationStatus {
    fn from(s: InvitationState) -> Self {
        match s {
            InvitationState::Pending => ClerkInvitationStatus::Pending,
            InvitationState::Accepted => ClerkInvitationStatus::Accepted,
            InvitationState::Declined => ClerkInvitationStatus::Declined,
            InvitationState::Revoked => ClerkInvitationStatus::Revoked,
            InvitationState::Expired => ClerkInvitationStatus::Expired,
        }
    }
}

pub struct ClerkInvitation(pub Model);

/// An owner's invitation of a phone number to clerk for the merchant. Seen by the person with
/// that number, the merchant's owner and staff of its street.
#[Object]
impl ClerkInvitation {
    /// Opaque ID.
    pub async fn id(&self) -> ID {
        id::encode(ObjectKind::ClerkInvitation, self.0.id)
    }

    /// The merchant to clerk for.
    async fn merchant(&self, ctx: &Context<'_>) -> AppResult<Merchant> {
        Ok(Merchant::from(
            crate::domain::merchant::find(&ctx.cx()?, self.0.merchant_id).await?,
        ))
    }

    /// The number invited.
    async fn phone(&self) -> &str {
        &self.0.phone
    }

    /// Where it stands now.
    async fn status(&self, ctx: &Context<'_>) -> AppResult<ClerkInvitationStatus> {
        Ok(domain::state(&self.0, ctx.now()?).into())
    }

    /// The steps you may take on it now (`ACCEPT`, `DECLINE`, `REVOKE`), by its state and your rights: offer only
    /// these buttons. Its `history` names steps the same way.
    async fn available_actions(&self, ctx: &Context<'_>) -> AppResult<Vec<String>> {
        let viewer = ctx.auth().viewer_opt();
        let phone = match viewer {
            Some(v) => ctx
                .loader()?
                .load_one(UserKey(v.user_id))
                .await?
                .map(|u| u.phone),
            None => None,
        };
        let status = ctx
            .loader()?
            .load_one(MerchantKey(self.0.merchant_id))
            .await?
            .ok_or(crate::error::AppError::NotFound("merchant"))?
            .status;
        let merchant = merchant_rights(ctx, self.0.street_id, self.0.merchant_id).await?;
        let rights = InvitationRights::of(merchant, phone.as_deref(), &self.0.phone);
        Ok(domain::available(&rights, &self.0, status, ctx.now()?))
    }

    /// When the owner sent it.
    async fn created_at(&self) -> DateTime {
        self.0.created_at.into()
    }

    /// Until when it can be accepted (exclusive).
    async fn expires_at(&self) -> DateTime {
        self.0.expires_at.into()
    }

    /// When it was accepted, declined or revoked.
    async fn decided_at(&self) -> Option<DateTime> {
        self.0.decided_at.map(Into::into)
    }
}

#[derive(Default)]
pub(crate) struct InvitationQuery;

#[Object]
impl InvitationQuery {
    /// The pending invitations to clerk for a merchant that name the signed-in user's phone.
    async fn my_clerk_invitations(&self, ctx: &Context<'_>) -> AppResult<Vec<ClerkInvitation>> {
        ctx.viewer()?;
        Ok(domain::mine(&ctx.cx()?)
            .await?
            .into_iter()
            .map(ClerkInvitation)
            .collect())
    }
}

#[derive(Default)]
pub(crate) struct InvitationMutation;

#[Object]
impl InvitationMutation {
    /// The owner invites a phone number to clerk for an active merchant. The answer is the
    /// same whether or not the number has an account; its holder accepts once signed in.
    /// Inviting a number again while its invitation is pending returns that invitation; a
    /// member's number gets one too, which its holder cannot accept (`CONFLICT`).
    async fn invite_merchant_clerk(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The merchant.")] merchant_id: ID,
        #[graphql(desc = "The mobile number to invite.")] phone: String,
    ) -> AppResult<ClerkInvitation> {
        ctx.viewer()?;
        let m = id::decode(ObjectKind::Merchant, "merchantId", &merchant_id)?;
        Ok(ClerkInvitation(
            domain::invite(&ctx.cx()?, m, &phone).await?,
        ))
    }

    /// The person invited joins the merchant as a clerk (and gains `MERCHANT` from the next
    /// request). `EXPIRED` after 7 days; `INVALID_STATE` once answered or revoked; `CONFLICT`
    /// for a member.
    async fn accept_clerk_invitation(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The invitation.")] id: ID,
    ) -> AppResult<ClerkInvitation> {
        answer(ctx, &id, InvitationAction::Accept).await
    }

    /// The person invited turns it down.
    async fn decline_clerk_invitation(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The invitation.")] id: ID,
    ) -> AppResult<ClerkInvitation> {
        answer(ctx, &id, InvitationAction::Decline).await
    }

    /// The owner withdraws a pending invitation.
    async fn revoke_clerk_invitation(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The invitation.")] id: ID,
    ) -> AppResult<ClerkInvitation> {
        answer(ctx, &id, InvitationAction::Revoke).await
    }
}

async fn answer(
    ctx: &Context<'_>,
    id: &ID,
    action: InvitationAction,
) -> AppResult<ClerkInvitation> {
    ctx.viewer()?;
    let n = id::decode(ObjectKind::ClerkInvitation, "id", id)?;
    Ok(ClerkInvitation(
        domain::decide(&ctx.cx()?, n, action).await?,
    ))
}
