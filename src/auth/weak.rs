//! Passwords an attacker tries first. A new password is refused when it is on the list of the
//! most common ones (`assets/passwords/`, over 18,000 of 8 characters or more, the top 10,000
//! of breach corpora among them, and common Chinese choices), or when a rule no list can hold
//! finds it: a phone number, a date, one character repeated, a run such as `12345678` or
//! `abcdefgh`, the user's own phone number, or the published demo password.

use std::collections::HashSet;
use std::sync::OnceLock;

/// The password of the demo accounts, printed at every development start: never a real one.
pub const DEMO_PASSWORD: &str = "shangju-demo-2024";

const COMMON: &str = include_str!("../../assets/passwords/common.txt");

fn common() -> &'static HashSet<&'static str> {
    static SET: OnceLock<HashSet<&'static str>> = OnceLock::new();
    SET.get_or_init(|| COMMON.lines().filter(|l| !l.is_empty()).collect())
}

/// Why `candidate` is easy to guess for the owner of `phone`, if it is.
pub fn weakness(candidate: &str, phone: &str) -> Option<Weakness> {
    let lower = candidate.trim().to_lowercase();
    let compact: String = lower
        .chars()
        .filter(|c| !c.is_whitespace() && !matches!(c, '-' | '_' | '.' | '/'))
        .collect();
    if lower == DEMO_PASSWORD {
        return Some(Weakness::Published);
    }
    if !phone.is_empty() && compact.contains(phone) {
        return Some(Weakness::OwnPhone);
    }
    if common().contains(lower.as_str()) || common().contains(compact.as_str()) {
        return Some(Weakness::Common);
    }
    if looks_like_phone(&compact) || looks_like_date(&compact) {
        return Some(Weakness::Personal);
    }
    if repeated_or_run(&compact) {
        return Some(Weakness::Pattern);
    }
    None
}

/// The kinds of guessable password, for the message.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Weakness {
    Common,
    OwnPhone,
    Personal,
    Pattern,
    Published,
}

/// A mainland mobile number, with or without `86`.
fn looks_like_phone(s: &str) -> bool {
    let s = s
        .strip_prefix("+86")
        .or_else(|| s.strip_prefix("86"))
        .unwrap_or(s);
    let b = s.as_bytes();
    b.len() == 11 && b[0] == b'1' && b.iter().all(u8::is_ascii_digit)
}

/// `19800101`, `01011980` and the like (eight digits; shorter ones fail the length rule): a
/// birthday or an anniversary.
fn looks_like_date(s: &str) -> bool {
    if s.len() != 8 || !s.bytes().all(|b| b.is_ascii_digit()) {
        return false;
    }
    let n = |r: std::ops::Range<usize>| s[r].parse::<u32>().unwrap_or(0);
    let valid = |y: u32, m: u32, d: u32| {
        (1900..=2099).contains(&y) && (1..=12).contains(&m) && (1..=31).contains(&d)
    };
    valid(n(0..4), n(4..6), n(6..8))
        || valid(n(4..8), n(2..4), n(0..2))
        || valid(n(4..8), n(0..2), n(2..4))
}

/// One character over and over, or a run of consecutive digits or letters either way.
fn repeated_or_run(s: &str) -> bool {
    let b = s.as_bytes();
    if b.len() < 2 {
        return false;
    }
    let same = b.windows(2).all(|w| w[0] == w[1]);
    let step = |d: i16| b.windows(2).all(|w| i16::from(w[1]) - i16::from(w[0]) == d);
    let alnum = b.iter().all(u8::is_ascii_alphanumeric);
    same || (alnum && (step(1) || step(-1)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn guessable_passwords_are_found() {
        let phone = "13812345678";
        for (p, why) in [
            ("12345678", Weakness::Common),
            ("123456789", Weakness::Common),
            ("password", Weakness::Common),
            ("11111111", Weakness::Common),
            ("qwertyuiop", Weakness::Common),
            ("woaini1314", Weakness::Common),
            ("a123456789", Weakness::Common),
            ("PassWord1", Weakness::Common),
            ("shangju-demo-2024", Weakness::Published),
            ("13812345678", Weakness::OwnPhone),
            ("x13812345678x", Weakness::OwnPhone),
            ("13987654321", Weakness::Personal),
            ("19800101", Weakness::Personal),
            ("1980-01-01", Weakness::Personal),
            ("zzzzzzzzzz", Weakness::Pattern),
            ("abcdefghij", Weakness::Pattern),
            ("hgfedcba", Weakness::Pattern),
            ("23456789", Weakness::Pattern),
        ] {
            assert_eq!(weakness(p, phone), Some(why), "{p}");
        }
        for fine in [
            "correct horse battery",
            "九棵树的早餐店很好吃",
            "mq7-tram-ledge",
            "19800101 煎饼",
        ] {
            assert_eq!(weakness(fine, phone), None, "{fine}");
        }
        assert!(common().len() >= 10_000);
    }
}
