//! Entitlements: `myEntitlements`, and each entitlement's provider and progress.

use async_graphql::{Context, Enum, ID, InputObject, Object};

use entity::entitlement::Model;
use entity::names::ObjectKind;

use crate::domain::codes::display_code;
use crate::domain::entitlement as domain;
use crate::domain::lifecycle;
use crate::domain::policy::{self, PersonRights};
use crate::error::AppResult;
use crate::graphql::loader::{MerchantKey, PackageKey, UserKey, UsesOf};
use crate::graphql::merchant::Merchant;
use crate::graphql::package::PackageItemKind;
use crate::graphql::pagination::{OrderDirection, connection, connection_field};
use crate::graphql::scalars::DateTime;
use crate::graphql::{ContextExt, id, restricted};

/// Where an entitlement stands.
#[derive(Enum, Copy, Clone, Eq, PartialEq)]
#[graphql(remote = "crate::domain::entitlement::Standing")]
pub enum EntitlementStatus {
    /// Usable: within its validity, with uses or value left.
    Active,
    /// Every use (or the whole value) is spent.
    UsedUp,
    /// Past `validUntil`.
    Expired,
    /// Voided by staff.
    Voided,
}

pub struct Entitlement(pub Model);

impl Entitlement {
    fn holder_only(&self, ctx: &Context<'_>) -> AppResult<()> {
        policy::require_holder(ctx.auth().viewer_opt(), self.0.holder_user_id)
    }
}

/// What one item of a granted package gives its recipient: uses (or a voucher's value) within
/// a validity, redeemed only at its provider with its code. Seen by its holder, and by the
/// provider's counter when it redeems the code.
#[Object]
impl Entitlement {
    /// Opaque ID.
    pub async fn id(&self) -> ID {
        id::encode(ObjectKind::Entitlement, self.0.id)
    }

    /// Entitlement or voucher.
    async fn kind(&self) -> PackageItemKind {
        self.0.kind.into()
    }

    /// What one use is, e.g. 一份午餐.
    async fn description(&self) -> &str {
        &self.0.description
    }

    /// Uses in all; `null` is unlimited (or, for a voucher, up to its value).
    async fn total_uses(&self) -> Option<i32> {
        self.0.total_uses
    }

    /// Uses so far (37 of 365 lunches).
    async fn used_count(&self) -> i32 {
        self.0.used_count
    }

    /// A voucher's value in fen.
    async fn value_fen(&self) -> Option<i64> {
        self.0.value_fen
    }

    /// What is left of a voucher's value, in fen.
    async fn remaining_value_fen(&self) -> Option<i64> {
        self.0.remaining_value_fen
    }

    /// Uses a day at most (days in the street's time zone).
    async fn per_day_limit(&self) -> Option<i32> {
        self.0.per_day_limit
    }

    /// From when it may be used (the grant).
    async fn valid_from(&self) -> DateTime {
        self.0.valid_from.into()
    }

    /// Until when it may be used.
    async fn valid_until(&self) -> DateTime {
        self.0.valid_until.into()
    }

    /// Where it stands now.
    async fn status(&self, ctx: &Context<'_>) -> AppResult<EntitlementStatus> {
        Ok(domain::standing(&self.0, ctx.now()?).into())
    }

    /// The steps you may take on it now (`VOID`), by its state and your rights: offer only
    /// these buttons. Its `history` names steps the same way.
    async fn available_actions(&self, ctx: &Context<'_>) -> Vec<String> {
        let rights = PersonRights::of(
            ctx.auth().viewer_opt(),
            self.0.holder_user_id,
            Some(self.0.street_id),
        );
        lifecycle::available::<entity::entitlement::Entity>(&rights, self.0.status)
    }

    /// The code to show at the provider's counter, `XXXX-XXXX-XXXX`. The holder's alone
    /// (`null` with `FORBIDDEN` for anyone else: whoever has it can spend it).
    async fn code(&self, ctx: &Context<'_>) -> Option<String> {
        restricted(ctx, self.holder_only(ctx), || display_code(&self.0.code))
    }

    /// What to render as a QR code for the counter to scan. The holder's alone.
    async fn qr_payload(&self, ctx: &Context<'_>) -> Option<String> {
        restricted(ctx, self.holder_only(ctx), || {
            format!("{}{}", domain::QR_PREFIX, self.0.code)
        })
    }

    /// Why staff voided it.
    async fn void_reason(&self) -> Option<&str> {
        self.0.void_reason.as_deref()
    }

    /// When it was last used.
    async fn last_used_at(&self) -> Option<DateTime> {
        self.0.last_used_at.map(Into::into)
    }

    /// Where it is redeemed.
    async fn provider(&self, ctx: &Context<'_>) -> AppResult<Option<Merchant>> {
        Ok(ctx
            .loader()?
            .load_one(MerchantKey(self.0.merchant_id))
            .await?
            .map(Merchant::from))
    }

    /// The title of the package it came in.
    async fn package_title(&self, ctx: &Context<'_>) -> AppResult<Option<String>> {
        Ok(ctx
            .loader()?
            .load_one(PackageKey(self.0.package_id))
            .await?
            .map(|p| p.title))
    }

    /// Its holder's phone, masked (`138****5678`), as the provider's records show it.
    async fn holder_phone(&self, ctx: &Context<'_>) -> AppResult<Option<String>> {
        Ok(ctx
            .loader()?
            .load_one(UserKey(self.0.holder_user_id))
            .await?
            .map(|u| crate::domain::values::mask_phone(&u.phone)))
    }

    /// Every use so far, oldest first.
    async fn uses(&self, ctx: &Context<'_>) -> AppResult<Vec<EntitlementUse>> {
        Ok(ctx
            .loader()?
            .load_one(UsesOf(self.0.id))
            .await?
            .unwrap_or_default()
            .into_iter()
            .map(EntitlementUse)
            .collect())
    }

    /// When it was granted.
    async fn created_at(&self) -> DateTime {
        self.0.created_at.into()
    }
}

impl crate::graphql::eager::EagerObject for Entitlement {
    const READY: &'static [&'static str] = &[
        "id",
        "kind",
        "description",
        "totalUses",
        "usedCount",
        "valueFen",
        "remainingValueFen",
        "perDayLimit",
        "validFrom",
        "validUntil",
        "voidReason",
        "lastUsedAt",
        "createdAt",
    ];
}

pub struct EntitlementUse(entity::entitlement_use::Model);

/// One use of an entitlement at its provider's counter.
#[Object]
impl EntitlementUse {
    /// When it was used.
    async fn used_at(&self) -> DateTime {
        self.0.created_at.into()
    }

    /// What was taken off a voucher, in fen.
    async fn amount_fen(&self) -> Option<i64> {
        self.0.amount_fen
    }

    /// The day it counts for, in the street's time zone.
    async fn local_day(&self) -> crate::graphql::scalars::Date {
        crate::graphql::scalars::Date(self.0.local_day)
    }
}

connection!(
    EntitlementConnection,
    EntitlementEdge,
    Entitlement,
    "A page of entitlements.",
    "An entitlement and its cursor."
);

/// What entitlements can be ordered by; the ID breaks ties.
#[derive(Enum, Copy, Clone, Debug, Default, Eq, PartialEq)]
pub enum EntitlementOrderField {
    /// When it was granted.
    #[default]
    CreatedAt,
}

/// How to order entitlements.
#[derive(InputObject, Default)]
pub struct EntitlementOrder {
    /// The sort key.
    #[graphql(default)]
    pub field: EntitlementOrderField,
    /// Which way.
    #[graphql(default)]
    pub direction: OrderDirection,
}

fn list_of(status: Option<EntitlementStatus>, order: Option<EntitlementOrder>) -> domain::ListOf {
    domain::ListOf {
        standing: status.map(Into::into),
        ascending: order.is_some_and(|o| !o.direction.descending()),
    }
}

/// Loads the providers and packages of a page in one statement each, so the page's cost does
/// not grow with its length.
async fn prime<'a>(
    ctx: &Context<'_>,
    rows: impl Iterator<Item = &'a Model> + Clone,
) -> AppResult<()> {
    let loader = ctx.loader()?;
    let db = &ctx.state()?.db;
    let mut merchants: Vec<i64> = rows.clone().map(|e| e.merchant_id).collect();
    merchants.sort_unstable();
    merchants.dedup();
    let mut packages: Vec<i64> = rows.map(|e| e.package_id).collect();
    packages.sort_unstable();
    packages.dedup();
    if !merchants.is_empty() {
        let found = crate::domain::merchant::by_ids(db, &merchants).await?;
        loader
            .feed_many(
                found
                    .into_iter()
                    .map(|m| (MerchantKey(m.id), std::sync::Arc::new(m))),
            )
            .await;
    }
    if !packages.is_empty() {
        let found = crate::domain::package::by_ids(db, &packages).await?;
        loader
            .feed_many(found.into_iter().map(|p| (PackageKey(p.id), p)))
            .await;
    }
    Ok(())
}

#[derive(Default)]
pub(crate) struct EntitlementMutation;

#[Object]
impl EntitlementMutation {
    /// The owner or a clerk of the entitlement's provider redeems one use, or `amountFen` off
    /// a voucher, by the code the holder shows. The same `idempotencyKey` again returns the
    /// first result (the key with another code or amount is `IDEMPOTENCY_KEY_REUSED`). Past
    /// its validity `EXPIRED`; no use left, or the day's uses taken, `LIMIT_REACHED`; not
    /// enough value `INSUFFICIENT_VALUE`; voided `INVALID_STATE`. Audited.
    async fn redeem_entitlement(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The code, as shown or scanned (its QR payload).")] code: String,
        #[graphql(desc = "1 to 64 letters, digits, `-` or `_`; the same for a retry.")]
        idempotency_key: String,
        #[graphql(desc = "For a voucher: the amount in fen to take off.")] amount_fen: Option<i64>,
    ) -> AppResult<Entitlement> {
        ctx.viewer()?;
        Ok(Entitlement(
            domain::redeem(&ctx.cx()?, &code, &idempotency_key, amount_fen).await?,
        ))
    }

    /// Staff of the entitlement's street (never for themselves) void it, with a reason; it is
    /// redeemed no more (`INVALID_STATE`). Audited; the holder hears of it.
    async fn void_entitlement(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The entitlement.")] id: ID,
        #[graphql(desc = "Why; required.")] reason: String,
    ) -> AppResult<Entitlement> {
        ctx.viewer()?;
        let n = id::decode(ObjectKind::Entitlement, "id", &id)?;
        Ok(Entitlement(domain::void(&ctx.cx()?, n, &reason).await?))
    }
}

#[derive(Default)]
pub(crate) struct MyEntitlementsQuery;

connection_field! {
    impl MyEntitlementsQuery {
        /// The signed-in person's entitlements, newest first, each with its provider and progress.
        async fn my_entitlements(
            &self,
            ctx,
            page,
            #[graphql(desc = "Only entitlements that stand so now.")] status: Option<EntitlementStatus>,
            #[graphql(desc = "Default: `CREATED_AT` descending.")] order_by: Option<EntitlementOrder>,
        ) -> EntitlementConnection {
            ctx.viewer()?;
            let window = page.window(ctx)?;
            let of = list_of(status, order_by);
            let page = domain::mine(&ctx.cx()?, of, window).await?;
            prime(ctx, page.rows.iter().map(|(_, e)| e)).await?;
            Ok(EntitlementConnection::new(page, Entitlement))
        }
    }
}

#[derive(Default)]
pub(crate) struct ProvidedEntitlementsQuery;

connection_field! {
    impl ProvidedEntitlementsQuery {
        /// What a merchant has given through packages: the entitlements it redeems, newest first,
        /// with their uses and holders' phones masked (what it settles with the street). For who
        /// serves at its counter and staff of its street.
        async fn provided_entitlements(
            &self,
            ctx,
            page,
            #[graphql(desc = "The merchant.")] merchant_id: ID,
            #[graphql(desc = "Only entitlements that stand so now.")] status: Option<EntitlementStatus>,
            #[graphql(desc = "Default: `CREATED_AT` descending.")] order_by: Option<EntitlementOrder>,
        ) -> EntitlementConnection {
            ctx.viewer()?;
            let m = id::decode(ObjectKind::Merchant, "merchantId", &merchant_id)?;
            let window = page.window(ctx)?;
            let of = list_of(status, order_by);
            let page = domain::provided(&ctx.cx()?, m, of, window).await?;
            prime(ctx, page.rows.iter().map(|(_, e)| e)).await?;
            Ok(EntitlementConnection::new(page, Entitlement))
        }
    }
}
