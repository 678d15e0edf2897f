//! Signing in from the WeChat mini-program. The mini-program's `wx.login()` code is traded
//! with WeChat for the user's `openid`; a linked `openid` signs its account in. A WeChat user
//! seen for the first time gets a binding ticket and proves a phone with an SMS code: the
//! phone's account (a new resident's if the phone is new) is then linked to the `openid`. Only
//! our tokens ever leave the server: never `openid`, `unionid` or WeChat's `session_key`.

use chrono::{DateTime, Utc};
use sea_orm::sea_query::Expr;
use sea_orm::{ActiveModelTrait, ColumnTrait, EntityTrait, QueryFilter, Set};

use entity::names::ObjectKind;
use entity::{user, wechat_account, wechat_binding};

use crate::auth::token::{new_refresh_token, refresh_token_hash};
use crate::db::OrConflict;
use crate::domain::account::{self, Session};
use crate::domain::audit::{self, AuditAction, AuditRecord};
use crate::domain::context::Cx;
use crate::domain::sms_code;
use crate::domain::values::Phone;
use crate::error::{AppError, AppResult, Text};
use crate::gateway::wechat::{WeChatError, WeChatUser};

/// Minutes a binding ticket is good for.
pub const BINDING_MINUTES: i64 = 10;

/// What a WeChat sign-in comes to.
pub enum WeChatSignIn {
    Session(Box<Session>),
    /// The WeChat user is new to us: bind a phone with [`bind_phone`] and this ticket.
    PhoneNeeded {
        ticket: String,
        expires_at: DateTime<Utc>,
    },
}

fn unavailable(zh: &'static str, en: &'static str) -> AppError {
    AppError::Unavailable(Text::new(zh, en))
}

/// Trades a `wx.login()` code: the linked account's session, or a binding ticket.
pub async fn login(cx: &Cx<'_>, code: &str) -> AppResult<WeChatSignIn> {
    let Some(wechat) = &cx.state().wechat else {
        return Err(unavailable(
            "本服务未开通微信登录",
            "WeChat sign-in is not set up on this server",
        ));
    };
    let code = code.trim();
    if code.is_empty() || code.len() > 128 || !code.is_ascii() {
        return Err(AppError::bad_input(
            "code",
            Text::new("不是 wx.login 返回的 code", "Not a code from wx.login"),
        ));
    }
    let who = wechat.code_to_session(code).await.map_err(|e| match e {
        WeChatError::InvalidCode => AppError::InvalidCode,
        WeChatError::RateLimited => AppError::RateLimited {
            retry_after_secs: 60,
        },
        WeChatError::Busy => unavailable("微信服务繁忙，请稍后再试", "WeChat is busy; try again"),
        WeChatError::Blocked => AppError::Forbidden,
        WeChatError::Other(why) => {
            tracing::error!(error = %why, "WeChat code2session failed");
            unavailable("微信登录暂不可用", "WeChat sign-in is unavailable for now")
        }
    })?;
    let tx = cx.write().await?;
    let linked = wechat_account::Entity::find()
        .filter(wechat_account::Column::Openid.eq(who.openid.as_str()))
        .one(&tx)
        .await?;
    let answer = match linked {
        Some(link) => {
            let user = user::Entity::find_by_id(link.user_id)
                .one(&tx)
                .await?
                .filter(|u| !u.disabled)
                .ok_or_else(account::suspended)?;
            if who.unionid.is_some() && link.unionid != who.unionid {
                let mut am: wechat_account::ActiveModel = link.into();
                am.unionid = Set(who.unionid.clone());
                am.update(&tx).await?;
            }
            WeChatSignIn::Session(Box::new(account::start_session(&tx, user).await?))
        }
        None => {
            let ticket = new_refresh_token();
            let expires_at = cx.now() + chrono::Duration::minutes(BINDING_MINUTES);
            wechat_binding::ActiveModel {
                ticket_hash: Set(refresh_token_hash(&ticket)),
                openid: Set(who.openid),
                unionid: Set(who.unionid),
                created_at: Set(cx.now()),
                expires_at: Set(expires_at),
                used_at: Set(None),
                ..Default::default()
            }
            .insert(&tx)
            .await?;
            WeChatSignIn::PhoneNeeded { ticket, expires_at }
        }
    };
    tx.commit().await?;
    Ok(answer)
}

/// A new WeChat user proves a phone with an SMS code: the phone's account (a new resident's
/// if the phone is new) is linked to the WeChat user, replacing an earlier link of either, and
/// signed in. The ticket works once. Audited.
pub async fn bind_phone(cx: &Cx<'_>, ticket: &str, phone: &str, code: &str) -> AppResult<Session> {
    let phone = Phone::parse("phone", phone)?;
    let now = cx.now();
    let find_binding = wechat_binding::Entity::find()
        .filter(wechat_binding::Column::TicketHash.eq(refresh_token_hash(ticket.trim())))
        .filter(wechat_binding::Column::UsedAt.is_null())
        .filter(wechat_binding::Column::ExpiresAt.gt(now));
    // Checked before the code is spent, so a stale ticket does not cost the person their code.
    if find_binding.clone().one(cx).await?.is_none() {
        return Err(AppError::Unauthenticated);
    }
    sms_code::spend(cx, &phone, code).await?;
    let tx = cx.write().await?;
    let Some(binding) = find_binding.one(&tx).await? else {
        return Err(AppError::Unauthenticated);
    };
    let taken = wechat_binding::Entity::update_many()
        .col_expr(wechat_binding::Column::UsedAt, Expr::value(now))
        .filter(wechat_binding::Column::Id.eq(binding.id))
        .filter(wechat_binding::Column::UsedAt.is_null())
        .exec(&tx)
        .await?;
    if taken.rows_affected == 0 {
        return Err(AppError::Unauthenticated);
    }
    let user = account::find_or_register(&tx, &phone).await?;
    link(
        &tx,
        &user,
        WeChatUser {
            openid: binding.openid,
            unionid: binding.unionid,
        },
    )
    .await?;
    let session = account::start_session(&tx, user).await?;
    tx.commit().await?;
    Ok(session)
}

async fn link(cx: &Cx<'_>, user: &user::Model, who: WeChatUser) -> AppResult<()> {
    wechat_account::Entity::delete_many()
        .filter(
            sea_orm::Condition::any()
                .add(wechat_account::Column::UserId.eq(user.id))
                .add(wechat_account::Column::Openid.eq(who.openid.as_str())),
        )
        .exec(cx)
        .await?;
    wechat_account::ActiveModel {
        user_id: Set(user.id),
        openid: Set(who.openid),
        unionid: Set(who.unionid),
        created_at: Set(cx.now()),
        ..Default::default()
    }
    .insert(cx)
    .await
    // The same WeChat user or account bound a moment ago by another request.
    .or_conflict(|| AppError::Conflict {
        field: "bindingTicket".into(),
        text: Text::new(
            "刚刚已绑定，请重新登录",
            "Bound a moment ago; sign in again",
        ),
    })?;
    audit::record(
        cx,
        AuditRecord::of(
            user.street_id,
            AuditAction::WeChatLink,
            ObjectKind::User,
            user.id,
        ),
    )
    .await
}
