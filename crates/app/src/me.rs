//! The signed-in user: their account, and changing their own password.

use chrono::Utc;
use crm_domain::access::{Action, Caller};
use crm_domain::account::check_new_password;
use crm_domain::audit::{AuditAction, EntityType};
use crm_domain::rule::RuleViolation;
use crm_store::{login_throttle, refresh_tokens, users};
use serde::Deserialize;
use serde_json::json;
use utoipa::ToSchema;

use crate::error::AppError;
use crate::input::Input;
use crate::journal::Journal;
use crate::sessions::{check_throttle, record_failure};
use crate::users::User;
use crate::{Ctx, require};

/// A password change.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ChangePassword {
    /// The current password.
    #[schema(format = Password, max_length = 256)]
    pub current_password: String,
    /// The new password: at least 10 characters, not containing the username.
    #[schema(format = Password, min_length = 10, max_length = 256)]
    pub new_password: String,
}

async fn account(ctx: &Ctx, caller: &Caller) -> Result<users::Model, AppError> {
    require(caller, Action::ManageOwnAccount)?;
    let id = caller.user_id().ok_or(AppError::Forbidden(
        "Only people with an account have one to show.",
    ))?;
    users::find(&ctx.db, id).await?.ok_or(AppError::NotFound)
}

/// The caller's own account.
pub async fn get(ctx: &Ctx, caller: &Caller) -> Result<User, AppError> {
    Ok(User::from(account(ctx, caller).await?))
}

/// Changes the caller's password. Every session of the user ends. Wrong current passwords
/// count towards the same throttle as failed logins.
pub async fn change_password(
    ctx: &Ctx,
    caller: &Caller,
    body: Input<ChangePassword>,
) -> Result<(), AppError> {
    let user = account(ctx, caller).await?;
    let ChangePassword {
        current_password,
        new_password,
    } = body.take()?;
    check_throttle(ctx, &user.username).await?;
    if !ctx
        .auth
        .verify_password(current_password, Some(user.password_hash.clone()))
        .await?
    {
        record_failure(ctx, &user.username).await?;
        return Err(AppError::invalid_field(
            "current_password",
            "incorrect",
            "is not your current password",
        ));
    }
    if let Err(msg) = check_new_password(&new_password, &user.username) {
        return Err(AppError::invalid_field(
            "new_password",
            "weak_password",
            msg,
        ));
    }
    let hash = ctx.auth.hash_password(new_password).await?;
    let changes = users::UserChanges {
        password_hash: Some(hash),
        revoke_tokens: true,
        ..Default::default()
    };
    let tx = ctx.begin().await?;
    let updated = users::update(&tx, &user, None, changes)
        .await?
        .ok_or(RuleViolation::StaleVersion)?;
    refresh_tokens::revoke_user(&tx, user.id, Utc::now()).await?;
    login_throttle::clear(&tx, &user.username).await?;
    let mut journal = Journal::new();
    journal.audit(
        EntityType::User,
        user.id,
        AuditAction::PasswordChanged,
        json!({"password": {"from": "[set]", "to": "[changed]"}}),
    );
    journal.event(
        EntityType::User,
        user.id,
        AuditAction::Updated,
        &User::from(updated),
    )?;
    let _forget = ctx.accounts.forget_later(user.id);
    journal.commit(tx, caller).await
}
