//! The jobs table: background work that outlives a request.
//!
//! A job is enqueued on the caller's connection, so inside a use case's transaction it
//! exists if and only if the change committed. Workers [`claim`] one due job at a time under a
//! lease: on PostgreSQL with `SELECT … FOR UPDATE SKIP LOCKED` (copies never wait for each
//! other, and never take the same job), on SQLite inside an `IMMEDIATE` write transaction
//! (one writer at a time). A job whose lease ran out — its worker died — is due again.
//! Recurring occurrences carry a `dedupe_key` under a unique index, so however many copies
//! schedule an occurrence, one row exists.

use std::time::Duration;

use chrono::{DateTime, Utc};
use sea_orm::entity::prelude::*;
use sea_orm::sea_query::{LockBehavior, LockType, OnConflict};
use sea_orm::{ActiveValue::Set, Condition, DbBackend, QueryOrder, QuerySelect, TryInsertResult};

use crate::{StoreError, begin_write};

/// Waiting to run (or to be retried) at `run_at`.
pub const QUEUED: &str = "queued";
/// Claimed by a worker until `locked_until`.
pub const RUNNING: &str = "running";
/// Finished successfully.
pub const DONE: &str = "done";
/// Out of attempts; `last_error` says why.
pub const FAILED: &str = "failed";

/// A row of `jobs`.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "jobs")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    /// What to do, e.g. `retier_customers`.
    pub kind: String,
    /// Its arguments.
    pub payload: Json,
    /// `queued`, `running`, `done` or `failed`.
    pub status: String,
    /// When it is due.
    pub run_at: DateTime<Utc>,
    /// Runs started so far.
    pub attempts: i32,
    /// Runs allowed before it is given up.
    pub max_attempts: i32,
    /// The worker holding it.
    pub locked_by: Option<String>,
    /// Until when that worker holds it.
    pub locked_until: Option<DateTime<Utc>>,
    /// Why the last run failed.
    pub last_error: Option<String>,
    /// Unique name of a recurring occurrence, e.g. `retier_customers:2026-11-23`.
    #[sea_orm(unique)]
    pub dedupe_key: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub finished_at: Option<DateTime<Utc>>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}

/// A job to enqueue.
#[derive(Debug, Clone, PartialEq)]
pub struct NewJob {
    /// What to do.
    pub kind: String,
    /// Its arguments.
    pub payload: Json,
    /// When it is due.
    pub run_at: DateTime<Utc>,
    /// Runs allowed before it is given up.
    pub max_attempts: i32,
    /// Unique name of a recurring occurrence.
    pub dedupe_key: Option<String>,
}

impl NewJob {
    /// A job due now, with five attempts.
    pub fn now(kind: impl Into<String>, payload: Json) -> Self {
        Self {
            kind: kind.into(),
            payload,
            run_at: Utc::now(),
            max_attempts: 5,
            dedupe_key: None,
        }
    }
}

fn active(job: NewJob) -> ActiveModel {
    let now = Utc::now();
    ActiveModel {
        id: Set(Uuid::now_v7()),
        kind: Set(job.kind),
        payload: Set(job.payload),
        status: Set(QUEUED.to_owned()),
        run_at: Set(job.run_at),
        attempts: Set(0),
        max_attempts: Set(job.max_attempts.max(1)),
        locked_by: Set(None),
        locked_until: Set(None),
        last_error: Set(None),
        dedupe_key: Set(job.dedupe_key),
        created_at: Set(now),
        updated_at: Set(now),
        finished_at: Set(None),
    }
}

/// Enqueues a job on `conn` (inside a transaction: it exists iff that commits).
pub async fn enqueue(conn: &impl ConnectionTrait, job: NewJob) -> Result<Uuid, StoreError> {
    let model = active(job);
    let id = match &model.id {
        Set(id) => *id,
        _ => Uuid::now_v7(),
    };
    Entity::insert(model).exec_without_returning(conn).await?;
    Ok(id)
}

/// Enqueues a job unless one with the same `dedupe_key` exists; true if this call made it.
pub async fn enqueue_unique(conn: &impl ConnectionTrait, job: NewJob) -> Result<bool, StoreError> {
    let result = Entity::insert(active(job))
        .on_conflict(
            OnConflict::column(Column::DedupeKey)
                .do_nothing()
                .to_owned(),
        )
        .try_insert()
        .exec_without_returning(conn)
        .await?;
    Ok(matches!(result, TryInsertResult::Inserted(n) if n > 0))
}

/// Due now: queued and past `run_at`, or running with an expired lease.
fn due(now: DateTime<Utc>) -> Condition {
    Condition::any()
        .add(
            Condition::all()
                .add(Column::Status.eq(QUEUED))
                .add(Column::RunAt.lte(now)),
        )
        .add(
            Condition::all()
                .add(Column::Status.eq(RUNNING))
                .add(Column::LockedUntil.lt(now)),
        )
}

/// Claims the most overdue due job for `worker` until `now + lease`, counting an attempt.
pub async fn claim(
    db: &DatabaseConnection,
    worker: &str,
    lease: Duration,
    now: DateTime<Utc>,
) -> Result<Option<Model>, StoreError> {
    let tx = begin_write(db).await?;
    let mut query = Entity::find()
        .filter(due(now))
        .order_by_asc(Column::RunAt)
        .order_by_asc(Column::Id)
        .limit(1);
    if db.get_database_backend() == DbBackend::Postgres {
        query = query.lock_with_behavior(LockType::Update, LockBehavior::SkipLocked);
    }
    let Some(job) = query.one(&tx).await? else {
        tx.commit().await?;
        return Ok(None);
    };
    let until = now + chrono::Duration::from_std(lease).unwrap_or(chrono::Duration::minutes(5));
    let mut row: ActiveModel = job.into();
    let attempts = match &row.attempts {
        sea_orm::ActiveValue::Unchanged(n) | Set(n) => *n,
        sea_orm::ActiveValue::NotSet => 0,
    };
    row.status = Set(RUNNING.to_owned());
    row.locked_by = Set(Some(worker.to_owned()));
    row.locked_until = Set(Some(until));
    row.attempts = Set(attempts.saturating_add(1));
    row.updated_at = Set(now);
    let claimed = row.update(&tx).await?;
    tx.commit().await?;
    Ok(Some(claimed))
}

/// Marks a job done, if `worker` still holds it.
pub async fn complete(
    conn: &impl ConnectionTrait,
    id: Uuid,
    worker: &str,
) -> Result<bool, StoreError> {
    let now = Utc::now();
    let result = Entity::update_many()
        .col_expr(Column::Status, Expr::value(DONE))
        .col_expr(Column::FinishedAt, Expr::value(Some(now)))
        .col_expr(Column::UpdatedAt, Expr::value(now))
        .col_expr(Column::LockedBy, Expr::value(Option::<String>::None))
        .col_expr(
            Column::LockedUntil,
            Expr::value(Option::<DateTime<Utc>>::None),
        )
        .filter(Column::Id.eq(id))
        .filter(Column::LockedBy.eq(worker))
        .filter(Column::Status.eq(RUNNING))
        .exec(conn)
        .await?;
    Ok(result.rows_affected > 0)
}

/// The wait before retry number `attempts + 1`: 2, 4, 8 … seconds, at most an hour.
pub fn backoff(attempts: i32) -> Duration {
    let exp = u32::try_from(attempts.clamp(1, 12)).unwrap_or(12);
    Duration::from_secs(2u64.pow(exp).min(3600))
}

/// Records a failed run by `worker`: queued again after [`backoff`] (plus up to a tenth of
/// it at random, so that copies do not retry in step), or failed for good when out of
/// attempts. Returns the job as saved.
pub async fn fail(
    conn: &impl ConnectionTrait,
    job: &Model,
    worker: &str,
    error: &str,
    now: DateTime<Utc>,
) -> Result<bool, StoreError> {
    let error: String = error.chars().take(2000).collect();
    let mut update = Entity::update_many()
        .col_expr(Column::LastError, Expr::value(Some(error)))
        .col_expr(Column::UpdatedAt, Expr::value(now))
        .col_expr(Column::LockedBy, Expr::value(Option::<String>::None))
        .col_expr(
            Column::LockedUntil,
            Expr::value(Option::<DateTime<Utc>>::None),
        );
    if job.attempts >= job.max_attempts {
        update = update
            .col_expr(Column::Status, Expr::value(FAILED))
            .col_expr(Column::FinishedAt, Expr::value(Some(now)));
    } else {
        let wait = backoff(job.attempts);
        let jitter = rand::random_range(0..=wait.as_millis() / 10);
        let wait = wait + Duration::from_millis(u64::try_from(jitter).unwrap_or(0));
        let run_at = now + chrono::Duration::from_std(wait).unwrap_or(chrono::Duration::hours(1));
        update = update
            .col_expr(Column::Status, Expr::value(QUEUED))
            .col_expr(Column::RunAt, Expr::value(run_at));
    }
    let result = update
        .filter(Column::Id.eq(job.id))
        .filter(Column::LockedBy.eq(worker))
        .filter(Column::Status.eq(RUNNING))
        .exec(conn)
        .await?;
    Ok(result.rows_affected > 0)
}

/// Extends `worker`'s lease on a long job.
pub async fn extend_lease(
    conn: &impl ConnectionTrait,
    id: Uuid,
    worker: &str,
    until: DateTime<Utc>,
) -> Result<bool, StoreError> {
    let result = Entity::update_many()
        .col_expr(Column::LockedUntil, Expr::value(Some(until)))
        .filter(Column::Id.eq(id))
        .filter(Column::LockedBy.eq(worker))
        .filter(Column::Status.eq(RUNNING))
        .exec(conn)
        .await?;
    Ok(result.rows_affected > 0)
}

/// One job.
pub async fn get(conn: &impl ConnectionTrait, id: Uuid) -> Result<Option<Model>, StoreError> {
    Ok(Entity::find_by_id(id).one(conn).await?)
}

/// Jobs of `kind`, oldest first (for operators and tests).
pub async fn of_kind(conn: &impl ConnectionTrait, kind: &str) -> Result<Vec<Model>, StoreError> {
    Ok(Entity::find()
        .filter(Column::Kind.eq(kind))
        .order_by_asc(Column::Id)
        .all(conn)
        .await?)
}

/// Whether a job of `kind` is queued or running.
pub async fn unfinished(conn: &impl ConnectionTrait, kind: &str) -> Result<bool, StoreError> {
    Ok(Entity::find()
        .filter(Column::Kind.eq(kind))
        .filter(Column::Status.is_in([QUEUED, RUNNING]))
        .count(conn)
        .await?
        > 0)
}

/// How far behind the workers are at `now`: jobs due and not started (queued past their time,
/// or running on an expired lease), when the oldest of them was due, and jobs running.
pub async fn lag(
    conn: &impl ConnectionTrait,
    now: DateTime<Utc>,
) -> Result<(u64, Option<DateTime<Utc>>, u64), StoreError> {
    let waiting = Entity::find().filter(due(now)).count(conn).await?;
    let oldest: Option<DateTime<Utc>> = if waiting == 0 {
        None
    } else {
        Entity::find()
            .filter(due(now))
            .order_by_asc(Column::RunAt)
            .one(conn)
            .await?
            .map(|j| j.run_at)
    };
    let running = Entity::find()
        .filter(Column::Status.eq(RUNNING))
        .filter(Column::LockedUntil.gte(now))
        .count(conn)
        .await?;
    Ok((waiting, oldest, running))
}

/// Deletes finished (done or failed) jobs that finished before `before`.
pub async fn purge_finished(
    conn: &impl ConnectionTrait,
    before: DateTime<Utc>,
) -> Result<u64, StoreError> {
    let result = Entity::delete_many()
        .filter(Column::Status.is_in([DONE, FAILED]))
        .filter(Column::FinishedAt.lt(before))
        .exec(conn)
        .await?;
    Ok(result.rows_affected)
}
