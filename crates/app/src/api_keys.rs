//! Integrator API keys: admins create them (the secret is shown once), list and revoke them.

use chrono::{DateTime, Utc};
use crm_domain::access::{Action, Caller, Scope};
use crm_domain::audit::{AuditAction, EntityType};
use crm_store::api_keys;
use serde::{Deserialize, Serialize};
use serde_json::json;
use utoipa::ToSchema;
use uuid::Uuid;

use crate::auth::{random_secret, sha256_hex};
use crate::error::{AppError, FieldError};
use crate::input::Input;
use crate::journal::Journal;
use crate::page::PageQuery;
use crate::{Ctx, require};

const API_KEY: EntityType = EntityType::ApiKey;

/// An integrator API key (without its secret).
#[derive(Debug, Serialize, ToSchema)]
pub struct ApiKey {
    /// Key id.
    pub id: Uuid,
    /// What the key is for, e.g. `官网表单` or `2026 广交会扫码枪`.
    pub name: String,
    /// The first characters of the secret, to tell keys apart.
    #[schema(example = "crm_k7Qb")]
    pub prefix: String,
    /// What the key may do.
    pub scopes: Vec<Scope>,
    /// When the key was created.
    pub created_at: DateTime<Utc>,
    /// When the key was last used (to the minute); `null` if never.
    pub last_used_at: Option<DateTime<Utc>>,
}

/// A newly created key, with its secret.
#[derive(Debug, Serialize, ToSchema)]
pub struct CreatedApiKey {
    /// The key.
    #[serde(flatten)]
    pub api_key: ApiKey,
    /// The secret to send as `X-API-Key`. Shown only in this response; it is stored hashed.
    pub key: String,
}

/// A page of keys.
#[derive(Debug, Serialize, ToSchema)]
pub struct ApiKeyList {
    /// The live keys, oldest first.
    pub items: Vec<ApiKey>,
    /// Cursor of the next page; `null` on the last page.
    pub next_cursor: Option<String>,
}

/// A new key.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateApiKey {
    /// What the key is for, 1–100 characters.
    #[schema(example = "官网表单", min_length = 1, max_length = 100)]
    pub name: String,
    /// What the key may do; at least one.
    #[schema(min_items = 1, max_items = 2)]
    pub scopes: Vec<Scope>,
}

impl From<api_keys::Model> for ApiKey {
    fn from(m: api_keys::Model) -> Self {
        Self {
            id: m.id,
            name: m.name,
            prefix: m.prefix,
            scopes: m
                .scopes
                .split_whitespace()
                .filter_map(Scope::parse)
                .collect(),
            created_at: m.created_at,
            last_used_at: m.last_used_at,
        }
    }
}

/// Live API keys, oldest first. Admins only.
pub async fn list(
    ctx: &Ctx,
    caller: &Caller,
    page: Input<PageQuery>,
) -> Result<ApiKeyList, AppError> {
    require(caller, Action::ManageApiKeys)?;
    let page = page.take()?.page()?;
    let rows = api_keys::list(&ctx.db, page.after, page.limit).await?;
    let next = page.next_cursor(rows.last().map(|k| k.id), rows.len());
    Ok(ApiKeyList {
        items: rows.into_iter().map(ApiKey::from).collect(),
        next_cursor: next,
    })
}

/// Creates an API key for an integrator. The answer is the only time the secret is shown.
pub async fn create(
    ctx: &Ctx,
    caller: &Caller,
    body: Input<CreateApiKey>,
) -> Result<CreatedApiKey, AppError> {
    require(caller, Action::ManageApiKeys)?;
    let CreateApiKey { name, mut scopes } = body.take()?;
    let mut c = crate::check::Checker::default();
    let name = c.text("name", &name, 1, 100);
    if scopes.len() > Scope::ALL.len() {
        c.fail("scopes", "too_many", "may name each scope once");
    }
    let mut errors = c.errors;
    scopes.sort();
    scopes.dedup();
    if scopes.is_empty() {
        errors.push(FieldError::new(
            "scopes",
            "required",
            "must name at least one scope",
        ));
    }
    AppError::unless_invalid(errors)?;
    let key = random_secret("crm_");
    let prefix: String = key.chars().take(8).collect();
    let scopes_text = scopes
        .iter()
        .map(|s| s.as_str())
        .collect::<Vec<_>>()
        .join(" ");
    let by = caller.user_id().ok_or(AppError::Forbidden(
        "API keys are created by an admin's account.",
    ))?;
    let tx = ctx.begin().await?;
    let created = api_keys::insert(&tx, name, prefix, sha256_hex(&key), scopes_text, by).await?;
    let shown = ApiKey::from(created);
    let mut journal = Journal::new();
    journal.record(
        API_KEY,
        shown.id,
        AuditAction::Created,
        json!({"name": {"from": null, "to": shown.name}, "scopes": {"from": null, "to": shown.scopes}}),
        &shown,
    )?;
    journal.commit(tx, caller).await?;
    tracing::info!(key_id = %shown.id, "API key created");
    Ok(CreatedApiKey {
        api_key: shown,
        key,
    })
}

/// Revokes an API key; it stops working at once.
pub async fn revoke(ctx: &Ctx, caller: &Caller, id: Uuid) -> Result<(), AppError> {
    require(caller, Action::ManageApiKeys)?;
    let tx = ctx.begin().await?;
    if !api_keys::revoke(&tx, id).await? {
        return Err(AppError::NotFound);
    }
    let mut journal = Journal::new();
    journal.record(
        API_KEY,
        id,
        AuditAction::Revoked,
        json!({"revoked": {"from": false, "to": true}}),
        &json!({"id": id}),
    )?;
    journal.commit(tx, caller).await?;
    tracing::info!(key_id = %id, "API key revoked");
    Ok(())
}
