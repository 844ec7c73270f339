//! The background worker: claims due jobs from the jobs table and runs them, a few at a time,
//! under a lease it keeps extending while a job runs; schedules recurring jobs.
//!
//! Every server copy may run one. A job is claimed by exactly one copy (see
//! [`crm_store::jobs::claim`]); a copy that dies stops extending its lease and another copy
//! takes the job when the lease runs out. Each recurring occurrence is enqueued under a
//! unique key, so N copies schedule it once. Database errors are logged and retried on the
//! next tick: the worker never stops by itself.

use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, NaiveTime, TimeDelta, Utc};
use crm_store::jobs::{self, NewJob};
use crm_store::{Database, StoreError, WriteQueue};
use tokio::sync::{Semaphore, watch};
use tokio::task::JoinHandle;
use tracing::Instrument;

/// What the worker runs: one entry point for every kind of job, and the recurring ones.
pub trait JobHandler: Send + Sync + 'static {
    /// Runs `job`; an `Err` is retried with backoff until the job's attempts run out.
    fn run<'a>(
        &'a self,
        job: &'a jobs::Model,
    ) -> Pin<Box<dyn Future<Output = Result<(), String>> + Send + 'a>>;

    /// Jobs to enqueue on a schedule.
    fn recurring(&self) -> Vec<Recurring>;
}

/// A job enqueued on a schedule.
#[derive(Debug, Clone)]
pub struct Recurring {
    /// The job's kind.
    pub kind: &'static str,
    /// When it recurs.
    pub schedule: Schedule,
    /// What each occurrence is given.
    pub payload: serde_json::Value,
    /// Whether an occurrence waits until no job of this kind is queued or running, so that
    /// runs never pile up behind a long one and hold up other kinds.
    pub exclusive: bool,
}

/// When a recurring job recurs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Schedule {
    /// Every interval, aligned to the Unix epoch.
    Every(Duration),
    /// Once a day at this UTC time.
    DailyAt(NaiveTime),
}

impl Schedule {
    /// The latest occurrence at or before `now`: its unique key and its due time.
    pub fn occurrence(self, now: DateTime<Utc>) -> (String, DateTime<Utc>) {
        match self {
            Schedule::Every(every) => {
                let step = i64::try_from(every.as_millis()).unwrap_or(i64::MAX).max(1);
                let n = now.timestamp_millis().div_euclid(step);
                let at = DateTime::from_timestamp_millis(n.saturating_mul(step)).unwrap_or(now);
                (n.to_string(), at)
            }
            Schedule::DailyAt(time) => {
                let today = now.date_naive();
                let date = if now.time() >= time {
                    today
                } else {
                    today.pred_opt().unwrap_or(today)
                };
                (date.to_string(), date.and_time(time).and_utc())
            }
        }
    }
}

/// How a worker runs.
#[derive(Debug, Clone)]
pub struct WorkerOptions {
    /// Time between looks for due jobs.
    pub poll_interval: Duration,
    /// How long a claim holds before another copy may take the job; extended while it runs.
    pub lease: Duration,
    /// Jobs run at once.
    pub concurrency: usize,
    /// This worker's name in `locked_by`.
    pub worker_id: String,
    /// How long shutdown waits for running jobs.
    pub drain_timeout: Duration,
}

impl Default for WorkerOptions {
    fn default() -> Self {
        let host = std::env::var("HOSTNAME").unwrap_or_else(|_| "crm".to_owned());
        let tag = uuid::Uuid::new_v4().simple().to_string();
        Self {
            poll_interval: Duration::from_secs(1),
            lease: Duration::from_secs(300),
            concurrency: 2,
            worker_id: format!("{host}-{}-{}", std::process::id(), &tag[..8]),
            drain_timeout: Duration::from_secs(30),
        }
    }
}

/// A running worker.
pub struct WorkerHandle {
    stop: watch::Sender<bool>,
    task: JoinHandle<()>,
}

impl WorkerHandle {
    /// Stops claiming jobs and waits (up to the drain timeout) for running ones to finish.
    pub async fn shutdown(self) {
        let _ = self.stop.send(true);
        if let Err(e) = self.task.await {
            tracing::error!(error = %e, "background worker ended abnormally");
        }
    }
}

/// Starts a worker on `db` running `handler`'s jobs. Its own writes (claims, outcomes,
/// leases, schedules) take their turn in `writes` with the process's other writers.
pub fn spawn(
    db: Database,
    writes: WriteQueue,
    handler: Arc<dyn JobHandler>,
    options: WorkerOptions,
) -> WorkerHandle {
    let (stop, stopped) = watch::channel(false);
    let span = tracing::info_span!("worker", worker = %options.worker_id);
    let db = Db { db, writes };
    let task = tokio::spawn(run(db, handler, options, stopped).instrument(span));
    WorkerHandle { stop, task }
}

/// The database and this process's queue of writers to it.
#[derive(Clone)]
struct Db {
    db: Database,
    writes: WriteQueue,
}

impl Db {
    /// Runs `write` (one statement, or a transaction of its own) in this process's turn to
    /// write.
    async fn write<T>(
        &self,
        write: impl AsyncFnOnce(&Database) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        let _turn = self.writes.turn().await?;
        write(&self.db).await
    }
}

async fn run(
    db: Db,
    handler: Arc<dyn JobHandler>,
    options: WorkerOptions,
    mut stopped: watch::Receiver<bool>,
) {
    let concurrency = options.concurrency.max(1);
    let slots = Arc::new(Semaphore::new(concurrency));
    let recurring = handler.recurring();
    let mut scheduled: HashMap<&'static str, String> = HashMap::new();
    let mut tick = tokio::time::interval(options.poll_interval);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    tracing::info!(concurrency, "background worker started");
    loop {
        tokio::select! {
            _ = stopped.changed() => break,
            _ = tick.tick() => {}
        }
        schedule(&db, &recurring, &mut scheduled).await;
        while let Ok(slot) = Arc::clone(&slots).try_acquire_owned() {
            let claimed = db
                .write(async |db| {
                    jobs::claim(db, &options.worker_id, options.lease, Utc::now()).await
                })
                .await;
            match claimed {
                Ok(Some(job)) => {
                    let span = tracing::info_span!("job", job_id = %job.id, kind = %job.kind, attempt = job.attempts);
                    let (db, handler, options) =
                        (db.clone(), Arc::clone(&handler), options.clone());
                    tokio::spawn(
                        async move {
                            execute(&db, handler.as_ref(), &options, job).await;
                            drop(slot);
                        }
                        .instrument(span),
                    );
                }
                Ok(None) => break,
                Err(e) => {
                    tracing::warn!(error = %e, "could not claim a job; retrying on the next tick");
                    break;
                }
            }
        }
    }
    // Let running jobs finish: every slot free again means none is running.
    let all = u32::try_from(concurrency).unwrap_or(u32::MAX);
    match tokio::time::timeout(options.drain_timeout, slots.acquire_many(all)).await {
        Ok(_) => tracing::info!("background worker stopped"),
        Err(_) => tracing::warn!(
            "background worker stopped with jobs still running; their leases will expire and another copy will run them"
        ),
    }
}

/// Enqueues the current occurrence of every recurring job, once per occurrence per process.
async fn schedule(db: &Db, recurring: &[Recurring], scheduled: &mut HashMap<&'static str, String>) {
    for r in recurring {
        let (key, run_at) = r.schedule.occurrence(Utc::now());
        if scheduled.get(r.kind) == Some(&key) {
            continue;
        }
        if r.exclusive {
            match jobs::unfinished(&db.db, r.kind).await {
                Ok(false) => {}
                // Looked at again on the next tick.
                Ok(true) => continue,
                Err(e) => {
                    tracing::warn!(kind = r.kind, error = %e, "could not look for a running job");
                    continue;
                }
            }
        }
        let job = NewJob {
            run_at,
            dedupe_key: Some(format!("{}:{key}", r.kind)),
            ..NewJob::now(r.kind, r.payload.clone())
        };
        match db
            .write(async |db| jobs::enqueue_unique(db, job).await)
            .await
        {
            Ok(created) => {
                if created {
                    tracing::info!(kind = r.kind, occurrence = %key, "recurring job scheduled");
                }
                scheduled.insert(r.kind, key);
            }
            Err(e) => {
                tracing::warn!(kind = r.kind, error = %e, "could not schedule a recurring job")
            }
        }
    }
}

/// Extends `job`'s lease every third of it, for as long as it is polled.
async fn keep_lease(db: &Db, job: &jobs::Model, options: &WorkerOptions) {
    let mut heartbeat = tokio::time::interval(options.lease / 3);
    heartbeat.tick().await;
    loop {
        heartbeat.tick().await;
        let until =
            Utc::now() + TimeDelta::from_std(options.lease).unwrap_or(TimeDelta::minutes(5));
        let extended = db
            .write(async |db| jobs::extend_lease(db, job.id, &options.worker_id, until).await)
            .await;
        if let Err(e) = extended {
            tracing::warn!(error = %e, "could not extend a job's lease");
        }
    }
}

/// Runs one claimed job, extending its lease while it runs, and records the outcome.
async fn execute(db: &Db, handler: &dyn JobHandler, options: &WorkerOptions, job: jobs::Model) {
    let started = std::time::Instant::now();
    let run = handler.run(&job);
    tokio::pin!(run);
    // Both at once: the lease's renewal waits for its turn to write while the job may hold
    // that turn in a transaction of its own.
    let outcome = tokio::select! {
        result = &mut run => result,
        () = keep_lease(db, &job, options) => run.await,
    };
    let elapsed_ms = started.elapsed().as_millis();
    let outcome_label = match &outcome {
        Ok(()) => "done",
        Err(_) if job.attempts >= job.max_attempts => "failed",
        Err(_) => "retrying",
    };
    metrics::counter!("crm_jobs_total", "kind" => job.kind.clone(), "outcome" => outcome_label)
        .increment(1);
    metrics::histogram!("crm_job_duration_seconds", "kind" => job.kind.clone())
        .record(started.elapsed().as_secs_f64());
    let recorded = match &outcome {
        Ok(()) => {
            db.write(async |db| jobs::complete(db, job.id, &options.worker_id).await)
                .await
        }
        Err(error) => {
            db.write(async |db| jobs::fail(db, &job, &options.worker_id, error, Utc::now()).await)
                .await
        }
    };
    match (outcome, recorded) {
        (Ok(()), Ok(true)) => tracing::info!(elapsed_ms, "job done"),
        (Err(error), Ok(true)) if job.attempts >= job.max_attempts => {
            tracing::error!(elapsed_ms, error, "job failed for good")
        }
        (Err(error), Ok(true)) => {
            tracing::warn!(elapsed_ms, error, "job failed; it will be retried")
        }
        (_, Ok(false)) => tracing::warn!(
            elapsed_ms,
            "job outcome not recorded: its lease had passed to another worker"
        ),
        (_, Err(e)) => {
            tracing::error!(elapsed_ms, error = %e, "could not record a job's outcome; it will run again when its lease expires")
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn occurrences_are_stable_within_their_period() {
        let at = |s: &str| {
            DateTime::parse_from_rfc3339(s)
                .map(|d| d.with_timezone(&Utc))
                .ok()
        };
        let (Some(a), Some(b), Some(c)) = (
            at("2026-11-23T01:59:00Z"),
            at("2026-11-23T02:00:00Z"),
            at("2026-11-23T23:59:59Z"),
        ) else {
            panic!("dates parse");
        };
        let daily = Schedule::DailyAt(NaiveTime::from_hms_opt(2, 0, 0).unwrap_or(NaiveTime::MIN));
        assert_eq!(daily.occurrence(a).0, "2026-11-22");
        assert_eq!(daily.occurrence(b).0, "2026-11-23");
        assert_eq!(daily.occurrence(c), daily.occurrence(b));
        let every = Schedule::Every(Duration::from_secs(60));
        assert_eq!(
            every.occurrence(b).0,
            every.occurrence(b + TimeDelta::seconds(59)).0
        );
        assert_ne!(
            every.occurrence(b).0,
            every.occurrence(b + TimeDelta::seconds(60)).0
        );
    }

    #[test]
    fn backoff_doubles_up_to_an_hour() {
        assert_eq!(jobs::backoff(1), Duration::from_secs(2));
        assert_eq!(jobs::backoff(3), Duration::from_secs(8));
        assert_eq!(jobs::backoff(40), Duration::from_secs(3600));
    }
}
