//! SeaORM entities of the alliance: one module per table.

pub mod audit_entry;
pub mod community;
pub mod login_throttle;
pub mod refresh_token;
pub mod street;
pub mod user;
pub mod user_role;
pub mod user_tag;

pub mod prelude {
    pub use super::audit_entry::Entity as AuditEntry;
    pub use super::community::Entity as Community;
    pub use super::login_throttle::Entity as LoginThrottle;
    pub use super::refresh_token::Entity as RefreshToken;
    pub use super::street::Entity as Street;
    pub use super::user::Entity as User;
    pub use super::user_role::Entity as UserRole;
    pub use super::user_tag::Entity as UserTag;
}
