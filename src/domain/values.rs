//! Domain newtypes: once built, a value is valid, so the rest of the code need not check it again.

use std::fmt;

use crate::error::{AppError, AppResult, Text};

/// A mainland China mobile number, normalised to its 11 digits.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct Phone(String);

impl Phone {
    /// Accepts `13812345678`, `+86 138-1234-5678` and `0086 13812345678`.
    pub fn parse(field: &'static str, raw: &str) -> AppResult<Phone> {
        let digits: String = raw
            .chars()
            .filter(|c| !c.is_whitespace() && *c != '-')
            .collect();
        let digits = digits
            .strip_prefix("+86")
            .or_else(|| digits.strip_prefix("0086"))
            .unwrap_or(&digits);
        let bytes = digits.as_bytes();
        let valid = bytes.len() == 11
            && bytes[0] == b'1'
            && (b'3'..=b'9').contains(&bytes[1])
            && bytes.iter().all(u8::is_ascii_digit);
        if !valid {
            return Err(AppError::bad_input(
                field,
                Text::new(
                    "手机号格式不正确，应为 11 位大陆手机号",
                    "Not a valid mainland China mobile number",
                ),
            ));
        }
        Ok(Phone(digits.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn into_inner(self) -> String {
        self.0
    }
}

/// Logs and debug output never carry a whole phone number.
impl fmt::Debug for Phone {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&mask_phone(&self.0))
    }
}

/// `13812345678` → `138****5678`; anything shorter keeps only its first character.
pub fn mask_phone(phone: &str) -> String {
    if phone.len() == 11 && phone.is_ascii() {
        format!("{}****{}", &phone[..3], &phone[7..])
    } else {
        let first: String = phone.chars().take(1).collect();
        format!("{first}****")
    }
}

/// A name as the public sees it without its holder's consent: its first and last character
/// (`陈文林` → `陈*林`, `欧阳娜娜` → `欧**娜`, `王五` → `王*`), enough for its holder to
/// recognise, not for a stranger to name.
pub fn mask_name(name: &str) -> String {
    let chars: Vec<char> = name.trim().chars().collect();
    match chars.len() {
        0 => String::new(),
        1 => "*".to_owned(),
        2 => format!("{}*", chars[0]),
        n => format!("{}{}{}", chars[0], "*".repeat(n - 2), chars[n - 1]),
    }
}

pub use crate::auth::password::Password;

/// The rules of a password someone chooses: 8 to 128 characters, no composition rules (NIST SP
/// 800-63B), not one an attacker tries first.
impl Password {
    pub const MIN_CHARS: usize = 8;
    pub const MAX_CHARS: usize = 128;

    pub fn parse(field: &'static str, raw: String) -> AppResult<Password> {
        let n = raw.chars().count();
        if !(Self::MIN_CHARS..=Self::MAX_CHARS).contains(&n) {
            return Err(AppError::bad_input(
                field,
                Text::new(
                    "密码长度应为 8 到 128 个字符",
                    "A password must have 8 to 128 characters",
                ),
            ));
        }
        Ok(Password::unchecked(raw))
    }

    /// A password someone chooses for the account of `phone`: of a valid length, and not one an
    /// attacker tries first ([`crate::auth::weak`]).
    pub fn choose(field: &'static str, raw: String, phone: &Phone) -> AppResult<Password> {
        use crate::auth::weak::{Weakness, weakness};
        let password = Password::parse(field, raw)?;
        let Some(why) = weakness(password.expose(), phone.as_str()) else {
            return Ok(password);
        };
        let text = match why {
            Weakness::Common | Weakness::Published => Text::new(
                "这个密码太常见，容易被猜到，请换一个",
                "This password is too common to be safe; choose another",
            ),
            Weakness::OwnPhone => Text::new(
                "密码不能包含自己的手机号",
                "A password must not contain your phone number",
            ),
            Weakness::Personal => Text::new(
                "密码不能是手机号或日期，容易被猜到",
                "A password must not be a phone number or a date",
            ),
            Weakness::Pattern => Text::new(
                "密码不能是重复或连续的字符",
                "A password must not be one character repeated or a run such as 12345678",
            ),
        };
        Err(AppError::bad_input(field, text))
    }
}

/// A name shown to others: trimmed, 1 to 32 characters, no control characters.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DisplayName(String);

impl DisplayName {
    pub fn parse(field: &'static str, raw: &str) -> AppResult<DisplayName> {
        let name = raw.trim();
        let n = name.chars().count();
        if n == 0 || n > 32 || name.chars().any(char::is_control) {
            return Err(AppError::bad_input(
                field,
                Text::new(
                    "名称应为 1 到 32 个字符，且不含控制字符",
                    "A name must have 1 to 32 characters and no control characters",
                ),
            ));
        }
        Ok(DisplayName(name.to_owned()))
    }

    pub fn into_inner(self) -> String {
        self.0
    }
}

/// A reason a staff member gives for a decision: required, at most 500 characters, lines but
/// no other control characters (PostgreSQL refuses NUL, SQLite would store it).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Reason(String);

impl Reason {
    pub fn parse(field: &'static str, raw: &str) -> AppResult<Reason> {
        let text = raw.trim();
        let n = text.chars().count();
        if n == 0 || n > 500 || has_control(text, true) {
            return Err(Reason::missing(field));
        }
        Ok(Reason(text.to_owned()))
    }

    /// The refusal of a decision that needs a reason and has none (or one too long).
    pub fn missing(field: &'static str) -> AppError {
        AppError::bad_input(
            field,
            Text::new(
                "请填写原因（不超过 500 字，不含控制字符）",
                "A reason of at most 500 characters, without control characters, is required",
            ),
        )
    }

    pub fn into_inner(self) -> String {
        self.0
    }
}

/// A bounded piece of text: trimmed, within `min..=max` characters, no control characters
/// (except newlines and tabs where `multiline`).
pub fn text_field(
    field: &'static str,
    raw: &str,
    min: usize,
    max: usize,
    multiline: bool,
) -> AppResult<String> {
    let t = raw.trim();
    let n = t.chars().count();
    if n < min || n > max || has_control(t, multiline) {
        return Err(AppError::bad_input(
            field,
            Text::owned(
                format!("{field} 应为 {min} 到 {max} 个字符"),
                format!("{field} must have {min} to {max} characters"),
            ),
        ));
    }
    Ok(t.to_owned())
}

/// Control characters, NUL among them, except line breaks and tabs in `multiline` text.
fn has_control(text: &str, multiline: bool) -> bool {
    text.chars()
        .any(|c| c.is_control() && !(multiline && matches!(c, '\n' | '\r' | '\t')))
}

/// The rows whose `columns` contain `keyword` (1 to 32 characters once trimmed; blank means
/// no filter): the one way lists search text, a LIKE over the few short columns of a list's
/// own rows.
pub fn keyword_condition<C: sea_orm::ColumnTrait>(
    field: &'static str,
    keyword: Option<&str>,
    columns: &[C],
) -> AppResult<Option<sea_orm::Condition>> {
    use sea_orm::sea_query::LikeExpr;
    let Some(k) = keyword.map(str::trim).filter(|k| !k.is_empty()) else {
        return Ok(None);
    };
    let pattern = like_pattern(&text_field(field, k, 1, 32, false)?);
    Ok(Some(
        columns.iter().fold(sea_orm::Condition::any(), |any, c| {
            any.add(c.like(LikeExpr::new(&pattern).escape('\\')))
        }),
    ))
}

/// Escapes `%`, `_` and `\` for a LIKE pattern that finds `keyword` anywhere.
pub fn like_pattern(keyword: &str) -> String {
    let mut p = String::from("%");
    for c in keyword.chars() {
        if matches!(c, '%' | '_' | '\\') {
            p.push('\\');
        }
        p.push(c);
    }
    p.push('%');
    p
}

/// The refusal of a step the object's current state does not allow.
pub fn invalid_state() -> AppError {
    AppError::InvalidState(Text::new(
        "当前状态不允许此操作",
        "The object's current state does not allow this",
    ))
}

/// A field-specific `BAD_USER_INPUT` with a fixed message.
pub fn bad(field: &'static str, zh: &'static str, en: &'static str) -> AppError {
    AppError::bad_input(field, Text::new(zh, en))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_mask_to_first_and_last_character() {
        assert_eq!(mask_name("陈文林"), "陈*林");
        assert_eq!(mask_name("欧阳娜娜"), "欧**娜");
        assert_eq!(mask_name("王五"), "王*");
        assert_eq!(mask_name("曹"), "*");
        assert_eq!(mask_name("Li Lei"), "L****i");
    }

    #[test]
    fn phone_normalises_and_masks() {
        let p = Phone::parse("phone", "+86 138-1234-5678").unwrap();
        assert_eq!(p.as_str(), "13812345678");
        assert_eq!(format!("{p:?}"), "138****5678");
        assert!(Phone::parse("phone", "12812345678").is_err());
        assert!(Phone::parse("phone", "1381234567").is_err());
        assert!(Phone::parse("phone", "1381234567x").is_err());
    }

    #[test]
    fn password_counts_characters_not_bytes() {
        assert!(Password::parse("password", "密码密码密码密码".into()).is_ok());
        assert!(Password::parse("password", "short".into()).is_err());
        assert!(Password::parse("password", "x".repeat(129)).is_err());
    }
}
