//! Authentication machinery: access tokens (short-lived HS256 JWTs), opaque refresh tokens
//! and API keys (random secrets stored as SHA-256 hashes), and password hashing off the
//! async workers with bounded concurrency.

use std::sync::Arc;
use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::Utc;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use tokio::sync::Semaphore;
use uuid::Uuid;

use crate::error::AppError;

/// Issuer of access tokens.
pub const ISSUER: &str = "crm";
/// Audience of access tokens.
pub const AUDIENCE: &str = "crm-api";
/// Shortest signing secret accepted, in bytes.
pub const MIN_SECRET_LEN: usize = 32;

/// Settings of authentication.
#[derive(Clone)]
pub struct AuthSettings {
    /// Secret that signs access tokens (HS256).
    pub jwt_secret: Vec<u8>,
    /// Lifetime of access tokens.
    pub access_ttl: Duration,
    /// Lifetime of refresh tokens.
    pub refresh_ttl: Duration,
    /// First lock after repeated failed logins, in seconds; it doubles with each further failure.
    pub lock_base_secs: i64,
    /// Password hashes computed at once; more wait their turn.
    pub hash_concurrency: usize,
}

impl std::fmt::Debug for AuthSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AuthSettings")
            .field("jwt_secret", &"[redacted]")
            .field("access_ttl", &self.access_ttl)
            .field("refresh_ttl", &self.refresh_ttl)
            .field("lock_base_secs", &self.lock_base_secs)
            .finish()
    }
}

/// Claims of an access token.
#[derive(Debug, Serialize, Deserialize)]
pub struct Claims {
    /// Issuer: [`ISSUER`].
    pub iss: String,
    /// Audience: [`AUDIENCE`].
    pub aud: String,
    /// The user's id.
    pub sub: Uuid,
    /// Expiry, seconds since the epoch.
    pub exp: i64,
    /// Issue time, seconds since the epoch.
    pub iat: i64,
    /// Token id.
    pub jti: Uuid,
    /// The user's token version when issued; a later bump (deactivation, role or password
    /// change) kills the token at once.
    pub ver: i32,
}

/// Clock skew tolerated on a token's `exp`, `nbf` and `iat`, in seconds.
pub const CLOCK_LEEWAY_SECS: u64 = 30;

/// Authentication machinery shared by all workers.
pub struct Auth {
    encoding: EncodingKey,
    decoding: DecodingKey,
    validation: Validation,
    /// Lifetime of access tokens.
    pub access_ttl: Duration,
    /// Lifetime of refresh tokens.
    pub refresh_ttl: Duration,
    /// First lock after repeated failed logins, in seconds.
    pub lock_base_secs: i64,
    hashing: Arc<Semaphore>,
    dummy_hash: String,
}

impl Auth {
    /// Prepares keys and the hashing pool. Fails when the secret is too short.
    pub fn new(settings: &AuthSettings) -> Result<Self, String> {
        if settings.jwt_secret.len() < MIN_SECRET_LEN {
            return Err(format!(
                "the JWT secret must be at least {MIN_SECRET_LEN} bytes long"
            ));
        }
        let mut validation = Validation::new(Algorithm::HS256);
        validation.set_issuer(&[ISSUER]);
        validation.set_audience(&[AUDIENCE]);
        validation.set_required_spec_claims(&["exp", "iat", "iss", "aud", "sub"]);
        validation.leeway = CLOCK_LEEWAY_SECS;
        validation.validate_nbf = true;
        // Compare unknown usernames against a real hash so they take as long as known ones.
        let dummy_hash = crm_domain::password::hash("timing-equaliser-not-a-password")?;
        Ok(Self {
            encoding: EncodingKey::from_secret(&settings.jwt_secret),
            decoding: DecodingKey::from_secret(&settings.jwt_secret),
            validation,
            access_ttl: settings.access_ttl,
            refresh_ttl: settings.refresh_ttl,
            lock_base_secs: settings.lock_base_secs,
            hashing: Arc::new(Semaphore::new(settings.hash_concurrency.max(1))),
            dummy_hash,
        })
    }

    /// Signs an access token for `user_id` at `token_version`.
    pub fn issue_access(&self, user_id: Uuid, token_version: i32) -> Result<String, AppError> {
        let now = Utc::now().timestamp();
        let ttl = i64::try_from(self.access_ttl.as_secs()).unwrap_or(i64::MAX);
        let claims = Claims {
            iss: ISSUER.to_owned(),
            aud: AUDIENCE.to_owned(),
            sub: user_id,
            exp: now.saturating_add(ttl),
            iat: now,
            jti: Uuid::now_v7(),
            ver: token_version,
        };
        jsonwebtoken::encode(&Header::new(Algorithm::HS256), &claims, &self.encoding)
            .map_err(AppError::internal)
    }

    /// Verifies an access token's signature, algorithm, issuer, audience, expiry and
    /// `nbf`, and that it is one this server could have issued: not issued in the future and
    /// living no longer than the configured access-token lifetime (each with
    /// [`CLOCK_LEEWAY_SECS`] of clock skew). A token forged with a leaked secret and a
    /// hundred-year expiry is refused.
    pub fn verify_access(&self, token: &str) -> Result<Claims, AppError> {
        let invalid = || AppError::Unauthenticated("The access token is invalid or expired.");
        let claims = jsonwebtoken::decode::<Claims>(token, &self.decoding, &self.validation)
            .map(|data| data.claims)
            .map_err(|_| invalid())?;
        let now = Utc::now().timestamp();
        let leeway = i64::try_from(CLOCK_LEEWAY_SECS).unwrap_or(0);
        let lifetime = i64::try_from(self.access_ttl.as_secs()).unwrap_or(i64::MAX);
        if claims.iat > now.saturating_add(leeway)
            || claims.exp.saturating_sub(claims.iat) > lifetime.saturating_add(leeway)
        {
            return Err(invalid());
        }
        Ok(claims)
    }

    /// Hashes a password on the blocking pool, at most `hash_concurrency` at a time.
    pub async fn hash_password(&self, password: String) -> Result<String, AppError> {
        let _permit = self.hashing.acquire().await.map_err(AppError::internal)?;
        tokio::task::spawn_blocking(move || crm_domain::password::hash(&password))
            .await
            .map_err(AppError::internal)?
            .map_err(AppError::internal)
    }

    /// Verifies a password on the blocking pool. With no stored hash (unknown user) it
    /// still does the work, against a dummy, and answers false.
    pub async fn verify_password(
        &self,
        password: String,
        stored: Option<String>,
    ) -> Result<bool, AppError> {
        let _permit = self.hashing.acquire().await.map_err(AppError::internal)?;
        let known = stored.is_some();
        let stored = stored.unwrap_or_else(|| self.dummy_hash.clone());
        let ok =
            tokio::task::spawn_blocking(move || crm_domain::password::verify(&password, &stored))
                .await
                .map_err(AppError::internal)?;
        Ok(ok && known)
    }
}

/// A new random secret: `prefix` followed by 32 random bytes in base64url.
pub fn random_secret(prefix: &str) -> String {
    let mut bytes = [0u8; 32];
    rand::fill(&mut bytes);
    format!("{prefix}{}", URL_SAFE_NO_PAD.encode(bytes))
}

/// Hex SHA-256 of a high-entropy secret: how refresh tokens and API keys are stored.
pub fn sha256_hex(secret: &str) -> String {
    hex_digest(&Sha256::digest(secret.as_bytes()))
}

/// Lower-case hex of a digest.
pub fn hex_digest(digest: &[u8]) -> String {
    digest.iter().map(|b| format!("{b:02x}")).collect()
}
