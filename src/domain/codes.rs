//! Codes a person shows at a counter and keys that make retries safe. Coupon claims use them
//! now; entitlements and activity check-in will too.

use rand::Rng;

use crate::domain::values::bad;
use crate::error::AppResult;

/// Crockford's base-32 alphabet: no I, L, O or U, so a code read aloud or typed is unambiguous.
const CODE_ALPHABET: &[u8] = b"0123456789ABCDEFGHJKMNPQRSTVWXYZ";
const CODE_LEN: usize = 12;

/// 60 random bits, shown as `XXXX-XXXX-XXXX`.
pub fn new_code() -> String {
    let mut rng = rand::rng();
    (0..CODE_LEN)
        .map(|_| CODE_ALPHABET[rng.random_range(0..CODE_ALPHABET.len())] as char)
        .collect()
}

/// Accepts what a clerk types or a scanner reads: any case, dashes and spaces, `O` for `0`,
/// `I`/`L` for `1`, or the full QR payload with `qr_prefix`.
pub fn normalize_code(raw: &str, qr_prefix: &str) -> Option<String> {
    let raw = raw.trim();
    let raw = raw.strip_prefix(qr_prefix).unwrap_or(raw);
    let code: String = raw
        .chars()
        .filter(|c| !matches!(c, '-' | ' '))
        .map(|c| match c.to_ascii_uppercase() {
            'O' => '0',
            'I' | 'L' => '1',
            other => other,
        })
        .collect();
    (code.len() == CODE_LEN && code.bytes().all(|b| CODE_ALPHABET.contains(&b))).then_some(code)
}

/// `ABCD1234WXYZ` → `ABCD-1234-WXYZ`.
pub fn display_code(code: &str) -> String {
    code.as_bytes()
        .chunks(4)
        .map(|c| String::from_utf8_lossy(c).into_owned())
        .collect::<Vec<_>>()
        .join("-")
}

/// An idempotency key as a client sends it: 1 to 64 letters, digits, `-` or `_`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IdempotencyKey(String);

impl IdempotencyKey {
    pub fn parse(field: &'static str, raw: &str) -> AppResult<IdempotencyKey> {
        let ok = (1..=64).contains(&raw.len())
            && raw
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
        if ok {
            Ok(IdempotencyKey(raw.to_owned()))
        } else {
            Err(bad(
                field,
                "幂等键应为 1 到 64 位字母、数字、- 或 _",
                "idempotencyKey has 1 to 64 letters, digits, - or _",
            ))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const QR: &str = "shangju:coupon:";

    #[test]
    fn codes_are_typable_and_normalised() {
        let c = new_code();
        assert_eq!(c.len(), 12);
        let shown = display_code(&c);
        assert_eq!(normalize_code(&shown.to_lowercase(), QR), Some(c.clone()));
        assert_eq!(normalize_code(&format!("{QR}{c}"), QR), Some(c));
        assert_eq!(
            normalize_code("O1IL-0000-0000", QR),
            Some("0111000000000".chars().take(12).collect())
        );
        assert_eq!(normalize_code("short", QR), None);
        assert_eq!(normalize_code("UUUU-UUUU-UUUU", QR), None);
    }

    #[test]
    fn keys_are_bounded_and_plain() {
        assert!(IdempotencyKey::parse("k", "abc-DEF_123").is_ok());
        assert!(IdempotencyKey::parse("k", "").is_err());
        assert!(IdempotencyKey::parse("k", &"x".repeat(65)).is_err());
        assert!(IdempotencyKey::parse("k", "a b").is_err());
    }
}
