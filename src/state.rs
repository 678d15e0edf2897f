//! What every request handler shares.

use sea_orm::DatabaseConnection;

use crate::auth::password::PasswordService;
use crate::auth::token::TokenService;

#[derive(Clone)]
pub struct AppState {
    pub db: DatabaseConnection,
    pub passwords: PasswordService,
    pub tokens: TokenService,
}
