//! A person's rights over their data (PIPL): to leave, and to have a copy. Leaving erases what
//! identifies them (name, phone, birth date, tags, tag requests, memberships, WeChat link,
//! SMS codes) and keeps a
//! pseudonymous account row, so that the points ledger, claims, audit entries and honour-roll
//! entries that name its id stay true for the merchants' settlements and the street's
//! figures; the account can never sign in again, and the phone can register afresh.

use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveEnum, ActiveModelTrait, ColumnTrait, EntityTrait, QueryFilter, QueryOrder, Set,
};
use serde_json::{Value, json};

use entity::clerk_invitation::InvitationStatus;
use entity::merchant::{self, MerchantStatus};
use entity::names::ObjectKind;
use entity::user_role::{self, Role};
use entity::{
    audit_entry, clerk_invitation, coupon_claim, login_throttle, merchant_member, points_account,
    points_entry, reset_code, sms_code, sms_quota, tag_request, user, user_tag, wechat_account,
};

use crate::domain::account::governed_person;
use crate::domain::audit::{self, AuditAction, AuditRecord};
use crate::domain::context::Cx;
use crate::domain::lifecycle::{self, RoleChange};
use crate::domain::policy;
use crate::domain::values::Password;
use crate::error::{AppError, AppResult, Text};

/// The name a deleted account shows.
pub const DELETED_NAME: &str = "已注销用户";

/// The phone column of a deleted account: not a phone number, unique, and never one a person
/// could register.
fn pseudonym(user_id: i64) -> String {
    format!("x{user_id}")
}

fn refuse(zh: &'static str, en: &'static str) -> AppError {
    AppError::InvalidState(Text::new(zh, en))
}

/// How a person confirms that they are leaving.
pub enum Confirmation {
    Password(String),
    /// A code sent by SMS to the account's phone.
    Code(String),
}

/// The signed-in person deletes their account, confirming with their password or an SMS code.
pub async fn delete_my_account(cx: &Cx<'_>, confirmation: Confirmation) -> AppResult<()> {
    let viewer = cx.viewer()?;
    let me = user::Entity::find_by_id(viewer.user_id)
        .one(cx)
        .await?
        .ok_or(AppError::Unauthenticated)?;
    let phone = crate::domain::values::Phone::parse("phone", &me.phone)?;
    match confirmation {
        Confirmation::Password(password) => {
            // The same lock as signing in: a stolen session cannot try passwords at will.
            crate::domain::account::reserve_login_attempt(cx, &phone).await?;
            let verdict = cx
                .state()
                .passwords
                .verify(&Password::unchecked(password), Some(&me.password_hash))
                .await?;
            if verdict == crate::auth::password::Verification::Invalid {
                return Err(AppError::bad_input(
                    "password",
                    Text::new("密码不正确", "The password is wrong"),
                ));
            }
        }
        // Signed in, a wrong code is a wrong value, not a lost session.
        Confirmation::Code(code) => crate::domain::sms_code::spend(cx, &phone, &code)
            .await
            .map_err(|e| match e {
                AppError::InvalidCode => AppError::bad_input(
                    "code",
                    Text::new("验证码错误或已失效", "The code is wrong or no longer valid"),
                ),
                e => e,
            })?,
    }
    let tx = cx.write().await?;
    if !policy::may_close_own_account(crate::domain::account::is_staff(&tx, me.id).await?) {
        return Err(refuse(
            "工作人员请先由街道管理员移除工作人员身份",
            "Staff are first removed from the street's staff by an administrator",
        ));
    }
    let owns = merchant::Entity::find()
        .filter(merchant::Column::OwnerUserId.eq(me.id))
        .filter(merchant::Column::Status.ne(MerchantStatus::Rejected))
        .one(&tx)
        .await?;
    if !policy::may_close_owning_a_merchant(owns.is_some()) {
        return Err(refuse(
            "请先转让或关闭你的商户",
            "Hand over or close your merchant first",
        ));
    }
    let id = me.id;
    let street = me.street_id;
    let phone = me.phone.clone();
    // A refused application stays for the street's records, without the way to reach its
    // applicant.
    merchant::Entity::update_many()
        .col_expr(merchant::Column::ContactPhone, Expr::value(""))
        .col_expr(merchant::Column::UpdatedAt, Expr::value(tx.now()))
        .filter(merchant::Column::OwnerUserId.eq(id))
        .filter(merchant::Column::Status.eq(MerchantStatus::Rejected))
        .exec(&tx)
        .await?;
    // Deeds stay on the honour roll, as their masked name and without the number.
    crate::domain::award::forget_nominee(&tx, id, &phone).await?;
    merchant_member::Entity::delete_many()
        .filter(merchant_member::Column::UserId.eq(id))
        .exec(&tx)
        .await?;
    user_tag::Entity::delete_many()
        .filter(user_tag::Column::UserId.eq(id))
        .exec(&tx)
        .await?;
    tag_request::Entity::delete_many()
        .filter(tag_request::Column::UserId.eq(id))
        .exec(&tx)
        .await?;
    reset_code::Entity::delete_many()
        .filter(reset_code::Column::UserId.eq(id))
        .exec(&tx)
        .await?;
    user_role::Entity::delete_many()
        .filter(user_role::Column::UserId.eq(id))
        .filter(user_role::Column::Role.ne(Role::Resident))
        .exec(&tx)
        .await?;
    // Invitations to the number would pass to whoever registers it next.
    clerk_invitation::Entity::delete_many()
        .filter(clerk_invitation::Column::Phone.eq(phone.as_str()))
        .filter(clerk_invitation::Column::Status.eq(InvitationStatus::Pending))
        .exec(&tx)
        .await?;
    sms_code::Entity::delete_many()
        .filter(sms_code::Column::Phone.eq(phone.as_str()))
        .exec(&tx)
        .await?;
    sms_quota::Entity::delete_many()
        .filter(sms_quota::Column::Subject.eq(phone.as_str()))
        .exec(&tx)
        .await?;
    login_throttle::Entity::delete_by_id(phone)
        .exec(&tx)
        .await?;
    crate::domain::account::end_every_session(&tx, id).await?;
    let mut am: user::ActiveModel = me.into();
    am.display_name = Set(DELETED_NAME.to_owned());
    am.phone = Set(pseudonym(id));
    am.password_hash = Set(crate::domain::account::NO_PASSWORD.to_owned());
    am.birth_date = Set(None);
    am.disabled = Set(true);
    am.leaderboard_opt_out = Set(true);
    am.honour_roll_consent = Set(false);
    am.is_street_admin = Set(false);
    am.updated_at = Set(tx.now());
    am.update(&tx).await?;
    // Nobody is left to tell; the street's records keep the entry.
    let closed = RoleChange::new(street, ObjectKind::User, id, AuditAction::AccountDelete).change(
        serde_json::json!({ "account": "open" }),
        serde_json::json!({ "account": "closed" }),
    );
    lifecycle::record_role_change(&tx, closed).await?;
    tx.commit().await
}

/// Everything stored about a person, as JSON, for staff of their street to hand over on
/// request (never their own: another staff member does it). Audited.
pub async fn export_personal_data(cx: &Cx<'_>, user_id: i64) -> AppResult<Value> {
    let tx = cx.write().await?;
    let u = governed_person(&tx, user_id).await?;
    let export = personal_data(&tx, u).await?;
    tx.commit().await?;
    Ok(export)
}

/// How often a person may take a copy of their own data: each copy reads everything about
/// them, so a stolen session cannot make the server do it at will.
pub const OWN_EXPORT_INTERVAL: chrono::Duration = chrono::Duration::hours(1);

/// A copy of everything stored about the signed-in person, as staff would hand it over (the
/// right of access and copy, PIPL art. 45): once an hour at most. Audited.
pub async fn export_my_data(cx: &Cx<'_>) -> AppResult<Value> {
    cx.viewer()?;
    let tx = cx.write().await?;
    // Locked, so that copies asked for at once count one after another.
    let me = crate::domain::account::own_row_locked(&tx).await?;
    let last = audit_entry::Entity::find()
        .filter(audit_entry::Column::Action.eq(AuditAction::PersonalDataExport))
        .filter(audit_entry::Column::TargetType.eq(ObjectKind::User))
        .filter(audit_entry::Column::TargetId.eq(me.id))
        .filter(audit_entry::Column::ActorUserId.eq(me.id))
        .order_by_desc(audit_entry::Column::Id)
        .one(&tx)
        .await?;
    if let Some(last) = last {
        let next = last.created_at + OWN_EXPORT_INTERVAL;
        if next > tx.now() {
            let wait = (next - tx.now()).num_seconds().max(1);
            return Err(AppError::RateLimited {
                retry_after_secs: u64::try_from(wait).unwrap_or(1),
            });
        }
    }
    let export = personal_data(&tx, me).await?;
    tx.commit().await?;
    Ok(export)
}

/// Everything stored about `u`, with the API's opaque IDs, and the audit entry of its export.
async fn personal_data(tx: &Cx<'_>, u: user::Model) -> AppResult<Value> {
    use crate::global_id::encode;
    let roles = user_role::Entity::find()
        .filter(user_role::Column::UserId.eq(u.id))
        .all(tx)
        .await?;
    let tags = user_tag::Entity::find()
        .filter(user_tag::Column::UserId.eq(u.id))
        .all(tx)
        .await?;
    let requests = tag_request::Entity::find()
        .filter(tag_request::Column::UserId.eq(u.id))
        .all(tx)
        .await?;
    let account = points_account::Entity::find_by_id(u.id).one(tx).await?;
    let entries = points_entry::Entity::find()
        .filter(points_entry::Column::UserId.eq(u.id))
        .order_by_asc(points_entry::Column::Id)
        .all(tx)
        .await?;
    let claims = coupon_claim::Entity::find()
        .filter(coupon_claim::Column::UserId.eq(u.id))
        .order_by_asc(coupon_claim::Column::Id)
        .all(tx)
        .await?;
    let memberships = merchant_member::Entity::find()
        .filter(merchant_member::Column::UserId.eq(u.id))
        .all(tx)
        .await?;
    let audit_rows = audit_entry::Entity::find()
        .filter(
            sea_orm::Condition::any()
                .add(audit_entry::Column::ActorUserId.eq(u.id))
                .add(
                    sea_orm::Condition::all()
                        .add(audit_entry::Column::TargetType.eq(ObjectKind::User))
                        .add(audit_entry::Column::TargetId.eq(u.id)),
                ),
        )
        .order_by_asc(audit_entry::Column::Id)
        .all(tx)
        .await?;
    let wechat = wechat_account::Entity::find()
        .filter(wechat_account::Column::UserId.eq(u.id))
        .one(tx)
        .await?;
    let id_of = |kind: ObjectKind, id: Option<i64>| id.map(|id| encode(kind, id));
    let export = json!({
        "account": {
            "id": encode(ObjectKind::User, u.id), "phone": u.phone, "displayName": u.display_name,
            "streetId": id_of(ObjectKind::Street, u.street_id),
            "communityId": id_of(ObjectKind::Community, u.community_id), "birthDate": u.birth_date,
            "showOnLeaderboards": !u.leaderboard_opt_out, "showMyNameOnHonorRoll": u.honour_roll_consent,
            "createdAt": u.created_at, "updatedAt": u.updated_at,
        },
        "weChat": wechat.map(|w| json!({ "linkedAt": w.created_at, "hasUnionId": w.unionid.is_some() })),
        "roles": roles.iter().map(|r| crate::domain::account::role_name(&r.role)).collect::<Vec<_>>(),
        "tags": tags.iter().map(|t| t.tag.clone()).collect::<Vec<_>>(),
        "tagRequests": requests.iter().map(|r| json!({
            "id": encode(ObjectKind::TagRequest, r.id),
            "tag": r.tag, "note": r.note, "status": r.status.to_value(),
            "reason": r.reason, "createdAt": r.created_at, "decidedAt": r.decided_at,
        })).collect::<Vec<_>>(),
        "points": account.map(|a| json!({ "balance": a.balance, "lifetimeEarned": a.lifetime_earned })),
        "pointsEntries": entries.iter().map(|e| json!({
            "id": encode(ObjectKind::PointsEntry, e.id),
            "amount": e.amount, "kind": e.kind.to_value(), "note": e.note, "createdAt": e.created_at,
        })).collect::<Vec<_>>(),
        "couponClaims": claims.iter().map(|c| json!({
            "id": encode(ObjectKind::CouponClaim, c.id),
            "couponId": encode(ObjectKind::Coupon, c.coupon_id),
            "merchantId": encode(ObjectKind::Merchant, c.merchant_id),
            "status": c.status.to_value(), "claimedAt": c.claimed_at,
            "redeemedAt": c.redeemed_at, "voidedAt": c.voided_at, "pointsSpent": c.points_spent,
        })).collect::<Vec<_>>(),
        "merchantMemberships": memberships.iter().map(|m| json!({
            "merchantId": encode(ObjectKind::Merchant, m.merchant_id), "role": m.role.to_value(),
        })).collect::<Vec<_>>(),
        "auditEntries": audit_rows.iter().map(|a| json!({
            "action": a.action.to_value(),
            "actorUserId": id_of(ObjectKind::User, a.actor_user_id),
            "targetType": a.target_type.as_str(),
            "targetId": id_of(a.target_type, a.target_id),
            "reason": a.reason, "createdAt": a.created_at,
        })).collect::<Vec<_>>(),
    });
    audit::record(
        tx,
        AuditRecord::of(
            u.street_id,
            AuditAction::PersonalDataExport,
            ObjectKind::User,
            u.id,
        ),
    )
    .await?;
    Ok(export)
}
