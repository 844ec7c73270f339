//! Sign-in: login, refresh-token rotation with reuse detection, logout. These need no
//! caller: the credentials in the input are what they check.

use chrono::{Duration, Utc};
use crm_domain::account::{FAILURE_MEMORY_SECS, lock_secs};
use crm_store::{login_throttle, refresh_tokens, users};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use crate::Ctx;
use crate::auth::{random_secret, sha256_hex};
use crate::context::commit;
use crate::error::{AppError, FieldError};
use crate::input::Input;
use crate::users::User;

/// Credentials.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LoginRequest {
    /// Username (case does not matter).
    #[schema(example = "li.wei", max_length = 64)]
    pub username: String,
    /// Password.
    #[schema(example = "correct horse battery", format = Password, max_length = 256)]
    pub password: String,
}

/// A refresh token.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RefreshRequest {
    /// The refresh token from the last login or refresh.
    #[schema(pattern = r"^crt_[A-Za-z0-9_-]{43}$", max_length = 47)]
    pub refresh_token: String,
}

/// A token pair and the signed-in user.
#[derive(Debug, Serialize, ToSchema)]
pub struct TokenResponse {
    /// Send as `Authorization: Bearer <access_token>`.
    pub access_token: String,
    /// Always `Bearer`.
    #[schema(example = "Bearer")]
    pub token_type: &'static str,
    /// Seconds until the access token expires.
    #[schema(example = 900)]
    pub expires_in: u64,
    /// Single-use token for `POST /api/v1/auth/refresh`. Keep it secret.
    pub refresh_token: String,
    /// Seconds until the refresh token expires.
    #[schema(example = 2_592_000)]
    pub refresh_expires_in: u64,
    /// The signed-in user.
    pub user: User,
}

const INVALID_CREDENTIALS: &str = "The username or password is incorrect.";

/// Throttle state checked before a password is verified: 429 while locked.
pub async fn check_throttle(ctx: &Ctx, username: &str) -> Result<(), AppError> {
    let now = Utc::now();
    if let Some(locked_until) = login_throttle::get(&ctx.db, username)
        .await?
        .and_then(|t| t.locked_until)
        .filter(|until| *until > now)
    {
        let secs = (locked_until - now).num_seconds().max(1);
        return Err(AppError::RateLimited {
            retry_after_secs: u64::try_from(secs).unwrap_or(1),
        });
    }
    Ok(())
}

/// Counts a failed password for `username`, locking it after repeated failures.
pub async fn record_failure(ctx: &Ctx, username: &str) -> Result<(), AppError> {
    let now = Utc::now();
    let previous = login_throttle::get(&ctx.db, username).await?;
    let failures = match previous {
        Some(p) if (now - p.last_failure_at).num_seconds() < FAILURE_MEMORY_SECS => {
            p.failures.saturating_add(1)
        }
        _ => 1,
    };
    let locked_until =
        lock_secs(failures, ctx.auth.lock_base_secs).map(|s| now + Duration::seconds(s));
    let tx = ctx.begin().await?;
    login_throttle::save(
        &tx,
        login_throttle::Model {
            username: username.to_owned(),
            failures,
            last_failure_at: now,
            locked_until,
        },
    )
    .await?;
    commit(tx).await
}

/// Revokes every token descending from the login of `family`, in this process's turn to
/// write (see [`Ctx::begin`]).
async fn revoke_family(
    ctx: &Ctx,
    family: Uuid,
    now: chrono::DateTime<Utc>,
) -> Result<(), AppError> {
    let tx = ctx.begin().await?;
    refresh_tokens::revoke_family(&tx, family, now).await?;
    commit(tx).await
}

/// Issues a new token pair in `family` for `user`, within `conn`.
async fn issue_pair(
    ctx: &Ctx,
    conn: &impl crm_store::ConnectionTrait,
    user: users::Model,
    family: Uuid,
) -> Result<TokenResponse, AppError> {
    let refresh_token = random_secret("crt_");
    let refresh_ttl = ctx.auth.refresh_ttl;
    let expires_at = Utc::now()
        + Duration::seconds(i64::try_from(refresh_ttl.as_secs()).unwrap_or(i64::MAX / 2));
    refresh_tokens::insert(
        conn,
        user.id,
        family,
        sha256_hex(&refresh_token),
        expires_at,
    )
    .await?;
    let access_token = ctx.auth.issue_access(user.id, user.token_version)?;
    Ok(TokenResponse {
        access_token,
        token_type: "Bearer",
        expires_in: ctx.auth.access_ttl.as_secs(),
        refresh_token,
        refresh_expires_in: refresh_ttl.as_secs(),
        user: User::from(user),
    })
}

/// Signs in with a username and password. Repeated failures for one username are
/// throttled (429 with `Retry-After`), whether or not the username exists; the answer never
/// tells which.
pub async fn login(ctx: &Ctx, body: Input<LoginRequest>) -> Result<TokenResponse, AppError> {
    let LoginRequest { username, password } = body.take()?;
    // No username holds a control character (they are refused when accounts are made), and
    // a NUL would not even reach PostgreSQL: refuse it as the text fields do.
    if username.chars().any(crate::check::is_forbidden_control) {
        return Err(AppError::invalid_field(
            "username",
            "invalid_character",
            "must not contain control characters",
        ));
    }
    let username = username.trim().to_lowercase();
    if username.is_empty() || username.len() > 64 || password.is_empty() || password.len() > 1024 {
        return Err(AppError::Unauthenticated(INVALID_CREDENTIALS));
    }
    check_throttle(ctx, &username).await?;
    let user = users::find_by_username(&ctx.db, &username).await?;
    let stored = user.as_ref().map(|u| u.password_hash.clone());
    let matches = ctx.auth.verify_password(password, stored).await?;
    let user = match user {
        Some(user) if matches && user.active => user,
        _ => {
            record_failure(ctx, &username).await?;
            return Err(AppError::Unauthenticated(INVALID_CREDENTIALS));
        }
    };
    let tx = ctx.begin().await?;
    login_throttle::clear(&tx, &username).await?;
    users::record_login(&tx, user.id, Utc::now()).await?;
    let user = users::find(&tx, user.id)
        .await?
        .ok_or(AppError::Unauthenticated(INVALID_CREDENTIALS))?;
    let pair = issue_pair(ctx, &tx, user, Uuid::now_v7()).await?;
    commit(tx).await?;
    Ok(pair)
}

/// Whether `raw` has the shape of the refresh tokens this server hands out (`crt_` and 43
/// URL-safe base64 characters), as the document declares.
fn refresh_token_shaped(raw: &str) -> bool {
    raw.len() == 47
        && raw.starts_with("crt_")
        && raw[4..]
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// Exchanges a refresh token for a new pair. The presented token is spent; presenting a
/// spent token again revokes every token descending from the same login.
pub async fn refresh(ctx: &Ctx, body: Input<RefreshRequest>) -> Result<TokenResponse, AppError> {
    const DEAD: AppError =
        AppError::Unauthenticated("The refresh token is invalid, expired or revoked.");
    let now = Utc::now();
    let token =
        refresh_tokens::find_by_hash(&ctx.db, &sha256_hex(body.take()?.refresh_token.trim()))
            .await?
            .ok_or(DEAD)?;
    if token.spent_at.is_some() && token.revoked_at.is_none() {
        tracing::warn!(family = %token.family_id, "spent refresh token presented again; revoking its family");
        revoke_family(ctx, token.family_id, now).await?;
        return Err(DEAD);
    }
    if token.revoked_at.is_some() || token.expires_at <= now {
        return Err(DEAD);
    }
    let user = users::find(&ctx.db, token.user_id)
        .await?
        .filter(|u| u.active)
        .ok_or(DEAD)?;
    let tx = ctx.begin().await?;
    if !refresh_tokens::spend(&tx, token.id, now).await? {
        drop(tx);
        // Lost a race with another use of the same token: treat it as reuse.
        revoke_family(ctx, token.family_id, now).await?;
        return Err(DEAD);
    }
    let pair = issue_pair(ctx, &tx, user, token.family_id).await?;
    commit(tx).await?;
    Ok(pair)
}

/// Signs out: revokes the refresh token and every token descending from the same login.
/// Answers 204 whether or not the token was live.
pub async fn logout(ctx: &Ctx, body: Input<RefreshRequest>) -> Result<(), AppError> {
    let raw = body.take()?.refresh_token;
    if !refresh_token_shaped(&raw) {
        return Err(AppError::Validation(vec![FieldError::new(
            "refresh_token",
            "invalid_format",
            "is not a refresh token",
        )]));
    }
    if let Some(token) = refresh_tokens::find_by_hash(&ctx.db, &sha256_hex(&raw)).await? {
        revoke_family(ctx, token.family_id, Utc::now()).await?;
    }
    Ok(())
}
