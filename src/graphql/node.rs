//! Relay's `node(id)` and `nodes(ids)`: any object again by its opaque ID, with the visibility
//! rules of its typed query (`FORBIDDEN` when it exists but is not yours to see).

use async_graphql::{Context, ID, Interface, Object};

use entity::names::ObjectKind;

use crate::domain;
use crate::error::{AppError, AppResult};
use crate::graphql::account::User;
use crate::graphql::award::Award;
use crate::graphql::coupon::{Coupon, CouponClaim};
use crate::graphql::entitlement::Entitlement;
use crate::graphql::invitation::ClerkInvitation;
use crate::graphql::merchant::Merchant;
use crate::graphql::package::{BenefitPackage, PackageItem};
use crate::graphql::pagination::MAX_PAGE;
use crate::graphql::points::PointsEntry;
use crate::graphql::street::{Community, Street};
use crate::graphql::tag::TagRequest;
use crate::graphql::{ContextExt, id};

/// An object with an opaque ID, which `node(id)` finds again.
#[derive(Interface)]
#[graphql(field(name = "id", ty = "ID", desc = "Opaque ID."))]
pub enum Node {
    Street(Street),
    Community(Community),
    Merchant(Merchant),
    Coupon(Coupon),
    CouponClaim(CouponClaim),
    User(User),
    PointsEntry(PointsEntry),
    ClerkInvitation(ClerkInvitation),
    TagRequest(TagRequest),
    BenefitPackage(BenefitPackage),
    PackageItem(PackageItem),
    Award(Award),
    Entitlement(Entitlement),
}

pub(crate) async fn resolve(ctx: &Context<'_>, raw: &ID) -> AppResult<Node> {
    let (kind, n) = id::decode_any("id", raw)?;
    let cx = ctx.cx()?;
    let db = &ctx.state()?.db;
    Ok(match kind {
        ObjectKind::Street => Node::Street(Street(
            domain::street::get(db, n)
                .await?
                .ok_or(AppError::NotFound("street"))?,
        )),
        ObjectKind::Community => Node::Community(Community(
            domain::street::get_community(db, n)
                .await?
                .ok_or(AppError::NotFound("community"))?,
        )),
        ObjectKind::Merchant => {
            Node::Merchant(Merchant::from(domain::merchant::get(&cx, n).await?))
        }
        ObjectKind::Coupon => Node::Coupon(Coupon::from(domain::coupon::query::get(&cx, n).await?)),
        ObjectKind::CouponClaim => {
            Node::CouponClaim(CouponClaim(domain::coupon::query::get_claim(&cx, n).await?))
        }
        ObjectKind::User => {
            let view = domain::account::visible_user(&cx, n).await?;
            if cx.viewer_opt().is_some_and(|v| v.user_id == n) {
                Node::User(User::own(view))
            } else {
                Node::User(User::new(view))
            }
        }
        ObjectKind::ClerkInvitation => {
            Node::ClerkInvitation(ClerkInvitation(domain::invitation::get(&cx, n).await?))
        }
        ObjectKind::TagRequest => Node::TagRequest(TagRequest(domain::tag::get(&cx, n).await?)),
        ObjectKind::PointsEntry => {
            Node::PointsEntry(PointsEntry(domain::points::get_entry(&cx, n).await?))
        }
        ObjectKind::BenefitPackage => {
            Node::BenefitPackage(crate::graphql::package::get(ctx, n).await?)
        }
        ObjectKind::Award => Node::Award(Award(domain::award::get(&cx, n).await?)),
        ObjectKind::Entitlement => {
            Node::Entitlement(Entitlement(domain::entitlement::get(&cx, n).await?))
        }
        ObjectKind::PackageItem => {
            Node::PackageItem(PackageItem(domain::package::get_item(&cx, n).await?))
        }
    })
}

#[derive(Default)]
pub(crate) struct NodeQuery;

#[Object]
impl NodeQuery {
    /// Any object by its opaque ID. `NOT_FOUND` if there is none, `FORBIDDEN` if it is not
    /// visible to you, as with the typed queries.
    async fn node(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "An ID from any object of this API.")] id: ID,
    ) -> AppResult<Node> {
        resolve(ctx, &id).await
    }

    /// Objects by their IDs (at most 100), in the order asked; an ID that is unknown or not
    /// visible to you gives `null` at its place and an error whose `path` points there.
    #[graphql(complexity = "ids.len().max(1) * child_complexity + 1")]
    async fn nodes(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "IDs from any objects of this API, at most 100.")] ids: Vec<ID>,
    ) -> AppResult<Vec<Option<Node>>> {
        if ids.len() > MAX_PAGE as usize {
            return Err(AppError::bad_input(
                "ids",
                crate::error::Text::new("最多 100 个 ID", "At most 100 IDs"),
            ));
        }
        let mut out = Vec::with_capacity(ids.len());
        for (i, raw) in ids.iter().enumerate() {
            match resolve(ctx, raw).await {
                Ok(node) => out.push(Some(node)),
                Err(e) => {
                    let mut err = async_graphql::Error::from(e).into_server_error(ctx.item.pos);
                    err.path = vec![
                        async_graphql::PathSegment::Field(
                            ctx.item.node.response_key().node.to_string(),
                        ),
                        async_graphql::PathSegment::Index(i),
                    ];
                    ctx.add_error(err);
                    out.push(None);
                }
            }
        }
        Ok(out)
    }
}
