//! Coupons: the merchant's offer and its lifecycle, claiming (atomic against stock and the
//! per-user limit under any concurrency), redemption at the counter (exactly once, idempotent
//! by key) and voiding.
//!
//! Stock and counters change only through conditional `UPDATE … WHERE` statements inside a
//! write transaction. On SQLite the transaction holds the write lock from BEGIN; on PostgreSQL
//! the conditional update takes the coupon's row lock first, so the per-user count that follows
//! it sees every claim committed before, and no two claims of one coupon interleave.

use chrono::{DateTime, Datelike, Utc};
use rand::Rng;
use sea_orm::sea_query::{Expr, ExprTrait, Query, SelectStatement};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, Condition, ConnectionTrait, DatabaseConnection, EntityTrait,
    PaginatorTrait, QueryFilter, QueryOrder, Set,
};

use entity::coupon::{self, CouponKind, CouponStatus};
use entity::coupon_audience;
use entity::coupon_claim::{self, ClaimStatus};
use entity::merchant::{self, MerchantStatus};
use entity::user_role::Role;
use entity::{community, user, user_tag};

use crate::auth::Viewer;
use crate::db::begin_write;
use crate::domain::audit::{self, AuditRecord};
use crate::domain::merchant::{
    insider_rows, invalid_state, require_member, require_owner, text_field,
};
use crate::domain::page;
use crate::domain::points::{self, Kind, Posting, Source};
use crate::domain::values::Reason;
use crate::error::{AppError, AppResult, Text};

/// ¥1,000,000: no offer of a street alliance is worth more.
pub const MAX_AMOUNT_FEN: i64 = 100_000_000;
pub const MAX_STOCK: i32 = 1_000_000;
pub const MAX_PER_USER: i32 = 100;
pub const MAX_POINTS_COST: i32 = 100_000;
const RULE_TAG: &str = "TAG";
const RULE_COMMUNITY: &str = "COMMUNITY";

/// Who may claim: residents with any of `tags`, at least `min_age` years old, living in any of
/// `community_ids`. Empty means anyone.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Audience {
    pub tags: Vec<String>,
    pub min_age: Option<i32>,
    pub community_ids: Vec<i64>,
}

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

fn bad(field: &'static str, zh: &'static str, en: &'static str) -> AppError {
    AppError::bad_input(field, Text::new(zh, en))
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

fn check_tag(tag: &str) -> AppResult<String> {
    let t = tag.trim().to_ascii_uppercase();
    if (1..=32).contains(&t.len()) && t.chars().all(|c| c.is_ascii_uppercase() || c == '_') {
        Ok(t)
    } else {
        Err(bad(
            "audience.tags",
            "标签应为 1 到 32 位大写字母或下划线",
            "A tag has 1 to 32 capital letters or underscores",
        ))
    }
}

/// The owner of an active merchant creates a coupon as a draft.
pub async fn create(
    db: &DatabaseConnection,
    viewer: &Viewer,
    c: NewCoupon,
) -> AppResult<coupon::Model> {
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
    if c.valid_until <= Utc::now() {
        return Err(bad(
            "validUntil",
            "结束时间须在未来",
            "validUntil must be in the future",
        ));
    }
    if let Some(age) = c.audience.min_age
        && !(0..=120).contains(&age)
    {
        return Err(bad(
            "audience.minAge",
            "年龄应为 0 到 120",
            "minAge is 0 to 120",
        ));
    }
    if c.audience.tags.len() > 10 || c.audience.community_ids.len() > 50 {
        return Err(bad("audience", "受众规则过多", "Too many audience rules"));
    }
    let mut tags = c
        .audience
        .tags
        .iter()
        .map(|t| check_tag(t))
        .collect::<AppResult<Vec<_>>>()?;
    tags.sort();
    tags.dedup();

    let txn = begin_write(db).await?;
    let m = merchant::Entity::find_by_id(c.merchant_id)
        .one(&txn)
        .await?
        .ok_or(AppError::NotFound("merchant"))?;
    require_owner(&txn, viewer, m.id).await?;
    if m.status != MerchantStatus::Active {
        return Err(invalid_state());
    }
    let mut communities = c.audience.community_ids.clone();
    communities.sort();
    communities.dedup();
    if !communities.is_empty() {
        let found = community::Entity::find()
            .filter(community::Column::Id.is_in(communities.iter().copied()))
            .filter(community::Column::StreetId.eq(m.street_id))
            .count(&txn)
            .await?;
        if found != communities.len() as u64 {
            return Err(bad(
                "audience.communityIds",
                "社区不属于本街道",
                "A community is not in the merchant's street",
            ));
        }
    }
    let now = Utc::now();
    let created = coupon::ActiveModel {
        merchant_id: Set(m.id),
        street_id: Set(m.street_id),
        title: Set(title),
        description: Set(description),
        kind: Set(c.kind),
        amount_fen: Set(c.amount_fen),
        min_spend_fen: Set(c.min_spend_fen),
        percent_off: Set(c.percent_off),
        item_name: Set(c.item_name.map(|s| s.trim().to_owned())),
        total_stock: Set(total_stock),
        remaining_stock: Set(total_stock),
        per_user_limit: Set(per_user_limit),
        valid_from: Set(c.valid_from),
        valid_until: Set(c.valid_until),
        min_age: Set(c.audience.min_age),
        points_cost: Set(points_cost),
        status: Set(CouponStatus::Draft),
        status_reason: Set(None),
        claimed_count: Set(0),
        redeemed_count: Set(0),
        created_at: Set(now),
        updated_at: Set(now),
        ..Default::default()
    }
    .insert(&txn)
    .await?;
    let rules = tags.into_iter().map(|t| (RULE_TAG, t)).chain(
        communities
            .into_iter()
            .map(|id| (RULE_COMMUNITY, id.to_string())),
    );
    for (rule, value) in rules {
        coupon_audience::ActiveModel {
            coupon_id: Set(created.id),
            rule: Set(rule.to_owned()),
            value: Set(value),
        }
        .insert(&txn)
        .await?;
    }
    txn.commit().await?;
    Ok(created)
}

/// A change of a coupon's state.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Transition {
    Publish,
    Pause,
    End,
    /// Staff end a coupon of their street, with a reason.
    TakeDown,
}

impl Transition {
    fn allowed_from(self) -> &'static [CouponStatus] {
        match self {
            Transition::Publish => &[CouponStatus::Draft, CouponStatus::Paused],
            Transition::Pause => &[CouponStatus::Active],
            Transition::End => &[CouponStatus::Active, CouponStatus::Paused],
            Transition::TakeDown => &[
                CouponStatus::Draft,
                CouponStatus::Active,
                CouponStatus::Paused,
            ],
        }
    }

    fn target(self) -> CouponStatus {
        match self {
            Transition::Publish => CouponStatus::Active,
            Transition::Pause => CouponStatus::Paused,
            Transition::End | Transition::TakeDown => CouponStatus::Ended,
        }
    }
}

/// Moves a coupon along its lifecycle; any other move is `INVALID_STATE`.
pub async fn transition(
    db: &DatabaseConnection,
    viewer: &Viewer,
    coupon_id: i64,
    t: Transition,
    reason: Option<&str>,
    request_id: Option<&str>,
) -> AppResult<coupon::Model> {
    let reason = match t {
        Transition::TakeDown => Some(Reason::parse("reason", reason.unwrap_or(""))?.into_inner()),
        _ => None,
    };
    let txn = begin_write(db).await?;
    let c = coupon::Entity::find_by_id(coupon_id)
        .one(&txn)
        .await?
        .ok_or(AppError::NotFound("coupon"))?;
    if t == Transition::TakeDown {
        viewer.require_staff_of(c.street_id)?;
    } else {
        require_owner(&txn, viewer, c.merchant_id).await?;
    }
    if t == Transition::Publish {
        let m = merchant::Entity::find_by_id(c.merchant_id)
            .one(&txn)
            .await?
            .ok_or(AppError::NotFound("merchant"))?;
        if m.status != MerchantStatus::Active {
            return Err(invalid_state());
        }
        if c.valid_until <= Utc::now() {
            return Err(AppError::Expired);
        }
    }
    let updated = coupon::Entity::update_many()
        .col_expr(coupon::Column::Status, Expr::value(t.target()))
        .col_expr(coupon::Column::StatusReason, Expr::value(reason.clone()))
        .col_expr(coupon::Column::UpdatedAt, Expr::value(Utc::now()))
        .filter(coupon::Column::Id.eq(c.id))
        .filter(coupon::Column::Status.is_in(t.allowed_from().iter().copied()))
        .exec(&txn)
        .await?;
    if updated.rows_affected == 0 {
        return Err(invalid_state());
    }
    if t == Transition::TakeDown {
        audit::record(
            &txn,
            AuditRecord {
                street_id: Some(c.street_id),
                actor_user_id: Some(viewer.user_id),
                action: "coupon.take_down",
                target_type: "Coupon",
                target_id: Some(c.id),
                reason,
                request_id,
            },
        )
        .await?;
    }
    let c = coupon::Entity::find_by_id(c.id)
        .one(&txn)
        .await?
        .ok_or(AppError::NotFound("coupon"))?;
    txn.commit().await?;
    Ok(c)
}

/// Full years of age on `today`.
fn age_on(birth: chrono::NaiveDate, today: chrono::NaiveDate) -> i32 {
    let mut age = today.year() - birth.year();
    if (today.month(), today.day()) < (birth.month(), birth.day()) {
        age -= 1;
    }
    age
}

/// Today in the street's time zone (Asia/Shanghai, UTC+8 without daylight saving).
fn today_in_street(now: DateTime<Utc>) -> chrono::NaiveDate {
    (now + chrono::Duration::hours(8)).date_naive()
}

/// What the audience rules need to know about a resident.
#[derive(Clone, Debug)]
pub struct Resident {
    pub tags: Vec<String>,
    pub community_id: Option<i64>,
    pub age: Option<i32>,
}

pub async fn resident(conn: &impl ConnectionTrait, user_id: i64) -> AppResult<Resident> {
    let u = user::Entity::find_by_id(user_id)
        .one(conn)
        .await?
        .ok_or(AppError::Unauthenticated)?;
    let tags = user_tag::Entity::find()
        .filter(user_tag::Column::UserId.eq(user_id))
        .all(conn)
        .await?
        .into_iter()
        .map(|t| t.tag)
        .collect();
    Ok(Resident {
        tags,
        community_id: u.community_id,
        age: u.birth_date.map(|b| age_on(b, today_in_street(Utc::now()))),
    })
}

fn rule_exists(rule: &str, values: Option<Vec<String>>) -> SelectStatement {
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

/// The audience rules as SQL, for "only what I can claim" lists.
fn eligible_condition(r: &Resident) -> Condition {
    let no_tag_rule = Condition::all()
        .add(Expr::exists(rule_exists(RULE_TAG, None)))
        .not();
    let no_community_rule = Condition::all()
        .add(Expr::exists(rule_exists(RULE_COMMUNITY, None)))
        .not();
    let mut tags = Condition::any().add(no_tag_rule);
    if !r.tags.is_empty() {
        tags = tags.add(Expr::exists(rule_exists(RULE_TAG, Some(r.tags.clone()))));
    }
    let mut communities = Condition::any().add(no_community_rule);
    if let Some(c) = r.community_id {
        communities = communities.add(Expr::exists(rule_exists(
            RULE_COMMUNITY,
            Some(vec![c.to_string()]),
        )));
    }
    let mut age = Condition::any().add(coupon::Column::MinAge.is_null());
    if let Some(a) = r.age {
        age = age.add(coupon::Column::MinAge.lte(a));
    }
    Condition::all().add(tags).add(communities).add(age)
}

/// The rules of one coupon, checked in Rust at claim time.
fn check_eligible(
    c: &coupon::Model,
    rules: &[coupon_audience::Model],
    r: &Resident,
) -> AppResult<()> {
    let tags: Vec<&str> = rules
        .iter()
        .filter(|a| a.rule == RULE_TAG)
        .map(|a| a.value.as_str())
        .collect();
    if !tags.is_empty() && !r.tags.iter().any(|t| tags.contains(&t.as_str())) {
        return Err(AppError::NotEligible(Text::new(
            "此券仅限特定人群领取",
            "This offer is for residents with certain tags",
        )));
    }
    let communities: Vec<&str> = rules
        .iter()
        .filter(|a| a.rule == RULE_COMMUNITY)
        .map(|a| a.value.as_str())
        .collect();
    if !communities.is_empty()
        && !r
            .community_id
            .is_some_and(|c| communities.contains(&c.to_string().as_str()))
    {
        return Err(AppError::NotEligible(Text::new(
            "此券仅限指定社区居民领取",
            "This offer is for residents of certain communities",
        )));
    }
    if let Some(min) = c.min_age
        && r.age.is_none_or(|a| a < min)
    {
        return Err(AppError::NotEligible(Text::owned(
            format!("此券仅限 {min} 岁及以上居民领取（请先填写出生日期）"),
            format!("This offer is for residents aged {min} or over (set your birth date)"),
        )));
    }
    Ok(())
}

/// Crockford's base-32 alphabet: no I, L, O or U, so a code read aloud or typed is unambiguous.
const CODE_ALPHABET: &[u8] = b"0123456789ABCDEFGHJKMNPQRSTVWXYZ";
const CODE_LEN: usize = 12;

/// 60 random bits, shown as `XXXX-XXXX-XXXX`.
fn new_code() -> String {
    let mut rng = rand::rng();
    (0..CODE_LEN)
        .map(|_| CODE_ALPHABET[rng.random_range(0..CODE_ALPHABET.len())] as char)
        .collect()
}

/// Accepts what a clerk types or a scanner reads: any case, dashes and spaces, `O` for `0`,
/// `I`/`L` for `1`, or the full QR payload.
pub fn normalize_code(raw: &str) -> Option<String> {
    let raw = raw.trim();
    let raw = raw.strip_prefix(QR_PREFIX).unwrap_or(raw);
    let code: String = raw
        .chars()
        .filter(|c| !matches!(c, '-' | ' '))
        .map(|c| match c.to_ascii_uppercase() {
            'O' => '0',
            'I' | 'L' => '1',
            other => other,
        })
        .collect();
    (code.len() == CODE_LEN && code.bytes().all(|b| CODE_ALPHABET.contains(&b))).then_some(code)
}

pub const QR_PREFIX: &str = "shangju:coupon:";

pub fn display_code(code: &str) -> String {
    code.as_bytes()
        .chunks(4)
        .map(|c| String::from_utf8_lossy(c).into_owned())
        .collect::<Vec<_>>()
        .join("-")
}

/// A resident claims one unit. Checks state, window, audience and per-user limit, and takes the
/// stock, all in one transaction.
pub async fn claim(
    db: &DatabaseConnection,
    viewer: &Viewer,
    coupon_id: i64,
) -> AppResult<coupon_claim::Model> {
    viewer.require_any(&[Role::Resident])?;
    let now = Utc::now();
    let who = resident(db, viewer.user_id).await?;
    let txn = begin_write(db).await?;
    let c = coupon::Entity::find_by_id(coupon_id)
        .one(&txn)
        .await?
        .ok_or(AppError::NotFound("coupon"))?;
    let m = merchant::Entity::find_by_id(c.merchant_id)
        .one(&txn)
        .await?
        .ok_or(AppError::NotFound("merchant"))?;
    if c.status != CouponStatus::Active || m.status != MerchantStatus::Active {
        return Err(invalid_state());
    }
    if now < c.valid_from || now >= c.valid_until {
        return Err(AppError::Expired);
    }
    let rules = coupon_audience::Entity::find()
        .filter(coupon_audience::Column::CouponId.eq(c.id))
        .all(&txn)
        .await?;
    check_eligible(&c, &rules, &who)?;

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
        .filter(
            Condition::any()
                .add(coupon::Column::RemainingStock.is_null())
                .add(coupon::Column::RemainingStock.gt(0)),
        )
        .exec(&txn)
        .await?;
    if taken.rows_affected == 0 {
        return Err(AppError::OutOfStock);
    }
    let mine = coupon_claim::Entity::find()
        .filter(coupon_claim::Column::CouponId.eq(c.id))
        .filter(coupon_claim::Column::UserId.eq(viewer.user_id))
        .filter(coupon_claim::Column::Status.ne(ClaimStatus::Voided))
        .count(&txn)
        .await?;
    if mine >= c.per_user_limit as u64 {
        return Err(AppError::LimitReached);
    }
    let claim = coupon_claim::ActiveModel {
        coupon_id: Set(c.id),
        merchant_id: Set(c.merchant_id),
        user_id: Set(viewer.user_id),
        code: Set(new_code()),
        status: Set(ClaimStatus::Claimed),
        claimed_at: Set(now),
        expires_at: Set(c.valid_until),
        points_spent: Set(c.points_cost),
        redeemed_at: Set(None),
        redeemed_by: Set(None),
        redeem_key: Set(None),
        voided_at: Set(None),
        voided_by: Set(None),
        void_reason: Set(None),
        ..Default::default()
    }
    .insert(&txn)
    .await?;
    if c.points_cost > 0 {
        // A short balance fails here and the whole claim, stock included, rolls back.
        points::post(
            &txn,
            Posting {
                user_id: viewer.user_id,
                street_id: Some(c.street_id),
                amount: -c.points_cost,
                kind: Kind::RewardSpent,
                source: Source::new("COUPON_CLAIM", claim.id),
                actor_user_id: Some(viewer.user_id),
                note: Some(c.title.clone()),
            },
        )
        .await?;
    }
    txn.commit().await?;
    Ok(claim)
}

fn check_key(key: &str) -> AppResult<()> {
    let ok = (1..=64).contains(&key.len())
        && key
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
    if ok {
        Ok(())
    } else {
        Err(bad(
            "idempotencyKey",
            "幂等键应为 1 到 64 位字母、数字、- 或 _",
            "idempotencyKey has 1 to 64 letters, digits, - or _",
        ))
    }
}

/// A clerk or the owner of the issuing merchant redeems a code, exactly once. The same key again
/// returns the first result; another redemption is `ALREADY_REDEEMED`.
pub async fn redeem(
    db: &DatabaseConnection,
    viewer: &Viewer,
    code: &str,
    key: &str,
    request_id: Option<&str>,
) -> AppResult<coupon_claim::Model> {
    check_key(key)?;
    let code =
        normalize_code(code).ok_or_else(|| bad("code", "券码格式不正确", "Not a valid code"))?;
    let now = Utc::now();
    let txn = begin_write(db).await?;
    let claim = coupon_claim::Entity::find()
        .filter(coupon_claim::Column::Code.eq(code))
        .one(&txn)
        .await?
        .ok_or(AppError::NotFound("claim"))?;
    require_member(&txn, viewer, claim.merchant_id).await?;
    let settled = |c: &coupon_claim::Model| match c.status {
        ClaimStatus::Redeemed if c.redeem_key.as_deref() == Some(key) => Ok(Some(c.clone())),
        ClaimStatus::Redeemed => Err(AppError::AlreadyRedeemed),
        ClaimStatus::Voided => Err(invalid_state()),
        ClaimStatus::Claimed => Ok(None),
    };
    if let Some(done) = settled(&claim)? {
        return Ok(done);
    }
    let m = merchant::Entity::find_by_id(claim.merchant_id)
        .one(&txn)
        .await?
        .ok_or(AppError::NotFound("merchant"))?;
    if m.status != MerchantStatus::Active {
        return Err(invalid_state());
    }
    if now >= claim.expires_at {
        return Err(AppError::Expired);
    }
    let updated = coupon_claim::Entity::update_many()
        .col_expr(
            coupon_claim::Column::Status,
            Expr::value(ClaimStatus::Redeemed),
        )
        .col_expr(coupon_claim::Column::RedeemedAt, Expr::value(now))
        .col_expr(
            coupon_claim::Column::RedeemedBy,
            Expr::value(viewer.user_id),
        )
        .col_expr(coupon_claim::Column::RedeemKey, Expr::value(key))
        .filter(coupon_claim::Column::Id.eq(claim.id))
        .filter(coupon_claim::Column::Status.eq(ClaimStatus::Claimed))
        .exec(&txn)
        .await?;
    if updated.rows_affected == 0 {
        // Another redemption committed first (PostgreSQL); answer as if we had come after it.
        let now_claim = coupon_claim::Entity::find_by_id(claim.id)
            .one(&txn)
            .await?
            .ok_or(AppError::NotFound("claim"))?;
        return settled(&now_claim)?.ok_or_else(invalid_state);
    }
    coupon::Entity::update_many()
        .col_expr(
            coupon::Column::RedeemedCount,
            Expr::col(coupon::Column::RedeemedCount).add(1),
        )
        .filter(coupon::Column::Id.eq(claim.coupon_id))
        .exec(&txn)
        .await?;
    audit::record(
        &txn,
        AuditRecord {
            street_id: Some(m.street_id),
            actor_user_id: Some(viewer.user_id),
            action: "coupon.redeem",
            target_type: "CouponClaim",
            target_id: Some(claim.id),
            reason: None,
            request_id,
        },
    )
    .await?;
    let claim = coupon_claim::Entity::find_by_id(claim.id)
        .one(&txn)
        .await?
        .ok_or(AppError::NotFound("claim"))?;
    txn.commit().await?;
    Ok(claim)
}

/// The merchant (owner or clerk) or staff of its street voids an unredeemed claim.
pub async fn void(
    db: &DatabaseConnection,
    viewer: &Viewer,
    claim_id: i64,
    reason: &str,
    request_id: Option<&str>,
) -> AppResult<coupon_claim::Model> {
    let reason = Reason::parse("reason", reason)?.into_inner();
    let txn = begin_write(db).await?;
    let claim = coupon_claim::Entity::find_by_id(claim_id)
        .one(&txn)
        .await?
        .ok_or(AppError::NotFound("claim"))?;
    let m = merchant::Entity::find_by_id(claim.merchant_id)
        .one(&txn)
        .await?
        .ok_or(AppError::NotFound("merchant"))?;
    let staff = viewer.require_staff_of(m.street_id).is_ok();
    if !staff {
        require_member(&txn, viewer, m.id).await?;
    }
    match claim.status {
        ClaimStatus::Redeemed => return Err(AppError::AlreadyRedeemed),
        ClaimStatus::Voided => return Err(invalid_state()),
        ClaimStatus::Claimed => {}
    }
    let now = Utc::now();
    let updated = coupon_claim::Entity::update_many()
        .col_expr(
            coupon_claim::Column::Status,
            Expr::value(ClaimStatus::Voided),
        )
        .col_expr(coupon_claim::Column::VoidedAt, Expr::value(now))
        .col_expr(coupon_claim::Column::VoidedBy, Expr::value(viewer.user_id))
        .col_expr(
            coupon_claim::Column::VoidReason,
            Expr::value(reason.clone()),
        )
        .filter(coupon_claim::Column::Id.eq(claim.id))
        .filter(coupon_claim::Column::Status.eq(ClaimStatus::Claimed))
        .exec(&txn)
        .await?;
    if updated.rows_affected == 0 {
        return Err(invalid_state());
    }
    if let Some((points, source)) = points::refund_source(&claim) {
        points::post(
            &txn,
            Posting {
                user_id: claim.user_id,
                street_id: Some(m.street_id),
                amount: points,
                kind: Kind::Refund,
                source,
                actor_user_id: Some(viewer.user_id),
                note: Some(reason.clone()),
            },
        )
        .await?;
    }
    audit::record(
        &txn,
        AuditRecord {
            street_id: Some(m.street_id),
            actor_user_id: Some(viewer.user_id),
            action: "coupon_claim.void",
            target_type: "CouponClaim",
            target_id: Some(claim.id),
            reason: Some(reason),
            request_id,
        },
    )
    .await?;
    let claim = coupon_claim::Entity::find_by_id(claim.id)
        .one(&txn)
        .await?
        .ok_or(AppError::NotFound("claim"))?;
    txn.commit().await?;
    Ok(claim)
}

/// Coupons the viewer may see: active, in their window, of active merchants; plus
/// [`insider_rows`].
fn visible(viewer: Option<&Viewer>, now: DateTime<Utc>) -> Condition {
    let public = Condition::all()
        .add(coupon::Column::Status.eq(CouponStatus::Active))
        .add(coupon::Column::ValidUntil.gt(now))
        .add(
            coupon::Column::MerchantId.in_subquery(
                Query::select()
                    .column(merchant::Column::Id)
                    .from(merchant::Entity)
                    .and_where(merchant::Column::Status.eq(MerchantStatus::Active))
                    .to_owned(),
            ),
        );
    let cond = Condition::any().add(public);
    match viewer {
        Some(v) => cond.add(insider_rows(
            v,
            coupon::Column::StreetId,
            coupon::Column::MerchantId,
        )),
        None => cond,
    }
}

#[derive(Default)]
pub struct CouponFilter {
    pub merchant_id: Option<i64>,
    pub kind: Option<CouponKind>,
    pub status: Option<CouponStatus>,
    /// Only coupons the signed-in resident's tags, age and community allow.
    pub eligible_only: bool,
}

pub async fn list(
    db: &DatabaseConnection,
    viewer: Option<&Viewer>,
    filter: CouponFilter,
    offset: u64,
    limit: u64,
) -> AppResult<(Vec<coupon::Model>, u64)> {
    let mut q = coupon::Entity::find().filter(visible(viewer, Utc::now()));
    if let Some(m) = filter.merchant_id {
        q = q.filter(coupon::Column::MerchantId.eq(m));
    }
    if let Some(k) = filter.kind {
        q = q.filter(coupon::Column::Kind.eq(k));
    }
    if let Some(s) = filter.status {
        q = q.filter(coupon::Column::Status.eq(s));
    }
    if filter.eligible_only {
        let v = viewer.ok_or(AppError::Unauthenticated)?;
        q = q.filter(eligible_condition(&resident(db, v.user_id).await?));
    }
    page::fetch(db, q.order_by_desc(coupon::Column::Id), offset, limit).await
}

/// One coupon: `FORBIDDEN` when it exists but the viewer may not see it.
pub async fn get(
    db: &DatabaseConnection,
    viewer: Option<&Viewer>,
    id: i64,
) -> AppResult<coupon::Model> {
    let found = coupon::Entity::find()
        .filter(coupon::Column::Id.eq(id))
        .filter(visible(viewer, Utc::now()))
        .one(db)
        .await?;
    match found {
        Some(c) => Ok(c),
        None if coupon::Entity::find_by_id(id).one(db).await?.is_some() => Err(AppError::Forbidden),
        None => Err(AppError::NotFound("coupon")),
    }
}

/// Publicly visible coupons of many merchants at once (for nested lists), newest first.
pub async fn active_of_merchants(
    db: &DatabaseConnection,
    merchant_ids: &[i64],
) -> AppResult<Vec<coupon::Model>> {
    Ok(coupon::Entity::find()
        .filter(coupon::Column::MerchantId.is_in(merchant_ids.iter().copied()))
        .filter(coupon::Column::Status.eq(CouponStatus::Active))
        .filter(coupon::Column::ValidUntil.gt(Utc::now()))
        .order_by_desc(coupon::Column::Id)
        .all(db)
        .await?)
}

pub async fn by_ids(db: &DatabaseConnection, ids: &[i64]) -> AppResult<Vec<coupon::Model>> {
    Ok(coupon::Entity::find()
        .filter(coupon::Column::Id.is_in(ids.iter().copied()))
        .all(db)
        .await?)
}

pub async fn audiences_of(
    db: &DatabaseConnection,
    coupon_ids: &[i64],
) -> AppResult<Vec<coupon_audience::Model>> {
    Ok(coupon_audience::Entity::find()
        .filter(coupon_audience::Column::CouponId.is_in(coupon_ids.iter().copied()))
        .all(db)
        .await?)
}

/// Turns stored rules back into an [`Audience`].
pub fn audience(c: &coupon::Model, rules: &[coupon_audience::Model]) -> Audience {
    Audience {
        tags: rules
            .iter()
            .filter(|r| r.rule == RULE_TAG)
            .map(|r| r.value.clone())
            .collect(),
        min_age: c.min_age,
        community_ids: rules
            .iter()
            .filter(|r| r.rule == RULE_COMMUNITY)
            .filter_map(|r| r.value.parse().ok())
            .collect(),
    }
}

/// How a claim reads now: an unredeemed claim past its coupon's validity is expired.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ClaimState {
    Claimed,
    Redeemed,
    Expired,
    Voided,
}

pub fn claim_state(c: &coupon_claim::Model, now: DateTime<Utc>) -> ClaimState {
    match c.status {
        ClaimStatus::Claimed if now >= c.expires_at => ClaimState::Expired,
        ClaimStatus::Claimed => ClaimState::Claimed,
        ClaimStatus::Redeemed => ClaimState::Redeemed,
        ClaimStatus::Voided => ClaimState::Voided,
    }
}

fn state_condition(state: ClaimState, now: DateTime<Utc>) -> Condition {
    match state {
        ClaimState::Claimed => Condition::all()
            .add(coupon_claim::Column::Status.eq(ClaimStatus::Claimed))
            .add(coupon_claim::Column::ExpiresAt.gt(now)),
        ClaimState::Expired => Condition::all()
            .add(coupon_claim::Column::Status.eq(ClaimStatus::Claimed))
            .add(coupon_claim::Column::ExpiresAt.lte(now)),
        ClaimState::Redeemed => {
            Condition::all().add(coupon_claim::Column::Status.eq(ClaimStatus::Redeemed))
        }
        ClaimState::Voided => {
            Condition::all().add(coupon_claim::Column::Status.eq(ClaimStatus::Voided))
        }
    }
}

/// The viewer's own claims, newest first.
pub async fn my_claims(
    db: &DatabaseConnection,
    viewer: &Viewer,
    state: Option<ClaimState>,
    offset: u64,
    limit: u64,
) -> AppResult<(Vec<coupon_claim::Model>, u64)> {
    let mut q =
        coupon_claim::Entity::find().filter(coupon_claim::Column::UserId.eq(viewer.user_id));
    if let Some(s) = state {
        q = q.filter(state_condition(s, Utc::now()));
    }
    page::fetch(db, q.order_by_desc(coupon_claim::Column::Id), offset, limit).await
}

/// Claims of a merchant's coupons, for its members and staff of its street.
pub async fn merchant_claims(
    db: &DatabaseConnection,
    viewer: &Viewer,
    merchant_id: i64,
    coupon_id: Option<i64>,
    state: Option<ClaimState>,
    offset: u64,
    limit: u64,
) -> AppResult<(Vec<coupon_claim::Model>, u64)> {
    let m = merchant::Entity::find_by_id(merchant_id)
        .one(db)
        .await?
        .ok_or(AppError::NotFound("merchant"))?;
    if viewer.require_staff_of(m.street_id).is_err() {
        require_member(db, viewer, m.id).await?;
    }
    let mut q = coupon_claim::Entity::find().filter(coupon_claim::Column::MerchantId.eq(m.id));
    if let Some(c) = coupon_id {
        q = q.filter(coupon_claim::Column::CouponId.eq(c));
    }
    if let Some(s) = state {
        q = q.filter(state_condition(s, Utc::now()));
    }
    page::fetch(db, q.order_by_desc(coupon_claim::Column::Id), offset, limit).await
}

/// How many claims a coupon has, voided ones included: the benchmark checks it against stock.
pub async fn count_claims(db: &DatabaseConnection, coupon_id: i64) -> AppResult<u64> {
    Ok(coupon_claim::Entity::find()
        .filter(coupon_claim::Column::CouponId.eq(coupon_id))
        .count(db)
        .await?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_typable_and_normalised() {
        let c = new_code();
        assert_eq!(c.len(), 12);
        let shown = display_code(&c);
        assert_eq!(normalize_code(&shown.to_lowercase()), Some(c.clone()));
        assert_eq!(normalize_code(&format!("{QR_PREFIX}{c}")), Some(c));
        assert_eq!(
            normalize_code("O1IL-0000-0000"),
            Some("0111000000000".chars().take(12).collect())
        );
        assert_eq!(normalize_code("short"), None);
        assert_eq!(normalize_code("UUUU-UUUU-UUUU"), None);
    }

    #[test]
    fn age_counts_whole_years() {
        let d = |y, m, d| chrono::NaiveDate::from_ymd_opt(y, m, d).unwrap();
        assert_eq!(age_on(d(1960, 5, 10), d(2025, 5, 9)), 64);
        assert_eq!(age_on(d(1960, 5, 10), d(2025, 5, 10)), 65);
    }
}
