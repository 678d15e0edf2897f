//! Access tokens (HS256 JWTs, short-lived) and refresh tokens (opaque random strings, stored only
//! as their SHA-256).

use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, Utc};
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use rand::RngCore;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::error::{AppError, AppResult};

/// How far clocks may disagree when checking `exp` and `iat`.
const LEEWAY_SECS: u64 = 5;

#[derive(Debug, Serialize, Deserialize)]
pub struct Claims {
    pub sub: String,
    pub roles: Vec<String>,
    pub iss: String,
    pub aud: String,
    pub exp: i64,
    pub iat: i64,
    /// The user's session version when the token was issued; a password change bumps it.
    pub sv: i32,
    /// The session (the family of refresh tokens of one sign-in): `logout` ends it, and with it
    /// this token.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sid: Option<String>,
}

#[derive(Clone)]
pub struct TokenService {
    /// Derives a refresh token's successor, so a refresh repeated within the grace period
    /// answers with the same pair.
    hmac_key: Vec<u8>,
    encoding: EncodingKey,
    decoding: DecodingKey,
    validation: Validation,
    issuer: String,
    audience: String,
    pub access_ttl: Duration,
    pub refresh_ttl: Duration,
}

/// An access token that passed every check.
#[derive(Debug)]
pub struct VerifiedAccess {
    pub user_id: i64,
    pub session_version: i32,
    /// The session it belongs to (absent from tokens issued before sessions were named).
    pub session: Option<String>,
}

impl TokenService {
    pub fn new(
        secret: &[u8],
        issuer: &str,
        audience: &str,
        access_ttl: Duration,
        refresh_ttl: Duration,
    ) -> TokenService {
        let mut validation = Validation::new(Algorithm::HS256);
        validation.leeway = LEEWAY_SECS;
        validation.set_issuer(&[issuer]);
        validation.set_audience(&[audience]);
        validation.set_required_spec_claims(&["exp", "iss", "aud", "sub"]);
        // A token not yet valid is refused like an expired one (within the same leeway).
        validation.validate_nbf = true;
        TokenService {
            hmac_key: secret.to_vec(),
            encoding: EncodingKey::from_secret(secret),
            decoding: DecodingKey::from_secret(secret),
            validation,
            issuer: issuer.to_owned(),
            audience: audience.to_owned(),
            access_ttl,
            refresh_ttl,
        }
    }

    /// Signs an access token of `session`; returns it with its expiry. The same arguments give
    /// the same token.
    pub fn issue_access(
        &self,
        user_id: i64,
        roles: Vec<String>,
        session_version: i32,
        session: Option<&str>,
        now: DateTime<Utc>,
    ) -> AppResult<(String, DateTime<Utc>)> {
        let expires_at =
            now + chrono::Duration::from_std(self.access_ttl).map_err(AppError::internal)?;
        let claims = Claims {
            sub: user_id.to_string(),
            roles,
            iss: self.issuer.clone(),
            aud: self.audience.clone(),
            exp: expires_at.timestamp(),
            iat: now.timestamp(),
            sv: session_version,
            sid: session.map(str::to_owned),
        };
        let token = jsonwebtoken::encode(&Header::new(Algorithm::HS256), &claims, &self.encoding)
            .map_err(AppError::internal)?;
        Ok((token, expires_at))
    }

    /// Checks signature, algorithm, issuer, audience, expiry and issue time.
    pub fn verify_access(&self, token: &str) -> AppResult<VerifiedAccess> {
        let data = jsonwebtoken::decode::<Claims>(token, &self.decoding, &self.validation)
            .map_err(|_| AppError::Unauthenticated)?;
        let claims = data.claims;
        if claims.iat > Utc::now().timestamp() + LEEWAY_SECS as i64 {
            return Err(AppError::Unauthenticated);
        }
        let user_id = claims.sub.parse().map_err(|_| AppError::Unauthenticated)?;
        Ok(VerifiedAccess {
            user_id,
            session_version: claims.sv,
            session: claims.sid,
        })
    }

    /// The refresh token that replaces `old`: HMAC-SHA256 of it under the server's key, so only
    /// the server can compute it, and computing it again gives the same token.
    pub fn successor_refresh(&self, old: &str) -> String {
        use hmac::{Hmac, Mac};
        let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(&self.hmac_key) else {
            // HMAC takes keys of any length; this branch cannot run.
            return new_refresh_token();
        };
        mac.update(old.as_bytes());
        URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes())
    }

    /// What the database keeps of a short one-time code sent to `subject`: an HMAC-SHA256
    /// under the server's key, so a copy of the database does not let anyone try the million
    /// six-digit codes offline.
    pub fn code_digest(&self, subject: &str, code: &str) -> String {
        use hmac::{Hmac, Mac};
        let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(&self.hmac_key) else {
            return refresh_token_hash(&format!("{subject}:{code}"));
        };
        mac.update(b"one-time code\0");
        mac.update(subject.as_bytes());
        mac.update(b"\0");
        mac.update(code.as_bytes());
        hex::encode(mac.finalize().into_bytes())
    }
}

/// A fresh refresh token: 256 random bits.
pub fn new_refresh_token() -> String {
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    URL_SAFE_NO_PAD.encode(bytes)
}

/// What the database keeps of a refresh token.
pub fn refresh_token_hash(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}
