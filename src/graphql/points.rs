//! Two-way points as clients see them: `myPoints`, `residentPoints`, `adjustPoints`,
//! `pointsRewardReport`, `pointsLeaderboard`, `setLeaderboardOptOut`.

use crate::graphql::scalars::DateTime;
use async_graphql::{Context, Enum, ID, InputObject, MergedObject, Object, SimpleObject};
use entity::names::ObjectKind;
use std::sync::Arc;

use entity::{points_account, points_entry};

use crate::domain::coupon::report;
use crate::domain::points as domain;
use crate::error::{AppError, AppResult, Text};
use crate::graphql::loader::MerchantKey;
use crate::graphql::merchant::Merchant;
use crate::graphql::pagination::{OrderDirection, connection, connection_field, page_size};
use crate::graphql::{ContextExt, id};

/// Why points moved.
#[derive(Enum, Copy, Clone, Eq, PartialEq)]
#[graphql(remote = "entity::points_entry::PointsKind")]
pub enum PointsKind {
    /// Earned by volunteering.
    Volunteering,
    /// Earned by attending a joint activity.
    Activity,
    /// Bonus of a granted award.
    AwardBonus,
    /// Spent on a merchant's reward (a coupon with a points cost).
    RewardSpent,
    /// Points given back, e.g. for a voided reward.
    Refund,
    /// A staff correction, with its reason in `note`.
    Adjustment,
}

pub struct PointsEntry(pub points_entry::Model);

/// One change of a user's points. Entries are never changed; a correction is a new entry.
#[Object]
impl PointsEntry {
    /// Opaque ID.
    pub async fn id(&self) -> ID {
        id::encode(ObjectKind::PointsEntry, self.0.id)
    }

    /// Signed: positive when earned or refunded, negative when spent or taken.
    async fn amount(&self) -> i32 {
        self.0.amount
    }

    /// Why.
    async fn kind(&self) -> PointsKind {
        self.0.kind.into()
    }

    /// What caused it, e.g. `COUPON_CLAIM`, `STAFF_ADJUSTMENT`.
    async fn source_type(&self) -> String {
        sea_orm::ActiveEnum::to_value(&self.0.source_type)
    }

    /// A note for the user, e.g. the reward's title or the staff member's reason.
    async fn note(&self) -> Option<&str> {
        self.0.note.as_deref()
    }

    /// When.
    async fn created_at(&self) -> DateTime {
        self.0.created_at.into()
    }
}

impl crate::graphql::eager::EagerObject for PointsEntry {
    const READY: &'static [&'static str] =
        &["id", "amount", "kind", "sourceType", "note", "createdAt"];
}

connection!(
    PointsEntryConnection,
    PointsEntryEdge,
    PointsEntry,
    "A page of points entries.",
    "An entry and its cursor."
);

/// A user's points: the balance (the sum of the entries, never negative) and what they earned
/// in all.
#[derive(MergedObject)]
pub struct PointsAccount(PointsTotals, PointsEntries);

impl PointsAccount {
    pub fn new(account: points_account::Model) -> PointsAccount {
        let account = Arc::new(account);
        PointsAccount(PointsTotals(account.clone()), PointsEntries(account))
    }
}

pub(crate) struct PointsTotals(Arc<points_account::Model>);

#[Object]
impl PointsTotals {
    /// Points available to spend.
    async fn balance(&self) -> i64 {
        self.0.balance
    }

    /// Points ever earned (spending and refunds do not change it).
    async fn lifetime_earned(&self) -> i64 {
        self.0.lifetime_earned
    }
}

pub(crate) struct PointsEntries(Arc<points_account::Model>);

connection_field! {
    impl PointsEntries {
        /// The entries, newest first by default.
        async fn entries(
            &self,
            ctx,
            page,
            #[graphql(desc = "By time posted; default `DESC` (newest first).")]
            direction: Option<OrderDirection>,
        ) -> PointsEntryConnection {
            let window = page.window(ctx)?;
            let order = domain::entry_order(direction.unwrap_or(OrderDirection::Desc).descending());
            let page = domain::entries(&ctx.state()?.db, self.0.user_id, order, window).await?;
            Ok(PointsEntryConnection::new(page, PointsEntry))
        }
    }
}

/// A staff correction of someone's points.
#[derive(InputObject)]
pub struct AdjustPointsInput {
    /// The user, of your street.
    pub user_id: ID,
    /// Non-zero, -10000 to 10000; cannot take the balance below zero.
    pub amount: i32,
    /// Why; shown to the user and kept in the audit log.
    pub reason: String,
    /// Send one to make retries safe: the same key posts once.
    pub idempotency_key: Option<String>,
}

/// What a merchant's points rewards did over a period.
#[derive(SimpleObject)]
#[graphql(complex)]
pub struct MerchantPointsReport {
    #[graphql(skip)]
    pub merchant_id: i64,
    /// Claims of points rewards made in the period.
    pub claimed: i64,
    /// Of those, redeemed.
    pub redeemed: i64,
    /// Points those claims collected (voided ones excluded).
    pub points_collected: i64,
}

#[async_graphql::ComplexObject]
impl MerchantPointsReport {
    /// The merchant.
    async fn merchant(&self, ctx: &Context<'_>) -> AppResult<Merchant> {
        ctx.loader()?
            .load_one(MerchantKey(self.merchant_id))
            .await?
            .map(Merchant::from)
            .ok_or(AppError::NotFound("merchant"))
    }
}

/// The period a leaderboard covers, by the calendar of the community's street (its `timeZone`).
#[derive(Enum, Copy, Clone, Eq, PartialEq)]
#[graphql(remote = "crate::domain::points::Period")]
pub enum LeaderboardPeriod {
    /// Since Monday.
    Week,
    /// Since the first of the month.
    Month,
    /// Since 1 January.
    Year,
    /// All time.
    All,
}

/// One line of a leaderboard.
#[derive(SimpleObject, Clone)]
pub struct LeaderboardEntry {
    /// 1 for the most points.
    pub rank: u64,
    /// The resident's name, masked (`陈*林`).
    pub display_name: String,
    /// Points earned in the period.
    pub points: i64,
}

/// Residents of a community ranked by points earned.
#[derive(SimpleObject)]
pub struct Leaderboard {
    /// The top of the board.
    pub entries: Vec<LeaderboardEntry>,
    /// The signed-in resident's own line, when they are on the board.
    pub my_rank: Option<LeaderboardEntry>,
}

#[derive(Default)]
pub(crate) struct PointsQuery;

#[Object]
impl PointsQuery {
    /// The signed-in user's points.
    async fn my_points(&self, ctx: &Context<'_>) -> AppResult<PointsAccount> {
        let viewer = ctx.viewer()?;
        Ok(PointsAccount::new(
            domain::account(&ctx.cx()?, viewer.user_id).await?,
        ))
    }

    /// A resident's points, for staff of the resident's street.
    async fn resident_points(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The resident.")] user_id: ID,
    ) -> AppResult<PointsAccount> {
        ctx.viewer()?;
        let id = id::decode(ObjectKind::User, "userId", &user_id)?;
        let cx = ctx.cx()?;
        domain::require_ledger_reader(&cx, id).await?;
        Ok(PointsAccount::new(domain::account(&cx, id).await?))
    }

    /// Claims, redemptions and points collected by points rewards claimed in `[from, to)`: for
    /// one merchant (its members, or staff of its street), or without `merchantId` for every
    /// merchant of the staff member's street.
    async fn points_reward_report(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "One merchant; omit for every merchant of your street (staff).")]
        merchant_id: Option<ID>,
        #[graphql(desc = "Start of the period (inclusive).")] from: DateTime,
        #[graphql(desc = "End of the period (exclusive).")] to: DateTime,
    ) -> AppResult<Vec<MerchantPointsReport>> {
        ctx.viewer()?;
        let merchant = merchant_id
            .map(|m| id::decode(ObjectKind::Merchant, "merchantId", &m))
            .transpose()?;
        let rows = report::reward_report(&ctx.cx()?, merchant, from.0, to.0).await?;
        Ok(rows
            .into_iter()
            .map(|r| MerchantPointsReport {
                merchant_id: r.merchant_id,
                claimed: r.claimed,
                redeemed: r.redeemed,
                points_collected: r.points_collected,
            })
            .collect())
    }

    /// Residents of a community ranked by points earned in the period; names masked, residents
    /// who opted out left off. Public; signed in, you also get your own rank.
    async fn points_leaderboard(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The community; default: your own.")] community_id: Option<ID>,
        #[graphql(
            desc = "Default: this month.",
            default_with = "LeaderboardPeriod::Month"
        )]
        period: LeaderboardPeriod,
        #[graphql(desc = "How many lines, 0 to 100 (default 10).")] first: Option<i32>,
    ) -> AppResult<Leaderboard> {
        let viewer = ctx.auth().viewer_opt();
        let community = match (community_id, viewer.and_then(|v| v.community_id)) {
            (Some(c), _) => id::decode(ObjectKind::Community, "communityId", &c)?,
            (None, Some(c)) => c,
            (None, None) => {
                return Err(AppError::bad_input(
                    "communityId",
                    Text::new("请指定社区", "Say which community"),
                ));
            }
        };
        let n = page_size("first", first, 10)?;
        let (lines, mine) = domain::leaderboard(&ctx.cx()?, community, period.into(), n).await?;
        let to_entry = |s: domain::Standing| LeaderboardEntry {
            rank: s.rank,
            display_name: s.display_name,
            points: s.points,
        };
        Ok(Leaderboard {
            entries: lines.into_iter().map(to_entry).collect(),
            my_rank: mine.map(to_entry),
        })
    }
}

#[derive(Default)]
pub(crate) struct PointsMutation;

#[Object]
impl PointsMutation {
    /// Staff of the user's street add or take points, with a reason (audited).
    async fn adjust_points(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Whose points, how many, why, and an optional idempotency key.")]
        input: AdjustPointsInput,
    ) -> AppResult<PointsEntry> {
        ctx.viewer()?;
        let user = id::decode(ObjectKind::User, "userId", &input.user_id)?;
        Ok(PointsEntry(
            domain::adjust(
                &ctx.cx()?,
                user,
                input.amount,
                &input.reason,
                input.idempotency_key.as_deref(),
            )
            .await?,
        ))
    }

    /// Keeps the signed-in user off the leaderboards (or puts them back).
    async fn set_leaderboard_opt_out(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "True to stay off the boards.")] opt_out: bool,
    ) -> AppResult<bool> {
        ctx.viewer()?;
        domain::set_opt_out(&ctx.cx()?, opt_out).await?;
        Ok(opt_out)
    }
}
