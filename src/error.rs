//! The one error type of the server. Each variant has a stable code (sent to clients in
//! `extensions.code`) and a message in Chinese and English. Internal causes are logged, never
//! sent.

use std::borrow::Cow;

/// The language a client asked for with `Accept-Language`; Chinese unless it prefers English.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Lang {
    #[default]
    Zh,
    En,
}

impl Lang {
    /// The text of the two that is in this language.
    pub fn pick<'a>(self, zh: &'a str, en: &'a str) -> &'a str {
        match self {
            Lang::Zh => zh,
            Lang::En => en,
        }
    }

    /// Picks the first language of an `Accept-Language` header that we speak.
    pub fn from_accept_language(header: Option<&str>) -> Lang {
        let Some(header) = header else {
            return Lang::Zh;
        };
        for part in header.split(',') {
            let tag = part
                .split(';')
                .next()
                .unwrap_or("")
                .trim()
                .to_ascii_lowercase();
            if tag.starts_with("en") {
                return Lang::En;
            }
            if tag.starts_with("zh") || tag == "*" {
                return Lang::Zh;
            }
        }
        Lang::Zh
    }
}

/// A message in both languages the users read.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Text {
    pub zh: Cow<'static, str>,
    pub en: Cow<'static, str>,
}

impl Text {
    pub const fn new(zh: &'static str, en: &'static str) -> Text {
        Text {
            zh: Cow::Borrowed(zh),
            en: Cow::Borrowed(en),
        }
    }

    pub fn owned(zh: String, en: String) -> Text {
        Text {
            zh: Cow::Owned(zh),
            en: Cow::Owned(en),
        }
    }

    pub fn get(&self, lang: Lang) -> &str {
        match lang {
            Lang::Zh => &self.zh,
            Lang::En => &self.en,
        }
    }
}

/// Every way a request can fail, as clients see it. It deliberately does not implement
/// `Display`: the only way out to a client is through [`AppError::message`], so an internal
/// cause can never be sent by accident.
#[derive(Clone, Debug)]
pub enum AppError {
    Unauthenticated,
    InvalidCredentials,
    /// A one-time code (SMS, reset) that is wrong, used, expired or out of tries.
    InvalidCode,
    Forbidden,
    /// Refused for a reason the person should read (a closed door, not a missing right).
    Refused(Text),
    NotFound(&'static str),
    BadInput {
        field: Cow<'static, str>,
        text: Text,
    },
    Conflict {
        field: Cow<'static, str>,
        text: Text,
    },
    InvalidState(Text),
    OutOfStock,
    LimitReached,
    NotEligible(Text),
    Expired,
    AlreadyRedeemed,
    /// An idempotency key sent again with other parameters than the first time.
    IdempotencyKeyReused,
    ActivityFull,
    InsufficientPoints,
    /// A voucher has less value left than the amount asked.
    InsufficientValue,
    RateLimited {
        retry_after_secs: u64,
    },
    /// The request ran out of its time (`SHANGJU_REQUEST_TIMEOUT`): a stalled database, a lock.
    Timeout,
    /// A service outside ours (the SMS provider, WeChat) failed or is not set up; nothing
    /// changed and the client may try again later.
    Unavailable(Text),
    /// The database cannot write now (a full disk, a read-only file, an I/O error): nothing
    /// changed, and the same request may succeed in a few seconds.
    StorageFault,
    Internal(String),
}

pub type AppResult<T> = Result<T, AppError>;

impl AppError {
    pub fn bad_input(field: impl Into<Cow<'static, str>>, text: Text) -> AppError {
        AppError::BadInput {
            field: field.into(),
            text,
        }
    }

    pub fn internal(cause: impl std::fmt::Display) -> AppError {
        AppError::Internal(cause.to_string())
    }

    /// The stable code clients switch on.
    pub fn code(&self) -> &'static str {
        match self {
            AppError::Unauthenticated | AppError::InvalidCredentials | AppError::InvalidCode => {
                "UNAUTHENTICATED"
            }
            AppError::Forbidden | AppError::Refused(_) => "FORBIDDEN",
            AppError::NotFound(_) => "NOT_FOUND",
            AppError::BadInput { .. } => "BAD_USER_INPUT",
            AppError::Conflict { .. } => "CONFLICT",
            AppError::InvalidState(_) => "INVALID_STATE",
            AppError::OutOfStock => "OUT_OF_STOCK",
            AppError::LimitReached => "LIMIT_REACHED",
            AppError::NotEligible(_) => "NOT_ELIGIBLE",
            AppError::Expired => "EXPIRED",
            AppError::AlreadyRedeemed => "ALREADY_REDEEMED",
            AppError::IdempotencyKeyReused => "IDEMPOTENCY_KEY_REUSED",
            AppError::ActivityFull => "ACTIVITY_FULL",
            AppError::InsufficientPoints => "INSUFFICIENT_POINTS",
            AppError::InsufficientValue => "INSUFFICIENT_VALUE",
            AppError::RateLimited { .. } => "RATE_LIMITED",
            AppError::Timeout => "TIMEOUT",
            AppError::Unavailable(_) | AppError::StorageFault => "UNAVAILABLE",
            AppError::Internal(_) => "INTERNAL_SERVER_ERROR",
        }
    }

    /// The message shown to a user, in their language.
    pub fn message(&self, lang: Lang) -> Cow<'static, str> {
        let fixed = |zh: &'static str, en: &'static str| {
            Cow::Borrowed(if lang == Lang::En { en } else { zh })
        };
        match self {
            AppError::Unauthenticated => fixed("请先登录", "Please sign in"),
            AppError::InvalidCredentials => {
                fixed("手机号或密码错误", "Wrong phone number or password")
            }
            AppError::InvalidCode => {
                fixed("验证码错误或已失效", "The code is wrong or no longer valid")
            }
            AppError::Forbidden => fixed("无权执行此操作", "You are not allowed to do this"),
            AppError::NotFound(_) => fixed("对象不存在", "Not found"),
            AppError::BadInput { text, .. }
            | AppError::Conflict { text, .. }
            | AppError::InvalidState(text)
            | AppError::Refused(text)
            | AppError::Unavailable(text)
            | AppError::NotEligible(text) => Cow::Owned(text.get(lang).to_owned()),
            AppError::OutOfStock => fixed("已被领完", "Out of stock"),
            AppError::LimitReached => fixed("已达到领取上限", "Limit reached"),
            AppError::Expired => fixed("已过期", "Expired"),
            AppError::AlreadyRedeemed => fixed("已核销，不能重复核销", "Already redeemed"),
            AppError::IdempotencyKeyReused => fixed(
                "该幂等键已用于另一请求，请换一个新键",
                "This idempotency key was used for another request; use a new key",
            ),
            AppError::ActivityFull => fixed("活动名额已满", "The activity is full"),
            AppError::InsufficientPoints => fixed("积分不足", "Not enough points"),
            AppError::InsufficientValue => {
                fixed("代金券余额不足", "Not enough value left on the voucher")
            }
            AppError::RateLimited { retry_after_secs } => Cow::Owned(match lang {
                Lang::Zh => format!("尝试次数过多，请 {retry_after_secs} 秒后再试"),
                Lang::En => format!("Too many attempts; try again in {retry_after_secs} s"),
            }),
            AppError::Timeout => fixed(
                "服务器繁忙，请求超时，请稍后再试",
                "The request took too long; try again later",
            ),
            AppError::StorageFault => fixed(
                "数据暂时无法保存，请稍后再试",
                "The data cannot be saved right now; try again in a few seconds",
            ),
            AppError::Internal(_) => fixed("服务器内部错误", "Internal server error"),
        }
    }

    /// Extra `extensions` entries besides `code`.
    pub fn extra_extensions(&self) -> Vec<(&'static str, serde_json::Value)> {
        match self {
            AppError::BadInput { field, .. } | AppError::Conflict { field, .. } => {
                vec![("field", serde_json::Value::from(field.as_ref()))]
            }
            AppError::RateLimited { retry_after_secs } => {
                vec![("retryAfter", serde_json::Value::from(*retry_after_secs))]
            }
            AppError::StorageFault => {
                vec![(
                    "retryAfter",
                    serde_json::Value::from(STORAGE_RETRY_AFTER_SECS),
                )]
            }
            _ => Vec::new(),
        }
    }
}

impl From<sea_orm::DbErr> for AppError {
    fn from(err: sea_orm::DbErr) -> AppError {
        // Refused by the request's cutoff: the request has been answered already, nothing
        // stalled.
        if matches!(&err, sea_orm::DbErr::Custom(m) if m == PAST_CUTOFF) {
            return AppError::Timeout;
        }
        if is_stall(&err) {
            tracing::warn!(error = %err, "database stalled");
            return AppError::Timeout;
        }
        if is_storage_fault(&err) {
            tracing::error!(error = %err, "the database cannot write");
            return AppError::StorageFault;
        }
        AppError::Internal(format!("database: {err}"))
    }
}

/// When a client told of a storage fault should try again.
pub const STORAGE_RETRY_AFTER_SECS: u64 = 5;

/// A database that cannot store now, through no fault of the request: SQLite's
/// `SQLITE_READONLY`, `SQLITE_IOERR`, `SQLITE_FULL` and `SQLITE_CANTOPEN` (with their extended
/// codes), PostgreSQL's `disk_full`, `io_error` and `read_only_sql_transaction`.
pub fn is_storage_fault(err: &sea_orm::DbErr) -> bool {
    use sea_orm::{DbErr, RuntimeErr};
    let runtime = match err {
        DbErr::Conn(e) | DbErr::Exec(e) | DbErr::Query(e) => e,
        _ => return false,
    };
    let RuntimeErr::SqlxError(e) = runtime else {
        return false;
    };
    let sea_orm::sqlx::Error::Database(db) = e.as_ref() else {
        return false;
    };
    let Some(code) = db.code() else {
        return false;
    };
    if db
        .try_downcast_ref::<sea_orm::sqlx::sqlite::SqliteError>()
        .is_some()
    {
        // The primary code is the low byte of an extended one.
        return code
            .parse::<i32>()
            .is_ok_and(|c| matches!(c & 0xff, 8 | 10 | 13 | 14));
    }
    // PostgreSQL's SQLSTATEs (also all digits).
    matches!(code.as_ref(), "53100" | "58030" | "25006")
}

/// The error of a statement refused because its request is past its cutoff (`rows::Cutoff`).
pub(crate) const PAST_CUTOFF: &str = "the request is past its cutoff";

/// A database that did not answer in time: no free connection, a statement cancelled by
/// PostgreSQL's `statement_timeout` (SQLSTATE 57014), or SQLite's lock still held after the
/// busy timeout. The client can retry; nothing is wrong with its request.
fn is_stall(err: &sea_orm::DbErr) -> bool {
    use sea_orm::{DbErr, RuntimeErr};
    let runtime = match err {
        DbErr::ConnectionAcquire(_) => return true,
        DbErr::Conn(e) | DbErr::Exec(e) | DbErr::Query(e) => e,
        _ => return false,
    };
    let RuntimeErr::SqlxError(e) = runtime else {
        return false;
    };
    match e.as_ref() {
        sea_orm::sqlx::Error::PoolTimedOut => true,
        sea_orm::sqlx::Error::Database(db) => {
            matches!(db.code().as_deref(), Some("57014" | "5" | "6" | "517"))
        }
        _ => false,
    }
}
