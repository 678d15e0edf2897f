//! Entitlements: what the items of a granted package give its recipient. One per item, with
//! its uses (or a voucher's value), an optional limit a day, a validity from the grant, and a
//! code like a coupon claim's that only the item's provider redeems.

use sea_orm::{ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, Set};

use entity::entitlement::{self, EntitlementStatus};
use entity::{award, package_item};

use crate::domain::codes::new_code;
use crate::domain::context::Cx;
use crate::domain::page::{self, Order, Page, SortValue, Window};
use crate::error::AppResult;

/// What a QR code of an entitlement carries before its code.
pub const QR_PREFIX: &str = "shangju:entitlement:";

/// The entitlements of a grant: one per item of the package, for `holder`, valid from now.
pub(crate) async fn create_for_grant(
    cx: &Cx<'_>,
    grant: &award::Model,
    items: &[package_item::Model],
    holder: i64,
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
            valid_from: Set(now),
            valid_until: Set(now + chrono::Duration::days(i64::from(item.valid_days))),
            code: Set(new_code()),
            status: Set(EntitlementStatus::Active),
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

/// The signed-in person's entitlements, newest first.
pub async fn mine(cx: &Cx<'_>, window: Window) -> AppResult<Page<entitlement::Model>> {
    let viewer = cx.viewer()?;
    let q =
        entitlement::Entity::find().filter(entitlement::Column::HolderUserId.eq(viewer.user_id));
    let order = Order {
        field: "createdAt",
        column: entitlement::Column::Id,
        id: entitlement::Column::Id,
        descending: true,
        key: |e: &entitlement::Model| (SortValue::Int(e.id), e.id),
    };
    page::fetch(cx, q, order, window).await
}

/// An entitlement, for its holder.
pub async fn get(cx: &Cx<'_>, id: i64) -> AppResult<entitlement::Model> {
    let viewer = cx.viewer()?;
    let e = entitlement::Entity::find_by_id(id)
        .one(cx)
        .await?
        .ok_or(crate::error::AppError::NotFound("entitlement"))?;
    if e.holder_user_id == viewer.user_id {
        Ok(e)
    } else {
        Err(crate::error::AppError::Forbidden)
    }
}

/// Entitlements of one grant, for its answer.
pub async fn of_award(
    conn: &impl ConnectionTrait,
    award_id: i64,
) -> AppResult<Vec<entitlement::Model>> {
    Ok(entitlement::Entity::find()
        .filter(entitlement::Column::AwardId.eq(award_id))
        .all(conn)
        .await?)
}
