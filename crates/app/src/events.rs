//! The event feed: every committed change as an event, in commit order, for integrators
//! who catch up by polling (`GET /events?after=`). Events come from the outbox, written in
//! the same transaction as their change.

use chrono::{DateTime, Utc};
use crm_domain::access::{Action, Caller};
use crm_store::outbox;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use crate::error::AppError;
use crate::input::Input;
use crate::page::{DEFAULT_LIMIT, MAX_LIMIT, invalid};
use crate::{Ctx, require};

/// Where to start reading the feed.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct EventQuery {
    /// `next_cursor` of the previous page; omit (or `0`) to start at the first event.
    pub after: Option<String>,
    /// Events per page, 1–200.
    #[param(minimum = 1, maximum = 200, default = 50)]
    pub limit: Option<u64>,
}

/// Something that changed.
#[derive(Debug, Serialize, ToSchema)]
pub struct Event {
    /// Event id: the same event is never delivered with another id (deduplicate on it).
    pub id: Uuid,
    /// Position in the feed; increases with commit order.
    pub sequence: i64,
    /// What happened, e.g. `customer.created`, `customer.updated`, `customer.merged`.
    #[serde(rename = "type")]
    #[schema(example = "customer.created")]
    pub event_type: String,
    /// The kind of record, e.g. `customer`.
    #[schema(value_type = crm_domain::audit::EntityType, example = "customer")]
    pub entity_type: String,
    /// The record's id.
    pub entity_id: Uuid,
    /// When the change committed.
    pub occurred_at: DateTime<Utc>,
    /// The account that made the change, if a person did.
    pub actor_id: Option<Uuid>,
    /// The record as the API shows it after the change.
    #[schema(schema_with = any_object)]
    pub data: Value,
}

impl From<outbox::Model> for Event {
    fn from(r: outbox::Model) -> Self {
        Self {
            id: r.id,
            sequence: r.seq,
            event_type: r.event_type,
            entity_type: r.entity_type,
            entity_id: r.entity_id,
            occurred_at: r.occurred_at,
            actor_id: r.actor_user_id,
            data: r.payload,
        }
    }
}

/// A JSON object of any fields: the record, shaped as its own endpoint answers it.
fn any_object() -> utoipa::openapi::schema::Object {
    utoipa::openapi::schema::ObjectBuilder::new()
        .schema_type(utoipa::openapi::schema::Type::Object)
        .description(Some("The record as the API shows it after the change."))
        .additional_properties(Some(
            utoipa::openapi::schema::AdditionalProperties::FreeForm(true),
        ))
        .build()
}

/// A page of the feed.
#[derive(Debug, Serialize, ToSchema)]
pub struct EventList {
    /// Events in feed order.
    pub items: Vec<Event>,
    /// Pass as `after` to read on. Present even at the end of the feed, so a poller keeps
    /// its place: new events will follow it.
    pub next_cursor: String,
    /// Whether more events were waiting when this page was read.
    pub has_more: bool,
}

/// A page of events after `after`, oldest first. Admins, and API keys with `events:read`.
pub async fn list(
    ctx: &Ctx,
    caller: &Caller,
    query: Input<EventQuery>,
) -> Result<EventList, AppError> {
    require(caller, Action::ReadEvents)?;
    let query = query.take()?;
    let limit = match query.limit {
        None => DEFAULT_LIMIT,
        Some(n) if (1..=MAX_LIMIT).contains(&n) => n,
        Some(_) => return Err(invalid("limit", "must be between 1 and 200")),
    };
    let after = match query.after.as_deref().map(str::trim) {
        None | Some("") => 0,
        Some(raw) => raw
            .parse::<i64>()
            .ok()
            .filter(|n| *n >= 0)
            .ok_or_else(|| invalid("after", "is not a cursor returned by this feed"))?,
    };
    let mut rows = outbox::list_after(&ctx.db, after, limit + 1).await?;
    let has_more = u64::try_from(rows.len()).unwrap_or(u64::MAX) > limit;
    rows.truncate(usize::try_from(limit).unwrap_or(usize::MAX));
    let next = rows.last().map_or(after, |r| r.seq);
    Ok(EventList {
        items: rows.into_iter().map(Event::from).collect(),
        next_cursor: next.to_string(),
        has_more,
    })
}
