//! A street's staff, kept by its administrators. `create-staff` makes a street's first
//! administrator; administrators add staff (`add`: a resident of the street, or a new account
//! made without a password, which its holder sets with a reset code) and remove them
//! (`remove`), never themselves, never the last administrator.

use sea_orm::{ActiveModelTrait, ColumnTrait, EntityTrait, QueryFilter, QuerySelect, Set};

use entity::names::ObjectKind;
use entity::user;
use entity::user_role::{self, Role};

use crate::db::OrConflict;
use crate::domain::account::{UserView, grant_role, load_view};
use crate::domain::audit::AuditAction;
use crate::domain::context::Cx;
use crate::domain::events::EventKind;
use crate::domain::lifecycle::{self, Grants, RoleChange};
use crate::domain::policy::{self, StreetRights, Who, may_become_staff_of};
use crate::domain::values::{DisplayName, Phone};
use crate::error::{AppError, AppResult, Text};

/// The administered street of the viewer, or `FORBIDDEN`.
fn administered(cx: &Cx<'_>) -> AppResult<i64> {
    let viewer = cx.viewer()?;
    let street = viewer.street_id.ok_or(AppError::Forbidden)?;
    StreetRights::of(Some(viewer), street).require(Who::StreetAdmin)?;
    Ok(street)
}

/// An administrator makes the holder of `phone` staff of their street (an administrator too,
/// with `admin`): a resident of the street, or a new account. Anyone else, and staff already,
/// are `CONFLICT`.
pub async fn add(cx: &Cx<'_>, phone: &str, name: &str, admin: bool) -> AppResult<UserView> {
    let street = administered(cx)?;
    let phone = Phone::parse("phone", phone)?;
    let name = DisplayName::parse("name", name)?.into_inner();
    let tx = cx.write().await?;
    let now = tx.now();
    let found = user::Entity::find()
        .filter(user::Column::Phone.eq(phone.as_str()))
        .one(&tx)
        .await?;
    let person = match found {
        Some(u) => {
            let is_staff = crate::domain::account::is_staff(&tx, u.id).await?;
            if is_staff {
                return Err(AppError::Conflict {
                    field: "phone".into(),
                    text: Text::new("此人已是工作人员", "This person is staff already"),
                });
            }
            if !may_become_staff_of(u.street_id, street) {
                return Err(AppError::Conflict {
                    field: "phone".into(),
                    text: Text::new(
                        "只能添加本街道的居民：请此人先在个人资料中选择本街道的社区",
                        "Only residents of this street: ask the person to choose one of its communities first",
                    ),
                });
            }
            let mut am: user::ActiveModel = u.into();
            am.is_street_admin = Set(admin);
            am.updated_at = Set(now);
            am.update(&tx).await?
        }
        None => {
            let mut row = crate::domain::account::new_user(
                &phone,
                name,
                crate::domain::account::NO_PASSWORD.to_owned(),
                None,
                now,
            );
            row.street_id = Set(Some(street));
            row.is_street_admin = Set(admin);
            // Registered by someone else a moment ago.
            row.insert(&tx).await.or_conflict(|| AppError::Conflict {
                field: "phone".into(),
                text: Text::new(
                    "该手机号刚刚已注册，请重试",
                    "The number was just registered; try again",
                ),
            })?
        }
    };
    grant_role(&tx, person.id, Role::Staff).await?;
    let change = RoleChange::new(
        Some(street),
        ObjectKind::User,
        person.id,
        AuditAction::StaffAdd,
    )
    .change(
        serde_json::Value::Null,
        serde_json::json!({ "staff": true, "admin": admin }),
    )
    .tell(
        EventKind::StaffAdded,
        vec![person.id],
        serde_json::json!({ "admin": admin }),
    );
    lifecycle::record_role_change(&tx, change).await?;
    let view = load_view(&tx, person).await?;
    tx.commit().await?;
    Ok(view)
}

/// An administrator removes a staff member of their street (never themselves, never the last
/// administrator); they keep their account as a resident.
pub async fn remove(cx: &Cx<'_>, user_id: i64) -> AppResult<UserView> {
    let street = administered(cx)?;
    let viewer = cx.viewer()?;
    let tx = cx.write().await?;
    let person = user::Entity::find_by_id(user_id)
        .one(&tx)
        .await?
        .ok_or(AppError::NotFound("user"))?;
    let is_staff = crate::domain::account::is_staff(&tx, person.id).await?;
    policy::require_staff_removal(viewer, street, person.id, person.street_id, is_staff)?;
    if person.is_street_admin {
        // Locked, so two administrators removing each other at once cannot both succeed.
        let admins = user::Entity::find()
            .filter(user::Column::StreetId.eq(street))
            .filter(user::Column::IsStreetAdmin.eq(true))
            .lock_exclusive()
            .all(&tx)
            .await?
            .len();
        if !policy::keeps_an_administrator(admins) {
            return Err(AppError::InvalidState(Text::new(
                "不能移除街道的最后一位管理员",
                "The street's last administrator cannot be removed",
            )));
        }
    }
    user_role::Entity::delete_by_id((person.id, Role::Staff))
        .exec(&tx)
        .await?;
    let was_admin = person.is_street_admin;
    let mut am: user::ActiveModel = person.into();
    am.is_street_admin = Set(false);
    am.updated_at = Set(tx.now());
    let person = am.update(&tx).await?;
    let change = RoleChange::new(
        Some(street),
        ObjectKind::User,
        person.id,
        AuditAction::StaffRemove,
    )
    .change(
        serde_json::json!({ "staff": true, "admin": was_admin }),
        serde_json::Value::Null,
    )
    .tell(
        EventKind::StaffRemoved,
        vec![person.id],
        serde_json::json!({}),
    );
    lifecycle::record_role_change(&tx, change).await?;
    let view = load_view(&tx, person).await?;
    tx.commit().await?;
    Ok(view)
}
