//! The tier policy (客户分级策略): the HTTP side of [`crm_app::tier_policy`].

use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse, get, put, web};
use crm_app::input::etag;
use crm_app::tier_policy::{self as uc, TierPolicyDocument};
use crm_domain::tier::TierPolicy;

use crate::AppState;
use crate::auth::Authenticated;
use crate::error::ApiError;
use crate::extract::{Json, if_match};

/// Reads the tier policy.
#[utoipa::path(
    operation_id = "get_tier_policy",
    tag = "tiers",
    responses((status = 200, description = "The policy in force.", body = TierPolicyDocument)),
    security(("bearer" = [])),
)]
#[get("/tier-policy")]
pub async fn get_tier_policy(
    state: web::Data<AppState>,
    Authenticated(caller): Authenticated,
) -> Result<HttpResponse, ApiError> {
    let doc: TierPolicyDocument = uc::get(&state.ctx, &caller).await?;
    Ok(HttpResponse::Ok()
        .insert_header((header::ETAG, etag(doc.version)))
        .json(doc))
}

/// Replaces the tier policy (managers and admins) and re-tiers every unpinned customer in
/// the same transaction; each customer whose tier changes gets a `tier_changed` entry in its
/// change log. Honours `If-Match`.
#[utoipa::path(
    operation_id = "put_tier_policy",
    tag = "tiers",
    params(("If-Match" = Option<String>, Header, description = "The `ETag` last read.")),
    request_body = TierPolicy,
    responses(
        (status = 200, description = "The new policy, with how many customers changed tier.", body = TierPolicyDocument),
        (status = 403, description = "Only managers and admins edit the policy."),
        (status = 412, description = "The policy changed since the `If-Match` version."),
        (status = 422, description = "Weights must add up to 100; thresholds must be ordered."),
    ),
    security(("bearer" = [])),
)]
#[put("/tier-policy")]
pub async fn put_tier_policy(
    req: HttpRequest,
    state: web::Data<AppState>,
    Authenticated(caller): Authenticated,
    body: Json<TierPolicy>,
) -> Result<HttpResponse, ApiError> {
    let doc = uc::put(&state.ctx, &caller, if_match(&req), body.input()).await?;
    Ok(HttpResponse::Ok()
        .insert_header((header::ETAG, etag(doc.version)))
        .json(doc))
}
