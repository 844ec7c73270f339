//! The tier policy (客户分级策略): weights and thresholds managers edit; saving it re-tiers
//! every customer whose tier is not pinned.

use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse, get, put, web};
use chrono::{DateTime, Utc};
use crm_domain::access::Action;
use crm_domain::tier::TierPolicy;
use crm_store::{begin_write, customers, history, tier_policy};
use serde::Serialize;
use serde_json::json;
use utoipa::ToSchema;
use uuid::Uuid;

use crate::AppState;
use crate::auth::Principal;
use crate::concurrency::{etag, if_match};
use crate::error::{ApiError, FieldError};
use crate::extract::Json;
use crate::routes::customers::today;

/// The policy in force.
#[derive(Debug, Serialize, ToSchema)]
pub struct TierPolicyDocument {
    /// Weights and thresholds; `PUT` takes this object alone.
    pub policy: TierPolicy,
    /// Version for `If-Match`; 0 while the built-in default is in force.
    pub version: i32,
    /// Who saved it last.
    pub updated_by: Option<Uuid>,
    /// When it was saved last.
    pub updated_at: Option<DateTime<Utc>>,
    /// On `PUT`: how many customers changed tier.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub retiered: Option<u64>,
}

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
    principal: Principal,
) -> Result<HttpResponse, ApiError> {
    principal.require(Action::ReadCustomers)?;
    let (policy, row) = tier_policy::get(&state.db).await?;
    let version = row.as_ref().map_or(0, |r| r.version);
    Ok(HttpResponse::Ok()
        .insert_header((header::ETAG, etag(version)))
        .json(TierPolicyDocument {
            policy,
            version,
            updated_by: row.as_ref().and_then(|r| r.updated_by),
            updated_at: row.map(|r| r.updated_at),
            retiered: None,
        }))
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
    principal: Principal,
    body: Json<TierPolicy>,
) -> Result<HttpResponse, ApiError> {
    principal.require(Action::EditTierPolicy)?;
    let expected = if_match(&req)?;
    let policy = body.into_inner();
    let problems: Vec<FieldError> = policy
        .problems()
        .into_iter()
        .map(|(f, m)| FieldError::new(f, "invalid_value", m))
        .collect();
    ApiError::unless_invalid(problems)?;
    let tx = begin_write(&state.db).await?;
    let (_, row) = tier_policy::get(&tx).await?;
    let current = row.as_ref().map_or(0, |r| r.version);
    if expected.is_some_and(|v| v != current) {
        return Err(ApiError::PreconditionFailed);
    }
    let saved = tier_policy::put(&tx, &policy, principal.id, current + 1).await?;
    let mut retiered = 0u64;
    let mut after = None;
    loop {
        let page = customers::unpinned_page(&tx, after, 500).await?;
        let Some(last) = page.last() else { break };
        after = Some(last.id);
        for mut row in page {
            let (old_tier, old_score) = (row.tier.clone(), row.tier_score);
            row.apply_tier(&policy, today());
            if row.tier != old_tier || row.tier_score != old_score {
                customers::set_tier(&tx, row.id, &row.tier, row.tier_score).await?;
            }
            if row.tier != old_tier {
                retiered += 1;
                history::record(
                    &tx,
                    row.id,
                    Some(principal.id),
                    "tier_changed",
                    json!({"tier": {"from": old_tier, "to": row.tier}}),
                )
                .await?;
            }
        }
    }
    tx.commit().await.map_err(crm_store::StoreError::from)?;
    tracing::info!(actor = %principal.id, retiered, "tier policy changed");
    Ok(HttpResponse::Ok()
        .insert_header((header::ETAG, etag(saved.version)))
        .json(TierPolicyDocument {
            policy,
            version: saved.version,
            updated_by: saved.updated_by,
            updated_at: Some(saved.updated_at),
            retiered: Some(retiered),
        }))
}
