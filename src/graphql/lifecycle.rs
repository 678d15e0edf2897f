//! The history of any object with a lifecycle: one query for every kind, seen by whoever may
//! see the object itself (`node`'s rules).

use async_graphql::{Context, ID, Object};

use entity::lifecycle_step;

use crate::domain::lifecycle;
use crate::domain::policy::{StreetRights, Who};
use crate::graphql::merchant::require_insider;
use crate::graphql::node::Node;
use crate::graphql::pagination::{connection, connection_field};
use crate::graphql::scalars::DateTime;
use crate::graphql::{ContextExt, id};

/// One step an object took in its lifecycle: what was done, from which state to which, with
/// the note it carried.
pub struct LifecycleStep(pub lifecycle_step::Model);

/// One step an object took in its lifecycle: what was done, from which state to which, with
/// the note it carried.
#[Object]
impl LifecycleStep {
    /// What was done, as the object's `availableActions` name it (`APPROVE`, `REJECT` …).
    async fn action(&self) -> &str {
        &self.0.action
    }

    /// The state it left, as the object's `status` gives it (`PENDING` …).
    async fn from_state(&self) -> &str {
        &self.0.from_state
    }

    /// The state it reached.
    async fn to_state(&self) -> &str {
        &self.0.to_state
    }

    /// The note the step carried: the reason of a decision, the reply to a request.
    async fn note(&self) -> Option<&str> {
        self.0.note.as_deref()
    }

    /// When it was taken.
    async fn at(&self) -> DateTime {
        DateTime(self.0.created_at)
    }

    /// Whether you took it yourself.
    async fn by_you(&self, ctx: &Context<'_>) -> bool {
        let viewer = ctx.auth().viewer_opt().map(|v| v.user_id);
        viewer.is_some() && viewer == self.0.actor_user_id
    }
}

impl crate::graphql::eager::EagerObject for LifecycleStep {
    const READY: &'static [&'static str] = &["action", "fromState", "toState", "note", "at"];
}

connection!(
    LifecycleStepConnection,
    LifecycleStepEdge,
    LifecycleStep,
    "A page of an object's lifecycle steps, oldest first.",
    "A lifecycle step in a page."
);

#[derive(Default)]
pub(crate) struct HistoryQuery;

connection_field! {
    impl HistoryQuery {
        /// The steps an object has taken (approved, rejected, paused …), oldest first, with the
        /// notes they carried: for whoever may read the object's reasons. That is who may see
        /// it (`node(id)`), except that the history of a public object (a merchant, a coupon,
        /// a community) is for its members and the staff of its street, and a package's for
        /// its street's staff, not its providers: `NOT_FOUND` if there is none, `FORBIDDEN` if
        /// it is not yours to see.
        async fn history(
            &self,
            ctx,
            page,
            #[graphql(desc = "The object's ID.")] id: ID,
        ) -> LifecycleStepConnection {
            let window = page.window(ctx)?;
            // Each kind's notes go to whoever may read its reasons: no arm, no build.
            match crate::graphql::node::resolve(ctx, &id).await? {
                Node::Merchant(m) => {
                    let m = m.whole()?;
                    require_insider(ctx, m.street_id, m.id).await?
                }
                Node::Coupon(c) => {
                    let c = c.whole()?;
                    require_insider(ctx, c.street_id, c.merchant_id).await?
                }
                Node::Community(c) => {
                    lifecycle::Grants::require(
                        &StreetRights::of(ctx.auth().viewer_opt(), c.0.street_id),
                        Who::StreetStaff,
                    )?;
                }
                // A provider sees a package's title and its own items, not its reasons.
                Node::BenefitPackage(p) => p.whole()?,
                // Seen only by their parties, who read their reasons too.
                Node::CouponClaim(_)
                | Node::ClerkInvitation(_)
                | Node::TagRequest(_)
                | Node::PackageItem(_)
                | Node::Award(_)
                | Node::Entitlement(_) => {}
                // No lifecycle: an empty history.
                Node::Street(_) | Node::User(_) | Node::PointsEntry(_) => {}
            }
            let (kind, n) = id::decode_any("id", &id)?;
            let page = lifecycle::history(&ctx.cx()?, kind, n, window).await?;
            Ok(LifecycleStepConnection::new(page, LifecycleStep))
        }
    }
}
