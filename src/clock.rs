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

/// The time zone of the streets (Asia/Shanghai). The street settings issue makes it a setting
/// of each street; until then every street reads it from here.
pub fn street_time_zone() -> Tz {
    chrono_tz::Asia::Shanghai
}

/// The calendar date at `at` in the street's time zone.
pub fn local_date(at: DateTime<Utc>) -> NaiveDate {
    at.with_timezone(&street_time_zone()).date_naive()
}

/// The instant a local calendar day begins in the street's time zone.
pub fn local_midnight(date: NaiveDate) -> DateTime<Utc> {
    let midnight = date.and_time(chrono::NaiveTime::MIN);
    street_time_zone()
        .from_local_datetime(&midnight)
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
        let day = local_date(at);
        assert_eq!(day.to_string(), "2026-11-23");
        assert_eq!(
            local_midnight(day).to_rfc3339(),
            "2026-11-22T16:00:00+00:00"
        );
    }
}
