//! Who is asking: token checks, password hashing, and the signed-in viewer with its roles.

pub mod password;
pub mod token;
pub mod weak;

use std::collections::BTreeSet;

pub use entity::user_role::Role;

use crate::error::{AppError, AppResult};

/// The signed-in user as loaded at the start of a request: roles and street come from the
/// database, not from the token, so a change takes effect on the very next request.
#[derive(Clone, Debug)]
pub struct Viewer {
    pub user_id: i64,
    pub roles: BTreeSet<Role>,
    pub street_id: Option<i64>,
    pub community_id: Option<i64>,
    /// A staff member who administers their street's staff.
    pub street_admin: bool,
}

impl Viewer {
    pub fn has(&self, role: Role) -> bool {
        self.roles.contains(&role)
    }

    /// Passes when the viewer holds any of `roles`.
    pub fn require_any(&self, roles: &[Role]) -> AppResult<()> {
        if roles.iter().any(|r| self.has(*r)) {
            Ok(())
        } else {
            Err(AppError::Forbidden)
        }
    }
}

/// Who sent the request.
#[derive(Clone, Debug, Default)]
pub enum Auth {
    #[default]
    Anonymous,
    User(Viewer),
}

impl Auth {
    pub fn viewer(&self) -> AppResult<&Viewer> {
        match self {
            Auth::User(v) => Ok(v),
            Auth::Anonymous => Err(AppError::Unauthenticated),
        }
    }

    pub fn viewer_opt(&self) -> Option<&Viewer> {
        match self {
            Auth::User(v) => Some(v),
            Auth::Anonymous => None,
        }
    }
}
