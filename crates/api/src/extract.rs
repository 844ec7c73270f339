//! Extractors and extractor configuration, so that every malformed request is answered with
//! a problem document: [`Json`] reports each bad field with its JSON path and never echoes the
//! value; query and path failures are 400 naming the parameter.

use std::future::Future;
use std::pin::Pin;

use actix_web::dev::Payload;
use actix_web::error::{PathError, QueryPayloadError};
use actix_web::http::header;
use actix_web::web::{self, Bytes};
use actix_web::{FromRequest, HttpRequest};
use serde::de::DeserializeOwned;

use crate::error::{ApiError, ErrorCode, FieldError, sanitize_serde_message};

/// Largest JSON body accepted, in bytes.
pub const JSON_LIMIT: usize = 1024 * 1024;

/// A JSON request body. Requires `Content-Type: application/json` (or `+json`), at most
/// [`JSON_LIMIT`] bytes; syntax errors are 400 `malformed_json`, shape errors 422
/// `validation_failed` with the field's JSON path.
#[derive(Debug)]
pub struct Json<T>(pub T);

impl<T> Json<T> {
    /// Unwraps the body.
    pub fn into_inner(self) -> T {
        self.0
    }
}

impl<T: DeserializeOwned + 'static> FromRequest for Json<T> {
    type Error = actix_web::Error;
    type Future = Pin<Box<dyn Future<Output = Result<Self, Self::Error>>>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let content_type_ok = req
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse::<mime::Mime>().ok())
            .is_some_and(|m| {
                m.type_() == mime::APPLICATION
                    && (m.subtype() == mime::JSON || m.suffix() == Some(mime::JSON))
            });
        let declared_len = req
            .headers()
            .get(header::CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse::<usize>().ok());
        let body = web::Bytes::from_request(req, payload);
        Box::pin(async move {
            if !content_type_ok {
                return Err(ApiError::UnsupportedMediaType(
                    "This endpoint accepts application/json only.".to_owned(),
                )
                .into());
            }
            if declared_len.is_some_and(|len| len > JSON_LIMIT) {
                return Err(ApiError::PayloadTooLarge { limit: JSON_LIMIT }.into());
            }
            let bytes: Bytes = body.await?;
            parse_json(&bytes).map(Json).map_err(Into::into)
        })
    }
}

/// Parses a JSON document into `T`, mapping failures to problem errors with field paths:
/// first the whole document's syntax (400), then its shape (422).
pub fn parse_json<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    let value: serde_json::Value =
        serde_json::from_slice(bytes).map_err(|err| ApiError::BadRequest {
            code: ErrorCode::MalformedJson,
            detail: format!(
                "The body is not a single valid JSON document (line {}, column {}).",
                err.line(),
                err.column()
            ),
            errors: Vec::new(),
        })?;
    serde_path_to_error::deserialize(value).map_err(|err| {
        let path = err.path().to_string();
        let raw = err.into_inner().to_string();
        let (code, message) = sanitize_serde_message(&raw);
        let (field, message) = missing_field_path(&path, &raw, message);
        ApiError::Validation(vec![FieldError::new(field, code, message)])
    })
}

/// serde reports a missing field at the path of its parent; name the field itself.
fn missing_field_path(path: &str, raw: &str, message: String) -> (String, String) {
    let missing = raw
        .strip_prefix("missing field `")
        .and_then(|rest| rest.split('`').next());
    match missing {
        Some(name) if path == "." || path.is_empty() => (name.to_owned(), message),
        Some(name) => (format!("{path}.{name}"), message),
        None if path == "." => ("$".to_owned(), message),
        None => (path.to_owned(), message),
    }
}

/// Error handler for `web::Query`: 400 naming the parameter when it can be told.
pub fn query_error(err: QueryPayloadError, _req: &HttpRequest) -> actix_web::Error {
    let raw = err.to_string();
    let (code, message) =
        sanitize_serde_message(raw.trim_start_matches("Query deserialize error: "));
    ApiError::BadRequest {
        code: ErrorCode::InvalidParameter,
        detail: format!("A query parameter is invalid: {message}."),
        errors: vec![FieldError::new("query", code, message)],
    }
    .into()
}

/// Error handler for `web::Path`: 400 saying which path segment is malformed.
pub fn path_error(err: PathError, _req: &HttpRequest) -> actix_web::Error {
    let raw = err.to_string();
    let (code, message) = sanitize_serde_message(&raw);
    ApiError::BadRequest {
        code: ErrorCode::InvalidParameter,
        detail: format!("A path parameter is malformed: {message}."),
        errors: vec![FieldError::new("path", code, message)],
    }
    .into()
}
