//! What the work-order endpoints take and give.

use chrono::{DateTime, Utc};
use crm_domain::calendar::Calendar;
use crm_domain::sla::{self, Clock};
use crm_domain::tier::Tier;
use crm_domain::work_order::{Category, Channel, Severity, WorkOrderStatus};
use crm_store::work_orders;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use crate::check::present;

/// The follow-up visit (回访) recorded when an order is closed.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Visit {
    /// 1 (very dissatisfied) to 5 (very satisfied).
    #[schema(example = 5, minimum = 1, maximum = 5)]
    pub satisfaction: i16,
    /// What the customer said.
    #[schema(example = "设备已恢复正常运行，客户对响应速度满意")]
    pub comment: String,
    /// Who made the visit.
    pub visited_by: Option<Uuid>,
    /// When it was recorded.
    pub visited_at: DateTime<Utc>,
}

/// A service work order (服务工单).
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct WorkOrder {
    /// Work order id.
    pub id: Uuid,
    /// Readable number, unique: `WO-` + the office's date + the day's sequence.
    #[schema(example = "WO-20261123-0007")]
    pub number: String,
    /// The customer.
    pub customer_id: Uuid,
    /// The customer's contact who raised it.
    pub contact_id: Option<Uuid>,
    /// Short summary.
    #[schema(example = "温控模块批量报警，产线停机")]
    pub title: String,
    /// What is wrong, as the customer put it.
    pub description: String,
    /// What it is about.
    pub category: Category,
    /// How bad it is.
    pub severity: Severity,
    /// How it came in.
    pub channel: Channel,
    /// Where it stands.
    pub status: WorkOrderStatus,
    /// The customer's tier its deadlines were set for.
    pub tier: Tier,
    /// The agent working it; `null` while no active agent was available.
    pub assignee_id: Option<Uuid>,
    /// When it was last given to an agent.
    pub assigned_at: Option<DateTime<Utc>>,
    /// How its deadlines are counted: around the clock or in business hours.
    pub sla_clock: Clock,
    /// First response due (an agent starts work).
    pub response_due_at: DateTime<Utc>,
    /// Resolution due.
    pub resolution_due_at: DateTime<Utc>,
    /// Minutes left to the response due time on the order's clock, negative once late;
    /// `null` once responded, closed or cancelled.
    #[schema(example = 25)]
    pub response_minutes_left: Option<i64>,
    /// Minutes left to the resolution due time on the order's clock, negative once late;
    /// `null` once resolved, closed or cancelled.
    #[schema(example = 215)]
    pub resolution_minutes_left: Option<i64>,
    /// When work started (the first response).
    pub responded_at: Option<DateTime<Utc>>,
    /// When it was resolved.
    pub resolved_at: Option<DateTime<Utc>>,
    /// How it was resolved.
    pub resolution: Option<String>,
    /// Whether it missed a due time.
    pub breached: bool,
    /// When the sweep found the response late.
    pub response_breached_at: Option<DateTime<Utc>>,
    /// When the sweep found the resolution late.
    pub resolution_breached_at: Option<DateTime<Utc>>,
    /// The manager it was escalated to when late.
    pub escalated_to: Option<Uuid>,
    /// When it was escalated.
    pub escalated_at: Option<DateTime<Utc>>,
    /// The follow-up visit; set when closed.
    pub visit: Option<Visit>,
    /// When it was closed.
    pub closed_at: Option<DateTime<Utc>>,
    /// When it was cancelled.
    pub cancelled_at: Option<DateTime<Utc>>,
    /// Why it was cancelled.
    pub cancel_reason: Option<String>,
    /// Who opened it.
    pub created_by: Option<Uuid>,
    /// When it was opened.
    pub created_at: DateTime<Utc>,
    /// When it last changed.
    pub updated_at: DateTime<Utc>,
    /// Version for `If-Match`; also sent as the `ETag`.
    pub version: i32,
}

impl WorkOrder {
    /// The view of a stored order at `now`, with time left counted on `calendar`.
    pub fn view(m: work_orders::Model, calendar: &Calendar, now: DateTime<Utc>) -> Self {
        let status = WorkOrderStatus::parse(&m.status).unwrap_or(WorkOrderStatus::New);
        let clock = Clock::parse(&m.sla_clock).unwrap_or(Clock::Calendar);
        let left = |done: bool, due: DateTime<Utc>| {
            (status.is_open() && !done).then(|| sla::minutes_left(clock, calendar, now, due))
        };
        let visit = match (m.visit_satisfaction, m.visited_at) {
            (Some(satisfaction), Some(visited_at)) => Some(Visit {
                satisfaction,
                comment: m.visit_comment.clone().unwrap_or_default(),
                visited_by: m.visited_by,
                visited_at,
            }),
            _ => None,
        };
        Self {
            id: m.id,
            number: m.number,
            customer_id: m.customer_id,
            contact_id: m.contact_id,
            title: m.title,
            description: m.description,
            category: Category::parse(&m.category).unwrap_or(Category::Other),
            severity: Severity::parse(&m.severity).unwrap_or(Severity::Normal),
            channel: Channel::parse(&m.channel).unwrap_or(Channel::Other),
            status,
            tier: Tier::parse(&m.tier).unwrap_or(Tier::Ordinary),
            assignee_id: m.assignee_id,
            assigned_at: m.assigned_at,
            sla_clock: clock,
            response_due_at: m.response_due_at,
            resolution_due_at: m.resolution_due_at,
            response_minutes_left: left(m.responded_at.is_some(), m.response_due_at),
            resolution_minutes_left: left(m.resolved_at.is_some(), m.resolution_due_at),
            responded_at: m.responded_at,
            resolved_at: m.resolved_at,
            resolution: m.resolution,
            breached: m.response_breached_at.is_some() || m.resolution_breached_at.is_some(),
            response_breached_at: m.response_breached_at,
            resolution_breached_at: m.resolution_breached_at,
            escalated_to: m.escalated_to,
            escalated_at: m.escalated_at,
            visit,
            closed_at: m.closed_at,
            cancelled_at: m.cancelled_at,
            cancel_reason: m.cancel_reason,
            created_by: m.created_by,
            created_at: m.created_at,
            updated_at: m.updated_at,
            version: m.version,
        }
    }
}

/// A new work order. It is graded, numbered, given deadlines for the customer's tier and
/// assigned to an agent at once.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewWorkOrder {
    /// A live customer you can see.
    pub customer_id: Uuid,
    /// One of that customer's contacts.
    pub contact_id: Option<Uuid>,
    /// Short summary, 2–200 characters.
    #[schema(
        example = "温控模块批量报警，产线停机",
        min_length = 2,
        max_length = 200
    )]
    pub title: String,
    /// What is wrong, 1–5000 characters.
    #[schema(
        example = "客户二号产线的 12 台温控模块同时报过热，产线已停机。",
        min_length = 1,
        max_length = 5000
    )]
    pub description: String,
    /// What it is about.
    #[schema(value_type = Category)]
    pub category: String,
    /// How bad it is.
    #[schema(value_type = Severity)]
    pub severity: String,
    /// How it came in.
    #[schema(value_type = Channel)]
    pub channel: String,
}

/// Changes to an open work order (JSON merge patch). A new severity re-grades it: its due
/// times are set again from when it was opened.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct WorkOrderPatch {
    /// Short summary.
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = String, required = false, min_length = 2, max_length = 200)]
    pub title: Option<Option<String>>,
    /// Description.
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = String, required = false, min_length = 1, max_length = 5000)]
    pub description: Option<Option<String>>,
    /// Category.
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Category, required = false)]
    pub category: Option<Option<String>>,
    /// Severity: re-grades the order.
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Severity, required = false)]
    pub severity: Option<Option<String>>,
    /// Channel.
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Channel, required = false)]
    pub channel: Option<Option<String>>,
    /// Another contact of the customer; `null` for none.
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<Uuid>)]
    pub contact_id: Option<Option<Uuid>>,
}

/// Giving an order to an agent.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AssignWorkOrder {
    /// An active `service` user.
    pub assignee_id: Uuid,
}

/// Starting work (the first response).
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct StartWorkOrder {
    /// An optional first note for the timeline, at most 2000 characters.
    #[schema(max_length = 2000)]
    pub note: Option<String>,
}

/// Resolving an order.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ResolveWorkOrder {
    /// How it was solved, 1–2000 characters.
    #[schema(
        example = "更换 12 台温控模块固件至 v3.2.1，现场测试通过",
        min_length = 1,
        max_length = 2000
    )]
    pub resolution: String,
}

/// Closing an order with its follow-up visit (回访): both fields are required.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CloseWorkOrder {
    /// 1 (very dissatisfied) to 5 (very satisfied).
    #[schema(example = 5, minimum = 1, maximum = 5)]
    pub satisfaction: i64,
    /// What the customer said, 1–1000 characters.
    #[schema(
        example = "设备已恢复正常运行，客户对响应速度满意",
        min_length = 1,
        max_length = 1000
    )]
    pub comment: String,
}

/// Cancelling an order, or reopening a resolved one.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReasonBody {
    /// Why, 1–500 characters.
    #[schema(
        example = "客户来电确认问题已自行解决",
        min_length = 1,
        max_length = 500
    )]
    pub reason: String,
}

/// Filters and page of the work-order list.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct WorkOrderQuery {
    /// One status.
    pub status: Option<WorkOrderStatus>,
    /// `true`: still being handled (not closed or cancelled); `false`: closed or cancelled.
    pub open: Option<bool>,
    /// One severity.
    pub severity: Option<Severity>,
    /// One category.
    pub category: Option<Category>,
    /// Orders of this agent.
    pub assignee_id: Option<Uuid>,
    /// `true`: orders no agent has (the managers' queue).
    pub unassigned: Option<bool>,
    /// Orders of this customer.
    pub customer_id: Option<Uuid>,
    /// Orders escalated to this manager.
    pub escalated_to: Option<Uuid>,
    /// `true`: orders that missed a due time (the escalation list); `false`: on time.
    pub breached: Option<bool>,
    /// Open orders with an unmet due time before this instant (RFC 3339).
    pub due_before: Option<DateTime<Utc>>,
    /// Opened at or after (RFC 3339).
    pub created_from: Option<DateTime<Utc>>,
    /// Opened before (RFC 3339).
    pub created_to: Option<DateTime<Utc>>,
    /// Text in the title or number.
    pub q: Option<String>,
    /// Items per page, 1–200.
    #[param(minimum = 1, maximum = 200, default = 50)]
    pub limit: Option<u64>,
    /// `next_cursor` of the previous page.
    pub cursor: Option<String>,
}

/// A page of work orders, newest first.
#[derive(Debug, Serialize, ToSchema)]
pub struct WorkOrderList {
    /// The orders.
    pub items: Vec<WorkOrder>,
    /// Cursor of the next page; `null` on the last page.
    pub next_cursor: Option<String>,
}

/// What a timeline entry records.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum EntryKind {
    /// The order was opened.
    Created,
    /// A progress note.
    Note,
    /// A move between states (`body` holds the resolution or reason when there is one).
    Status,
    /// Given to an agent (`user_id`).
    Assigned,
    /// A due time was missed (`body`: `response` or `resolution`).
    Breached,
    /// Escalated to a manager (`user_id`).
    Escalated,
    /// The follow-up visit was recorded (`body`: the customer's comment).
    Visit,
    /// Fields changed.
    Edited,
}

impl EntryKind {
    /// The name as stored and sent.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Created => "created",
            Self::Note => "note",
            Self::Status => "status",
            Self::Assigned => "assigned",
            Self::Breached => "breached",
            Self::Escalated => "escalated",
            Self::Visit => "visit",
            Self::Edited => "edited",
        }
    }

    /// Parses a stored name.
    pub fn parse(s: &str) -> Option<Self> {
        [
            Self::Created,
            Self::Note,
            Self::Status,
            Self::Assigned,
            Self::Breached,
            Self::Escalated,
            Self::Visit,
            Self::Edited,
        ]
        .into_iter()
        .find(|k| k.as_str() == s)
    }
}

/// One entry of a work order's timeline.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct TimelineEntry {
    /// Entry id.
    pub id: Uuid,
    /// What it records.
    pub kind: EntryKind,
    /// The note, resolution, reason or comment.
    pub body: Option<String>,
    /// The state before a move.
    pub from_status: Option<WorkOrderStatus>,
    /// The state after a move.
    pub to_status: Option<WorkOrderStatus>,
    /// The agent assigned or the manager escalated to.
    pub user_id: Option<Uuid>,
    /// Who did it (`null` for the system).
    pub actor_id: Option<Uuid>,
    /// When.
    pub at: DateTime<Utc>,
}

impl From<work_orders::entry::Model> for TimelineEntry {
    fn from(e: work_orders::entry::Model) -> Self {
        Self {
            id: e.id,
            kind: EntryKind::parse(&e.kind).unwrap_or(EntryKind::Note),
            body: e.body,
            from_status: e.from_status.as_deref().and_then(WorkOrderStatus::parse),
            to_status: e.to_status.as_deref().and_then(WorkOrderStatus::parse),
            user_id: e.user_id,
            actor_id: e.actor_id,
            at: e.at,
        }
    }
}

/// A page of a work order's timeline, oldest first.
#[derive(Debug, Serialize, ToSchema)]
pub struct Timeline {
    /// Notes and moves.
    pub items: Vec<TimelineEntry>,
    /// Cursor of the next (later) page; `null` on the last page.
    pub next_cursor: Option<String>,
}

/// A progress note.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewNote {
    /// The note, 1–2000 characters.
    #[schema(
        example = "已电话联系客户设备科王工，约定明早 9 点到场。",
        min_length = 1,
        max_length = 2000
    )]
    pub body: String,
}
