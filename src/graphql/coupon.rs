//! Coupons and claims as clients see them: `createCoupon`, `publishCoupon`, `pauseCoupon`,
//! `endCoupon`, `takeDownCoupon`, `coupons`, `coupon`, `claimCoupon`, `myCoupons`,
//! `couponClaims`, `redeemCoupon`, `voidCouponClaim`.

use crate::graphql::scalars::DateTime;
use async_graphql::{Context, Enum, ID, InputObject, Object, SimpleObject};
use entity::names::ObjectKind;

use entity::{coupon as model, coupon_claim};
use std::sync::Arc;

use crate::columns;
use crate::domain::audience::Audience;
use crate::domain::codes::display_code;
use crate::domain::coupon::claim;
use crate::domain::coupon::query::{self, ClaimSort, CouponFilter, CouponSort};
use crate::domain::coupon::{self as domain, NewCoupon, Transition};
use crate::domain::page::Order;
use crate::domain::policy::{self, PersonRights};
use crate::domain::values::mask_phone;
use crate::error::{AppError, AppResult};
use crate::graphql::loader::{
    AudienceOf, CommunityKey, CouponKey, MerchantKey, UserKey, prime_coupons,
};
use crate::graphql::merchant::node_selection;
use crate::graphql::merchant::{Merchant, merchant_rights, require_insider};
use crate::graphql::pagination::{OrderDirection, connection, connection_field};
use crate::graphql::street::Community;
use crate::graphql::{ContextExt, id, restricted};
use crate::rows::{Columns, Partial};

/// `DRAFT → ACTIVE ⇄ PAUSED → ENDED`.
#[derive(Enum, Copy, Clone, Eq, PartialEq)]
#[graphql(remote = "entity::coupon::CouponStatus")]
pub enum CouponStatus {
    /// Being prepared; only the merchant sees it.
    Draft,
    /// Public and claimable within its validity.
    Active,
    /// Temporarily not claimable.
    Paused,
    /// Over for good.
    Ended,
}

/// What a coupon gives.
#[derive(Enum, Copy, Clone, Eq, PartialEq)]
#[graphql(remote = "entity::coupon::CouponKind")]
pub enum CouponKind {
    /// 满减: `amountFen` off a bill of at least `minSpendFen`.
    AmountOff,
    /// `percentOff` percent off, optionally above `minSpendFen`.
    PercentOff,
    /// A free item or service, `itemName`.
    FreeItem,
    /// A voucher worth `amountFen`.
    CashVoucher,
}

/// `CLAIMED → REDEEMED | EXPIRED | VOIDED`.
#[derive(Enum, Copy, Clone, Eq, PartialEq)]
#[graphql(remote = "crate::domain::coupon::claim::ClaimState")]
pub enum CouponClaimStatus {
    /// Held, not yet used.
    Claimed,
    /// Used at the counter.
    Redeemed,
    /// Not used before the coupon's `validUntil`.
    Expired,
    /// Cancelled by the merchant or staff.
    Voided,
}

/// Who may claim a coupon. Empty lists mean anyone.
#[derive(SimpleObject)]
pub struct CouponAudience {
    /// A resident needs any one of these tags, e.g. `SENIOR`.
    pub tags: Vec<String>,
    /// A resident must be at least this old (by the birth date on their account).
    pub min_age: Option<i32>,
    /// A resident must live in one of these communities.
    pub communities: Vec<Community>,
}

/// A coupon as a list read it: whole, or with the columns its selection needs
/// ([`FIELD_COLUMNS`]); each field reads through [`Partial::read`], so a column the list did not
/// read is an internal error, never a blank.
pub struct Coupon(pub Partial<Arc<model::Model>>);

impl std::ops::Deref for Coupon {
    type Target = Partial<Arc<model::Model>>;
    fn deref(&self) -> &Self::Target {
        &self.0
    }
}

impl From<model::Model> for Coupon {
    fn from(m: model::Model) -> Coupon {
        Coupon(Partial::all(Arc::new(m)))
    }
}

impl From<Arc<model::Model>> for Coupon {
    fn from(m: Arc<model::Model>) -> Coupon {
        Coupon(Partial::all(m))
    }
}

/// The columns of a coupon, by name.
macro_rules! col {
    ($($c:ident),*) => {
        crate::columns![model::Column: $($c),*]
    };
}

impl Coupon {
    async fn insider(&self, ctx: &Context<'_>) -> AppResult<()> {
        let (street, merchant) =
            self.read(col![StreetId, MerchantId], |m| (m.street_id, m.merchant_id))?;
        require_insider(ctx, street, merchant).await
    }
}

/// An offer a merchant publishes (优惠券 / 消费券). Money is in fen.
#[Object]
impl Coupon {
    /// Opaque ID.
    pub async fn id(&self) -> ID {
        id::encode(ObjectKind::Coupon, self.0.key(|m| m.id))
    }

    /// The issuing merchant.
    async fn merchant(&self, ctx: &Context<'_>) -> AppResult<Merchant> {
        ctx.loader()?
            .load_one(MerchantKey(self.read(col![MerchantId], |m| m.merchant_id)?))
            .await?
            .map(Merchant::from)
            .ok_or(AppError::NotFound("merchant"))
    }

    /// The steps you may take on it now (`PUBLISH`, `PAUSE`, `END`, `TAKE_DOWN`), by its
    /// status and your rights: offer only these buttons. Publishing is still refused once the
    /// validity has ended or while the merchant is not active.
    async fn available_actions(&self, ctx: &Context<'_>) -> AppResult<Vec<String>> {
        let c = self.whole()?;
        let rights = merchant_rights(ctx, c.street_id, c.merchant_id).await?;
        Ok(crate::domain::lifecycle::available::<model::Entity>(
            &rights, c.status,
        ))
    }

    /// Short title, e.g. 银发专享午餐 8 折.
    async fn title(&self) -> AppResult<&str> {
        self.read(col![Title], |m| m.title.as_str())
    }

    /// Terms and details.
    async fn description(&self) -> AppResult<&str> {
        self.read(col![Description], |m| m.description.as_str())
    }

    /// What the coupon gives.
    async fn kind(&self) -> AppResult<CouponKind> {
        self.read(col![Kind], |m| m.kind.into())
    }

    /// Amount off (`AMOUNT_OFF`) or face value (`CASH_VOUCHER`), in fen.
    async fn amount_fen(&self) -> AppResult<Option<i64>> {
        self.read(col![AmountFen], |m| m.amount_fen)
    }

    /// Minimum bill, in fen.
    async fn min_spend_fen(&self) -> AppResult<Option<i64>> {
        self.read(col![MinSpendFen], |m| m.min_spend_fen)
    }

    /// Percent taken off (`PERCENT_OFF`): 15 means 85% of the price is paid.
    async fn percent_off(&self) -> AppResult<Option<i32>> {
        self.read(col![PercentOff], |m| m.percent_off)
    }

    /// The free item or service (`FREE_ITEM`).
    async fn item_name(&self) -> AppResult<Option<&str>> {
        self.read(col![ItemName], |m| m.item_name.as_deref())
    }

    /// Points a claim costs; 0 for a plain offer.
    async fn points_cost(&self) -> AppResult<i32> {
        self.read(col![PointsCost], |m| m.points_cost)
    }

    /// Units issued; null when unlimited.
    async fn total_stock(&self) -> AppResult<Option<i32>> {
        self.read(col![TotalStock], |m| m.total_stock)
    }

    /// Units left to claim; null when unlimited.
    async fn remaining_stock(&self) -> AppResult<Option<i32>> {
        self.read(col![RemainingStock], |m| m.remaining_stock)
    }

    /// How many a resident may hold (voided claims do not count).
    async fn per_user_limit(&self) -> AppResult<i32> {
        self.read(col![PerUserLimit], |m| m.per_user_limit)
    }

    /// Claimable and redeemable from.
    async fn valid_from(&self) -> AppResult<DateTime> {
        self.read(col![ValidFrom], |m| m.valid_from.into())
    }

    /// Claimable and redeemable until (exclusive).
    async fn valid_until(&self) -> AppResult<DateTime> {
        self.read(col![ValidUntil], |m| m.valid_until.into())
    }

    /// Who may claim it.
    async fn audience(&self, ctx: &Context<'_>) -> AppResult<CouponAudience> {
        let rules = ctx
            .loader()?
            .load_one(AudienceOf(self.0.key(|m| m.id)))
            .await?
            .unwrap_or_default();
        let a = query::audience(self.whole()?, &rules)?;
        let keys: Vec<CommunityKey> = a.community_ids.iter().map(|c| CommunityKey(*c)).collect();
        let found = ctx.loader()?.load_many(keys.iter().copied()).await?;
        let communities = keys
            .iter()
            .filter_map(|k| found.get(k).cloned().map(Community))
            .collect();
        Ok(CouponAudience {
            tags: a.tags,
            min_age: a.min_age,
            communities,
        })
    }

    /// Lifecycle state.
    async fn status(&self) -> AppResult<CouponStatus> {
        self.read(col![Status], |m| m.status.into())
    }

    /// Why staff took it down. Its merchant and staff of the street only.
    async fn status_reason(&self, ctx: &Context<'_>) -> AppResult<Option<&str>> {
        let allowed = self.insider(ctx).await;
        let c = self.whole()?;
        Ok(restricted(ctx, allowed, || c.status_reason.as_deref()).flatten())
    }

    /// Claims made. Its merchant and staff of the street only: `null` with a `FORBIDDEN` error
    /// for others, the rest of the coupon intact.
    async fn claimed_count(&self, ctx: &Context<'_>) -> AppResult<Option<i32>> {
        let allowed = self.insider(ctx).await;
        let c = self.whole()?;
        Ok(restricted(ctx, allowed, || c.claimed_count))
    }

    /// Claims redeemed. Its merchant and staff of the street only (`null` and `FORBIDDEN` for
    /// others).
    async fn redeemed_count(&self, ctx: &Context<'_>) -> AppResult<Option<i32>> {
        let allowed = self.insider(ctx).await;
        let c = self.whole()?;
        Ok(restricted(ctx, allowed, || c.redeemed_count))
    }

    /// When it was created.
    async fn created_at(&self) -> AppResult<DateTime> {
        self.read(col![CreatedAt], |m| m.created_at.into())
    }
}

/// The column each field of [`Coupon`] reads, for lists that read only what is selected. A
/// field not listed may read any column: selecting it reads the whole row.
pub const FIELD_COLUMNS: &[(&str, Columns)] = &[
    ("__typename", Columns::NONE),
    ("id", columns![model::Column: Id]),
    ("merchant", columns![model::Column: MerchantId]),
    ("title", columns![model::Column: Title]),
    ("description", columns![model::Column: Description]),
    ("kind", columns![model::Column: Kind]),
    ("amountFen", columns![model::Column: AmountFen]),
    ("minSpendFen", columns![model::Column: MinSpendFen]),
    ("percentOff", columns![model::Column: PercentOff]),
    ("itemName", columns![model::Column: ItemName]),
    ("pointsCost", columns![model::Column: PointsCost]),
    ("totalStock", columns![model::Column: TotalStock]),
    ("remainingStock", columns![model::Column: RemainingStock]),
    ("perUserLimit", columns![model::Column: PerUserLimit]),
    ("validFrom", columns![model::Column: ValidFrom]),
    ("validUntil", columns![model::Column: ValidUntil]),
    ("status", columns![model::Column: Status]),
    ("createdAt", columns![model::Column: CreatedAt]),
];

impl crate::graphql::eager::EagerObject for Coupon {
    const READY: &'static [&'static str] = &[
        "id",
        "title",
        "description",
        "kind",
        "amountFen",
        "minSpendFen",
        "percentOff",
        "itemName",
        "pointsCost",
        "totalStock",
        "remainingStock",
        "perUserLimit",
        "validFrom",
        "validUntil",
        "status",
        "createdAt",
    ];
}

/// The resident who holds a claim, as the merchant and staff see them.
#[derive(SimpleObject)]
pub struct ClaimHolder {
    /// Display name.
    pub display_name: String,
    /// Masked (`138****5678`) except to staff of the resident's street and the resident.
    pub phone: String,
}

pub struct CouponClaim(pub coupon_claim::Model);

/// One resident's claimed coupon (领券).
#[Object]
impl CouponClaim {
    /// Opaque ID.
    pub async fn id(&self) -> ID {
        id::encode(ObjectKind::CouponClaim, self.0.id)
    }

    /// The coupon claimed.
    async fn coupon(&self, ctx: &Context<'_>) -> AppResult<Coupon> {
        ctx.loader()?
            .load_one(CouponKey(self.0.coupon_id))
            .await?
            .map(Coupon::from)
            .ok_or(AppError::NotFound("coupon"))
    }

    /// The code to show at the counter, `XXXX-XXXX-XXXX`. The holder only (`null` and
    /// `FORBIDDEN` for others).
    async fn code(&self, ctx: &Context<'_>) -> Option<String> {
        let allowed = policy::require_holder(ctx.auth().viewer_opt(), self.0.user_id);
        restricted(ctx, allowed, || display_code(&self.0.code))
    }

    /// What to render as a QR code for the merchant to scan. The holder only (`null` and
    /// `FORBIDDEN` for others).
    async fn qr_payload(&self, ctx: &Context<'_>) -> Option<String> {
        let allowed = policy::require_holder(ctx.auth().viewer_opt(), self.0.user_id);
        restricted(ctx, allowed, || {
            format!("{}{}", domain::QR_PREFIX, self.0.code)
        })
    }

    /// State now; an unused claim past the coupon's validity reads `EXPIRED`.
    async fn status(&self, ctx: &Context<'_>) -> AppResult<CouponClaimStatus> {
        Ok(claim::claim_state(&self.0, ctx.now()?).into())
    }

    /// The steps you may take on it now (`REDEEM`, `VOID`), by its state and your rights: offer only
    /// these buttons. Its `history` names steps the same way.
    async fn available_actions(&self, ctx: &Context<'_>) -> AppResult<Vec<String>> {
        let m = ctx
            .loader()?
            .load_one(MerchantKey(self.0.merchant_id))
            .await?
            .ok_or(AppError::NotFound("merchant"))?;
        let holder = ctx
            .auth()
            .viewer_opt()
            .is_some_and(|v| v.user_id == self.0.user_id);
        let rights = merchant_rights(ctx, m.street_id, m.id)
            .await?
            .as_party(holder);
        Ok(claim::available(&rights, &self.0, m.status, ctx.now()?))
    }

    /// When it was claimed.
    async fn claimed_at(&self) -> DateTime {
        self.0.claimed_at.into()
    }

    /// When it stops being redeemable.
    async fn expires_at(&self) -> DateTime {
        self.0.expires_at.into()
    }

    /// Points paid for it (refunded if voided unredeemed).
    async fn points_spent(&self) -> i32 {
        self.0.points_spent
    }

    /// When it was redeemed.
    async fn redeemed_at(&self) -> Option<DateTime> {
        self.0.redeemed_at.map(DateTime)
    }

    /// Why it was voided.
    async fn void_reason(&self) -> Option<&str> {
        self.0.void_reason.as_deref()
    }

    /// The resident holding it, phone masked for the merchant.
    async fn holder(&self, ctx: &Context<'_>) -> AppResult<ClaimHolder> {
        let u = ctx
            .loader()?
            .load_one(UserKey(self.0.user_id))
            .await?
            .ok_or(AppError::NotFound("user"))?;
        let phone = if PersonRights::of(ctx.auth().viewer_opt(), u.id, u.street_id).personal {
            u.phone.clone()
        } else {
            mask_phone(&u.phone)
        };
        Ok(ClaimHolder {
            display_name: u.display_name,
            phone,
        })
    }
}

impl crate::graphql::eager::EagerObject for CouponClaim {
    const READY: &'static [&'static str] = &[
        "id",
        "claimedAt",
        "expiresAt",
        "pointsSpent",
        "redeemedAt",
        "voidReason",
    ];
}

/// Audience rules of a new coupon.
#[derive(InputObject, Default)]
pub struct CouponAudienceInput {
    /// Residents with any of these tags, e.g. `["SENIOR"]`.
    #[graphql(default)]
    pub tags: Vec<String>,
    /// Residents at least this old, 0 to 120.
    pub min_age: Option<i32>,
    /// Residents of these communities (of the merchant's street).
    #[graphql(default)]
    pub community_ids: Vec<ID>,
}

/// A new coupon, created as a `DRAFT`. Amounts in fen.
#[derive(InputObject)]
pub struct CreateCouponInput {
    /// The merchant issuing it; you must be its owner.
    pub merchant_id: ID,
    /// 1 to 64 characters.
    pub title: String,
    /// Up to 1000 characters.
    #[graphql(default)]
    pub description: String,
    /// What it gives; decides which of the next four fields it takes.
    pub kind: CouponKind,
    /// `AMOUNT_OFF`, `CASH_VOUCHER`: 1 to 100000000 fen.
    pub amount_fen: Option<i32>,
    /// `AMOUNT_OFF` (at least `amountFen`), `PERCENT_OFF`: minimum bill in fen.
    pub min_spend_fen: Option<i32>,
    /// `PERCENT_OFF`: 1 to 99.
    pub percent_off: Option<i32>,
    /// `FREE_ITEM`: 1 to 64 characters.
    pub item_name: Option<String>,
    /// Units to issue, 1 to 1000000; null for unlimited.
    pub total_stock: Option<i32>,
    /// How many one resident may hold, 1 to 100 (default 1).
    pub per_user_limit: Option<i32>,
    /// Start of validity.
    pub valid_from: DateTime,
    /// End of validity; after `validFrom` and in the future.
    pub valid_until: DateTime,
    /// Who may claim; anyone when omitted.
    pub audience: Option<CouponAudienceInput>,
    /// Points a claim costs (商家回馈), 0 to 100000 (default 0); debited when claimed,
    /// refunded if the claim is voided unredeemed.
    pub points_cost: Option<i32>,
}

/// Narrows `coupons`.
#[derive(InputObject, Default)]
pub struct CouponFilterInput {
    /// Only this merchant's.
    pub merchant_id: Option<ID>,
    /// Only this kind.
    pub kind: Option<CouponKind>,
    /// Only this status (other than `ACTIVE`: the merchant's own and staff only).
    pub status: Option<CouponStatus>,
    /// Only coupons the signed-in resident may claim (tags, age, community).
    #[graphql(default)]
    pub eligible_only: bool,
    /// Only coupons whose title or description contains this (1 to 32 characters).
    pub keyword: Option<String>,
}

connection!(
    CouponConnection,
    CouponEdge,
    Coupon,
    "A page of coupons.",
    "A coupon and its cursor."
);
connection!(
    CouponClaimConnection,
    CouponClaimEdge,
    CouponClaim,
    "A page of coupon claims.",
    "A claim and its cursor."
);

/// What coupons can be ordered by; the ID breaks ties.
#[derive(Enum, Copy, Clone, Debug, Default, Eq, PartialEq)]
#[graphql(remote = "crate::domain::coupon::query::CouponSort")]
pub enum CouponOrderField {
    /// When the merchant created the coupon.
    #[default]
    CreatedAt,
    /// When its validity ends.
    ValidUntil,
}

/// How to order coupons.
#[derive(InputObject)]
pub struct CouponOrder {
    /// The sort key.
    #[graphql(default)]
    pub field: CouponOrderField,
    /// Which way (default newest or soonest-ending last: `DESC`).
    #[graphql(default_with = "OrderDirection::Desc")]
    pub direction: OrderDirection,
}

impl Default for CouponOrder {
    fn default() -> Self {
        CouponOrder {
            field: CouponOrderField::CreatedAt,
            direction: OrderDirection::Desc,
        }
    }
}

/// What claims can be ordered by; the ID breaks ties.
#[derive(Enum, Copy, Clone, Debug, Default, Eq, PartialEq)]
#[graphql(remote = "crate::domain::coupon::query::ClaimSort")]
pub enum CouponClaimOrderField {
    /// When it was claimed.
    #[default]
    ClaimedAt,
    /// When it stops being redeemable.
    ExpiresAt,
}

/// How to order claims.
#[derive(InputObject)]
pub struct CouponClaimOrder {
    /// The sort key.
    #[graphql(default)]
    pub field: CouponClaimOrderField,
    /// Which way (default `DESC`: newest first).
    #[graphql(default_with = "OrderDirection::Desc")]
    pub direction: OrderDirection,
}

impl Default for CouponClaimOrder {
    fn default() -> Self {
        CouponClaimOrder {
            field: CouponClaimOrderField::ClaimedAt,
            direction: OrderDirection::Desc,
        }
    }
}

#[derive(Default)]
pub(crate) struct CouponQuery;

// A connection's arguments are the filter, the order and the four of the Relay window.
#[allow(clippy::too_many_arguments)]
#[Object]
impl CouponQuery {
    /// One coupon. `FORBIDDEN` if it exists but is not visible to you.
    async fn coupon(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The coupon.")] id: ID,
    ) -> AppResult<Coupon> {
        let id = id::decode(ObjectKind::Coupon, "id", &id)?;
        Ok(Coupon::from(query::get(&ctx.cx()?, id).await?))
    }
}

#[derive(Default)]
pub(crate) struct CouponMutation;

#[Object]
impl CouponMutation {
    /// The merchant's owner creates a coupon as a `DRAFT`.
    async fn create_coupon(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The offer: terms, stock, limits, validity and audience.")]
        input: CreateCouponInput,
    ) -> AppResult<Coupon> {
        ctx.viewer()?;
        let audience = input.audience.unwrap_or_default();
        let community_ids = audience
            .community_ids
            .iter()
            .map(|c| id::decode(ObjectKind::Community, "audience.communityIds", c))
            .collect::<AppResult<Vec<_>>>()?;
        let c = domain::create(
            &ctx.cx()?,
            NewCoupon {
                merchant_id: id::decode(ObjectKind::Merchant, "merchantId", &input.merchant_id)?,
                title: input.title,
                description: input.description,
                kind: input.kind.into(),
                amount_fen: input.amount_fen.map(i64::from),
                min_spend_fen: input.min_spend_fen.map(i64::from),
                percent_off: input.percent_off,
                item_name: input.item_name,
                total_stock: input.total_stock,
                per_user_limit: input.per_user_limit,
                valid_from: input.valid_from.0,
                valid_until: input.valid_until.0,
                audience: Audience {
                    tags: audience.tags,
                    min_age: audience.min_age,
                    community_ids,
                },
                points_cost: input.points_cost,
            },
        )
        .await?;
        Ok(Coupon::from(c))
    }

    /// The owner publishes a draft or resumes a paused coupon.
    async fn publish_coupon(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The coupon.")] id: ID,
    ) -> AppResult<Coupon> {
        move_coupon(ctx, &id, Transition::Publish, None).await
    }

    /// The owner pauses an active coupon.
    async fn pause_coupon(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The coupon.")] id: ID,
    ) -> AppResult<Coupon> {
        move_coupon(ctx, &id, Transition::Pause, None).await
    }

    /// The owner ends an active or paused coupon, for good.
    async fn end_coupon(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The coupon.")] id: ID,
    ) -> AppResult<Coupon> {
        move_coupon(ctx, &id, Transition::End, None).await
    }

    /// Staff of the street end a coupon, with a reason.
    async fn take_down_coupon(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The coupon.")] id: ID,
        #[graphql(desc = "Shown to the merchant; required.")] reason: String,
    ) -> AppResult<Coupon> {
        move_coupon(ctx, &id, Transition::TakeDown, Some(&reason)).await
    }

    /// A resident claims one unit. `OUT_OF_STOCK`, `LIMIT_REACHED`, `NOT_ELIGIBLE`, `EXPIRED`
    /// (outside the validity), `INVALID_STATE` (not active), `INSUFFICIENT_POINTS`.
    async fn claim_coupon(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The coupon to claim.")] coupon_id: ID,
    ) -> AppResult<CouponClaim> {
        ctx.viewer()?;
        let id = id::decode(ObjectKind::Coupon, "couponId", &coupon_id)?;
        // The claim's checks share one leased connection, given back before its transaction.
        let cx = ctx.cx()?.on_one_connection();
        Ok(CouponClaim(claim::claim(&cx, id).await?))
    }

    /// The owner or a clerk of the issuing merchant redeems a code at the counter. Send a fresh
    /// `idempotencyKey` per attempt; retrying with the same key returns the first result.
    async fn redeem_coupon(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "As typed or scanned: `XXXX-XXXX-XXXX` or the QR payload.")] code: String,
        #[graphql(desc = "1 to 64 letters, digits, - or _; unique per attempt.")]
        idempotency_key: String,
    ) -> AppResult<CouponClaim> {
        Ok(CouponClaim(
            claim::redeem(&ctx.cx()?, &code, &idempotency_key).await?,
        ))
    }

    /// The merchant (owner or clerk) or staff of its street void an unredeemed claim, with a
    /// reason.
    async fn void_coupon_claim(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The claim.")] id: ID,
        #[graphql(desc = "Shown to the resident; required.")] reason: String,
    ) -> AppResult<CouponClaim> {
        ctx.viewer()?;
        let id = id::decode(ObjectKind::CouponClaim, "id", &id)?;
        Ok(CouponClaim(claim::void(&ctx.cx()?, id, &reason).await?))
    }
}

async fn move_coupon(
    ctx: &Context<'_>,
    id: &ID,
    t: Transition,
    reason: Option<&str>,
) -> AppResult<Coupon> {
    ctx.viewer()?;
    let id = id::decode(ObjectKind::Coupon, "id", id)?;
    Ok(Coupon::from(
        domain::transition(&ctx.cx()?, id, t, reason).await?,
    ))
}

#[derive(Default)]
pub(crate) struct CouponsQuery;

connection_field! {
    impl CouponsQuery {
        /// Coupons, newest first. The public sees active coupons of active merchants within their
        /// validity; merchants also their own in any state; staff every coupon of their street.
        async fn coupons(
            &self,
            ctx,
            page,
            #[graphql(desc = "Narrows the list.")] filter: Option<CouponFilterInput>,
            #[graphql(desc = "Default: `CREATED_AT` descending (newest first).")]
            order_by: Option<CouponOrder>,
        ) -> CouponConnection {
            let window = page.window(ctx)?;
            let o = order_by.unwrap_or_default();
            let order = CouponSort::from(o.field).order(o.direction.descending());
            let f = filter.unwrap_or_default();
            let filter = CouponFilter {
                merchant_id: f
                    .merchant_id
                    .map(|m| id::decode(ObjectKind::Merchant, "filter.merchantId", &m))
                    .transpose()?,
                kind: f.kind.map(Into::into),
                status: f.status.map(Into::into),
                eligible_only: f.eligible_only,
                keyword: f.keyword,
            };
            // The page and everything it primes on one connection.
            let cx = ctx.cx()?.on_one_connection();
            let page = query::list(&cx, filter, order, window)
                .await?
                .map(|c| c.map(Arc::new));
            let rows: Vec<Partial<Arc<model::Model>>> =
                page.rows.iter().map(|(_, c)| c.clone()).collect();
            prime_coupons(ctx, &cx, &rows, node_selection(ctx)).await?;
            Ok(CouponConnection::new(page, Coupon))
        }
    }
}

/// A claim list's order, newest claim first unless asked otherwise.
fn claim_order(order_by: Option<CouponClaimOrder>) -> Order<coupon_claim::Entity> {
    let o = order_by.unwrap_or_default();
    ClaimSort::from(o.field).order(o.direction.descending())
}

#[derive(Default)]
pub(crate) struct MyCouponsQuery;

connection_field! {
    impl MyCouponsQuery {
        /// The signed-in resident's claims, newest first.
        async fn my_coupons(
            &self,
            ctx,
            page,
            #[graphql(desc = "Only claims in this state.")] status: Option<CouponClaimStatus>,
            #[graphql(desc = "Default: `CLAIMED_AT` descending (newest first).")]
            order_by: Option<CouponClaimOrder>,
        ) -> CouponClaimConnection {
            ctx.viewer()?;
            let window = page.window(ctx)?;
            let order = claim_order(order_by);
            let page = query::my_claims(&ctx.cx()?, status.map(Into::into), order, window).await?;
            Ok(CouponClaimConnection::new(page, CouponClaim))
        }
    }
}

#[derive(Default)]
pub(crate) struct CouponClaimsQuery;

connection_field! {
    impl CouponClaimsQuery {
        /// Claims of a merchant's coupons, newest first: for its owner and clerks, and staff of its
        /// street. Residents' phones are masked to the merchant.
        async fn coupon_claims(
            &self,
            ctx,
            page,
            #[graphql(desc = "The merchant.")] merchant_id: ID,
            #[graphql(desc = "Only claims of this coupon.")] coupon_id: Option<ID>,
            #[graphql(desc = "Only claims in this state.")] status: Option<CouponClaimStatus>,
            #[graphql(desc = "Default: `CLAIMED_AT` descending (newest first).")]
            order_by: Option<CouponClaimOrder>,
        ) -> CouponClaimConnection {
            ctx.viewer()?;
            let window = page.window(ctx)?;
            let order = claim_order(order_by);
            let merchant = id::decode(ObjectKind::Merchant, "merchantId", &merchant_id)?;
            let coupon = coupon_id
                .map(|c| id::decode(ObjectKind::Coupon, "couponId", &c))
                .transpose()?;
            let page = query::merchant_claims(
                &ctx.cx()?,
                merchant,
                coupon,
                status.map(Into::into),
                order,
                window,
            )
            .await?;
            Ok(CouponClaimConnection::new(page, CouponClaim))
        }
    }
}
