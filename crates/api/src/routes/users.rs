//! Accounts: admins create, change and deactivate them; managers may read them (to pick
//! owners); `inactive_days` lists accounts for the periodic account audit.

use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse, get, patch, post, web};
use chrono::{DateTime, Duration, Utc};
use crm_domain::access::{Action, Role};
use crm_domain::account::{Username, check_new_password};
use crm_store::{begin_write, refresh_tokens, users};
use serde::{Deserialize, Deserializer, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;
use validator::Validate;

use crate::AppState;
use crate::auth::Principal;
use crate::concurrency::{etag, if_match};
use crate::error::{ApiError, FieldError};
use crate::extract::Json;
use crate::pagination::{PageQuery, next_cursor};

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
    #[schema(example = "li.wei", pattern = r"^\s*[A-Za-z][A-Za-z0-9._-]{2,31}\s*$")]
    pub username: String,
    /// Name shown to people, 1–100 characters.
    #[validate(length(min = 1, max = 100, message = "must be 1 to 100 characters long"))]
    #[schema(example = "李伟")]
    pub display_name: String,
    /// Email address.
    #[validate(email(message = "must be a valid email address"), length(max = 254))]
    pub email: Option<String>,
    /// Role.
    pub role: Role,
    /// Province code (GB/T 2260).
    pub region: Option<String>,
    /// Team name, up to 100 characters.
    #[validate(length(max = 100, message = "must be at most 100 characters long"))]
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
    #[schema(value_type = Option<String>)]
    pub display_name: Option<Option<String>>,
    /// New email, or `null` to clear.
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>)]
    pub email: Option<Option<String>>,
    /// New role. Ends the user's sessions.
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<Role>)]
    pub role: Option<Option<Role>>,
    /// New province code, or `null` to clear.
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>)]
    pub region: Option<Option<String>>,
    /// New team, or `null` to clear.
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>)]
    pub team: Option<Option<String>>,
    /// `false` deactivates the account and ends its sessions at once; `true` reactivates it.
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<bool>)]
    pub active: Option<Option<bool>>,
    /// A new password set by an administrator. Ends the user's sessions.
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>, format = Password)]
    pub password: Option<Option<String>>,
}

/// Distinguishes a field sent as `null` (`Some(None)`) from an absent one (`None`).
pub fn present<'de, T: Deserialize<'de>, D: Deserializer<'de>>(
    de: D,
) -> Result<Option<Option<T>>, D::Error> {
    Option::<T>::deserialize(de).map(Some)
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
        Err(e) => match ApiError::from(e) {
            ApiError::Validation(list) => list,
            _ => Vec::new(),
        },
    }
}

fn trimmed(s: Option<String>) -> Option<String> {
    s.map(|s| s.trim().to_owned()).filter(|s| !s.is_empty())
}

fn user_response(status: actix_web::http::StatusCode, user: users::Model) -> HttpResponse {
    let mut builder = HttpResponse::build(status);
    builder.insert_header((header::ETAG, etag(user.version)));
    if status == actix_web::http::StatusCode::CREATED {
        builder.insert_header((header::LOCATION, format!("/api/v1/users/{}", user.id)));
    }
    builder.json(User::from(user))
}

/// Lists accounts, oldest first. Admins and managers only.
#[utoipa::path(
    operation_id = "list_users",
    tag = "users",
    params(UserQuery),
    responses(
        (status = 200, description = "A page of accounts.", body = UserList),
        (status = 401, description = "Not signed in."),
        (status = 403, description = "Only admins and managers may list accounts."),
    ),
    security(("bearer" = [])),
)]
#[get("/users")]
pub async fn list_users(
    state: web::Data<AppState>,
    principal: Principal,
    query: web::Query<UserQuery>,
) -> Result<HttpResponse, ApiError> {
    principal.require(Action::ReadUsers)?;
    let query = query.into_inner();
    let page = PageQuery {
        limit: query.limit,
        cursor: query.cursor,
    };
    let limit = page.limit()?;
    let filter = users::UserFilter {
        role: query.role.map(|r| r.as_str().to_owned()),
        active: query.active,
        not_logged_in_since: query
            .inactive_days
            .map(|d| Utc::now() - Duration::days(i64::from(d))),
    };
    let rows = users::list(&state.db, &filter, page.after_id()?, limit).await?;
    let next = next_cursor(rows.last().map(|u| u.id), rows.len(), limit);
    Ok(HttpResponse::Ok().json(UserList {
        items: rows.into_iter().map(User::from).collect(),
        next_cursor: next,
    }))
}

/// Creates an account. Admins only.
#[utoipa::path(
    operation_id = "create_user",
    tag = "users",
    request_body = CreateUser,
    responses(
        (status = 201, description = "Created; `Location` names it.", body = User),
        (status = 403, description = "Only admins may create accounts."),
        (status = 409, description = "The username is taken; `existing_id` names the account."),
        (status = 422, description = "Invalid fields, all listed."),
    ),
    security(("bearer" = [])),
)]
#[post("/users")]
pub async fn create_user(
    state: web::Data<AppState>,
    principal: Principal,
    body: Json<CreateUser>,
) -> Result<HttpResponse, ApiError> {
    principal.require(Action::ManageUsers)?;
    let body = body.into_inner();
    let mut errors = validation_errors(body.validate());
    let username = Username::parse(&body.username)
        .map_err(|msg| errors.push(FieldError::new("username", "invalid_format", msg)))
        .ok();
    if body.display_name.trim().is_empty() && !errors.iter().any(|e| e.field == "display_name") {
        errors.push(FieldError::new(
            "display_name",
            "required",
            "must not be blank",
        ));
    }
    region_error(body.region.as_deref(), "region", &mut errors);
    if let Err(msg) = check_new_password(
        &body.password,
        username.as_ref().map_or("", Username::as_str),
    ) {
        errors.push(FieldError::new("password", "weak_password", msg));
    }
    ApiError::unless_invalid(errors)?;
    let Some(username) = username else {
        return Err(ApiError::internal("username parsed"));
    };
    if let Some(existing) = users::find_by_username(&state.db, username.as_str()).await? {
        return Err(ApiError::Conflict {
            detail: "An account with this username already exists.".to_owned(),
            existing_id: Some(existing.id),
        });
    }
    let password_hash = state.auth.hash_password(body.password).await?;
    let created = users::insert(
        &state.db,
        users::NewUser {
            username: username.as_str().to_owned(),
            display_name: body.display_name.trim().to_owned(),
            email: trimmed(body.email),
            role: body.role.as_str().to_owned(),
            region: trimmed(body.region),
            team: trimmed(body.team),
            password_hash,
        },
    )
    .await?;
    tracing::info!(user_id = %created.id, actor = %principal.id, "account created");
    Ok(user_response(actix_web::http::StatusCode::CREATED, created))
}

/// One account. Admins and managers only.
#[utoipa::path(
    operation_id = "get_user",
    tag = "users",
    params(("id" = Uuid, Path, description = "Account id")),
    responses(
        (status = 200, description = "The account; `ETag` carries its version.", body = User),
        (status = 403, description = "Only admins and managers may read accounts."),
        (status = 404, description = "No such account."),
    ),
    security(("bearer" = [])),
)]
#[get("/users/{id}")]
pub async fn get_user(
    state: web::Data<AppState>,
    principal: Principal,
    id: web::Path<Uuid>,
) -> Result<HttpResponse, ApiError> {
    principal.require(Action::ReadUsers)?;
    let user = users::find(&state.db, id.into_inner())
        .await?
        .ok_or(ApiError::NotFound)?;
    Ok(user_response(actix_web::http::StatusCode::OK, user))
}

/// Changes an account (merge patch). Admins only. Deactivation, a role change or a new
/// password ends the user's sessions at once. Honours `If-Match` (412 when stale). The last
/// active admin cannot be deactivated or demoted.
#[utoipa::path(
    operation_id = "update_user",
    tag = "users",
    params(
        ("id" = Uuid, Path, description = "Account id"),
        ("If-Match" = Option<String>, Header, description = "The `ETag` last read; the change is refused with 412 if the account changed since."),
    ),
    request_body(content = UpdateUser, content_type = "application/merge-patch+json"),
    responses(
        (status = 200, description = "The changed account.", body = User),
        (status = 403, description = "Only admins may change accounts."),
        (status = 404, description = "No such account."),
        (status = 409, description = "The change would leave no active admin."),
        (status = 412, description = "The account changed since the `If-Match` version."),
        (status = 422, description = "Invalid fields, all listed."),
    ),
    security(("bearer" = [])),
)]
#[patch("/users/{id}")]
pub async fn update_user(
    req: HttpRequest,
    state: web::Data<AppState>,
    principal: Principal,
    id: web::Path<Uuid>,
    body: Json<UpdateUser>,
) -> Result<HttpResponse, ApiError> {
    principal.require(Action::ManageUsers)?;
    let expected = if_match(&req)?;
    let patch = body.into_inner();
    let current = users::find(&state.db, id.into_inner())
        .await?
        .ok_or(ApiError::NotFound)?;
    if expected.is_some_and(|v| v != current.version) {
        return Err(ApiError::PreconditionFailed);
    }

    let mut errors = Vec::new();
    let mut changes = users::UserChanges::default();
    match patch.display_name {
        Some(Some(name)) if (1..=100).contains(&name.trim().chars().count()) => {
            changes.display_name = Some(name.trim().to_owned());
        }
        Some(Some(_)) => errors.push(FieldError::new(
            "display_name",
            "length",
            "must be 1 to 100 characters long",
        )),
        Some(None) => errors.push(FieldError::new(
            "display_name",
            "required",
            "cannot be cleared",
        )),
        None => {}
    }
    if let Some(email) = patch.email {
        let email = trimmed(email);
        if email
            .as_deref()
            .is_some_and(|e| !validator::ValidateEmail::validate_email(&e) || e.len() > 254)
        {
            errors.push(FieldError::new(
                "email",
                "email",
                "must be a valid email address",
            ));
        }
        changes.email = Some(email);
    }
    match patch.role {
        Some(Some(role)) if role.as_str() != current.role => {
            changes.role = Some(role.as_str().to_owned());
            changes.revoke_tokens = true;
        }
        Some(None) => errors.push(FieldError::new("role", "required", "cannot be cleared")),
        _ => {}
    }
    if let Some(region) = patch.region {
        let region = trimmed(region);
        region_error(region.as_deref(), "region", &mut errors);
        changes.region = Some(region);
    }
    if let Some(team) = patch.team {
        let team = trimmed(team);
        if team.as_ref().is_some_and(|t| t.chars().count() > 100) {
            errors.push(FieldError::new(
                "team",
                "length",
                "must be at most 100 characters long",
            ));
        }
        changes.team = Some(team);
    }
    match patch.active {
        Some(Some(active)) if active != current.active => {
            changes.active = Some(active);
            changes.revoke_tokens |= !active;
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
    ApiError::unless_invalid(errors)?;

    let loses_admin = current.role == "admin"
        && current.active
        && (changes.role.is_some() || changes.active == Some(false));
    if let Some(password) = new_password {
        changes.password_hash = Some(state.auth.hash_password(password).await?);
        changes.revoke_tokens = true;
    }
    let revoke = changes.revoke_tokens;
    let tx = begin_write(&state.db).await?;
    if loses_admin && crm_store::users::count_other_active_admins(&tx, current.id).await? == 0 {
        return Err(ApiError::Conflict {
            detail: "This is the last active admin; make another admin first.".to_owned(),
            existing_id: None,
        });
    }
    let updated = users::update(
        &tx,
        &current,
        Some(expected.unwrap_or(current.version)),
        changes,
    )
    .await?
    .ok_or(ApiError::PreconditionFailed)?;
    if revoke {
        refresh_tokens::revoke_user(&tx, current.id, Utc::now()).await?;
    }
    tx.commit().await.map_err(crm_store::StoreError::from)?;
    tracing::info!(user_id = %updated.id, actor = %principal.id, sessions_ended = revoke, "account changed");
    Ok(user_response(actix_web::http::StatusCode::OK, updated))
}
