//! Sign-in: the HTTP side of [`crm_app::sessions`].

use actix_web::{HttpResponse, post, web};
use crm_app::sessions::{self as uc, LoginRequest, RefreshRequest, TokenResponse};

use crate::AppState;
use crate::error::ApiError;
use crate::extract::Json;

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
    let pair: TokenResponse = uc::login(&state.ctx, body.input()).await?;
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
    let pair = uc::refresh(&state.ctx, body.input()).await?;
    Ok(HttpResponse::Ok()
        .insert_header(("Cache-Control", "no-store"))
        .json(pair))
}

/// Signs out: revokes the refresh token and every token descending from the same login.
/// Answers 204 whether or not the token was live; 422 for a string that is not a refresh
/// token at all.
#[utoipa::path(
    operation_id = "logout",
    tag = "auth",
    request_body = RefreshRequest,
    responses(
        (status = 204, description = "Signed out."),
        (status = 422, description = "Not a refresh token."),
    ),
    security(()),
)]
#[post("/auth/logout")]
pub async fn logout(
    state: web::Data<AppState>,
    body: Json<RefreshRequest>,
) -> Result<HttpResponse, ApiError> {
    uc::logout(&state.ctx, body.input()).await?;
    Ok(HttpResponse::NoContent().finish())
}
