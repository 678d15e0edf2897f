//! Two-way points (双向积分): an append-only ledger. Every change of anyone's points goes
//! through [`post`], inside the transaction of whatever caused it:
//!
//! ```text
//! let tx = cx.write().await?;
//! // … the capability's own changes …
//! points::post(&tx, Posting {
//!     user_id, street_id: Some(street), amount: activity.points,
//!     kind: PointsKind::Activity,
//!     source: Source::new(SourceType::ActivityAttendance, attendance.id),
//!     note: None,
//! }).await?;
//! tx.commit().await?;
//! ```
//!
//! A source (type and key) posts to a user at most once, whatever the retries or races: the
//! entry is inserted with `ON CONFLICT DO NOTHING` on a unique index, so the second attempt finds
//! the first and changes nothing. The balance moves by a conditional update that refuses to go
//! below zero, so a short balance is `INSUFFICIENT_POINTS` and the caller's transaction rolls
//! back whole. Every posting records a `points.posted` event for its user.

use chrono::{DateTime, Datelike, Utc};
use sea_orm::sea_query::{Expr, ExprTrait, OnConflict, Query};
use sea_orm::{
    ActiveEnum, ColumnTrait, EntityTrait, FromQueryResult, QueryFilter, QuerySelect, Set,
};

use entity::names::ObjectKind;
pub use entity::points_entry::{PointsKind, SourceType};
use entity::user_role::{self, Role};
use entity::{points_account, points_entry, user};

use crate::clock::{local_date, local_midnight};
use crate::domain::audit::{self, AuditAction, AuditRecord};
use crate::domain::codes::IdempotencyKey;
use crate::domain::context::Cx;
use crate::domain::events::{self, Event, EventKind};
use crate::domain::idempotency::{self, Binding, Scope};
use crate::domain::page::{self, Order, Page, SortValue, Window};
use crate::domain::policy::PersonRights;
use crate::domain::values::Reason;
use crate::error::{AppError, AppResult, Text};
use crate::metrics::Tally;

/// Largest single staff adjustment, either way.
pub const MAX_ADJUSTMENT: i32 = 10_000;

/// Whether a positive amount of this kind counts as earned (refunds only give back).
fn earns(kind: PointsKind) -> bool {
    kind != PointsKind::Refund
}

/// The object that caused a posting, e.g. `COUPON_CLAIM` 42.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Source {
    pub source_type: SourceType,
    pub key: String,
}

impl Source {
    pub fn new(source_type: SourceType, key: impl ToString) -> Source {
        Source {
            source_type,
            key: key.to_string(),
        }
    }
}

/// One change of someone's points; the actor is the command's viewer.
pub struct Posting {
    pub user_id: i64,
    pub street_id: Option<i64>,
    /// Signed; never zero.
    pub amount: i32,
    pub kind: PointsKind,
    pub source: Source,
    pub note: Option<String>,
}

/// What [`post`] did.
#[derive(Clone, Debug)]
pub enum Posted {
    Created(points_entry::Model),
    /// The source had posted before; nothing changed.
    Already(points_entry::Model),
}

/// Appends an entry and moves the balance, in the caller's transaction (in a savepoint of its
/// own, so a refused posting leaves nothing behind even if the caller goes on).
pub async fn post(cx: &Cx<'_>, p: Posting) -> AppResult<Posted> {
    if p.amount == 0 {
        return Err(AppError::bad_input(
            "amount",
            Text::new("积分变动不能为 0", "The amount cannot be zero"),
        ));
    }
    let tx = cx.write().await?;
    let posted = post_in(&tx, p).await?;
    tx.commit().await?;
    Ok(posted)
}

async fn post_in(cx: &Cx<'_>, p: Posting) -> AppResult<Posted> {
    let now = cx.now();
    points_account::Entity::insert(points_account::ActiveModel {
        user_id: Set(p.user_id),
        balance: Set(0),
        lifetime_earned: Set(0),
        updated_at: Set(now),
    })
    .on_conflict(
        OnConflict::column(points_account::Column::UserId)
            .do_nothing()
            .to_owned(),
    )
    .exec_without_returning(cx)
    .await?;

    let inserted = points_entry::Entity::insert(points_entry::ActiveModel {
        user_id: Set(p.user_id),
        street_id: Set(p.street_id),
        amount: Set(p.amount),
        kind: Set(p.kind),
        source_type: Set(p.source.source_type),
        source_key: Set(p.source.key.clone()),
        actor_user_id: Set(cx.actor_id()),
        note: Set(p.note),
        created_at: Set(now),
        ..Default::default()
    })
    .on_conflict(
        OnConflict::columns([
            points_entry::Column::UserId,
            points_entry::Column::SourceType,
            points_entry::Column::SourceKey,
        ])
        .do_nothing()
        .to_owned(),
    )
    .exec_without_returning(cx)
    .await?;
    let entry = points_entry::Entity::find()
        .filter(points_entry::Column::UserId.eq(p.user_id))
        .filter(points_entry::Column::SourceType.eq(p.source.source_type))
        .filter(points_entry::Column::SourceKey.eq(p.source.key.as_str()))
        .one(cx)
        .await?
        .ok_or_else(|| AppError::internal("posted entry not found"))?;
    if inserted == 0 {
        return Ok(Posted::Already(entry));
    }

    let earned = if p.amount > 0 && earns(p.kind) {
        p.amount as i64
    } else {
        0
    };
    let moved = points_account::Entity::update_many()
        .col_expr(
            points_account::Column::Balance,
            Expr::col(points_account::Column::Balance).add(p.amount as i64),
        )
        .col_expr(
            points_account::Column::LifetimeEarned,
            Expr::col(points_account::Column::LifetimeEarned).add(earned),
        )
        .col_expr(points_account::Column::UpdatedAt, Expr::value(now))
        .filter(points_account::Column::UserId.eq(p.user_id))
        .filter(
            Expr::col(points_account::Column::Balance)
                .add(p.amount as i64)
                .gte(0),
        )
        .exec(cx)
        .await?;
    if moved.rows_affected == 0 {
        return Err(AppError::InsufficientPoints);
    }
    let mut event = Event::new(EventKind::PointsPosted, ObjectKind::PointsEntry, entry.id)
        .concerning(entry.user_id)
        .payload(serde_json::json!({
            "amount": entry.amount,
            "kind": p.kind.to_value(),
            "sourceType": entry.source_type.to_value(),
        }));
    event.street_id = entry.street_id;
    events::record(cx, event).await?;
    cx.tally(Tally::PointsPosted {
        kind: p.kind,
        amount: i64::from(p.amount),
    });
    Ok(Posted::Created(entry))
}

/// A user's totals; zero for someone who never had points.
pub async fn account(cx: &Cx<'_>, user_id: i64) -> AppResult<points_account::Model> {
    Ok(points_account::Entity::find_by_id(user_id)
        .one(cx)
        .await?
        .unwrap_or(points_account::Model {
            user_id,
            balance: 0,
            lifetime_earned: 0,
            updated_at: cx.now(),
        }))
}

/// Entries in the order they were posted (the id breaks ties).
pub fn entry_order(descending: bool) -> Order<points_entry::Entity> {
    Order {
        field: "CREATED_AT",
        column: points_entry::Column::CreatedAt,
        id: points_entry::Column::Id,
        descending,
        key: |e| (SortValue::Time(e.created_at), e.id),
    }
}

/// A user's entries.
pub async fn entries(
    conn: &impl crate::rows::Reads,
    user_id: i64,
    order: Order<points_entry::Entity>,
    window: Window,
) -> AppResult<Page<points_entry::Model>> {
    let q = points_entry::Entity::find().filter(points_entry::Column::UserId.eq(user_id));
    page::fetch(conn, q, order, window).await
}

/// One entry, for the person it belongs to and staff of their street.
pub async fn get_entry(cx: &Cx<'_>, id: i64) -> AppResult<points_entry::Model> {
    let entry = points_entry::Entity::find_by_id(id)
        .one(cx)
        .await?
        .ok_or(AppError::NotFound("points entry"))?;
    require_ledger_reader(cx, entry.user_id).await?;
    Ok(entry)
}

/// Whose ledger the viewer may read: their own, or any user of a staff member's street.
pub async fn require_ledger_reader(cx: &Cx<'_>, user_id: i64) -> AppResult<user::Model> {
    let viewer = cx.viewer()?;
    let u = user::Entity::find_by_id(user_id)
        .one(cx)
        .await?
        .ok_or(AppError::NotFound("user"))?;
    PersonRights::of(Some(viewer), u.id, u.street_id).require_personal()?;
    Ok(u)
}

/// Staff of the user's street add or take points, with a reason. With an idempotency key, a
/// retried request posts once.
pub async fn adjust(
    cx: &Cx<'_>,
    user_id: i64,
    amount: i32,
    reason: &str,
    idempotency_key: Option<&str>,
) -> AppResult<points_entry::Model> {
    let viewer = cx.viewer()?;
    let reason = Reason::parse("reason", reason)?.into_inner();
    if amount == 0 || amount.unsigned_abs() > MAX_ADJUSTMENT as u32 {
        return Err(AppError::bad_input(
            "amount",
            Text::new(
                "调整积分应为 -10000 到 10000 之间的非零整数",
                "amount is a non-zero integer from -10000 to 10000",
            ),
        ));
    }
    let key = idempotency_key
        .map(|k| IdempotencyKey::parse("idempotencyKey", k))
        .transpose()?;
    let tx = cx.write().await?;
    let target = user::Entity::find_by_id(user_id)
        .one(&tx)
        .await?
        .ok_or(AppError::NotFound("user"))?;
    PersonRights::of(Some(viewer), target.id, target.street_id).require_govern()?;
    let binding = match &key {
        Some(k) => {
            let params = serde_json::json!([user_id, amount, reason]);
            Some(idempotency::bind(&tx, Scope::AdjustPoints, k, params).await?)
        }
        None => None,
    };
    if let Some(Binding::Replay(id)) = binding {
        return points_entry::Entity::find_by_id(id)
            .one(&tx)
            .await?
            .ok_or(AppError::NotFound("points entry"));
    }
    let posted = post(
        &tx,
        Posting {
            user_id,
            street_id: target.street_id,
            amount,
            kind: PointsKind::Adjustment,
            source: Source::new(
                SourceType::StaffAdjustment,
                uuid::Uuid::new_v4().to_string(),
            ),
            note: Some(reason.clone()),
        },
    )
    .await?;
    let entry = match posted {
        Posted::Already(e) | Posted::Created(e) => e,
    };
    if let Some(b) = &binding {
        idempotency::settle(&tx, b, entry.id).await?;
    }
    audit::record(
        &tx,
        AuditRecord {
            street_id: target.street_id,
            action: AuditAction::PointsAdjust,
            target_type: ObjectKind::PointsEntry,
            target_id: Some(entry.id),
            reason: Some(reason),
            change: None,
        },
    )
    .await?;
    tx.commit().await?;
    Ok(entry)
}

/// `陈文林` → `陈*林`, `陈林` → `陈*`, `陈` → `*`.
pub fn mask_name(name: &str) -> String {
    let chars: Vec<char> = name.chars().collect();
    match chars.len() {
        0 | 1 => "*".to_owned(),
        2 => format!("{}*", chars[0]),
        n => format!("{}{}{}", chars[0], "*".repeat(n - 2), chars[n - 1]),
    }
}

/// The period a leaderboard covers, in the street's time zone.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Period {
    Week,
    Month,
    Year,
    All,
}

impl Period {
    /// The start of the period containing `now` in `tz`, or `None` for all time.
    pub fn start(self, now: DateTime<Utc>, tz: chrono_tz::Tz) -> Option<DateTime<Utc>> {
        let local = local_date(now, tz);
        let first = match self {
            Period::All => return None,
            Period::Week => {
                local - chrono::Duration::days(local.weekday().num_days_from_monday() as i64)
            }
            Period::Month => local.with_day(1)?,
            Period::Year => local.with_ordinal(1)?,
        };
        Some(local_midnight(first, tz))
    }
}
/// One line of a leaderboard.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Standing {
    pub rank: u64,
    pub user_id: i64,
    pub display_name: String,
    pub points: i64,
}

#[derive(Debug, FromQueryResult)]
struct Earned {
    user_id: i64,
    points: i64,
}

/// Residents of a community ranked by points earned in the period (ties by who joined first),
/// skipping those who opted out; and the viewer's own standing when they are on it.
pub async fn leaderboard(
    cx: &Cx<'_>,
    community_id: i64,
    period: Period,
    first: u64,
) -> AppResult<(Vec<Standing>, Option<Standing>)> {
    let viewer = cx.viewer_opt();
    // Who may appear, as a subquery: no list of ids travels to the database.
    let on_board = Query::select()
        .column(user::Column::Id)
        .from(user::Entity)
        .and_where(user::Column::CommunityId.eq(community_id))
        .and_where(user::Column::LeaderboardOptOut.eq(false))
        .and_where(user::Column::Disabled.eq(false))
        .and_where(
            user::Column::Id.in_subquery(
                Query::select()
                    .column(user_role::Column::UserId)
                    .from(user_role::Entity)
                    .and_where(user_role::Column::Role.eq(Role::Resident))
                    .to_owned(),
            ),
        )
        .to_owned();
    let mut q = points_entry::Entity::find()
        .select_only()
        .column(points_entry::Column::UserId)
        .column_as(
            Expr::from(sea_orm::sea_query::Func::sum(Expr::col(
                points_entry::Column::Amount,
            ))),
            "points",
        )
        .filter(points_entry::Column::UserId.in_subquery(on_board))
        .filter(points_entry::Column::Amount.gt(0))
        .filter(points_entry::Column::Kind.ne(PointsKind::Refund));
    let tz = crate::domain::street::time_zone_of_community(cx, community_id).await?;
    if let Some(start) = period.start(cx.now(), tz) {
        q = q.filter(points_entry::Column::CreatedAt.gte(start));
    }
    let mut earned: Vec<Earned> = q
        .group_by(points_entry::Column::UserId)
        .into_model::<Earned>()
        .all(cx)
        .await?;
    earned.sort_by(|a, b| b.points.cmp(&a.points).then(a.user_id.cmp(&b.user_id)));
    let ranked = |i: usize, e: &Earned| (i as u64 + 1, e.user_id, e.points);
    let top: Vec<_> = earned
        .iter()
        .take(first as usize)
        .enumerate()
        .map(|(i, e)| ranked(i, e))
        .collect();
    let mine = viewer.and_then(|v| {
        earned
            .iter()
            .position(|e| e.user_id == v.user_id)
            .map(|i| ranked(i, &earned[i]))
    });
    // Names only for the lines shown.
    let ids: Vec<i64> = top
        .iter()
        .chain(mine.iter())
        .map(|(_, id, _)| *id)
        .collect();
    let names: Vec<(i64, String)> = user::Entity::find()
        .select_only()
        .column(user::Column::Id)
        .column(user::Column::DisplayName)
        .filter(user::Column::Id.is_in(ids))
        .into_tuple()
        .all(cx)
        .await?;
    let standing = |(rank, user_id, points): (u64, i64, i64)| Standing {
        rank,
        user_id,
        display_name: names
            .iter()
            .find(|(id, _)| *id == user_id)
            .map_or_else(|| "*".to_owned(), |(_, n)| mask_name(n)),
        points,
    };
    Ok((top.into_iter().map(standing).collect(), mine.map(standing)))
}

/// A user keeps off (or returns to) the leaderboards.
pub async fn set_opt_out(cx: &Cx<'_>, opt_out: bool) -> AppResult<()> {
    let viewer = cx.viewer()?;
    let tx = cx.write().await?;
    user::Entity::update_many()
        .col_expr(user::Column::LeaderboardOptOut, Expr::value(opt_out))
        .filter(user::Column::Id.eq(viewer.user_id))
        .exec(&tx)
        .await?;
    tx.commit().await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::DEFAULT_TIME_ZONE;

    #[test]
    fn names_are_masked() {
        assert_eq!(mask_name("陈文林"), "陈*林");
        assert_eq!(mask_name("陈林"), "陈*");
        assert_eq!(mask_name("欧阳娜娜"), "欧**娜");
        assert_eq!(mask_name("曹"), "*");
    }

    #[test]
    fn periods_start_at_local_midnight() {
        let now = DateTime::parse_from_rfc3339("2026-11-22T20:00:00Z")
            .unwrap()
            .to_utc();
        // 2026-11-23 04:00 in Shanghai, a Monday.
        assert_eq!(
            Period::Week
                .start(now, DEFAULT_TIME_ZONE)
                .unwrap()
                .to_rfc3339(),
            "2026-11-22T16:00:00+00:00"
        );
        assert_eq!(
            Period::Month
                .start(now, DEFAULT_TIME_ZONE)
                .unwrap()
                .to_rfc3339(),
            "2026-10-31T16:00:00+00:00"
        );
        assert_eq!(
            Period::Year
                .start(now, DEFAULT_TIME_ZONE)
                .unwrap()
                .to_rfc3339(),
            "2025-12-31T16:00:00+00:00"
        );
        assert_eq!(Period::All.start(now, DEFAULT_TIME_ZONE), None);
        // 2026-11-23 02:00 in Ürümqi: its Monday began at 18:00 UTC.
        assert_eq!(
            Period::Week
                .start(now, chrono_tz::Asia::Urumqi)
                .unwrap()
                .to_rfc3339(),
            "2026-11-22T18:00:00+00:00"
        );
    }
}
