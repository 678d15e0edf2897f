//! Merchant membership: application, staff review, suspension, the owner's profile and clerks,
//! and who may see which merchant.

use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, PaginatorTrait, QueryFilter,
    QueryOrder, Set,
};

use entity::merchant::{self, MerchantStatus};
use entity::merchant_member::{self, MemberRole};
use entity::names::ObjectKind;
use entity::user;
use entity::user_role::{self, Role};

use crate::auth::Viewer;
use crate::db::OrConflict;
use crate::domain::account::grant_role;
use crate::domain::audit::AuditAction;
use crate::domain::context::Cx;
use crate::domain::events::{self, Event, EventKind};
use crate::domain::lifecycle::{self, Lifecycle, NoteRule, RoleChange, Rule, Step};
use crate::domain::page::{self, KeyOf, Order, Page, SortValue, Window};
use crate::domain::policy::{self, MerchantRights, Who};
use crate::domain::street;
use crate::domain::values::{Phone, keyword_condition, text_field};
use crate::error::{AppError, AppResult, Text};

// The members list read most: by position, only the columns a selection needs.
crate::rows::positional!(
    merchant::Entity,
    merchant::Model {
        id: Id,
        street_id: StreetId,
        community_id: CommunityId,
        owner_user_id: OwnerUserId,
        name: Name,
        category: Category,
        address: Address,
        contact_phone: ContactPhone,
        licence_no: LicenceNo,
        description: Description,
        status: Status,
        status_reason: StatusReason,
        created_at: CreatedAt,
        updated_at: UpdatedAt,
    }
);

crate::rows::string_enum_cells!(merchant::MerchantStatus);

/// The kinds of member the seeds name; clients show them as filters.
pub const CATEGORIES: [&str; 14] = [
    "CANTEEN",
    "SUPERMARKET",
    "RESTAURANT",
    "HOSPITAL",
    "CLINIC",
    "PHARMACY",
    "BARBER",
    "SHOPPING_MALL",
    "RETAIL",
    "SERVICE",
    "EDUCATION",
    "ENTERPRISE",
    "PROPERTY_COMPANY",
    "OTHER",
];

fn category(raw: &str) -> AppResult<String> {
    let c = raw.trim().to_ascii_uppercase();
    if CATEGORIES.contains(&c.as_str()) {
        Ok(c)
    } else {
        Err(AppError::bad_input(
            "category",
            Text::new("未知的商户类别", "Unknown merchant category"),
        ))
    }
}

fn licence(raw: &str) -> AppResult<String> {
    let l = raw.trim().to_ascii_uppercase();
    let ok =
        (4..=32).contains(&l.len()) && l.chars().all(|c| c.is_ascii_alphanumeric() || c == '-');
    if ok {
        Ok(l)
    } else {
        Err(AppError::bad_input(
            "licenceNo",
            Text::new(
                "营业执照号应为 4 到 32 位字母、数字或连字符",
                "A licence number has 4 to 32 letters, digits or hyphens",
            ),
        ))
    }
}

pub struct MerchantProfile {
    pub name: String,
    pub category: String,
    pub address: String,
    pub contact_phone: String,
    pub description: String,
}

struct CheckedProfile {
    name: String,
    category: String,
    address: String,
    contact_phone: String,
    description: String,
}

impl MerchantProfile {
    fn check(self) -> AppResult<CheckedProfile> {
        Ok(CheckedProfile {
            name: text_field("name", &self.name, 1, 64, false)?,
            category: category(&self.category)?,
            address: text_field("address", &self.address, 1, 200, false)?,
            contact_phone: Phone::parse("contactPhone", &self.contact_phone)?.into_inner(),
            description: text_field("description", &self.description, 0, 1000, true)?,
        })
    }
}

pub struct Application {
    pub profile: MerchantProfile,
    pub licence_no: String,
    pub community_id: i64,
}

/// A signed-in user applies; the merchant waits for staff of the community's street.
pub async fn apply(cx: &Cx<'_>, app: Application) -> AppResult<merchant::Model> {
    let viewer = cx.viewer()?;
    let profile = app.profile.check()?;
    let licence_no = licence(&app.licence_no)?;
    let community = street::joinable_community(cx, "communityId", app.community_id).await?;
    let now = cx.now();
    let txn = cx.write().await?;
    let merchant = merchant::ActiveModel {
        street_id: Set(community.street_id),
        community_id: Set(Some(community.id)),
        owner_user_id: Set(viewer.user_id),
        name: Set(profile.name),
        category: Set(profile.category),
        address: Set(profile.address),
        contact_phone: Set(profile.contact_phone),
        licence_no: Set(licence_no),
        description: Set(profile.description),
        status: Set(MerchantStatus::Pending),
        status_reason: Set(None),
        created_at: Set(now),
        updated_at: Set(now),
        ..Default::default()
    }
    .insert(&txn)
    .await
    .or_conflict(|| AppError::Conflict {
        field: "licenceNo".into(),
        text: Text::new(
            "该营业执照号已在本街道申请过",
            "A merchant with this licence number already applied in this street",
        ),
    })?;
    merchant_member::ActiveModel {
        merchant_id: Set(merchant.id),
        user_id: Set(viewer.user_id),
        role: Set(MemberRole::Owner),
        created_at: Set(now),
    }
    .insert(&txn)
    .await?;
    let waiting = Event::new(
        EventKind::MerchantApplied,
        ObjectKind::Merchant,
        merchant.id,
    )
    .payload(serde_json::json!({ "name": merchant.name }));
    events::tell_street_staff(&txn, merchant.street_id, waiting).await?;
    txn.commit().await?;
    Ok(merchant)
}

/// A staff decision on a merchant.
#[derive(Clone, Copy, Debug, PartialEq, Eq, sea_orm::EnumIter)]
pub enum Decision {
    Approve,
    Reject,
    Suspend,
    Reinstate,
}

impl Lifecycle for merchant::Entity {
    type State = MerchantStatus;
    type Action = Decision;
    const KIND: ObjectKind = ObjectKind::Merchant;

    fn rules() -> &'static [Rule<MerchantStatus, Decision>] {
        use MerchantStatus::{Active, Pending, Rejected, Suspended};
        &[
            Rule {
                action: Decision::Approve,
                from: &[Pending],
                to: Active,
                who: Who::StreetStaff,
                note: NoteRule::Optional,
                audit: Some(AuditAction::MerchantApprove),
                event: Some(EventKind::MerchantApproved),
            },
            Rule {
                action: Decision::Reject,
                from: &[Pending],
                to: Rejected,
                who: Who::StreetStaff,
                note: NoteRule::Required,
                audit: Some(AuditAction::MerchantReject),
                event: Some(EventKind::MerchantRejected),
            },
            Rule {
                action: Decision::Suspend,
                from: &[Active],
                to: Suspended,
                who: Who::StreetStaff,
                note: NoteRule::Required,
                audit: Some(AuditAction::MerchantSuspend),
                event: Some(EventKind::MerchantSuspended),
            },
            Rule {
                action: Decision::Reinstate,
                from: &[Suspended],
                to: Active,
                who: Who::StreetStaff,
                note: NoteRule::Required,
                audit: Some(AuditAction::MerchantReinstate),
                event: Some(EventKind::MerchantReinstated),
            },
        ]
    }

    fn id_column() -> merchant::Column {
        merchant::Column::Id
    }

    fn state_column() -> merchant::Column {
        merchant::Column::Status
    }

    fn reason_column() -> Option<merchant::Column> {
        Some(merchant::Column::StatusReason)
    }

    fn updated_at_column() -> Option<merchant::Column> {
        Some(merchant::Column::UpdatedAt)
    }
}

/// Staff of the merchant's street decide. Approval gives the owner the `MERCHANT` role; a
/// reason is required for everything but approval. Two staff deciding at once: one wins, the
/// other gets `INVALID_STATE`.
pub async fn decide(
    cx: &Cx<'_>,
    merchant_id: i64,
    decision: Decision,
    reason: Option<&str>,
) -> AppResult<merchant::Model> {
    let viewer = cx.viewer()?;
    lifecycle::reason_for::<merchant::Entity>(decision, reason)?;
    let tx = cx.write().await?;
    let m = find(&tx, merchant_id).await?;
    let rights = rights(&tx, Some(viewer), m.street_id, m.id).await?;
    let step = Step::<merchant::Entity>::new(m.id, decision)
        .street(m.street_id)
        .reason(reason)
        .concerning(m.owner_user_id)
        .payload(serde_json::json!({ "name": m.name }));
    let decided = lifecycle::apply(&tx, &rights, step).await?;
    if decision == Decision::Approve {
        grant_role(&tx, m.owner_user_id, Role::Merchant).await?;
    }
    tx.commit().await?;
    Ok(decided)
}

/// The merchant, or `NOT_FOUND`.
pub async fn find(conn: &impl ConnectionTrait, id: i64) -> AppResult<merchant::Model> {
    merchant::Entity::find_by_id(id)
        .one(conn)
        .await?
        .ok_or(AppError::NotFound("merchant"))
}

/// The viewer's rights over a merchant's affairs, from their membership of it.
pub async fn rights(
    conn: &impl ConnectionTrait,
    viewer: Option<&Viewer>,
    street_id: i64,
    merchant_id: i64,
) -> AppResult<MerchantRights> {
    let membership = match viewer {
        Some(v) => membership(conn, merchant_id, v.user_id).await?,
        None => None,
    };
    Ok(MerchantRights::of(viewer, street_id, membership))
}

pub async fn membership(
    conn: &impl ConnectionTrait,
    merchant_id: i64,
    user_id: i64,
) -> AppResult<Option<MemberRole>> {
    Ok(merchant_member::Entity::find_by_id((merchant_id, user_id))
        .one(conn)
        .await?
        .map(|m| m.role))
}

/// Loads a merchant and the viewer's rights over it.
async fn with_rights(
    cx: &Cx<'_>,
    merchant_id: i64,
) -> AppResult<(merchant::Model, MerchantRights)> {
    let m = find(cx, merchant_id).await?;
    let rights = rights(cx, cx.viewer_opt(), m.street_id, m.id).await?;
    Ok((m, rights))
}

/// The owner edits the profile (not the licence or the community, which staff reviewed).
pub async fn update_profile(
    cx: &Cx<'_>,
    merchant_id: i64,
    profile: MerchantProfile,
) -> AppResult<merchant::Model> {
    cx.viewer()?;
    let profile = profile.check()?;
    let txn = cx.write().await?;
    let (m, rights) = with_rights(&txn, merchant_id).await?;
    rights.require(Who::Owner)?;
    let mut am: merchant::ActiveModel = m.into();
    am.name = Set(profile.name);
    am.category = Set(profile.category);
    am.address = Set(profile.address);
    am.contact_phone = Set(profile.contact_phone);
    am.description = Set(profile.description);
    am.updated_at = Set(txn.now());
    let m = am.update(&txn).await?;
    txn.commit().await?;
    Ok(m)
}

/// The owner removes a clerk; a user who is no longer a member anywhere loses `MERCHANT`.
pub async fn remove_clerk(cx: &Cx<'_>, merchant_id: i64, clerk_id: i64) -> AppResult<()> {
    cx.viewer()?;
    let txn = cx.write().await?;
    let (m, rights) = with_rights(&txn, merchant_id).await?;
    rights.require(Who::Owner)?;
    let removed = merchant_member::Entity::delete_many()
        .filter(merchant_member::Column::MerchantId.eq(merchant_id))
        .filter(merchant_member::Column::UserId.eq(clerk_id))
        .filter(merchant_member::Column::Role.eq(MemberRole::Clerk))
        .exec(&txn)
        .await?;
    if removed.rows_affected == 0 {
        return Err(AppError::NotFound("clerk"));
    }
    let still_member = merchant_member::Entity::find()
        .filter(merchant_member::Column::UserId.eq(clerk_id))
        .count(&txn)
        .await?
        > 0;
    if !still_member {
        user_role::Entity::delete_many()
            .filter(user_role::Column::UserId.eq(clerk_id))
            .filter(user_role::Column::Role.eq(Role::Merchant))
            .exec(&txn)
            .await?;
    }
    let change = RoleChange::new(
        Some(m.street_id),
        ObjectKind::User,
        clerk_id,
        AuditAction::ClerkRemove,
    )
    .change(
        serde_json::json!({ "merchantId": m.id, "role": "CLERK" }),
        serde_json::Value::Null,
    )
    .tell(
        EventKind::ClerkRemoved,
        vec![clerk_id],
        serde_json::json!({ "merchantId": m.id, "name": m.name }),
    );
    lifecycle::record_role_change(&txn, change).await?;
    txn.commit().await?;
    Ok(())
}

#[derive(Default)]
pub struct MerchantFilter {
    pub category: Option<String>,
    pub community_id: Option<i64>,
    pub street_id: Option<i64>,
    pub status: Option<MerchantStatus>,
    pub keyword: Option<String>,
}

/// What merchants can be ordered by (the id breaks ties).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MerchantSort {
    /// When they applied.
    CreatedAt,
    Name,
}

impl MerchantSort {
    pub fn order(self, descending: bool) -> Order<merchant::Entity> {
        let (field, column, key): (_, _, KeyOf<merchant::Model>) = match self {
            MerchantSort::CreatedAt => ("CREATED_AT", merchant::Column::CreatedAt, |m| {
                (SortValue::Time(m.created_at), m.id)
            }),
            MerchantSort::Name => ("NAME", merchant::Column::Name, |m| {
                (SortValue::Text(m.name.clone()), m.id)
            }),
        };
        Order {
            field,
            column,
            id: merchant::Column::Id,
            descending,
            key,
        }
    }
}

pub async fn list(
    cx: &Cx<'_>,
    filter: MerchantFilter,
    order: Order<merchant::Entity>,
    window: Window,
) -> AppResult<Page<crate::rows::Partial<merchant::Model>>> {
    let mut q = merchant::Entity::find().filter(policy::visible_merchants(cx.viewer_opt()));
    if let Some(c) = filter.category {
        q = q.filter(merchant::Column::Category.eq(category(&c)?));
    }
    if let Some(c) = filter.community_id {
        q = q.filter(merchant::Column::CommunityId.eq(c));
    }
    if let Some(s) = filter.street_id {
        q = q.filter(merchant::Column::StreetId.eq(s));
    }
    if let Some(s) = filter.status {
        q = q.filter(merchant::Column::Status.eq(s));
    }
    if let Some(found) = keyword_condition(
        "keyword",
        filter.keyword.as_deref(),
        &[merchant::Column::Name, merchant::Column::Description],
    )? {
        q = q.filter(found);
    }
    page::fetch_positional(cx, q, order, window).await
}

/// One merchant: `FORBIDDEN` when it exists but the viewer may not see it.
pub async fn get(cx: &Cx<'_>, id: i64) -> AppResult<merchant::Model> {
    let (m, rights) = with_rights(cx, id).await?;
    if policy::merchant_visible(m.status, &rights) {
        Ok(m)
    } else {
        Err(AppError::Forbidden)
    }
}

pub async fn by_ids(
    conn: &impl crate::rows::Reads,
    ids: &[i64],
) -> AppResult<Vec<merchant::Model>> {
    Ok(crate::rows::all(
        conn,
        merchant::Entity::find().filter(merchant::Column::Id.is_in(ids.iter().copied())),
    )
    .await?)
}

/// The merchants a user belongs to, with the role.
pub async fn memberships_of(
    conn: &impl ConnectionTrait,
    user_id: i64,
) -> AppResult<Vec<merchant_member::Model>> {
    Ok(merchant_member::Entity::find()
        .filter(merchant_member::Column::UserId.eq(user_id))
        .all(conn)
        .await?)
}

/// One of a merchant's owner and clerks, with their account.
#[derive(Clone, Debug)]
pub struct Member {
    pub merchant_id: i64,
    pub role: MemberRole,
    pub user: crate::domain::account::UserView,
}

/// The owners and clerks of merchants, oldest first, in three statements however many
/// merchants and members, for the batch loader. Who may see them is the caller's to check
/// ([`MerchantRights::require_member_list`]).
pub async fn members_of(
    conn: &impl ConnectionTrait,
    merchant_ids: &[i64],
) -> AppResult<Vec<Member>> {
    let rows = merchant_member::Entity::find()
        .filter(merchant_member::Column::MerchantId.is_in(merchant_ids.iter().copied()))
        .order_by_asc(merchant_member::Column::CreatedAt)
        .order_by_asc(merchant_member::Column::UserId)
        .find_also_related(user::Entity)
        .all(conn)
        .await?;
    let (members, users): (Vec<_>, Vec<_>) = rows
        .into_iter()
        .filter_map(|(member, u)| u.map(|u| (member, u)))
        .unzip();
    let views = crate::domain::account::load_views(conn, users).await?;
    Ok(members
        .into_iter()
        .zip(views)
        .map(|(m, user)| Member {
            merchant_id: m.merchant_id,
            role: m.role,
            user,
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_decision_has_one_rule() {
        lifecycle::check_table::<merchant::Entity>();
    }
}
