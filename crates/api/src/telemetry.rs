//! The request's log span and access log line, built on `tracing-actix-web`: every event
//! logged while handling a request carries its `request_id`, method and route, and each
//! request ends with one access-log event with status and latency. Server errors are logged
//! with their cause here, the only place a cause is ever written.

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::{Error, HttpMessage};
use tracing::Span;
use tracing_actix_web::RootSpanBuilder;

use crate::request_id::{RequestId, RequestStart};

/// The route template a request matched (`unmatched` when none did), found once when its span
/// opens and kept in its extensions for the metrics, which label requests by it.
#[derive(Debug, Clone)]
pub(crate) struct RoutePattern(pub String);

/// Builds the root span of each request.
pub struct CrmRootSpan;

impl RootSpanBuilder for CrmRootSpan {
    fn on_request_start(request: &ServiceRequest) -> Span {
        let request_id = request
            .extensions()
            .get::<RequestId>()
            .map(|r| r.0.clone())
            .unwrap_or_default();
        let route = request
            .match_pattern()
            .unwrap_or_else(|| "unmatched".to_owned());
        request.extensions_mut().insert(RoutePattern(route.clone()));
        tracing::info_span!(
            "request",
            request_id = %request_id,
            method = %request.method(),
            route = %route,
        )
    }

    fn on_request_end<B: MessageBody>(span: Span, outcome: &Result<ServiceResponse<B>, Error>) {
        let _entered = span.enter();
        match outcome {
            Ok(response) => {
                let status = response.status();
                let latency_ms = response
                    .request()
                    .extensions()
                    .get::<RequestStart>()
                    .map(|s| s.0.elapsed().as_secs_f64() * 1000.0)
                    .unwrap_or_default();
                let path = response.request().path();
                if let Some(error) = response
                    .response()
                    .error()
                    .filter(|_| status.is_server_error())
                {
                    tracing::error!(status = status.as_u16(), error = ?error, "request failed");
                }
                tracing::info!(
                    status = status.as_u16(),
                    latency_ms,
                    path,
                    "request completed"
                );
            }
            Err(error) => {
                tracing::error!(error = ?error, "request failed before a response was built");
            }
        }
    }
}
