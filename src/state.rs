//! What every request handler shares.

use sea_orm::DatabaseConnection;

use crate::auth::password::PasswordService;
use crate::auth::token::TokenService;
use crate::clock::SharedClock;
use crate::metrics::Metrics;

#[derive(Clone)]
pub struct AppState {
    pub db: DatabaseConnection,
    pub passwords: PasswordService,
    /// Shared, not copied: handlers and middleware clone the state several times a request,
    /// and a token service holds keys and a validation of several allocations.
    pub tokens: std::sync::Arc<TokenService>,
    /// Where the rules read the time; tests replace it with a [`crate::clock::ManualClock`].
    pub clock: SharedClock,
    /// This server's metrics (its own registry, served at `/metrics`).
    pub metrics: std::sync::Arc<Metrics>,
    /// Delivers sign-in codes; `None` when SMS is off.
    pub sms: Option<std::sync::Arc<dyn crate::gateway::sms::SmsGateway>>,
    /// With SMS off, whether anyone may register a phone without proving it (development, or
    /// an operator's explicit choice); otherwise registration is closed.
    pub unverified_registration: bool,
    /// The storage faults commands met, shared with the pool (see [`crate::db::StorageFaults`]).
    pub storage: crate::db::StorageFaults,
    /// WeChat's `code2session`; `None` when WeChat sign-in is not set up.
    pub wechat: Option<std::sync::Arc<crate::gateway::wechat::WeChat>>,
}
