//! The tag catalogue: names with usage counts over the customers the caller can see.
//! Anyone who may edit customers adds tags; managers rename, merge (by renaming onto an
//! existing name) and delete them. Catalogue changes are in the audit log under the tag.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, Utc};
use crm_domain::access::{Action, Caller};
use crm_domain::audit::{AuditAction, EntityType};
use crm_domain::rule::RuleViolation;
use crm_store::tags;
use serde::{Deserialize, Serialize};
use serde_json::json;
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use crate::check::Checker;
use crate::error::AppError;
use crate::input::Input;
use crate::journal::Journal;
use crate::page::{PageQuery, invalid};
use crate::{Ctx, require};

const TAG: EntityType = EntityType::Tag;

/// A tag with how many of the caller's visible, live customers carry it.
#[derive(Debug, Serialize, ToSchema)]
pub struct Tag {
    /// Tag id.
    pub id: Uuid,
    /// Name.
    #[schema(example = "高潜力客户")]
    pub name: String,
    /// Customers (that you can see) carrying it.
    pub usage_count: i64,
    /// When it was added.
    pub created_at: DateTime<Utc>,
}

impl From<tags::TagUsage> for Tag {
    fn from(t: tags::TagUsage) -> Self {
        Self {
            id: t.id,
            name: t.name,
            usage_count: t.usage_count,
            created_at: t.created_at,
        }
    }
}

/// A page of tags.
#[derive(Debug, Serialize, ToSchema)]
pub struct TagList {
    /// Tags by name.
    pub items: Vec<Tag>,
    /// Cursor of the next page; `null` on the last page.
    pub next_cursor: Option<String>,
}

/// A tag name.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TagName {
    /// 1–50 characters.
    #[schema(example = "投诉风险", min_length = 1, max_length = 50)]
    pub name: String,
}

/// Page of the tag list.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct TagQuery {
    /// Items per page, 1–200.
    #[param(minimum = 1, maximum = 200, default = 50)]
    pub limit: Option<u64>,
    /// `next_cursor` of the previous page.
    pub cursor: Option<String>,
}

fn check_name(raw: &str) -> Result<String, AppError> {
    let mut c = Checker::default();
    let name = c.text("name", raw, 1, 50);
    c.finish()?;
    Ok(name)
}

/// The catalogue by name, with usage counts over the customers the caller can see.
pub async fn list(ctx: &Ctx, caller: &Caller, query: Input<TagQuery>) -> Result<TagList, AppError> {
    require(caller, Action::ReadCustomers)?;
    let query = query.take()?;
    let limit = PageQuery {
        limit: query.limit,
        cursor: None,
    }
    .limit()?;
    let after = match &query.cursor {
        None => None,
        Some(raw) => Some(
            URL_SAFE_NO_PAD
                .decode(raw)
                .ok()
                .and_then(|b| String::from_utf8(b).ok())
                .filter(|name| !name.is_empty())
                .ok_or_else(|| invalid("cursor", "is not a cursor returned by this list"))?,
        ),
    };
    let rows = tags::list_with_usage(&ctx.db, caller.visibility(), after, limit).await?;
    let full = u64::try_from(rows.len()).unwrap_or(0) >= limit;
    let next = rows
        .last()
        .filter(|_| full)
        .map(|t| URL_SAFE_NO_PAD.encode(t.name.as_bytes()));
    Ok(TagList {
        items: rows.into_iter().map(Tag::from).collect(),
        next_cursor: next,
    })
}

/// Adds a tag to the catalogue.
pub async fn create(ctx: &Ctx, caller: &Caller, body: Input<TagName>) -> Result<Tag, AppError> {
    require(caller, Action::CreateTag)?;
    let name = check_name(&body.take()?.name)?;
    let tx = ctx.begin().await?;
    if let Some(existing) = tags::by_names(&tx, std::slice::from_ref(&name))
        .await?
        .pop()
    {
        return Err(RuleViolation::DuplicateTag {
            existing_id: Some(existing.id),
        }
        .into());
    }
    let tag = tags::insert(&tx, name).await?;
    let shown = Tag {
        id: tag.id,
        name: tag.name,
        usage_count: 0,
        created_at: tag.created_at,
    };
    let mut journal = Journal::new();
    journal.record(
        TAG,
        shown.id,
        AuditAction::Created,
        json!({"name": {"from": null, "to": shown.name}}),
        &shown,
    )?;
    journal.commit(tx, caller).await?;
    Ok(shown)
}

/// Renames a tag (managers and admins). Renaming onto the name of another tag merges the
/// two: every customer carrying this tag carries that one instead, and this one is deleted;
/// the answer is then the surviving tag.
pub async fn update(
    ctx: &Ctx,
    caller: &Caller,
    id: Uuid,
    body: Input<TagName>,
) -> Result<Tag, AppError> {
    require(caller, Action::ManageTags)?;
    let tx = ctx.begin().await?;
    let tag = tags::find(&tx, id).await?.ok_or(AppError::NotFound)?;
    let name = check_name(&body.take()?.name)?;
    let mut journal = Journal::new();
    let survivor = match tags::by_names(&tx, std::slice::from_ref(&name))
        .await?
        .pop()
    {
        Some(other) if other.id != tag.id => {
            tags::merge(&tx, tag.id, other.id).await?;
            journal.audit(
                TAG,
                tag.id,
                AuditAction::TagMerged,
                json!({"merged_into": {"from": null, "to": other.id}}),
            );
            other.id
        }
        _ => {
            if tag.name != name {
                journal.audit(
                    TAG,
                    tag.id,
                    AuditAction::Renamed,
                    json!({"name": {"from": tag.name, "to": name}}),
                );
            }
            tags::rename(&tx, tag.id, name).await?;
            tag.id
        }
    };
    let usage = tags::usage_of(&tx, caller.visibility(), survivor)
        .await?
        .ok_or(AppError::NotFound)?;
    let shown = Tag::from(usage);
    if !journal.is_empty() {
        journal.event(TAG, shown.id, AuditAction::Updated, &shown)?;
    }
    journal.commit(tx, caller).await?;
    Ok(shown)
}

/// Deletes a tag and removes it from every customer (managers and admins).
pub async fn delete(ctx: &Ctx, caller: &Caller, id: Uuid) -> Result<(), AppError> {
    require(caller, Action::ManageTags)?;
    let tx = ctx.begin().await?;
    let tag = tags::find(&tx, id).await?.ok_or(AppError::NotFound)?;
    tags::delete(&tx, tag.id).await?;
    let mut journal = Journal::new();
    journal.record(
        TAG,
        tag.id,
        AuditAction::Deleted,
        json!({"name": {"from": tag.name, "to": null}}),
        &json!({"id": tag.id}),
    )?;
    journal.commit(tx, caller).await
}
