//! Signing in from the WeChat mini-program: `loginWithWeChat` and `bindWeChatPhone`.

use async_graphql::{Context, Object, SimpleObject, Union};

use crate::domain::wechat::{self, WeChatSignIn};
use crate::error::AppResult;
use crate::graphql::ContextExt;
use crate::graphql::account::AuthPayload;
use crate::graphql::scalars::DateTime;

/// A WeChat user new to the alliance: prove a phone with `sendLoginCode` and
/// `bindWeChatPhone`, passing this ticket.
#[derive(SimpleObject)]
pub struct WeChatPhoneNeeded {
    /// Single use, secret; for `bindWeChatPhone`.
    pub binding_ticket: String,
    /// Until when the ticket works (10 minutes).
    pub expires_at: DateTime,
}

/// What a WeChat sign-in comes to: a session, or a phone to bind first.
#[derive(Union)]
pub enum WeChatLoginResult {
    /// The WeChat user's account, signed in.
    AuthPayload(Box<AuthPayload>),
    /// A WeChat user seen for the first time.
    WeChatPhoneNeeded(WeChatPhoneNeeded),
}

#[derive(Default)]
pub(crate) struct WeChatMutation;

#[Object]
impl WeChatMutation {
    /// Signs in with the code of the mini-program's `wx.login()`. A WeChat user linked to an
    /// account is signed in; a new one gets a ticket to bind a phone. Only our tokens are
    /// returned, never WeChat's ids or session key. An invalid or used code is
    /// `UNAUTHENTICATED` (call `wx.login()` again); WeChat's rate limit is `RATE_LIMITED`;
    /// WeChat busy or not set up is `UNAVAILABLE`.
    async fn login_with_we_chat(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The code `wx.login()` returned.")] code: String,
    ) -> AppResult<WeChatLoginResult> {
        Ok(match wechat::login(&ctx.cx()?, &code).await? {
            WeChatSignIn::Session(s) => WeChatLoginResult::AuthPayload(Box::new((*s).into())),
            WeChatSignIn::PhoneNeeded { ticket, expires_at } => {
                WeChatLoginResult::WeChatPhoneNeeded(WeChatPhoneNeeded {
                    binding_ticket: ticket,
                    expires_at: expires_at.into(),
                })
            }
        })
    }

    /// A new WeChat user binds a phone with a code from `sendLoginCode`: the phone's account (a
    /// new resident's if the phone is new) is linked to the WeChat user and signed in; the next
    /// `loginWithWeChat` signs straight in. An unknown, used or expired ticket is
    /// `UNAUTHENTICATED`. Audited.
    async fn bind_we_chat_phone(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The ticket `loginWithWeChat` gave.")] binding_ticket: String,
        #[graphql(desc = "The phone to bind.")] phone: String,
        #[graphql(desc = "The 6 digits sent to it.")] code: String,
    ) -> AppResult<AuthPayload> {
        Ok(
            wechat::bind_phone(&ctx.cx()?, &binding_ticket, &phone, &code)
                .await?
                .into(),
        )
    }
}
