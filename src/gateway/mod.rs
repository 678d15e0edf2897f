//! The services outside ours that the server calls: the SMS provider that delivers sign-in
//! codes, and WeChat's `code2session` for the mini-program. Each is a small client of its HTTP
//! API that knows nothing of the rules; the domain decides what to send and what an answer
//! means.

pub mod sms;
pub mod wechat;

use std::time::Duration;

/// How long a call to an outside service may take; the person is waiting at their phone.
pub const CALL_TIMEOUT: Duration = Duration::from_secs(5);

/// The HTTP client the gateways share (connections are kept and reused).
pub fn http_client() -> reqwest::Client {
    reqwest::Client::builder()
        .timeout(CALL_TIMEOUT)
        .connect_timeout(Duration::from_secs(2))
        // A redirect would post the API key (or send the app secret) somewhere else.
        .redirect(reqwest::redirect::Policy::none())
        .user_agent(concat!("shangju/", env!("CARGO_PKG_VERSION")))
        .build()
        .unwrap_or_else(|e| {
            // Only a TLS back end that cannot start fails here; calls then fail, and say so.
            tracing::error!(error = %e, "HTTP client for outside services not built");
            reqwest::Client::new()
        })
}
