//! The coupon side of two-way points: what a merchant's points rewards collected, and the
//! refund a voided points claim is owed. The ledger itself (`points`) knows nothing of coupons.

use chrono::{DateTime, Utc};
use sea_orm::sea_query::{Expr, Func, SimpleExpr};
use sea_orm::{ColumnTrait, EntityTrait, FromQueryResult, QueryFilter, QueryOrder, QuerySelect};

use entity::coupon_claim::{self, ClaimStatus};
use entity::merchant;
use entity::points_entry::SourceType;

use crate::domain::context::Cx;
use crate::domain::merchant as merchant_domain;
use crate::domain::points::Source;
use crate::domain::policy;
use crate::error::{AppError, AppResult, Text};

/// Points rewards of one merchant over a period.
#[derive(Clone, Debug, PartialEq, Eq, FromQueryResult)]
pub struct RewardReport {
    pub merchant_id: i64,
    pub claimed: i64,
    pub redeemed: i64,
    pub points_collected: i64,
}

/// Claimed, redeemed and points collected (voided claims excluded) by the points rewards of a
/// merchant, or of every merchant of the staff member's street, for claims made in
/// `[from, to)`.
pub async fn reward_report(
    cx: &Cx<'_>,
    merchant_id: Option<i64>,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> AppResult<Vec<RewardReport>> {
    let viewer = cx.viewer()?;
    if to <= from {
        return Err(AppError::bad_input(
            "to",
            Text::new("结束时间须晚于开始时间", "to must be after from"),
        ));
    }
    let merchant_ids: Vec<i64> = match merchant_id {
        Some(id) => {
            let m = merchant_domain::find(cx, id).await?;
            crate::domain::merchant::rights(cx, Some(viewer), m.street_id, m.id)
                .await?
                .require_claim_records()?;
            vec![m.id]
        }
        None => {
            let street = policy::governed_street(viewer)?;
            merchant::Entity::find()
                .filter(merchant::Column::StreetId.eq(street))
                .order_by_asc(merchant::Column::Id)
                .all(cx)
                .await?
                .into_iter()
                .map(|m| m.id)
                .collect()
        }
    };
    let rows = coupon_claim::Entity::find()
        .select_only()
        .column(coupon_claim::Column::MerchantId)
        .column_as(
            SimpleExpr::from(Func::count(Expr::col(coupon_claim::Column::Id))),
            "claimed",
        )
        .column_as(
            SimpleExpr::from(Func::sum(
                Expr::case(coupon_claim::Column::Status.eq(ClaimStatus::Redeemed), 1).finally(0),
            )),
            "redeemed",
        )
        .column_as(
            SimpleExpr::from(Func::sum(
                Expr::case(
                    coupon_claim::Column::Status.ne(ClaimStatus::Voided),
                    Expr::col(coupon_claim::Column::PointsSpent),
                )
                .finally(0),
            )),
            "points_collected",
        )
        .filter(coupon_claim::Column::MerchantId.is_in(merchant_ids.iter().copied()))
        .filter(coupon_claim::Column::PointsSpent.gt(0))
        .filter(coupon_claim::Column::ClaimedAt.gte(from))
        .filter(coupon_claim::Column::ClaimedAt.lt(to))
        .group_by(coupon_claim::Column::MerchantId)
        .into_model::<RewardReport>()
        .all(cx)
        .await?;
    Ok(merchant_ids
        .into_iter()
        .map(|id| {
            rows.iter()
                .find(|r| r.merchant_id == id)
                .cloned()
                .unwrap_or(RewardReport {
                    merchant_id: id,
                    claimed: 0,
                    redeemed: 0,
                    points_collected: 0,
                })
        })
        .collect())
}

/// The refund a claim of a points reward is owed if voided unredeemed.
pub fn refund_source(claim: &coupon_claim::Model) -> Option<(i32, Source)> {
    (claim.points_spent > 0 && claim.status == ClaimStatus::Claimed).then(|| {
        (
            claim.points_spent,
            Source::new(SourceType::CouponClaimRefund, claim.id),
        )
    })
}
