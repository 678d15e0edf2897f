//! Claiming a coupon (atomic against stock and the per-user limit under any concurrency),
//! redeeming a claim at the counter (exactly once, idempotent by key) and voiding it.

use sea_orm::sea_query::{Expr, ExprTrait, Query, QueryStatementBuilder, SimpleExpr};
use sea_orm::{ActiveEnum, ColumnTrait, Condition, ConnectionTrait, EntityTrait, QueryFilter};

use entity::coupon::{self, CouponStatus};
use entity::coupon_claim::{self, ClaimStatus};
use entity::merchant::{self, MerchantStatus};
use entity::names::ObjectKind;
use entity::points_entry::{PointsKind, SourceType};

use crate::domain::audience::{self, Exclusion};
use crate::domain::audit::AuditAction;
use crate::domain::codes::{IdempotencyKey, new_code, normalize_code};
use crate::domain::context::Cx;
use crate::domain::coupon::{QR_PREFIX, query, report};
use crate::domain::events::EventKind;
use crate::domain::idempotency::{self, Binding, Scope};
use crate::domain::lifecycle::{self, Lifecycle, NoteRule, Outcome, Rule, Step};
use crate::domain::merchant as merchant_domain;
use crate::domain::points::{self, Posting, Source};
use crate::domain::policy::{self, MerchantRights, Who};
use crate::domain::values::{bad, invalid_state};
use crate::error::{AppError, AppResult, Text};
use crate::metrics::Tally;

/// A step of a claim's lifecycle (`EXPIRED` is read from the time, not stored).
#[derive(Clone, Copy, Debug, PartialEq, Eq, sea_orm::EnumIter)]
pub enum ClaimAction {
    Redeem,
    Void,
}

impl Lifecycle for coupon_claim::Entity {
    type State = ClaimStatus;
    type Action = ClaimAction;
    const KIND: ObjectKind = ObjectKind::CouponClaim;

    fn rules() -> &'static [Rule<ClaimStatus, ClaimAction>] {
        &[
            Rule {
                action: ClaimAction::Redeem,
                from: &[ClaimStatus::Claimed],
                to: ClaimStatus::Redeemed,
                who: Who::Member,
                note: NoteRule::None,
                audit: Some(AuditAction::CouponRedeem),
                event: Some(EventKind::CouponClaimRedeemed),
            },
            Rule {
                action: ClaimAction::Void,
                from: &[ClaimStatus::Claimed],
                to: ClaimStatus::Voided,
                who: Who::MemberOrStreetStaff,
                note: NoteRule::Required,
                audit: Some(AuditAction::CouponClaimVoid),
                event: Some(EventKind::CouponClaimVoided),
            },
        ]
    }

    fn id_column() -> coupon_claim::Column {
        coupon_claim::Column::Id
    }

    fn state_column() -> coupon_claim::Column {
        coupon_claim::Column::Status
    }

    fn reason_column() -> Option<coupon_claim::Column> {
        Some(coupon_claim::Column::VoidReason)
    }

    fn updated_at_column() -> Option<coupon_claim::Column> {
        None
    }
}

pub use super::state::{ClaimState, claim_state, state_condition};

fn exclusion_text(e: Exclusion) -> Text {
    match e {
        Exclusion::Tag => Text::new(
            "此券仅限特定人群领取",
            "This offer is for residents with certain tags",
        ),
        Exclusion::Community => Text::new(
            "此券仅限指定社区居民领取",
            "This offer is for residents of certain communities",
        ),
        Exclusion::Age(min) => Text::owned(
            format!("此券仅限 {min} 岁及以上居民领取（请先填写出生日期）"),
            format!("This offer is for residents aged {min} or over (set your birth date)"),
        ),
    }
}

/// A resident claims one unit. Checks state, window and audience (reading the resident's profile
/// only when the offer has rules), then takes the stock, checks the per-user limit and writes the
/// claim in one transaction; a points cost is debited in the same one.
pub async fn claim(cx: &Cx<'_>, coupon_id: i64) -> AppResult<coupon_claim::Model> {
    let viewer = cx.viewer()?;
    policy::require_resident(viewer)?;
    let now = cx.now();
    // What is read here is checked again, or does not matter, under the lock: the stock update
    // below requires the coupon to be active still. Reading it first keeps the write
    // transaction (on SQLite, the database's one write lock) to the update, the count and the
    // insert, which is what lets a flash sale go faster.
    // The coupon, its merchant's status and its audience in one statement: most of a sale's
    // requests end before the write transaction.
    let (c, merchant_status, rules) = query::for_claim(cx, coupon_id)
        .await?
        .ok_or(AppError::NotFound("coupon"))?;
    if c.status != CouponStatus::Active || merchant_status != MerchantStatus::Active {
        return Err(invalid_state());
    }
    if now < c.valid_from || now >= c.valid_until {
        return Err(AppError::Expired);
    }
    let audience = query::audience(&c, &rules)?;
    if !audience.is_everyone() {
        let who = audience::resident(cx, viewer.user_id).await?;
        audience::check(&audience, &who).map_err(|e| AppError::NotEligible(exclusion_text(e)))?;
    }
    // Most of a flash sale's requests come after the last unit: answer them without taking the
    // write lock. Stock only grows back when a claim is voided, and a claim that just misses
    // that is one that came a moment too early.
    if c.remaining_stock == Some(0) {
        return Err(AppError::OutOfStock);
    }

    let tx = cx.write().await?;

    // Takes the row lock (PostgreSQL) before counting this resident's claims.
    let taken = coupon::Entity::update_many()
        .col_expr(
            coupon::Column::RemainingStock,
            Expr::col(coupon::Column::RemainingStock).sub(1),
        )
        .col_expr(
            coupon::Column::ClaimedCount,
            Expr::col(coupon::Column::ClaimedCount).add(1),
        )
        .filter(coupon::Column::Id.eq(c.id))
        .filter(coupon::Column::Status.eq(CouponStatus::Active))
        // The merchant was read before the lock; a suspension since then still stops the claim.
        .filter(
            coupon::Column::MerchantId.in_subquery(
                Query::select()
                    .column(merchant::Column::Id)
                    .from(merchant::Entity)
                    .and_where(Expr::col(merchant::Column::Id).eq(c.merchant_id))
                    .and_where(
                        Expr::col(merchant::Column::Status).eq(MerchantStatus::Active.to_value()),
                    )
                    .to_owned(),
            ),
        )
        .filter(
            Condition::any()
                .add(coupon::Column::RemainingStock.is_null())
                .add(coupon::Column::RemainingStock.gt(0)),
        )
        .exec(&tx)
        .await?;
    if taken.rows_affected == 0 {
        // Sold out, or the coupon or its merchant changed state since they were read.
        let now_coupon = coupon::Entity::find_by_id(c.id).one(&tx).await?;
        let now_merchant = merchant_domain::find(&tx, c.merchant_id).await?;
        let active = now_coupon.is_some_and(|n| n.status == CouponStatus::Active)
            && now_merchant.status == MerchantStatus::Active;
        return Err(if active {
            AppError::OutOfStock
        } else {
            invalid_state()
        });
    }
    // The per-user limit and the insert are one statement, so the coupon's row lock (taken by
    // the update above, which orders claims of one coupon) is held for one round trip less.
    use coupon_claim::Column as K;
    let mine = Query::select()
        .expr(Expr::col(K::Id).count())
        .from(coupon_claim::Entity)
        .and_where(Expr::col(K::CouponId).eq(c.id))
        .and_where(Expr::col(K::UserId).eq(viewer.user_id))
        .and_where(Expr::col(K::Status).ne(ClaimStatus::Voided.to_value()))
        .to_owned();
    let row = Query::select()
        .exprs([
            Expr::val(c.id),
            Expr::val(c.merchant_id),
            Expr::val(viewer.user_id),
            Expr::val(new_code()),
            Expr::val(ClaimStatus::Claimed.to_value()),
            Expr::val(now),
            Expr::val(c.valid_until),
            Expr::val(c.points_cost),
        ])
        .and_where(
            Expr::expr(SimpleExpr::SubQuery(
                None,
                Box::new(mine.into_sub_query_statement()),
            ))
            .lt(c.per_user_limit),
        )
        .to_owned();
    let insert = Query::insert()
        .into_table(coupon_claim::Entity)
        .columns([
            K::CouponId,
            K::MerchantId,
            K::UserId,
            K::Code,
            K::Status,
            K::ClaimedAt,
            K::ExpiresAt,
            K::PointsSpent,
        ])
        .select_from(row)
        .map_err(AppError::internal)?
        .returning_all()
        .to_owned();
    let claim = coupon_claim::Entity::find()
        .from_raw_sql(tx.get_database_backend().build(&insert))
        .one(&tx)
        .await?
        .ok_or(AppError::LimitReached)?;
    if c.points_cost > 0 {
        // A short balance fails here and the whole claim, stock included, rolls back.
        points::post(
            &tx,
            Posting {
                user_id: viewer.user_id,
                street_id: Some(c.street_id),
                amount: -c.points_cost,
                kind: PointsKind::RewardSpent,
                source: Source::new(SourceType::CouponClaim, claim.id),
                note: Some(c.title.clone()),
            },
        )
        .await?;
    }
    tx.tally(Tally::CouponClaimed);
    tx.commit().await?;
    Ok(claim)
}

/// A clerk or the owner of the issuing merchant redeems a code, exactly once. The same key again
/// (for the same code) returns the first result; another redemption is `ALREADY_REDEEMED`; the
/// key with another code is `IDEMPOTENCY_KEY_REUSED`.
pub async fn redeem(cx: &Cx<'_>, code: &str, key: &str) -> AppResult<coupon_claim::Model> {
    let viewer = cx.viewer()?;
    let key = IdempotencyKey::parse("idempotencyKey", key)?;
    let code = normalize_code(code, QR_PREFIX)
        .ok_or_else(|| bad("code", "券码格式不正确", "Not a valid code"))?;
    let tx = cx.write().await?;
    let claim = coupon_claim::Entity::find()
        .filter(coupon_claim::Column::Code.eq(code))
        .one(&tx)
        .await?
        .ok_or(AppError::NotFound("claim"))?;
    let m = merchant_domain::find(&tx, claim.merchant_id).await?;
    // Nobody redeems or voids (and so refunds) their own claim.
    let rights = crate::domain::merchant::rights(&tx, Some(viewer), m.street_id, m.id)
        .await?
        .as_party(viewer.user_id == claim.user_id);
    lifecycle::authorize::<coupon_claim::Entity>(&rights, ClaimAction::Redeem)?;
    let binding = idempotency::bind(
        &tx,
        Scope::RedeemCoupon,
        &key,
        serde_json::json!([claim.code]),
    )
    .await?;
    if let Binding::Replay(id) = binding {
        return coupon_claim::Entity::find_by_id(id)
            .one(&tx)
            .await?
            .ok_or(AppError::NotFound("claim"));
    }
    let settled = |c: &coupon_claim::Model| match c.status {
        ClaimStatus::Redeemed => AppError::AlreadyRedeemed,
        _ => invalid_state(),
    };
    if claim.status != ClaimStatus::Claimed {
        return Err(settled(&claim));
    }
    if m.status != MerchantStatus::Active {
        return Err(invalid_state());
    }
    if tx.now() >= claim.expires_at {
        return Err(AppError::Expired);
    }
    let step = Step::<coupon_claim::Entity>::new(claim.id, ClaimAction::Redeem)
        .street(m.street_id)
        .set(coupon_claim::Column::RedeemedAt, tx.now())
        .set(coupon_claim::Column::RedeemedBy, viewer.user_id)
        .set(coupon_claim::Column::RedeemKey, key.as_str())
        .concerning(claim.user_id)
        .payload(serde_json::json!({ "couponId": claim.coupon_id, "merchantId": m.id }));
    let redeemed = match lifecycle::try_apply(&tx, &rights, step).await? {
        Outcome::Done(c) => c,
        Outcome::NotInState => {
            // Another redemption committed first (PostgreSQL); answer as if we had come after it.
            let now_claim = coupon_claim::Entity::find_by_id(claim.id)
                .one(&tx)
                .await?
                .ok_or(AppError::NotFound("claim"))?;
            return Err(settled(&now_claim));
        }
    };
    coupon::Entity::update_many()
        .col_expr(
            coupon::Column::RedeemedCount,
            Expr::col(coupon::Column::RedeemedCount).add(1),
        )
        .filter(coupon::Column::Id.eq(claim.coupon_id))
        .exec(&tx)
        .await?;
    idempotency::settle(&tx, &binding, redeemed.id).await?;
    tx.tally(Tally::CouponRedeemed);
    tx.commit().await?;
    Ok(redeemed)
}

/// The steps `rights` may take on a claim at `now`, by name: a claim past its validity, or of
/// a merchant that is not an active member, is redeemed no more, though it may still be voided.
pub fn available(
    rights: &MerchantRights,
    c: &coupon_claim::Model,
    merchant: MerchantStatus,
    now: chrono::DateTime<chrono::Utc>,
) -> Vec<String> {
    lifecycle::available_where::<coupon_claim::Entity>(rights, c.status, |a| {
        a != ClaimAction::Redeem || (now < c.expires_at && merchant == MerchantStatus::Active)
    })
}

/// The merchant (owner or clerk) or staff of its street voids an unredeemed claim; points it
/// cost are refunded in the same transaction.
pub async fn void(cx: &Cx<'_>, claim_id: i64, reason: &str) -> AppResult<coupon_claim::Model> {
    let viewer = cx.viewer()?;
    lifecycle::reason_for::<coupon_claim::Entity>(ClaimAction::Void, Some(reason))?;
    let tx = cx.write().await?;
    let claim = coupon_claim::Entity::find_by_id(claim_id)
        .one(&tx)
        .await?
        .ok_or(AppError::NotFound("claim"))?;
    let m = merchant_domain::find(&tx, claim.merchant_id).await?;
    // Nobody redeems or voids (and so refunds) their own claim.
    let rights = crate::domain::merchant::rights(&tx, Some(viewer), m.street_id, m.id)
        .await?
        .as_party(viewer.user_id == claim.user_id);
    lifecycle::authorize::<coupon_claim::Entity>(&rights, ClaimAction::Void)?;
    match claim.status {
        ClaimStatus::Redeemed => return Err(AppError::AlreadyRedeemed),
        ClaimStatus::Voided => return Err(invalid_state()),
        ClaimStatus::Claimed => {}
    }
    let step = Step::<coupon_claim::Entity>::new(claim.id, ClaimAction::Void)
        .street(m.street_id)
        .reason(Some(reason))
        .set(coupon_claim::Column::VoidedAt, tx.now())
        .set(coupon_claim::Column::VoidedBy, viewer.user_id)
        .concerning(claim.user_id)
        .payload(serde_json::json!({ "couponId": claim.coupon_id, "merchantId": m.id }));
    let voided = lifecycle::apply(&tx, &rights, step).await?;
    if let Some((amount, source)) = report::refund_source(&claim) {
        points::post(
            &tx,
            Posting {
                user_id: claim.user_id,
                street_id: Some(m.street_id),
                amount,
                kind: PointsKind::Refund,
                source,
                note: voided.void_reason.clone(),
            },
        )
        .await?;
    }
    tx.commit().await?;
    Ok(voided)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_claim_step_has_one_rule() {
        lifecycle::check_table::<coupon_claim::Entity>();
    }
}
