//! Password recovery for people who forgot theirs. Staff of a person's street issue a one-time
//! reset code in person (for residents without their phone at hand, and for staff added
//! without a password); the person sets a new password with it. Codes are good once, for
//! [`RESET_CODE_HOURS`] hours; guesses count against the phone's sign-in lock. Every recovery
//! ends all of the person's sessions. A code sent by SMS (`sendLoginCode`) works too: it
//! proves the phone, and sets a password for those who signed up without one.

use sea_orm::sea_query::Expr;
use sea_orm::{ActiveModelTrait, ColumnTrait, EntityTrait, QueryFilter, QuerySelect, Set};

use entity::names::ObjectKind;
use entity::{reset_code, user};

use crate::auth::token::refresh_token_hash;
use crate::domain::account::{Session, replace_password, reserve_login_attempt};
use crate::domain::audit::{self, AuditAction, AuditRecord};
use crate::domain::codes::{display_code, new_code, normalize_code};
use crate::domain::context::Cx;
use crate::domain::events::EventKind;
use crate::domain::lifecycle::{self, RoleChange};
use crate::domain::policy::{self, PersonRights};
use crate::domain::values::{Password, Phone};
use crate::error::{AppError, AppResult};

pub const RESET_CODE_HOURS: i64 = 24;

/// A code as the person is handed it.
pub struct IssuedCode {
    /// `XXXX-XXXX-XXXX`, shown once.
    pub code: String,
    pub expires_at: chrono::DateTime<chrono::Utc>,
}

/// Staff of the person's street (never for themselves; for staff, only an administrator) issue
/// a reset code; an earlier unused one stops working. Audited.
pub async fn issue_reset_code(cx: &Cx<'_>, user_id: i64) -> AppResult<IssuedCode> {
    let viewer = cx.viewer()?;
    let tx = cx.write().await?;
    // Locked, so two codes issued at once cannot both stay valid.
    let person = user::Entity::find_by_id(user_id)
        .lock_exclusive()
        .one(&tx)
        .await?
        .filter(|u| !u.disabled)
        .ok_or(AppError::NotFound("user"))?;
    let is_staff = crate::domain::account::is_staff(&tx, person.id).await?;
    let rights = PersonRights::of(Some(viewer), person.id, person.street_id);
    policy::require_reset_issuer(viewer, &rights, is_staff)?;
    reset_code::Entity::delete_many()
        .filter(reset_code::Column::UserId.eq(person.id))
        .filter(reset_code::Column::UsedAt.is_null())
        .exec(&tx)
        .await?;
    let code = new_code();
    let expires_at = tx.now() + chrono::Duration::hours(RESET_CODE_HOURS);
    reset_code::ActiveModel {
        user_id: Set(person.id),
        code_hash: Set(refresh_token_hash(&code)),
        issued_by: Set(viewer.user_id),
        created_at: Set(tx.now()),
        expires_at: Set(expires_at),
        used_at: Set(None),
        ..Default::default()
    }
    .insert(&tx)
    .await?;
    let entry = AuditRecord::of(
        person.street_id,
        AuditAction::ResetCodeIssue,
        ObjectKind::User,
        person.id,
    );
    audit::record(&tx, entry).await?;
    tx.commit().await?;
    Ok(IssuedCode {
        code: display_code(&code),
        expires_at,
    })
}

/// Sets a new password with a reset code and signs in. A wrong, used or expired code, and an
/// unknown phone, all answer `UNAUTHENTICATED` after counting against the phone's lock.
pub async fn reset_with_code(
    cx: &Cx<'_>,
    phone: &str,
    code: &str,
    new_password: String,
) -> AppResult<Session> {
    let phone = Phone::parse("phone", phone)?;
    let new_password = Password::choose("newPassword", new_password, &phone)?;
    if is_sms_code(code) {
        return reset_with_sms_code(cx, &phone, code, new_password).await;
    }
    reserve_login_attempt(cx, &phone).await?;
    let code = normalize_code(code, "").ok_or(AppError::InvalidCredentials)?;
    let now = cx.now();
    let found = match user::Entity::find()
        .filter(user::Column::Phone.eq(phone.as_str()))
        .one(cx)
        .await?
    {
        Some(u) => reset_code::Entity::find()
            .filter(reset_code::Column::UserId.eq(u.id))
            .filter(reset_code::Column::CodeHash.eq(refresh_token_hash(&code)))
            .filter(reset_code::Column::UsedAt.is_null())
            .filter(reset_code::Column::ExpiresAt.gt(now))
            .one(cx)
            .await?
            .map(|c| (u, c)),
        None => None,
    };
    let Some((person, row)) = found else {
        return Err(AppError::InvalidCredentials);
    };
    let hash = cx.state().passwords.hash(&new_password).await?;
    let tx = cx.write().await?;
    // Good once, however many present it at the same moment.
    let used = reset_code::Entity::update_many()
        .col_expr(reset_code::Column::UsedAt, Expr::value(now))
        .filter(reset_code::Column::Id.eq(row.id))
        .filter(reset_code::Column::UsedAt.is_null())
        .exec(&tx)
        .await?;
    if used.rows_affected == 0 {
        return Err(AppError::InvalidCredentials);
    }
    reset_recorded(&tx, &person, None).await?;
    user::Entity::update_many()
        .col_expr(user::Column::PhoneVerifiedAt, Expr::value(tx.now()))
        .filter(user::Column::Id.eq(person.id))
        .exec(&tx)
        .await?;
    let session = replace_password(&tx, person, hash).await?;
    tx.commit().await?;
    Ok(session)
}

/// A reset's audit entry and the notice its person gets: a reset they did not ask for is how
/// they learn of it.
async fn reset_recorded(cx: &Cx<'_>, person: &user::Model, how: Option<&str>) -> AppResult<()> {
    let change = RoleChange::new(
        person.street_id,
        ObjectKind::User,
        person.id,
        AuditAction::PasswordReset,
    )
    .reason(how.map(str::to_owned))
    .tell(
        EventKind::PasswordReset,
        vec![person.id],
        serde_json::json!({}),
    );
    lifecycle::record_role_change(cx, change).await
}

/// Six digits: a code sent by SMS, not one staff issued.
fn is_sms_code(code: &str) -> bool {
    let code = code.trim();
    code.len() == 6 && code.bytes().all(|b| b.is_ascii_digit())
}

async fn reset_with_sms_code(
    cx: &Cx<'_>,
    phone: &Phone,
    code: &str,
    new_password: Password,
) -> AppResult<Session> {
    let hash = cx.state().passwords.hash(&new_password).await?;
    crate::domain::sms_code::spend(cx, phone, code).await?;
    let tx = cx.write().await?;
    let person = user::Entity::find()
        .filter(user::Column::Phone.eq(phone.as_str()))
        .one(&tx)
        .await?
        .filter(|u| !u.disabled)
        .ok_or(AppError::InvalidCode)?;
    if !policy::may_use_sms_codes(crate::domain::account::is_staff(&tx, person.id).await?) {
        return Err(AppError::InvalidCode);
    }
    reset_recorded(&tx, &person, Some("SMS code")).await?;
    let session = replace_password(&tx, person, hash).await?;
    tx.commit().await?;
    Ok(session)
}
