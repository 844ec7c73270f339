//! Service endpoints for load balancers and orchestrators: liveness and readiness.

use actix_web::{HttpResponse, get, web};
use serde::Serialize;
use utoipa::ToSchema;

use crate::AppState;
use crate::error::ApiError;

/// Health of the process or of its dependencies.
#[derive(Debug, Serialize, ToSchema)]
pub struct Health {
    /// `ok` when healthy.
    #[schema(example = "ok")]
    pub status: &'static str,
}

/// Liveness: answers 200 while the process runs, without touching the database.
#[utoipa::path(
    operation_id = "get_health",
    tag = "service",
    responses((status = 200, description = "The process is running.", body = Health)),
    security(()),
)]
#[get("/healthz")]
pub async fn healthz() -> HttpResponse {
    HttpResponse::Ok()
        .insert_header(("Cache-Control", "no-store"))
        .json(Health { status: "ok" })
}

/// Readiness: answers 200 when the database answers, 503 otherwise, so that a load balancer
/// takes the instance out of rotation while its database is unreachable.
#[utoipa::path(
    operation_id = "get_readiness",
    tag = "service",
    responses(
        (status = 200, description = "The database answers.", body = Health),
        (status = 503, description = "The database does not answer.", body = crate::error::Problem,
            content_type = "application/problem+json"),
    ),
    security(()),
)]
#[get("/readyz")]
pub async fn readyz(state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    state.ctx.ping().await?;
    Ok(HttpResponse::Ok()
        .insert_header(("Cache-Control", "no-store"))
        .json(Health { status: "ok" }))
}

/// The OpenAPI document, serialised once at start.
pub struct OpenApiDocument(String);

impl utoipa::PartialSchema for OpenApiDocument {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        utoipa::openapi::schema::ObjectBuilder::new()
            .schema_type(utoipa::openapi::schema::Type::Object)
            .description(Some("An OpenAPI 3.1 document."))
            .additional_properties(Some(
                utoipa::openapi::schema::AdditionalProperties::FreeForm(true),
            ))
            .into()
    }
}

impl utoipa::ToSchema for OpenApiDocument {}

impl OpenApiDocument {
    /// Serialises `doc` for serving.
    pub fn new(doc: &serde_json::Value) -> Self {
        Self(serde_json::to_string(doc).unwrap_or_default())
    }
}

/// The OpenAPI 3.1 document of this API, the same as `openapi/openapi.json` in the source.
#[utoipa::path(
    operation_id = "get_openapi",
    tag = "service",
    responses((status = 200, description = "The OpenAPI document.", content_type = "application/json",
        body = OpenApiDocument)),
    security(()),
)]
#[get("/openapi.json")]
pub async fn get_openapi(doc: web::Data<OpenApiDocument>) -> HttpResponse {
    HttpResponse::Ok()
        .content_type("application/json")
        .body(doc.0.clone())
}
