//! The API's opaque IDs (see [`crate::global_id`]) as GraphQL `ID`s.

use async_graphql::ID;

use entity::names::ObjectKind;

use crate::error::{AppError, AppResult, Text};
use crate::global_id;

pub fn encode(kind: ObjectKind, id: i64) -> ID {
    ID(global_id::encode(kind, id))
}

/// Decodes an ID of any kind.
pub fn decode_any(field: &'static str, id: &ID) -> AppResult<(ObjectKind, i64)> {
    global_id::decode(id.as_str())
        .ok_or_else(|| AppError::bad_input(field, Text::new("无效的 ID", "Not a valid ID")))
}

/// Decodes an ID of `kind`; anything else is a `BAD_USER_INPUT` on `field`.
pub fn decode(kind: ObjectKind, field: &'static str, id: &ID) -> AppResult<i64> {
    match decode_any(field, id) {
        Ok((k, n)) if k == kind => Ok(n),
        _ => Err(AppError::bad_input(
            field,
            Text::owned(
                format!("无效的 {} ID", kind.as_str()),
                format!("Not a valid {} ID", kind.as_str()),
            ),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_and_checks_kind() {
        let id = encode(ObjectKind::User, 42);
        assert_eq!(decode(ObjectKind::User, "id", &id).ok(), Some(42));
        assert!(decode(ObjectKind::Street, "id", &id).is_err());
        assert!(decode(ObjectKind::User, "id", &ID("not-base64!".into())).is_err());
    }
}
