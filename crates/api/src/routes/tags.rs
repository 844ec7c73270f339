//! The tag catalogue: the HTTP side of [`crm_app::tags`].

use actix_web::http::{StatusCode, header};
use actix_web::{HttpResponse, delete, get, patch, post, web};
use crm_app::tags::{self as uc, Tag, TagList, TagName, TagQuery};
use uuid::Uuid;

use crate::AppState;
use crate::auth::Authenticated;
use crate::error::ApiError;
use crate::extract::{Json, Query};

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
    Authenticated(caller): Authenticated,
    query: Query<TagQuery>,
) -> Result<HttpResponse, ApiError> {
    let list: TagList = uc::list(&state.ctx, &caller, query.input()).await?;
    Ok(HttpResponse::Ok().json(list))
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
    Authenticated(caller): Authenticated,
    body: Json<TagName>,
) -> Result<HttpResponse, ApiError> {
    let tag: Tag = uc::create(&state.ctx, &caller, body.input()).await?;
    Ok(HttpResponse::build(StatusCode::CREATED)
        .insert_header((header::LOCATION, format!("/api/v1/tags/{}", tag.id)))
        .json(tag))
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
    Authenticated(caller): Authenticated,
    id: web::Path<Uuid>,
    body: Json<TagName>,
) -> Result<HttpResponse, ApiError> {
    let tag = uc::update(&state.ctx, &caller, id.into_inner(), body.input()).await?;
    Ok(HttpResponse::Ok().json(tag))
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
    Authenticated(caller): Authenticated,
    id: web::Path<Uuid>,
) -> Result<HttpResponse, ApiError> {
    uc::delete(&state.ctx, &caller, id.into_inner()).await?;
    Ok(HttpResponse::NoContent().finish())
}
