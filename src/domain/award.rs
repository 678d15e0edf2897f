//! Awards for good deeds (表彰): anyone signed in nominates a person (an account, or a name
//! and phone of someone who may have none) for a deed in a community; staff of that
//! community's street approve or reject it, never one they nominated or are nominated for.
//! Granting (a package, bonus points and the honour roll) builds on an approved award.

use chrono::NaiveDate;
use sea_orm::{ActiveModelTrait, ColumnTrait, EntityTrait, QueryFilter, QuerySelect, Set};

use entity::award::{self, AwardStatus};
use entity::benefit_package::{self, PackageStatus};
use entity::names::ObjectKind;
use entity::points_entry::{PointsKind, SourceType};
use entity::user;

use crate::clock::local_date;
use crate::domain::audit::AuditAction;
use crate::domain::context::Cx;
use crate::domain::events::EventKind;
use crate::domain::lifecycle::{self, Lifecycle, ReasonRule, Rule, Step};
use crate::domain::page::{self, Order, Page, SortValue, Window};
use crate::domain::points::{self, Posting, Source};
use crate::domain::policy::{self, AwardRights, Who};
use crate::domain::street;
use crate::domain::values::{DisplayName, Phone, bad, invalid_state, text_field};
use crate::error::{AppError, AppResult, Text};

/// A step of an award's lifecycle.
#[derive(Clone, Copy, Debug, PartialEq, Eq, sea_orm::EnumIter)]
pub enum AwardAction {
    /// Staff find the deed worthy.
    Approve,
    /// Staff do not (with a reason).
    Reject,
    /// Staff grant an approved award with a package and points.
    Grant,
}

impl Lifecycle for award::Entity {
    type State = AwardStatus;
    type Action = AwardAction;
    const KIND: ObjectKind = ObjectKind::Award;

    fn rules() -> &'static [Rule<AwardStatus, AwardAction>] {
        &[
            Rule {
                action: AwardAction::Approve,
                from: &[AwardStatus::Nominated],
                to: AwardStatus::Approved,
                who: Who::StreetStaff,
                reason: ReasonRule::Optional,
                audit: Some(AuditAction::AwardApprove),
                event: Some(EventKind::AwardApproved),
            },
            Rule {
                action: AwardAction::Grant,
                from: &[AwardStatus::Approved],
                to: AwardStatus::Granted,
                who: Who::StreetStaff,
                reason: ReasonRule::None,
                audit: Some(AuditAction::AwardGrant),
                event: Some(EventKind::AwardGranted),
            },
            Rule {
                action: AwardAction::Reject,
                from: &[AwardStatus::Nominated],
                to: AwardStatus::Rejected,
                who: Who::StreetStaff,
                reason: ReasonRule::Required,
                audit: Some(AuditAction::AwardReject),
                event: Some(EventKind::AwardRejected),
            },
        ]
    }

    fn id_column() -> award::Column {
        award::Column::Id
    }

    fn state_column() -> award::Column {
        award::Column::Status
    }

    fn reason_column() -> Option<award::Column> {
        Some(award::Column::StatusReason)
    }

    fn updated_at_column() -> Option<award::Column> {
        Some(award::Column::UpdatedAt)
    }
}

/// Who did the deed.
pub enum Nominee {
    /// An account (by its id).
    User(i64),
    /// Someone who may have no account: their name and number.
    Person { name: String, phone: String },
}

/// A nomination as the nominator writes it.
pub struct Nomination {
    pub nominee: Nominee,
    pub title: String,
    pub deed: String,
    pub happened_on: NaiveDate,
    pub community_id: i64,
    pub evidence: Option<String>,
}

/// Anyone signed in nominates someone else for a deed in a community.
pub async fn nominate(cx: &Cx<'_>, n: Nomination) -> AppResult<award::Model> {
    let viewer = cx.viewer()?;
    let title = text_field("title", &n.title, 1, 64, false)?;
    let deed = text_field("deed", &n.deed, 1, 2000, true)?;
    let evidence = n
        .evidence
        .as_deref()
        .map(|e| text_field("evidence", e, 0, 2000, true))
        .transpose()?
        .filter(|e| !e.is_empty());
    let community = street::joinable_community(cx, "communityId", n.community_id).await?;
    let today = local_date(
        cx.now(),
        street::time_zone(cx, Some(community.street_id)).await?,
    );
    if n.happened_on > today || chrono::Datelike::year(&n.happened_on) < 2000 {
        return Err(bad(
            "happenedOn",
            "日期应在 2000 年之后且不晚于今天",
            "happenedOn is from 2000 to today",
        ));
    }
    let me = user::Entity::find_by_id(viewer.user_id)
        .one(cx)
        .await?
        .ok_or(AppError::Unauthenticated)?;
    let (nominee_user, name, phone) = match n.nominee {
        Nominee::User(id) => {
            let u = user::Entity::find_by_id(id)
                .one(cx)
                .await?
                .filter(|u| !u.disabled)
                .ok_or_else(|| bad("nomineeId", "没有这位用户", "No such user"))?;
            (Some(u.id), u.display_name, None)
        }
        Nominee::Person { name, phone } => {
            let name = DisplayName::parse("nomineeName", &name)?.into_inner();
            let phone = Phone::parse("nomineePhone", &phone)?.into_inner();
            // A registered number is its account's: the grant goes there.
            let account = user::Entity::find()
                .filter(user::Column::Phone.eq(phone.as_str()))
                .filter(user::Column::Disabled.eq(false))
                .one(cx)
                .await?;
            (account.map(|u| u.id), name, Some(phone))
        }
    };
    policy::may_nominate(viewer, &me.phone, nominee_user, phone.as_deref())?;
    let tx = cx.write().await?;
    let row = award::ActiveModel {
        street_id: Set(community.street_id),
        community_id: Set(community.id),
        nominator_id: Set(viewer.user_id),
        nominee_user_id: Set(nominee_user),
        nominee_name: Set(name),
        nominee_phone: Set(phone),
        title: Set(title),
        deed: Set(deed),
        happened_on: Set(n.happened_on),
        evidence: Set(evidence),
        status: Set(AwardStatus::Nominated),
        status_reason: Set(None),
        created_at: Set(tx.now()),
        updated_at: Set(tx.now()),
        ..Default::default()
    }
    .insert(&tx)
    .await?;
    tx.commit().await?;
    Ok(row)
}

async fn find(cx: &Cx<'_>, id: i64) -> AppResult<award::Model> {
    award::Entity::find_by_id(id)
        .one(cx)
        .await?
        .ok_or(AppError::NotFound("award"))
}

/// The nominee's account: the one nominated, or the account of the number nominated, which
/// may have been made since.
async fn nominee_account(cx: &Cx<'_>, a: &award::Model) -> AppResult<Option<i64>> {
    if a.nominee_user_id.is_some() {
        return Ok(a.nominee_user_id);
    }
    let Some(phone) = &a.nominee_phone else {
        return Ok(None);
    };
    Ok(user::Entity::find()
        .filter(user::Column::Phone.eq(phone.as_str()))
        .filter(user::Column::Disabled.eq(false))
        .one(cx)
        .await?
        .map(|u| u.id))
}

/// The viewer's rights over an award, with its nominee as they are now: staff who have since
/// made an account with the nominated number are a party to it.
async fn rights(cx: &Cx<'_>, a: &award::Model) -> AppResult<AwardRights> {
    let nominee = nominee_account(cx, a).await?;
    Ok(AwardRights::of(
        cx.viewer_opt(),
        a.street_id,
        a.nominator_id,
        nominee,
    ))
}

/// Staff of the street approve or reject (with a reason) a nomination they are no party to.
/// Audited; the nominator hears of it.
pub async fn review(
    cx: &Cx<'_>,
    id: i64,
    action: AwardAction,
    reason: Option<&str>,
) -> AppResult<award::Model> {
    cx.viewer()?;
    let tx = cx.write().await?;
    let a = find(&tx, id).await?;
    let rights = rights(&tx, &a).await?;
    let step = Step::<award::Entity>::new(a.id, action)
        .street(a.street_id)
        .reason(reason)
        .concerning(a.nominator_id)
        .payload(serde_json::json!({ "title": a.title }));
    let a = lifecycle::apply(&tx, &rights, step).await?;
    tx.commit().await?;
    Ok(a)
}

/// Bonus points a grant may carry at most.
pub const MAX_BONUS_POINTS: i32 = 10_000;

/// Staff of the street (no party to it) grant an approved award with a `READY` package of the
/// street that has a copy left, and bonus points, in one transaction: the award is `GRANTED`,
/// a copy is used, the nominee gets one entitlement per item, the points are posted once
/// (`AWARD_BONUS`, source the award). A racing or retried grant finds it granted
/// (`INVALID_STATE`) and changes nothing. A nominee named by phone needs an account with that
/// number first.
pub async fn grant(
    cx: &Cx<'_>,
    id: i64,
    package_id: i64,
    bonus_points: i32,
) -> AppResult<award::Model> {
    cx.viewer()?;
    if !(0..=MAX_BONUS_POINTS).contains(&bonus_points) {
        return Err(bad(
            "bonusPoints",
            "奖励积分应在 0 到 10000 之间",
            "bonusPoints is from 0 to 10000",
        ));
    }
    let tx = cx.write().await?;
    let a = find(&tx, id).await?;
    let rights = rights(&tx, &a).await?;
    lifecycle::authorize::<award::Entity>(&rights, AwardAction::Grant)?;
    // Named by phone: their account, if they have made one since.
    let holder = nominee_account(&tx, &a).await?;
    let Some(holder) = holder else {
        return Err(AppError::InvalidState(Text::new(
            "被提名人还没有账号：请其先用提名时的手机号注册或登录",
            "The nominee has no account yet: they sign up with the nominated number first",
        )));
    };
    let package = benefit_package::Entity::find_by_id(package_id)
        .lock_exclusive()
        .one(&tx)
        .await?
        .filter(|p| p.street_id == a.street_id)
        .ok_or_else(|| bad("packageId", "没有这个礼包", "No such package"))?;
    if package.status != PackageStatus::Ready || package.granted_count >= package.copies {
        return Err(AppError::InvalidState(Text::new(
            "礼包尚未确认完毕，或已没有剩余份数",
            "The package is not ready, or has no copy left",
        )));
    }
    let step = Step::<award::Entity>::new(a.id, AwardAction::Grant)
        .street(a.street_id)
        .set(award::Column::PackageId, package.id)
        .set(award::Column::BonusPoints, bonus_points)
        .set(award::Column::GrantedAt, tx.now())
        .set(award::Column::NomineeUserId, holder)
        .concerning(holder)
        .concerning(a.nominator_id)
        .payload(serde_json::json!({ "title": a.title, "package": package.title }));
    let granted = lifecycle::apply(&tx, &rights, step).await?;
    // A copy is used: under the package's lock, and only while one is left.
    let used = benefit_package::Entity::update_many()
        .col_expr(
            benefit_package::Column::GrantedCount,
            sea_orm::sea_query::ExprTrait::add(
                sea_orm::sea_query::Expr::col(benefit_package::Column::GrantedCount),
                1,
            ),
        )
        .filter(benefit_package::Column::Id.eq(package.id))
        .filter(sea_orm::sea_query::ExprTrait::lt(
            sea_orm::sea_query::Expr::col(benefit_package::Column::GrantedCount),
            sea_orm::sea_query::Expr::col(benefit_package::Column::Copies),
        ))
        .exec(&tx)
        .await?;
    if used.rows_affected != 1 {
        return Err(invalid_state());
    }
    let items = crate::domain::package::items_of(&tx, &[package.id]).await?;
    // Entitlements nobody could redeem are not given.
    let providers: Vec<i64> = items.iter().map(|i| i.merchant_id).collect();
    let found = crate::domain::merchant::by_ids(&tx, &providers).await?;
    if found
        .iter()
        .any(|m| m.status != entity::merchant::MerchantStatus::Active)
    {
        return Err(AppError::InvalidState(Text::new(
            "礼包中有提供方已不是在册商户",
            "A provider of the package is no longer an active member",
        )));
    }
    crate::domain::entitlement::create_for_grant(&tx, &granted, &items, holder).await?;
    if bonus_points > 0 {
        points::post(
            &tx,
            Posting {
                user_id: holder,
                street_id: Some(a.street_id),
                amount: bonus_points,
                kind: PointsKind::AwardBonus,
                source: Source::new(SourceType::Award, a.id),
                note: Some(a.title.clone()),
            },
        )
        .await?;
    }
    tx.commit().await?;
    Ok(granted)
}

/// An award, for staff of its street and its nominator.
pub async fn get(cx: &Cx<'_>, id: i64) -> AppResult<award::Model> {
    cx.viewer()?;
    let a = find(cx, id).await?;
    rights(cx, &a).await?.require_read()?;
    Ok(a)
}

/// Staff: the awards of their street; anyone else: their own nominations. Newest first unless
/// asked otherwise.
pub async fn list(
    cx: &Cx<'_>,
    status: Option<AwardStatus>,
    descending: bool,
    window: Window,
) -> AppResult<Page<award::Model>> {
    let viewer = cx.viewer()?;
    let mut q = award::Entity::find();
    q = match viewer.street_id.filter(|s| policy::is_staff_of(viewer, *s)) {
        Some(street_id) => q.filter(award::Column::StreetId.eq(street_id)),
        None => q.filter(award::Column::NominatorId.eq(viewer.user_id)),
    };
    if let Some(s) = status {
        q = q.filter(award::Column::Status.eq(s));
    }
    let order = Order {
        field: "createdAt",
        column: award::Column::Id,
        id: award::Column::Id,
        descending,
        key: |a: &award::Model| (SortValue::Int(a.id), a.id),
    };
    page::fetch(cx, q, order, window).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_step_has_one_rule() {
        lifecycle::check_table::<award::Entity>();
    }
}
