//! Integrator API keys: the HTTP side of [`crm_app::api_keys`].

use actix_web::http::{StatusCode, header};
use actix_web::{HttpResponse, delete, get, post, web};
use crm_app::api_keys::{self as uc, ApiKeyList, CreateApiKey, CreatedApiKey};
use crm_app::page::PageQuery;
use uuid::Uuid;

use crate::AppState;
use crate::auth::Authenticated;
use crate::error::ApiError;
use crate::extract::{Json, Query};

/// Lists live API keys. Admins only.
#[utoipa::path(
    operation_id = "list_api_keys",
    tag = "api-keys",
    params(PageQuery),
    responses(
        (status = 200, description = "A page of keys.", body = ApiKeyList),
        (status = 403, description = "Only admins may manage API keys."),
    ),
    security(("bearer" = [])),
)]
#[get("/api-keys")]
pub async fn list_api_keys(
    state: web::Data<AppState>,
    Authenticated(caller): Authenticated,
    page: Query<PageQuery>,
) -> Result<HttpResponse, ApiError> {
    let list: ApiKeyList = uc::list(&state.ctx, &caller, page.input()).await?;
    Ok(HttpResponse::Ok().json(list))
}

/// Creates an API key for an integrator. The response is the only time the secret is shown.
#[utoipa::path(
    operation_id = "create_api_key",
    tag = "api-keys",
    request_body = CreateApiKey,
    responses(
        (status = 201, description = "Created; `key` holds the secret.", body = CreatedApiKey),
        (status = 403, description = "Only admins may manage API keys."),
        (status = 422, description = "Invalid fields, all listed."),
    ),
    security(("bearer" = [])),
)]
#[post("/api-keys")]
pub async fn create_api_key(
    state: web::Data<AppState>,
    Authenticated(caller): Authenticated,
    body: Json<CreateApiKey>,
) -> Result<HttpResponse, ApiError> {
    let created: CreatedApiKey = uc::create(&state.ctx, &caller, body.input()).await?;
    Ok(crate::idempotency::showing_secret(
        HttpResponse::build(StatusCode::CREATED)
            .insert_header((
                header::LOCATION,
                format!("/api/v1/api-keys/{}", created.api_key.id),
            ))
            .insert_header((header::CACHE_CONTROL, "no-store"))
            .json(created),
    ))
}

/// Revokes an API key; it stops working at once.
#[utoipa::path(
    operation_id = "delete_api_key",
    tag = "api-keys",
    params(("id" = Uuid, Path, description = "Key id")),
    responses(
        (status = 204, description = "Revoked."),
        (status = 403, description = "Only admins may manage API keys."),
        (status = 404, description = "No such live key."),
    ),
    security(("bearer" = [])),
)]
#[delete("/api-keys/{id}")]
pub async fn delete_api_key(
    state: web::Data<AppState>,
    Authenticated(caller): Authenticated,
    id: web::Path<Uuid>,
) -> Result<HttpResponse, ApiError> {
    uc::revoke(&state.ctx, &caller, id.into_inner()).await?;
    Ok(HttpResponse::NoContent().finish())
}
