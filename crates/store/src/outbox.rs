//! The transactional outbox: every committed change as an event, written in the change's own
//! transaction, read by pollers (`GET /events`) and, later, delivered as webhooks.
//!
//! Pollers read "everything after sequence N", so sequence order must be commit order. On
//! PostgreSQL a sequence value is taken when a row is inserted, not when its transaction
//! commits, so a slow transaction could commit an event *below* a cursor a poller has already
//! passed. [`append`] therefore first takes a transaction-scoped advisory lock: outbox writers
//! queue from their insert to their commit, and sequences are handed out in commit order.
//! Use cases call it as the last statement before committing, so the lock is held for the
//! commit alone. SQLite has a single writer, which gives the same order by itself.

use chrono::{DateTime, Utc};
use sea_orm::entity::prelude::*;
use sea_orm::{DbBackend, QueryOrder, QuerySelect, Statement};

use crate::StoreError;
use crate::audit::Actor;

/// The advisory-lock key that serialises outbox writers on PostgreSQL ("crm-outbox").
const OUTBOX_LOCK: i64 = 0x63726d2d6f7574;
/// Rows per statement: 9 bound columns each.
const CHUNK: usize = 1000;

/// A row of `outbox`.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "outbox")]
pub struct Model {
    /// Position in the feed: increases with commit order.
    #[sea_orm(primary_key)]
    pub seq: i64,
    /// The event's id, for receivers to deduplicate on.
    #[sea_orm(unique)]
    pub id: Uuid,
    /// e.g. `customer.created`.
    pub event_type: String,
    pub entity_type: String,
    pub entity_id: Uuid,
    /// The record as the API shows it after the change.
    pub payload: Json,
    pub actor_user_id: Option<Uuid>,
    pub actor_api_key_id: Option<Uuid>,
    pub request_id: Option<String>,
    pub occurred_at: DateTime<Utc>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}

/// An event to append.
#[derive(Debug, Clone, PartialEq)]
pub struct NewEvent {
    /// e.g. `customer.created`.
    pub event_type: String,
    /// e.g. `customer`.
    pub entity_type: String,
    /// The record's id.
    pub entity_id: Uuid,
    /// The record as the API shows it.
    pub payload: Json,
}

/// Appends events inside the caller's transaction (see the module's note on order): call it
/// last before committing.
pub async fn append(
    conn: &impl ConnectionTrait,
    actor: &Actor,
    events: Vec<NewEvent>,
) -> Result<(), StoreError> {
    if events.is_empty() {
        return Ok(());
    }
    if conn.get_database_backend() == DbBackend::Postgres {
        conn.execute_raw(Statement::from_sql_and_values(
            DbBackend::Postgres,
            "SELECT pg_advisory_xact_lock($1)",
            [OUTBOX_LOCK.into()],
        ))
        .await?;
    }
    let now = Utc::now();
    let rows: Vec<ActiveModel> = events
        .into_iter()
        .map(|e| ActiveModel {
            seq: sea_orm::ActiveValue::NotSet,
            id: sea_orm::ActiveValue::Set(Uuid::now_v7()),
            event_type: sea_orm::ActiveValue::Set(e.event_type),
            entity_type: sea_orm::ActiveValue::Set(e.entity_type),
            entity_id: sea_orm::ActiveValue::Set(e.entity_id),
            payload: sea_orm::ActiveValue::Set(e.payload),
            actor_user_id: sea_orm::ActiveValue::Set(actor.user_id),
            actor_api_key_id: sea_orm::ActiveValue::Set(actor.api_key_id),
            request_id: sea_orm::ActiveValue::Set(actor.request_id.clone()),
            occurred_at: sea_orm::ActiveValue::Set(now),
        })
        .collect();
    crate::bulk::insert_all(conn, rows, CHUNK).await
}

/// Up to `limit` events after sequence `after`, in sequence order.
pub async fn list_after(
    conn: &impl ConnectionTrait,
    after: i64,
    limit: u64,
) -> Result<Vec<Model>, StoreError> {
    Ok(Entity::find()
        .filter(Column::Seq.gt(after))
        .order_by_asc(Column::Seq)
        .limit(limit)
        .all(conn)
        .await?)
}

/// Whether the outbox holds an event past `after`: one index entry read.
pub async fn any_after(conn: &impl ConnectionTrait, after: i64) -> Result<bool, StoreError> {
    Ok(Entity::find()
        .select_only()
        .column(Column::Seq)
        .filter(Column::Seq.gt(after))
        .into_tuple::<i64>()
        .one(conn)
        .await?
        .is_some())
}

/// How many events the outbox holds.
pub async fn depth(conn: &impl ConnectionTrait) -> Result<u64, StoreError> {
    Ok(Entity::find().count(conn).await?)
}
