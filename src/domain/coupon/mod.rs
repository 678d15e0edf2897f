//! Coupons (优惠券): the merchant's offer and its lifecycle. Claiming and redemption are in
//! [`claim`], lists and lookups in [`query`], the points-reward report in [`report`].
//!
//! Stock and counters change only through conditional `UPDATE … WHERE` statements inside a
//! write transaction. On SQLite the transaction holds the write lock from BEGIN; on PostgreSQL
//! the conditional update takes the coupon's row lock first, so the per-user count that follows
//! it sees every claim committed before, and no two claims of one coupon interleave.

pub mod claim;
pub mod query;
pub mod report;
pub mod state;

use chrono::{DateTime, Utc};
use sea_orm::{ActiveModelTrait, ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter, Set};

use entity::community;
use entity::coupon::{self, CouponKind, CouponStatus};
use entity::coupon_audience::{self, AudienceRule};
use entity::merchant::MerchantStatus;
use entity::names::ObjectKind;

use crate::domain::audience::{self, Audience};
use crate::domain::audit::AuditAction;
use crate::domain::context::Cx;
use crate::domain::events::EventKind;
use crate::domain::lifecycle::{self, Lifecycle, NoteRule, Rule, Step};
use crate::domain::merchant as merchant_domain;
use crate::domain::policy::Who;
use crate::domain::values::{bad, invalid_state, text_field};
use crate::error::{AppError, AppResult};

/// ¥1,000,000: no offer of a street alliance is worth more.
pub const MAX_AMOUNT_FEN: i64 = 100_000_000;
pub const MAX_STOCK: i32 = 1_000_000;
pub const MAX_PER_USER: i32 = 100;
pub const MAX_POINTS_COST: i32 = 100_000;
/// What a claim's QR code carries before the code.
pub const QR_PREFIX: &str = "shangju:coupon:";

pub struct NewCoupon {
    pub merchant_id: i64,
    pub title: String,
    pub description: String,
    pub kind: CouponKind,
    pub amount_fen: Option<i64>,
    pub min_spend_fen: Option<i64>,
    pub percent_off: Option<i32>,
    pub item_name: Option<String>,
    pub total_stock: Option<i32>,
    pub per_user_limit: Option<i32>,
    pub valid_from: DateTime<Utc>,
    pub valid_until: DateTime<Utc>,
    pub audience: Audience,
    /// Points a claim costs (商家回馈), 0 to 100000.
    pub points_cost: Option<i32>,
}

fn amount(field: &'static str, v: Option<i64>, required: bool) -> AppResult<Option<i64>> {
    match v {
        None if required => Err(bad(
            field,
            "请填写金额（分）",
            "An amount in fen is required",
        )),
        Some(a) if !(1..=MAX_AMOUNT_FEN).contains(&a) => Err(bad(
            field,
            "金额应在 1 分到 100 万元之间",
            "Amounts are 1 fen to ¥1,000,000",
        )),
        other => Ok(other),
    }
}

fn must_be_absent<T>(field: &'static str, v: &Option<T>) -> AppResult<()> {
    match v {
        Some(_) => Err(bad(
            field,
            "此类优惠券不使用该字段",
            "This kind of coupon does not take this field",
        )),
        None => Ok(()),
    }
}

/// Checks the kind-specific fields: each kind takes its own and refuses the others.
fn check_terms(c: &NewCoupon) -> AppResult<()> {
    match c.kind {
        CouponKind::AmountOff => {
            let a = amount("amountFen", c.amount_fen, true)?;
            let min = amount("minSpendFen", c.min_spend_fen, false)?;
            if let (Some(a), Some(min)) = (a, min)
                && min < a
            {
                return Err(bad(
                    "minSpendFen",
                    "最低消费不能低于优惠金额",
                    "The minimum spend cannot be below the amount off",
                ));
            }
            must_be_absent("percentOff", &c.percent_off)?;
            must_be_absent("itemName", &c.item_name)
        }
        CouponKind::PercentOff => {
            match c.percent_off {
                Some(p) if (1..=99).contains(&p) => {}
                _ => {
                    return Err(bad(
                        "percentOff",
                        "折扣应为 1 到 99",
                        "percentOff is 1 to 99",
                    ));
                }
            }
            amount("minSpendFen", c.min_spend_fen, false)?;
            must_be_absent("amountFen", &c.amount_fen)?;
            must_be_absent("itemName", &c.item_name)
        }
        CouponKind::FreeItem => {
            text_field(
                "itemName",
                c.item_name.as_deref().unwrap_or(""),
                1,
                64,
                false,
            )?;
            must_be_absent("amountFen", &c.amount_fen)?;
            must_be_absent("percentOff", &c.percent_off)?;
            must_be_absent("minSpendFen", &c.min_spend_fen)
        }
        CouponKind::CashVoucher => {
            amount("amountFen", c.amount_fen, true)?;
            must_be_absent("percentOff", &c.percent_off)?;
            must_be_absent("itemName", &c.item_name)?;
            must_be_absent("minSpendFen", &c.min_spend_fen)
        }
    }
}

/// The owner of an active merchant creates a coupon as a draft.
pub async fn create(cx: &Cx<'_>, c: NewCoupon) -> AppResult<coupon::Model> {
    let viewer = cx.viewer()?;
    let title = text_field("title", &c.title, 1, 64, false)?;
    let description = text_field("description", &c.description, 0, 1000, true)?;
    check_terms(&c)?;
    let total_stock = match c.total_stock {
        Some(s) if !(1..=MAX_STOCK).contains(&s) => {
            return Err(bad(
                "totalStock",
                "库存应为 1 到 100 万",
                "totalStock is 1 to 1,000,000",
            ));
        }
        s => s,
    };
    let per_user_limit = c.per_user_limit.unwrap_or(1);
    if !(1..=MAX_PER_USER).contains(&per_user_limit) {
        return Err(bad(
            "perUserLimit",
            "每人限领应为 1 到 100",
            "perUserLimit is 1 to 100",
        ));
    }
    let points_cost = c.points_cost.unwrap_or(0);
    if !(0..=MAX_POINTS_COST).contains(&points_cost) {
        return Err(bad(
            "pointsCost",
            "积分应为 0 到 100000",
            "pointsCost is 0 to 100000",
        ));
    }
    if c.valid_until <= c.valid_from {
        return Err(bad(
            "validUntil",
            "结束时间须晚于开始时间",
            "validUntil must be after validFrom",
        ));
    }
    if c.valid_until <= cx.now() {
        return Err(bad(
            "validUntil",
            "结束时间须在未来",
            "validUntil must be in the future",
        ));
    }
    let rules = audience::parse(&c.audience)?;

    let tx = cx.write().await?;
    let m = merchant_domain::find(&tx, c.merchant_id).await?;
    crate::domain::merchant::rights(&tx, Some(viewer), m.street_id, m.id)
        .await?
        .require(Who::Owner)?;
    if m.status != MerchantStatus::Active {
        return Err(invalid_state());
    }
    if !rules.community_ids.is_empty() {
        let found = community::Entity::find()
            .filter(community::Column::Id.is_in(rules.community_ids.iter().copied()))
            .filter(community::Column::StreetId.eq(m.street_id))
            .count(&tx)
            .await?;
        if found != rules.community_ids.len() as u64 {
            return Err(bad(
                "audience.communityIds",
                "社区不属于本街道",
                "A community is not in the merchant's street",
            ));
        }
    }
    let now = tx.now();
    let created = coupon::Terms {
        merchant_id: m.id,
        street_id: m.street_id,
        title,
        description,
        kind: c.kind,
        amount_fen: c.amount_fen,
        min_spend_fen: c.min_spend_fen,
        percent_off: c.percent_off,
        item_name: c.item_name.map(|s| s.trim().to_owned()),
        total_stock,
        per_user_limit,
        valid_from: c.valid_from,
        valid_until: c.valid_until,
        min_age: rules.min_age,
        points_cost,
    }
    .into_row(CouponStatus::Draft, now)
    .insert(&tx)
    .await?;
    let stored = rules
        .tags
        .into_iter()
        .map(|t| (AudienceRule::Tag, t))
        .chain(
            rules
                .community_ids
                .into_iter()
                .map(|id| (AudienceRule::Community, id.to_string())),
        );
    for (rule, value) in stored {
        coupon_audience::ActiveModel {
            coupon_id: Set(created.id),
            rule: Set(rule),
            value: Set(value),
        }
        .insert(&tx)
        .await?;
    }
    tx.commit().await?;
    Ok(created)
}

/// A change of a coupon's state.
#[derive(Clone, Copy, Debug, PartialEq, Eq, sea_orm::EnumIter)]
pub enum Transition {
    Publish,
    Pause,
    End,
    /// Staff end a coupon of their street, with a reason.
    TakeDown,
}

impl Lifecycle for coupon::Entity {
    type State = CouponStatus;
    type Action = Transition;
    const KIND: ObjectKind = ObjectKind::Coupon;

    fn rules() -> &'static [Rule<CouponStatus, Transition>] {
        use CouponStatus::{Active, Draft, Ended, Paused};
        &[
            Rule {
                action: Transition::Publish,
                from: &[Draft, Paused],
                to: Active,
                who: Who::Owner,
                note: NoteRule::None,
                audit: None,
                event: None,
            },
            Rule {
                action: Transition::Pause,
                from: &[Active],
                to: Paused,
                who: Who::Owner,
                note: NoteRule::None,
                audit: None,
                event: None,
            },
            Rule {
                action: Transition::End,
                from: &[Active, Paused],
                to: Ended,
                who: Who::Owner,
                note: NoteRule::None,
                audit: None,
                event: None,
            },
            Rule {
                action: Transition::TakeDown,
                from: &[Draft, Active, Paused],
                to: Ended,
                who: Who::StreetStaff,
                note: NoteRule::Required,
                audit: Some(AuditAction::CouponTakeDown),
                event: Some(EventKind::CouponTakenDown),
            },
        ]
    }

    fn id_column() -> coupon::Column {
        coupon::Column::Id
    }

    fn state_column() -> coupon::Column {
        coupon::Column::Status
    }

    fn reason_column() -> Option<coupon::Column> {
        Some(coupon::Column::StatusReason)
    }

    fn updated_at_column() -> Option<coupon::Column> {
        Some(coupon::Column::UpdatedAt)
    }
}

/// Moves a coupon along its lifecycle; any other move is `INVALID_STATE`. Publishing needs an
/// active merchant and a validity that has not ended.
pub async fn transition(
    cx: &Cx<'_>,
    coupon_id: i64,
    t: Transition,
    reason: Option<&str>,
) -> AppResult<coupon::Model> {
    let viewer = cx.viewer()?;
    lifecycle::reason_for::<coupon::Entity>(t, reason)?;
    let tx = cx.write().await?;
    let c = coupon::Entity::find_by_id(coupon_id)
        .one(&tx)
        .await?
        .ok_or(AppError::NotFound("coupon"))?;
    let m = merchant_domain::find(&tx, c.merchant_id).await?;
    let rights =
        crate::domain::merchant::rights(&tx, Some(viewer), c.street_id, c.merchant_id).await?;
    lifecycle::authorize::<coupon::Entity>(&rights, t)?;
    if t == Transition::Publish {
        if m.status != MerchantStatus::Active {
            return Err(invalid_state());
        }
        if c.valid_until <= tx.now() {
            return Err(AppError::Expired);
        }
    }
    let step = Step::<coupon::Entity>::new(c.id, t)
        .street(c.street_id)
        .reason(reason)
        .concerning(m.owner_user_id)
        .payload(serde_json::json!({ "title": c.title, "merchantId": m.id }));
    let c = lifecycle::apply(&tx, &rights, step).await?;
    tx.commit().await?;
    Ok(c)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_transition_has_one_rule() {
        lifecycle::check_table::<coupon::Entity>();
    }
}
