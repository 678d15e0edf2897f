//! Awards for good deeds (表彰): anyone signed in nominates a person (an account, or a name
//! and phone of someone who may have none) for a deed in a community; staff of that
//! community's street approve or reject it, never one they nominated or are nominated for.
//! Granting (a package, bonus points and the honour roll) builds on an approved award. A
//! grant for someone without an account is held for their number until they claim it with
//! the code on their certificate; the public honour roll names nominees only with consent.

use chrono::NaiveDate;
use sea_orm::{ActiveModelTrait, ColumnTrait, EntityTrait, QueryFilter, QuerySelect, Set};

use entity::award::{self, AwardStatus};
use entity::benefit_package::{self, PackageStatus};
use entity::names::ObjectKind;
use entity::points_entry::{PointsKind, SourceType};
use entity::{entitlement, user};

use crate::clock::local_date;
use crate::domain::audit::{self, AuditAction, AuditRecord};
use crate::domain::codes::{new_code, normalize_code};
use crate::domain::context::Cx;
use crate::domain::events::{self, Event, EventKind};
use crate::domain::lifecycle::{self, Lifecycle, NoteRule, Outcome, Rule, Step};
use crate::domain::page::{self, Order, Page, SortValue, Window};
use crate::domain::points::{self, Posting, Source};
use crate::domain::policy::{self, AwardRights, Who};
use crate::domain::street;
use crate::domain::values::{DisplayName, Phone, bad, invalid_state, mask_name, text_field};
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
    /// The nominee claims a grant held for their number, with the code on their certificate:
    /// the award stays granted, and what it gives becomes theirs.
    Claim,
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
                note: NoteRule::Optional,
                audit: Some(AuditAction::AwardApprove),
                event: Some(EventKind::AwardApproved),
            },
            Rule {
                action: AwardAction::Grant,
                from: &[AwardStatus::Approved],
                to: AwardStatus::Granted,
                who: Who::StreetStaff,
                note: NoteRule::None,
                audit: Some(AuditAction::AwardGrant),
                event: Some(EventKind::AwardGranted),
            },
            Rule {
                action: AwardAction::Reject,
                from: &[AwardStatus::Nominated],
                to: AwardStatus::Rejected,
                who: Who::StreetStaff,
                note: NoteRule::Required,
                audit: Some(AuditAction::AwardReject),
                event: Some(EventKind::AwardRejected),
            },
            Rule {
                action: AwardAction::Claim,
                from: &[AwardStatus::Granted],
                to: AwardStatus::Granted,
                who: Who::Nominee,
                note: NoteRule::None,
                audit: Some(AuditAction::AwardClaim),
                event: Some(EventKind::AwardClaimed),
            },
        ]
    }

    fn steps_within_a_state() -> &'static [AwardAction] {
        &[AwardAction::Claim]
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
            // A number its account has proven is that account's: the grant goes there.
            let account = user::Entity::find()
                .filter(user::Column::Phone.eq(phone.as_str()))
                .filter(user::Column::Disabled.eq(false))
                .filter(user::Column::PhoneVerifiedAt.is_not_null())
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
    let waiting = Event::new(EventKind::AwardNominated, ObjectKind::Award, row.id)
        .payload(serde_json::json!({ "title": row.title }));
    events::tell_street_staff(&tx, row.street_id, waiting).await?;
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
/// A closed account is nobody's. With `proven`, a number counts only for an account that has
/// proven it holds it by SMS: a grant goes to no one who merely typed the number in.
async fn nominee_account(cx: &Cx<'_>, a: &award::Model, proven: bool) -> AppResult<Option<i64>> {
    let q = match (a.nominee_user_id, &a.nominee_phone) {
        (Some(id), _) => user::Entity::find_by_id(id),
        (None, Some(phone)) => {
            let q = user::Entity::find().filter(user::Column::Phone.eq(phone.as_str()));
            if proven {
                q.filter(user::Column::PhoneVerifiedAt.is_not_null())
            } else {
                q
            }
        }
        (None, None) => return Ok(None),
    };
    Ok(q.filter(user::Column::Disabled.eq(false))
        .one(cx)
        .await?
        .map(|u| u.id))
}

/// The viewer's rights over an award, with its nominee as they are now: staff who have since
/// made an account with the nominated number are a party to it.
async fn rights(cx: &Cx<'_>, a: &award::Model) -> AppResult<AwardRights> {
    let nominee = nominee_account(cx, a, false).await?;
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

/// What the keyed digest of a claim code is computed under.
const CLAIM_SUBJECT: &str = "award-claim";

/// A grant as staff see it at once: the award and, for a nominee without an account, the
/// one-time code for their certificate (shown this once; only its digest is kept).
pub struct Granted {
    pub award: award::Model,
    pub claim_code: Option<String>,
}

/// Staff of the street (no party to it) grant an approved award with a `READY` package of the
/// street that has a copy left, and bonus points, in one transaction: the award is `GRANTED`
/// (and so on the honour roll), a copy is used, and the nominee gets one entitlement per item
/// and the points, posted once (`AWARD_BONUS`, source the award). A nominee named by a number
/// that has no account has them held: the answer carries the claim code for
/// [`claim`]. A racing or retried grant finds it granted (`INVALID_STATE`) and changes
/// nothing.
pub async fn grant(cx: &Cx<'_>, id: i64, package_id: i64, bonus_points: i32) -> AppResult<Granted> {
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
    // Named by phone: their account, if they have made one since and proven the number.
    let holder = nominee_account(&tx, &a, true).await?;
    if holder.is_none() && a.nominee_phone.is_none() {
        return Err(AppError::InvalidState(Text::new(
            "受表彰人的账号已注销",
            "The nominee's account is closed",
        )));
    }
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
    let mut step = Step::<award::Entity>::new(a.id, AwardAction::Grant)
        .street(a.street_id)
        .set(award::Column::PackageId, package.id)
        .set(award::Column::BonusPoints, bonus_points)
        .set(award::Column::GrantedAt, tx.now())
        .concerning(a.nominator_id)
        .payload(serde_json::json!({ "title": a.title, "package": package.title }));
    let claim_code = match holder {
        Some(holder) => {
            step = step
                .set(award::Column::NomineeUserId, holder)
                .concerning(holder);
            None
        }
        None => {
            let code = new_code();
            let digest = cx.state().tokens.code_digest(CLAIM_SUBJECT, &code);
            step = step.set(award::Column::ClaimCodeDigest, digest);
            Some(code)
        }
    };
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
    if let Some(holder) = holder {
        deliver(&tx, &granted, &items, holder).await?;
    }
    tx.commit().await?;
    Ok(Granted {
        award: granted,
        claim_code,
    })
}

/// What a grant gives its holder: one entitlement per item, valid from the grant, and the
/// bonus points, posted once whoever calls.
async fn deliver(
    cx: &Cx<'_>,
    granted: &award::Model,
    items: &[entity::package_item::Model],
    holder: i64,
) -> AppResult<Vec<entitlement::Model>> {
    let from = granted.granted_at.unwrap_or_else(|| cx.now());
    let given =
        crate::domain::entitlement::create_for_grant(cx, granted, items, holder, from).await?;
    let bonus = granted.bonus_points.unwrap_or(0);
    if bonus > 0 {
        points::post(
            cx,
            Posting {
                user_id: holder,
                street_id: Some(granted.street_id),
                amount: bonus,
                kind: PointsKind::AwardBonus,
                source: Source::new(SourceType::Award, granted.id),
                note: Some(granted.title.clone()),
            },
        )
        .await?;
    }
    Ok(given)
}

/// Staff of the street (no party to it) replace the claim code of a grant still held for its
/// nominee, when the certificate is lost or its code was never seen: the old code stops
/// working. Audited.
pub async fn reissue_claim_code(cx: &Cx<'_>, id: i64) -> AppResult<Granted> {
    cx.viewer()?;
    let tx = cx.write().await?;
    let a = award::Entity::find_by_id(id)
        .lock_exclusive()
        .one(&tx)
        .await?
        .ok_or(AppError::NotFound("award"))?;
    lifecycle::Grants::require(&rights(&tx, &a).await?, Who::StreetStaff)?;
    if a.claim_code_digest.is_none() || a.claimed_at.is_some() || a.nominee_phone.is_none() {
        return Err(AppError::InvalidState(Text::new(
            "这份奖励没有待领取的领取码",
            "This award has no grant waiting to be claimed",
        )));
    }
    let code = new_code();
    let mut am: award::ActiveModel = a.into();
    am.claim_code_digest = Set(Some(cx.state().tokens.code_digest(CLAIM_SUBJECT, &code)));
    am.updated_at = Set(tx.now());
    let a = am.update(&tx).await?;
    audit::record(
        &tx,
        AuditRecord::of(
            Some(a.street_id),
            AuditAction::AwardReissueCode,
            ObjectKind::Award,
            a.id,
        ),
    )
    .await?;
    tx.commit().await?;
    Ok(Granted {
        award: a,
        claim_code: Some(code),
    })
}

/// A held grant that its nominee has claimed.
pub struct Claimed {
    pub award: award::Model,
    pub entitlements: Vec<entitlement::Model>,
}

/// The nominee of a grant held for their number, signed in with that number, claims it with
/// the code on their certificate: the entitlements and points become theirs, once. A code
/// nobody was given is `BAD_USER_INPUT`; another number is `FORBIDDEN`; a used code is
/// `INVALID_STATE`. None of them changes anything.
pub async fn claim(cx: &Cx<'_>, raw_code: &str) -> AppResult<Claimed> {
    let viewer = cx.viewer()?;
    let unknown = || bad("code", "领取码不正确", "No grant has this claim code");
    let code = normalize_code(raw_code, "").ok_or_else(unknown)?;
    let digest = cx.state().tokens.code_digest(CLAIM_SUBJECT, &code);
    let tx = cx.write().await?;
    let a = award::Entity::find()
        .filter(award::Column::ClaimCodeDigest.eq(digest))
        .lock_exclusive()
        .one(&tx)
        .await?
        .ok_or_else(unknown)?;
    let me = user::Entity::find_by_id(viewer.user_id)
        .one(&tx)
        .await?
        .filter(|u| !u.disabled)
        .ok_or(AppError::Unauthenticated)?;
    // Only its nominee learns whether a code has been used.
    let rights = AwardRights::of(Some(viewer), a.street_id, a.nominator_id, a.nominee_user_id)
        .holding(a.nominee_phone.as_deref(), &me.phone);
    lifecycle::authorize::<award::Entity>(&rights, AwardAction::Claim)?;
    let claimed =
        || AppError::InvalidState(Text::new("这份奖励已经领取", "This grant has been claimed"));
    // Only one claim takes the hold, whatever races.
    let step = Step::<award::Entity>::new(a.id, AwardAction::Claim)
        .street(a.street_id)
        .only_if(award::Column::ClaimedAt.is_null())
        .set(award::Column::NomineeUserId, me.id)
        .set(award::Column::ClaimedAt, tx.now())
        .concerning(me.id)
        .concerning(a.nominator_id)
        .payload(serde_json::json!({ "title": a.title }));
    let a = match lifecycle::try_apply(&tx, &rights, step).await? {
        Outcome::Done(a) => a,
        Outcome::NotInState => return Err(claimed()),
    };
    let package_id = a.package_id.ok_or_else(invalid_state)?;
    let items = crate::domain::package::items_of(&tx, &[package_id]).await?;
    let entitlements = deliver(&tx, &a, &items, me.id).await?;
    tx.commit().await?;
    Ok(Claimed {
        award: a,
        entitlements,
    })
}

/// An entry of the public honour roll: a granted award, and the name its nominee chose for
/// their account when they agreed to be named there.
pub struct RollEntry {
    pub award: award::Model,
    pub consented_name: Option<String>,
}

impl RollEntry {
    /// The nominee's name as the public sees it: their own with their consent, else the
    /// nominated name masked (`陈*林`).
    pub fn public_name(&self) -> String {
        match &self.consented_name {
            Some(name) => name.clone(),
            None => mask_name(&self.award.nominee_name),
        }
    }
}

/// The public honour roll of a street: its granted awards, by when they were granted.
pub async fn honour_roll(
    cx: &Cx<'_>,
    street_id: i64,
    descending: bool,
    window: Window,
) -> AppResult<Page<RollEntry>> {
    street::get(cx, street_id)
        .await?
        .ok_or(AppError::NotFound("street"))?;
    let q = award::Entity::find()
        .filter(award::Column::StreetId.eq(street_id))
        .filter(award::Column::Status.eq(AwardStatus::Granted));
    let order = Order {
        field: "grantedAt",
        column: award::Column::GrantedAt,
        id: award::Column::Id,
        descending,
        key: |a: &award::Model| (SortValue::Time(a.granted_at.unwrap_or(a.created_at)), a.id),
    };
    let page = page::fetch(cx, q, order, window).await?;
    let nominees: Vec<i64> = page
        .rows
        .iter()
        .filter_map(|(_, a)| a.nominee_user_id)
        .collect();
    let consenting: Vec<(i64, String)> = if nominees.is_empty() {
        Vec::new()
    } else {
        user::Entity::find()
            .select_only()
            .column(user::Column::Id)
            .column(user::Column::DisplayName)
            .filter(user::Column::Id.is_in(nominees))
            .filter(user::Column::HonourRollConsent.eq(true))
            .filter(user::Column::Disabled.eq(false))
            .into_tuple()
            .all(cx)
            .await?
    };
    Ok(page.map(|award| RollEntry {
        consented_name: consenting
            .iter()
            .find(|(id, _)| Some(*id) == award.nominee_user_id)
            .map(|(_, name)| name.clone()),
        award,
    }))
}

/// An award, for staff of its street and its nominator.
pub async fn get(cx: &Cx<'_>, id: i64) -> AppResult<award::Model> {
    cx.viewer()?;
    let a = find(cx, id).await?;
    rights(cx, &a).await?.require_read()?;
    Ok(a)
}

/// Someone who leaves is forgotten in the awards they are the nominee of: the name is kept
/// masked, the number not at all (a grant still held for it can no longer be claimed).
pub(crate) async fn forget_nominee(cx: &Cx<'_>, user_id: i64, phone: &str) -> AppResult<()> {
    use sea_orm::Condition;
    let theirs = award::Entity::find()
        .filter(
            Condition::any()
                .add(award::Column::NomineeUserId.eq(user_id))
                .add(award::Column::NomineePhone.eq(phone)),
        )
        .all(cx)
        .await?;
    for a in theirs {
        let masked = mask_name(&a.nominee_name);
        let mut am: award::ActiveModel = a.into();
        am.nominee_name = Set(masked);
        am.nominee_phone = Set(None);
        am.updated_at = Set(cx.now());
        am.update(cx).await?;
    }
    Ok(())
}

/// Which awards a list shows.
#[derive(Default)]
pub struct AwardFilter {
    pub status: Option<AwardStatus>,
    pub community_id: Option<i64>,
    /// Only those the viewer nominated.
    pub nominated_by_me: bool,
}

/// Staff: the awards of their street; anyone else: their own nominations. By when they were
/// nominated.
pub async fn list(
    cx: &Cx<'_>,
    filter: AwardFilter,
    descending: bool,
    window: Window,
) -> AppResult<Page<award::Model>> {
    let viewer = cx.viewer()?;
    let mut q = award::Entity::find().filter(policy::listed_awards(viewer, filter.nominated_by_me));
    if let Some(s) = filter.status {
        q = q.filter(award::Column::Status.eq(s));
    }
    if let Some(c) = filter.community_id {
        q = q.filter(award::Column::CommunityId.eq(c));
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
