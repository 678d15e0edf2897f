//! One-time codes sent by SMS: a code proves that one holds a phone, so it signs in (and
//! registers a new phone), sets a new password, confirms deleting one's account and binds a
//! phone to a WeChat user.
//!
//! A code is 6 digits, good for [`CODE_MINUTES`] minutes and [`MAX_TRIES`] guesses; only the
//! newest code of a phone counts. Sending is limited per phone (one per [`RESEND_SECS`]
//! seconds, [`DAILY_PER_PHONE`] a day) and per client address ([`DAILY_PER_ADDRESS`] a day),
//! counted in the database so that every server process and restart sees the same counts.
//! Whether a phone is registered changes nothing in the answers.

use std::net::IpAddr;

use chrono::{DateTime, Utc};
use rand::Rng;
use sea_orm::sea_query::{Expr, OnConflict};
use sea_orm::{ActiveModelTrait, ColumnTrait, EntityTrait, QueryFilter, QueryOrder, Set};

use entity::{sms_code, sms_quota, wechat_binding};

use crate::clock::{DEFAULT_TIME_ZONE, local_date, local_midnight};
use crate::domain::context::Cx;
use crate::domain::values::Phone;
use crate::error::{AppError, AppResult, Text};

/// Minutes a code is good for.
pub const CODE_MINUTES: i64 = 5;
/// Guesses a code allows; then it is spent.
pub const MAX_TRIES: i32 = 5;
/// Seconds between two codes to one phone.
pub const RESEND_SECS: i64 = 60;
/// Codes one phone receives in a day (Asia/Shanghai).
pub const DAILY_PER_PHONE: i32 = 10;
/// Codes asked for from one client address in a day (a household's or a shop's Wi-Fi is one
/// address for many people).
pub const DAILY_PER_ADDRESS: i32 = 50;

/// What the person is told after asking for a code.
pub struct SentCode {
    pub expires_at: DateTime<Utc>,
    /// When the next code may be asked for.
    pub resend_at: DateTime<Utc>,
}

fn new_code() -> String {
    format!("{:06}", rand::rng().random_range(0..1_000_000u32))
}

/// Sends a new code to `phone` (registered or not: the same work, the same answer).
pub async fn send(cx: &Cx<'_>, phone: &str, client: Option<IpAddr>) -> AppResult<SentCode> {
    let phone = Phone::parse("phone", phone)?;
    let Some(gateway) = cx.state().sms.clone() else {
        return Err(AppError::Unavailable(Text::new(
            "本服务未开通短信验证码",
            "SMS codes are not set up on this server",
        )));
    };
    let now = cx.now();
    // A phone belongs to no street: its days are the default zone's.
    let today = local_date(now, DEFAULT_TIME_ZONE);
    let tomorrow = local_midnight(today + chrono::Duration::days(1), DEFAULT_TIME_ZONE);
    let until_tomorrow = AppError::RateLimited {
        retry_after_secs: (tomorrow - now).num_seconds().max(1) as u64,
    };
    let tx = cx.write().await?;
    // Counting first takes the phone's quota row (PostgreSQL's row lock; SQLite's write
    // transaction holds the database), so racing requests for one phone see each other's codes.
    let sent = count_one(&tx, "phone", phone.as_str(), today).await?;
    let last = sms_code::Entity::find()
        .filter(sms_code::Column::Phone.eq(phone.as_str()))
        .order_by_desc(sms_code::Column::Id)
        .one(&tx)
        .await?;
    if let Some(last) = last.filter(|l| l.failed_at.is_none()) {
        let wait = RESEND_SECS - (now - last.created_at).num_seconds();
        if wait > 0 {
            // Dropping the transaction takes the count back: a refused request sent nothing.
            return Err(AppError::RateLimited {
                retry_after_secs: wait as u64,
            });
        }
    }
    if sent > DAILY_PER_PHONE {
        return Err(until_tomorrow);
    }
    let address = client.map(|a| crate::net::subscriber(a).to_string());
    if let Some(address) = &address
        && count_one(&tx, "address", address, today).await? > DAILY_PER_ADDRESS
    {
        return Err(until_tomorrow);
    }
    let code = new_code();
    let expires_at = now + chrono::Duration::minutes(CODE_MINUTES);
    let row = sms_code::ActiveModel {
        phone: Set(phone.as_str().to_owned()),
        code_hash: Set(cx.state().tokens.code_digest(phone.as_str(), &code)),
        tries: Set(0),
        address: Set(address),
        created_at: Set(now),
        expires_at: Set(expires_at),
        used_at: Set(None),
        failed_at: Set(None),
        ..Default::default()
    }
    .insert(&tx)
    .await?;
    forget_the_day_before_yesterday(&tx, today).await?;
    tx.commit().await?;
    // Sent after the commit: the provider is not called while the write lock is held.
    if let Err(e) = gateway.send_code(phone.as_str(), &code).await {
        tracing::warn!(error = %e, "SMS code not delivered");
        // Not delivered: it stays the newest, so no earlier code comes back to life, but it
        // holds up no resend (the daily counts stay, so a failing provider cannot be used to
        // send without limit).
        sms_code::Entity::update_many()
            .col_expr(sms_code::Column::FailedAt, Expr::value(now))
            .filter(sms_code::Column::Id.eq(row.id))
            .exec(cx)
            .await?;
        return Err(AppError::Unavailable(Text::new(
            "短信发送失败，请稍后再试",
            "The SMS could not be sent; try again later",
        )));
    }
    Ok(SentCode {
        expires_at,
        resend_at: now + chrono::Duration::seconds(RESEND_SECS),
    })
}

/// Adds one to the count of `subject` for `day` (starting afresh on a new day) and returns it.
/// One row per subject: requests for one phone queue on it whatever the day.
async fn count_one(
    cx: &Cx<'_>,
    scope: &str,
    subject: &str,
    day: chrono::NaiveDate,
) -> AppResult<i32> {
    sms_quota::Entity::insert(sms_quota::ActiveModel {
        scope: Set(scope.to_owned()),
        subject: Set(subject.to_owned()),
        day: Set(day),
        sent: Set(1),
    })
    .on_conflict(
        OnConflict::columns([sms_quota::Column::Scope, sms_quota::Column::Subject])
            // Both engines read the row as it was in every `SET` expression.
            .value(
                sms_quota::Column::Sent,
                Expr::case(
                    sea_orm::sea_query::ExprTrait::eq(
                        Expr::col((sms_quota::Entity, sms_quota::Column::Day)),
                        Expr::col((excluded(), sms_quota::Column::Day)),
                    ),
                    sea_orm::sea_query::ExprTrait::add(
                        Expr::col((sms_quota::Entity, sms_quota::Column::Sent)),
                        1,
                    ),
                )
                .finally(1),
            )
            .value(
                sms_quota::Column::Day,
                Expr::col((excluded(), sms_quota::Column::Day)),
            )
            .to_owned(),
    )
    .exec_without_returning(cx)
    .await?;
    let row = sms_quota::Entity::find_by_id((scope.to_owned(), subject.to_owned()))
        .one(cx)
        .await?
        .ok_or_else(|| AppError::internal("SMS quota row vanished"))?;
    Ok(row.sent)
}

/// Phones and addresses are personal data: what codes and counts keep of them goes after a
/// day, as do binding tickets nobody used.
async fn forget_the_day_before_yesterday(cx: &Cx<'_>, today: chrono::NaiveDate) -> AppResult<()> {
    let day_ago = cx.now() - chrono::Duration::days(1);
    sms_code::Entity::delete_many()
        .filter(sms_code::Column::CreatedAt.lt(day_ago))
        .exec(cx)
        .await?;
    sms_quota::Entity::delete_many()
        .filter(sms_quota::Column::Day.lt(today - chrono::Duration::days(1)))
        .exec(cx)
        .await?;
    wechat_binding::Entity::delete_many()
        .filter(wechat_binding::Column::ExpiresAt.lt(day_ago))
        .exec(cx)
        .await?;
    Ok(())
}

/// Spends `code`, the newest sent to `phone`, or fails with `InvalidCode`: wrong, expired,
/// used, out of tries, or never sent. A guess is counted before it is compared, in a write
/// transaction that holds the code's row, so however many guesses race at most
/// [`MAX_TRIES`] are compared, and a right code works once.
pub(crate) async fn spend(cx: &Cx<'_>, phone: &Phone, code: &str) -> AppResult<()> {
    let code = code.trim();
    if code.len() != 6 || !code.bytes().all(|b| b.is_ascii_digit()) {
        return Err(AppError::InvalidCode);
    }
    let now = cx.now();
    let tx = cx.write().await?;
    let newest = sms_code::Entity::find()
        .filter(sms_code::Column::Phone.eq(phone.as_str()))
        .order_by_desc(sms_code::Column::Id)
        .one(&tx)
        .await?;
    let Some(row) =
        newest.filter(|r| r.used_at.is_none() && r.failed_at.is_none() && r.expires_at > now)
    else {
        return Err(AppError::InvalidCode);
    };
    let open = || {
        sms_code::Entity::update_many()
            .filter(sms_code::Column::Id.eq(row.id))
            .filter(sms_code::Column::UsedAt.is_null())
    };
    let tried = open()
        .col_expr(
            sms_code::Column::Tries,
            sea_orm::sea_query::ExprTrait::add(Expr::col(sms_code::Column::Tries), 1),
        )
        .filter(sms_code::Column::Tries.lt(MAX_TRIES))
        .exec(&tx)
        .await?;
    if tried.rows_affected == 0 {
        return Err(AppError::InvalidCode);
    }
    if cx.state().tokens.code_digest(phone.as_str(), code) != row.code_hash {
        // The guess stays counted.
        tx.commit().await?;
        return Err(AppError::InvalidCode);
    }
    open()
        .col_expr(sms_code::Column::UsedAt, Expr::value(now))
        .exec(&tx)
        .await?;
    tx.commit().await
}

/// The row an upsert proposed (`excluded`, on both engines).
fn excluded() -> sea_orm::sea_query::Alias {
    sea_orm::sea_query::Alias::new("excluded")
}
