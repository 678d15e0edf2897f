//! Benefit packages (暖心礼包): staff of a street compose a package from items that several
//! member merchants give; each provider's owner confirms or declines its own item for all the
//! package's copies; the package is `READY` (grantable) when every item is confirmed. Staff
//! change items while nothing is granted (a change after sending asks its provider again) and
//! may withdraw a package nobody has received.
//!
//! Visibility: staff of the street see everything; a provider's members see the package's
//! title and the items that ask for them.

use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder,
    QuerySelect, Set,
};

use entity::benefit_package::{self, PackageStatus};
use entity::merchant::{self, MerchantStatus};
use entity::merchant_member;
use entity::names::ObjectKind;
use entity::package_item::{self, ItemKind, ItemStatus};

use crate::domain::audit::{self, AuditAction, AuditRecord};
use crate::domain::context::Cx;
use crate::domain::events::{self, Event, EventKind};
use crate::domain::lifecycle::{self, Lifecycle, NoteRule, Rule, Step};
use crate::domain::page::{self, KeyOf, Order, Page, SortValue, Window};
pub use crate::domain::policy::PackageSight as Sight;
use crate::domain::policy::{self, PackageItemRights, StreetRights, Who};
use crate::domain::values::{bad, invalid_state, text_field};
use crate::error::{AppError, AppResult, Text};

/// Copies a package may have at most.
pub const MAX_COPIES: i32 = 1000;
/// Uses an item may count at most (a lunch a day for ten years is 3,650).
pub const MAX_USES: i32 = 100_000;
/// Days an item may be good for at most.
pub const MAX_VALID_DAYS: i32 = 3660;
/// A voucher's value at most: ¥100,000.
pub const MAX_VALUE_FEN: i64 = 10_000_000;
/// Uses a day at most, where the uses are unlimited.
pub const MAX_PER_DAY: i32 = 1000;
/// Items a package may have at most.
pub const MAX_ITEMS: usize = 20;

/// A step of a package's lifecycle.
#[derive(Clone, Copy, Debug, PartialEq, Eq, sea_orm::EnumIter)]
pub enum PackageAction {
    /// Staff send it to its providers.
    Send,
    /// The last item is confirmed.
    Complete,
    /// An item changed or came in after the package was ready.
    Reopen,
    /// Staff withdraw it before anyone received it.
    Withdraw,
}

impl Lifecycle for benefit_package::Entity {
    type State = PackageStatus;
    type Action = PackageAction;
    const KIND: ObjectKind = ObjectKind::BenefitPackage;

    fn rules() -> &'static [Rule<PackageStatus, PackageAction>] {
        use PackageStatus::*;
        &[
            Rule {
                action: PackageAction::Send,
                from: &[Draft],
                to: Confirming,
                who: Who::StreetStaff,
                note: NoteRule::None,
                audit: Some(AuditAction::PackageSend),
                event: None,
            },
            Rule {
                action: PackageAction::Complete,
                from: &[Confirming],
                to: Ready,
                who: Who::System,
                note: NoteRule::None,
                audit: None,
                event: Some(EventKind::PackageReady),
            },
            // Whoever heard that it was ready hears that it is not.
            Rule {
                action: PackageAction::Reopen,
                from: &[Ready],
                to: Confirming,
                who: Who::System,
                note: NoteRule::None,
                audit: None,
                event: Some(EventKind::PackageReopened),
            },
            Rule {
                action: PackageAction::Withdraw,
                from: &[Draft, Confirming, Ready],
                to: Withdrawn,
                who: Who::StreetStaff,
                note: NoteRule::Required,
                audit: Some(AuditAction::PackageWithdraw),
                event: Some(EventKind::PackageWithdrawn),
            },
        ]
    }

    fn id_column() -> benefit_package::Column {
        benefit_package::Column::Id
    }

    fn state_column() -> benefit_package::Column {
        benefit_package::Column::Status
    }

    fn reason_column() -> Option<benefit_package::Column> {
        Some(benefit_package::Column::StatusReason)
    }

    fn updated_at_column() -> Option<benefit_package::Column> {
        Some(benefit_package::Column::UpdatedAt)
    }
}

/// A step of an item's lifecycle.
#[derive(Clone, Copy, Debug, PartialEq, Eq, sea_orm::EnumIter)]
pub enum ItemAction {
    /// Its provider is asked (the package is sent, or the item changed after).
    Request,
    /// The provider's owner gives it, for every copy.
    Confirm,
    /// The provider's owner will not give it (with a reason).
    Decline,
}

impl Lifecycle for package_item::Entity {
    type State = ItemStatus;
    type Action = ItemAction;
    const KIND: ObjectKind = ObjectKind::PackageItem;

    fn rules() -> &'static [Rule<ItemStatus, ItemAction>] {
        use ItemStatus::*;
        &[
            Rule {
                action: ItemAction::Request,
                from: &[Draft, Confirmed, Declined],
                to: Requested,
                who: Who::StreetStaff,
                note: NoteRule::None,
                audit: None,
                event: Some(EventKind::PackageItemRequested),
            },
            Rule {
                action: ItemAction::Confirm,
                from: &[Requested],
                to: Confirmed,
                who: Who::Owner,
                note: NoteRule::None,
                audit: Some(AuditAction::PackageItemConfirm),
                event: Some(EventKind::PackageItemConfirmed),
            },
            Rule {
                action: ItemAction::Decline,
                from: &[Requested],
                to: Declined,
                who: Who::Owner,
                note: NoteRule::Required,
                audit: Some(AuditAction::PackageItemDecline),
                event: Some(EventKind::PackageItemDeclined),
            },
        ]
    }

    fn id_column() -> package_item::Column {
        package_item::Column::Id
    }

    fn state_column() -> package_item::Column {
        package_item::Column::Status
    }

    fn reason_column() -> Option<package_item::Column> {
        Some(package_item::Column::DeclineReason)
    }

    fn updated_at_column() -> Option<package_item::Column> {
        Some(package_item::Column::UpdatedAt)
    }
}

/// What an item gives, as staff write it.
#[derive(Clone, Debug)]
pub struct ItemSpec {
    pub merchant_id: i64,
    pub kind: ItemKind,
    pub description: String,
    pub total_uses: Option<i32>,
    pub per_day_limit: Option<i32>,
    pub valid_days: i32,
    pub value_fen: Option<i64>,
}

impl ItemSpec {
    /// Checks the numbers against the kind: counts and limits positive, a per-day limit no
    /// more than the uses, a voucher with a value and no counts.
    fn checked(mut self) -> AppResult<ItemSpec> {
        self.description = text_field("description", &self.description, 1, 200, false)?;
        if !(1..=MAX_VALID_DAYS).contains(&self.valid_days) {
            return Err(bad(
                "validDays",
                "有效天数应在 1 到 3660 之间",
                "validDays is from 1 to 3660",
            ));
        }
        match self.kind {
            ItemKind::Entitlement => {
                if self.value_fen.is_some() {
                    return Err(bad(
                        "valueFen",
                        "次数权益没有金额",
                        "An entitlement has no value",
                    ));
                }
                if self
                    .total_uses
                    .is_some_and(|n| !(1..=MAX_USES).contains(&n))
                {
                    return Err(bad(
                        "totalUses",
                        "次数应在 1 到 100000 之间（不填为不限次数）",
                        "totalUses is from 1 to 100000 (leave it out for unlimited)",
                    ));
                }
                if let Some(d) = self.per_day_limit
                    && (d < 1 || d > self.total_uses.unwrap_or(MAX_PER_DAY))
                {
                    return Err(bad(
                        "perDayLimit",
                        "每日次数应至少为 1，且不超过总次数",
                        "perDayLimit is at least 1 and at most totalUses",
                    ));
                }
            }
            ItemKind::Voucher => {
                if !self
                    .value_fen
                    .is_some_and(|v| (1..=MAX_VALUE_FEN).contains(&v))
                {
                    return Err(bad(
                        "valueFen",
                        "代金券金额应在 1 分到 10 万元之间",
                        "A voucher's valueFen is from 1 to 10000000",
                    ));
                }
                if self.total_uses.is_some() || self.per_day_limit.is_some() {
                    return Err(bad(
                        "totalUses",
                        "代金券按金额使用，不设次数",
                        "A voucher is spent by value, without counts",
                    ));
                }
            }
        }
        Ok(self)
    }
}

fn too_many_items() -> AppError {
    bad(
        "items",
        "一个礼包最多 20 项",
        "A package has at most 20 items",
    )
}

/// A new package.
pub struct NewPackage {
    pub title: String,
    pub story: String,
    pub copies: i32,
    pub items: Vec<ItemSpec>,
}

/// The provider of an item: an active member merchant of the package's street.
async fn provider(cx: &Cx<'_>, street_id: i64, merchant_id: i64) -> AppResult<merchant::Model> {
    merchant::Entity::find_by_id(merchant_id)
        .one(cx)
        .await?
        .filter(|m| m.street_id == street_id && m.status == MerchantStatus::Active)
        .ok_or_else(|| {
            bad(
                "providerId",
                "提供方应是本街道的在册联盟商户",
                "The provider is an active member merchant of the street",
            )
        })
}

async fn insert_item(
    cx: &Cx<'_>,
    package: &benefit_package::Model,
    spec: ItemSpec,
) -> AppResult<package_item::Model> {
    let spec = spec.checked()?;
    provider(cx, package.street_id, spec.merchant_id).await?;
    Ok(package_item::ActiveModel {
        package_id: Set(package.id),
        merchant_id: Set(spec.merchant_id),
        kind: Set(spec.kind),
        description: Set(spec.description),
        total_uses: Set(spec.total_uses),
        per_day_limit: Set(spec.per_day_limit),
        valid_days: Set(spec.valid_days),
        value_fen: Set(spec.value_fen),
        status: Set(ItemStatus::Draft),
        decline_reason: Set(None),
        created_at: Set(cx.now()),
        updated_at: Set(cx.now()),
        ..Default::default()
    }
    .insert(cx)
    .await?)
}

/// Staff compose a package for their street, in `DRAFT`. Audited.
pub async fn create(cx: &Cx<'_>, new: NewPackage) -> AppResult<benefit_package::Model> {
    let viewer = cx.viewer()?;
    let street_id = viewer.street_id.ok_or(AppError::Forbidden)?;
    lifecycle::Grants::require(&StreetRights::of(Some(viewer), street_id), Who::StreetStaff)?;
    let title = text_field("title", &new.title, 1, 64, false)?;
    let story = text_field("story", &new.story, 0, 2000, true)?;
    if new.items.len() > MAX_ITEMS {
        return Err(too_many_items());
    }
    if !(1..=MAX_COPIES).contains(&new.copies) {
        return Err(bad(
            "copies",
            "份数应在 1 到 1000 之间",
            "copies is from 1 to 1000",
        ));
    }
    let tx = cx.write().await?;
    let package = benefit_package::ActiveModel {
        street_id: Set(street_id),
        title: Set(title),
        story: Set(story),
        copies: Set(new.copies),
        granted_count: Set(0),
        status: Set(PackageStatus::Draft),
        status_reason: Set(None),
        created_by: Set(viewer.user_id),
        created_at: Set(tx.now()),
        updated_at: Set(tx.now()),
        ..Default::default()
    }
    .insert(&tx)
    .await?;
    for spec in new.items {
        insert_item(&tx, &package, spec).await?;
    }
    audit::record(
        &tx,
        AuditRecord::of(
            Some(street_id),
            AuditAction::PackageCreate,
            ObjectKind::BenefitPackage,
            package.id,
        ),
    )
    .await?;
    tx.commit().await?;
    Ok(package)
}

/// The package locked for a change by staff of its street: not withdrawn, nothing granted.
async fn changeable(
    cx: &Cx<'_>,
    package_id: i64,
) -> AppResult<(benefit_package::Model, StreetRights)> {
    let package = benefit_package::Entity::find_by_id(package_id)
        .lock_exclusive()
        .one(cx)
        .await?
        .ok_or(AppError::NotFound("package"))?;
    let rights = StreetRights::of(cx.viewer_opt(), package.street_id);
    lifecycle::Grants::require(&rights, Who::StreetStaff)?;
    if package.status == PackageStatus::Withdrawn || package.granted_count > 0 {
        return Err(invalid_state());
    }
    Ok((package, rights))
}

async fn items(cx: &Cx<'_>, package_id: i64) -> AppResult<Vec<package_item::Model>> {
    Ok(package_item::Entity::find()
        .filter(package_item::Column::PackageId.eq(package_id))
        .order_by_asc(package_item::Column::Id)
        .all(cx)
        .await?)
}

async fn owners_of(cx: &Cx<'_>, merchant_id: i64) -> AppResult<Vec<i64>> {
    Ok(merchant_member::Entity::find()
        .filter(merchant_member::Column::MerchantId.eq(merchant_id))
        .filter(merchant_member::Column::Role.eq(merchant_member::MemberRole::Owner))
        .all(cx)
        .await?
        .into_iter()
        .map(|m| m.user_id)
        .collect())
}

/// The steps `rights` may take on a package with `items` items, by name: none once a copy has
/// been granted, and no sending without an item.
pub fn available(
    rights: &StreetRights,
    package: &benefit_package::Model,
    items: usize,
) -> Vec<String> {
    lifecycle::available_where::<benefit_package::Entity>(rights, package.status, |a| {
        package.granted_count == 0 && (a != PackageAction::Send || items > 0)
    })
}

/// The steps `rights` may take on an item of `package` given by a merchant in `provider`'s
/// state, by name: an active provider answers only while the package waits for its providers,
/// and the street asks again only once the package has been sent and while it may change (not
/// withdrawn, no copy granted).
pub fn item_available(
    rights: &PackageItemRights,
    item: &package_item::Model,
    package: &benefit_package::Model,
    provider: MerchantStatus,
) -> Vec<String> {
    let changeable = !matches!(
        package.status,
        PackageStatus::Draft | PackageStatus::Withdrawn
    ) && package.granted_count == 0;
    lifecycle::available_where::<package_item::Entity>(rights, item.status, |a| match a {
        ItemAction::Request => changeable,
        ItemAction::Confirm | ItemAction::Decline => {
            package.status == PackageStatus::Confirming && provider == MerchantStatus::Active
        }
    })
}

/// Asks the item's provider (again).
async fn request(
    cx: &Cx<'_>,
    rights: &StreetRights,
    package: &benefit_package::Model,
    item: &package_item::Model,
) -> AppResult<()> {
    let payload = serde_json::json!({ "packageId": package.id, "title": package.title });
    let owners = owners_of(cx, item.merchant_id).await?;
    if item.status == ItemStatus::Requested {
        // Asked already, but about something else (or someone else): ask again.
        return tell(
            cx,
            package,
            EventKind::PackageItemRequested,
            item.id,
            owners,
        )
        .await;
    }
    let mut step = Step::<package_item::Entity>::new(item.id, ItemAction::Request)
        .street(package.street_id)
        .set(package_item::Column::DeclineReason, None::<String>)
        .payload(payload);
    for owner in owners {
        step = step.concerning(owner);
    }
    lifecycle::apply(cx, rights, step).await?;
    Ok(())
}

/// Tells a provider's owners of something about an item that is not a step of its lifecycle.
async fn tell(
    cx: &Cx<'_>,
    package: &benefit_package::Model,
    kind: EventKind,
    item_id: i64,
    owners: Vec<i64>,
) -> AppResult<()> {
    let mut event = Event::new(kind, ObjectKind::PackageItem, item_id)
        .payload(serde_json::json!({ "packageId": package.id, "title": package.title }));
    event.street_id = Some(package.street_id);
    for owner in owners {
        event = event.concerning(owner);
    }
    events::record(cx, event).await
}

/// After items changed: a package being confirmed is ready when every item (one at least) is
/// confirmed, and a ready one is not once any is not.
async fn settle(cx: &Cx<'_>, package_id: i64) -> AppResult<()> {
    let package = benefit_package::Entity::find_by_id(package_id)
        .one(cx)
        .await?
        .ok_or(AppError::NotFound("package"))?;
    let items = items(cx, package_id).await?;
    let ready = !items.is_empty() && items.iter().all(|i| i.status == ItemStatus::Confirmed);
    let action = match (package.status, ready) {
        (PackageStatus::Confirming, true) => PackageAction::Complete,
        (PackageStatus::Ready, false) => PackageAction::Reopen,
        _ => return Ok(()),
    };
    let step = Step::<benefit_package::Entity>::new(package.id, action)
        .street(package.street_id)
        .concerning(package.created_by)
        .payload(serde_json::json!({ "title": package.title }));
    lifecycle::apply_system(cx, step).await?;
    Ok(())
}

/// What an item gives, for the audit's before and after.
fn terms(item: Option<&package_item::Model>) -> serde_json::Value {
    item.map_or(serde_json::Value::Null, |i| {
        serde_json::json!({
            "providerId": i.merchant_id, "kind": sea_orm::ActiveEnum::to_value(&i.kind),
            "description": i.description, "totalUses": i.total_uses,
            "perDayLimit": i.per_day_limit, "validDays": i.valid_days, "valueFen": i.value_fen,
        })
    })
}

fn item_audit(
    package: &benefit_package::Model,
    item_id: i64,
    before: Option<&package_item::Model>,
    after: Option<&package_item::Model>,
) -> AuditRecord {
    AuditRecord::of(
        Some(package.street_id),
        AuditAction::PackageItemChange,
        ObjectKind::PackageItem,
        item_id,
    )
    .change(terms(before), terms(after))
}

/// Staff add an item; after the package was sent, its provider is asked at once. Audited.
pub async fn add_item(
    cx: &Cx<'_>,
    package_id: i64,
    spec: ItemSpec,
) -> AppResult<package_item::Model> {
    let tx = cx.write().await?;
    let (package, rights) = changeable(&tx, package_id).await?;
    if items(&tx, package.id).await?.len() >= MAX_ITEMS {
        return Err(too_many_items());
    }
    let item = insert_item(&tx, &package, spec).await?;
    if package.status != PackageStatus::Draft {
        request(&tx, &rights, &package, &item).await?;
        settle(&tx, package.id).await?;
    }
    audit::record(&tx, item_audit(&package, item.id, None, Some(&item))).await?;
    let item = reload_item(&tx, item.id).await?;
    tx.commit().await?;
    Ok(item)
}

async fn reload_item(cx: &Cx<'_>, id: i64) -> AppResult<package_item::Model> {
    package_item::Entity::find_by_id(id)
        .one(cx)
        .await?
        .ok_or(AppError::NotFound("package item"))
}

async fn item_of(cx: &Cx<'_>, item_id: i64) -> AppResult<package_item::Model> {
    package_item::Entity::find_by_id(item_id)
        .one(cx)
        .await?
        .ok_or(AppError::NotFound("package item"))
}

/// Staff change what an item gives (its provider too); after the package was sent, the
/// provider is asked again. Audited.
pub async fn change_item(
    cx: &Cx<'_>,
    item_id: i64,
    spec: ItemSpec,
) -> AppResult<package_item::Model> {
    let tx = cx.write().await?;
    let item = item_of(&tx, item_id).await?;
    let (package, rights) = changeable(&tx, item.package_id).await?;
    let spec = spec.checked()?;
    provider(&tx, package.street_id, spec.merchant_id).await?;
    let before = item.clone();
    let mut am: package_item::ActiveModel = item.into();
    am.merchant_id = Set(spec.merchant_id);
    am.kind = Set(spec.kind);
    am.description = Set(spec.description);
    am.total_uses = Set(spec.total_uses);
    am.per_day_limit = Set(spec.per_day_limit);
    am.valid_days = Set(spec.valid_days);
    am.value_fen = Set(spec.value_fen);
    am.updated_at = Set(tx.now());
    let item = am.update(&tx).await?;
    if package.status != PackageStatus::Draft {
        request(&tx, &rights, &package, &item).await?;
        settle(&tx, package.id).await?;
    }
    audit::record(
        &tx,
        item_audit(&package, item.id, Some(&before), Some(&item)),
    )
    .await?;
    let item = reload_item(&tx, item.id).await?;
    tx.commit().await?;
    Ok(item)
}

/// Staff remove an item (a declined one, say). Audited.
pub async fn remove_item(cx: &Cx<'_>, item_id: i64) -> AppResult<benefit_package::Model> {
    let tx = cx.write().await?;
    let item = item_of(&tx, item_id).await?;
    let (package, _) = changeable(&tx, item.package_id).await?;
    package_item::Entity::delete_by_id(item.id)
        .exec(&tx)
        .await?;
    settle(&tx, package.id).await?;
    audit::record(&tx, item_audit(&package, item.id, Some(&item), None)).await?;
    if package.status != PackageStatus::Draft {
        // The provider was asked; now it is not.
        let owners = owners_of(&tx, item.merchant_id).await?;
        tell(
            &tx,
            &package,
            EventKind::PackageItemRemoved,
            item.id,
            owners,
        )
        .await?;
    }
    let package = reload(&tx, package.id).await?;
    tx.commit().await?;
    Ok(package)
}

async fn reload(cx: &Cx<'_>, id: i64) -> AppResult<benefit_package::Model> {
    benefit_package::Entity::find_by_id(id)
        .one(cx)
        .await?
        .ok_or(AppError::NotFound("package"))
}

/// Staff send a draft with at least one item to its providers. Audited.
pub async fn send(cx: &Cx<'_>, package_id: i64) -> AppResult<benefit_package::Model> {
    let tx = cx.write().await?;
    let (package, rights) = changeable(&tx, package_id).await?;
    let items = items(&tx, package.id).await?;
    if items.is_empty() {
        return Err(AppError::InvalidState(Text::new(
            "礼包至少要有一项",
            "A package needs at least one item",
        )));
    }
    // Providers suspended since they were added are not asked.
    for item in &items {
        provider(&tx, package.street_id, item.merchant_id).await?;
    }
    let step = Step::<benefit_package::Entity>::new(package.id, PackageAction::Send)
        .street(package.street_id);
    lifecycle::apply(&tx, &rights, step).await?;
    for item in &items {
        request(&tx, &rights, &package, item).await?;
    }
    settle(&tx, package.id).await?;
    let package = reload(&tx, package.id).await?;
    tx.commit().await?;
    Ok(package)
}

/// The provider's owner confirms (`Confirm`) or declines (`Decline`, with a reason) an item
/// that asks for them, for all the package's copies. Audited.
pub async fn decide_item(
    cx: &Cx<'_>,
    item_id: i64,
    action: ItemAction,
    reason: Option<&str>,
) -> AppResult<package_item::Model> {
    let viewer = cx.viewer()?;
    lifecycle::reason_for::<package_item::Entity>(action, reason)?;
    let tx = cx.write().await?;
    let item = item_of(&tx, item_id).await?;
    // The package first, as every change of a package's items takes it: one lock order, and
    // the last confirmation sees every other one committed.
    let package = benefit_package::Entity::find_by_id(item.package_id)
        .lock_exclusive()
        .one(&tx)
        .await?
        .ok_or(AppError::NotFound("package"))?;
    let item = item_of(&tx, item_id).await?;
    let m = crate::domain::merchant::find(&tx, item.merchant_id).await?;
    let rights = crate::domain::merchant::rights(&tx, Some(viewer), m.street_id, m.id).await?;
    if !rights.read {
        return Err(AppError::Forbidden);
    }
    lifecycle::authorize::<package_item::Entity>(&rights, action)?;
    // Only a package waiting for its providers asks anything of them, and of active members.
    if package.status != PackageStatus::Confirming || m.status != MerchantStatus::Active {
        return Err(invalid_state());
    }
    let step = Step::<package_item::Entity>::new(item.id, action)
        .street(package.street_id)
        .reason(reason)
        .concerning(package.created_by)
        .payload(serde_json::json!({ "packageId": package.id, "merchantId": m.id }));
    let item = lifecycle::apply(&tx, &rights, step).await?;
    settle(&tx, package.id).await?;
    tx.commit().await?;
    Ok(item)
}

/// Staff withdraw a package nobody has received, with a reason. Audited.
pub async fn withdraw(
    cx: &Cx<'_>,
    package_id: i64,
    reason: &str,
) -> AppResult<benefit_package::Model> {
    lifecycle::reason_for::<benefit_package::Entity>(PackageAction::Withdraw, Some(reason))?;
    let tx = cx.write().await?;
    let (package, rights) = changeable(&tx, package_id).await?;
    let mut step = Step::<benefit_package::Entity>::new(package.id, PackageAction::Withdraw)
        .street(package.street_id)
        .reason(Some(reason))
        .payload(serde_json::json!({ "title": package.title }));
    let mut providers: Vec<i64> = items(&tx, package.id)
        .await?
        .iter()
        .map(|i| i.merchant_id)
        .collect();
    providers.sort_unstable();
    providers.dedup();
    for m in providers {
        for owner in owners_of(&tx, m).await? {
            step = step.concerning(owner);
        }
    }
    let package = lifecycle::apply(&tx, &rights, step).await?;
    tx.commit().await?;
    Ok(package)
}

/// What the viewer may see of a package: `FORBIDDEN` when nothing (the policy decides).
pub async fn sight(cx: &Cx<'_>, package: &benefit_package::Model) -> AppResult<Sight> {
    let viewer = cx.viewer()?;
    let memberships = crate::domain::merchant::memberships_of(cx, viewer.user_id).await?;
    let providers: Vec<i64> = items(cx, package.id)
        .await?
        .into_iter()
        .map(|i| i.merchant_id)
        .collect();
    policy::package_sight(
        viewer,
        package.street_id,
        package.status != PackageStatus::Draft,
        &memberships,
        &providers,
    )
}

/// A package and what the viewer sees of it.
pub async fn get(cx: &Cx<'_>, id: i64) -> AppResult<(benefit_package::Model, Sight)> {
    cx.viewer()?;
    let package = reload(cx, id).await?;
    let sight = sight(cx, &package).await?;
    Ok((package, sight))
}

/// An item, for staff of its street and its provider's members.
pub async fn get_item(cx: &Cx<'_>, id: i64) -> AppResult<package_item::Model> {
    let viewer = cx.viewer()?;
    let item = item_of(cx, id).await?;
    let package = reload(cx, item.package_id).await?;
    let memberships = crate::domain::merchant::memberships_of(cx, viewer.user_id).await?;
    let sight = policy::package_sight(
        viewer,
        package.street_id,
        package.status != PackageStatus::Draft,
        &memberships,
        &[item.merchant_id],
    )?;
    if sight.sees(item.merchant_id) {
        Ok(item)
    } else {
        Err(AppError::Forbidden)
    }
}

/// How package lists are ordered.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PackageOrder {
    CreatedAt,
    Title,
}

fn package_order(by: PackageOrder, descending: bool) -> Order<benefit_package::Entity> {
    let (field, column, key): (_, _, KeyOf<benefit_package::Model>) = match by {
        PackageOrder::CreatedAt => ("createdAt", benefit_package::Column::Id, |p| {
            (SortValue::Int(p.id), p.id)
        }),
        PackageOrder::Title => ("title", benefit_package::Column::Title, |p| {
            (SortValue::Text(p.title.clone()), p.id)
        }),
    };
    Order {
        field,
        column,
        id: benefit_package::Column::Id,
        descending,
        key,
    }
}

/// Staff: the packages of their street, of one status or all.
pub async fn list(
    cx: &Cx<'_>,
    status: Option<PackageStatus>,
    by: PackageOrder,
    descending: bool,
    window: Window,
) -> AppResult<Page<benefit_package::Model>> {
    let viewer = cx.viewer()?;
    let mut q = benefit_package::Entity::find().filter(policy::listed_packages(viewer)?);
    if let Some(s) = status {
        q = q.filter(benefit_package::Column::Status.eq(s));
    }
    page::fetch(cx, q, package_order(by, descending), window).await
}

/// A provider's owner: the items of packages waiting for their providers that ask them to
/// decide, by when they were added.
pub async fn items_to_confirm(
    cx: &Cx<'_>,
    descending: bool,
    window: Window,
) -> AppResult<Page<package_item::Model>> {
    let viewer = cx.viewer()?;
    let memberships = crate::domain::merchant::memberships_of(cx, viewer.user_id).await?;
    let owned = policy::confirming_for(viewer, &memberships);
    let waiting = sea_orm::sea_query::Query::select()
        .column(benefit_package::Column::Id)
        .from(benefit_package::Entity)
        .and_where(benefit_package::Column::Status.eq(PackageStatus::Confirming))
        .to_owned();
    let q = package_item::Entity::find()
        .filter(package_item::Column::MerchantId.is_in(owned))
        .filter(package_item::Column::Status.eq(ItemStatus::Requested))
        .filter(package_item::Column::PackageId.in_subquery(waiting));
    let order = Order {
        field: "createdAt",
        column: package_item::Column::Id,
        id: package_item::Column::Id,
        descending,
        key: |i: &package_item::Model| (SortValue::Int(i.id), i.id),
    };
    page::fetch(cx, q, order, window).await
}

/// Items of packages, for the batch loader.
pub async fn items_of(
    conn: &impl ConnectionTrait,
    package_ids: &[i64],
) -> AppResult<Vec<package_item::Model>> {
    Ok(package_item::Entity::find()
        .filter(package_item::Column::PackageId.is_in(package_ids.iter().copied()))
        .order_by_asc(package_item::Column::Id)
        .all(conn)
        .await?)
}

/// Packages by id, for the batch loader.
pub async fn by_ids(
    conn: &impl ConnectionTrait,
    ids: &[i64],
) -> AppResult<Vec<benefit_package::Model>> {
    Ok(benefit_package::Entity::find()
        .filter(benefit_package::Column::Id.is_in(ids.iter().copied()))
        .all(conn)
        .await?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_step_has_one_rule() {
        lifecycle::check_table::<benefit_package::Entity>();
        lifecycle::check_table::<package_item::Entity>();
    }
}
