//! Service work orders (服务工单): opened for a customer, numbered, graded by severity, given
//! response and resolution deadlines for the customer's tier on the work calendar, assigned
//! at once to the least-loaded agent, worked through `new → assigned → in_progress →
//! resolved → closed` (or cancelled, or reopened), and closed only with the follow-up visit.
//! Late orders are marked and escalated by [`sweep`], a background job.

mod dto;
mod sweep;

pub use dto::*;
pub use sweep::{SWEEP_JOB, sweep};

use chrono::{DateTime, Utc};
use crm_domain::access::{Action, Caller, Role, Visibility};
use crm_domain::audit::{AuditAction, EntityType};
use crm_domain::calendar::Calendar;
use crm_domain::rule::RuleViolation;
use crm_domain::sla::{self, AssignmentPreference};
use crm_domain::tier::Tier;
use crm_domain::work_order::{
    self as rules, Candidate, Category, Channel, Severity, WorkOrderEvent, WorkOrderStatus,
};
use crm_store::work_orders::{self, entry};
use crm_store::{ConnectionTrait, customers, users};
use serde_json::{Value, json};
use uuid::Uuid;

use crate::check::Checker;
use crate::customers::{HistoryList, ensure_live};
use crate::error::AppError;
use crate::input::{IfMatch, Input};
use crate::journal::{Journal, changes};
use crate::page::PageQuery;
use crate::service_policy;
use crate::{Ctx, require};

const ORDER: EntityType = EntityType::WorkOrder;
/// Fields of the view that change on their own or with every write.
const VOLATILE: [&str; 5] = [
    "id",
    "version",
    "updated_at",
    "response_minutes_left",
    "resolution_minutes_left",
];
/// Most agents (or managers) considered when choosing one.
const MAX_CANDIDATES: u64 = 10_000;

/// The order `id` if the caller can see it, locked for a change; 404 otherwise.
async fn for_update(
    conn: &impl ConnectionTrait,
    caller: &Caller,
    id: Uuid,
) -> Result<work_orders::Model, AppError> {
    work_orders::find_for_update(conn, id, caller.visibility())
        .await?
        .ok_or(AppError::NotFound)
}

/// The order `id` if the caller can see it; 404 otherwise.
async fn visible(
    conn: &impl ConnectionTrait,
    caller: &Caller,
    id: Uuid,
) -> Result<work_orders::Model, AppError> {
    work_orders::find_visible(conn, id, caller.visibility())
        .await?
        .ok_or(AppError::NotFound)
}

fn status(m: &work_orders::Model) -> WorkOrderStatus {
    WorkOrderStatus::parse(&m.status).unwrap_or(WorkOrderStatus::New)
}

/// A timeline entry of `order` by `caller`.
fn entry_row(
    caller: &Caller,
    order: Uuid,
    kind: EntryKind,
    body: Option<String>,
    user_id: Option<Uuid>,
    now: DateTime<Utc>,
) -> entry::Model {
    entry::Model {
        id: Uuid::now_v7(),
        work_order_id: order,
        kind: kind.as_str().to_owned(),
        body,
        from_status: None,
        to_status: None,
        user_id,
        actor_id: caller.user_id(),
        at: now,
    }
}

/// A timeline entry for a move from `from` to `to`.
fn move_row(
    caller: &Caller,
    order: Uuid,
    from: Option<WorkOrderStatus>,
    to: WorkOrderStatus,
    body: Option<String>,
    now: DateTime<Utc>,
) -> entry::Model {
    entry::Model {
        from_status: from.map(|s| s.as_str().to_owned()),
        to_status: Some(to.as_str().to_owned()),
        ..entry_row(caller, order, EntryKind::Status, body, None, now)
    }
}

/// Chooses among `users` fairly by their `loads`, preferring those `preferred` says.
fn choose(
    users: &[users::Model],
    loads: Vec<work_orders::Load>,
    preferred: impl Fn(&users::Model) -> bool,
) -> Option<Uuid> {
    let loads: std::collections::HashMap<Uuid, work_orders::Load> =
        loads.into_iter().map(|l| (l.user_id, l)).collect();
    let candidates: Vec<Candidate> = users
        .iter()
        .map(|u| Candidate {
            id: u.id,
            load: loads.get(&u.id).map_or(0, |l| l.open),
            last_given: loads.get(&u.id).and_then(|l| l.last_given),
            preferred: preferred(u),
        })
        .collect();
    rules::pick(&candidates)
}

async fn active_with_role(
    conn: &impl ConnectionTrait,
    role: Role,
) -> Result<Vec<users::Model>, AppError> {
    let filter = users::UserFilter {
        role: Some(role.as_str().to_owned()),
        active: Some(true),
        ..users::UserFilter::default()
    };
    Ok(users::list(conn, &filter, None, MAX_CANDIDATES).await?)
}

/// The active agent with the fewest orders in hand (assigned, in progress, resolved),
/// preferring the customer's region or its owner's team when the policy says so; on a tie,
/// the one who waited longest since their last. `None` when no agent is active.
async fn auto_assignee(
    conn: &impl ConnectionTrait,
    preference: AssignmentPreference,
    customer: &customers::Model,
) -> Result<Option<Uuid>, AppError> {
    let agents = active_with_role(conn, Role::Service).await?;
    if agents.is_empty() {
        return Ok(None);
    }
    let ids: Vec<Uuid> = agents.iter().map(|u| u.id).collect();
    let loads = work_orders::agent_loads(conn, &ids).await?;
    let team = match preference {
        AssignmentPreference::Team => users::find(conn, customer.owner_id)
            .await?
            .and_then(|u| u.team),
        _ => None,
    };
    Ok(choose(&agents, loads, |u| match preference {
        AssignmentPreference::LeastLoaded => false,
        AssignmentPreference::Region => u.region.as_deref() == Some(customer.region.as_str()),
        AssignmentPreference::Team => team.is_some() && u.team == team,
    }))
}

/// The manager a late order is escalated to: the active manager with the fewest open
/// escalations (then the one who waited longest); the admins when no manager is active.
pub(crate) async fn escalation_manager(
    conn: &impl ConnectionTrait,
) -> Result<Option<Uuid>, AppError> {
    for role in [Role::Manager, Role::Admin] {
        let people = active_with_role(conn, role).await?;
        if people.is_empty() {
            continue;
        }
        let ids: Vec<Uuid> = people.iter().map(|u| u.id).collect();
        let loads = work_orders::escalation_loads(conn, &ids).await?;
        return Ok(choose(&people, loads, |_| false));
    }
    Ok(None)
}

/// Stamps the deadlines of an order of `tier` and `severity` opened at `opened`.
fn stamp(
    row: &mut work_orders::Model,
    policy: &sla::SlaPolicy,
    calendar: &Calendar,
    tier: Tier,
    severity: Severity,
) {
    let target = policy.target(tier, severity);
    let due = sla::deadlines(target, calendar, row.created_at);
    row.tier = tier.as_str().to_owned();
    row.severity = severity.as_str().to_owned();
    row.sla_clock = due.clock.as_str().to_owned();
    row.response_due_at = due.response;
    row.resolution_due_at = due.resolution;
}

/// Opens a work order for a live customer the caller can see: numbered, graded, given its
/// deadlines, and assigned at once.
pub async fn create(
    ctx: &Ctx,
    caller: &Caller,
    body: Input<NewWorkOrder>,
) -> Result<WorkOrder, AppError> {
    require(caller, Action::CreateWorkOrder)?;
    open(ctx, caller, body.take()?, Utc::now()).await
}

/// Brings in a work order opened earlier, at `opened_at` (records from another service
/// desk, demo data): checked, numbered for its day, given the deadlines it had then, and
/// assigned as [`create`] does. The next sweep marks it if those have passed. The system
/// only.
pub async fn create_opened(
    ctx: &Ctx,
    caller: &Caller,
    body: NewWorkOrder,
    opened_at: DateTime<Utc>,
) -> Result<WorkOrder, AppError> {
    if *caller != Caller::System {
        return Err(AppError::Forbidden(
            "Only the system brings in earlier work orders.",
        ));
    }
    if opened_at > Utc::now() {
        return Err(AppError::invalid_field(
            "opened_at",
            "in_future",
            "must not be in the future",
        ));
    }
    open(ctx, caller, body, opened_at).await
}

async fn open(
    ctx: &Ctx,
    caller: &Caller,
    body: NewWorkOrder,
    now: DateTime<Utc>,
) -> Result<WorkOrder, AppError> {
    let mut c = Checker::default();
    let title = c.text("title", &body.title, 2, 200);
    let description = c.text("description", &body.description, 1, 5000);
    let category = c.one_of(
        "category",
        Some(&body.category),
        Category::parse,
        &Category::names(),
    );
    let severity = c.one_of(
        "severity",
        Some(&body.severity),
        Severity::parse,
        &Severity::names(),
    );
    let channel = c.one_of(
        "channel",
        Some(&body.channel),
        Channel::parse,
        &Channel::names(),
    );
    let tx = ctx.begin().await?;
    let customer = customers::find_visible(&tx, body.customer_id, caller.visibility()).await?;
    match &customer {
        Some(customer) => {
            crate::contacts::check_belongs(&tx, &mut c, customer.id, body.contact_id).await?
        }
        None => c.fail(
            "customer_id",
            "unknown_customer",
            "must be a customer you can see",
        ),
    }
    c.finish()?;
    let (Some(customer), Some(category), Some(severity), Some(channel)) =
        (customer, category, severity, channel)
    else {
        return Err(AppError::internal("checked fields missing"));
    };
    ensure_live(&customer)?;
    let (policy, _) = service_policy::sla_policy(&tx).await?;
    let (calendar, _, _) = service_policy::calendar(&tx).await?;
    // The day's counter first: on PostgreSQL it queues concurrent creations here, so that
    // the loads read next include every order committed before this one.
    let day = calendar.local_date(now);
    let sequence = work_orders::next_sequence(&tx, &day.format("%Y%m%d").to_string()).await?;
    let assignee = auto_assignee(&tx, policy.assignment, &customer).await?;
    let state = if assignee.is_some() {
        WorkOrderStatus::Assigned
    } else {
        WorkOrderStatus::New
    };
    let mut row = work_orders::Model {
        id: Uuid::now_v7(),
        number: rules::number(day, sequence),
        customer_id: customer.id,
        contact_id: body.contact_id,
        title,
        description,
        category: category.as_str().to_owned(),
        severity: String::new(),
        channel: channel.as_str().to_owned(),
        status: state.as_str().to_owned(),
        tier: String::new(),
        sla_clock: String::new(),
        assignee_id: assignee,
        assigned_at: assignee.map(|_| now),
        response_due_at: now,
        resolution_due_at: now,
        responded_at: None,
        resolved_at: None,
        resolution: None,
        closed_at: None,
        cancelled_at: None,
        cancel_reason: None,
        response_breached_at: None,
        resolution_breached_at: None,
        escalated_to: None,
        escalated_at: None,
        visit_satisfaction: None,
        visit_comment: None,
        visited_by: None,
        visited_at: None,
        created_by: caller.user_id(),
        created_at: now,
        updated_at: now,
        version: 1,
    };
    let tier = Tier::parse(&customer.tier).unwrap_or(Tier::Ordinary);
    stamp(&mut row, &policy, &calendar, tier, severity);
    let saved = work_orders::insert(&tx, row).await?;
    let mut timeline = vec![entry::Model {
        to_status: Some(WorkOrderStatus::New.as_str().to_owned()),
        ..entry_row(caller, saved.id, EntryKind::Created, None, None, now)
    }];
    if let Some(agent) = assignee {
        timeline.push(entry_row(
            caller,
            saved.id,
            EntryKind::Assigned,
            None,
            Some(agent),
            now,
        ));
        timeline.push(move_row(
            caller,
            saved.id,
            Some(WorkOrderStatus::New),
            WorkOrderStatus::Assigned,
            None,
            now,
        ));
    }
    work_orders::add_entries(&tx, timeline).await?;
    let shown = WorkOrder::view(saved, &calendar, Utc::now());
    let mut journal = Journal::new();
    let entry = changes(
        &json!({}),
        &serde_json::to_value(&shown).map_err(AppError::internal)?,
        &VOLATILE,
    );
    journal.record(
        ORDER,
        shown.id,
        AuditAction::Created,
        Value::Object(entry),
        &shown,
    )?;
    journal.commit(tx, caller).await?;
    Ok(shown)
}

/// The work orders the caller can see, newest first, with filters.
pub async fn list(
    ctx: &Ctx,
    caller: &Caller,
    query: Input<WorkOrderQuery>,
) -> Result<WorkOrderList, AppError> {
    require(caller, Action::ReadWorkOrders)?;
    let q = query.take()?;
    let page = PageQuery {
        limit: q.limit,
        cursor: q.cursor,
    }
    .page()?;
    if let Some(text) = &q.q
        && text.chars().count() > 100
    {
        return Err(crate::page::invalid("q", "must be at most 100 characters"));
    }
    let filter = work_orders::WorkOrderFilter {
        status: q.status.map(|s| s.as_str().to_owned()),
        open: q.open,
        severity: q.severity.map(|s| s.as_str().to_owned()),
        category: q.category.map(|s| s.as_str().to_owned()),
        assignee_id: q.assignee_id,
        unassigned: q.unassigned,
        customer_id: q.customer_id,
        escalated_to: q.escalated_to,
        breached: q.breached,
        due_before: crate::page::instant("due_before", q.due_before)?,
        created_from: crate::page::instant("created_from", q.created_from)?,
        created_to: crate::page::instant("created_to", q.created_to)?,
        q: q.q,
    };
    let rows = work_orders::list(
        &ctx.db,
        caller.visibility(),
        &filter,
        page.after,
        page.limit,
    )
    .await?;
    let next = page.next_cursor(rows.last().map(|r| r.id), rows.len());
    let (calendar, _, _) = service_policy::calendar(&ctx.db).await?;
    let now = Utc::now();
    Ok(WorkOrderList {
        items: rows
            .into_iter()
            .map(|r| WorkOrder::view(r, &calendar, now))
            .collect(),
        next_cursor: next,
    })
}

/// One work order, with the time left to its deadlines.
pub async fn get(ctx: &Ctx, caller: &Caller, id: Uuid) -> Result<WorkOrder, AppError> {
    require(caller, Action::ReadWorkOrders)?;
    let row = visible(&ctx.db, caller, id).await?;
    let (calendar, _, _) = service_policy::calendar(&ctx.db).await?;
    Ok(WorkOrder::view(row, &calendar, Utc::now()))
}

/// The change log of a work order, newest first.
pub async fn history(
    ctx: &Ctx,
    caller: &Caller,
    id: Uuid,
    page: Input<PageQuery>,
) -> Result<HistoryList, AppError> {
    require(caller, Action::ReadWorkOrders)?;
    let row = visible(&ctx.db, caller, id).await?;
    crate::customers::history_page(&ctx.db, ORDER, row.id, page).await
}

/// A work order's timeline — notes and moves — oldest first.
pub async fn timeline(
    ctx: &Ctx,
    caller: &Caller,
    id: Uuid,
    page: Input<PageQuery>,
) -> Result<Timeline, AppError> {
    require(caller, Action::ReadWorkOrders)?;
    let row = visible(&ctx.db, caller, id).await?;
    let page = page.take()?.page()?;
    let rows = work_orders::entries(&ctx.db, row.id, page.after, page.limit).await?;
    let next = page.next_cursor(rows.last().map(|r| r.id), rows.len());
    Ok(Timeline {
        items: rows.into_iter().map(TimelineEntry::from).collect(),
        next_cursor: next,
    })
}

/// Adds a progress note to a work order the caller can see (closed and cancelled ones too:
/// a late remark belongs on the record), unless its customer was purged.
pub async fn add_note(
    ctx: &Ctx,
    caller: &Caller,
    id: Uuid,
    body: Input<NewNote>,
) -> Result<TimelineEntry, AppError> {
    require(caller, Action::AddWorkOrderNote)?;
    let tx = ctx.begin().await?;
    let row = visible(&tx, caller, id).await?;
    let body = body.take()?;
    let mut c = Checker::default();
    let text = c.text("body", &body.body, 1, 2000);
    c.finish()?;
    // A purged customer's orders keep no texts; nothing new may bring them back.
    customer_live(&tx, row.customer_id).await?;
    let note = entry_row(
        caller,
        row.id,
        EntryKind::Note,
        Some(text),
        None,
        Utc::now(),
    );
    work_orders::add_entries(&tx, vec![note.clone()]).await?;
    let shown = TimelineEntry::from(note);
    let mut journal = Journal::new();
    journal.audit(
        ORDER,
        row.id,
        AuditAction::NoteAdded,
        json!({"note_id": {"from": null, "to": shown.id}}),
    );
    journal.event(
        ORDER,
        row.id,
        AuditAction::NoteAdded,
        &json!({"work_order_id": row.id, "note": &shown}),
    )?;
    journal.commit(tx, caller).await?;
    Ok(shown)
}

/// Saves a changed order (or answers `stale_version` when someone else changed it first),
/// writes its timeline entries and journals the change.
async fn save(
    tx: &impl ConnectionTrait,
    before: &work_orders::Model,
    after: work_orders::Model,
    timeline: Vec<entry::Model>,
    action: AuditAction,
    journal: &mut Journal,
) -> Result<WorkOrder, AppError> {
    let saved = work_orders::save(tx, after, before.version)
        .await?
        .ok_or(RuleViolation::StaleVersion)?;
    work_orders::add_entries(tx, timeline).await?;
    let (calendar, _, _) = service_policy::calendar(tx).await?;
    let now = Utc::now();
    let old = WorkOrder::view(before.clone(), &calendar, now);
    let new = WorkOrder::view(saved, &calendar, now);
    let diff = changes(&old, &new, &VOLATILE);
    if !diff.is_empty() {
        journal.record(ORDER, new.id, action, Value::Object(diff), &new)?;
    }
    Ok(new)
}

/// 409 `illegal_transition` unless the order is still being handled.
fn ensure_open(row: &work_orders::Model) -> Result<(), AppError> {
    let s = status(row);
    if s.is_open() {
        Ok(())
    } else {
        Err(RuleViolation::IllegalTransition {
            from: s.as_str().to_owned(),
            allowed: Vec::new(),
        }
        .into())
    }
}

/// An agent works only the orders assigned to them; managers and admins any.
fn ensure_worker(caller: &Caller, row: &work_orders::Model) -> Result<(), AppError> {
    if caller.role() == Some(Role::Service) && row.assignee_id != caller.user_id() {
        return Err(AppError::Forbidden(
            "Only the agent assigned to this work order, or a manager, may work it.",
        ));
    }
    Ok(())
}

/// Changes an open work order (JSON merge patch) with `If-Match`. A new severity re-grades
/// it: its deadlines are set again from when it was opened, on the same tier.
pub async fn update(
    ctx: &Ctx,
    caller: &Caller,
    id: Uuid,
    if_match: IfMatch,
    patch: Input<WorkOrderPatch>,
) -> Result<WorkOrder, AppError> {
    require(caller, Action::WorkOnWorkOrder)?;
    let tx = ctx.begin().await?;
    let current = for_update(&tx, caller, id).await?;
    ensure_worker(caller, &current)?;
    if_match.require(current.version)?;
    let patch = patch.take()?;
    let mut c = Checker::default();
    let mut row = current.clone();
    let required = |c: &mut Checker, f: &str| c.fail(f, "required", "cannot be cleared");
    match patch.title {
        Some(Some(v)) => row.title = c.text("title", &v, 2, 200),
        Some(None) => required(&mut c, "title"),
        None => {}
    }
    match patch.description {
        Some(Some(v)) => row.description = c.text("description", &v, 1, 5000),
        Some(None) => required(&mut c, "description"),
        None => {}
    }
    match patch.category {
        Some(Some(v)) => {
            if let Some(k) = c.one_of("category", Some(&v), Category::parse, &Category::names()) {
                row.category = k.as_str().to_owned();
            }
        }
        Some(None) => required(&mut c, "category"),
        None => {}
    }
    let mut severity = None;
    match patch.severity {
        Some(Some(v)) => {
            severity = c.one_of("severity", Some(&v), Severity::parse, &Severity::names())
        }
        Some(None) => required(&mut c, "severity"),
        None => {}
    }
    match patch.channel {
        Some(Some(v)) => {
            if let Some(k) = c.one_of("channel", Some(&v), Channel::parse, &Channel::names()) {
                row.channel = k.as_str().to_owned();
            }
        }
        Some(None) => required(&mut c, "channel"),
        None => {}
    }
    if let Some(contact) = patch.contact_id {
        crate::contacts::check_belongs(&tx, &mut c, current.customer_id, contact).await?;
        row.contact_id = contact;
    }
    c.finish()?;
    ensure_open(&current)?;
    if let Some(severity) = severity
        && severity.as_str() != current.severity
    {
        let (policy, _) = service_policy::sla_policy(&tx).await?;
        let (calendar, _, _) = service_policy::calendar(&tx).await?;
        let tier = Tier::parse(&current.tier).unwrap_or(Tier::Ordinary);
        stamp(&mut row, &policy, &calendar, tier, severity);
    }
    let now = Utc::now();
    row.updated_at = now;
    let edited = entry_row(caller, row.id, EntryKind::Edited, None, None, now);
    let mut journal = Journal::new();
    let shown = save(
        &tx,
        &current,
        row,
        vec![edited],
        AuditAction::Updated,
        &mut journal,
    )
    .await?;
    journal.commit(tx, caller).await?;
    Ok(shown)
}

/// One move of an order: visibility, `If-Match`, the body, the state machine, then the
/// change `apply` makes to the row. `apply` may add timeline entries of its own and returns
/// the text (resolution, reason) that goes with the move's entry.
async fn act<T>(
    ctx: &Ctx,
    caller: &Caller,
    id: Uuid,
    if_match: IfMatch,
    body: Input<T>,
    (event, action): (WorkOrderEvent, AuditAction),
    apply: impl Apply<T>,
) -> Result<WorkOrder, AppError> {
    let tx = ctx.begin().await?;
    let current = for_update(&tx, caller, id).await?;
    if event != WorkOrderEvent::Assign {
        ensure_worker(caller, &current)?;
    }
    if_match.check(current.version)?;
    let body = body.take()?;
    let from = status(&current);
    let mut row = current.clone();
    let now = Utc::now();
    let mut change = Change {
        caller,
        now,
        timeline: Vec::new(),
        checker: Checker::default(),
        retracted: Vec::new(),
    };
    let text = apply.apply(&tx, &mut change, &mut row, body).await?;
    let Change {
        mut timeline,
        checker,
        retracted,
        ..
    } = change;
    checker.finish()?;
    let to = rules::transition(from, event)?;
    customer_live(&tx, current.customer_id).await?;
    if to != from {
        row.status = to.as_str().to_owned();
        timeline.push(move_row(caller, row.id, Some(from), to, text, now));
    }
    row.updated_at = now;
    let mut journal = Journal::new();
    for (id, previous) in retracted {
        crate::reminders::journal_retracted(&mut journal, id, previous)?;
    }
    let shown = save(&tx, &current, row, timeline, action, &mut journal).await?;
    journal.commit(tx, caller).await?;
    Ok(shown)
}

/// What a move is changing: its checks and the timeline entries it adds.
struct Change<'a> {
    caller: &'a Caller,
    now: DateTime<Utc>,
    timeline: Vec<entry::Model>,
    checker: Checker,
    /// Reminders taken back from a previous holder, and whose they were.
    retracted: Vec<(Uuid, Uuid)>,
}

/// An order's customer must not be purged; archived customers' orders may still be worked
/// and closed.
async fn customer_live(tx: &impl ConnectionTrait, customer_id: Uuid) -> Result<(), AppError> {
    match customers::find_visible(tx, customer_id, Visibility::All).await? {
        Some(c) if c.purged_at.is_some() => Err(RuleViolation::CustomerPurged.into()),
        Some(_) => Ok(()),
        None => Err(AppError::NotFound),
    }
}

/// The change a move makes, given its decoded body; returns the text of the move's entry.
trait Apply<T> {
    async fn apply(
        self,
        tx: &impl ConnectionTrait,
        change: &mut Change<'_>,
        row: &mut work_orders::Model,
        body: T,
    ) -> Result<Option<String>, AppError>;
}

/// A move that needs nothing from the database.
struct Plain<F>(F);

impl<T, F> Apply<T> for Plain<F>
where
    F: FnOnce(&mut Change<'_>, &mut work_orders::Model, T) -> Option<String>,
{
    async fn apply(
        self,
        _tx: &impl ConnectionTrait,
        change: &mut Change<'_>,
        row: &mut work_orders::Model,
        body: T,
    ) -> Result<Option<String>, AppError> {
        Ok((self.0)(change, row, body))
    }
}

/// Assigning: checks the agent.
struct AssignTo;

impl Apply<AssignWorkOrder> for AssignTo {
    async fn apply(
        self,
        tx: &impl ConnectionTrait,
        change: &mut Change<'_>,
        row: &mut work_orders::Model,
        body: AssignWorkOrder,
    ) -> Result<Option<String>, AppError> {
        let agent = users::find(tx, body.assignee_id).await?;
        if !agent.is_some_and(|u| u.active && u.role == Role::Service.as_str()) {
            change.checker.fail(
                "assignee_id",
                "unknown_user",
                "must be an active service agent",
            );
            return Ok(None);
        }
        if row.assignee_id != Some(body.assignee_id) {
            if let Some(previous) = row.assignee_id {
                let taken = crm_store::reminders::retract(tx, previous, &[row.id]).await?;
                change
                    .retracted
                    .extend(taken.into_iter().map(|id| (id, previous)));
            }
            row.assignee_id = Some(body.assignee_id);
            row.assigned_at = Some(change.now);
            change.timeline.push(entry_row(
                change.caller,
                row.id,
                EntryKind::Assigned,
                None,
                Some(body.assignee_id),
                change.now,
            ));
        }
        Ok(None)
    }
}

/// Gives an order to an agent (managers and admins): a new order becomes `assigned`; one
/// further on keeps its state and changes hands.
pub async fn assign(
    ctx: &Ctx,
    caller: &Caller,
    id: Uuid,
    if_match: IfMatch,
    body: Input<AssignWorkOrder>,
) -> Result<WorkOrder, AppError> {
    require(caller, Action::ManageWorkOrders)?;
    act(
        ctx,
        caller,
        id,
        if_match,
        body,
        (WorkOrderEvent::Assign, AuditAction::Assigned),
        AssignTo,
    )
    .await
}

/// The assigned agent starts work: the first response.
pub async fn start(
    ctx: &Ctx,
    caller: &Caller,
    id: Uuid,
    if_match: IfMatch,
    body: Input<StartWorkOrder>,
) -> Result<WorkOrder, AppError> {
    require(caller, Action::WorkOnWorkOrder)?;
    act(
        ctx,
        caller,
        id,
        if_match,
        body,
        (WorkOrderEvent::Start, AuditAction::Started),
        Plain(
            |change: &mut Change<'_>, row: &mut work_orders::Model, body: StartWorkOrder| {
                row.responded_at = row.responded_at.or(Some(change.now));
                change.checker.opt_text("note", body.note, 2000)
            },
        ),
    )
    .await
}

/// Resolves an order in progress, saying how.
pub async fn resolve(
    ctx: &Ctx,
    caller: &Caller,
    id: Uuid,
    if_match: IfMatch,
    body: Input<ResolveWorkOrder>,
) -> Result<WorkOrder, AppError> {
    require(caller, Action::WorkOnWorkOrder)?;
    act(
        ctx,
        caller,
        id,
        if_match,
        body,
        (WorkOrderEvent::Resolve, AuditAction::Resolved),
        Plain(
            |change: &mut Change<'_>, row: &mut work_orders::Model, body: ResolveWorkOrder| {
                let text = change.checker.text("resolution", &body.resolution, 1, 2000);
                row.resolution = Some(text.clone());
                row.resolved_at = Some(change.now);
                Some(text)
            },
        ),
    )
    .await
}

/// Closes a resolved order with its follow-up visit: satisfaction 1–5 and the customer's
/// comment, both required.
pub async fn close(
    ctx: &Ctx,
    caller: &Caller,
    id: Uuid,
    if_match: IfMatch,
    body: Input<CloseWorkOrder>,
) -> Result<WorkOrder, AppError> {
    require(caller, Action::WorkOnWorkOrder)?;
    act(
        ctx,
        caller,
        id,
        if_match,
        body,
        (WorkOrderEvent::Close, AuditAction::Closed),
        Plain(
            |change: &mut Change<'_>, row: &mut work_orders::Model, body: CloseWorkOrder| {
                match rules::satisfaction(body.satisfaction) {
                    Ok(s) => row.visit_satisfaction = Some(s),
                    Err(m) => change.checker.fail("satisfaction", "out_of_range", m),
                }
                let comment = change.checker.text("comment", &body.comment, 1, 1000);
                change.timeline.push(entry_row(
                    change.caller,
                    row.id,
                    EntryKind::Visit,
                    Some(comment.clone()),
                    None,
                    change.now,
                ));
                row.visit_comment = Some(comment);
                row.visited_by = change.caller.user_id();
                row.visited_at = Some(change.now);
                row.closed_at = Some(change.now);
                None
            },
        ),
    )
    .await
}

/// Cancels an order that is not yet resolved, with the reason.
pub async fn cancel(
    ctx: &Ctx,
    caller: &Caller,
    id: Uuid,
    if_match: IfMatch,
    body: Input<ReasonBody>,
) -> Result<WorkOrder, AppError> {
    require(caller, Action::WorkOnWorkOrder)?;
    act(
        ctx,
        caller,
        id,
        if_match,
        body,
        (WorkOrderEvent::Cancel, AuditAction::Cancelled),
        Plain(
            |change: &mut Change<'_>, row: &mut work_orders::Model, body: ReasonBody| {
                let reason = change.checker.text("reason", &body.reason, 1, 500);
                row.cancel_reason = Some(reason.clone());
                row.cancelled_at = Some(change.now);
                Some(reason)
            },
        ),
    )
    .await
}

/// Reopens a resolved order (the problem is back), with the reason; its resolution due
/// time stands.
pub async fn reopen(
    ctx: &Ctx,
    caller: &Caller,
    id: Uuid,
    if_match: IfMatch,
    body: Input<ReasonBody>,
) -> Result<WorkOrder, AppError> {
    require(caller, Action::WorkOnWorkOrder)?;
    act(
        ctx,
        caller,
        id,
        if_match,
        body,
        (WorkOrderEvent::Reopen, AuditAction::Reopened),
        Plain(
            |change: &mut Change<'_>, row: &mut work_orders::Model, body: ReasonBody| {
                row.resolved_at = None;
                row.resolution = None;
                Some(change.checker.text("reason", &body.reason, 1, 500))
            },
        ),
    )
    .await
}
