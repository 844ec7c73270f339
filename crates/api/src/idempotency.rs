//! `Idempotency-Key` on creating requests: a `POST` carrying the header is claimed for its
//! caller; its first successful response is kept for 24 hours and replayed, with
//! `Idempotent-Replayed: true`, when the same caller retries with the same key and the same
//! request. The same key with a different request is 422; a retry while the first is still
//! running is 409. Failed requests release their key so they can be retried. An answer that
//! shows a secret (a new API key, a webhook's signing secret) is not kept: its secret is
//! shown once and stored nowhere in clear, so a retry of it is 409 with the `Location` of what
//! it made.

use actix_web::body::{BoxBody, MessageBody};
use actix_web::dev::{Payload, ServiceRequest, ServiceResponse};
use actix_web::http::{Method, StatusCode, header};
use actix_web::middleware::Next;
use actix_web::{Error, HttpMessage, HttpResponse, web};
use bytes::BytesMut;
use crm_store::idempotency::{self, Claim};
use futures_util::StreamExt;
use sha2::{Digest, Sha256};

use crate::AppState;
use crate::auth::{hex_digest, sha256_hex};
use crm_app::AppError;

use crate::error::{ApiError, ErrorCode, FieldError};

/// The request header.
pub const HEADER: &str = "idempotency-key";

/// Marks an answer that shows a secret, in its extensions: the middleware keeps only that the
/// request succeeded (and where its resource is), never the answer.
#[derive(Debug, Clone, Copy)]
struct ShowsSecret;

/// `response`, marked as showing a secret: it is sent, never kept for replay.
pub(crate) fn showing_secret(mut response: HttpResponse) -> HttpResponse {
    response.extensions_mut().insert(ShowsSecret);
    response
}
/// Largest request body considered (an attachment upload with its multipart framing).
const MAX_BODY: usize = crm_app::attachments::MAX_ATTACHMENT + 64 * 1024;
/// Largest response kept for replay: a 1,000-row import's answer with errors on every row
/// fits many times over.
const MAX_RESPONSE: usize = 8 * 1024 * 1024;

fn principal(req: &ServiceRequest, state: &AppState) -> Option<String> {
    let headers = req.headers();
    if let Some(token) = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| {
            v.strip_prefix("Bearer ")
                .or_else(|| v.strip_prefix("bearer "))
        })
    {
        return state
            .ctx
            .auth
            .verify_access(token.trim())
            .ok()
            .map(|c| format!("user:{}", c.sub));
    }
    headers
        .get("x-api-key")
        .and_then(|v| v.to_str().ok())
        .map(|k| format!("key:{}", &sha256_hex(k.trim())[..32]))
}

fn invalid_key(message: &str) -> ApiError {
    ApiError(AppError::BadRequest {
        code: ErrorCode::InvalidParameter,
        detail: format!("The Idempotency-Key header {message}."),
        errors: vec![FieldError::new("Idempotency-Key", "invalid_value", message)],
    })
}

fn replay(row: &idempotency::Model) -> HttpResponse {
    let status = row
        .status
        .and_then(|s| u16::try_from(s).ok())
        .and_then(|s| StatusCode::from_u16(s).ok())
        .unwrap_or(StatusCode::OK);
    let mut builder = HttpResponse::build(status);
    builder.insert_header(("Idempotent-Replayed", "true"));
    if let Some(v) = &row.location {
        builder.insert_header((header::LOCATION, v.as_str()));
    }
    if let Some(v) = &row.etag {
        builder.insert_header((header::ETAG, v.as_str()));
    }
    if let Some(v) = &row.content_type {
        builder.insert_header((header::CONTENT_TYPE, v.as_str()));
    }
    builder.body(row.body.clone().unwrap_or_default())
}

/// The middleware.
pub async fn middleware(
    mut req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, Error> {
    let Some(raw_key) = req.headers().get(HEADER).cloned() else {
        return next
            .call(req)
            .await
            .map(ServiceResponse::map_into_boxed_body);
    };
    if req.method() != Method::POST {
        return next
            .call(req)
            .await
            .map(ServiceResponse::map_into_boxed_body);
    }
    let Some(state) = req.app_data::<web::Data<AppState>>().cloned() else {
        return next
            .call(req)
            .await
            .map(ServiceResponse::map_into_boxed_body);
    };
    let key = match raw_key.to_str() {
        Ok(k) if !k.is_empty() && k.len() <= 255 && k.bytes().all(|b| b.is_ascii_graphic()) => {
            k.to_owned()
        }
        _ => return Ok(req.error_response(invalid_key("must be 1–255 visible ASCII characters"))),
    };
    // Anonymous requests (signing in) are not keyed: there is no caller to key them by.
    let Some(principal) = principal(&req, &state) else {
        return next
            .call(req)
            .await
            .map(ServiceResponse::map_into_boxed_body);
    };

    let mut body = BytesMut::new();
    let mut payload = req.take_payload();
    while let Some(chunk) = payload.next().await {
        let chunk = chunk?;
        if body.len() + chunk.len() > MAX_BODY {
            return Ok(req.error_response(ApiError(AppError::PayloadTooLarge { limit: MAX_BODY })));
        }
        body.extend_from_slice(&chunk);
    }
    let body = body.freeze();
    let mut hasher = Sha256::new();
    hasher.update(req.method().as_str());
    hasher.update(b" ");
    hasher.update(req.uri().to_string());
    hasher.update(b"\n");
    hasher.update(&body);
    let request_hash = hex_digest(&hasher.finalize());
    req.set_payload(Payload::from(body));

    match idempotency::claim(&state.ctx.db, &principal, &key, &request_hash).await {
        Err(e) => return Ok(req.error_response(ApiError::from(e))),
        Ok(Claim::Existing(row)) if row.request_hash != request_hash => {
            return Ok(
                req.error_response(ApiError(AppError::Validation(vec![FieldError::new(
                    "Idempotency-Key",
                    "key_reused",
                    "was already used for a different request; use a new key",
                )]))),
            );
        }
        Ok(Claim::Existing(row)) if row.status.is_none() => {
            return Ok(req.error_response(ApiError(AppError::Conflict {
                code: ErrorCode::IdempotencyInFlight,
                detail:
                    "A request with this Idempotency-Key is still being handled; retry shortly."
                        .to_owned(),
            })));
        }
        Ok(Claim::Existing(row)) if row.body.is_none() => {
            let mut response =
                actix_web::ResponseError::error_response(&ApiError(AppError::Conflict {
                    code: ErrorCode::Conflict,
                    detail: "A request with this Idempotency-Key succeeded already; its answer showed a secret, which is shown once and not kept. The resource is at Location; rotate or replace its secret to get a new one.".to_owned(),
                }));
            if let Some(location) = row
                .location
                .as_deref()
                .and_then(|l| header::HeaderValue::from_str(l).ok())
            {
                response.headers_mut().insert(header::LOCATION, location);
            }
            let (http_req, _) = req.into_parts();
            return Ok(ServiceResponse::new(http_req, response));
        }
        Ok(Claim::Existing(row)) => {
            let (http_req, _) = req.into_parts();
            return Ok(ServiceResponse::new(http_req, replay(&row)));
        }
        Ok(Claim::New) => {}
    }

    let res = next.call(req).await;
    let res = match res {
        Ok(res) if res.status().is_success() => res,
        other => {
            if let Err(e) = idempotency::release(&state.ctx.db, &principal, &key).await {
                tracing::error!(error = %e, "could not release an idempotency key");
            }
            return other.map(ServiceResponse::map_into_boxed_body);
        }
    };
    let (http_req, response) = res.into_parts();
    let (head, response_body) = response.into_parts();
    // Answers to creating requests are bounded by their requests (a 1,000-row import is the
    // largest); one that is not is still sent, only not kept for replay.
    let bytes = match actix_web::body::to_bytes(response_body).await {
        Ok(bytes) => bytes,
        Err(_) => {
            let _ = idempotency::release(&state.ctx.db, &principal, &key).await;
            let error = ApiError::internal("response body could not be read");
            return Ok(ServiceResponse::new(
                http_req,
                actix_web::ResponseError::error_response(&error),
            ));
        }
    };
    if bytes.len() > MAX_RESPONSE {
        tracing::warn!(
            size = bytes.len(),
            "response too large to keep for Idempotency-Key replay"
        );
        let _ = idempotency::release(&state.ctx.db, &principal, &key).await;
        return Ok(ServiceResponse::new(
            http_req,
            head.set_body(bytes).map_into_boxed_body(),
        ));
    }
    let text = |name: header::HeaderName| {
        head.headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
    };
    // An answer showing a secret is kept as "done" without its body (see the module's note);
    // one that is not text cannot be replayed and is only sent.
    let body = if head.extensions().get::<ShowsSecret>().is_some() {
        None
    } else {
        match String::from_utf8(bytes.to_vec()) {
            Ok(text) => Some(text),
            Err(_) => {
                let _ = idempotency::release(&state.ctx.db, &principal, &key).await;
                return Ok(ServiceResponse::new(
                    http_req,
                    head.set_body(bytes).map_into_boxed_body(),
                ));
            }
        }
    };
    let row = idempotency::Model {
        principal: principal.clone(),
        key: key.clone(),
        request_hash,
        status: i16::try_from(head.status().as_u16()).ok(),
        location: text(header::LOCATION),
        etag: text(header::ETAG),
        content_type: text(header::CONTENT_TYPE),
        body,
        created_at: chrono::Utc::now(),
    };
    if let Err(e) = idempotency::complete(&state.ctx.db, row).await {
        tracing::error!(error = %e, "could not store an idempotent response");
    }
    Ok(ServiceResponse::new(
        http_req,
        head.set_body(bytes).map_into_boxed_body(),
    ))
}
