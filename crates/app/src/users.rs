//! Accounts: admins create, change and deactivate them; managers may read them (to pick
//! owners); `inactive_days` lists accounts for the periodic account audit. Every change is in
//! the audit log under the account (never with a password or its hash).

use chrono::{DateTime, Duration, Utc};
use crm_domain::access::{Action, Caller, Role};
use crm_domain::account::{Username, check_new_password};
use crm_domain::audit::{AuditAction, EntityType};
use crm_domain::rule::RuleViolation;
use crm_store::{refresh_tokens, users};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;
use validator::Validate;

use crate::check::{Checker, present};
use crate::error::{AppError, FieldError};
use crate::input::{IfMatch, Input};
use crate::journal::{Journal, changes};
use crate::page::PageQuery;
use crate::{Ctx, require};

const USER: EntityType = EntityType::User;
/// Fields of the account view that every change touches.
const VOLATILE: [&str; 5] = ["id", "version", "updated_at", "created_at", "last_login_at"];

/// An account.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct User {
    /// Account id.
    pub id: Uuid,
    /// Login name: lower-case letters, digits, `.`, `_`, `-`.
    #[schema(example = "li.wei")]
    pub username: String,
    /// Name shown to people.
    #[schema(example = "李伟")]
    pub display_name: String,
    /// Email address.
    pub email: Option<String>,
    /// Role.
    pub role: Role,
    /// Province code (GB/T 2260) the user works in.
    #[schema(example = "44")]
    pub region: Option<String>,
    /// Team name.
    pub team: Option<String>,
    /// Whether the account may sign in.
    pub active: bool,
    /// Last successful sign-in.
    pub last_login_at: Option<DateTime<Utc>>,
    /// When the account was created.
    pub created_at: DateTime<Utc>,
    /// When the account last changed.
    pub updated_at: DateTime<Utc>,
    /// Version for `If-Match`; also sent as the `ETag`.
    pub version: i32,
}

impl From<users::Model> for User {
    fn from(m: users::Model) -> Self {
        Self {
            id: m.id,
            username: m.username,
            display_name: m.display_name,
            email: m.email,
            role: Role::parse(&m.role).unwrap_or(Role::Sales),
            region: m.region,
            team: m.team,
            active: m.active,
            last_login_at: m.last_login_at,
            created_at: m.created_at,
            updated_at: m.updated_at,
            version: m.version,
        }
    }
}

/// A page of accounts.
#[derive(Debug, Serialize, ToSchema)]
pub struct UserList {
    /// The accounts, oldest first.
    pub items: Vec<User>,
    /// Cursor of the next page; `null` on the last page.
    pub next_cursor: Option<String>,
}

/// A new account.
#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateUser {
    /// Login name: 3–32 characters, a letter first, then letters, digits, `.`, `_`, `-`.
    /// Stored lower-case.
    #[schema(
        example = "li.wei",
        pattern = r"^[\t\n\u000B\u000C\r \u0085\u00A0\u1680\u2000-\u200A\u2028\u2029\u202F\u205F\u3000]*[A-Za-z][A-Za-z0-9._-]{2,31}[\t\n\u000B\u000C\r \u0085\u00A0\u1680\u2000-\u200A\u2028\u2029\u202F\u205F\u3000]*$",
        max_length = 64
    )]
    pub username: String,
    /// Name shown to people, 1–100 characters.
    #[schema(example = "李伟", min_length = 1, max_length = 100)]
    pub display_name: String,
    /// Email address.
    #[schema(format = Email, max_length = 254)]
    pub email: Option<String>,
    /// Role.
    pub role: Role,
    /// Province code (GB/T 2260).
    #[schema(pattern = r"^([0-9]{2})?$", max_length = 2)]
    pub region: Option<String>,
    /// Team name, up to 100 characters.
    #[schema(max_length = 100)]
    pub team: Option<String>,
    /// Initial password: at least 10 characters, not containing the username.
    #[schema(format = Password, min_length = 10, max_length = 256)]
    pub password: String,
}

/// Changes to an account, as a JSON merge patch: absent fields stay, `null` clears.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateUser {
    /// New display name.
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = String, required = false, min_length = 1, max_length = 100)]
    pub display_name: Option<Option<String>>,
    /// New email, or `null` to clear.
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>, format = Email, max_length = 254)]
    pub email: Option<Option<String>>,
    /// New role. Ends the user's sessions.
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Role, required = false)]
    pub role: Option<Option<Role>>,
    /// New province code, or `null` to clear.
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>, pattern = r"^([0-9]{2})?$", max_length = 2)]
    pub region: Option<Option<String>>,
    /// New team, or `null` to clear.
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>, max_length = 100)]
    pub team: Option<Option<String>>,
    /// `false` deactivates the account and ends its sessions at once; `true` reactivates it.
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = bool, required = false)]
    pub active: Option<Option<bool>>,
    /// A new password set by an administrator. Ends the user's sessions.
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = String, required = false, format = Password, min_length = 10, max_length = 256)]
    pub password: Option<Option<String>>,
}

/// Filters of the account list.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct UserQuery {
    /// Only accounts with this role.
    pub role: Option<Role>,
    /// Only active (`true`) or deactivated (`false`) accounts.
    pub active: Option<bool>,
    /// Only accounts that have not signed in for this many days (or never have).
    #[param(minimum = 0, maximum = 36500)]
    pub inactive_days: Option<u32>,
    /// Items per page, 1–200.
    #[param(minimum = 1, maximum = 200, default = 50)]
    pub limit: Option<u64>,
    /// `next_cursor` of the previous page.
    pub cursor: Option<String>,
}

fn region_error(region: Option<&str>, field: &str, errors: &mut Vec<FieldError>) {
    if let Some(Err(message)) = region.map(crm_domain::customer::check_region) {
        errors.push(FieldError::new(field, "unknown_code", message));
    }
}

fn validation_errors(result: Result<(), validator::ValidationErrors>) -> Vec<FieldError> {
    match result {
        Ok(()) => Vec::new(),
        Err(e) => match AppError::from(e) {
            AppError::Validation(list) => list,
            _ => Vec::new(),
        },
    }
}

fn trimmed(s: Option<String>) -> Option<String> {
    s.map(|s| s.trim().to_owned()).filter(|s| !s.is_empty())
}

/// Accounts, oldest first. Admins and managers only.
pub async fn list(
    ctx: &Ctx,
    caller: &Caller,
    query: Input<UserQuery>,
) -> Result<UserList, AppError> {
    require(caller, Action::ReadUsers)?;
    let query = query.take()?;
    let page = PageQuery {
        limit: query.limit,
        cursor: query.cursor,
    }
    .page()?;
    if query.inactive_days.is_some_and(|d| d > 36_500) {
        return Err(crate::page::invalid(
            "inactive_days",
            "must be at most 36500 (a hundred years)",
        ));
    }
    let filter = users::UserFilter {
        role: query.role.map(|r| r.as_str().to_owned()),
        active: query.active,
        not_logged_in_since: query
            .inactive_days
            .map(|d| Utc::now() - Duration::days(i64::from(d))),
    };
    let rows = users::list(&ctx.db, &filter, page.after, page.limit).await?;
    let next = page.next_cursor(rows.last().map(|u| u.id), rows.len());
    Ok(UserList {
        items: rows.into_iter().map(User::from).collect(),
        next_cursor: next,
    })
}

/// Creates an account. Admins only (and the command line).
pub async fn create(ctx: &Ctx, caller: &Caller, body: Input<CreateUser>) -> Result<User, AppError> {
    require(caller, Action::ManageUsers)?;
    let body = body.take()?;
    let mut errors = validation_errors(body.validate());
    // White space around the name is trimmed; what is sent is at most 64 characters, as
    // the document says.
    let parsed = if body.username.chars().count() <= 64 {
        Username::parse(&body.username)
    } else {
        Err("must be 3 to 32 characters long")
    };
    let username = parsed
        .map_err(|msg| errors.push(FieldError::new("username", "invalid_format", msg)))
        .ok();
    let mut c = Checker::default();
    let email = c.email("email", body.email.clone());
    let display_name = c.text("display_name", &body.display_name, 1, 100);
    let team = c.opt_text("team", body.team.clone(), 100);
    errors.extend(c.errors);
    region_error(body.region.as_deref(), "region", &mut errors);
    if let Err(msg) = check_new_password(
        &body.password,
        username.as_ref().map_or("", Username::as_str),
    ) {
        errors.push(FieldError::new("password", "weak_password", msg));
    }
    AppError::unless_invalid(errors)?;
    let Some(username) = username else {
        return Err(AppError::internal("username parsed"));
    };
    if let Some(existing) = users::find_by_username(&ctx.db, username.as_str()).await? {
        return Err(RuleViolation::DuplicateUsername {
            existing_id: Some(existing.id),
        }
        .into());
    }
    let password_hash = ctx.auth.hash_password(body.password).await?;
    let tx = ctx.begin().await?;
    let created = users::insert(
        &tx,
        users::NewUser {
            username: username.as_str().to_owned(),
            display_name,
            email,
            role: body.role.as_str().to_owned(),
            region: trimmed(body.region),
            team,
            password_hash,
        },
    )
    .await
    .map_err(|e| match e {
        crm_store::StoreError::UniqueViolation(_) => {
            RuleViolation::DuplicateUsername { existing_id: None }.into()
        }
        other => AppError::from(other),
    })?;
    let user = User::from(created);
    let mut journal = Journal::new();
    let shown = serde_json::to_value(&user).map_err(AppError::internal)?;
    let entry = Value::Object(changes(&json!({}), &shown, &VOLATILE));
    journal.record(USER, user.id, AuditAction::Created, entry, &user)?;
    journal.commit(tx, caller).await?;
    tracing::info!(user_id = %user.id, "account created");
    Ok(user)
}

/// One account. Admins and managers only.
pub async fn get(ctx: &Ctx, caller: &Caller, id: Uuid) -> Result<User, AppError> {
    require(caller, Action::ReadUsers)?;
    users::find(&ctx.db, id)
        .await?
        .map(User::from)
        .ok_or(AppError::NotFound)
}

/// Changes an account (merge patch). Admins only. Deactivation, a role change or a new
/// password ends the user's sessions at once. Honours `If-Match` (412 when stale). The last
/// active admin cannot be deactivated or demoted.
pub async fn update(
    ctx: &Ctx,
    caller: &Caller,
    id: Uuid,
    if_match: IfMatch,
    body: Input<UpdateUser>,
) -> Result<User, AppError> {
    require(caller, Action::ManageUsers)?;
    let current = users::find(&ctx.db, id).await?.ok_or(AppError::NotFound)?;
    if_match.check(current.version)?;
    let patch = body.take()?;
    let mut errors = Vec::new();
    let mut change = users::UserChanges::default();
    let mut c = Checker::default();
    match patch.display_name {
        Some(Some(name)) => change.display_name = Some(c.text("display_name", &name, 1, 100)),
        Some(None) => c.fail("display_name", "required", "cannot be cleared"),
        None => {}
    }
    if let Some(email) = patch.email {
        change.email = Some(c.email("email", email));
    }
    match patch.role {
        Some(Some(role)) if role.as_str() != current.role => {
            change.role = Some(role.as_str().to_owned());
            change.revoke_tokens = true;
        }
        Some(None) => errors.push(FieldError::new("role", "required", "cannot be cleared")),
        _ => {}
    }
    if let Some(region) = patch.region {
        let region = trimmed(region);
        region_error(region.as_deref(), "region", &mut errors);
        change.region = Some(region);
    }
    if let Some(team) = patch.team {
        change.team = Some(c.opt_text("team", team, 100));
    }
    errors.extend(c.errors);
    match patch.active {
        Some(Some(active)) if active != current.active => {
            change.active = Some(active);
            change.revoke_tokens |= !active;
        }
        Some(None) => errors.push(FieldError::new("active", "required", "cannot be cleared")),
        _ => {}
    }
    let mut new_password = None;
    match patch.password {
        Some(Some(password)) => match check_new_password(&password, &current.username) {
            Ok(()) => new_password = Some(password),
            Err(msg) => errors.push(FieldError::new("password", "weak_password", msg)),
        },
        Some(None) => errors.push(FieldError::new("password", "required", "cannot be cleared")),
        None => {}
    }
    AppError::unless_invalid(errors)?;

    let loses_admin = current.role == "admin"
        && current.active
        && (change.role.is_some() || change.active == Some(false));
    if let Some(password) = new_password {
        change.password_hash = Some(ctx.auth.hash_password(password).await?);
        change.revoke_tokens = true;
    }
    let revoke = change.revoke_tokens;
    let password_changed = change.password_hash.is_some();
    let tx = ctx.begin().await?;
    if loses_admin && users::count_other_active_admins(&tx, current.id).await? == 0 {
        return Err(RuleViolation::LastAdmin.into());
    }
    let updated = users::update(&tx, &current, Some(current.version), change)
        .await?
        .ok_or(RuleViolation::StaleVersion)?;
    if revoke {
        refresh_tokens::revoke_user(&tx, current.id, Utc::now()).await?;
    }
    let (before, after) = (User::from(current), User::from(updated));
    let mut diff = changes(&before, &after, &VOLATILE);
    if password_changed {
        diff.insert(
            "password".to_owned(),
            json!({"from": "[set]", "to": "[changed]"}),
        );
    }
    let action = if before.active && !after.active {
        AuditAction::Deactivated
    } else if !before.active && after.active {
        AuditAction::Reactivated
    } else if before.role != after.role {
        AuditAction::RoleChanged
    } else if password_changed && diff.len() == 1 {
        AuditAction::PasswordChanged
    } else {
        AuditAction::Updated
    };
    let mut journal = Journal::new();
    if !diff.is_empty() {
        journal.record(USER, after.id, action, Value::Object(diff), &after)?;
    }
    let _forget = ctx.accounts.forget_later(after.id);
    journal.commit(tx, caller).await?;
    tracing::info!(user_id = %after.id, sessions_ended = revoke, "account changed");
    Ok(after)
}
