//! What background jobs do: each kind of job is a use case run as the system. The server's
//! worker claims jobs and calls [`run`]; the server decides which recur and how often.

use chrono::{Duration, Utc};
use serde_json::Value;

use crate::Ctx;
use crate::error::AppError;
use crate::reminders::{GENERATE_JOB, GenerateSettings, generate};
use crate::tier_policy::{RETIER_JOB, retier_all};
use crate::webhooks::{DELIVER_JOB, deliver};
use crate::work_orders::{SWEEP_JOB, sweep};

/// The kind of the job that deletes finished jobs past [`KEEP_FINISHED_DAYS`].
pub const PURGE_JOBS_JOB: &str = "purge_finished_jobs";
/// Days a finished job stays in the jobs table for operators to look at.
pub const KEEP_FINISHED_DAYS: i64 = 7;

/// Runs one job of `kind` with `payload`.
pub async fn run(ctx: &Ctx, kind: &str, payload: &Value) -> Result<(), AppError> {
    match kind {
        GENERATE_JOB => {
            let settings: GenerateSettings =
                serde_json::from_value(payload.clone()).unwrap_or_default();
            generate(ctx, settings).await.map(|_| ())
        }
        RETIER_JOB => retier_all(ctx).await.map(|_| ()),
        SWEEP_JOB => sweep(ctx).await.map(|_| ()),
        DELIVER_JOB => deliver(ctx).await.map(|_| ()),
        PURGE_JOBS_JOB => {
            let before = Utc::now() - Duration::days(KEEP_FINISHED_DAYS);
            let tx = ctx.begin().await?;
            let purged = crm_store::jobs::purge_finished(&tx, before).await?;
            crate::context::commit(tx).await?;
            tracing::info!(purged, "finished jobs purged");
            Ok(())
        }
        other => Err(AppError::internal(format!("unknown job kind `{other}`"))),
    }
}
