//! Accounts: the HTTP side of [`crm_app::users`].

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, get, patch, post, web};
use crm_app::users::{self as uc, CreateUser, UpdateUser, User, UserList, UserQuery};
use uuid::Uuid;

use crate::AppState;
use crate::auth::Authenticated;
use crate::error::ApiError;
use crate::extract::{Json, Query, if_match};

fn user_response(status: StatusCode, user: &User) -> HttpResponse {
    super::resource(status, user, user.version, "users", user.id)
}

/// Lists accounts, oldest first. Admins and managers only.
#[utoipa::path(
    operation_id = "list_users",
    tag = "users",
    params(UserQuery),
    responses(
        (status = 200, description = "A page of accounts.", body = UserList),
        (status = 401, description = "Not signed in."),
        (status = 403, description = "Only admins and managers may list accounts."),
    ),
    security(("bearer" = [])),
)]
#[get("/users")]
pub async fn list_users(
    state: web::Data<AppState>,
    Authenticated(caller): Authenticated,
    query: Query<UserQuery>,
) -> Result<HttpResponse, ApiError> {
    let list: UserList = uc::list(&state.ctx, &caller, query.input()).await?;
    Ok(HttpResponse::Ok().json(list))
}

/// Creates an account. Admins only.
#[utoipa::path(
    operation_id = "create_user",
    tag = "users",
    request_body = CreateUser,
    responses(
        (status = 201, description = "Created; `Location` names it.", body = User),
        (status = 403, description = "Only admins may create accounts."),
        (status = 409, description = "The username is taken; `existing_id` names the account."),
        (status = 422, description = "Invalid fields, all listed."),
    ),
    security(("bearer" = [])),
)]
#[post("/users")]
pub async fn create_user(
    state: web::Data<AppState>,
    Authenticated(caller): Authenticated,
    body: Json<CreateUser>,
) -> Result<HttpResponse, ApiError> {
    let user = uc::create(&state.ctx, &caller, body.input()).await?;
    Ok(user_response(StatusCode::CREATED, &user))
}

/// One account. Admins and managers only.
#[utoipa::path(
    operation_id = "get_user",
    tag = "users",
    params(("id" = Uuid, Path, description = "Account id")),
    responses(
        (status = 200, description = "The account; `ETag` carries its version.", body = User),
        (status = 403, description = "Only admins and managers may read accounts."),
        (status = 404, description = "No such account."),
    ),
    security(("bearer" = [])),
)]
#[get("/users/{id}")]
pub async fn get_user(
    state: web::Data<AppState>,
    Authenticated(caller): Authenticated,
    id: web::Path<Uuid>,
) -> Result<HttpResponse, ApiError> {
    let user = uc::get(&state.ctx, &caller, id.into_inner()).await?;
    Ok(user_response(StatusCode::OK, &user))
}

/// Changes an account (merge patch). Admins only. Deactivation, a role change or a new
/// password ends the user's sessions at once. Honours `If-Match` (412 when stale). The last
/// active admin cannot be deactivated or demoted.
#[utoipa::path(
    operation_id = "update_user",
    tag = "users",
    params(
        ("id" = Uuid, Path, description = "Account id"),
        ("If-Match" = Option<String>, Header, description = "The `ETag` last read; the change is refused with 412 if the account changed since."),
    ),
    request_body(content = UpdateUser, content_type = "application/merge-patch+json"),
    responses(
        (status = 200, description = "The changed account.", body = User),
        (status = 403, description = "Only admins may change accounts."),
        (status = 404, description = "No such account."),
        (status = 409, description = "The change would leave no active admin."),
        (status = 412, description = "The account changed since the `If-Match` version."),
        (status = 422, description = "Invalid fields, all listed."),
    ),
    security(("bearer" = [])),
)]
#[patch("/users/{id}")]
pub async fn update_user(
    req: HttpRequest,
    state: web::Data<AppState>,
    Authenticated(caller): Authenticated,
    id: web::Path<Uuid>,
    body: Json<UpdateUser>,
) -> Result<HttpResponse, ApiError> {
    let user = uc::update(
        &state.ctx,
        &caller,
        id.into_inner(),
        if_match(&req),
        body.input(),
    )
    .await?;
    Ok(user_response(StatusCode::OK, &user))
}
