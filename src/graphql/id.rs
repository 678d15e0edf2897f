//! Opaque, typed IDs: `base64url("Kind:123")`. Clients must not parse them; the kind prefix
//! stops a coupon's ID from being accepted where a merchant's is expected.

use async_graphql::ID;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

use entity::names::ObjectKind;

use crate::error::{AppError, AppResult, Text};

pub fn encode(kind: ObjectKind, id: i64) -> ID {
    ID(URL_SAFE_NO_PAD.encode(format!("{}:{id}", kind.as_str())))
}

/// Decodes an ID of any kind.
pub fn decode_any(field: &'static str, id: &ID) -> AppResult<(ObjectKind, i64)> {
    use sea_orm::Iterable;
    URL_SAFE_NO_PAD
        .decode(id.as_bytes())
        .ok()
        .and_then(|bytes| String::from_utf8(bytes).ok())
        .and_then(|s| {
            let (k, n) = s.split_once(':')?;
            let kind = ObjectKind::iter().find(|kind| kind.as_str() == k)?;
            Some((kind, n.parse::<i64>().ok()?))
        })
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
