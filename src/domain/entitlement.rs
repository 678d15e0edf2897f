//! Entitlements: what the items of a granted package give its recipient. One per item, with
//! its uses (or a voucher's value), an optional limit a day, a validity from the grant, and a
//! code like a coupon claim's that only the item's provider redeems.

use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, Condition, ConnectionTrait, EntityTrait, PaginatorTrait,
    QueryFilter, QuerySelect, Set,
};

use entity::entitlement::{self, EntitlementStatus};
use entity::merchant::MerchantStatus;
use entity::names::ObjectKind;
use entity::package_item::ItemKind;
use entity::{award, entitlement_use, package_item};

use crate::domain::audit::{self, AuditAction, AuditRecord};
use crate::domain::codes::{IdempotencyKey, new_code, normalize_code};
use crate::domain::context::Cx;
use crate::domain::events::{self, Event, EventKind};
use crate::domain::idempotency::{self, Binding, Scope};
use crate::domain::lifecycle::{self, Lifecycle, NoteRule, Rule, Step};
use crate::domain::page::{self, Order, Page, SortValue, Window};
use crate::domain::policy::{self, PersonRights, Who};
use crate::domain::values::{bad, invalid_state};
use crate::error::{AppError, AppResult};

/// What a QR code of an entitlement carries before its code.
pub const QR_PREFIX: &str = "shangju:entitlement:";

/// The entitlements of a grant: one per item of the package, for `holder`, valid from `from`
/// (the grant) for each item's days.
pub(crate) async fn create_for_grant(
    cx: &Cx<'_>,
    grant: &award::Model,
    items: &[package_item::Model],
    holder: i64,
    from: chrono::DateTime<chrono::Utc>,
) -> AppResult<Vec<entitlement::Model>> {
    let now = cx.now();
    let mut out = Vec::with_capacity(items.len());
    for item in items {
        let row = entitlement::ActiveModel {
            street_id: Set(grant.street_id),
            award_id: Set(grant.id),
            package_id: Set(item.package_id),
            item_id: Set(item.id),
            merchant_id: Set(item.merchant_id),
            holder_user_id: Set(holder),
            kind: Set(item.kind),
            description: Set(item.description.clone()),
            total_uses: Set(item.total_uses),
            used_count: Set(0),
            value_fen: Set(item.value_fen),
            remaining_value_fen: Set(item.value_fen),
            per_day_limit: Set(item.per_day_limit),
            valid_from: Set(from),
            valid_until: Set(from + chrono::Duration::days(i64::from(item.valid_days))),
            code: Set(new_code()),
            status: Set(EntitlementStatus::Active),
            void_reason: Set(None),
            last_used_at: Set(None),
            created_at: Set(now),
            ..Default::default()
        }
        .insert(cx)
        .await?;
        out.push(row);
    }
    Ok(out)
}

/// Where an entitlement stands at a moment, as its holder and its provider see it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Standing {
    /// Within its validity, with uses or value left.
    Active,
    /// Every use, or the whole value, spent.
    UsedUp,
    /// Past its validity.
    Expired,
    /// Voided by staff.
    Voided,
}

/// Where `e` stands at `now`; [`in_standing`] is the same rule in SQL.
pub fn standing(e: &entitlement::Model, now: chrono::DateTime<chrono::Utc>) -> Standing {
    if e.status == EntitlementStatus::Voided {
        Standing::Voided
    } else if e.valid_until <= now {
        Standing::Expired
    } else if e.total_uses.is_some_and(|n| e.used_count >= n)
        || e.remaining_value_fen.is_some_and(|v| v <= 0)
    {
        Standing::UsedUp
    } else {
        Standing::Active
    }
}

/// The entitlements that stand so at `now`, as [`standing`] decides.
fn in_standing(s: Standing, now: chrono::DateTime<chrono::Utc>) -> Condition {
    use entitlement::Column as C;
    use sea_orm::sea_query::ExprTrait;
    let voided = C::Status.eq(EntitlementStatus::Voided);
    let live = Condition::all()
        .add(C::Status.eq(EntitlementStatus::Active))
        .add(C::ValidUntil.gt(now));
    let spent = Condition::any()
        .add(
            Condition::all()
                .add(C::TotalUses.is_not_null())
                .add(Expr::col(C::UsedCount).gte(Expr::col(C::TotalUses))),
        )
        .add(
            Condition::all()
                .add(C::RemainingValueFen.is_not_null())
                .add(C::RemainingValueFen.lte(0)),
        );
    match s {
        Standing::Voided => Condition::all().add(voided),
        Standing::Expired => Condition::all()
            .add(C::Status.eq(EntitlementStatus::Active))
            .add(C::ValidUntil.lte(now)),
        Standing::UsedUp => live.add(spent),
        Standing::Active => live.add(spent.not()),
    }
}

/// Which entitlements a list shows, and which way.
#[derive(Clone, Copy, Debug, Default)]
pub struct ListOf {
    pub standing: Option<Standing>,
    /// Oldest first instead of newest first.
    pub ascending: bool,
}

async fn list(
    cx: &Cx<'_>,
    q: sea_orm::Select<entitlement::Entity>,
    of: ListOf,
    window: Window,
) -> AppResult<Page<entitlement::Model>> {
    let q = match of.standing {
        Some(s) => q.filter(in_standing(s, cx.now())),
        None => q,
    };
    let order = Order {
        field: "createdAt",
        column: entitlement::Column::Id,
        id: entitlement::Column::Id,
        descending: !of.ascending,
        key: |e: &entitlement::Model| (SortValue::Int(e.id), e.id),
    };
    page::fetch(cx, q, order, window).await
}

/// The signed-in person's entitlements, newest first unless asked otherwise.
pub async fn mine(cx: &Cx<'_>, of: ListOf, window: Window) -> AppResult<Page<entitlement::Model>> {
    let viewer = cx.viewer()?;
    let q = entitlement::Entity::find().filter(policy::held_entitlements(viewer));
    list(cx, q, of, window).await
}

/// What a provider has given: the entitlements it redeems, newest first unless asked
/// otherwise, for who serves at its counter and staff of its street (what it settles with
/// the street).
pub async fn provided(
    cx: &Cx<'_>,
    merchant_id: i64,
    of: ListOf,
    window: Window,
) -> AppResult<Page<entitlement::Model>> {
    let viewer = cx.viewer()?;
    let m = crate::domain::merchant::find(cx, merchant_id).await?;
    crate::domain::merchant::rights(cx, Some(viewer), m.street_id, m.id)
        .await?
        .require_claim_records()?;
    let q = entitlement::Entity::find().filter(entitlement::Column::MerchantId.eq(m.id));
    list(cx, q, of, window).await
}

/// The uses of entitlements, oldest first, for the batch loader.
pub async fn uses_of(
    conn: &impl ConnectionTrait,
    ids: &[i64],
) -> AppResult<Vec<entitlement_use::Model>> {
    use sea_orm::QueryOrder;
    Ok(entitlement_use::Entity::find()
        .filter(entitlement_use::Column::EntitlementId.is_in(ids.iter().copied()))
        .order_by_asc(entitlement_use::Column::Id)
        .all(conn)
        .await?)
}

/// An entitlement, for its holder, and for who sees its provider's records.
pub async fn get(cx: &Cx<'_>, id: i64) -> AppResult<entitlement::Model> {
    let viewer = cx.viewer()?;
    let e = entitlement::Entity::find_by_id(id)
        .one(cx)
        .await?
        .ok_or(AppError::NotFound("entitlement"))?;
    if e.holder_user_id != viewer.user_id {
        // Whoever sees it in `providedEntitlements` sees it by ID.
        crate::domain::merchant::rights(cx, Some(viewer), e.street_id, e.merchant_id)
            .await?
            .require_claim_records()?;
    }
    Ok(e)
}

/// The owner or a clerk of the provider redeems one use of an entitlement, or `amount_fen` off
/// a voucher, by its code. The same key again returns the first result; the key with another
/// code or amount is `IDEMPOTENCY_KEY_REUSED`. Past its validity `EXPIRED`; no use left, or
/// the day's uses taken (days in the street's time zone), `LIMIT_REACHED`; not enough value
/// `INSUFFICIENT_VALUE`. Every use is a row and an audit entry.
pub async fn redeem(
    cx: &Cx<'_>,
    code: &str,
    key: &str,
    amount_fen: Option<i64>,
) -> AppResult<entitlement::Model> {
    let viewer = cx.viewer()?;
    let key = IdempotencyKey::parse("idempotencyKey", key)?;
    let code = normalize_code(code, QR_PREFIX)
        .ok_or_else(|| bad("code", "券码格式不正确", "Not a valid code"))?;
    let tx = cx.write().await?;
    // Locked for the whole use: racing redemptions of one entitlement take turns.
    let e = entitlement::Entity::find()
        .filter(entitlement::Column::Code.eq(code.as_str()))
        .lock_exclusive()
        .one(&tx)
        .await?
        .ok_or(AppError::NotFound("entitlement"))?;
    let m = crate::domain::merchant::find(&tx, e.merchant_id).await?;
    // Only at its provider, and nobody serves themselves.
    let rights = crate::domain::merchant::rights(&tx, Some(viewer), m.street_id, m.id)
        .await?
        .as_party(viewer.user_id == e.holder_user_id);
    rights.require(Who::Member)?;
    let binding = idempotency::bind(
        &tx,
        Scope::RedeemEntitlement,
        &key,
        serde_json::json!([e.code, amount_fen]),
    )
    .await?;
    if let Binding::Replay(use_id) = binding {
        // The first result: the entitlement as that use left it.
        let first = entitlement_use::Entity::find_by_id(use_id)
            .one(&tx)
            .await?
            .ok_or(AppError::NotFound("entitlement use"))?;
        return Ok(entitlement::Model {
            used_count: first.used_count_after,
            remaining_value_fen: first.remaining_value_after,
            last_used_at: Some(first.created_at),
            ..e
        });
    }
    match (e.kind, amount_fen) {
        (ItemKind::Entitlement, Some(_)) => {
            return Err(bad(
                "amountFen",
                "次数权益不按金额使用",
                "An entitlement is used by count",
            ));
        }
        (ItemKind::Voucher, None) => {
            return Err(bad(
                "amountFen",
                "请填写本次使用的金额",
                "Give the amount to take off",
            ));
        }
        (ItemKind::Voucher, Some(a)) if a < 1 => {
            return Err(bad(
                "amountFen",
                "金额应至少 1 分",
                "amountFen is at least 1",
            ));
        }
        _ => {}
    }
    let now = tx.now();
    if e.status == EntitlementStatus::Voided || m.status != MerchantStatus::Active {
        return Err(invalid_state());
    }
    if now >= e.valid_until || now < e.valid_from {
        return Err(AppError::Expired);
    }
    if e.total_uses.is_some_and(|n| e.used_count >= n) {
        return Err(AppError::LimitReached);
    }
    let tz = crate::domain::street::time_zone(&tx, Some(e.street_id)).await?;
    let today = crate::clock::local_date(now, tz);
    if let Some(limit) = e.per_day_limit {
        let used_today = entitlement_use::Entity::find()
            .filter(entitlement_use::Column::EntitlementId.eq(e.id))
            .filter(entitlement_use::Column::LocalDay.eq(today))
            .count(&tx)
            .await?;
        if used_today >= limit as u64 {
            return Err(AppError::LimitReached);
        }
    }
    if let (Some(a), Some(left)) = (amount_fen, e.remaining_value_fen)
        && a > left
    {
        return Err(AppError::InsufficientValue);
    }
    let mut update = entitlement::Entity::update_many()
        .col_expr(
            entitlement::Column::UsedCount,
            sea_orm::sea_query::ExprTrait::add(Expr::col(entitlement::Column::UsedCount), 1),
        )
        .col_expr(entitlement::Column::LastUsedAt, Expr::value(now))
        .filter(entitlement::Column::Id.eq(e.id));
    if let Some(a) = amount_fen {
        update = update.col_expr(
            entitlement::Column::RemainingValueFen,
            sea_orm::sea_query::ExprTrait::sub(
                Expr::col(entitlement::Column::RemainingValueFen),
                a,
            ),
        );
    }
    update.exec(&tx).await?;
    let after = entitlement::Entity::find_by_id(e.id)
        .one(&tx)
        .await?
        .ok_or(AppError::NotFound("entitlement"))?;
    let used = entitlement_use::ActiveModel {
        entitlement_id: Set(e.id),
        merchant_id: Set(m.id),
        served_by: Set(viewer.user_id),
        amount_fen: Set(amount_fen),
        used_count_after: Set(after.used_count),
        remaining_value_after: Set(after.remaining_value_fen),
        local_day: Set(today),
        request_id: Set(cx.request_id().map(str::to_owned)),
        created_at: Set(now),
        ..Default::default()
    }
    .insert(&tx)
    .await?;
    audit::record(
        &tx,
        AuditRecord::of(
            Some(e.street_id),
            AuditAction::EntitlementRedeem,
            ObjectKind::Entitlement,
            e.id,
        )
        .reason(amount_fen.map(|a| format!("{a} fen"))),
    )
    .await?;
    let redeemed = Event::new(
        EventKind::EntitlementRedeemed,
        ObjectKind::Entitlement,
        e.id,
    )
    .concerning(e.holder_user_id)
    .payload(serde_json::json!({
        "merchantId": m.id,
        "usedCount": after.used_count,
        "amountFen": amount_fen,
    }));
    events::record(
        &tx,
        Event {
            street_id: Some(e.street_id),
            ..redeemed
        },
    )
    .await?;
    idempotency::settle(&tx, &binding, used.id).await?;
    tx.commit().await?;
    Ok(after)
}

/// A step of an entitlement's lifecycle.
#[derive(Clone, Copy, Debug, PartialEq, Eq, sea_orm::EnumIter)]
pub enum EntitlementAction {
    /// Staff of its street void it, with a reason.
    Void,
}

impl Lifecycle for entitlement::Entity {
    type State = EntitlementStatus;
    type Action = EntitlementAction;
    const KIND: ObjectKind = ObjectKind::Entitlement;

    fn rules() -> &'static [Rule<EntitlementStatus, EntitlementAction>] {
        &[Rule {
            action: EntitlementAction::Void,
            from: &[EntitlementStatus::Active],
            to: EntitlementStatus::Voided,
            who: Who::StreetStaff,
            note: NoteRule::Required,
            audit: Some(AuditAction::EntitlementVoid),
            event: Some(EventKind::EntitlementVoided),
        }]
    }

    fn id_column() -> entitlement::Column {
        entitlement::Column::Id
    }

    fn state_column() -> entitlement::Column {
        entitlement::Column::Status
    }

    fn reason_column() -> Option<entitlement::Column> {
        Some(entitlement::Column::VoidReason)
    }

    fn updated_at_column() -> Option<entitlement::Column> {
        None
    }
}

/// Staff of its street (never for themselves) void an entitlement, with a reason; it is
/// redeemed no more. Audited; the holder hears of it.
pub async fn void(cx: &Cx<'_>, id: i64, reason: &str) -> AppResult<entitlement::Model> {
    let viewer = cx.viewer()?;
    lifecycle::reason_for::<entitlement::Entity>(EntitlementAction::Void, Some(reason))?;
    let tx = cx.write().await?;
    let e = entitlement::Entity::find_by_id(id)
        .one(&tx)
        .await?
        .ok_or(AppError::NotFound("entitlement"))?;
    let rights = PersonRights::of(Some(viewer), e.holder_user_id, Some(e.street_id));
    let step = Step::<entitlement::Entity>::new(e.id, EntitlementAction::Void)
        .street(e.street_id)
        .reason(Some(reason))
        .concerning(e.holder_user_id)
        .payload(serde_json::json!({ "description": e.description }));
    let e = lifecycle::apply(&tx, &rights, step).await?;
    tx.commit().await?;
    Ok(e)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_step_has_one_rule() {
        lifecycle::check_table::<entitlement::Entity>();
    }
}
