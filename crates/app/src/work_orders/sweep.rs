//! The breach sweep: a background job that marks open work orders that missed their
//! response or resolution due time, records it in their history and timeline, and escalates
//! each late order to a manager — once. Safe with any number of server copies: each order is
//! changed under its version, so when two sweeps reach the same order, one changes it and
//! the other finds it already changed and leaves it.

use chrono::{DateTime, Utc};
use crm_domain::access::{Caller, Visibility};
use crm_domain::audit::AuditAction;
use crm_store::work_orders;
use serde_json::{Map, Value, json};
use uuid::Uuid;

use super::{EntryKind, ORDER, VOLATILE, WorkOrder, entry_row, escalation_manager, status};
use crate::Ctx;
use crate::error::AppError;
use crate::journal::{Journal, changes};
use crate::service_policy;

/// The kind of the recurring job that runs [`sweep`].
pub const SWEEP_JOB: &str = "sla_sweep";
/// Orders looked at per query.
const BATCH: u64 = 100;

/// Marks every open order past an unmet due time as breached and escalates it; returns how
/// many orders it changed. Each order is its own transaction, as the system.
pub async fn sweep(ctx: &Ctx) -> Result<u64, AppError> {
    let now = Utc::now();
    let mut changed = 0;
    let mut after = None;
    loop {
        let ids = work_orders::overdue(&ctx.db, now, after, BATCH).await?;
        let Some(last) = ids.last() else { break };
        after = Some(*last);
        for id in ids {
            if breach(ctx, id, now).await? {
                changed += 1;
            }
        }
    }
    if changed > 0 {
        tracing::info!(changed, "late work orders marked and escalated");
    }
    Ok(changed)
}

/// Marks one order; `false` when there was nothing to mark (any more).
async fn breach(ctx: &Ctx, id: Uuid, now: DateTime<Utc>) -> Result<bool, AppError> {
    let caller = Caller::System;
    let tx = ctx.begin().await?;
    let Some(current) = work_orders::find_for_update(&tx, id, Visibility::All).await? else {
        return Ok(false);
    };
    if !status(&current).is_open() {
        return Ok(false);
    }
    let response = current.responded_at.is_none()
        && current.response_breached_at.is_none()
        && current.response_due_at <= now;
    let resolution = current.resolved_at.is_none()
        && current.resolution_breached_at.is_none()
        && current.resolution_due_at <= now;
    if !response && !resolution {
        return Ok(false);
    }
    let mut row = current.clone();
    let mut timeline = Vec::new();
    if response {
        row.response_breached_at = Some(now);
        timeline.push(entry_row(
            &caller,
            id,
            EntryKind::Breached,
            Some("response".to_owned()),
            None,
            now,
        ));
    }
    if resolution {
        row.resolution_breached_at = Some(now);
        timeline.push(entry_row(
            &caller,
            id,
            EntryKind::Breached,
            Some("resolution".to_owned()),
            None,
            now,
        ));
    }
    let escalate = if row.escalated_to.is_none() {
        escalation_manager(&tx).await?
    } else {
        None
    };
    if let Some(manager) = escalate {
        row.escalated_to = Some(manager);
        row.escalated_at = Some(now);
        timeline.push(entry_row(
            &caller,
            id,
            EntryKind::Escalated,
            None,
            Some(manager),
            now,
        ));
    }
    row.updated_at = now;
    // Someone else (another copy's sweep, an agent starting work) changed the order since it
    // was read: leave it to the next sweep, which reads it afresh.
    let Some(saved) = work_orders::save(&tx, row, current.version).await? else {
        return Ok(false);
    };
    work_orders::add_entries(&tx, timeline).await?;
    let (calendar, _, _) = service_policy::calendar(&tx).await?;
    let old = WorkOrder::view(current, &calendar, now);
    let new = WorkOrder::view(saved, &calendar, now);
    let mut diff = changes(&old, &new, &VOLATILE);
    let mut journal = Journal::new();
    let escalation: Map<String, Value> = ["escalated_to", "escalated_at"]
        .into_iter()
        .filter_map(|k| diff.remove(k).map(|v| (k.to_owned(), v)))
        .collect();
    journal.record(ORDER, id, AuditAction::Breached, Value::Object(diff), &new)?;
    if !escalation.is_empty() {
        journal.record(
            ORDER,
            id,
            AuditAction::Escalated,
            Value::Object(escalation),
            &json!(new),
        )?;
    }
    journal.commit(tx, &caller).await?;
    Ok(true)
}
