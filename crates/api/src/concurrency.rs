//! Optimistic concurrency: `ETag` carries a resource's `version`; `If-Match` on a write must
//! name the current one or the write is refused with 412.

use actix_web::HttpRequest;
use actix_web::http::header;

use crate::error::ApiError;

/// The entity tag of a resource at `version`.
pub fn etag(version: i32) -> String {
    format!("\"{version}\"")
}

/// The version named by `If-Match`: `None` when absent or `*`; 412 when it names nothing
/// we could have issued.
pub fn if_match(req: &HttpRequest) -> Result<Option<i32>, ApiError> {
    let Some(value) = req.headers().get(header::IF_MATCH) else {
        return Ok(None);
    };
    let value = value
        .to_str()
        .map_err(|_| ApiError::PreconditionFailed)?
        .trim();
    if value == "*" {
        return Ok(None);
    }
    let tag = value.strip_prefix("W/").unwrap_or(value);
    tag.strip_prefix('"')
        .and_then(|t| t.strip_suffix('"'))
        .and_then(|t| t.parse::<i32>().ok())
        .map(Some)
        .ok_or(ApiError::PreconditionFailed)
}
