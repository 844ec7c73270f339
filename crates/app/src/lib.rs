//! The CRM's use cases: one async function per action, `(&Ctx, &Caller, input)`, each
//! checking who may act and what they may see, applying the domain rules, and writing the
//! rows, the audit entry and the outbox event in one transaction. The HTTP API, the command
//! line and the background jobs all call these; none of them writes past the rules.
//!
//! Every use case checks in the same order, so that a caller learns nothing about records
//! it may not see: the role or key may ever take this action (403) → the record is visible
//! (404) → this caller may make this change to it (403) → `If-Match` (428/412) → the input
//! (400/413/415/422) → the rules (409/422).

pub mod accounts;
pub mod activities;
pub mod api_keys;
pub mod assignment_rules;
pub mod attachments;
pub mod auth;
pub mod check;
pub mod contacts;
pub mod context;
pub mod contracts;
pub mod customers;
pub mod error;
pub mod events;
pub mod input;
pub mod jobs;
pub mod journal;
pub mod leads;
pub mod me;
pub mod opportunities;
pub mod page;
pub mod reminders;
pub mod reports;
pub mod retention;
pub mod service_policy;
pub mod sessions;
pub mod tags;
pub mod tier_policy;
pub mod users;
pub mod webhooks;
pub mod work_orders;

pub use context::Ctx;
pub use crm_domain::access::{Action, Caller};
pub use error::{AppError, ErrorCode, FieldError};
pub use input::{IfMatch, Input};

/// Refuses with 403 unless `caller` may ever take `action`, whatever the record: the role
/// policy for people, the key's scopes for integrators.
pub fn require(caller: &Caller, action: Action) -> Result<(), AppError> {
    if caller.may(action) {
        return Ok(());
    }
    Err(AppError::Forbidden(match caller {
        Caller::Integrator { .. } => "This API key's scopes do not allow this action.",
        _ => "Your role may not perform this action.",
    }))
}
