//! The jobs table and the worker, on both databases: claims under a lease, retries with
//! backoff, recurring occurrences scheduled once, and each job run once by competing
//! workers with pools of their own (two server copies on one database).

use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::{TimeDelta, Utc};
use crm_server::worker::{self, JobHandler, Recurring, Schedule, WorkerOptions};
use crm_store::jobs::{self, NewJob};
use crm_tests::TestDb;
use serde_json::json;
use uuid::Uuid;

const LEASE: Duration = Duration::from_secs(60);

#[tokio::test]
async fn claims_retries_and_gives_up() {
    let test_db = TestDb::migrated().await;
    let db = &test_db.db;
    let now = Utc::now();
    let later = NewJob {
        run_at: now + TimeDelta::minutes(5),
        ..NewJob::now("later", json!({}))
    };
    jobs::enqueue(db, later).await.unwrap();
    assert!(
        jobs::claim(db, "a", LEASE, now).await.unwrap().is_none(),
        "not due yet"
    );

    let id = jobs::enqueue(
        db,
        NewJob {
            max_attempts: 2,
            ..NewJob::now("flaky", json!({"n": 1}))
        },
    )
    .await
    .unwrap();
    let job = jobs::claim(db, "a", LEASE, Utc::now())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (job.id, job.attempts, job.status.as_str()),
        (id, 1, "running")
    );
    assert!(
        jobs::claim(db, "b", LEASE, Utc::now())
            .await
            .unwrap()
            .is_none(),
        "held by a"
    );
    // Only the holder records the outcome.
    assert!(!jobs::fail(db, &job, "b", "boom", Utc::now()).await.unwrap());
    assert!(jobs::fail(db, &job, "a", "boom", Utc::now()).await.unwrap());
    let queued = jobs::get(db, id).await.unwrap().unwrap();
    assert_eq!(queued.status, "queued");
    assert_eq!(queued.last_error.as_deref(), Some("boom"));
    assert!(
        queued.run_at >= Utc::now() + TimeDelta::seconds(1),
        "backed off"
    );
    assert!(
        jobs::claim(db, "a", LEASE, Utc::now())
            .await
            .unwrap()
            .is_none()
    );

    // Due again after the backoff: the second failure is the last.
    let retry = jobs::claim(db, "b", LEASE, Utc::now() + TimeDelta::seconds(10))
        .await
        .unwrap()
        .unwrap();
    assert_eq!((retry.id, retry.attempts), (id, 2));
    assert!(
        jobs::fail(db, &retry, "b", "boom again", Utc::now())
            .await
            .unwrap()
    );
    let failed = jobs::get(db, id).await.unwrap().unwrap();
    assert_eq!(failed.status, "failed");
    assert!(failed.finished_at.is_some());
    assert!(
        jobs::claim(db, "a", LEASE, Utc::now() + TimeDelta::hours(2))
            .await
            .unwrap()
            .is_some_and(|j| j.kind == "later"),
        "only the job not yet run is left"
    );
}

#[tokio::test]
async fn an_expired_lease_lets_another_worker_take_the_job() {
    let test_db = TestDb::migrated().await;
    let db = &test_db.db;
    let id = jobs::enqueue(db, NewJob::now("slow", json!({})))
        .await
        .unwrap();
    let first = jobs::claim(db, "crashed", Duration::from_secs(30), Utc::now())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(first.id, id);
    assert!(
        jobs::claim(db, "b", LEASE, Utc::now())
            .await
            .unwrap()
            .is_none()
    );
    let taken = jobs::claim(db, "b", LEASE, Utc::now() + TimeDelta::seconds(31))
        .await
        .unwrap()
        .unwrap();
    assert_eq!((taken.id, taken.attempts), (id, 2));
    assert!(
        !jobs::complete(db, id, "crashed").await.unwrap(),
        "the old holder lost it"
    );
    assert!(jobs::complete(db, id, "b").await.unwrap());
    assert_eq!(jobs::get(db, id).await.unwrap().unwrap().status, "done");
}

#[tokio::test]
async fn an_occurrence_is_enqueued_once() {
    let test_db = TestDb::migrated().await;
    let job = || NewJob {
        dedupe_key: Some("nightly:2026-11-23".to_owned()),
        ..NewJob::now("nightly", json!({}))
    };
    assert!(jobs::enqueue_unique(&test_db.db, job()).await.unwrap());
    assert!(!jobs::enqueue_unique(&test_db.db, job()).await.unwrap());
    assert_eq!(
        jobs::of_kind(&test_db.db, "nightly").await.unwrap().len(),
        1
    );
}

/// Records which worker ran which job, and how often.
struct Recorder {
    name: &'static str,
    runs: Arc<Mutex<HashMap<Uuid, Vec<&'static str>>>>,
    recurring: Vec<Recurring>,
}

impl JobHandler for Recorder {
    fn run<'a>(
        &'a self,
        job: &'a jobs::Model,
    ) -> Pin<Box<dyn Future<Output = Result<(), String>> + Send + 'a>> {
        Box::pin(async move {
            tokio::time::sleep(Duration::from_millis(5)).await;
            self.runs
                .lock()
                .unwrap()
                .entry(job.id)
                .or_default()
                .push(self.name);
            Ok(())
        })
    }

    fn recurring(&self) -> Vec<Recurring> {
        self.recurring.clone()
    }
}

fn options() -> WorkerOptions {
    WorkerOptions {
        poll_interval: Duration::from_millis(20),
        concurrency: 3,
        ..WorkerOptions::default()
    }
}

#[tokio::test]
async fn two_copies_run_each_job_once() {
    let test_db = TestDb::migrated().await;
    let runs = Arc::new(Mutex::new(HashMap::new()));
    let mut ids = Vec::new();
    for n in 0..60 {
        ids.push(
            jobs::enqueue(&test_db.db, NewJob::now("count", json!({"n": n})))
                .await
                .unwrap(),
        );
    }
    let every = Schedule::Every(Duration::from_millis(400));
    let mut workers = Vec::new();
    for name in ["one", "two"] {
        let copy = TestDb::attach(&test_db).await;
        let handler = Arc::new(Recorder {
            name,
            runs: Arc::clone(&runs),
            recurring: vec![Recurring {
                payload: serde_json::json!({}),
                kind: "tick",
                schedule: every,
                exclusive: false,
            }],
        });
        let writes = crm_store::WriteQueue::for_database(&copy.db);
        let handle = worker::spawn(copy.db.clone(), writes, handler, options());
        workers.push((copy, handle));
    }
    for _ in 0..400 {
        let done = {
            let runs = runs.lock().unwrap();
            ids.iter().all(|id| runs.contains_key(id))
        };
        if done {
            break;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    // Let the recurring job come round a few times.
    tokio::time::sleep(Duration::from_millis(1300)).await;
    for (_, handle) in workers {
        handle.shutdown().await;
    }
    let runs = runs.lock().unwrap().clone();
    for id in &ids {
        assert_eq!(
            runs.get(id).map(Vec::len),
            Some(1),
            "job {id} ran {:?}",
            runs.get(id)
        );
    }
    let by: Vec<&str> = ids.iter().flat_map(|id| runs[id].clone()).collect();
    assert!(
        by.contains(&"one") && by.contains(&"two"),
        "both copies worked: {by:?}"
    );
    let ticks = jobs::of_kind(&test_db.db, "tick").await.unwrap();
    assert!(ticks.len() >= 2, "occurrences: {}", ticks.len());
    let mut keys: Vec<_> = ticks.iter().map(|t| t.dedupe_key.clone()).collect();
    keys.sort();
    keys.dedup();
    assert_eq!(keys.len(), ticks.len(), "each occurrence once");
    for tick in &ticks {
        if tick.status == "done" {
            assert_eq!(runs.get(&tick.id).map(Vec::len), Some(1));
        }
    }
}
