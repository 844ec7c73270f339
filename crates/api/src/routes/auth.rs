//! Sign-in: login, refresh-token rotation with reuse detection, logout.

use actix_web::{HttpResponse, post, web};
use chrono::{Duration, Utc};
use crm_domain::account::{FAILURE_MEMORY_SECS, lock_secs};
use crm_store::{begin_write, login_throttle, refresh_tokens, users};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use crate::AppState;
use crate::auth::{random_secret, sha256_hex};
use crate::error::ApiError;
use crate::extract::Json;
use crate::routes::users::User;

/// Credentials.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LoginRequest {
    /// Username (case does not matter).
    #[schema(example = "li.wei")]
    pub username: String,
    /// Password.
    #[schema(example = "correct horse battery", format = Password)]
    pub password: String,
}

/// A refresh token.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RefreshRequest {
    /// The refresh token from the last login or refresh.
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
pub(crate) async fn check_throttle(state: &AppState, username: &str) -> Result<(), ApiError> {
    let now = Utc::now();
    if let Some(locked_until) = login_throttle::get(&state.db, username)
        .await?
        .and_then(|t| t.locked_until)
        .filter(|until| *until > now)
    {
        let secs = (locked_until - now).num_seconds().max(1);
        return Err(ApiError::RateLimited {
            retry_after_secs: u64::try_from(secs).unwrap_or(1),
        });
    }
    Ok(())
}

/// Counts a failed password for `username`, locking it after repeated failures.
pub(crate) async fn record_failure(state: &AppState, username: &str) -> Result<(), ApiError> {
    let now = Utc::now();
    let previous = login_throttle::get(&state.db, username).await?;
    let failures = match previous {
        Some(p) if (now - p.last_failure_at).num_seconds() < FAILURE_MEMORY_SECS => {
            p.failures.saturating_add(1)
        }
        _ => 1,
    };
    let locked_until =
        lock_secs(failures, state.auth.lock_base_secs).map(|s| now + Duration::seconds(s));
    login_throttle::save(
        &state.db,
        login_throttle::Model {
            username: username.to_owned(),
            failures,
            last_failure_at: now,
            locked_until,
        },
    )
    .await?;
    Ok(())
}

/// Issues a new token pair in `family` for `user`, within `conn`.
async fn issue_pair(
    state: &AppState,
    conn: &impl crm_store::ConnectionTrait,
    user: users::Model,
    family: Uuid,
) -> Result<TokenResponse, ApiError> {
    let refresh_token = random_secret("crt_");
    let refresh_ttl = state.auth.refresh_ttl;
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
    let access_token = state.auth.issue_access(user.id, user.token_version)?;
    Ok(TokenResponse {
        access_token,
        token_type: "Bearer",
        expires_in: state.auth.access_ttl.as_secs(),
        refresh_token,
        refresh_expires_in: refresh_ttl.as_secs(),
        user: User::from(user),
    })
}

/// Signs in with a username and password. Repeated failures for one username are
/// throttled (429 with `Retry-After`), whether or not the username exists; the answer never
/// tells which.
#[utoipa::path(
    operation_id = "login",
    tag = "auth",
    request_body = LoginRequest,
    responses(
        (status = 200, description = "Signed in.", body = TokenResponse),
        (status = 401, description = "Wrong username or password, or the account is deactivated."),
        (status = 429, description = "Too many failed attempts for this username; see `Retry-After`."),
    ),
    security(()),
)]
#[post("/auth/login")]
pub async fn login(
    state: web::Data<AppState>,
    body: Json<LoginRequest>,
) -> Result<HttpResponse, ApiError> {
    let LoginRequest { username, password } = body.into_inner();
    let username = username.trim().to_lowercase();
    if username.is_empty() || username.len() > 64 || password.is_empty() || password.len() > 1024 {
        return Err(ApiError::Unauthenticated(INVALID_CREDENTIALS));
    }
    check_throttle(&state, &username).await?;
    let user = users::find_by_username(&state.db, &username).await?;
    let stored = user.as_ref().map(|u| u.password_hash.clone());
    let matches = state.auth.verify_password(password, stored).await?;
    let user = match user {
        Some(user) if matches && user.active => user,
        _ => {
            record_failure(&state, &username).await?;
            return Err(ApiError::Unauthenticated(INVALID_CREDENTIALS));
        }
    };
    let tx = begin_write(&state.db).await?;
    login_throttle::clear(&tx, &username).await?;
    users::record_login(&tx, user.id, Utc::now()).await?;
    let user = users::find(&tx, user.id)
        .await?
        .ok_or(ApiError::Unauthenticated(INVALID_CREDENTIALS))?;
    let pair = issue_pair(&state, &tx, user, Uuid::now_v7()).await?;
    tx.commit().await.map_err(crm_store::StoreError::from)?;
    Ok(HttpResponse::Ok()
        .insert_header(("Cache-Control", "no-store"))
        .json(pair))
}

/// Exchanges a refresh token for a new pair. The presented token is spent; presenting a
/// spent token again revokes every token descending from the same login.
#[utoipa::path(
    operation_id = "refresh_token",
    tag = "auth",
    request_body = RefreshRequest,
    responses(
        (status = 200, description = "A new token pair.", body = TokenResponse),
        (status = 401, description = "The refresh token is unknown, expired, spent or revoked."),
    ),
    security(()),
)]
#[post("/auth/refresh")]
pub async fn refresh(
    state: web::Data<AppState>,
    body: Json<RefreshRequest>,
) -> Result<HttpResponse, ApiError> {
    const DEAD: ApiError =
        ApiError::Unauthenticated("The refresh token is invalid, expired or revoked.");
    let now = Utc::now();
    let token = refresh_tokens::find_by_hash(&state.db, &sha256_hex(body.0.refresh_token.trim()))
        .await?
        .ok_or(DEAD)?;
    if token.spent_at.is_some() && token.revoked_at.is_none() {
        tracing::warn!(family = %token.family_id, "spent refresh token presented again; revoking its family");
        refresh_tokens::revoke_family(&state.db, token.family_id, now).await?;
        return Err(DEAD);
    }
    if token.revoked_at.is_some() || token.expires_at <= now {
        return Err(DEAD);
    }
    let user = users::find(&state.db, token.user_id)
        .await?
        .filter(|u| u.active)
        .ok_or(DEAD)?;
    let tx = begin_write(&state.db).await?;
    if !refresh_tokens::spend(&tx, token.id, now).await? {
        drop(tx);
        // Lost a race with another use of the same token: treat it as reuse.
        refresh_tokens::revoke_family(&state.db, token.family_id, now).await?;
        return Err(DEAD);
    }
    let pair = issue_pair(&state, &tx, user, token.family_id).await?;
    tx.commit().await.map_err(crm_store::StoreError::from)?;
    Ok(HttpResponse::Ok()
        .insert_header(("Cache-Control", "no-store"))
        .json(pair))
}

/// Signs out: revokes the refresh token and every token descending from the same login.
/// Answers 204 whether or not the token was live.
#[utoipa::path(
    operation_id = "logout",
    tag = "auth",
    request_body = RefreshRequest,
    responses((status = 204, description = "Signed out.")),
    security(()),
)]
#[post("/auth/logout")]
pub async fn logout(
    state: web::Data<AppState>,
    body: Json<RefreshRequest>,
) -> Result<HttpResponse, ApiError> {
    if let Some(token) =
        refresh_tokens::find_by_hash(&state.db, &sha256_hex(body.0.refresh_token.trim())).await?
    {
        refresh_tokens::revoke_family(&state.db, token.family_id, Utc::now()).await?;
    }
    Ok(HttpResponse::NoContent().finish())
}
