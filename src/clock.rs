//! Time as the rules see it. Every "now" of the domain comes from the [`Clock`] in the state,
//! so tests move time by moving the clock, never by sleeping or rewriting rows. The street's
//! time zone (for "today", ages and leaderboard periods) is named here once.

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};

use chrono::{DateTime, NaiveDate, TimeZone, Utc};
use chrono_tz::Tz;

/// Where "now" comes from.
pub trait Clock: Send + Sync + 'static {
    fn now(&self) -> DateTime<Utc>;
}

pub type SharedClock = Arc<dyn Clock>;

/// The machine's clock.
#[derive(Clone, Copy, Debug, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> DateTime<Utc> {
        Utc::now()
    }
}

/// The system clock shifted by an offset that tests set and advance. It keeps ticking, so code
/// that waits or orders by time behaves as in production.
#[derive(Clone, Debug, Default)]
pub struct ManualClock {
    offset_ms: Arc<AtomicI64>,
}

impl ManualClock {
    pub fn new() -> ManualClock {
        ManualClock::default()
    }

    /// Moves time forward (or back, with a negative duration).
    pub fn advance(&self, by: chrono::Duration) {
        self.offset_ms
            .fetch_add(by.num_milliseconds(), Ordering::SeqCst);
    }

    /// Makes "now" read `at` (and tick on from there).
    pub fn set(&self, at: DateTime<Utc>) {
        self.offset_ms
            .store((at - Utc::now()).num_milliseconds(), Ordering::SeqCst);
    }
}

impl Clock for ManualClock {
    fn now(&self) -> DateTime<Utc> {
        Utc::now() + chrono::Duration::milliseconds(self.offset_ms.load(Ordering::SeqCst))
    }
}

/// A street's time zone unless its settings say otherwise, and the calendar of what belongs to
/// no street (a phone's daily SMS codes).
pub const DEFAULT_TIME_ZONE: Tz = chrono_tz::Asia::Shanghai;

/// The calendar date at `at` in `tz`.
pub fn local_date(at: DateTime<Utc>, tz: Tz) -> NaiveDate {
    at.with_timezone(&tz).date_naive()
}

/// The instant a calendar day begins in `tz` (the earliest, where a clock change repeats it).
pub fn local_midnight(date: NaiveDate, tz: Tz) -> DateTime<Utc> {
    let midnight = date.and_time(chrono::NaiveTime::MIN);
    tz.from_local_datetime(&midnight)
        .earliest()
        .map_or_else(|| midnight.and_utc(), |t| t.with_timezone(&Utc))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn manual_clock_moves_and_ticks() {
        let clock = ManualClock::new();
        let before = clock.now();
        clock.advance(chrono::Duration::days(3));
        assert!(clock.now() - before >= chrono::Duration::days(3));
        let at = DateTime::parse_from_rfc3339("2030-01-01T00:00:00Z")
            .expect("time")
            .to_utc();
        clock.set(at);
        assert!((clock.now() - at).num_seconds().abs() < 5);
    }

    #[test]
    fn shanghai_days_start_at_16_utc() {
        let at = DateTime::parse_from_rfc3339("2026-11-22T16:30:00Z")
            .expect("time")
            .to_utc();
        let day = local_date(at, DEFAULT_TIME_ZONE);
        assert_eq!(day.to_string(), "2026-11-23");
        assert_eq!(
            local_date(at, chrono_tz::Asia::Urumqi).to_string(),
            "2026-11-22"
        );
        assert_eq!(
            local_midnight(day, DEFAULT_TIME_ZONE).to_rfc3339(),
            "2026-11-22T16:00:00+00:00"
        );
    }
}
