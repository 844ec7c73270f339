//! Errors as RFC 9457 `application/problem+json`.
//!
//! Every failure a client can see, whether from a use case, an extractor, an unknown route or
//! a middleware, leaves as a [`Problem`] with a stable machine `code` (the one table is
//! [`ErrorCode`] in the application crate) and the request id. Causes of server-side failures
//! are logged, never shown; submitted values are never echoed.

use std::fmt;

use actix_web::http::{Method, StatusCode, header};
use actix_web::{HttpResponse, ResponseError};
use crm_app::AppError;
use crm_store::StoreError;
use serde::Serialize;
use utoipa::ToSchema;

pub use crm_app::error::{ErrorCode, FieldError, sanitize_serde_message};

use crate::request_id;

/// The media type of every error body.
pub const PROBLEM_JSON: &str = "application/problem+json";

/// An RFC 9457 problem document, the body of every error response.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[schema(example = json!({
    "type": "urn:crm:problem:validation_failed",
    "title": "Validation failed",
    "status": 422,
    "detail": "1 field is invalid",
    "code": "validation_failed",
    "request_id": "0193a5f2-7c1e-7d4a-9a51-3f0b2c1d4e5f",
    "errors": [{"field": "name", "code": "required", "message": "is required"}]
}))]
pub struct Problem {
    /// A URI naming the problem type: `urn:crm:problem:{code}`.
    #[serde(rename = "type")]
    pub type_uri: String,
    /// Short summary of the problem type; the same for every occurrence.
    pub title: String,
    /// The HTTP status code.
    pub status: u16,
    /// Explanation of this occurrence.
    pub detail: String,
    /// Stable machine-readable code.
    pub code: ErrorCode,
    /// The request id (also in the `X-Request-Id` header); quote it when reporting a problem.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub request_id: Option<String>,
    /// For `validation_failed` and `invalid_parameter`: every invalid field.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<FieldError>,
    /// For a conflict with an existing record the caller may see: its id.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub existing_id: Option<uuid::Uuid>,
    /// For `illegal_transition`: the moves allowed from the record's current state.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub allowed: Vec<String>,
}

impl Problem {
    /// A problem of `code` with `detail`, carrying the current request id.
    pub fn new(code: ErrorCode, detail: impl Into<String>) -> Self {
        let status = status_of(code);
        Self {
            type_uri: format!("urn:crm:problem:{code}"),
            title: status.canonical_reason().unwrap_or("Error").to_owned(),
            status: status.as_u16(),
            detail: detail.into(),
            code,
            request_id: request_id::current(),
            errors: Vec::new(),
            existing_id: None,
            allowed: Vec::new(),
        }
    }

    /// Renders the problem as a response of its status.
    pub fn into_response(self) -> HttpResponse {
        let status = StatusCode::from_u16(self.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let body = serde_json::to_vec(&self).unwrap_or_default();
        HttpResponse::build(status)
            .insert_header((header::CONTENT_TYPE, PROBLEM_JSON))
            .insert_header((header::CACHE_CONTROL, "no-store"))
            .body(body)
    }
}

/// The HTTP status of a code.
pub fn status_of(code: ErrorCode) -> StatusCode {
    StatusCode::from_u16(code.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
}

/// An error on its way to the client: an [`AppError`] rendered as problem+json.
#[derive(Debug)]
pub struct ApiError(pub AppError);

impl fmt::Display for ApiError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

impl std::error::Error for ApiError {}

impl From<AppError> for ApiError {
    fn from(err: AppError) -> Self {
        Self(err)
    }
}

impl From<StoreError> for ApiError {
    fn from(err: StoreError) -> Self {
        Self(err.into())
    }
}

impl ApiError {
    /// A 500 whose cause is logged but never sent.
    pub fn internal(cause: impl fmt::Display) -> Self {
        Self(AppError::internal(cause))
    }

    /// A 405 naming the methods the path accepts.
    pub fn method_not_allowed(methods: &[Method]) -> Self {
        Self(AppError::MethodNotAllowed(
            methods.iter().map(|m| m.as_str().to_owned()).collect(),
        ))
    }

    /// The stable code of this error.
    pub fn code(&self) -> ErrorCode {
        self.0.code()
    }

    fn problem(&self) -> Problem {
        let mut p = Problem::new(self.0.code(), self.0.detail());
        p.errors = self.0.field_errors().to_vec();
        if let AppError::Rule(rule) = &self.0 {
            p.existing_id = rule.existing_id();
            p.allowed = rule.allowed().to_vec();
        }
        p
    }
}

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        status_of(self.code())
    }

    fn error_response(&self) -> HttpResponse {
        let mut response = self.problem().into_response();
        let headers = response.headers_mut();
        match &self.0 {
            AppError::Unauthenticated(_) => {
                headers.insert(
                    header::WWW_AUTHENTICATE,
                    header::HeaderValue::from_static(r#"Bearer realm="crm""#),
                );
            }
            AppError::MethodNotAllowed(allow) => {
                if let Ok(value) = header::HeaderValue::from_str(&allow.join(", ")) {
                    headers.insert(header::ALLOW, value);
                }
            }
            AppError::RateLimited { retry_after_secs } => {
                headers.insert(
                    header::RETRY_AFTER,
                    header::HeaderValue::from(*retry_after_secs),
                );
            }
            AppError::Unavailable(_) => {
                headers.insert(header::RETRY_AFTER, header::HeaderValue::from_static("5"));
            }
            _ => {}
        }
        response
    }
}
