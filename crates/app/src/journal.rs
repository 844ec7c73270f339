//! The journal of a use case: the audit entries and the events its change produces, written
//! together with the change and committed with it. An event goes out if and only if its
//! change committed, and every change has its audit entry.
//!
//! Use cases collect entries while they work and finish with [`Journal::commit`], which writes
//! the audit rows, then the outbox rows (the outbox write serialises concurrent writers on
//! PostgreSQL until commit, so it must be the last statement), then commits.

use chrono::Utc;
use crm_domain::access::Caller;
use crm_domain::audit::{AuditAction, EntityType};
use crm_store::{ConnectionTrait, WriteTx, audit, outbox};
use serde::Serialize;
use serde_json::{Map, Value, json};
use uuid::Uuid;

use crate::context::{commit, request_id};
use crate::error::AppError;

/// Audit entries and events waiting to be written with a change.
#[derive(Debug, Default)]
pub struct Journal {
    entries: Vec<Entry>,
    events: Vec<outbox::NewEvent>,
}

#[derive(Debug)]
struct Entry {
    entity: EntityType,
    id: Uuid,
    action: AuditAction,
    changes: Value,
}

impl Journal {
    /// An empty journal.
    pub fn new() -> Self {
        Self::default()
    }

    /// Records an audit entry: `changes` is `{field: {from, to}}`.
    pub fn audit(&mut self, entity: EntityType, id: Uuid, action: AuditAction, changes: Value) {
        self.entries.push(Entry {
            entity,
            id,
            action,
            changes,
        });
    }

    /// Records the event integrators receive, with the resource as the API shows it.
    pub fn event(
        &mut self,
        entity: EntityType,
        id: Uuid,
        action: AuditAction,
        resource: &impl Serialize,
    ) -> Result<(), AppError> {
        let payload = serde_json::to_value(resource).map_err(AppError::internal)?;
        self.event_value(entity, id, action, payload);
        Ok(())
    }

    /// Records an event whose resource is already a JSON value (bulk paths that show one
    /// resource in several entries).
    pub fn event_value(
        &mut self,
        entity: EntityType,
        id: Uuid,
        action: AuditAction,
        payload: Value,
    ) {
        self.events.push(outbox::NewEvent {
            event_type: action.event(entity),
            entity_type: entity.as_str().to_owned(),
            entity_id: id,
            payload,
        });
    }

    /// Records both an audit entry and the matching event.
    pub fn record(
        &mut self,
        entity: EntityType,
        id: Uuid,
        action: AuditAction,
        changes: Value,
        resource: &impl Serialize,
    ) -> Result<(), AppError> {
        self.audit(entity, id, action, changes);
        self.event(entity, id, action, resource)
    }

    /// Whether nothing was recorded (the use case changed nothing).
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty() && self.events.is_empty()
    }

    /// Writes the entries and events in `tx` on behalf of `caller`, then commits.
    pub async fn commit(self, tx: WriteTx, caller: &Caller) -> Result<(), AppError> {
        self.write(&tx, caller).await?;
        commit(tx).await
    }

    /// Writes the entries and events in `tx` without committing (for callers that batch).
    pub async fn write(self, tx: &impl ConnectionTrait, caller: &Caller) -> Result<(), AppError> {
        let actor = actor(caller);
        let at = Utc::now();
        let rows = self
            .entries
            .into_iter()
            .map(|e| audit::Model {
                id: Uuid::now_v7(),
                entity_type: e.entity.as_str().to_owned(),
                entity_id: e.id,
                action: e.action.as_str().to_owned(),
                actor_user_id: actor.user_id,
                actor_api_key_id: actor.api_key_id,
                request_id: actor.request_id.clone(),
                at,
                changes: e.changes,
            })
            .collect();
        audit::record_many(tx, rows).await?;
        if !self.events.is_empty() {
            outbox::append(tx, &actor, self.events).await?;
        }
        Ok(())
    }
}

/// Who the audit log and the events name for `caller`, with the current request id.
pub fn actor(caller: &Caller) -> audit::Actor {
    audit::Actor {
        user_id: caller.user_id(),
        api_key_id: caller.api_key_id(),
        request_id: request_id(),
    }
}

/// `{field: {from, to}}` for every top-level field of the two JSON views that differs,
/// leaving out `ignore` (ids, versions, timestamps and other fields that always change).
pub fn changes<T: Serialize>(before: &T, after: &T, ignore: &[&str]) -> Map<String, Value> {
    let view = |v: &T| match serde_json::to_value(v) {
        Ok(Value::Object(mut map)) => {
            for key in ignore {
                map.remove(*key);
            }
            map
        }
        _ => Map::new(),
    };
    diff(&view(before), &view(after))
}

/// `{field: {from, to}}` for every field of two maps that differs.
pub fn diff(before: &Map<String, Value>, after: &Map<String, Value>) -> Map<String, Value> {
    let mut out = Map::new();
    for (key, to) in after {
        let from = before.get(key).cloned().unwrap_or(Value::Null);
        if &from != to {
            out.insert(key.clone(), json!({"from": from, "to": to}));
        }
    }
    out
}
