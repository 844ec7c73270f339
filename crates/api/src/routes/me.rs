//! The signed-in user: their account, and changing their own password.

use actix_web::{HttpResponse, get, put, web};
use chrono::Utc;
use crm_domain::account::check_new_password;
use crm_store::{begin_write, login_throttle, refresh_tokens, users};
use serde::Deserialize;
use utoipa::ToSchema;

use crate::AppState;
use crate::auth::Principal;
use crate::error::ApiError;
use crate::extract::Json;
use crate::routes::auth::{check_throttle, record_failure};
use crate::routes::users::User;

/// A password change.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ChangePassword {
    /// The current password.
    #[schema(format = Password)]
    pub current_password: String,
    /// The new password: at least 10 characters, not containing the username.
    #[schema(format = Password)]
    pub new_password: String,
}

/// The signed-in user's account.
#[utoipa::path(
    operation_id = "get_me",
    tag = "auth",
    responses(
        (status = 200, description = "The caller's account.", body = User),
        (status = 401, description = "Not signed in."),
    ),
    security(("bearer" = [])),
)]
#[get("/me")]
pub async fn get_me(
    state: web::Data<AppState>,
    principal: Principal,
) -> Result<HttpResponse, ApiError> {
    let user = users::find(&state.db, principal.id)
        .await?
        .ok_or(ApiError::NotFound)?;
    Ok(HttpResponse::Ok().json(User::from(user)))
}

/// Changes the caller's password. Every session of the user ends, this one included:
/// sign in again with the new password. Wrong current passwords count towards the same
/// throttle as failed logins.
#[utoipa::path(
    operation_id = "change_my_password",
    tag = "auth",
    request_body = ChangePassword,
    responses(
        (status = 204, description = "Changed; all sessions ended."),
        (status = 401, description = "Not signed in."),
        (status = 422, description = "The current password is wrong, or the new one is too weak."),
        (status = 429, description = "Too many wrong current passwords; see `Retry-After`."),
    ),
    security(("bearer" = [])),
)]
#[put("/me/password")]
pub async fn change_my_password(
    state: web::Data<AppState>,
    principal: Principal,
    body: Json<ChangePassword>,
) -> Result<HttpResponse, ApiError> {
    let ChangePassword {
        current_password,
        new_password,
    } = body.into_inner();
    check_throttle(&state, &principal.username).await?;
    let user = users::find(&state.db, principal.id)
        .await?
        .ok_or(ApiError::NotFound)?;
    if !state
        .auth
        .verify_password(current_password, Some(user.password_hash.clone()))
        .await?
    {
        record_failure(&state, &principal.username).await?;
        return Err(ApiError::invalid_field(
            "current_password",
            "incorrect",
            "is not your current password",
        ));
    }
    if let Err(msg) = check_new_password(&new_password, &user.username) {
        return Err(ApiError::invalid_field(
            "new_password",
            "weak_password",
            msg,
        ));
    }
    let hash = state.auth.hash_password(new_password).await?;
    let changes = users::UserChanges {
        password_hash: Some(hash),
        revoke_tokens: true,
        ..Default::default()
    };
    let tx = begin_write(&state.db).await?;
    users::update(&tx, &user, None, changes)
        .await?
        .ok_or(ApiError::PreconditionFailed)?;
    refresh_tokens::revoke_user(&tx, user.id, Utc::now()).await?;
    login_throttle::clear(&tx, &user.username).await?;
    tx.commit().await.map_err(crm_store::StoreError::from)?;
    Ok(HttpResponse::NoContent().finish())
}
