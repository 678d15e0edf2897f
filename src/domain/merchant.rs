//! Merchant membership: application, staff review, suspension, the owner's profile and clerks,
//! and who may see which merchant.

use chrono::Utc;
use sea_orm::sea_query::{Expr, LikeExpr, Query};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, Condition, ConnectionTrait, DatabaseConnection, EntityTrait,
    PaginatorTrait, QueryFilter, QueryOrder, Set,
};

use entity::merchant::{self, MerchantStatus};
use entity::merchant_member::{self, MemberRole};
use entity::user;
use entity::user_role::{self, Role};

use crate::auth::Viewer;
use crate::db::{begin_write, is_unique_violation};
use crate::domain::account::grant_role;
use crate::domain::audit::{self, AuditRecord};
use crate::domain::page;
use crate::domain::street;
use crate::domain::values::{Phone, Reason};
use crate::error::{AppError, AppResult, Text};

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

/// A bounded piece of text: trimmed, within `min..=max` characters, no control characters
/// (except newlines where `multiline`).
pub fn text_field(
    field: &'static str,
    raw: &str,
    min: usize,
    max: usize,
    multiline: bool,
) -> AppResult<String> {
    let t = raw.trim();
    let n = t.chars().count();
    let bad_char = t
        .chars()
        .any(|c| c.is_control() && !(multiline && (c == '\n' || c == '\r' || c == '\t')));
    if n < min || n > max || bad_char {
        return Err(AppError::bad_input(
            field,
            Text::owned(
                format!("{field} 应为 {min} 到 {max} 个字符"),
                format!("{field} must have {min} to {max} characters"),
            ),
        ));
    }
    Ok(t.to_owned())
}

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
pub async fn apply(
    db: &DatabaseConnection,
    viewer: &Viewer,
    app: Application,
) -> AppResult<merchant::Model> {
    let profile = app.profile.check()?;
    let licence_no = licence(&app.licence_no)?;
    let community = street::get_community(db, app.community_id)
        .await?
        .ok_or_else(|| {
            AppError::bad_input("communityId", Text::new("社区不存在", "No such community"))
        })?;
    let now = Utc::now();
    let txn = begin_write(db).await?;
    let inserted = merchant::ActiveModel {
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
    .await;
    let merchant = match inserted {
        Ok(m) => m,
        Err(e) if is_unique_violation(&e) => {
            return Err(AppError::Conflict {
                field: "licenceNo".into(),
                text: Text::new(
                    "该营业执照号已在本街道申请过",
                    "A merchant with this licence number already applied in this street",
                ),
            });
        }
        Err(e) => return Err(e.into()),
    };
    merchant_member::ActiveModel {
        merchant_id: Set(merchant.id),
        user_id: Set(viewer.user_id),
        role: Set(MemberRole::Owner),
        created_at: Set(now),
    }
    .insert(&txn)
    .await?;
    txn.commit().await?;
    Ok(merchant)
}

/// A staff decision on a merchant.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Decision {
    Approve,
    Reject,
    Suspend,
    Reinstate,
}

impl Decision {
    fn transition(self) -> (MerchantStatus, MerchantStatus, &'static str) {
        match self {
            Decision::Approve => (
                MerchantStatus::Pending,
                MerchantStatus::Active,
                "merchant.approve",
            ),
            Decision::Reject => (
                MerchantStatus::Pending,
                MerchantStatus::Rejected,
                "merchant.reject",
            ),
            Decision::Suspend => (
                MerchantStatus::Active,
                MerchantStatus::Suspended,
                "merchant.suspend",
            ),
            Decision::Reinstate => (
                MerchantStatus::Suspended,
                MerchantStatus::Active,
                "merchant.reinstate",
            ),
        }
    }
}

pub fn invalid_state() -> AppError {
    AppError::InvalidState(Text::new(
        "当前状态不允许此操作",
        "The object's current state does not allow this",
    ))
}

/// Staff of the merchant's street decide. Approval gives the owner the `MERCHANT` role; a
/// reason is required for everything but approval. Two staff deciding at once: one wins, the
/// other gets `INVALID_STATE`.
pub async fn decide(
    db: &DatabaseConnection,
    viewer: &Viewer,
    merchant_id: i64,
    decision: Decision,
    reason: Option<&str>,
    request_id: Option<&str>,
) -> AppResult<merchant::Model> {
    let reason = match (decision, reason.map(str::trim).filter(|r| !r.is_empty())) {
        (Decision::Approve, r) => r.map(|r| Reason::parse("reason", r)).transpose()?,
        (_, Some(r)) => Some(Reason::parse("reason", r)?),
        (_, None) => return Err(Reason::parse("reason", "").unwrap_err()),
    };
    let (from, to, action) = decision.transition();
    let txn = begin_write(db).await?;
    let m = merchant::Entity::find_by_id(merchant_id)
        .one(&txn)
        .await?
        .ok_or(AppError::NotFound("merchant"))?;
    viewer.require_staff_of(m.street_id)?;
    let now = Utc::now();
    let reason_text = reason.map(Reason::into_inner);
    let updated = merchant::Entity::update_many()
        .col_expr(merchant::Column::Status, Expr::value(to))
        .col_expr(
            merchant::Column::StatusReason,
            Expr::value(reason_text.clone()),
        )
        .col_expr(merchant::Column::UpdatedAt, Expr::value(now))
        .filter(merchant::Column::Id.eq(merchant_id))
        .filter(merchant::Column::Status.eq(from))
        .exec(&txn)
        .await?;
    if updated.rows_affected == 0 {
        return Err(invalid_state());
    }
    if decision == Decision::Approve {
        grant_role(&txn, m.owner_user_id, Role::Merchant).await?;
    }
    audit::record(
        &txn,
        AuditRecord {
            street_id: Some(m.street_id),
            actor_user_id: Some(viewer.user_id),
            action,
            target_type: "Merchant",
            target_id: Some(m.id),
            reason: reason_text,
            request_id,
        },
    )
    .await?;
    let m = merchant::Entity::find_by_id(merchant_id)
        .one(&txn)
        .await?
        .ok_or(AppError::NotFound("merchant"))?;
    txn.commit().await?;
    Ok(m)
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

/// Passes for the owner of the merchant only.
pub async fn require_owner(
    conn: &impl ConnectionTrait,
    viewer: &Viewer,
    merchant_id: i64,
) -> AppResult<()> {
    match membership(conn, merchant_id, viewer.user_id).await? {
        Some(MemberRole::Owner) if viewer.has(Role::Merchant) => Ok(()),
        _ => Err(AppError::Forbidden),
    }
}

/// Passes for the owner or a clerk.
pub async fn require_member(
    conn: &impl ConnectionTrait,
    viewer: &Viewer,
    merchant_id: i64,
) -> AppResult<MemberRole> {
    match membership(conn, merchant_id, viewer.user_id).await? {
        Some(role) if viewer.has(Role::Merchant) => Ok(role),
        _ => Err(AppError::Forbidden),
    }
}

/// The owner edits the profile (not the licence or the community, which staff reviewed).
pub async fn update_profile(
    db: &DatabaseConnection,
    viewer: &Viewer,
    merchant_id: i64,
    profile: MerchantProfile,
) -> AppResult<merchant::Model> {
    let profile = profile.check()?;
    let txn = begin_write(db).await?;
    let m = merchant::Entity::find_by_id(merchant_id)
        .one(&txn)
        .await?
        .ok_or(AppError::NotFound("merchant"))?;
    require_owner(&txn, viewer, m.id).await?;
    let mut am: merchant::ActiveModel = m.into();
    am.name = Set(profile.name);
    am.category = Set(profile.category);
    am.address = Set(profile.address);
    am.contact_phone = Set(profile.contact_phone);
    am.description = Set(profile.description);
    am.updated_at = Set(Utc::now());
    let m = am.update(&txn).await?;
    txn.commit().await?;
    Ok(m)
}

/// The owner adds a clerk by phone; the clerk gains the `MERCHANT` role.
pub async fn add_clerk(
    db: &DatabaseConnection,
    viewer: &Viewer,
    merchant_id: i64,
    phone: &str,
) -> AppResult<user::Model> {
    let phone = Phone::parse("phone", phone)?;
    let txn = begin_write(db).await?;
    let m = merchant::Entity::find_by_id(merchant_id)
        .one(&txn)
        .await?
        .ok_or(AppError::NotFound("merchant"))?;
    require_owner(&txn, viewer, m.id).await?;
    if m.status != MerchantStatus::Active {
        return Err(invalid_state());
    }
    let clerk = user::Entity::find()
        .filter(user::Column::Phone.eq(phone.as_str()))
        .one(&txn)
        .await?
        .ok_or(AppError::NotFound("user"))?;
    if membership(&txn, m.id, clerk.id).await?.is_some() {
        return Err(AppError::Conflict {
            field: "phone".into(),
            text: Text::new("该用户已是本商户成员", "This user is already a member"),
        });
    }
    merchant_member::ActiveModel {
        merchant_id: Set(m.id),
        user_id: Set(clerk.id),
        role: Set(MemberRole::Clerk),
        created_at: Set(Utc::now()),
    }
    .insert(&txn)
    .await?;
    grant_role(&txn, clerk.id, Role::Merchant).await?;
    txn.commit().await?;
    Ok(clerk)
}

/// The owner removes a clerk; a user who is no longer a member anywhere loses `MERCHANT`.
pub async fn remove_clerk(
    db: &DatabaseConnection,
    viewer: &Viewer,
    merchant_id: i64,
    clerk_id: i64,
) -> AppResult<()> {
    let txn = begin_write(db).await?;
    require_owner(&txn, viewer, merchant_id).await?;
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
    txn.commit().await?;
    Ok(())
}

/// Rows a viewer sees beyond the public ones: every row of a staff member's street, and every
/// row of the viewer's own merchants. Merchants and coupons share this rule.
pub fn insider_rows(
    viewer: &Viewer,
    street_col: impl ColumnTrait,
    merchant_col: impl ColumnTrait,
) -> Condition {
    let mut cond = Condition::any();
    if viewer.has(Role::Staff)
        && let Some(street) = viewer.street_id
    {
        cond = cond.add(street_col.eq(street));
    }
    cond.add(
        merchant_col.in_subquery(
            Query::select()
                .column(merchant_member::Column::MerchantId)
                .from(merchant_member::Entity)
                .and_where(merchant_member::Column::UserId.eq(viewer.user_id))
                .to_owned(),
        ),
    )
}

/// Which merchants the viewer may see: active ones, plus [`insider_rows`].
pub fn visible(viewer: Option<&Viewer>) -> Condition {
    let public = Condition::any().add(merchant::Column::Status.eq(MerchantStatus::Active));
    match viewer {
        Some(v) => public.add(insider_rows(
            v,
            merchant::Column::StreetId,
            merchant::Column::Id,
        )),
        None => public,
    }
}

#[derive(Default)]
pub struct MerchantFilter {
    pub category: Option<String>,
    pub community_id: Option<i64>,
    pub street_id: Option<i64>,
    pub status: Option<MerchantStatus>,
    pub keyword: Option<String>,
}

/// Escapes `%`, `_` and `\` for a LIKE pattern.
pub fn like_pattern(keyword: &str) -> String {
    let mut p = String::from("%");
    for c in keyword.chars() {
        if matches!(c, '%' | '_' | '\\') {
            p.push('\\');
        }
        p.push(c);
    }
    p.push('%');
    p
}

pub async fn list(
    db: &DatabaseConnection,
    viewer: Option<&Viewer>,
    filter: MerchantFilter,
    offset: u64,
    limit: u64,
) -> AppResult<(Vec<merchant::Model>, u64)> {
    let mut q = merchant::Entity::find().filter(visible(viewer));
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
    if let Some(k) = filter
        .keyword
        .as_deref()
        .map(str::trim)
        .filter(|k| !k.is_empty())
    {
        let k = text_field("keyword", k, 1, 32, false)?;
        let pattern = like_pattern(&k);
        q = q.filter(
            Condition::any()
                .add(merchant::Column::Name.like(LikeExpr::new(&pattern).escape('\\')))
                .add(merchant::Column::Description.like(LikeExpr::new(&pattern).escape('\\'))),
        );
    }
    page::fetch(db, q.order_by_asc(merchant::Column::Id), offset, limit).await
}

/// One merchant: `FORBIDDEN` when it exists but the viewer may not see it.
pub async fn get(
    db: &DatabaseConnection,
    viewer: Option<&Viewer>,
    id: i64,
) -> AppResult<merchant::Model> {
    let found = merchant::Entity::find()
        .filter(merchant::Column::Id.eq(id))
        .filter(visible(viewer))
        .one(db)
        .await?;
    match found {
        Some(m) => Ok(m),
        None if merchant::Entity::find_by_id(id).one(db).await?.is_some() => {
            Err(AppError::Forbidden)
        }
        None => Err(AppError::NotFound("merchant")),
    }
}

pub async fn by_ids(db: &DatabaseConnection, ids: &[i64]) -> AppResult<Vec<merchant::Model>> {
    Ok(merchant::Entity::find()
        .filter(merchant::Column::Id.is_in(ids.iter().copied()))
        .all(db)
        .await?)
}

/// The merchants a user belongs to, with the role.
pub async fn memberships_of(
    db: &DatabaseConnection,
    user_id: i64,
) -> AppResult<Vec<merchant_member::Model>> {
    Ok(merchant_member::Entity::find()
        .filter(merchant_member::Column::UserId.eq(user_id))
        .all(db)
        .await?)
}

/// The owner and clerks of a merchant, for its owner and staff of its street.
pub async fn members(
    db: &DatabaseConnection,
    viewer: &Viewer,
    m: &merchant::Model,
) -> AppResult<Vec<(MemberRole, user::Model)>> {
    if viewer.require_staff_of(m.street_id).is_err() {
        require_owner(db, viewer, m.id).await?;
    }
    let rows = merchant_member::Entity::find()
        .filter(merchant_member::Column::MerchantId.eq(m.id))
        .order_by_asc(merchant_member::Column::CreatedAt)
        .find_also_related(user::Entity)
        .all(db)
        .await?;
    Ok(rows
        .into_iter()
        .filter_map(|(member, u)| u.map(|u| (member.role, u)))
        .collect())
}
