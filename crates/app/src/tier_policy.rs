//! The tier policy (客户分级策略): weights and thresholds managers edit. Saving it enqueues a
//! re-tiering job in the same transaction; the job re-tiers every unpinned customer in
//! small transactions of its own, so no writer waits on one long transaction. The same job
//! runs nightly, so that years of cooperation stay true as time passes.

use chrono::{DateTime, Utc};
use crm_domain::access::{Action, Caller};
use crm_domain::audit::{AuditAction, EntityType};
use crm_domain::tier::TierPolicy;
use crm_store::{customers, jobs, tier_policy};
use serde::Serialize;
use serde_json::json;
use utoipa::ToSchema;
use uuid::Uuid;

use crate::check::today;
use crate::customers::one;
use crate::error::{AppError, FieldError};
use crate::input::{IfMatch, Input};
use crate::journal::Journal;
use crate::{Ctx, require};

/// The kind of the job that re-tiers every unpinned customer.
pub const RETIER_JOB: &str = "retier_customers";
/// Customers re-tiered per transaction.
const RETIER_BATCH: u64 = 200;

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
    /// On `PUT`: the background job re-tiering every unpinned customer under the new policy.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub retier_job_id: Option<Uuid>,
}

/// The tier policy in force.
pub async fn get(ctx: &Ctx, caller: &Caller) -> Result<TierPolicyDocument, AppError> {
    require(caller, Action::ReadCustomers)?;
    let (policy, row) = tier_policy::get(&ctx.db).await?;
    Ok(TierPolicyDocument {
        policy,
        version: row.as_ref().map_or(0, |r| r.version),
        updated_by: row.as_ref().and_then(|r| r.updated_by),
        updated_at: row.map(|r| r.updated_at),
        retier_job_id: None,
    })
}

/// Replaces the tier policy (managers and admins) and enqueues the re-tiering of every
/// unpinned customer. Honours `If-Match`.
pub async fn put(
    ctx: &Ctx,
    caller: &Caller,
    if_match: IfMatch,
    body: Input<TierPolicy>,
) -> Result<TierPolicyDocument, AppError> {
    require(caller, Action::EditTierPolicy)?;
    let tx = ctx.begin().await?;
    let (before, row) = tier_policy::get(&tx).await?;
    let current = row.as_ref().map_or(0, |r| r.version);
    if_match.check(current)?;
    let policy = body.take()?;
    let problems: Vec<FieldError> = policy
        .problems()
        .into_iter()
        .map(|(f, m)| FieldError::new(f, "invalid_value", m))
        .collect();
    AppError::unless_invalid(problems)?;
    let saved = tier_policy::put(&tx, &policy, caller.user_id(), current + 1).await?;
    let job = jobs::enqueue(&tx, jobs::NewJob::now(RETIER_JOB, json!({}))).await?;
    let doc = TierPolicyDocument {
        policy,
        version: saved.version,
        updated_by: saved.updated_by,
        updated_at: Some(saved.updated_at),
        retier_job_id: Some(job),
    };
    let mut journal = Journal::new();
    let changes = json!({"policy": {"from": before, "to": doc.policy}});
    journal.record(
        EntityType::TierPolicy,
        Uuid::nil(),
        AuditAction::Updated,
        changes,
        &doc,
    )?;
    journal.commit(tx, caller).await?;
    Ok(doc)
}

/// Re-tiers every unpinned customer under the policy in force, a batch per transaction,
/// each change with its audit entry and `customer.tier_changed` event. Safe to run again:
/// a customer whose tier is already right is left alone. Returns how many changed tier.
pub async fn retier_all(ctx: &Ctx) -> Result<u64, AppError> {
    let caller = Caller::System;
    let mut retiered = 0u64;
    let mut after = None;
    loop {
        let tx = ctx.begin().await?;
        let (policy, _) = tier_policy::get(&tx).await?;
        let page = customers::unpinned_page(&tx, after, RETIER_BATCH).await?;
        let Some(last) = page.last() else { break };
        after = Some(last.id);
        let mut journal = Journal::new();
        let today = today();
        let ids: Vec<uuid::Uuid> = page.iter().map(|r| r.id).collect();
        let volumes = crm_store::opportunities::purchase_volumes(
            &tx,
            &ids,
            today - chrono::Duration::days(365),
        )
        .await?;
        for mut row in page {
            let (old_tier, old_score) = (row.tier.clone(), row.tier_score);
            row.apply_tier(&policy, today, volumes.get(&row.id).copied());
            if row.tier != old_tier || row.tier_score != old_score {
                customers::set_tier(&tx, row.id, &row.tier, row.tier_score).await?;
            }
            if row.tier != old_tier {
                retiered += 1;
                let id = row.id;
                let shown = one(&tx, row.clone()).await?;
                journal.record(
                    EntityType::Customer,
                    id,
                    AuditAction::TierChanged,
                    json!({"tier": {"from": old_tier, "to": row.tier}}),
                    &shown,
                )?;
            }
        }
        journal.commit(tx, &caller).await?;
    }
    tracing::info!(retiered, "customers re-tiered");
    Ok(retiered)
}
