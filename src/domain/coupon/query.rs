//! Coupons and claims as lists and lookups, filtered by the access policy.

use chrono::{DateTime, Utc};
use sea_orm::sea_query::{Expr, ExprTrait, Query, SelectStatement};
use sea_orm::{
    ColumnTrait, Condition, ConnectionTrait, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder,
};

use entity::coupon::{self, CouponKind, CouponStatus};
use entity::coupon_audience::{self, AudienceRule};
use entity::coupon_claim;
use entity::merchant::{self, MerchantStatus};

use crate::domain::audience::{self, Audience, Resident};
use crate::domain::context::Cx;
use crate::domain::coupon::state::{ClaimState, state_condition};
use crate::domain::merchant as merchant_domain;
use crate::domain::page::{self, KeyOf, Order, Page, SortValue, Window};
use crate::domain::policy;
use crate::error::{AppError, AppResult};
use crate::rows::{Columns, Partial};

// The offers lists read most: by position, only the columns a selection needs.
crate::rows::positional!(
    coupon::Entity,
    coupon::Model {
        id: Id,
        merchant_id: MerchantId,
        street_id: StreetId,
        title: Title,
        description: Description,
        kind: Kind,
        amount_fen: AmountFen,
        min_spend_fen: MinSpendFen,
        percent_off: PercentOff,
        item_name: ItemName,
        total_stock: TotalStock,
        remaining_stock: RemainingStock,
        per_user_limit: PerUserLimit,
        valid_from: ValidFrom,
        valid_until: ValidUntil,
        min_age: MinAge,
        points_cost: PointsCost,
        status: Status,
        status_reason: StatusReason,
        claimed_count: ClaimedCount,
        redeemed_count: RedeemedCount,
        created_at: CreatedAt,
        updated_at: UpdatedAt,
    }
);

crate::rows::string_enum_cells!(
    coupon::CouponKind,
    coupon::CouponStatus,
    entity::coupon_audience::AudienceRule,
);

#[derive(Default)]
pub struct CouponFilter {
    pub merchant_id: Option<i64>,
    pub kind: Option<CouponKind>,
    pub status: Option<CouponStatus>,
    /// Only coupons the signed-in resident's tags, age and community allow.
    pub eligible_only: bool,
    /// Only coupons whose title or description contains this.
    pub keyword: Option<String>,
}

fn rule_exists(rule: AudienceRule, values: Option<Vec<String>>) -> SelectStatement {
    let mut q = Query::select()
        .expr(Expr::val(1))
        .from(coupon_audience::Entity)
        .and_where(
            Expr::col((coupon_audience::Entity, coupon_audience::Column::CouponId))
                .equals((coupon::Entity, coupon::Column::Id)),
        )
        .and_where(Expr::col((coupon_audience::Entity, coupon_audience::Column::Rule)).eq(rule))
        .to_owned();
    if let Some(values) = values {
        q.and_where(
            Expr::col((coupon_audience::Entity, coupon_audience::Column::Value)).is_in(values),
        );
    }
    q
}

/// The SQL side of [`audience::check`], for "only what I can claim" lists.
fn eligible_condition(r: &Resident) -> Condition {
    let no_tag_rule = Condition::all()
        .add(Expr::exists(rule_exists(AudienceRule::Tag, None)))
        .not();
    let no_community_rule = Condition::all()
        .add(Expr::exists(rule_exists(AudienceRule::Community, None)))
        .not();
    let mut tags = Condition::any().add(no_tag_rule);
    if !r.tags.is_empty() {
        tags = tags.add(Expr::exists(rule_exists(
            AudienceRule::Tag,
            Some(r.tags.clone()),
        )));
    }
    let mut communities = Condition::any().add(no_community_rule);
    if let Some(c) = r.community_id {
        communities = communities.add(Expr::exists(rule_exists(
            AudienceRule::Community,
            Some(vec![c.to_string()]),
        )));
    }
    let mut age = Condition::any().add(coupon::Column::MinAge.is_null());
    if let Some(a) = r.age {
        age = age.add(coupon::Column::MinAge.lte(a));
    }
    Condition::all().add(tags).add(communities).add(age)
}

/// What coupons can be ordered by (the id breaks ties).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CouponSort {
    /// When the merchant created them.
    CreatedAt,
    /// When they stop being claimable.
    ValidUntil,
}

impl CouponSort {
    pub fn order(self, descending: bool) -> Order<coupon::Entity> {
        let (field, column, key): (_, _, KeyOf<coupon::Model>) = match self {
            CouponSort::CreatedAt => ("CREATED_AT", coupon::Column::CreatedAt, |c| {
                (SortValue::Time(c.created_at), c.id)
            }),
            CouponSort::ValidUntil => ("VALID_UNTIL", coupon::Column::ValidUntil, |c| {
                (SortValue::Time(c.valid_until), c.id)
            }),
        };
        Order {
            field,
            column,
            id: coupon::Column::Id,
            descending,
            key,
        }
    }
}

/// What claims can be ordered by (the id breaks ties).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ClaimSort {
    ClaimedAt,
    ExpiresAt,
}

impl ClaimSort {
    pub fn order(self, descending: bool) -> Order<coupon_claim::Entity> {
        let (field, column, key): (_, _, KeyOf<coupon_claim::Model>) = match self {
            ClaimSort::ClaimedAt => ("CLAIMED_AT", coupon_claim::Column::ClaimedAt, |c| {
                (SortValue::Time(c.claimed_at), c.id)
            }),
            ClaimSort::ExpiresAt => ("EXPIRES_AT", coupon_claim::Column::ExpiresAt, |c| {
                (SortValue::Time(c.expires_at), c.id)
            }),
        };
        Order {
            field,
            column,
            id: coupon_claim::Column::Id,
            descending,
            key,
        }
    }
}

pub async fn list(
    cx: &Cx<'_>,
    filter: CouponFilter,
    order: Order<coupon::Entity>,
    window: Window,
) -> AppResult<Page<Partial<coupon::Model>>> {
    let viewer = cx.viewer_opt();
    let mut q = coupon::Entity::find().filter(policy::visible_coupons(viewer, cx.now()));
    if let Some(m) = filter.merchant_id {
        q = q.filter(coupon::Column::MerchantId.eq(m));
    }
    if let Some(k) = filter.kind {
        q = q.filter(coupon::Column::Kind.eq(k));
    }
    if let Some(s) = filter.status {
        q = q.filter(coupon::Column::Status.eq(s));
    }
    if let Some(found) = crate::domain::values::keyword_condition(
        "keyword",
        filter.keyword.as_deref(),
        &[coupon::Column::Title, coupon::Column::Description],
    )? {
        q = q.filter(found);
    }
    if filter.eligible_only {
        let v = cx.viewer()?;
        q = q.filter(eligible_condition(
            &audience::resident(cx, v.user_id).await?,
        ));
    }
    page::fetch_positional(cx, q, order, window).await
}

/// One coupon: `FORBIDDEN` when it exists but the viewer may not see it.
pub async fn get(cx: &Cx<'_>, id: i64) -> AppResult<coupon::Model> {
    let found = coupon::Entity::find()
        .filter(coupon::Column::Id.eq(id))
        .filter(policy::visible_coupons(cx.viewer_opt(), cx.now()))
        .one(cx)
        .await?;
    match found {
        Some(c) => Ok(c),
        None if coupon::Entity::find_by_id(id).one(cx).await?.is_some() => Err(AppError::Forbidden),
        None => Err(AppError::NotFound("coupon")),
    }
}

/// Publicly visible coupons of many merchants at once (for nested lists), newest first, read
/// with the columns of `set` (and always the id and the merchant's).
pub async fn active_of_merchants(
    conn: &impl crate::rows::Reads,
    merchant_ids: &[i64],
    now: DateTime<Utc>,
    set: Columns,
) -> AppResult<Vec<Partial<coupon::Model>>> {
    Ok(crate::rows::some(
        conn,
        coupon::Entity::find()
            .filter(coupon::Column::MerchantId.is_in(merchant_ids.iter().copied()))
            .filter(coupon::Column::Status.eq(CouponStatus::Active))
            .filter(coupon::Column::ValidUntil.gt(now))
            .order_by_desc(coupon::Column::Id),
        set.with(crate::columns![coupon::Column: Id, MerchantId]),
    )
    .await?)
}

/// A coupon with its merchant's status and its audience rules, in one statement read by
/// position: what a claim checks before it takes the write lock, for every request of a sale.
pub async fn for_claim(
    conn: &impl crate::rows::Reads,
    id: i64,
) -> AppResult<Option<(coupon::Model, MerchantStatus, Vec<coupon_audience::Model>)>> {
    use crate::rows::Positional;
    use sea_orm::{JoinType, QuerySelect, QueryTrait, RelationTrait};
    // The coupon by position, as its lists read it; what the joins add, by name.
    let statement = coupon::Entity::find_by_id(id)
        .select_only()
        .columns(<coupon::Model as Positional>::columns(Columns::ALL))
        .column_as(merchant::Column::Status, "merchant_status")
        .column_as(coupon_audience::Column::Rule, "audience_rule")
        .column_as(coupon_audience::Column::Value, "audience_value")
        .join(JoinType::InnerJoin, coupon::Relation::Merchant.def())
        .join(JoinType::LeftJoin, coupon::Relation::Audience.def())
        .build(conn.get_database_backend());
    let rows = crate::rows::query(conn, statement).await?;
    let Some(first) = rows.first() else {
        return Ok(None);
    };
    let c = coupon::Model::decode(first, Columns::ALL)?;
    let status: MerchantStatus = first.try_get("", "merchant_status")?;
    let mut rules = Vec::new();
    for row in &rows {
        let rule: Option<AudienceRule> = row.try_get("", "audience_rule")?;
        if let Some(rule) = rule {
            rules.push(coupon_audience::Model {
                coupon_id: c.id,
                rule,
                value: row.try_get("", "audience_value")?,
            });
        }
    }
    Ok(Some((c, status, rules)))
}

pub async fn by_ids(conn: &impl crate::rows::Reads, ids: &[i64]) -> AppResult<Vec<coupon::Model>> {
    Ok(crate::rows::all(
        conn,
        coupon::Entity::find().filter(coupon::Column::Id.is_in(ids.iter().copied())),
    )
    .await?)
}

pub async fn audiences_of(
    conn: &impl ConnectionTrait,
    coupon_ids: &[i64],
) -> AppResult<Vec<coupon_audience::Model>> {
    Ok(coupon_audience::Entity::find()
        .filter(coupon_audience::Column::CouponId.is_in(coupon_ids.iter().copied()))
        .all(conn)
        .await?)
}

/// Turns stored rules back into an [`Audience`]. A community rule that is not an id is an
/// error: dropping it would open the offer to everyone.
pub fn audience(c: &coupon::Model, rules: &[coupon_audience::Model]) -> AppResult<Audience> {
    Ok(Audience {
        tags: rules
            .iter()
            .filter(|r| r.rule == AudienceRule::Tag)
            .map(|r| r.value.clone())
            .collect(),
        min_age: c.min_age,
        community_ids: community_ids(rules)?,
    })
}

/// The communities of stored rules.
pub fn community_ids(rules: &[coupon_audience::Model]) -> AppResult<Vec<i64>> {
    rules
        .iter()
        .filter(|r| r.rule == AudienceRule::Community)
        .map(|r| {
            r.value.parse().map_err(|_| {
                AppError::internal(format!("coupon {} has a bad community rule", r.coupon_id))
            })
        })
        .collect()
}

/// One claim: its holder, and those who serve at the merchant's counter or govern its street,
/// see it; `FORBIDDEN` for others.
pub async fn get_claim(cx: &Cx<'_>, id: i64) -> AppResult<coupon_claim::Model> {
    let claim = coupon_claim::Entity::find_by_id(id)
        .one(cx)
        .await?
        .ok_or(AppError::NotFound("claim"))?;
    let viewer = cx.viewer()?;
    if policy::require_holder(Some(viewer), claim.user_id).is_ok() {
        return Ok(claim);
    }
    let m = merchant_domain::find(cx, claim.merchant_id).await?;
    crate::domain::merchant::rights(cx, Some(viewer), m.street_id, m.id)
        .await?
        .require_claim_records()?;
    Ok(claim)
}

/// The viewer's own claims, newest first.
pub async fn my_claims(
    cx: &Cx<'_>,
    state: Option<ClaimState>,
    order: Order<coupon_claim::Entity>,
    window: Window,
) -> AppResult<Page<coupon_claim::Model>> {
    let viewer = cx.viewer()?;
    let mut q =
        coupon_claim::Entity::find().filter(coupon_claim::Column::UserId.eq(viewer.user_id));
    if let Some(s) = state {
        q = q.filter(state_condition(s, cx.now()));
    }
    page::fetch(cx, q, order, window).await
}

/// Claims of a merchant's coupons, for those who serve at its counter and staff of its street.
pub async fn merchant_claims(
    cx: &Cx<'_>,
    merchant_id: i64,
    coupon_id: Option<i64>,
    state: Option<ClaimState>,
    order: Order<coupon_claim::Entity>,
    window: Window,
) -> AppResult<Page<coupon_claim::Model>> {
    let viewer = cx.viewer()?;
    let m = merchant_domain::find(cx, merchant_id).await?;
    crate::domain::merchant::rights(cx, Some(viewer), m.street_id, m.id)
        .await?
        .require_claim_records()?;
    let mut q = coupon_claim::Entity::find().filter(coupon_claim::Column::MerchantId.eq(m.id));
    if let Some(c) = coupon_id {
        q = q.filter(coupon_claim::Column::CouponId.eq(c));
    }
    if let Some(s) = state {
        q = q.filter(state_condition(s, cx.now()));
    }
    page::fetch(cx, q, order, window).await
}

/// How many claims a coupon has, voided ones included: the benchmark checks it against stock.
pub async fn count_claims(conn: &impl ConnectionTrait, coupon_id: i64) -> AppResult<u64> {
    Ok(coupon_claim::Entity::find()
        .filter(coupon_claim::Column::CouponId.eq(coupon_id))
        .count(conn)
        .await?)
}
