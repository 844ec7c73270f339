//! The application's background jobs on the worker: which kinds exist (each runs a use case
//! of [`crm_app::jobs`]) and which recur. `crm serve` starts this next to HTTP (unless
//! `CRM_RUN_WORKER=false`); `crm worker` runs it alone.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use chrono::NaiveTime;
use crm_app::Ctx;
use crm_app::jobs::PURGE_JOBS_JOB;
use crm_app::reminders::{GENERATE_JOB, GenerateSettings};
use crm_app::tier_policy::RETIER_JOB;
use crm_app::webhooks::DELIVER_JOB;
use crm_app::work_orders::SWEEP_JOB;
use serde_json::json;

use crate::Config;
use crate::worker::{self, JobHandler, Recurring, Schedule, WorkerHandle, WorkerOptions};

/// How this process runs background jobs.
#[derive(Debug, Clone)]
pub struct JobSettings {
    /// Time between looks for due jobs.
    pub poll: Duration,
    /// Jobs run at once.
    pub concurrency: usize,
    /// UTC time of day of the nightly re-tiering (and of the purge of finished jobs).
    pub retier_at: NaiveTime,
    /// Time between sweeps for late work orders.
    pub sla_sweep: Duration,
    /// Time between runs of the reminder generator.
    pub reminders: Duration,
    /// Days before a contract ends that renewal talks are reminded of.
    pub renewal_notice_days: i64,
}

impl JobSettings {
    /// The settings from the configuration.
    pub fn from_config(config: &Config) -> Self {
        Self {
            poll: Duration::from_millis(config.job_poll_ms),
            concurrency: config.job_concurrency,
            retier_at: config.retier_time().unwrap_or(NaiveTime::MIN),
            sla_sweep: Duration::from_secs(config.sla_sweep_seconds),
            reminders: Duration::from_secs(config.reminder_interval_seconds),
            renewal_notice_days: config.renewal_notice_days,
        }
    }
}

struct AppJobs {
    ctx: Ctx,
    settings: JobSettings,
}

impl JobHandler for AppJobs {
    fn run<'a>(
        &'a self,
        job: &'a crm_store::jobs::Model,
    ) -> Pin<Box<dyn Future<Output = Result<(), String>> + Send + 'a>> {
        Box::pin(async move {
            crm_app::jobs::run(&self.ctx, &job.kind, &job.payload)
                .await
                .map_err(|e| e.to_string())
        })
    }

    fn recurring(&self) -> Vec<Recurring> {
        vec![
            Recurring {
                kind: RETIER_JOB,
                schedule: Schedule::DailyAt(self.settings.retier_at),
                payload: json!({}),
                exclusive: false,
            },
            Recurring {
                kind: PURGE_JOBS_JOB,
                schedule: Schedule::DailyAt(self.settings.retier_at),
                payload: json!({}),
                exclusive: false,
            },
            Recurring {
                kind: SWEEP_JOB,
                schedule: Schedule::Every(self.settings.sla_sweep),
                payload: json!({}),
                exclusive: false,
            },
            Recurring {
                kind: DELIVER_JOB,
                schedule: Schedule::Every(self.ctx.webhooks.settings.interval),
                payload: json!({}),
                exclusive: true,
            },
            Recurring {
                kind: GENERATE_JOB,
                schedule: Schedule::Every(self.settings.reminders),
                payload: serde_json::to_value(GenerateSettings {
                    renewal_notice_days: self.settings.renewal_notice_days,
                })
                .unwrap_or_else(|_| json!({})),
                exclusive: false,
            },
        ]
    }
}

/// Starts the worker as configured, or nothing when `run_worker` is off.
pub fn start(ctx: &Ctx, config: &Config) -> Option<WorkerHandle> {
    config
        .run_worker
        .then(|| start_with(ctx, JobSettings::from_config(config)))
}

/// Starts the worker with `settings`.
pub fn start_with(ctx: &Ctx, settings: JobSettings) -> WorkerHandle {
    let options = WorkerOptions {
        poll_interval: settings.poll,
        concurrency: settings.concurrency,
        ..WorkerOptions::default()
    };
    let handler = Arc::new(AppJobs {
        ctx: ctx.clone(),
        settings,
    });
    worker::spawn(ctx.db.clone(), ctx.writes.clone(), handler, options)
}
