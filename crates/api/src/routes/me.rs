//! The signed-in user: the HTTP side of [`crm_app::me`].

use actix_web::{HttpResponse, get, put, web};
use crm_app::me::{self as uc, ChangePassword};
use crm_app::users::User;

use crate::AppState;
use crate::auth::Authenticated;
use crate::error::ApiError;
use crate::extract::Json;

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
    Authenticated(caller): Authenticated,
) -> Result<HttpResponse, ApiError> {
    let user: User = uc::get(&state.ctx, &caller).await?;
    Ok(HttpResponse::Ok().json(user))
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
    Authenticated(caller): Authenticated,
    body: Json<ChangePassword>,
) -> Result<HttpResponse, ApiError> {
    uc::change_password(&state.ctx, &caller, body.input()).await?;
    Ok(HttpResponse::NoContent().finish())
}
