//! The CRM's HTTP API: handlers, request and response types, errors as problem+json, and
//! the OpenAPI document. [`build_app`] assembles the whole application; the server binary
//! and the integration tests both use it, so tests exercise exactly what runs.

pub mod auth;
pub mod error;
pub mod extract;
pub mod idempotency;
pub mod metrics;
pub mod openapi;
pub mod request_id;
pub mod routes;
pub mod security;
pub mod telemetry;

use actix_cors::Cors;
use actix_web::body::MessageBody;
use actix_web::dev::{ServiceFactory, ServiceRequest, ServiceResponse};
use actix_web::http::{Method, header};
use actix_web::middleware::{Compress, Condition, from_fn};
use actix_web::{App, web};
use crm_app::Ctx;
use tracing_actix_web::TracingLogger;
use utoipa::OpenApi as _;
use utoipa_actix_web::AppExt;
use utoipa_swagger_ui::SwaggerUi;

pub use error::{ApiError, ErrorCode, FieldError, Problem};

/// Where the OpenAPI document is served.
pub const OPENAPI_PATH: &str = "/api/v1/openapi.json";

/// Settings of the HTTP layer.
#[derive(Debug, Clone, Default)]
pub struct ApiSettings {
    /// Origins allowed to call the API from a browser; `*` allows any. Empty: no CORS.
    pub cors_origins: Vec<String>,
    /// `Strict-Transport-Security` max-age in seconds; 0 sends none (set it when the API is
    /// served over TLS).
    pub hsts_max_age: u64,
    /// Where Prometheus metrics are served (outside `/api`); `None`: not served.
    pub metrics_path: Option<String>,
    /// Bearer token a scrape must carry; `None`: none is asked for.
    pub metrics_token: Option<String>,
}

/// What every handler may reach: the use cases' context and the HTTP settings.
#[derive(Clone)]
pub struct AppState {
    /// Database, file store and authentication, as the use cases take them.
    pub ctx: Ctx,
    /// HTTP-layer settings.
    pub settings: ApiSettings,
    /// When the metrics last read the database.
    pub metrics_read_at: metrics::GaugesReadAt,
}

impl AppState {
    /// State over `ctx` with the given HTTP settings.
    pub fn new(ctx: Ctx, settings: ApiSettings) -> Self {
        Self {
            ctx,
            settings,
            metrics_read_at: metrics::GaugesReadAt::default(),
        }
    }
}

/// Collects the routes and the document they describe.
fn assemble() -> (
    App<
        impl ServiceFactory<
            ServiceRequest,
            Config = (),
            Response = ServiceResponse,
            Error = actix_web::Error,
            InitError = (),
        >,
    >,
    utoipa::openapi::OpenApi,
) {
    let (app, doc) = App::new()
        .into_utoipa_app()
        .openapi(openapi::ApiDoc::openapi())
        .configure(routes::configure)
        .split_for_parts();
    (app, openapi::finish(doc))
}

/// The OpenAPI document of this API, exactly as served at [`OPENAPI_PATH`].
pub fn openapi() -> serde_json::Value {
    openapi::render(&assemble().1)
}

/// The OpenAPI document as committed in `openapi/openapi.json`: pretty JSON, newline-ended.
pub fn openapi_json() -> String {
    let mut json = serde_json::to_string_pretty(&openapi()).unwrap_or_default();
    json.push('\n');
    json
}

/// Builds the application: routes, extractor configuration, fallback, documentation and
/// middleware (request id, access log, CORS, compression, security headers).
pub fn build_app(
    state: AppState,
) -> App<
    impl ServiceFactory<
        ServiceRequest,
        Config = (),
        Response = ServiceResponse<impl MessageBody>,
        Error = actix_web::Error,
        InitError = (),
    >,
> {
    let cors = cors(&state.settings);
    let (app, doc) = assemble();
    let table = routes::RouteTable::from_openapi(&doc);
    let metrics_path = state.settings.metrics_path.clone();
    if metrics_path.is_some() {
        metrics::install();
    }
    let app = match &metrics_path {
        Some(path) => app.route(path, web::get().to(metrics::scrape)),
        None => app,
    };
    app.app_data(web::Data::new(state))
        .app_data(web::Data::new(table))
        .app_data(web::PayloadConfig::new(extract::JSON_LIMIT))
        .app_data(web::PathConfig::default().error_handler(extract::path_error))
        .app_data(web::Data::new(routes::service::OpenApiDocument::new(
            &openapi::render(&doc),
        )))
        .service(
            SwaggerUi::new("/docs/{_:.*}").config(utoipa_swagger_ui::Config::from(OPENAPI_PATH)),
        )
        .default_service(web::to(routes::fallback))
        .wrap(from_fn(idempotency::middleware))
        .wrap(Compress::default())
        .wrap(cors)
        .wrap(TracingLogger::<telemetry::CrmRootSpan>::new())
        .wrap(from_fn(request_id::middleware))
        .wrap(from_fn(security::middleware))
        .wrap(Condition::new(
            metrics_path.is_some(),
            from_fn(metrics::middleware),
        ))
}

fn cors(settings: &ApiSettings) -> Cors {
    let mut cors = Cors::default()
        .allowed_methods([
            Method::GET,
            Method::POST,
            Method::PUT,
            Method::PATCH,
            Method::DELETE,
        ])
        .allowed_headers([
            header::AUTHORIZATION,
            header::CONTENT_TYPE,
            header::IF_MATCH,
            header::HeaderName::from_static("idempotency-key"),
            header::HeaderName::from_static("x-api-key"),
            request_id::X_REQUEST_ID.clone(),
        ])
        .expose_headers([
            header::ETAG,
            header::LOCATION,
            header::RETRY_AFTER,
            header::HeaderName::from_static("idempotent-replayed"),
            request_id::X_REQUEST_ID.clone(),
        ])
        .max_age(3600);
    for origin in &settings.cors_origins {
        cors = if origin == "*" {
            cors.send_wildcard().allow_any_origin()
        } else {
            cors.allowed_origin(origin)
        };
    }
    cors
}
