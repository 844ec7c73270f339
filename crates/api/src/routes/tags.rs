//! The tag catalogue: names with usage counts over the customers the caller can see.
//! Anyone who may edit customers adds tags; managers rename, merge (by renaming onto an
//! existing name) and delete them.

use actix_web::http::{StatusCode, header};
use actix_web::{HttpResponse, delete, get, patch, post, web};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, Utc};
use crm_domain::access::Action;
use crm_store::{begin_write, tags};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use crate::AppState;
use crate::auth::Principal;
use crate::error::ApiError;
use crate::extract::Json;
use crate::pagination::invalid;
use crate::routes::customers::dto::Checker;
use crate::routes::customers::{fail_if_any, visibility};

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

fn check_name(raw: &str) -> Result<String, ApiError> {
    let mut c = Checker::default();
    let name = c.text("name", raw, 1, 50);
    fail_if_any(c)?;
    Ok(name)
}

/// Lists the catalogue by name, with usage counts.
#[utoipa::path(
    operation_id = "list_tags",
    tag = "tags",
    params(TagQuery),
    responses((status = 200, description = "A page of tags.", body = TagList)),
    security(("bearer" = [])),
)]
#[get("/tags")]
pub async fn list_tags(
    state: web::Data<AppState>,
    principal: Principal,
    query: web::Query<TagQuery>,
) -> Result<HttpResponse, ApiError> {
    principal.require(Action::ReadCustomers)?;
    let limit = crate::pagination::PageQuery {
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
                .ok_or_else(|| invalid("cursor", "is not a cursor returned by this list"))?,
        ),
    };
    let rows = tags::list_with_usage(&state.db, visibility(&principal), after, limit).await?;
    let full = u64::try_from(rows.len()).unwrap_or(0) >= limit;
    let next = rows
        .last()
        .filter(|_| full)
        .map(|t| URL_SAFE_NO_PAD.encode(t.name.as_bytes()));
    Ok(HttpResponse::Ok().json(TagList {
        items: rows.into_iter().map(Tag::from).collect(),
        next_cursor: next,
    }))
}

/// Adds a tag to the catalogue.
#[utoipa::path(
    operation_id = "create_tag",
    tag = "tags",
    request_body = TagName,
    responses(
        (status = 201, description = "Added.", body = Tag),
        (status = 409, description = "A tag with this name exists; `existing_id` names it."),
        (status = 422, description = "Invalid name."),
    ),
    security(("bearer" = [])),
)]
#[post("/tags")]
pub async fn create_tag(
    state: web::Data<AppState>,
    principal: Principal,
    body: Json<TagName>,
) -> Result<HttpResponse, ApiError> {
    principal.require(Action::CreateTag)?;
    let name = check_name(&body.0.name)?;
    if let Some(existing) = tags::by_names(&state.db, std::slice::from_ref(&name))
        .await?
        .pop()
    {
        return Err(ApiError::Conflict {
            detail: "A tag with this name exists.".to_owned(),
            existing_id: Some(existing.id),
        });
    }
    let tag = tags::insert(&state.db, name).await?;
    Ok(HttpResponse::build(StatusCode::CREATED)
        .insert_header((header::LOCATION, format!("/api/v1/tags/{}", tag.id)))
        .json(Tag {
            id: tag.id,
            name: tag.name,
            usage_count: 0,
            created_at: tag.created_at,
        }))
}

/// Renames a tag (managers and admins). Renaming onto the name of another tag merges the
/// two: every customer carrying this tag carries that one instead, and this one is deleted;
/// the answer is then the surviving tag.
#[utoipa::path(
    operation_id = "update_tag",
    tag = "tags",
    params(("id" = Uuid, Path, description = "Tag id")),
    request_body = TagName,
    responses(
        (status = 200, description = "The renamed tag, or the tag it was merged into.", body = Tag),
        (status = 403, description = "Only managers and admins manage the catalogue."),
        (status = 404, description = "No such tag."),
        (status = 422, description = "Invalid name."),
    ),
    security(("bearer" = [])),
)]
#[patch("/tags/{id}")]
pub async fn update_tag(
    state: web::Data<AppState>,
    principal: Principal,
    id: web::Path<Uuid>,
    body: Json<TagName>,
) -> Result<HttpResponse, ApiError> {
    principal.require(Action::ManageTags)?;
    let name = check_name(&body.0.name)?;
    let tx = begin_write(&state.db).await?;
    let tag = tags::find(&tx, id.into_inner())
        .await?
        .ok_or(ApiError::NotFound)?;
    let survivor = match tags::by_names(&tx, std::slice::from_ref(&name))
        .await?
        .pop()
    {
        Some(other) if other.id != tag.id => {
            tags::merge(&tx, tag.id, other.id).await?;
            tracing::info!(from = %tag.id, into = %other.id, actor = %principal.id, "tags merged");
            other.id
        }
        _ => {
            tags::rename(&tx, tag.id, name).await?;
            tag.id
        }
    };
    let usage = tags::usage_of(&tx, visibility(&principal), survivor)
        .await?
        .ok_or(ApiError::NotFound)?;
    tx.commit().await.map_err(crm_store::StoreError::from)?;
    Ok(HttpResponse::Ok().json(Tag::from(usage)))
}

/// Deletes a tag and removes it from every customer (managers and admins).
#[utoipa::path(
    operation_id = "delete_tag",
    tag = "tags",
    params(("id" = Uuid, Path, description = "Tag id")),
    responses(
        (status = 204, description = "Deleted."),
        (status = 403, description = "Only managers and admins manage the catalogue."),
        (status = 404, description = "No such tag."),
    ),
    security(("bearer" = [])),
)]
#[delete("/tags/{id}")]
pub async fn delete_tag(
    state: web::Data<AppState>,
    principal: Principal,
    id: web::Path<Uuid>,
) -> Result<HttpResponse, ApiError> {
    principal.require(Action::ManageTags)?;
    let tx = begin_write(&state.db).await?;
    let tag = tags::find(&tx, id.into_inner())
        .await?
        .ok_or(ApiError::NotFound)?;
    tags::delete(&tx, tag.id).await?;
    tx.commit().await.map_err(crm_store::StoreError::from)?;
    tracing::info!(tag = %tag.id, actor = %principal.id, "tag deleted");
    Ok(HttpResponse::NoContent().finish())
}
