//! Extractors and extractor configuration, so that every malformed request is answered with
//! a problem document, and only once the caller has passed the checks that come first.
//!
//! [`Json`] and [`Query`] never fail while the request is extracted: they keep the raw body
//! or query string and hand it to the use case as a deferred [`Input`], which decodes it at
//! the body step of the fixed order of checks. A stranger sending garbage to a record they
//! may not see gets 404 (or 403), never a 400 that tells them the route took their request.
//! Decoding reports each bad field with its JSON path and never echoes the value.

use std::future::Future;
use std::marker::PhantomData;
use std::pin::Pin;

use actix_web::dev::Payload;
use actix_web::error::PathError;
use actix_web::http::header;
use actix_web::web::{Bytes, BytesMut};
use actix_web::{FromRequest, HttpRequest};
use crm_app::{AppError, IfMatch, Input};
use futures_util::StreamExt;
use serde::de::DeserializeOwned;

use crate::error::{ApiError, ErrorCode, FieldError, sanitize_serde_message};

/// Largest JSON body accepted, in bytes.
pub const JSON_LIMIT: usize = 1024 * 1024;

/// What reading a JSON body found.
enum Raw {
    Bytes(Bytes),
    WrongType,
    TooLarge,
    Broken,
}

/// A JSON request body, decoded when the use case reaches the body step. Requires
/// `Content-Type: application/json` (or `+json`, 415), at most [`JSON_LIMIT`] bytes (413);
/// syntax errors are 400 `malformed_json`, shape errors 422 `validation_failed` with the
/// field's JSON path.
pub struct Json<T> {
    raw: Raw,
    _type: PhantomData<fn() -> T>,
}

impl<T: DeserializeOwned + 'static> Json<T> {
    /// The body as a use-case input.
    pub fn input(self) -> Input<T> {
        match self.raw {
            Raw::Bytes(bytes) => Input::deferred(move || parse_json(&bytes)),
            Raw::WrongType => Input::deferred(|| {
                Err(AppError::UnsupportedMediaType(
                    "This endpoint accepts application/json only.".to_owned(),
                ))
            }),
            Raw::TooLarge => {
                Input::deferred(|| Err(AppError::PayloadTooLarge { limit: JSON_LIMIT }))
            }
            Raw::Broken => Input::deferred(|| {
                Err(AppError::BadRequest {
                    code: ErrorCode::BadRequest,
                    detail: "The request body could not be read.".to_owned(),
                    errors: Vec::new(),
                })
            }),
        }
    }
}

impl<T: 'static> FromRequest for Json<T> {
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
        let mut payload = payload.take();
        Box::pin(async move {
            let raw = if !content_type_ok {
                Raw::WrongType
            } else if declared_len.is_some_and(|len| len > JSON_LIMIT) {
                Raw::TooLarge
            } else {
                let mut body = BytesMut::new();
                let mut raw = None;
                while let Some(chunk) = payload.next().await {
                    match chunk {
                        Ok(chunk) if body.len() + chunk.len() <= JSON_LIMIT => {
                            body.extend_from_slice(&chunk);
                        }
                        Ok(_) => {
                            raw = Some(Raw::TooLarge);
                            break;
                        }
                        Err(_) => {
                            raw = Some(Raw::Broken);
                            break;
                        }
                    }
                }
                raw.unwrap_or_else(|| Raw::Bytes(body.freeze()))
            };
            Ok(Json {
                raw,
                _type: PhantomData,
            })
        })
    }
}

/// Parses a JSON document into `T`, mapping failures to problem errors with field paths:
/// first the whole document's syntax (400), then its shape (422).
pub fn parse_json<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, AppError> {
    let value: serde_json::Value =
        serde_json::from_slice(bytes).map_err(|err| AppError::BadRequest {
            code: ErrorCode::MalformedJson,
            detail: format!(
                "The body is not a single valid JSON document (line {}, column {}).",
                err.line(),
                err.column()
            ),
            errors: Vec::new(),
        })?;
    crm_app::input::decode_value(value).map_err(|e| AppError::Validation(vec![e]))
}

/// Query parameters, decoded when the use case asks for them (repeated parameters such as
/// `tag=a&tag=b` become lists); each problem is a 400 naming its parameter.
pub struct Query<T> {
    raw: String,
    _type: PhantomData<fn() -> T>,
}

impl<T: DeserializeOwned + 'static> Query<T> {
    /// The parameters as a use-case input.
    pub fn input(self) -> Input<T> {
        let raw = self.raw;
        Input::deferred(move || parse_query(&raw))
    }
}

impl<T: 'static> FromRequest for Query<T> {
    type Error = actix_web::Error;
    type Future = std::future::Ready<Result<Self, Self::Error>>;

    fn from_request(req: &HttpRequest, _payload: &mut Payload) -> Self::Future {
        std::future::ready(Ok(Query {
            raw: req.query_string().to_owned(),
            _type: PhantomData,
        }))
    }
}

/// The longest value any query parameter may have, in characters (declared as `maxLength`
/// on every query parameter without a tighter bound of its own).
pub const MAX_QUERY_VALUE_CHARS: usize = 1000;
/// How often one query parameter may be repeated (`tag=a&tag=b…`; declared as `maxItems`).
pub const MAX_QUERY_REPEATS: usize = 20;

/// The rules every query parameter follows, whatever the list: no control characters (NUL
/// above all, which PostgreSQL cannot compare with text), values of at most
/// [`MAX_QUERY_VALUE_CHARS`] characters, at most [`MAX_QUERY_REPEATS`] of one name.
fn check_query_pairs(pairs: &[(String, String)]) -> Result<(), AppError> {
    let bad = |name: &str, detail: String, code: &str, message: String| AppError::BadRequest {
        code: ErrorCode::InvalidParameter,
        detail,
        errors: vec![FieldError::new(name, code, message)],
    };
    let control = |text: &String| text.chars().any(crm_app::check::is_forbidden_control);
    if let Some((name, _)) = pairs.iter().find(|(n, v)| control(n) || control(v)) {
        let name = if control(name) {
            "query"
        } else {
            name.as_str()
        };
        return Err(bad(
            name,
            format!("The query parameter `{name}` holds a control character."),
            "invalid_character",
            "must not contain control characters".to_owned(),
        ));
    }
    if let Some((name, _)) = pairs
        .iter()
        .find(|(_, v)| v.chars().count() > MAX_QUERY_VALUE_CHARS)
    {
        return Err(bad(
            name,
            format!(
                "The query parameter `{name}` is longer than {MAX_QUERY_VALUE_CHARS} characters."
            ),
            "too_long",
            format!("must be at most {MAX_QUERY_VALUE_CHARS} characters long"),
        ));
    }
    let mut counts = std::collections::HashMap::new();
    for (name, _) in pairs {
        let count = counts.entry(name.as_str()).or_insert(0usize);
        *count += 1;
        if *count > MAX_QUERY_REPEATS {
            return Err(bad(
                name,
                format!(
                    "The query parameter `{name}` is repeated more than {MAX_QUERY_REPEATS} times."
                ),
                "too_many",
                format!("may be given at most {MAX_QUERY_REPEATS} times"),
            ));
        }
    }
    Ok(())
}

/// Parses a query string into `T`: 400 `invalid_parameter` naming the problem.
pub fn parse_query<T: DeserializeOwned>(raw: &str) -> Result<T, AppError> {
    let pairs = serde_html_form::from_str::<Vec<(String, String)>>(raw).ok();
    if let Some(pairs) = &pairs {
        check_query_pairs(pairs)?;
    }
    let parsed: T = serde_html_form::from_str(raw).map_err(|e| {
        let (code, message) = sanitize_serde_message(&e.to_string());
        AppError::BadRequest {
            code: ErrorCode::InvalidParameter,
            detail: format!("A query parameter is invalid: {message}."),
            errors: vec![FieldError::new("query", code, message)],
        }
    })?;
    if let Some(pairs) = &pairs {
        refuse_empty_numbers::<T>(pairs)?;
    }
    Ok(parsed)
}

/// An empty number or flag (`limit=`) reads as absent, yet it is not what the parameter
/// takes. Each empty parameter is read again holding a letter: where that cannot be read,
/// the parameter takes a number or a flag, and its empty value is a 400 like any other value
/// it cannot take. (An empty text stays the empty text, for its use case to judge.)
fn refuse_empty_numbers<T: DeserializeOwned>(pairs: &[(String, String)]) -> Result<(), AppError> {
    for (name, _) in pairs.iter().filter(|(_, value)| value.is_empty()) {
        let probe: Vec<(&str, &str)> = pairs
            .iter()
            .map(|(n, v)| {
                if n == name && v.is_empty() {
                    (n.as_str(), "x")
                } else {
                    (n.as_str(), v.as_str())
                }
            })
            .collect();
        let Ok(probe) = serde_html_form::to_string(&probe) else {
            continue;
        };
        if serde_html_form::from_str::<T>(&probe).is_err() {
            return Err(AppError::BadRequest {
                code: ErrorCode::InvalidParameter,
                detail: format!(
                    "The query parameter `{name}` is empty; leave it out to use its default."
                ),
                errors: vec![FieldError::new(name.as_str(), "invalid_value", "is empty")],
            });
        }
    }
    Ok(())
}

/// The `If-Match` header of a request, for the use case to check at its turn.
pub fn if_match(req: &HttpRequest) -> IfMatch {
    match req.headers().get(header::IF_MATCH) {
        None => IfMatch::Absent,
        Some(value) => match value.to_str() {
            Ok(text) => IfMatch::parse(Some(text)),
            Err(_) => IfMatch::Unmatchable,
        },
    }
}

/// Error handler for `web::Path`: 400 saying which path segment is malformed.
pub fn path_error(err: PathError, req: &HttpRequest) -> actix_web::Error {
    // `PATCH /customers/at-risk` reaches `PATCH /customers/{id}`; it is a fixed path that
    // does not take this method, so 405 like any other.
    if let Some(mut methods) = req
        .app_data::<actix_web::web::Data<crate::routes::RouteTable>>()
        .and_then(|table| table.fixed(req.path()))
        .filter(|m| !m.is_empty() && !m.contains(req.method()))
    {
        methods.sort_by_key(|m| m.to_string());
        methods.dedup();
        return ApiError::method_not_allowed(&methods).into();
    }
    let raw = err.to_string();
    let (code, message) = sanitize_serde_message(&raw);
    ApiError(AppError::BadRequest {
        code: ErrorCode::InvalidParameter,
        detail: format!("A path parameter is malformed: {message}."),
        errors: vec![FieldError::new("path", code, message)],
    })
    .into()
}
