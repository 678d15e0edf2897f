//! Password hashing with argon2id at OWASP's recommended parameters. Hashing is CPU-bound and
//! deliberately slow, so it runs on the blocking pool behind a semaphore: a login storm queues
//! instead of starving the async workers or exhausting memory (19 MiB per hash).

use std::sync::{Arc, LazyLock};
use std::time::Instant;

use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};
use tokio::sync::Semaphore;

use crate::error::{AppError, AppResult};
use crate::metrics::{GaugeGuard, Metrics};

/// A password as typed, never logged. Its rules (length, weakness) are checked where one is
/// chosen (`domain::values`); this layer only hashes and verifies.
#[derive(Clone)]
pub struct Password(String);

impl Password {
    /// For checking a login attempt, where any length is tried (and fails) the same way.
    pub fn unchecked(raw: String) -> Password {
        Password(raw)
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for Password {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Password(***)")
    }
}

/// OWASP Password Storage Cheat Sheet: argon2id, m = 19 MiB, t = 2, p = 1.
pub fn owasp_params() -> Params {
    Params::new(19 * 1024, 2, 1, None).expect("constant argon2 parameters are valid")
}

/// Hashes with the given parameters; used directly only to make hashes of older parameters.
pub fn hash_with(params: Params, password: &str) -> AppResult<String> {
    let salt = SaltString::generate(&mut argon2::password_hash::rand_core::OsRng);
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(AppError::internal)
}

/// A hash of nothing anyone can type, verified against when the phone is unknown so that an
/// unknown phone costs the same time as a wrong password.
static DUMMY_HASH: LazyLock<String> = LazyLock::new(|| {
    hash_with(owasp_params(), "\u{0}no-such-user\u{0}").expect("hashing a constant succeeds")
});

/// The outcome of checking a password.
#[derive(Debug, PartialEq, Eq)]
pub enum Verification {
    Invalid,
    /// `needs_rehash`: the stored hash uses other parameters and should be replaced.
    Valid {
        needs_rehash: bool,
    },
}

#[derive(Clone)]
pub struct PasswordService {
    permits: Arc<Semaphore>,
    metrics: Arc<Metrics>,
}

impl PasswordService {
    pub fn new(concurrency: usize, metrics: Arc<Metrics>) -> PasswordService {
        PasswordService {
            permits: Arc::new(Semaphore::new(concurrency.max(1))),
            metrics,
        }
    }

    async fn run<T: Send + 'static>(
        &self,
        work: impl FnOnce() -> T + Send + 'static,
    ) -> AppResult<T> {
        let m = &self.metrics;
        let waiting = GaugeGuard::raise(&m.password_hash_waiting);
        let started = Instant::now();
        let permit = self
            .permits
            .clone()
            .acquire_owned()
            .await
            .map_err(AppError::internal)?;
        m.password_hash_wait
            .observe(started.elapsed().as_secs_f64());
        drop(waiting);
        // The slot and the gauge are held until the hash ends, even if the request is dropped
        // meanwhile, so no more hashes run at once than there are slots.
        let running = GaugeGuard::raise(&m.password_hash_running);
        tokio::task::spawn_blocking(move || {
            let _held = (permit, running);
            work()
        })
        .await
        .map_err(AppError::internal)
    }

    pub async fn hash(&self, password: &Password) -> AppResult<String> {
        let password = password.expose().to_owned();
        self.run(move || hash_with(owasp_params(), &password))
            .await?
    }

    /// Checks `password` against `stored`, or against a dummy hash when there is no account.
    pub async fn verify(
        &self,
        password: &Password,
        stored: Option<&str>,
    ) -> AppResult<Verification> {
        let password = password.expose().to_owned();
        let stored = stored.map(str::to_owned);
        self.run(move || {
            let Some(stored) = stored else {
                let dummy = PasswordHash::new(&DUMMY_HASH).expect("dummy hash parses");
                let _ = Argon2::default().verify_password(password.as_bytes(), &dummy);
                return Verification::Invalid;
            };
            let Ok(parsed) = PasswordHash::new(&stored) else {
                // An account without a password answers after the same work as any other.
                let dummy = PasswordHash::new(&DUMMY_HASH).expect("dummy hash parses");
                let _ = Argon2::default().verify_password(password.as_bytes(), &dummy);
                return Verification::Invalid;
            };
            if Argon2::default()
                .verify_password(password.as_bytes(), &parsed)
                .is_err()
            {
                return Verification::Invalid;
            }
            let current = owasp_params();
            let needs_rehash = parsed.algorithm.as_str() != "argon2id"
                || Params::try_from(&parsed).map_or(true, |p| {
                    p.m_cost() != current.m_cost()
                        || p.t_cost() != current.t_cost()
                        || p.p_cost() != current.p_cost()
                });
            Verification::Valid { needs_rehash }
        })
        .await
    }
}
