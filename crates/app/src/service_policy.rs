//! The documents that govern the service desk: the SLA policy (managers edit) and the work
//! calendar (admins edit). Each is one versioned document; the built-in default (version 0)
//! is in force until someone saves one. A change applies to work orders opened afterwards:
//! due times are stamped on each order when it is opened (or re-graded).

use chrono::{DateTime, Utc};
use crm_domain::access::{Action, Caller};
use crm_domain::audit::{AuditAction, EntityType};
use crm_domain::calendar::{Calendar, CalendarDocument};
use crm_domain::sla::SlaPolicy;
use crm_store::ConnectionTrait;
use crm_store::work_orders::{self, document};
use serde::Serialize;
use serde_json::json;
use utoipa::ToSchema;
use uuid::Uuid;

use crate::check::Checker;
use crate::error::{AppError, FieldError};
use crate::input::{IfMatch, Input};
use crate::journal::Journal;
use crate::{Ctx, require};

const SLA_POLICY: &str = "sla_policy";
const WORK_CALENDAR: &str = "work_calendar";

/// The SLA policy in force.
#[derive(Debug, Serialize, ToSchema)]
pub struct SlaPolicyDocument {
    /// Targets and assignment; `PUT` takes this object alone.
    pub policy: SlaPolicy,
    /// Version for `If-Match`; 0 while the built-in default is in force.
    pub version: i32,
    /// Who saved it last.
    pub updated_by: Option<Uuid>,
    /// When it was saved last.
    pub updated_at: Option<DateTime<Utc>>,
}

/// The work calendar in force.
#[derive(Debug, Serialize, ToSchema)]
pub struct WorkCalendarDocument {
    /// Hours, weekdays, holidays and make-up days; `PUT` takes this object alone.
    pub calendar: CalendarDocument,
    /// Version for `If-Match`; 0 while the built-in default is in force.
    pub version: i32,
    /// Who saved it last.
    pub updated_by: Option<Uuid>,
    /// When it was saved last.
    pub updated_at: Option<DateTime<Utc>>,
}

fn stored<T: serde::de::DeserializeOwned + Default>(row: Option<&document::Model>) -> T {
    row.and_then(|r| match serde_json::from_value(r.body.clone()) {
        Ok(v) => Some(v),
        Err(e) => {
            tracing::error!(document = %r.name, error = %e, "stored document unreadable; the default is in force");
            None
        }
    })
    .unwrap_or_default()
}

/// The SLA policy in force and its stored row.
pub(crate) async fn sla_policy(
    conn: &impl ConnectionTrait,
) -> Result<(SlaPolicy, Option<document::Model>), AppError> {
    let row = work_orders::document(conn, SLA_POLICY).await?;
    Ok((stored(row.as_ref()), row))
}

/// The work calendar in force: checked, as stored, and its row.
pub(crate) async fn calendar(
    conn: &impl ConnectionTrait,
) -> Result<(Calendar, CalendarDocument, Option<document::Model>), AppError> {
    let row = work_orders::document(conn, WORK_CALENDAR).await?;
    let doc: CalendarDocument = stored(row.as_ref());
    let checked = doc.check().unwrap_or_default();
    Ok((checked, doc, row))
}

/// The SLA policy in force.
pub async fn get_sla_policy(ctx: &Ctx, caller: &Caller) -> Result<SlaPolicyDocument, AppError> {
    require(caller, Action::ReadServicePolicy)?;
    let (policy, row) = sla_policy(&ctx.db).await?;
    Ok(SlaPolicyDocument {
        policy,
        version: row.as_ref().map_or(0, |r| r.version),
        updated_by: row.as_ref().and_then(|r| r.updated_by),
        updated_at: row.map(|r| r.updated_at),
    })
}

/// Replaces the SLA policy (managers and admins). Honours `If-Match`.
pub async fn put_sla_policy(
    ctx: &Ctx,
    caller: &Caller,
    if_match: IfMatch,
    body: Input<SlaPolicy>,
) -> Result<SlaPolicyDocument, AppError> {
    require(caller, Action::EditSlaPolicy)?;
    let tx = ctx.begin().await?;
    let (before, row) = sla_policy(&tx).await?;
    let current = row.as_ref().map_or(0, |r| r.version);
    if_match.check(current)?;
    let policy = body.take()?;
    let problems: Vec<FieldError> = policy
        .problems()
        .into_iter()
        .map(|(f, m)| FieldError::new(f, "invalid_value", m))
        .collect();
    AppError::unless_invalid(problems)?;
    let body = serde_json::to_value(policy).map_err(AppError::internal)?;
    let saved = work_orders::save_document(&tx, SLA_POLICY, body, caller.user_id(), current)
        .await?
        .ok_or(crm_domain::rule::RuleViolation::StaleVersion)?;
    let doc = SlaPolicyDocument {
        policy,
        version: saved.version,
        updated_by: saved.updated_by,
        updated_at: Some(saved.updated_at),
    };
    let mut journal = Journal::new();
    journal.record(
        EntityType::SlaPolicy,
        Uuid::nil(),
        AuditAction::Updated,
        json!({"policy": {"from": before, "to": doc.policy}}),
        &doc,
    )?;
    journal.commit(tx, caller).await?;
    Ok(doc)
}

/// The work calendar in force.
pub async fn get_calendar(ctx: &Ctx, caller: &Caller) -> Result<WorkCalendarDocument, AppError> {
    require(caller, Action::ReadServicePolicy)?;
    let (_, calendar, row) = calendar(&ctx.db).await?;
    Ok(WorkCalendarDocument {
        calendar,
        version: row.as_ref().map_or(0, |r| r.version),
        updated_by: row.as_ref().and_then(|r| r.updated_by),
        updated_at: row.map(|r| r.updated_at),
    })
}

/// Replaces the work calendar (admins). Honours `If-Match`. Every problem is listed:
/// malformed or overlapping hours, malformed or duplicate days, a day that is both a
/// holiday and a make-up day.
pub async fn put_calendar(
    ctx: &Ctx,
    caller: &Caller,
    if_match: IfMatch,
    body: Input<CalendarDocument>,
) -> Result<WorkCalendarDocument, AppError> {
    require(caller, Action::EditWorkCalendar)?;
    let tx = ctx.begin().await?;
    let (_, before, row) = calendar(&tx).await?;
    let current = row.as_ref().map_or(0, |r| r.version);
    if_match.check(current)?;
    let mut doc = body.take()?;
    let mut c = Checker::default();
    for (list, field) in [
        (&mut doc.holidays, "holidays"),
        (&mut doc.makeup_workdays, "makeup_workdays"),
    ] {
        if list.len() > crm_domain::calendar::MAX_DAYS {
            continue;
        }
        for (i, day) in list.iter_mut().enumerate() {
            day.name = c.text(&format!("{field}[{i}].name"), &day.name, 1, 50);
            day.date = day.date.trim().to_owned();
        }
    }
    doc.utc_offset = doc.utc_offset.trim().to_owned();
    if let Err(problems) = doc.check() {
        for p in problems {
            c.fail(p.field, p.code, &p.message);
        }
    }
    c.finish()?;
    doc.holidays.sort_by(|a, b| a.date.cmp(&b.date));
    doc.makeup_workdays.sort_by(|a, b| a.date.cmp(&b.date));
    let body = serde_json::to_value(&doc).map_err(AppError::internal)?;
    let saved = work_orders::save_document(&tx, WORK_CALENDAR, body, caller.user_id(), current)
        .await?
        .ok_or(crm_domain::rule::RuleViolation::StaleVersion)?;
    let shown = WorkCalendarDocument {
        calendar: doc,
        version: saved.version,
        updated_by: saved.updated_by,
        updated_at: Some(saved.updated_at),
    };
    let mut journal = Journal::new();
    journal.record(
        EntityType::WorkCalendar,
        Uuid::nil(),
        AuditAction::Updated,
        json!({"calendar": {"from": before, "to": shown.calendar}}),
        &shown,
    )?;
    journal.commit(tx, caller).await?;
    Ok(shown)
}
