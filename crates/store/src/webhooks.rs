//! Webhooks: subscriptions, their deliveries (one per subscription and event) and every
//! attempt at one.
//!
//! Events are queued for a subscription by [`queue`], which reads the outbox past the
//! subscription's cursor with the subscription's row locked (`FOR UPDATE` on PostgreSQL,
//! the single writer on SQLite) and inserts deliveries under a unique (subscription, event)
//! index: however many server copies queue at once, each event is queued once. Copies then
//! [`claim`] due deliveries under a lease (`FOR UPDATE SKIP LOCKED` on PostgreSQL) marked
//! with a token of that claim alone, so each attempt is made by one claim; an outcome is
//! recorded only under the token that claimed it, and a redelivery clears the token.

use chrono::{DateTime, Utc};
use sea_orm::entity::prelude::*;
use sea_orm::sea_query::{ExprTrait, LockType, OnConflict};
use sea_orm::{ActiveValue::Set, Condition, DbBackend, QueryOrder, QuerySelect, Statement};

use crate::{StoreError, outbox};

/// Waiting for its next attempt.
pub const PENDING: &str = "pending";
/// Delivered: the receiver answered 2xx.
pub const SUCCEEDED: &str = "succeeded";
/// Out of attempts; can be redelivered by hand.
pub const FAILED: &str = "failed";

/// Why a subscription was turned off by the server.
pub const DISABLED_FAILING: &str = "failing";

/// Subscriptions.
pub mod subscription {
    use super::*;

    /// A row of `webhook_subscriptions`.
    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "webhook_subscriptions")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub id: Uuid,
        pub url: String,
        pub description: Option<String>,
        /// Space-separated event types.
        pub events: String,
        /// The signing secret.
        pub secret: String,
        pub active: bool,
        /// Why the server turned it off (`failing`), if it did.
        pub disabled_reason: Option<String>,
        pub disabled_at: Option<DateTime<Utc>>,
        /// Failed attempts since the last success.
        pub consecutive_failures: i32,
        /// The last outbox sequence looked at for it.
        pub cursor: i64,
        pub created_by: Option<Uuid>,
        pub created_at: DateTime<Utc>,
        pub updated_at: DateTime<Utc>,
        pub version: i32,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

/// Deliveries.
pub mod delivery {
    use super::*;

    /// A row of `webhook_deliveries`.
    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "webhook_deliveries")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub id: Uuid,
        pub subscription_id: Uuid,
        /// The outbox event's id.
        pub event_id: Uuid,
        /// The outbox event's sequence.
        pub event_seq: i64,
        pub event_type: String,
        /// `pending`, `succeeded` or `failed`.
        pub status: String,
        /// Attempts made since it was queued or last redelivered.
        pub attempts: i32,
        pub next_attempt_at: DateTime<Utc>,
        /// Whether the next attempt is a redelivery asked for by hand.
        pub manual: bool,
        pub locked_by: Option<String>,
        pub locked_until: Option<DateTime<Utc>>,
        pub last_status_code: Option<i32>,
        pub last_error: Option<String>,
        pub created_at: DateTime<Utc>,
        pub updated_at: DateTime<Utc>,
        pub completed_at: Option<DateTime<Utc>>,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

/// Attempts.
pub mod attempt {
    use super::*;

    /// A row of `webhook_attempts`.
    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "webhook_attempts")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub id: Uuid,
        pub delivery_id: Uuid,
        pub subscription_id: Uuid,
        pub attempted_at: DateTime<Utc>,
        pub duration_ms: i32,
        /// The receiver's HTTP status, when it answered.
        pub status_code: Option<i32>,
        /// What went wrong, when something did.
        pub error: Option<String>,
        /// Whether it was a redelivery asked for by hand.
        pub manual: bool,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

/// Every subscription, oldest first.
pub async fn all(conn: &impl ConnectionTrait) -> Result<Vec<subscription::Model>, StoreError> {
    Ok(subscription::Entity::find()
        .order_by_asc(subscription::Column::CreatedAt)
        .order_by_asc(subscription::Column::Id)
        .all(conn)
        .await?)
}

/// The active subscriptions.
pub async fn active(conn: &impl ConnectionTrait) -> Result<Vec<subscription::Model>, StoreError> {
    Ok(subscription::Entity::find()
        .filter(subscription::Column::Active.eq(true))
        .order_by_asc(subscription::Column::Id)
        .all(conn)
        .await?)
}

/// One subscription.
pub async fn find(
    conn: &impl ConnectionTrait,
    id: Uuid,
) -> Result<Option<subscription::Model>, StoreError> {
    Ok(subscription::Entity::find_by_id(id).one(conn).await?)
}

/// One subscription, its row locked until the transaction ends (PostgreSQL; SQLite's write
/// transaction holds the whole database).
pub async fn lock(
    conn: &impl ConnectionTrait,
    id: Uuid,
) -> Result<Option<subscription::Model>, StoreError> {
    let mut query = subscription::Entity::find_by_id(id);
    if conn.get_database_backend() == DbBackend::Postgres {
        query = query.lock(LockType::Update);
    }
    Ok(query.one(conn).await?)
}

/// Stores a new subscription.
pub async fn insert(
    conn: &impl ConnectionTrait,
    model: subscription::Model,
) -> Result<subscription::Model, StoreError> {
    Ok(subscription::ActiveModel::from(model).insert(conn).await?)
}

/// Replaces a subscription if its version is still `expected_version`; the cursor and the
/// failure count are the delivery machinery's and are left alone.
pub async fn save(
    conn: &impl ConnectionTrait,
    mut model: subscription::Model,
    expected_version: i32,
) -> Result<Option<subscription::Model>, StoreError> {
    model.version = expected_version + 1;
    let mut row = subscription::ActiveModel::from(model.clone()).reset_all();
    row.id = sea_orm::ActiveValue::NotSet;
    row.cursor = sea_orm::ActiveValue::NotSet;
    row.consecutive_failures = sea_orm::ActiveValue::NotSet;
    let result = subscription::Entity::update_many()
        .set(row)
        .filter(subscription::Column::Id.eq(model.id))
        .filter(subscription::Column::Version.eq(expected_version))
        .exec(conn)
        .await?;
    Ok((result.rows_affected == 1).then_some(model))
}

/// Sets a subscription's failure count back to zero (when it is turned on again).
pub async fn reset_failures(conn: &impl ConnectionTrait, id: Uuid) -> Result<(), StoreError> {
    subscription::Entity::update_many()
        .col_expr(subscription::Column::ConsecutiveFailures, Expr::value(0))
        .filter(subscription::Column::Id.eq(id))
        .exec(conn)
        .await?;
    Ok(())
}

/// Deletes a subscription with its deliveries and attempts.
pub async fn delete(conn: &impl ConnectionTrait, id: Uuid) -> Result<bool, StoreError> {
    attempt::Entity::delete_many()
        .filter(attempt::Column::SubscriptionId.eq(id))
        .exec(conn)
        .await?;
    delivery::Entity::delete_many()
        .filter(delivery::Column::SubscriptionId.eq(id))
        .exec(conn)
        .await?;
    Ok(subscription::Entity::delete_by_id(id)
        .exec(conn)
        .await?
        .rows_affected
        > 0)
}

/// The newest outbox sequence (0 when empty): where a new subscription starts.
pub async fn outbox_head(conn: &impl ConnectionTrait) -> Result<i64, StoreError> {
    let seq: Option<Option<i64>> = outbox::Entity::find()
        .select_only()
        .column_as(outbox::Column::Seq.max(), "head")
        .into_tuple()
        .one(conn)
        .await?;
    Ok(seq.flatten().unwrap_or(0))
}

/// Queues deliveries of the next events (up to `limit` of the outbox) for subscription `id`
/// whose type is in its list, and moves its cursor past them. Call inside a write
/// transaction. Returns how many were queued and whether the outbox may hold more.
pub async fn queue(
    conn: &impl ConnectionTrait,
    id: Uuid,
    limit: u64,
    now: DateTime<Utc>,
) -> Result<(usize, bool), StoreError> {
    let Some(sub) = lock(conn, id).await? else {
        return Ok((0, false));
    };
    if !sub.active {
        return Ok((0, false));
    }
    let events = outbox::list_after(conn, sub.cursor, limit).await?;
    let Some(last) = events.last().map(|e| e.seq) else {
        return Ok((0, false));
    };
    let more = u64::try_from(events.len()).unwrap_or(u64::MAX) >= limit;
    let wanted: Vec<&str> = sub.events.split_whitespace().collect();
    let rows: Vec<delivery::ActiveModel> = events
        .into_iter()
        .filter(|e| wanted.contains(&e.event_type.as_str()))
        .map(|e| delivery::ActiveModel {
            id: Set(Uuid::now_v7()),
            subscription_id: Set(id),
            event_id: Set(e.id),
            event_seq: Set(e.seq),
            event_type: Set(e.event_type),
            status: Set(PENDING.to_owned()),
            attempts: Set(0),
            next_attempt_at: Set(now),
            manual: Set(false),
            locked_by: Set(None),
            locked_until: Set(None),
            last_status_code: Set(None),
            last_error: Set(None),
            created_at: Set(now),
            updated_at: Set(now),
            completed_at: Set(None),
        })
        .collect();
    let queued = rows.len();
    for chunk in rows.chunks(500) {
        delivery::Entity::insert_many(chunk.to_vec())
            .on_conflict(
                OnConflict::columns([delivery::Column::SubscriptionId, delivery::Column::EventId])
                    .do_nothing()
                    .to_owned(),
            )
            .try_insert()
            .exec_without_returning(conn)
            .await?;
    }
    subscription::Entity::update_many()
        .col_expr(subscription::Column::Cursor, Expr::value(last))
        .filter(subscription::Column::Id.eq(id))
        .exec(conn)
        .await?;
    Ok((queued, more))
}

/// A claimed delivery with its event.
#[derive(Debug, Clone)]
pub struct Claimed {
    /// The delivery, its attempt counted.
    pub delivery: delivery::Model,
    /// The event, if the outbox still holds it.
    pub event: Option<outbox::Model>,
}

/// Whether any delivery of these subscriptions is due and unclaimed at `now`: a read, so
/// that a run with nothing to send takes no turn to write.
pub async fn any_due(
    conn: &impl ConnectionTrait,
    subscriptions: &[Uuid],
    now: DateTime<Utc>,
) -> Result<bool, StoreError> {
    if subscriptions.is_empty() {
        return Ok(false);
    }
    Ok(delivery::Entity::find()
        .select_only()
        .column(delivery::Column::Id)
        .filter(delivery::Column::Status.eq(PENDING))
        .filter(delivery::Column::NextAttemptAt.lte(now))
        .filter(
            Condition::any()
                .add(delivery::Column::LockedUntil.is_null())
                .add(delivery::Column::LockedUntil.lt(now)),
        )
        .filter(delivery::Column::SubscriptionId.is_in(subscriptions.iter().copied()))
        .into_tuple::<Uuid>()
        .one(conn)
        .await?
        .is_some())
}

/// Claims up to `limit` due deliveries of active subscriptions under `token` (unique to this
/// claim) until `until`, counting an attempt on each. Call inside a write transaction.
pub async fn claim(
    conn: &impl ConnectionTrait,
    token: &str,
    now: DateTime<Utc>,
    until: DateTime<Utc>,
    limit: u64,
) -> Result<Vec<Claimed>, StoreError> {
    let backend = conn.get_database_backend();
    let limit = i64::try_from(limit).unwrap_or(100);
    let sql = match backend {
        DbBackend::Postgres => {
            "UPDATE webhook_deliveries SET locked_by = $1, locked_until = $2, \
             attempts = attempts + 1, updated_at = $3 \
             WHERE id IN (SELECT d.id FROM webhook_deliveries d \
               JOIN webhook_subscriptions s ON s.id = d.subscription_id \
               WHERE d.status = 'pending' AND d.next_attempt_at <= $3 \
               AND (d.locked_until IS NULL OR d.locked_until < $3) AND s.active \
               ORDER BY d.next_attempt_at, d.id LIMIT $4 FOR UPDATE OF d SKIP LOCKED) \
             RETURNING *"
        }
        _ => {
            "UPDATE webhook_deliveries SET locked_by = ?, locked_until = ?, \
             attempts = attempts + 1, updated_at = ? \
             WHERE id IN (SELECT d.id FROM webhook_deliveries d \
               JOIN webhook_subscriptions s ON s.id = d.subscription_id \
               WHERE d.status = 'pending' AND d.next_attempt_at <= ? \
               AND (d.locked_until IS NULL OR d.locked_until < ?) AND s.active \
               ORDER BY d.next_attempt_at, d.id LIMIT ?) \
             RETURNING *"
        }
    };
    let values: Vec<sea_orm::Value> = match backend {
        DbBackend::Postgres => vec![token.into(), until.into(), now.into(), limit.into()],
        _ => vec![
            token.into(),
            until.into(),
            now.into(),
            now.into(),
            now.into(),
            limit.into(),
        ],
    };
    let deliveries = delivery::Entity::find()
        .from_raw_sql(Statement::from_sql_and_values(backend, sql, values))
        .all(conn)
        .await?;
    if deliveries.is_empty() {
        return Ok(Vec::new());
    }
    let seqs: Vec<i64> = deliveries.iter().map(|d| d.event_seq).collect();
    let events = outbox::Entity::find()
        .filter(outbox::Column::Seq.is_in(seqs))
        .all(conn)
        .await?;
    Ok(deliveries
        .into_iter()
        .map(|d| {
            let event = events.iter().find(|e| e.seq == d.event_seq).cloned();
            Claimed { delivery: d, event }
        })
        .collect())
}

/// What one attempt came to.
#[derive(Debug, Clone)]
pub struct Outcome {
    /// When it was made.
    pub at: DateTime<Utc>,
    /// How long it took.
    pub duration_ms: i32,
    /// The receiver's status, when it answered.
    pub status_code: Option<i32>,
    /// What went wrong, when something did.
    pub error: Option<String>,
    /// Whether the receiver took it (2xx).
    pub delivered: bool,
    /// When to try again after a failure; `None` gives up.
    pub retry_at: Option<DateTime<Utc>>,
}

/// Records an attempt made under the claim `token` (ignored when the delivery was claimed
/// again or redelivered meanwhile): the attempt row, the delivery's new state, and the
/// subscription's failure count. A subscription reaching `disable_after` failures in a row
/// is turned off. Returns whether the outcome was recorded, and whether this attempt turned
/// the subscription off.
pub async fn record(
    conn: &impl ConnectionTrait,
    claimed: &delivery::Model,
    token: &str,
    outcome: &Outcome,
    disable_after: i32,
) -> Result<(bool, bool), StoreError> {
    let mut update = unclaimed()
        .col_expr(delivery::Column::Manual, Expr::value(false))
        .col_expr(
            delivery::Column::LastStatusCode,
            Expr::value(outcome.status_code),
        )
        .col_expr(
            delivery::Column::LastError,
            Expr::value(outcome.error.clone()),
        )
        .col_expr(delivery::Column::UpdatedAt, Expr::value(outcome.at));
    update = match (outcome.delivered, outcome.retry_at) {
        (true, _) => update
            .col_expr(delivery::Column::Status, Expr::value(SUCCEEDED))
            .col_expr(delivery::Column::CompletedAt, Expr::value(Some(outcome.at))),
        (false, Some(at)) => update.col_expr(delivery::Column::NextAttemptAt, Expr::value(at)),
        (false, None) => update
            .col_expr(delivery::Column::Status, Expr::value(FAILED))
            .col_expr(delivery::Column::CompletedAt, Expr::value(Some(outcome.at))),
    };
    let result = update
        .filter(delivery::Column::Id.eq(claimed.id))
        .filter(delivery::Column::LockedBy.eq(token))
        .filter(delivery::Column::Status.eq(PENDING))
        .exec(conn)
        .await?;
    if result.rows_affected == 0 {
        return Ok((false, false));
    }
    attempt::ActiveModel {
        id: Set(Uuid::now_v7()),
        delivery_id: Set(claimed.id),
        subscription_id: Set(claimed.subscription_id),
        attempted_at: Set(outcome.at),
        duration_ms: Set(outcome.duration_ms),
        status_code: Set(outcome.status_code),
        error: Set(outcome.error.clone()),
        manual: Set(claimed.manual),
    }
    .insert(conn)
    .await?;
    let sub = subscription::Column::ConsecutiveFailures;
    if outcome.delivered {
        subscription::Entity::update_many()
            .col_expr(sub, Expr::value(0))
            .filter(subscription::Column::Id.eq(claimed.subscription_id))
            .exec(conn)
            .await?;
        return Ok((true, false));
    }
    subscription::Entity::update_many()
        .col_expr(sub, Expr::col(sub).add(1))
        .filter(subscription::Column::Id.eq(claimed.subscription_id))
        .exec(conn)
        .await?;
    let disabled = subscription::Entity::update_many()
        .col_expr(subscription::Column::Active, Expr::value(false))
        .col_expr(
            subscription::Column::DisabledReason,
            Expr::value(Some(DISABLED_FAILING)),
        )
        .col_expr(
            subscription::Column::DisabledAt,
            Expr::value(Some(outcome.at)),
        )
        .col_expr(subscription::Column::UpdatedAt, Expr::value(outcome.at))
        .col_expr(
            subscription::Column::Version,
            Expr::col(subscription::Column::Version).add(1),
        )
        .filter(subscription::Column::Id.eq(claimed.subscription_id))
        .filter(subscription::Column::Active.eq(true))
        .filter(sub.gte(disable_after))
        .exec(conn)
        .await?;
    Ok((true, disabled.rows_affected > 0))
}

/// A subscription's deliveries, newest first, after `before` (a delivery id) when given.
pub async fn deliveries(
    conn: &impl ConnectionTrait,
    subscription_id: Uuid,
    before: Option<Uuid>,
    limit: u64,
) -> Result<Vec<delivery::Model>, StoreError> {
    let mut query = delivery::Entity::find()
        .filter(delivery::Column::SubscriptionId.eq(subscription_id))
        .order_by_desc(delivery::Column::Id)
        .limit(limit);
    if let Some(before) = before {
        query = query.filter(delivery::Column::Id.lt(before));
    }
    Ok(query.all(conn).await?)
}

/// The attempts of the given deliveries, oldest first.
pub async fn attempts_of(
    conn: &impl ConnectionTrait,
    delivery_ids: Vec<Uuid>,
) -> Result<Vec<attempt::Model>, StoreError> {
    if delivery_ids.is_empty() {
        return Ok(Vec::new());
    }
    Ok(attempt::Entity::find()
        .filter(attempt::Column::DeliveryId.is_in(delivery_ids))
        .order_by_asc(attempt::Column::Id)
        .all(conn)
        .await?)
}

/// One delivery of a subscription.
pub async fn delivery(
    conn: &impl ConnectionTrait,
    subscription_id: Uuid,
    id: Uuid,
) -> Result<Option<delivery::Model>, StoreError> {
    Ok(delivery::Entity::find_by_id(id)
        .filter(delivery::Column::SubscriptionId.eq(subscription_id))
        .one(conn)
        .await?)
}

/// An update of deliveries that also takes away their claim.
fn unclaimed() -> sea_orm::UpdateMany<delivery::Entity> {
    delivery::Entity::update_many()
        .col_expr(
            delivery::Column::LockedBy,
            Expr::value(Option::<String>::None),
        )
        .col_expr(
            delivery::Column::LockedUntil,
            Expr::value(Option::<DateTime<Utc>>::None),
        )
}

/// Gives back a claimed delivery without an attempt (its subscription was turned off after
/// the claim): the attempt is not counted.
pub async fn release(
    conn: &impl ConnectionTrait,
    claimed: &delivery::Model,
    token: &str,
) -> Result<(), StoreError> {
    unclaimed()
        .col_expr(
            delivery::Column::Attempts,
            Expr::col(delivery::Column::Attempts).sub(1),
        )
        .filter(delivery::Column::Id.eq(claimed.id))
        .filter(delivery::Column::LockedBy.eq(token))
        .exec(conn)
        .await?;
    Ok(())
}

/// Makes a subscription's pending deliveries due now (it was turned on again).
pub async fn wake(
    conn: &impl ConnectionTrait,
    subscription_id: Uuid,
    now: DateTime<Utc>,
) -> Result<(), StoreError> {
    delivery::Entity::update_many()
        .col_expr(delivery::Column::NextAttemptAt, Expr::value(now))
        .filter(delivery::Column::SubscriptionId.eq(subscription_id))
        .filter(delivery::Column::Status.eq(PENDING))
        .exec(conn)
        .await?;
    Ok(())
}

/// Puts a delivery back in the queue for an attempt now, with a fresh budget of attempts,
/// marked as asked for by hand. An attempt in flight loses its claim: its outcome is not
/// recorded, and the redelivery is made whatever it was.
pub async fn redeliver(
    conn: &impl ConnectionTrait,
    id: Uuid,
    now: DateTime<Utc>,
) -> Result<Option<delivery::Model>, StoreError> {
    unclaimed()
        .col_expr(delivery::Column::Status, Expr::value(PENDING))
        .col_expr(delivery::Column::Attempts, Expr::value(0))
        .col_expr(delivery::Column::NextAttemptAt, Expr::value(now))
        .col_expr(delivery::Column::Manual, Expr::value(true))
        .col_expr(
            delivery::Column::CompletedAt,
            Expr::value(Option::<DateTime<Utc>>::None),
        )
        .col_expr(delivery::Column::UpdatedAt, Expr::value(now))
        .filter(delivery::Column::Id.eq(id))
        .exec(conn)
        .await?;
    Ok(delivery::Entity::find_by_id(id).one(conn).await?)
}

/// How much webhook work is waiting.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Backlog {
    /// Deliveries not yet made.
    pub pending: u64,
    /// Outbox events not yet looked at for the furthest-behind active subscription.
    pub unqueued: i64,
    /// The newest outbox sequence.
    pub head: i64,
}

/// How much webhook work is waiting (see [`Backlog`]).
pub async fn backlog(conn: &impl ConnectionTrait) -> Result<Backlog, StoreError> {
    let pending = delivery::Entity::find()
        .filter(delivery::Column::Status.eq(PENDING))
        .count(conn)
        .await?;
    let behind: Option<Option<i64>> = subscription::Entity::find()
        .select_only()
        .column_as(subscription::Column::Cursor.min(), "cursor")
        .filter(subscription::Column::Active.eq(true))
        .into_tuple()
        .one(conn)
        .await?;
    let head = outbox_head(conn).await?;
    let unqueued = behind
        .flatten()
        .map_or(0, |cursor| Ord::max(head - cursor, 0));
    Ok(Backlog {
        pending,
        unqueued,
        head,
    })
}
