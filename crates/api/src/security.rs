//! Security headers on every response: `X-Content-Type-Options: nosniff` and
//! `Referrer-Policy: no-referrer` always; `Cache-Control: no-store` on answers to
//! authenticated requests that set no caching of their own (no shared cache keeps a
//! customer's data); `Strict-Transport-Security` when configured (served behind TLS).

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::{self, HeaderValue};
use actix_web::middleware::Next;
use actix_web::{Error, web};

use crate::AppState;

/// Adds the headers to the response of `req`.
pub async fn middleware(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<impl MessageBody>, Error> {
    let credentials = req.headers().contains_key(header::AUTHORIZATION)
        || req.headers().contains_key("x-api-key");
    let hsts = req
        .app_data::<web::Data<AppState>>()
        .map_or(0, |s| s.settings.hsts_max_age);
    let mut res = next.call(req).await?;
    let headers = res.headers_mut();
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    if credentials && !headers.contains_key(header::CACHE_CONTROL) {
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    if hsts > 0
        && let Ok(value) = HeaderValue::from_str(&format!("max-age={hsts}; includeSubDomains"))
    {
        headers.insert(header::STRICT_TRANSPORT_SECURITY, value);
    }
    Ok(res)
}
