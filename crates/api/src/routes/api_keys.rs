//! Integrator API keys: admins create them (the secret is shown once), list and revoke them.

use actix_web::http::{StatusCode, header};
use actix_web::{HttpResponse, delete, get, post, web};
use chrono::{DateTime, Utc};
use crm_domain::access::{Action, Scope};
use crm_store::api_keys;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use crate::AppState;
use crate::auth::{Principal, random_secret, sha256_hex};
use crate::error::{ApiError, FieldError};
use crate::extract::Json;
use crate::pagination::{PageQuery, next_cursor};

/// An integrator API key (without its secret).
#[derive(Debug, Serialize, ToSchema)]
pub struct ApiKey {
    /// Key id.
    pub id: Uuid,
    /// What the key is for, e.g. `官网表单` or `2026 广交会扫码枪`.
    pub name: String,
    /// The first characters of the secret, to tell keys apart.
    #[schema(example = "crm_k7Qb")]
    pub prefix: String,
    /// What the key may do.
    pub scopes: Vec<Scope>,
    /// When the key was created.
    pub created_at: DateTime<Utc>,
    /// When the key was last used (to the minute); `null` if never.
    pub last_used_at: Option<DateTime<Utc>>,
}

/// A newly created key, with its secret.
#[derive(Debug, Serialize, ToSchema)]
pub struct CreatedApiKey {
    /// The key.
    #[serde(flatten)]
    pub api_key: ApiKey,
    /// The secret to send as `X-API-Key`. Shown only in this response; it is stored hashed.
    pub key: String,
}

/// A page of keys.
#[derive(Debug, Serialize, ToSchema)]
pub struct ApiKeyList {
    /// The live keys, oldest first.
    pub items: Vec<ApiKey>,
    /// Cursor of the next page; `null` on the last page.
    pub next_cursor: Option<String>,
}

/// A new key.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateApiKey {
    /// What the key is for, 1–100 characters.
    #[schema(example = "官网表单")]
    pub name: String,
    /// What the key may do; at least one.
    pub scopes: Vec<Scope>,
}

impl From<api_keys::Model> for ApiKey {
    fn from(m: api_keys::Model) -> Self {
        Self {
            id: m.id,
            name: m.name,
            prefix: m.prefix,
            scopes: m
                .scopes
                .split_whitespace()
                .filter_map(Scope::parse)
                .collect(),
            created_at: m.created_at,
            last_used_at: m.last_used_at,
        }
    }
}

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
    principal: Principal,
    page: web::Query<PageQuery>,
) -> Result<HttpResponse, ApiError> {
    principal.require(Action::ManageApiKeys)?;
    let limit = page.limit()?;
    let rows = api_keys::list(&state.db, page.after_id()?, limit).await?;
    let next = next_cursor(rows.last().map(|k| k.id), rows.len(), limit);
    Ok(HttpResponse::Ok().json(ApiKeyList {
        items: rows.into_iter().map(ApiKey::from).collect(),
        next_cursor: next,
    }))
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
    principal: Principal,
    body: Json<CreateApiKey>,
) -> Result<HttpResponse, ApiError> {
    principal.require(Action::ManageApiKeys)?;
    let CreateApiKey { name, mut scopes } = body.into_inner();
    let name = name.trim().to_owned();
    let mut errors = Vec::new();
    if !(1..=100).contains(&name.chars().count()) {
        errors.push(FieldError::new(
            "name",
            "length",
            "must be 1 to 100 characters long",
        ));
    }
    scopes.sort();
    scopes.dedup();
    if scopes.is_empty() {
        errors.push(FieldError::new(
            "scopes",
            "required",
            "must name at least one scope",
        ));
    }
    ApiError::unless_invalid(errors)?;
    let key = random_secret("crm_");
    let prefix: String = key.chars().take(8).collect();
    let scopes_text = scopes
        .iter()
        .map(|s| s.as_str())
        .collect::<Vec<_>>()
        .join(" ");
    let created = api_keys::insert(
        &state.db,
        name,
        prefix,
        sha256_hex(&key),
        scopes_text,
        principal.id,
    )
    .await?;
    tracing::info!(key_id = %created.id, actor = %principal.id, "API key created");
    let location = format!("/api/v1/api-keys/{}", created.id);
    Ok(HttpResponse::build(StatusCode::CREATED)
        .insert_header((header::LOCATION, location))
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .json(CreatedApiKey {
            api_key: ApiKey::from(created),
            key,
        }))
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
    principal: Principal,
    id: web::Path<Uuid>,
) -> Result<HttpResponse, ApiError> {
    principal.require(Action::ManageApiKeys)?;
    let id = id.into_inner();
    if !api_keys::revoke(&state.db, id).await? {
        return Err(ApiError::NotFound);
    }
    tracing::info!(key_id = %id, actor = %principal.id, "API key revoked");
    Ok(HttpResponse::NoContent().finish())
}
