//! Accounts and sessions: registration, login with throttling, refresh-token rotation with reuse
//! detection, logout, password change, and the per-request check of an access token.

use std::collections::BTreeSet;

use chrono::{DateTime, Utc};
use sea_orm::sea_query::{Expr, OnConflict, Query};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder,
    QuerySelect, Set,
};

use entity::names::ObjectKind;
use entity::user_role::Role;
use entity::{login_throttle, refresh_token, user, user_role, user_tag, wechat_account};

use crate::auth::Viewer;
use crate::auth::password::Verification;
use crate::auth::token::{new_refresh_token, refresh_token_hash};
use crate::db::{OrConflict, is_unique_violation};
use crate::domain::audit::{self, AuditAction, AuditRecord};
use crate::domain::context::Cx;
use crate::domain::events::{self, Event, EventKind};
use crate::domain::street;
use crate::domain::values::{DisplayName, Password, Phone};
use crate::error::{AppError, AppResult, Text};
use crate::state::AppState;

/// The stored hash of an account with no password yet: no password matches it.
pub const NO_PASSWORD: &str = "";

/// Failed logins allowed before a phone number is slowed down.
pub const FREE_LOGIN_FAILURES: i32 = 5;
/// How long after a refresh the same refresh token may be presented again and get the same new
/// pair (several pages of a mini-program resuming at once).
pub const REFRESH_GRACE_SECS: i64 = 10;
/// The first lock after the free failures; it doubles with each further failure.
const FIRST_LOCK_SECS: i64 = 30;
const MAX_LOCK_SECS: i64 = 15 * 60;

/// A user with the roles and tags that come with them.
#[derive(Clone, Debug)]
pub struct UserView {
    pub user: user::Model,
    pub roles: Vec<Role>,
    pub tags: Vec<String>,
}

/// What a successful sign-in returns.
#[derive(Debug)]
pub struct Session {
    pub access_token: String,
    pub access_expires_at: DateTime<Utc>,
    pub refresh_token: String,
    pub refresh_expires_at: DateTime<Utc>,
    pub user: UserView,
}

pub struct RegisterCommand {
    pub phone: String,
    pub password: String,
    pub display_name: String,
    pub community_id: Option<i64>,
    /// A code sent by SMS to the phone; required when the server sends them.
    pub code: Option<String>,
}

/// What a person changes about themselves; `None` leaves a field as it is.
#[derive(Debug, Default)]
pub struct ProfileChange {
    pub display_name: Option<String>,
    /// A community of any street, which becomes the person's street too.
    pub community_id: Option<i64>,
    pub birth_date: Option<chrono::NaiveDate>,
    pub show_on_leaderboards: Option<bool>,
    pub honour_roll_consent: Option<bool>,
}

/// The signed-in person changes their own profile. Staff keep the street they work for: they
/// may only pick a community of it.
pub async fn update_profile(cx: &Cx<'_>, change: ProfileChange) -> AppResult<UserView> {
    let viewer = cx.viewer()?;
    let name = change
        .display_name
        .as_deref()
        .map(|n| DisplayName::parse("displayName", n))
        .transpose()?;
    if let Some(born) = change.birth_date {
        // Today by the calendar furthest ahead on earth: no later than today anywhere.
        let today = crate::clock::local_date(cx.now(), chrono_tz::Pacific::Kiritimati);
        if born > today || chrono::Datelike::year(&born) < 1900 {
            return Err(AppError::bad_input(
                "birthDate",
                Text::new(
                    "出生日期应在 1900 年之后且不晚于今天",
                    "A birth date is from 1900 to today",
                ),
            ));
        }
    }
    let tx = cx.write().await?;
    let user = user::Entity::find_by_id(viewer.user_id)
        .one(&tx)
        .await?
        .ok_or(AppError::Unauthenticated)?;
    let community = match change.community_id {
        Some(id) => Some(street::joinable_community(&tx, "communityId", id).await?),
        None => None,
    };
    if let Some(c) = &community
        && !crate::domain::policy::may_move_to(viewer, user.street_id, c.street_id)
    {
        return Err(AppError::bad_input(
            "communityId",
            Text::new(
                "工作人员只能选择所在街道的社区",
                "Staff can only pick a community of the street they work for",
            ),
        ));
    }
    let birth_date_given = user.birth_date;
    let mut am: user::ActiveModel = user.into();
    if let Some(n) = name {
        am.display_name = Set(n.into_inner());
    }
    if let Some(c) = community {
        am.community_id = Set(Some(c.id));
        am.street_id = Set(Some(c.street_id));
    }
    if let Some(b) = change.birth_date {
        // Age rules (SENIOR) read it, so a person gives it once; a mistake is for staff.
        if birth_date_given.is_some_and(|given| given != b) {
            return Err(AppError::InvalidState(Text::new(
                "出生日期已填写；如需更正请联系街道工作人员",
                "The birth date is set; ask the street's staff to correct it",
            )));
        }
        am.birth_date = Set(Some(b));
    }
    if let Some(show) = change.show_on_leaderboards {
        am.leaderboard_opt_out = Set(!show);
    }
    if let Some(show) = change.honour_roll_consent {
        am.honour_roll_consent = Set(show);
    }
    am.updated_at = Set(tx.now());
    let user = am.update(&tx).await?;
    let view = load_view(&tx, user).await?;
    tx.commit().await?;
    Ok(view)
}

fn phone_taken() -> AppError {
    AppError::Conflict {
        field: "phone".into(),
        text: Text::new("该手机号已注册", "This phone number is already registered"),
    }
}

/// Creates a resident and signs them in. Where the server sends SMS codes, the person first
/// proves the phone with one: nobody registers another's number (and its clerk invitations,
/// and a password its holder does not know), and only the number's holder learns that it is
/// registered.
pub async fn register(cx: &Cx<'_>, cmd: RegisterCommand) -> AppResult<Session> {
    let state = cx.state();
    if !crate::domain::policy::may_register(state.sms.is_some(), state.unverified_registration) {
        return Err(AppError::Refused(Text::new(
            "本服务暂不开放自助注册：无法以短信验证手机号",
            "Registration is closed on this server: it cannot prove phone numbers by SMS",
        )));
    }
    let phone = Phone::parse("phone", &cmd.phone)?;
    let password = Password::choose("password", cmd.password, &phone)?;
    let name = DisplayName::parse("displayName", &cmd.display_name)?;
    let community = match cmd.community_id {
        Some(id) => Some(street::joinable_community(cx, "communityId", id).await?),
        None => None,
    };
    if state.sms.is_some() {
        let Some(code) = cmd.code.as_deref() else {
            return Err(AppError::bad_input(
                "code",
                Text::new(
                    "请先获取并填写短信验证码",
                    "Ask for an SMS code (sendLoginCode) and give it",
                ),
            ));
        };
        crate::domain::sms_code::spend(cx, &phone, code).await?;
    }
    // Hashing is slow; do it before taking the write lock.
    let hash = state.passwords.hash(&password).await?;

    let txn = cx.write().await?;
    let now = cx.now();
    let mut row = new_user(&phone, name.into_inner(), hash, community.as_ref(), now);
    if cmd.code.is_some() && state.sms.is_some() {
        row.phone_verified_at = Set(Some(now));
    }
    let user = row.insert(&txn).await.or_conflict(phone_taken)?;
    grant_role(&txn, user.id, Role::Resident).await?;
    let view = UserView {
        user,
        roles: vec![Role::Resident],
        tags: Vec::new(),
    };
    let session = issue_session(&txn, state, view, None, now).await?;
    txn.commit().await?;
    Ok(session)
}

/// The row of a new account, living in `community` (and its street) when one is given.
pub(crate) fn new_user(
    phone: &Phone,
    display_name: String,
    password_hash: String,
    community: Option<&entity::community::Model>,
    now: DateTime<Utc>,
) -> user::ActiveModel {
    user::ActiveModel {
        phone: Set(phone.as_str().to_owned()),
        display_name: Set(display_name),
        password_hash: Set(password_hash),
        street_id: Set(community.map(|c| c.street_id)),
        community_id: Set(community.map(|c| c.id)),
        disabled: Set(false),
        birth_date: Set(None),
        leaderboard_opt_out: Set(false),
        honour_roll_consent: Set(false),
        is_street_admin: Set(false),
        session_version: Set(0),
        created_at: Set(now),
        updated_at: Set(now),
        ..Default::default()
    }
}

/// The account of a phone its holder just proved (with an SMS code), made a resident's account
/// without a password if the phone is new. A suspended account stays closed. Staff do not sign
/// in by SMS: their accounts open with their password (or a reset code from an administrator).
/// An account registered without proof of its phone (on a server that sent no codes) passes to
/// the phone's holder: its password and every way into it end.
pub(crate) async fn find_or_register(cx: &Cx<'_>, phone: &Phone) -> AppResult<user::Model> {
    let find = || {
        user::Entity::find()
            .filter(user::Column::Phone.eq(phone.as_str()))
            .one(cx)
    };
    let user = match find().await? {
        Some(u) => u,
        None => {
            // `居民5678`: a name to change in the profile.
            let tail = &phone.as_str()[phone.as_str().len() - 4..];
            let mut row = new_user(
                phone,
                format!("居民{tail}"),
                NO_PASSWORD.to_owned(),
                None,
                cx.now(),
            );
            row.phone_verified_at = Set(Some(cx.now()));
            // A savepoint, so that losing a race to register the phone leaves the rest intact.
            let sp = cx.write().await?;
            match row.insert(&sp).await {
                Ok(user) => {
                    grant_role(&sp, user.id, Role::Resident).await?;
                    sp.commit().await?;
                    user
                }
                Err(e) if is_unique_violation(&e) => {
                    drop(sp);
                    find().await?.ok_or(AppError::InvalidCode)?
                }
                Err(e) => return Err(e.into()),
            }
        }
    };
    if user.disabled {
        return Err(suspended());
    }
    if !crate::domain::policy::may_use_sms_codes(is_staff(cx, user.id).await?) {
        return Err(AppError::InvalidCode);
    }
    if user.phone_verified_at.is_some() {
        return Ok(user);
    }
    let id = user.id;
    end_every_session(cx, id).await?;
    user::Entity::update_many()
        .col_expr(user::Column::PasswordHash, Expr::value(NO_PASSWORD))
        .col_expr(user::Column::PhoneVerifiedAt, Expr::value(cx.now()))
        .filter(user::Column::Id.eq(id))
        .exec(cx)
        .await?;
    user::Entity::find_by_id(id)
        .one(cx)
        .await?
        .ok_or(AppError::InvalidCode)
}

/// What signing in to a suspended account answers once the person has proved who they are.
pub(crate) fn suspended() -> AppError {
    AppError::InvalidState(Text::new(
        "该账号已停用，请联系街道工作人员",
        "This account is suspended; ask the street's staff",
    ))
}

pub(crate) async fn is_staff(cx: &Cx<'_>, user_id: i64) -> AppResult<bool> {
    Ok(user_role::Entity::find_by_id((user_id, Role::Staff))
        .one(cx)
        .await?
        .is_some())
}

/// Signs in with a code sent to the phone; a phone new to us becomes a resident's account.
pub async fn login_with_code(cx: &Cx<'_>, phone: &str, code: &str) -> AppResult<Session> {
    let phone = Phone::parse("phone", phone)?;
    crate::domain::sms_code::spend(cx, &phone, code).await?;
    let tx = cx.write().await?;
    let user = find_or_register(&tx, &phone).await?;
    let session = start_session(&tx, user).await?;
    tx.commit().await?;
    Ok(session)
}

/// Starts a new session of `user`, in the caller's transaction.
pub(crate) async fn start_session(cx: &Cx<'_>, user: user::Model) -> AppResult<Session> {
    let view = load_view(cx, user).await?;
    issue_session(cx, cx.state(), view, None, cx.now()).await
}

pub async fn grant_role(conn: &impl ConnectionTrait, user_id: i64, role: Role) -> AppResult<()> {
    user_role::Entity::insert(user_role::ActiveModel {
        user_id: Set(user_id),
        role: Set(role),
    })
    .on_conflict(
        OnConflict::columns([user_role::Column::UserId, user_role::Column::Role])
            .do_nothing()
            .to_owned(),
    )
    .exec_without_returning(conn)
    .await?;
    Ok(())
}

/// Signs in with phone and password. An unknown phone and a wrong password give the same error
/// after the same work; repeated failures on one phone lock it for a growing time.
pub async fn login(cx: &Cx<'_>, phone: &str, password: String) -> AppResult<Session> {
    let state = cx.state();
    let phone = Phone::parse("phone", phone)?;
    let password = Password::unchecked(password);
    let now = cx.now();

    reserve_login_attempt(cx, &phone).await?;

    let found = user::Entity::find()
        .filter(user::Column::Phone.eq(phone.as_str()))
        .one(cx)
        .await?;
    let verification = state
        .passwords
        .verify(&password, found.as_ref().map(|u| u.password_hash.as_str()))
        .await?;
    let (user, needs_rehash) = match (found, verification) {
        (Some(user), Verification::Valid { needs_rehash }) if !user.disabled => {
            (user, needs_rehash)
        }
        _ => {
            tracing::info!(phone = ?phone, "login failed");
            return Err(AppError::InvalidCredentials);
        }
    };

    let new_hash = if needs_rehash {
        Some(state.passwords.hash(&password).await?)
    } else {
        None
    };

    let txn = cx.write().await?;
    login_throttle::Entity::delete_by_id(phone.as_str().to_owned())
        .exec(&txn)
        .await?;
    let user = match new_hash {
        Some(hash) => {
            let mut am: user::ActiveModel = user.into();
            am.password_hash = Set(hash);
            am.updated_at = Set(now);
            am.update(&txn).await?
        }
        None => user,
    };
    let view = load_view(&txn, user).await?;
    let session = issue_session(&txn, state, view, None, now).await?;
    txn.commit().await?;
    Ok(session)
}

/// Counts an attempt for the phone, known or not, before its password is checked, and locks the
/// phone with the attempt that spends the last free one; a locked phone is `RATE_LIMITED`
/// without a check. Counting before checking, in one write transaction that holds the row, is
/// what bounds the checks: however many attempts race, at most the free ones (then one per
/// lock) are evaluated. A successful sign-in clears the count.
pub(crate) async fn reserve_login_attempt(cx: &Cx<'_>, phone: &Phone) -> AppResult<()> {
    let now = cx.now();
    let tx = cx.write().await?;
    let failures = (login_throttle::Entity, login_throttle::Column::Failures);
    // The upsert takes the row's lock on PostgreSQL (SQLite's write transaction holds the
    // database), so the read below sees every attempt counted before ours.
    login_throttle::Entity::insert(login_throttle::ActiveModel {
        phone: Set(phone.as_str().to_owned()),
        failures: Set(1),
        locked_until: Set(None),
        updated_at: Set(now),
    })
    .on_conflict(
        OnConflict::column(login_throttle::Column::Phone)
            .value(
                login_throttle::Column::Failures,
                sea_orm::sea_query::ExprTrait::add(Expr::col(failures), 1),
            )
            .value(login_throttle::Column::UpdatedAt, now)
            .to_owned(),
    )
    .exec_without_returning(&tx)
    .await?;
    let row = login_throttle::Entity::find_by_id(phone.as_str().to_owned())
        .one(&tx)
        .await?
        .ok_or_else(|| AppError::internal("login throttle row vanished"))?;
    if let Some(until) = row.locked_until
        && until > now
    {
        // Dropping the transaction rolls the count back: a refused attempt is not an attempt.
        return Err(AppError::RateLimited {
            retry_after_secs: (until - now).num_seconds().max(1) as u64,
        });
    }
    if row.failures >= FREE_LOGIN_FAILURES {
        let doublings = (row.failures - FREE_LOGIN_FAILURES).min(10) as u32;
        let secs = (FIRST_LOCK_SECS << doublings).min(MAX_LOCK_SECS);
        let mut am: login_throttle::ActiveModel = row.into();
        am.locked_until = Set(Some(now + chrono::Duration::seconds(secs)));
        am.update(&tx).await?;
    }
    tx.commit().await
}

/// Exchanges a refresh token for a new pair. A token is good once: presenting a used one means
/// it was stolen or replayed, so its whole family (every token descended from the same login)
/// is revoked.
pub async fn refresh(cx: &Cx<'_>, token: &str) -> AppResult<Session> {
    let state = cx.state();
    let hash = refresh_token_hash(token);
    let now = cx.now();
    let txn = cx.write().await?;
    let Some(row) = refresh_token::Entity::find()
        .filter(refresh_token::Column::TokenHash.eq(hash))
        .one(&txn)
        .await?
    else {
        return Err(AppError::Unauthenticated);
    };
    if row.revoked_at.is_some() || row.expires_at <= now {
        return Err(AppError::Unauthenticated);
    }
    // Access tokens are checked against the system clock by the JWT library, so they are
    // issued from it too, whatever the domain clock says.
    let issued = Utc::now();
    let claimed = refresh_token::Entity::update_many()
        .col_expr(refresh_token::Column::UsedAt, Expr::value(now))
        .col_expr(refresh_token::Column::AccessIssuedAt, Expr::value(issued))
        .filter(refresh_token::Column::Id.eq(row.id))
        .filter(refresh_token::Column::UsedAt.is_null())
        .exec(&txn)
        .await?;
    let (used_at, issued) = if claimed.rows_affected == 1 {
        (now, issued)
    } else {
        // Used already: by a refresh of a moment ago (a mini-program resuming several pages at
        // once), which gets the same pair again; otherwise it was stolen or replayed.
        let used = refresh_token::Entity::find_by_id(row.id).one(&txn).await?;
        match used.and_then(|u| u.used_at.zip(u.access_issued_at)) {
            Some((used_at, issued))
                if now - used_at <= chrono::Duration::seconds(REFRESH_GRACE_SECS) =>
            {
                (used_at, issued)
            }
            _ => {
                revoke_family(&txn, &row.family_id, now).await?;
                txn.commit().await?;
                tracing::warn!(
                    user_id = row.user_id,
                    "refresh token reused; family revoked"
                );
                return Err(AppError::Unauthenticated);
            }
        }
    };
    let Some(user) = user::Entity::find_by_id(row.user_id).one(&txn).await? else {
        return Err(AppError::Unauthenticated);
    };
    if user.disabled {
        return Err(AppError::Unauthenticated);
    }
    let view = load_view(&txn, user).await?;
    let successor = state.tokens.successor_refresh(token);
    let expires_at = refresh_expiry(state, used_at)?;
    if claimed.rows_affected == 1 {
        store_refresh(
            &txn,
            view.user.id,
            &row.family_id,
            &successor,
            expires_at,
            now,
        )
        .await?;
    }
    let session = session_of(state, view, &row.family_id, successor, expires_at, issued)?;
    txn.commit().await?;
    Ok(session)
}

/// Ends every session of the signed-in user, on every device: their access tokens stop working
/// at once and their refresh tokens are revoked.
pub async fn logout_everywhere(cx: &Cx<'_>) -> AppResult<()> {
    let viewer = cx.viewer()?;
    let txn = cx.write().await?;
    end_every_session(&txn, viewer.user_id).await?;
    txn.commit().await
}

/// Ends every way into the account there is now: access tokens (by the session version, bumped
/// in SQL so that a concurrent end is not undone), refresh tokens, and the WeChat link, which
/// signs in on its own (the person binds it again with an SMS code).
pub(crate) async fn end_every_session(cx: &Cx<'_>, user_id: i64) -> AppResult<()> {
    let now = cx.now();
    user::Entity::update_many()
        .col_expr(
            user::Column::SessionVersion,
            sea_orm::sea_query::ExprTrait::add(Expr::col(user::Column::SessionVersion), 1),
        )
        .col_expr(user::Column::UpdatedAt, Expr::value(now))
        .filter(user::Column::Id.eq(user_id))
        .exec(cx)
        .await?;
    refresh_token::Entity::update_many()
        .col_expr(refresh_token::Column::RevokedAt, Expr::value(now))
        .filter(refresh_token::Column::UserId.eq(user_id))
        .filter(refresh_token::Column::RevokedAt.is_null())
        .exec(cx)
        .await?;
    wechat_account::Entity::delete_many()
        .filter(wechat_account::Column::UserId.eq(user_id))
        .exec(cx)
        .await?;
    Ok(())
}

async fn revoke_family(
    conn: &impl ConnectionTrait,
    family_id: &str,
    now: DateTime<Utc>,
) -> AppResult<()> {
    refresh_token::Entity::update_many()
        .col_expr(refresh_token::Column::RevokedAt, Expr::value(now))
        .filter(refresh_token::Column::FamilyId.eq(family_id))
        .filter(refresh_token::Column::RevokedAt.is_null())
        .exec(conn)
        .await?;
    Ok(())
}

/// Ends the session the refresh token belongs to. Unknown tokens are ignored, so logging out
/// twice is harmless.
pub async fn logout(cx: &Cx<'_>, token: &str) -> AppResult<()> {
    let hash = refresh_token_hash(token);
    let txn = cx.write().await?;
    if let Some(row) = refresh_token::Entity::find()
        .filter(refresh_token::Column::TokenHash.eq(hash))
        .one(&txn)
        .await?
    {
        revoke_family(&txn, &row.family_id, txn.now()).await?;
    }
    txn.commit().await?;
    Ok(())
}

/// Changes the password; every token issued before stops working, and a new session is returned.
pub async fn change_password(cx: &Cx<'_>, current: String, new: String) -> AppResult<Session> {
    let state = cx.state();
    let viewer = cx.viewer()?;
    let Some(user) = user::Entity::find_by_id(viewer.user_id).one(cx).await? else {
        return Err(AppError::Unauthenticated);
    };
    let phone = Phone::parse("phone", &user.phone)?;
    let new = Password::choose("newPassword", new, &phone)?;
    let current = Password::unchecked(current);
    // The same lock as signing in: a stolen session cannot try current passwords at will.
    reserve_login_attempt(cx, &phone).await?;
    if state
        .passwords
        .verify(&current, Some(&user.password_hash))
        .await?
        == Verification::Invalid
    {
        return Err(AppError::bad_input(
            "currentPassword",
            Text::new("当前密码不正确", "The current password is wrong"),
        ));
    }
    let hash = state.passwords.hash(&new).await?;
    let txn = cx.write().await?;
    let (id, street_id) = (user.id, user.street_id);
    let session = replace_password(&txn, user, hash).await?;
    let notice = Event::new(EventKind::PasswordChanged, ObjectKind::User, id).concerning(id);
    events::record(
        &txn,
        Event {
            street_id,
            ..notice
        },
    )
    .await?;
    txn.commit().await?;
    Ok(session)
}

/// The person a staff member acts on, checked by the policy: staff of their street, never
/// themselves.
/// The signed-in person's own row, locked for the rest of the caller's transaction, so that
/// their requests at once (two tag requests, two exports) take their turns.
pub(crate) async fn own_row_locked(tx: &Cx<'_>) -> AppResult<user::Model> {
    let viewer = tx.viewer()?;
    user::Entity::find_by_id(viewer.user_id)
        .lock_exclusive()
        .one(tx)
        .await?
        .ok_or(AppError::Unauthenticated)
}

pub(crate) async fn governed_person(cx: &Cx<'_>, user_id: i64) -> AppResult<user::Model> {
    let viewer = cx.viewer()?;
    let u = user::Entity::find_by_id(user_id)
        .one(cx)
        .await?
        .filter(|u| !u.disabled)
        .ok_or(AppError::NotFound("user"))?;
    crate::domain::policy::PersonRights::of(Some(viewer), u.id, u.street_id).require_govern()?;
    Ok(u)
}

/// Sets a new password hash in the caller's transaction, ends every earlier session (access
/// tokens by the session version, refresh tokens revoked), clears the phone's failed sign-ins
/// and starts a new session. Changing and recovering a password both end here.
pub(crate) async fn replace_password(
    cx: &Cx<'_>,
    user: user::Model,
    hash: String,
) -> AppResult<Session> {
    let now = cx.now();
    login_throttle::Entity::delete_by_id(user.phone.clone())
        .exec(cx)
        .await?;
    user::Entity::update_many()
        .col_expr(user::Column::PasswordHash, Expr::value(hash))
        .filter(user::Column::Id.eq(user.id))
        .exec(cx)
        .await?;
    end_every_session(cx, user.id).await?;
    let user = user::Entity::find_by_id(user.id)
        .one(cx)
        .await?
        .ok_or(AppError::Unauthenticated)?;
    let view = load_view(cx, user).await?;
    issue_session(cx, cx.state(), view, None, now).await
}

/// Turns a verified access token into the viewer, from the database as it is now: a disabled
/// user or a bumped session version fails here, and roles are the current ones.
pub async fn authenticate(cx: &Cx<'_>, bearer: &str) -> AppResult<Viewer> {
    let access = cx.state().tokens.verify_access(bearer)?;
    let mut query = user::Entity::find_by_id(access.user_id);
    // A session that was logged out (or whose refresh token was replayed) ends its access
    // tokens too; checked in the same statement.
    if let Some(session) = &access.session {
        let ended = Expr::exists(
            Query::select()
                .expr(Expr::val(1))
                .from(refresh_token::Entity)
                .and_where(refresh_token::Column::FamilyId.eq(session.as_str()))
                .and_where(refresh_token::Column::RevokedAt.is_not_null())
                .to_owned(),
        );
        query = query.filter(sea_orm::sea_query::ExprTrait::not(ended));
    }
    // Every request with a token runs this: only the columns a viewer needs, one row per role.
    use user::Column as U;
    type Facts = (bool, i32, Option<i64>, Option<i64>, bool, Option<Role>);
    let rows: Vec<Facts> = query
        .select_only()
        .columns([
            U::Disabled,
            U::SessionVersion,
            U::StreetId,
            U::CommunityId,
            U::IsStreetAdmin,
        ])
        .column(user_role::Column::Role)
        .left_join(user_role::Entity)
        .into_tuple()
        .all(cx)
        .await?;
    let Some(&(disabled, version, street_id, community_id, street_admin, _)) = rows.first() else {
        return Err(AppError::Unauthenticated);
    };
    if disabled || version != access.session_version {
        return Err(AppError::Unauthenticated);
    }
    let roles: BTreeSet<Role> = rows.into_iter().filter_map(|r| r.5).collect();
    Ok(Viewer {
        user_id: access.user_id,
        roles,
        street_id,
        community_id,
        street_admin,
    })
}

/// Loads a user's roles and tags.
pub async fn load_view(conn: &impl ConnectionTrait, user: user::Model) -> AppResult<UserView> {
    let mut roles: Vec<Role> = user_role::Entity::find()
        .filter(user_role::Column::UserId.eq(user.id))
        .all(conn)
        .await?
        .into_iter()
        .map(|r| r.role)
        .collect();
    roles.sort();
    let tags = user_tag::Entity::find()
        .filter(user_tag::Column::UserId.eq(user.id))
        .order_by_asc(user_tag::Column::Tag)
        .all(conn)
        .await?
        .into_iter()
        .map(|t| t.tag)
        .collect();
    Ok(UserView { user, roles, tags })
}

/// [`load_view`] for many users in two statements, in the order given.
pub async fn load_views(
    conn: &impl ConnectionTrait,
    users: Vec<user::Model>,
) -> AppResult<Vec<UserView>> {
    if users.is_empty() {
        return Ok(Vec::new());
    }
    let ids: Vec<i64> = users.iter().map(|u| u.id).collect();
    let roles = user_role::Entity::find()
        .filter(user_role::Column::UserId.is_in(ids.iter().copied()))
        .all(conn)
        .await?;
    let tags = user_tag::Entity::find()
        .filter(user_tag::Column::UserId.is_in(ids.iter().copied()))
        .order_by_asc(user_tag::Column::Tag)
        .all(conn)
        .await?;
    Ok(users
        .into_iter()
        .map(|user| {
            let mut r: Vec<Role> = roles
                .iter()
                .filter(|x| x.user_id == user.id)
                .map(|x| x.role)
                .collect();
            r.sort();
            let t = tags
                .iter()
                .filter(|x| x.user_id == user.id)
                .map(|x| x.tag.clone())
                .collect();
            UserView {
                user,
                roles: r,
                tags: t,
            }
        })
        .collect())
}

pub async fn get_view(db: &impl ConnectionTrait, user_id: i64) -> AppResult<Option<UserView>> {
    match user::Entity::find_by_id(user_id).one(db).await? {
        Some(user) => Ok(Some(load_view(db, user).await?)),
        None => Ok(None),
    }
}

/// Stores a new refresh token (in `family`, or a new family) and signs an access token.
/// A new session (a new family, or the next of `family`): a fresh refresh token, stored, and an
/// access token.
async fn issue_session(
    conn: &impl ConnectionTrait,
    state: &AppState,
    user: UserView,
    family: Option<String>,
    now: DateTime<Utc>,
) -> AppResult<Session> {
    let refresh = new_refresh_token();
    let family = family.unwrap_or_else(|| uuid::Uuid::new_v4().to_string());
    let expires_at = refresh_expiry(state, now)?;
    store_refresh(conn, user.user.id, &family, &refresh, expires_at, now).await?;
    session_of(state, user, &family, refresh, expires_at, Utc::now())
}

fn refresh_expiry(state: &AppState, from: DateTime<Utc>) -> AppResult<DateTime<Utc>> {
    Ok(from + chrono::Duration::from_std(state.tokens.refresh_ttl).map_err(AppError::internal)?)
}

async fn store_refresh(
    conn: &impl ConnectionTrait,
    user_id: i64,
    family: &str,
    token: &str,
    expires_at: DateTime<Utc>,
    now: DateTime<Utc>,
) -> AppResult<()> {
    refresh_token::ActiveModel {
        user_id: Set(user_id),
        family_id: Set(family.to_owned()),
        token_hash: Set(refresh_token_hash(token)),
        expires_at: Set(expires_at),
        used_at: Set(None),
        revoked_at: Set(None),
        access_issued_at: Set(None),
        created_at: Set(now),
        ..Default::default()
    }
    .insert(conn)
    .await?;
    Ok(())
}

/// The pair a client gets: the same arguments give the same tokens.
fn session_of(
    state: &AppState,
    user: UserView,
    family: &str,
    refresh_token: String,
    refresh_expires_at: DateTime<Utc>,
    issued: DateTime<Utc>,
) -> AppResult<Session> {
    let roles = user
        .roles
        .iter()
        .map(role_name)
        .map(str::to_owned)
        .collect();
    let (access_token, access_expires_at) = state.tokens.issue_access(
        user.user.id,
        roles,
        user.user.session_version,
        Some(family),
        issued,
    )?;
    Ok(Session {
        access_token,
        access_expires_at,
        refresh_token,
        refresh_expires_at,
        user,
    })
}

pub fn role_name(role: &Role) -> &'static str {
    match role {
        Role::Resident => "RESIDENT",
        Role::Merchant => "MERCHANT",
        Role::Staff => "STAFF",
    }
}

pub struct CreateStaffCommand {
    pub street: String,
    pub phone: String,
    pub display_name: String,
    pub password: String,
}

/// Creates a staff account for a street (creating the street if its name is new). Used by the
/// `create-staff` command, the only way to make the first staff member of a deployment.
pub async fn create_staff(cx: &Cx<'_>, cmd: CreateStaffCommand) -> AppResult<UserView> {
    let state = cx.state();
    let street_name = DisplayName::parse("street", &cmd.street)?.into_inner();
    let phone = Phone::parse("phone", &cmd.phone)?;
    let name = DisplayName::parse("name", &cmd.display_name)?;
    let password = Password::choose("password", cmd.password, &phone)?;
    let hash = state.passwords.hash(&password).await?;
    let txn = cx.write().await?;
    let street = street::find_or_create(&txn, &street_name).await?;
    let now = txn.now();
    let mut row = new_user(&phone, name.into_inner(), hash, None, now);
    row.street_id = Set(Some(street.id));
    // Staff made on the command line administer their street: they add the others.
    row.is_street_admin = Set(true);
    let user = row.insert(&txn).await.or_conflict(phone_taken)?;
    grant_role(&txn, user.id, Role::Staff).await?;
    audit::record(
        &txn,
        AuditRecord {
            street_id: Some(street.id),
            action: AuditAction::StaffCreate,
            target_type: ObjectKind::User,
            target_id: Some(user.id),
            reason: Some("create-staff command".to_owned()),
            change: None,
        },
    )
    .await?;
    let view = load_view(&txn, user).await?;
    txn.commit().await?;
    Ok(view)
}

/// A user as others may see them: the person themself and staff of their street;
/// `FORBIDDEN` for everyone else.
pub async fn visible_user(cx: &Cx<'_>, id: i64) -> AppResult<UserView> {
    let viewer = cx.viewer()?;
    let user = user::Entity::find_by_id(id)
        .one(cx)
        .await?
        .ok_or(AppError::NotFound("user"))?;
    crate::domain::policy::PersonRights::of(Some(viewer), user.id, user.street_id)
        .require_personal()?;
    load_view(cx, user).await
}

pub async fn users_by_ids(db: &impl ConnectionTrait, ids: &[i64]) -> AppResult<Vec<user::Model>> {
    Ok(user::Entity::find()
        .filter(user::Column::Id.is_in(ids.iter().copied()))
        .all(db)
        .await?)
}
