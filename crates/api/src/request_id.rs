//! Request ids: taken from `X-Request-Id` when the caller sends a sane one, generated
//! otherwise; returned on every response, put on the request's log span, and available to
//! error rendering through a task-local so that every problem body carries it.

use std::time::Instant;

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::{self, HeaderName, HeaderValue};
use actix_web::middleware::Next;
use actix_web::{Error, HttpMessage};

use crate::error::{ErrorCode, PROBLEM_JSON, Problem};

/// The header that carries the request id both ways.
pub static X_REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// The id of the request being handled, stored in its extensions.
#[derive(Debug, Clone)]
pub struct RequestId(pub String);

/// When the request arrived, for the access log.
#[derive(Debug, Clone, Copy)]
pub struct RequestStart(pub Instant);

/// The request id of the request this task is handling, if any.
pub fn current() -> Option<String> {
    crm_app::context::request_id()
}

/// Accepts a caller's id if it is 1–128 visible ASCII characters; anything else is replaced,
/// so that log lines cannot be forged or bloated through the header.
fn accept(value: &HeaderValue) -> Option<String> {
    let s = value.to_str().ok()?;
    let ok = !s.is_empty() && s.len() <= 128 && s.bytes().all(|b| b.is_ascii_graphic());
    ok.then(|| s.to_owned())
}

/// Outermost middleware: assigns the request id and makes sure that every error response,
/// including those produced by the framework itself, is problem+json.
pub async fn middleware(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<impl MessageBody>, Error> {
    let id = req
        .headers()
        .get(&X_REQUEST_ID)
        .and_then(accept)
        .unwrap_or_else(|| uuid::Uuid::now_v7().to_string());
    req.extensions_mut().insert(RequestId(id.clone()));
    req.extensions_mut().insert(RequestStart(Instant::now()));

    let res = crm_app::context::with_request_id(id.clone(), next.call(req)).await?;
    let needs_problem = (res.status().is_client_error() || res.status().is_server_error())
        && !res
            .headers()
            .get(header::CONTENT_TYPE)
            .is_some_and(|ct| ct.as_bytes().starts_with(PROBLEM_JSON.as_bytes()));
    let mut res = if needs_problem {
        let status = res.status();
        let code = ErrorCode::for_status(status.as_u16());
        let detail = status.canonical_reason().unwrap_or("Error").to_owned();
        let mut problem =
            crm_app::context::sync_with_request_id(id.clone(), || Problem::new(code, detail));
        problem.status = status.as_u16();
        let kept: Vec<_> = [header::ALLOW, header::WWW_AUTHENTICATE, header::RETRY_AFTER]
            .into_iter()
            .filter_map(|h| res.headers().get(&h).cloned().map(|v| (h, v)))
            .collect();
        let (req, _) = res.into_parts();
        let mut replacement = problem.into_response();
        for (h, v) in kept {
            replacement.headers_mut().insert(h, v);
        }
        ServiceResponse::new(req, replacement).map_into_right_body()
    } else {
        res.map_into_left_body()
    };
    if let Ok(value) = HeaderValue::from_str(&id) {
        res.headers_mut().insert(X_REQUEST_ID.clone(), value);
    }
    Ok(res)
}
