//! Merchants as clients see them: `applyMerchant`, `reviewMerchant`, `merchants`, `merchant`, and
//! the owner's profile and clerks.

use crate::graphql::scalars::DateTime;
use async_graphql::{Context, Enum, ID, InputObject, Object, SimpleObject};
use entity::names::ObjectKind;

use entity::merchant as model;
use std::sync::Arc;

use crate::columns;
use crate::domain::merchant::{
    self as domain, Application, Decision, MerchantFilter, MerchantProfile, MerchantSort,
};
use crate::domain::policy::MerchantRights;
use crate::error::{AppError, AppResult};
use crate::graphql::account::User;
use crate::graphql::coupon::Coupon;
use crate::graphql::eager::EagerList;
use crate::graphql::loader::{
    ActiveCouponsOf, CommunityKey, MembersOf, MembershipsOf, StreetKey, columns_below,
    prime_merchants,
};
use crate::graphql::pagination::{
    DEFAULT_PAGE, OrderDirection, connection, connection_field, page_size,
};
use crate::graphql::street::{Community, Street};
use crate::graphql::{ContextExt, id, restricted};
use crate::rows::{Columns, Partial};

/// Where a merchant is in its membership of the alliance.
#[derive(Enum, Copy, Clone, Eq, PartialEq)]
#[graphql(remote = "entity::merchant::MerchantStatus")]
pub enum MerchantStatus {
    /// Applied; waiting for staff.
    Pending,
    /// A member: its offers are public.
    Active,
    /// Refused by staff (see `statusReason`).
    Rejected,
    /// Suspended by staff (see `statusReason`); its offers are hidden.
    Suspended,
}

/// The viewer's rights over a merchant's affairs, from one membership lookup per request
/// however many merchants are listed.
pub async fn merchant_rights(
    ctx: &Context<'_>,
    street_id: i64,
    merchant_id: i64,
) -> AppResult<MerchantRights> {
    let viewer = ctx.auth().viewer_opt();
    let membership = match viewer {
        Some(v) => ctx
            .loader()?
            .load_one(MembershipsOf(v.user_id))
            .await?
            .unwrap_or_default()
            .into_iter()
            .find(|m| m.merchant_id == merchant_id)
            .map(|m| m.role),
        None => None,
    };
    Ok(MerchantRights::of(viewer, street_id, membership))
}

/// Private fields of a merchant's affairs, by [`MerchantRights::require_private_fields`].
pub async fn require_insider(ctx: &Context<'_>, street_id: i64, merchant_id: i64) -> AppResult<()> {
    merchant_rights(ctx, street_id, merchant_id)
        .await?
        .require_private_fields()
}

/// A merchant as a list read it: whole, or with the columns its selection needs
/// ([`FIELD_COLUMNS`]); each field reads through [`Partial::read`], so a column the list did
/// not read is an internal error, never a blank.
pub struct Merchant(pub Partial<Arc<model::Model>>);

impl std::ops::Deref for Merchant {
    type Target = Partial<Arc<model::Model>>;
    fn deref(&self) -> &Self::Target {
        &self.0
    }
}

impl From<model::Model> for Merchant {
    fn from(m: model::Model) -> Merchant {
        Merchant(Partial::all(Arc::new(m)))
    }
}

impl From<Arc<model::Model>> for Merchant {
    fn from(m: Arc<model::Model>) -> Merchant {
        Merchant(Partial::all(m))
    }
}

/// The columns of a merchant, by name.
macro_rules! col {
    ($($c:ident),*) => {
        crate::columns![model::Column: $($c),*]
    };
}

/// A member organisation of the alliance: shop, canteen, supermarket, hospital, enterprise …
#[Object]
impl Merchant {
    /// Opaque ID.
    pub async fn id(&self) -> ID {
        id::encode(ObjectKind::Merchant, self.0.key(|m| m.id))
    }

    /// Name shown to residents.
    async fn name(&self) -> AppResult<&str> {
        self.read(col![Name], |m| m.name.as_str())
    }

    /// One of `CANTEEN`, `SUPERMARKET`, `RESTAURANT`, `HOSPITAL`, `CLINIC`, `PHARMACY`,
    /// `BARBER`, `SHOPPING_MALL`, `RETAIL`, `SERVICE`, `EDUCATION`, `ENTERPRISE`,
    /// `PROPERTY_COMPANY`, `OTHER`.
    async fn category(&self) -> AppResult<&str> {
        self.read(col![Category], |m| m.category.as_str())
    }

    /// Street address.
    async fn address(&self) -> AppResult<&str> {
        self.read(col![Address], |m| m.address.as_str())
    }

    /// The business's contact number (public).
    async fn contact_phone(&self) -> AppResult<&str> {
        self.read(col![ContactPhone], |m| m.contact_phone.as_str())
    }

    /// What the merchant offers.
    async fn description(&self) -> AppResult<&str> {
        self.read(col![Description], |m| m.description.as_str())
    }

    /// Membership status.
    async fn status(&self) -> AppResult<MerchantStatus> {
        self.read(col![Status], |m| m.status.into())
    }

    /// The steps you may take on it now (`APPROVE`, `REJECT`, `SUSPEND`, `REINSTATE`), by its
    /// status and your rights: offer only these buttons. Its `history` names steps the same way.
    async fn available_actions(&self, ctx: &Context<'_>) -> AppResult<Vec<String>> {
        let m = self.whole()?;
        let rights = merchant_rights(ctx, m.street_id, m.id).await?;
        Ok(crate::domain::lifecycle::available::<
            entity::merchant::Entity,
        >(&rights, m.status))
    }

    /// The reason of the last staff decision. Members and staff of the street only.
    async fn status_reason(&self, ctx: &Context<'_>) -> AppResult<Option<&str>> {
        let m = self.whole()?;
        let allowed = require_insider(ctx, m.street_id, m.id).await;
        Ok(restricted(ctx, allowed, || m.status_reason.as_deref()).flatten())
    }

    /// Business licence number. Members and staff of the street only: `null` with a
    /// `FORBIDDEN` error for others, the rest of the merchant intact.
    async fn licence_no(&self, ctx: &Context<'_>) -> AppResult<Option<&str>> {
        let m = self.whole()?;
        let allowed = require_insider(ctx, m.street_id, m.id).await;
        Ok(restricted(ctx, allowed, || m.licence_no.as_str()))
    }

    /// The street whose alliance the merchant belongs to.
    async fn street(&self, ctx: &Context<'_>) -> AppResult<Street> {
        ctx.loader()?
            .load_one(StreetKey(self.read(col![StreetId], |m| m.street_id)?))
            .await?
            .map(Street)
            .ok_or(AppError::NotFound("street"))
    }

    /// The community the merchant is in.
    async fn community(&self, ctx: &Context<'_>) -> AppResult<Option<Community>> {
        let Some(id) = self.read(col![CommunityId], |m| m.community_id)? else {
            return Ok(None);
        };
        Ok(ctx
            .loader()?
            .load_one(CommunityKey(id))
            .await?
            .map(Community))
    }

    /// The merchant's active offers, newest first (at most `first`, default 20, up to 100).
    #[graphql(complexity = "crate::graphql::pagination::page_cost(first, child_complexity)")]
    async fn coupons(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "How many, 0 to 100 (default 20).")] first: Option<i32>,
    ) -> AppResult<EagerList<Coupon>> {
        let n = page_size("first", first, DEFAULT_PAGE)? as usize;
        let needed = columns_below(ctx, crate::graphql::coupon::FIELD_COLUMNS);
        let id = self.0.key(|m| m.id);
        let rows = match ctx.loader()?.load_one(ActiveCouponsOf(id)).await? {
            Some(primed) if primed.columns.covers(needed) => primed.rows,
            // Primed for another selection of the same merchant's coupons in this request.
            _ => crate::domain::coupon::query::active_of_merchants(
                &ctx.state()?.db,
                &[id],
                ctx.now()?,
                Columns::ALL,
            )
            .await?
            .into_iter()
            .map(|c| c.map(Arc::new))
            .collect(),
        };
        Ok(EagerList(rows.into_iter().take(n).map(Coupon).collect()))
    }

    /// The owner and clerks. The owner and staff of the street only (`null` and the error for
    /// others).
    async fn members(&self, ctx: &Context<'_>) -> AppResult<Option<Vec<MerchantMember>>> {
        let viewer = ctx.viewer()?;
        let loader = ctx.loader()?;
        // The viewer's memberships, loaded once per request, give the rights for every row.
        let mine = loader
            .load_one(MembershipsOf(viewer.user_id))
            .await?
            .unwrap_or_default();
        let merchant = self.whole()?;
        let membership = mine
            .iter()
            .find(|m| m.merchant_id == merchant.id)
            .map(|m| m.role);
        MerchantRights::of(Some(viewer), merchant.street_id, membership).require_member_list()?;
        let rows = loader
            .load_one(MembersOf(merchant.id))
            .await?
            .unwrap_or_default();
        Ok(Some(
            rows.into_iter()
                .map(|m| MerchantMember {
                    role: m.role.into(),
                    user: User::new(m.user),
                })
                .collect(),
        ))
    }

    /// Invitations to clerk that wait for an answer. The owner and staff of the street only
    /// (`null` and the error for others).
    async fn clerk_invitations(
        &self,
        ctx: &Context<'_>,
    ) -> AppResult<Option<Vec<crate::graphql::invitation::ClerkInvitation>>> {
        ctx.viewer()?;
        let rows = crate::domain::invitation::of_merchant(&ctx.cx()?, self.whole()?).await?;
        Ok(Some(
            rows.into_iter()
                .map(crate::graphql::invitation::ClerkInvitation)
                .collect(),
        ))
    }

    /// When the merchant applied.
    async fn created_at(&self) -> AppResult<DateTime> {
        self.read(col![CreatedAt], |m| m.created_at.into())
    }
}

/// The column each field of [`Merchant`] reads, for lists that read only what is selected. A
/// field not listed may read any column: selecting it reads the whole row.
pub const FIELD_COLUMNS: &[(&str, Columns)] = &[
    ("__typename", Columns::NONE),
    ("id", columns![model::Column: Id]),
    ("name", columns![model::Column: Name]),
    ("category", columns![model::Column: Category]),
    ("address", columns![model::Column: Address]),
    ("contactPhone", columns![model::Column: ContactPhone]),
    ("description", columns![model::Column: Description]),
    ("status", columns![model::Column: Status]),
    ("createdAt", columns![model::Column: CreatedAt]),
    ("street", columns![model::Column: StreetId]),
    ("community", columns![model::Column: CommunityId]),
    ("coupons", columns![model::Column: Id]),
];

impl crate::graphql::eager::EagerObject for Merchant {
    const READY: &'static [&'static str] = &[
        "id",
        "name",
        "category",
        "address",
        "contactPhone",
        "description",
        "status",
        "createdAt",
    ];
}

/// What a member may do for a merchant.
#[derive(Enum, Copy, Clone, Eq, PartialEq)]
#[graphql(remote = "entity::merchant_member::MemberRole")]
pub enum MemberRole {
    /// Manages the merchant and publishes offers.
    Owner,
    /// Redeems at the counter.
    Clerk,
}

/// A person who acts for a merchant.
#[derive(SimpleObject)]
pub struct MerchantMember {
    /// Owner or clerk.
    pub role: MemberRole,
    /// The account (phone masked except to staff).
    pub user: User,
}

/// A merchant's public profile.
#[derive(InputObject)]
pub struct MerchantProfileInput {
    /// 1 to 64 characters.
    pub name: String,
    /// See `Merchant.category`.
    pub category: String,
    /// 1 to 200 characters.
    pub address: String,
    /// Mainland mobile number of the business.
    pub contact_phone: String,
    /// Up to 1000 characters.
    #[graphql(default)]
    pub description: String,
}

impl From<MerchantProfileInput> for MerchantProfile {
    fn from(p: MerchantProfileInput) -> Self {
        MerchantProfile {
            name: p.name,
            category: p.category,
            address: p.address,
            contact_phone: p.contact_phone,
            description: p.description,
        }
    }
}

/// An application to join a street's alliance.
#[derive(InputObject)]
pub struct ApplyMerchantInput {
    /// The public profile.
    pub profile: MerchantProfileInput,
    /// Business licence number, 4 to 32 letters, digits or hyphens; unique in the street.
    pub licence_no: String,
    /// The community the merchant is in; its street reviews the application.
    pub community_id: ID,
}

/// Staff's answer to an application.
#[derive(Enum, Copy, Clone, Eq, PartialEq)]
pub enum MerchantDecision {
    /// Admit: the merchant becomes `ACTIVE` and its owner gains `MERCHANT`.
    Approve,
    /// Refuse, with a reason.
    Reject,
}

/// A review of a pending merchant.
#[derive(InputObject)]
pub struct ReviewMerchantInput {
    /// The merchant.
    pub merchant_id: ID,
    /// Approve or reject.
    pub decision: MerchantDecision,
    /// Required to reject; optional to approve.
    pub reason: Option<String>,
}

/// Narrows `merchants`.
#[derive(InputObject, Default)]
pub struct MerchantFilterInput {
    /// See `Merchant.category`.
    pub category: Option<String>,
    /// Only merchants in this community.
    pub community_id: Option<ID>,
    /// Only merchants of this street.
    pub street_id: Option<ID>,
    /// Only this status; other than `ACTIVE`, only staff of the street and members see any.
    pub status: Option<MerchantStatus>,
    /// Words in the name or description.
    pub keyword: Option<String>,
}

connection!(
    MerchantConnection,
    MerchantEdge,
    Merchant,
    "A page of merchants.",
    "A merchant and its cursor."
);

/// What merchants can be ordered by; the ID breaks ties.
#[derive(Enum, Copy, Clone, Debug, Default, Eq, PartialEq)]
#[graphql(remote = "crate::domain::merchant::MerchantSort")]
pub enum MerchantOrderField {
    /// When the merchant applied.
    #[default]
    CreatedAt,
    /// By name.
    Name,
}

/// How to order merchants.
#[derive(InputObject, Default)]
pub struct MerchantOrder {
    /// The sort key.
    #[graphql(default)]
    pub field: MerchantOrderField,
    /// Which way.
    #[graphql(default)]
    pub direction: OrderDirection,
}

/// The selection below a connection's nodes, however the client reached them (`edges { node }`
/// or `nodes`), for priming loaders.
pub fn node_selection<'a>(ctx: &'a Context<'_>) -> async_graphql::Lookahead<'a> {
    let edges = ctx.look_ahead().field("edges").field("node");
    if edges.exists() {
        edges
    } else {
        ctx.look_ahead().field("nodes")
    }
}

#[derive(Default)]
pub(crate) struct MerchantQuery;

// A connection's arguments are the filter, the order and the four of the Relay window.
#[allow(clippy::too_many_arguments)]
#[Object]
impl MerchantQuery {
    /// One merchant. `FORBIDDEN` if it exists but is not visible to you.
    async fn merchant(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The merchant.")] id: ID,
    ) -> AppResult<Merchant> {
        let id = id::decode(ObjectKind::Merchant, "id", &id)?;
        Ok(Merchant::from(domain::get(&ctx.cx()?, id).await?))
    }

    /// The merchants the signed-in user owns or clerks for.
    async fn my_merchants(&self, ctx: &Context<'_>) -> AppResult<Vec<Merchant>> {
        let viewer = ctx.viewer()?;
        let db = &ctx.state()?.db;
        let ids: Vec<i64> = domain::memberships_of(db, viewer.user_id)
            .await?
            .into_iter()
            .map(|m| m.merchant_id)
            .collect();
        Ok(domain::by_ids(db, &ids)
            .await?
            .into_iter()
            .map(Merchant::from)
            .collect())
    }
}

#[derive(Default)]
pub(crate) struct MerchantMutation;

#[Object]
impl MerchantMutation {
    /// Applies to join the alliance of the community's street. The merchant is `PENDING` until
    /// staff review it. `CONFLICT` if the licence number already applied in that street.
    async fn apply_merchant(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The application: profile, licence number and community.")]
        input: ApplyMerchantInput,
    ) -> AppResult<Merchant> {
        ctx.viewer()?;
        let community_id = id::decode(ObjectKind::Community, "communityId", &input.community_id)?;
        let m = domain::apply(
            &ctx.cx()?,
            Application {
                profile: input.profile.into(),
                licence_no: input.licence_no,
                community_id,
            },
        )
        .await?;
        Ok(Merchant::from(m))
    }

    /// Staff of the merchant's street approve or reject a pending application.
    async fn review_merchant(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The merchant, the decision and, for a rejection, the reason.")]
        input: ReviewMerchantInput,
    ) -> AppResult<Merchant> {
        let decision = match input.decision {
            MerchantDecision::Approve => Decision::Approve,
            MerchantDecision::Reject => Decision::Reject,
        };
        decide(ctx, &input.merchant_id, decision, input.reason.as_deref()).await
    }

    /// Staff suspend an active merchant, with a reason; its offers disappear from public lists.
    async fn suspend_merchant(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The merchant.")] merchant_id: ID,
        #[graphql(desc = "Shown to the merchant; required.")] reason: String,
    ) -> AppResult<Merchant> {
        decide(ctx, &merchant_id, Decision::Suspend, Some(&reason)).await
    }

    /// Staff reinstate a suspended merchant, with a reason.
    async fn reinstate_merchant(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The merchant.")] merchant_id: ID,
        #[graphql(desc = "Shown to the merchant; required.")] reason: String,
    ) -> AppResult<Merchant> {
        decide(ctx, &merchant_id, Decision::Reinstate, Some(&reason)).await
    }

    /// The owner edits the public profile.
    async fn update_merchant(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The merchant.")] merchant_id: ID,
        #[graphql(desc = "The new public profile.")] input: MerchantProfileInput,
    ) -> AppResult<Merchant> {
        ctx.viewer()?;
        let id = id::decode(ObjectKind::Merchant, "merchantId", &merchant_id)?;
        Ok(Merchant::from(
            domain::update_profile(&ctx.cx()?, id, input.into()).await?,
        ))
    }

    /// The owner removes a clerk.
    async fn remove_merchant_clerk(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The merchant.")] merchant_id: ID,
        #[graphql(desc = "The clerk's user ID.")] user_id: ID,
    ) -> AppResult<Merchant> {
        ctx.viewer()?;
        let id = id::decode(ObjectKind::Merchant, "merchantId", &merchant_id)?;
        let clerk = id::decode(ObjectKind::User, "userId", &user_id)?;
        let cx = ctx.cx()?;
        domain::remove_clerk(&cx, id, clerk).await?;
        Ok(Merchant::from(domain::get(&cx, id).await?))
    }
}

async fn decide(
    ctx: &Context<'_>,
    merchant_id: &ID,
    decision: Decision,
    reason: Option<&str>,
) -> AppResult<Merchant> {
    ctx.viewer()?;
    let id = id::decode(ObjectKind::Merchant, "merchantId", merchant_id)?;
    Ok(Merchant::from(
        domain::decide(&ctx.cx()?, id, decision, reason).await?,
    ))
}

#[derive(Default)]
pub(crate) struct MerchantsQuery;

connection_field! {
    impl MerchantsQuery {
        /// Merchants; by default in the order they applied. The public sees active ones; staff
        /// also every merchant of their street; members also their own.
        async fn merchants(
            &self,
            ctx,
            page,
            #[graphql(desc = "Narrows the list.")] filter: Option<MerchantFilterInput>,
            #[graphql(desc = "Default: `CREATED_AT` ascending.")] order_by: Option<MerchantOrder>,
        ) -> MerchantConnection {
            let window = page.window_reading(ctx, FIELD_COLUMNS)?;
            let o = order_by.unwrap_or_default();
            let order = MerchantSort::from(o.field).order(o.direction.descending());
            let f = filter.unwrap_or_default();
            let filter = MerchantFilter {
                category: f.category,
                community_id: f
                    .community_id
                    .map(|c| id::decode(ObjectKind::Community, "filter.communityId", &c))
                    .transpose()?,
                street_id: f
                    .street_id
                    .map(|s| id::decode(ObjectKind::Street, "filter.streetId", &s))
                    .transpose()?,
                status: f.status.map(Into::into),
                keyword: f.keyword,
            };
            // The page and everything it primes on one connection.
            let cx = ctx.cx()?.on_one_connection();
            let page = domain::list(&cx, filter, order, window)
                .await?
                .map(|m| m.map(Arc::new));
            let rows: Vec<Partial<Arc<model::Model>>> =
                page.rows.iter().map(|(_, m)| m.clone()).collect();
            prime_merchants(ctx, &cx, &rows, node_selection(ctx)).await?;
            Ok(MerchantConnection::new(page, Merchant))
        }
    }
}
