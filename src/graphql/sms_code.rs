//! Codes by SMS: `sendLoginCode` and `loginWithCode`.

use async_graphql::{Context, Object, SimpleObject};

use crate::domain::sms_code;
use crate::error::AppResult;
use crate::graphql::account::AuthPayload;
use crate::graphql::scalars::DateTime;
use crate::graphql::{ContextExt, RequestMeta};

/// A code is on its way.
#[derive(SimpleObject)]
pub struct CodeSent {
    /// Until when the code works (5 minutes).
    pub expires_at: DateTime,
    /// When another code may be asked for (60 seconds on).
    pub resend_at: DateTime,
}

#[derive(Default)]
pub(crate) struct SmsCodeMutation;

#[Object]
impl SmsCodeMutation {
    /// Sends a 6-digit code by SMS to the phone, registered or not (the answer is the same).
    /// The code signs in with `loginWithCode`, sets a password with `resetPasswordWithCode`,
    /// confirms `deleteMyAccount` and binds a phone in `bindWeChatPhone`. It works for 5
    /// minutes and 5 tries; a new code replaces the last. One code a minute per phone, and a
    /// daily cap per phone and per address: `RATE_LIMITED` with `retryAfter`. `UNAVAILABLE` if
    /// the SMS provider failed (nothing was sent) or SMS is not set up.
    async fn send_login_code(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Mainland mobile number.")] phone: String,
    ) -> AppResult<CodeSent> {
        let client = ctx.data_opt::<RequestMeta>().and_then(|m| m.client);
        let sent = sms_code::send(&ctx.cx()?, &phone, client).await?;
        Ok(CodeSent {
            expires_at: sent.expires_at.into(),
            resend_at: sent.resend_at.into(),
        })
    }

    /// Signs in with a code from `sendLoginCode`; a phone new to the alliance becomes a
    /// resident's account (without a password; one can be set with `resetPasswordWithCode`).
    /// A wrong, used or expired code, and one past its 5 tries, is `UNAUTHENTICATED`.
    async fn login_with_code(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The phone the code was sent to.")] phone: String,
        #[graphql(desc = "The 6 digits of the SMS.")] code: String,
    ) -> AppResult<AuthPayload> {
        Ok(
            crate::domain::account::login_with_code(&ctx.cx()?, &phone, &code)
                .await?
                .into(),
        )
    }
}
