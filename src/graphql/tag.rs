//! Tags: `requestTag`, `reviewTagRequest`, `grantTag`, `revokeTag`, `tagRequests`,
//! `myTagRequests`.

use async_graphql::{Context, Enum, ID, Object};

use entity::names::ObjectKind;
use entity::tag_request::Model;

use crate::domain::lifecycle;
use crate::domain::policy::PersonRights;
use crate::domain::tag::{self as domain, TagRequestAction};
use crate::error::{AppError, AppResult};
use crate::graphql::account::User;
use crate::graphql::loader::UserKey;
use crate::graphql::scalars::DateTime;
use crate::graphql::{ContextExt, id};

/// Where a request for a tag stands.
#[derive(Enum, Copy, Clone, Eq, PartialEq)]
#[graphql(remote = "entity::tag_request::TagRequestStatus")]
pub enum TagRequestStatus {
    /// Waiting for staff of the street.
    Pending,
    /// Verified: the tag is the resident's.
    Granted,
    /// Not verified; `reason` says why.
    Refused,
}

/// What staff decide on a request.
#[derive(Enum, Copy, Clone, Eq, PartialEq)]
pub enum TagDecision {
    /// The tag is the resident's from now on.
    Grant,
    /// Not verified (a reason is required).
    Refuse,
}

pub struct TagRequest(pub Model);

/// A resident's request for a tag that staff of their street verify. Seen by the resident and
/// staff of their street.
#[Object]
impl TagRequest {
    /// Opaque ID.
    pub async fn id(&self) -> ID {
        id::encode(ObjectKind::TagRequest, self.0.id)
    }

    /// The tag asked for, e.g. `COURIER`.
    async fn tag(&self) -> &str {
        &self.0.tag
    }

    /// What the resident wrote for staff (where they work, which team …).
    async fn note(&self) -> &str {
        &self.0.note
    }

    /// Where it stands.
    async fn status(&self) -> TagRequestStatus {
        self.0.status.into()
    }

    /// The steps you may take on it now (`GRANT`, `REFUSE`), by its state and your rights: offer only
    /// these buttons. Its `history` names steps the same way.
    async fn available_actions(&self, ctx: &Context<'_>) -> AppResult<Vec<String>> {
        let person = ctx
            .loader()?
            .load_one(UserKey(self.0.user_id))
            .await?
            .ok_or(AppError::NotFound("user"))?;
        // Staff of a street the resident has left decide nothing for them.
        let street = person.street_id.filter(|s| *s == self.0.street_id);
        let rights = PersonRights::of(ctx.auth().viewer_opt(), self.0.user_id, street);
        Ok(lifecycle::available::<entity::tag_request::Entity>(
            &rights,
            self.0.status,
        ))
    }

    /// Why staff refused it.
    async fn reason(&self) -> Option<&str> {
        self.0.reason.as_deref()
    }

    /// The resident who asked.
    async fn user(&self, ctx: &Context<'_>) -> AppResult<User> {
        let view = crate::domain::account::visible_user(&ctx.cx()?, self.0.user_id).await?;
        Ok(User::new(view))
    }

    /// When it was made.
    async fn created_at(&self) -> DateTime {
        self.0.created_at.into()
    }

    /// When staff decided.
    async fn decided_at(&self) -> Option<DateTime> {
        self.0.decided_at.map(Into::into)
    }
}

#[derive(Default)]
pub(crate) struct TagQuery;

#[Object]
impl TagQuery {
    /// Staff: the pending tag requests of their street, oldest first.
    async fn tag_requests(&self, ctx: &Context<'_>) -> AppResult<Vec<TagRequest>> {
        ctx.viewer()?;
        Ok(domain::pending(&ctx.cx()?)
            .await?
            .into_iter()
            .map(TagRequest)
            .collect())
    }

    /// The signed-in resident's tag requests, newest first.
    async fn my_tag_requests(&self, ctx: &Context<'_>) -> AppResult<Vec<TagRequest>> {
        ctx.viewer()?;
        Ok(domain::mine(&ctx.cx()?)
            .await?
            .into_iter()
            .map(TagRequest)
            .collect())
    }
}

#[derive(Default)]
pub(crate) struct TagMutation;

async fn user_after(ctx: &Context<'_>, user_id: i64) -> AppResult<User> {
    let cx = ctx.cx()?;
    let view = crate::domain::account::visible_user(&cx, user_id).await?;
    Ok(User::new(view))
}

fn user_id(raw: &ID) -> AppResult<i64> {
    id::decode(ObjectKind::User, "userId", raw)
}

#[Object]
impl TagMutation {
    /// A resident asks staff of their street for a tag such as `COURIER` or `VOLUNTEER`; until
    /// granted it counts for nothing. `SENIOR` cannot be asked for: it follows from the birth
    /// date. Asking again while pending answers with that request; `CONFLICT` if one has it.
    async fn request_tag(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "1 to 32 capital letters or underscores.")] tag: String,
        #[graphql(desc = "For staff, up to 200 characters.", default)] note: String,
    ) -> AppResult<TagRequest> {
        ctx.viewer()?;
        Ok(TagRequest(domain::request(&ctx.cx()?, &tag, &note).await?))
    }

    /// Staff of the resident's street grant or refuse a request (never their own).
    async fn review_tag_request(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The request.")] id: ID,
        #[graphql(desc = "Grant or refuse.")] decision: TagDecision,
        #[graphql(desc = "Why, required to refuse.")] reason: Option<String>,
    ) -> AppResult<TagRequest> {
        ctx.viewer()?;
        let n = id::decode(ObjectKind::TagRequest, "id", &id)?;
        let action = match decision {
            TagDecision::Grant => TagRequestAction::Grant,
            TagDecision::Refuse => TagRequestAction::Refuse,
        };
        Ok(TagRequest(
            domain::review(&ctx.cx()?, n, action, reason.as_deref()).await?,
        ))
    }

    /// Staff give a resident of their street a tag directly (audited).
    async fn grant_tag(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The resident.")] user_id: ID,
        #[graphql(desc = "The tag.")] tag: String,
    ) -> AppResult<User> {
        ctx.viewer()?;
        let u = self::user_id(&user_id)?;
        domain::grant(&ctx.cx()?, u, &tag).await?;
        user_after(ctx, u).await
    }

    /// Staff take a tag away from a resident of their street, with a reason (audited).
    async fn revoke_tag(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The resident.")] user_id: ID,
        #[graphql(desc = "The tag.")] tag: String,
        #[graphql(desc = "Why; required.")] reason: String,
    ) -> AppResult<User> {
        ctx.viewer()?;
        let u = self::user_id(&user_id)?;
        domain::revoke(&ctx.cx()?, u, &tag, &reason).await?;
        user_after(ctx, u).await
    }
}
