//! What background jobs do: each kind of job is a use case run as the system. The server's
//! worker claims jobs and calls [`run`]; recurring ones are listed in [`recurring`].

use serde_json::Value;

use crate::Ctx;
use crate::error::AppError;
use crate::tier_policy::{RETIER_JOB, retier_all};

/// Runs one job of `kind` with `payload`.
pub async fn run(ctx: &Ctx, kind: &str, _payload: &Value) -> Result<(), AppError> {
    match kind {
        RETIER_JOB => retier_all(ctx).await.map(|_| ()),
        other => Err(AppError::internal(format!("unknown job kind `{other}`"))),
    }
}
