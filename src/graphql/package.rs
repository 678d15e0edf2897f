//! Benefit packages: `createBenefitPackage`, `addPackageItem`, `updatePackageItem`,
//! `removePackageItem`, `sendBenefitPackage`, `confirmPackageItem`, `declinePackageItem`,
//! `withdrawBenefitPackage`, `benefitPackages`, `benefitPackage`, `packageItemsToConfirm`.

use async_graphql::{Context, Enum, ID, InputObject, Object};

use entity::benefit_package::Model;
use entity::names::ObjectKind;
use entity::package_item::Model as ItemModel;

use crate::domain::package::{self as domain, ItemAction, ItemSpec, NewPackage, Sight};
use crate::domain::policy::{PackageItemRights, StreetRights};
use crate::error::{AppError, AppResult};
use crate::graphql::loader::{ItemsOfPackage, MembershipsOf, MerchantKey, PackageKey, StreetKey};
use crate::graphql::merchant::{Merchant, merchant_rights};
use crate::graphql::pagination::{OrderDirection, connection, connection_field};
use crate::graphql::scalars::DateTime;
use crate::graphql::street::Street;
use crate::graphql::{ContextExt, id, restricted};

/// Where a package stands.
#[derive(Enum, Copy, Clone, Eq, PartialEq)]
#[graphql(remote = "entity::benefit_package::PackageStatus")]
pub enum BenefitPackageStatus {
    /// Being composed by staff; providers are not asked yet.
    Draft,
    /// Sent: waiting for every provider to confirm its item.
    Confirming,
    /// Every item confirmed: it can be granted while copies are left.
    Ready,
    /// Withdrawn by staff before anyone received it.
    Withdrawn,
}

/// What an item gives.
#[derive(Enum, Copy, Clone, Eq, PartialEq)]
#[graphql(remote = "entity::package_item::ItemKind")]
pub enum PackageItemKind {
    /// A count of uses (or unlimited), perhaps at most so many a day: a year of lunches.
    Entitlement,
    /// A cash value in fen, spent at the provider in one or more uses.
    Voucher,
}

/// Where an item stands with its provider.
#[derive(Enum, Copy, Clone, Eq, PartialEq)]
#[graphql(remote = "entity::package_item::ItemStatus")]
pub enum PackageItemStatus {
    /// In a draft package; the provider is not asked yet.
    Draft,
    /// The provider's owner is asked to confirm it (`packageItemsToConfirm`).
    Requested,
    /// The provider gives it, for every copy.
    Confirmed,
    /// The provider will not give it; `declineReason` says why. Staff change or remove it.
    Declined,
}

/// What packages can be ordered by; the ID breaks ties.
#[derive(Enum, Copy, Clone, Debug, Default, Eq, PartialEq)]
#[graphql(remote = "crate::domain::package::PackageOrder")]
pub enum BenefitPackageOrderField {
    /// When staff composed it.
    #[default]
    CreatedAt,
    /// By title.
    Title,
}

/// How to order packages.
#[derive(InputObject, Default)]
pub struct BenefitPackageOrder {
    /// The sort key.
    #[graphql(default)]
    pub field: BenefitPackageOrderField,
    /// Which way.
    #[graphql(default)]
    pub direction: OrderDirection,
}

/// What one provider gives in a package. An `ENTITLEMENT` counts uses (`totalUses`, or
/// unlimited without it; `perDayLimit` at most that many a day); a `VOUCHER` has a value
/// (`valueFen`) and no counts.
#[derive(InputObject)]
pub struct PackageItemInput {
    /// An active member merchant of the package's street.
    pub provider_id: ID,
    /// Entitlement or voucher.
    pub kind: PackageItemKind,
    /// What one use is, e.g. 一份午餐 (1 to 200 characters).
    pub description: String,
    /// Uses per recipient (1 to 100,000); leave out for unlimited. Entitlements only.
    pub total_uses: Option<i32>,
    /// Uses a day at most (1 or more, no more than `totalUses`). Entitlements only.
    pub per_day_limit: Option<i32>,
    /// Days it is good for from the grant (1 to 3,660).
    pub valid_days: i32,
    /// A voucher's value in fen (1 to 10,000,000). Vouchers only.
    pub value_fen: Option<i64>,
}

impl PackageItemInput {
    fn spec(self) -> AppResult<ItemSpec> {
        Ok(ItemSpec {
            merchant_id: id::decode(ObjectKind::Merchant, "providerId", &self.provider_id)?,
            kind: self.kind.into(),
            description: self.description,
            total_uses: self.total_uses,
            per_day_limit: self.per_day_limit,
            valid_days: self.valid_days,
            value_fen: self.value_fen,
        })
    }
}

/// A new package.
#[derive(InputObject)]
pub struct CreateBenefitPackageInput {
    /// 1 to 64 characters, e.g. 暖心大礼包.
    pub title: String,
    /// The deed or occasion it thanks, up to 2,000 characters.
    #[graphql(default)]
    pub story: String,
    /// How many recipients it can be granted to (1 to 1,000).
    #[graphql(default = 1)]
    pub copies: i32,
    /// Its items; more can be added while nothing is granted.
    #[graphql(default)]
    pub items: Vec<PackageItemInput>,
}

pub struct BenefitPackage {
    model: Model,
    sight: Sight,
}

impl BenefitPackage {
    /// All of it: staff of its street, not a provider.
    pub(crate) fn whole(&self) -> AppResult<()> {
        match self.sight {
            Sight::Whole => Ok(()),
            Sight::Provider(_) => Err(AppError::Forbidden),
        }
    }
}

/// A warm-heart gift (暖心礼包) staff of a street compose from items several member merchants
/// give. Staff of the street see all of it; a provider sees its title and its own items.
#[Object]
impl BenefitPackage {
    /// Opaque ID.
    pub async fn id(&self) -> ID {
        id::encode(ObjectKind::BenefitPackage, self.model.id)
    }

    /// E.g. 暖心大礼包.
    async fn title(&self) -> &str {
        &self.model.title
    }

    /// The deed or occasion it thanks. Staff of the street only (`null` with `FORBIDDEN` for
    /// a provider).
    async fn story(&self, ctx: &Context<'_>) -> Option<&str> {
        restricted(ctx, self.whole(), || self.model.story.as_str())
    }

    /// How many recipients it can be granted to. Staff of the street only.
    async fn copies(&self, ctx: &Context<'_>) -> Option<i32> {
        restricted(ctx, self.whole(), || self.model.copies)
    }

    /// Copies not granted yet. Staff of the street only.
    async fn copies_left(&self, ctx: &Context<'_>) -> Option<i32> {
        restricted(ctx, self.whole(), || {
            self.model.copies - self.model.granted_count
        })
    }

    /// Where it stands.
    async fn status(&self) -> BenefitPackageStatus {
        self.model.status.into()
    }

    /// The steps you may take on it now (`SEND`, `WITHDRAW`), by its state and your rights: offer only
    /// these buttons. Its `history` names steps the same way.
    async fn available_actions(&self, ctx: &Context<'_>) -> AppResult<Vec<String>> {
        let rights = StreetRights::of(ctx.auth().viewer_opt(), self.model.street_id);
        let items = ctx
            .loader()?
            .load_one(ItemsOfPackage(self.model.id))
            .await?
            .map_or(0, |items| items.len());
        Ok(domain::available(&rights, &self.model, items))
    }

    /// Why staff withdrew it. Staff of the street only.
    async fn status_reason(&self, ctx: &Context<'_>) -> Option<String> {
        restricted(ctx, self.whole(), || self.model.status_reason.clone()).flatten()
    }

    /// Its items in the order they were added: all of them for staff of the street, a
    /// provider's own for the provider.
    async fn items(&self, ctx: &Context<'_>) -> AppResult<Vec<PackageItem>> {
        let items = ctx
            .loader()?
            .load_one(ItemsOfPackage(self.model.id))
            .await?
            .unwrap_or_default();
        Ok(items
            .into_iter()
            .filter(|i| self.sight.sees(i.merchant_id))
            .map(PackageItem)
            .collect())
    }

    /// The street it belongs to.
    async fn street(&self, ctx: &Context<'_>) -> AppResult<Option<Street>> {
        Ok(ctx
            .loader()?
            .load_one(StreetKey(self.model.street_id))
            .await?
            .map(Street))
    }

    /// When staff composed it.
    async fn created_at(&self) -> DateTime {
        self.model.created_at.into()
    }
}

impl crate::graphql::eager::EagerObject for BenefitPackage {
    const READY: &'static [&'static str] = &["id", "title", "status", "createdAt"];
}

pub struct PackageItem(pub ItemModel);

/// What one provider gives in a package, for each of its copies.
#[Object]
impl PackageItem {
    /// Opaque ID.
    pub async fn id(&self) -> ID {
        id::encode(ObjectKind::PackageItem, self.0.id)
    }

    /// Entitlement or voucher.
    async fn kind(&self) -> PackageItemKind {
        self.0.kind.into()
    }

    /// What one use is, e.g. 一份午餐.
    async fn description(&self) -> &str {
        &self.0.description
    }

    /// Uses per recipient; `null` is unlimited (or, for a voucher, up to its value).
    async fn total_uses(&self) -> Option<i32> {
        self.0.total_uses
    }

    /// Uses a day at most (days in the street's time zone).
    async fn per_day_limit(&self) -> Option<i32> {
        self.0.per_day_limit
    }

    /// Days it is good for from the grant.
    async fn valid_days(&self) -> i32 {
        self.0.valid_days
    }

    /// A voucher's value in fen.
    async fn value_fen(&self) -> Option<i64> {
        self.0.value_fen
    }

    /// Where it stands with its provider.
    async fn status(&self) -> PackageItemStatus {
        self.0.status.into()
    }

    /// The steps you may take on it now (`REQUEST`, `CONFIRM`, `DECLINE`), by its state and your rights: offer only
    /// these buttons. Its `history` names steps the same way.
    async fn available_actions(&self, ctx: &Context<'_>) -> AppResult<Vec<String>> {
        let package = ctx
            .loader()?
            .load_one(PackageKey(self.0.package_id))
            .await?
            .ok_or(AppError::NotFound("package"))?;
        let provider = ctx
            .loader()?
            .load_one(MerchantKey(self.0.merchant_id))
            .await?
            .ok_or(AppError::NotFound("merchant"))?
            .status;
        let rights = PackageItemRights {
            street: StreetRights::of(ctx.auth().viewer_opt(), package.street_id),
            provider: merchant_rights(ctx, package.street_id, self.0.merchant_id).await?,
        };
        Ok(domain::item_available(&rights, &self.0, &package, provider))
    }

    /// Why the provider declined it.
    async fn decline_reason(&self) -> Option<&str> {
        self.0.decline_reason.as_deref()
    }

    /// The merchant that gives it.
    async fn provider(&self, ctx: &Context<'_>) -> AppResult<Option<Merchant>> {
        Ok(ctx
            .loader()?
            .load_one(MerchantKey(self.0.merchant_id))
            .await?
            .map(Merchant::from))
    }

    /// The package it belongs to, as the viewer may see it.
    async fn package(&self, ctx: &Context<'_>) -> AppResult<BenefitPackage> {
        let viewer = ctx.viewer()?;
        let loader = ctx.loader()?;
        let model = loader
            .load_one(PackageKey(self.0.package_id))
            .await?
            .ok_or(AppError::NotFound("package"))?;
        let memberships = loader
            .load_one(MembershipsOf(viewer.user_id))
            .await?
            .unwrap_or_default();
        // The item is in the viewer's sight, so its package is, as far as the policy says.
        let sight = crate::domain::policy::package_sight(
            viewer,
            model.street_id,
            model.status != entity::benefit_package::PackageStatus::Draft,
            &memberships,
            &[self.0.merchant_id],
        )?;
        Ok(BenefitPackage { model, sight })
    }

    /// When it last changed.
    async fn updated_at(&self) -> DateTime {
        self.0.updated_at.into()
    }
}

impl crate::graphql::eager::EagerObject for PackageItem {
    const READY: &'static [&'static str] = &[
        "id",
        "kind",
        "description",
        "totalUses",
        "perDayLimit",
        "validDays",
        "valueFen",
        "status",
        "declineReason",
        "updatedAt",
    ];
}

connection!(
    BenefitPackageConnection,
    BenefitPackageEdge,
    BenefitPackage,
    "A page of benefit packages.",
    "A package and its cursor."
);

connection!(
    PackageItemConnection,
    PackageItemEdge,
    PackageItem,
    "A page of package items.",
    "An item and its cursor."
);

fn package_id(raw: &ID) -> AppResult<i64> {
    id::decode(ObjectKind::BenefitPackage, "id", raw)
}

fn item_id(raw: &ID) -> AppResult<i64> {
    id::decode(ObjectKind::PackageItem, "id", raw)
}

async fn whole(ctx: &Context<'_>, model: Model) -> AppResult<BenefitPackage> {
    let sight = domain::sight(&ctx.cx()?, &model).await?;
    Ok(BenefitPackage { model, sight })
}

/// A package by ID, as the viewer may see it (for `node`).
pub async fn get(ctx: &Context<'_>, n: i64) -> AppResult<BenefitPackage> {
    let (model, sight) = domain::get(&ctx.cx()?, n).await?;
    Ok(BenefitPackage { model, sight })
}

#[derive(Default)]
pub(crate) struct PackageQuery;

#[Object]
impl PackageQuery {
    /// A package: staff of its street see all of it, a provider its title and its own items.
    async fn benefit_package(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The package.")] id: ID,
    ) -> AppResult<BenefitPackage> {
        get(ctx, package_id(&id)?).await
    }
}

#[derive(Default)]
pub(crate) struct PackageMutation;

#[Object]
impl PackageMutation {
    /// Staff compose a package for their street, in `DRAFT`, with items from active member
    /// merchants of the street. Audited.
    async fn create_benefit_package(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Title, story, copies and items.")] input: CreateBenefitPackageInput,
    ) -> AppResult<BenefitPackage> {
        ctx.viewer()?;
        let items = input
            .items
            .into_iter()
            .map(PackageItemInput::spec)
            .collect::<AppResult<Vec<_>>>()?;
        let model = domain::create(
            &ctx.cx()?,
            NewPackage {
                title: input.title,
                story: input.story,
                copies: input.copies,
                items,
            },
        )
        .await?;
        whole(ctx, model).await
    }

    /// Staff add an item while nothing of the package is granted; after it was sent, the
    /// provider is asked at once (and a ready package waits for it). Audited.
    async fn add_package_item(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The package.")] package_id: ID,
        #[graphql(desc = "What the item gives.")] input: PackageItemInput,
    ) -> AppResult<PackageItem> {
        ctx.viewer()?;
        let p = id::decode(ObjectKind::BenefitPackage, "packageId", &package_id)?;
        Ok(PackageItem(
            domain::add_item(&ctx.cx()?, p, input.spec()?).await?,
        ))
    }

    /// Staff change an item (its provider too) while nothing of the package is granted; after
    /// it was sent, the provider is asked again. Audited.
    async fn update_package_item(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The item.")] id: ID,
        #[graphql(desc = "What it gives from now on.")] input: PackageItemInput,
    ) -> AppResult<PackageItem> {
        ctx.viewer()?;
        Ok(PackageItem(
            domain::change_item(&ctx.cx()?, item_id(&id)?, input.spec()?).await?,
        ))
    }

    /// Staff remove an item (a declined one, say) while nothing of the package is granted.
    /// Audited.
    async fn remove_package_item(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The item.")] id: ID,
    ) -> AppResult<BenefitPackage> {
        ctx.viewer()?;
        let model = domain::remove_item(&ctx.cx()?, item_id(&id)?).await?;
        whole(ctx, model).await
    }

    /// Staff send a draft (with an item at least) to its providers, whose owners are asked
    /// to confirm their items. Audited.
    async fn send_benefit_package(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The package.")] id: ID,
    ) -> AppResult<BenefitPackage> {
        ctx.viewer()?;
        let model = domain::send(&ctx.cx()?, package_id(&id)?).await?;
        whole(ctx, model).await
    }

    /// The provider's owner confirms an item that asks for them, for every copy; the package
    /// is `READY` when all its items are. Audited.
    async fn confirm_package_item(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The item.")] id: ID,
    ) -> AppResult<PackageItem> {
        ctx.viewer()?;
        Ok(PackageItem(
            domain::decide_item(&ctx.cx()?, item_id(&id)?, ItemAction::Confirm, None).await?,
        ))
    }

    /// The provider's owner declines an item that asks for them, with a reason; staff change
    /// or remove it. Audited.
    async fn decline_package_item(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The item.")] id: ID,
        #[graphql(desc = "Why; required.")] reason: String,
    ) -> AppResult<PackageItem> {
        ctx.viewer()?;
        Ok(PackageItem(
            domain::decide_item(
                &ctx.cx()?,
                item_id(&id)?,
                ItemAction::Decline,
                Some(&reason),
            )
            .await?,
        ))
    }

    /// Staff withdraw a package nobody has received yet, with a reason. Audited.
    async fn withdraw_benefit_package(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The package.")] id: ID,
        #[graphql(desc = "Why; required.")] reason: String,
    ) -> AppResult<BenefitPackage> {
        ctx.viewer()?;
        let model = domain::withdraw(&ctx.cx()?, package_id(&id)?, &reason).await?;
        whole(ctx, model).await
    }
}

#[derive(Default)]
pub(crate) struct BenefitPackagesQuery;

connection_field! {
    impl BenefitPackagesQuery {
        /// Staff: the packages of their street, newest first by default.
        async fn benefit_packages(
            &self,
            ctx,
            page,
            #[graphql(desc = "Only packages in this state.")] status: Option<BenefitPackageStatus>,
            #[graphql(desc = "Default: `CREATED_AT` descending.")]
            order_by: Option<BenefitPackageOrder>,
        ) -> BenefitPackageConnection {
            ctx.viewer()?;
            let window = page.window(ctx)?;
            let o = order_by.unwrap_or(BenefitPackageOrder {
                field: BenefitPackageOrderField::CreatedAt,
                direction: OrderDirection::Desc,
            });
            let page = domain::list(
                &ctx.cx()?,
                status.map(Into::into),
                o.field.into(),
                o.direction.descending(),
                window,
            )
            .await?;
            Ok(BenefitPackageConnection::new(page, |model| {
                BenefitPackage {
                    model,
                    sight: Sight::Whole,
                }
            }))
        }
    }
}

#[derive(Default)]
pub(crate) struct PackageItemsToConfirmQuery;

connection_field! {
    impl PackageItemsToConfirmQuery {
        /// A merchant owner: the items of packages waiting for their providers that ask the
        /// owner's merchants to confirm them.
        async fn package_items_to_confirm(
            &self,
            ctx,
            page,
            #[graphql(desc = "By when they were added; default oldest first.", default)] direction: OrderDirection,
        ) -> PackageItemConnection {
            ctx.viewer()?;
            let window = page.window(ctx)?;
            let page = domain::items_to_confirm(&ctx.cx()?, direction.descending(), window).await?;
            Ok(PackageItemConnection::new(page, PackageItem))
        }
    }
}
