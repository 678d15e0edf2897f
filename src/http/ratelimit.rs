//! Limits per client address on the operations an attacker repeats: signing in, registering,
//! asking for SMS codes, redeeming. Each limit is a GCRA bucket per
//! address (`governor`), checked before the operation runs; a refusal is `RATE_LIMITED` with
//! HTTP 429 and `Retry-After`. IPv6 clients are keyed by their /64, which one subscriber
//! holds. The buckets live in this process's memory, bounded: idle ones are dropped as they
//! refill, and past [`MAX_TRACKED`] addresses a limit starts afresh rather than grow.

use std::net::IpAddr;
use std::sync::RwLock;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use axum::http::HeaderMap;
use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota};

use crate::net::subscriber;

/// Addresses tracked per limit at most (a few MiB).
pub const MAX_TRACKED: usize = 100_000;
/// Checks between two sweeps of buckets that have refilled.
const SWEEP_EVERY: u64 = 1024;

/// What a limit guards.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Guarded {
    SignIn,
    /// Asking for an SMS code (each costs the street money, and reaches someone's phone).
    SendCode,
    Register,
    /// Typing codes at a counter or from a certificate, where guessing must not pay.
    Redeem,
}

impl Guarded {
    /// The limit a root field of a mutation counts against.
    pub fn of_field(name: &str) -> Option<Guarded> {
        match name {
            "login"
            | "changePassword"
            | "resetPasswordWithCode"
            | "loginWithCode"
            | "loginWithWeChat"
            | "bindWeChatPhone"
            | "deleteMyAccount" => Some(Guarded::SignIn),
            "sendLoginCode" => Some(Guarded::SendCode),
            "register" => Some(Guarded::Register),
            "redeemCoupon" | "redeemEntitlement" | "claimAwardGrant" => Some(Guarded::Redeem),
            _ => None,
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Guarded::SignIn => "sign_in",
            Guarded::SendCode => "send_code",
            Guarded::Register => "register",
            Guarded::Redeem => "redeem",
        }
    }
}

pub use crate::config::{Rate, RateLimits};

/// The bucket of a rate: one cell refills every `per / count`; a whole period's worth may come
/// at once.
fn quota(rate: Rate) -> Quota {
    let every = rate.per / rate.count.get();
    Quota::with_period(every.max(Duration::from_nanos(1))).map_or_else(
        || Quota::per_second(rate.count),
        |q| q.allow_burst(rate.count),
    )
}

fn rate_of(limits: &RateLimits, what: Guarded) -> Option<Rate> {
    match what {
        Guarded::SignIn => limits.sign_in,
        Guarded::SendCode => limits.send_code,
        Guarded::Register => limits.register,
        Guarded::Redeem => limits.redeem,
    }
}

struct Bucket {
    what: Guarded,
    quota: Quota,
    limiter: RwLock<DefaultKeyedRateLimiter<IpAddr>>,
}

/// The buckets of every limit.
pub struct AddressLimits {
    buckets: Vec<Bucket>,
    trusted_proxy_hops: usize,
    checks: AtomicU64,
    clock: DefaultClock,
}

impl AddressLimits {
    pub fn new(limits: &RateLimits) -> AddressLimits {
        let buckets = [
            Guarded::SignIn,
            Guarded::SendCode,
            Guarded::Register,
            Guarded::Redeem,
        ]
        .into_iter()
        .filter_map(|what| {
            let quota = quota(rate_of(limits, what)?);
            Some(Bucket {
                what,
                quota,
                limiter: RwLock::new(DefaultKeyedRateLimiter::keyed(quota)),
            })
        })
        .collect();
        AddressLimits {
            buckets,
            trusted_proxy_hops: limits.trusted_proxy_hops,
            checks: AtomicU64::new(0),
            clock: DefaultClock::default(),
        }
    }

    /// The client's address: the peer's, or behind `trusted_proxy_hops` proxies the entry of
    /// `X-Forwarded-For` the nearest of them added (entries further left are the client's to
    /// write, so they are never believed).
    pub fn client(&self, peer: Option<IpAddr>, headers: &HeaderMap) -> Option<IpAddr> {
        if self.trusted_proxy_hops == 0 {
            return peer;
        }
        // Counted on the raw entries, from the right: an entry the client wrote can never move
        // into a trusted position by failing to parse.
        let forwarded: Vec<&str> = headers
            .get_all("x-forwarded-for")
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(','))
            .map(str::trim)
            .collect();
        // Fewer entries than proxies means a request that did not come through them all: the
        // peer is all that is known. So is an entry that is not an address.
        forwarded
            .len()
            .checked_sub(self.trusted_proxy_hops)
            .and_then(|i| forwarded.get(i))
            .and_then(|entry| forwarded_address(entry))
            .or(peer)
    }

    /// Takes one cell of `what` for `address`; when none is left, how long until one is.
    pub fn check(&self, what: Guarded, address: IpAddr) -> Result<(), Duration> {
        let Some(bucket) = self.buckets.iter().find(|b| b.what == what) else {
            return Ok(());
        };
        let key = subscriber(address);
        if self
            .checks
            .fetch_add(1, Ordering::Relaxed)
            .is_multiple_of(SWEEP_EVERY)
        {
            self.sweep(bucket);
        }
        let limiter = bucket
            .limiter
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        limiter
            .check_key(&key)
            .map_err(|not_until| not_until.wait_time_from(self.clock.now()))
    }

    fn sweep(&self, bucket: &Bucket) {
        let mut limiter = bucket
            .limiter
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        limiter.retain_recent();
        if limiter.len() > MAX_TRACKED {
            tracing::warn!(
                limit = bucket.what.label(),
                "too many addresses tracked; starting afresh"
            );
            *limiter = DefaultKeyedRateLimiter::keyed(bucket.quota);
        }
    }
}

/// An `X-Forwarded-For` entry: `1.2.3.4`, `1.2.3.4:5678`, `2001:db8::1` or `[2001:db8::1]:5678`.
fn forwarded_address(entry: &str) -> Option<IpAddr> {
    entry
        .parse::<IpAddr>()
        .ok()
        .or_else(|| entry.parse::<std::net::SocketAddr>().ok().map(|a| a.ip()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rates_parse() {
        let r = Rate::parse("30/min").ok().flatten();
        assert_eq!(r.map(|r| (r.count.get(), r.per.as_secs())), Some((30, 60)));
        assert_eq!(Rate::parse("off"), Ok(None));
        assert!(Rate::parse("0/min").is_err());
        assert!(Rate::parse("30").is_err());
        assert!(Rate::parse("3/week").is_err());
    }

    #[test]
    fn one_subscriber_is_one_key_and_forwarded_entries_count_from_the_right() {
        let a: IpAddr = "2001:db8:1:2:aaaa::1".parse().unwrap();
        let b: IpAddr = "2001:db8:1:2:bbbb::9".parse().unwrap();
        assert_eq!(subscriber(a), subscriber(b));
        let limits = AddressLimits::new(&RateLimits {
            trusted_proxy_hops: 1,
            ..RateLimits::default()
        });
        let mut h = HeaderMap::new();
        h.insert("x-forwarded-for", "1.1.1.1, 2.2.2.2".parse().unwrap());
        let peer = Some(IpAddr::V4([10, 0, 0, 1].into()));
        assert_eq!(
            limits.client(peer, &h),
            Some(IpAddr::V4([2, 2, 2, 2].into()))
        );
        assert_eq!(limits.client(peer, &HeaderMap::new()), peer);
    }
}
