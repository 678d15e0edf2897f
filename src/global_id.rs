//! Opaque, typed IDs: `base64url("Kind:123")`. Clients must not parse them; the kind prefix
//! stops a coupon's ID from being accepted where a merchant's is expected. The API hands them
//! out (`graphql::id`) and so does everything the server gives a person to keep, such as a
//! copy of their data.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

use entity::names::ObjectKind;

pub fn encode(kind: ObjectKind, id: i64) -> String {
    URL_SAFE_NO_PAD.encode(format!("{}:{id}", kind.as_str()))
}

/// The kind and number an ID stands for, if it is one.
pub fn decode(id: &str) -> Option<(ObjectKind, i64)> {
    use sea_orm::Iterable;
    let text = String::from_utf8(URL_SAFE_NO_PAD.decode(id.as_bytes()).ok()?).ok()?;
    let (k, n) = text.split_once(':')?;
    let kind = ObjectKind::iter().find(|kind| kind.as_str() == k)?;
    Some((kind, n.parse::<i64>().ok()?))
}
