//! What every request handler shares.

use sea_orm::DatabaseConnection;

use crate::auth::password::PasswordService;
use crate::auth::token::TokenService;
use crate::clock::SharedClock;

#[derive(Clone)]
pub struct AppState {
    pub db: DatabaseConnection,
    pub passwords: PasswordService,
    pub tokens: TokenService,
    /// Where the rules read the time; tests replace it with a [`crate::clock::ManualClock`].
    pub clock: SharedClock,
}
