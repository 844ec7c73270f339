//! Customers (客户档案): the HTTP side of profiles, lists, the change log, archive and
//! restore, purge, duplicates and merge. Each handler extracts, calls one use case in
//! [`crm_app::customers`] and maps the answer to a response.

pub mod export;

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, delete, get, patch, post, put, web};
use crm_app::customers::dto::{Customer, CustomerList, CustomerPatch, NewCustomer};
use crm_app::customers::query::CustomerQuery;
use crm_app::customers::{self as uc, Duplicate, HistoryList, MergeRequest, TagSet};
use crm_app::page::PageQuery;
use uuid::Uuid;

use crate::AppState;
use crate::auth::Authenticated;
use crate::error::ApiError;
use crate::extract::{Json, Query, if_match};

/// The customer's response with its `ETag` (and `Location` when created).
pub(crate) fn respond(status: StatusCode, customer: &Customer) -> HttpResponse {
    crate::routes::resource(status, customer, customer.version, "customers", customer.id)
}

/// Lists the customers the caller can see, with filters, sorting and keyset pagination.
/// Repeated `tag` parameters must all match; repeated `any_tag` parameters, at least one.
#[utoipa::path(
    operation_id = "list_customers",
    tag = "customers",
    params(CustomerQuery),
    responses(
        (status = 200, description = "A page of customers with their contacts and tags.", body = CustomerList),
        (status = 400, description = "A query parameter is invalid."),
    ),
    security(("bearer" = [])),
)]
#[get("/customers")]
pub async fn list_customers(
    state: web::Data<AppState>,
    Authenticated(caller): Authenticated,
    query: Query<CustomerQuery>,
) -> Result<HttpResponse, ApiError> {
    let list: CustomerList = uc::list(&state.ctx, &caller, query.input()).await?;
    Ok(HttpResponse::Ok().json(list))
}

/// Creates a customer with its contacts and tags. Sales reps own what they create;
/// managers and admins may name another owner.
#[utoipa::path(
    operation_id = "create_customer",
    tag = "customers",
    request_body = NewCustomer,
    responses(
        (status = 201, description = "Created; `Location` names it.", body = Customer),
        (status = 403, description = "The role may not create customers, or may not name another owner."),
        (status = 409, description = "A live customer has this USCC; `existing_id` names it when you can see it."),
        (status = 422, description = "Invalid fields, all listed."),
    ),
    security(("bearer" = [])),
)]
#[post("/customers")]
pub async fn create_customer(
    state: web::Data<AppState>,
    Authenticated(caller): Authenticated,
    body: Json<NewCustomer>,
) -> Result<HttpResponse, ApiError> {
    let customer = uc::create(&state.ctx, &caller, body.input()).await?;
    Ok(respond(StatusCode::CREATED, &customer))
}

/// One customer with its contacts and tags; `ETag` carries its version.
#[utoipa::path(
    operation_id = "get_customer",
    tag = "customers",
    params(("id" = Uuid, Path, description = "Customer id")),
    responses(
        (status = 200, description = "The customer.", body = Customer),
        (status = 404, description = "No such customer, or not yours to see."),
    ),
    security(("bearer" = [])),
)]
#[get("/customers/{id}")]
pub async fn get_customer(
    state: web::Data<AppState>,
    Authenticated(caller): Authenticated,
    id: web::Path<Uuid>,
) -> Result<HttpResponse, ApiError> {
    let customer = uc::get(&state.ctx, &caller, id.into_inner()).await?;
    Ok(respond(StatusCode::OK, &customer))
}

/// Changes a customer (JSON merge patch). Needs `If-Match` with the current `ETag`: a
/// stale one is 412 and changes nothing. Changing `owner_id` or pinning `tier` is for
/// managers and admins. Every change is logged with old and new values.
#[utoipa::path(
    operation_id = "update_customer",
    tag = "customers",
    params(
        ("id" = Uuid, Path, description = "Customer id"),
        ("If-Match" = String, Header, description = "The `ETag` last read."),
    ),
    request_body(content = CustomerPatch, content_type = "application/merge-patch+json"),
    responses(
        (status = 200, description = "The changed customer.", body = Customer),
        (status = 403, description = "The role may not make this change."),
        (status = 404, description = "No such customer, or not yours to see."),
        (status = 409, description = "The customer is archived, or the USCC is taken."),
        (status = 412, description = "The customer changed since the `If-Match` version."),
        (status = 422, description = "Invalid fields, all listed."),
        (status = 428, description = "`If-Match` is missing."),
    ),
    security(("bearer" = [])),
)]
#[patch("/customers/{id}")]
pub async fn update_customer(
    req: HttpRequest,
    state: web::Data<AppState>,
    Authenticated(caller): Authenticated,
    id: web::Path<Uuid>,
    body: Json<CustomerPatch>,
) -> Result<HttpResponse, ApiError> {
    let customer = uc::update(
        &state.ctx,
        &caller,
        id.into_inner(),
        if_match(&req),
        body.input(),
    )
    .await?;
    Ok(respond(StatusCode::OK, &customer))
}

/// Archives a customer (managers and admins): it leaves lists unless `archived=true` is
/// asked for, keeps its history, and frees its USCC. Answers 204 if already archived.
#[utoipa::path(
    operation_id = "archive_customer",
    tag = "customers",
    params(("id" = Uuid, Path, description = "Customer id")),
    responses(
        (status = 204, description = "Archived."),
        (status = 403, description = "Only managers and admins archive."),
        (status = 404, description = "No such customer, or not yours to see."),
    ),
    security(("bearer" = [])),
)]
#[delete("/customers/{id}")]
pub async fn archive_customer(
    state: web::Data<AppState>,
    Authenticated(caller): Authenticated,
    id: web::Path<Uuid>,
) -> Result<HttpResponse, ApiError> {
    uc::archive(&state.ctx, &caller, id.into_inner()).await?;
    Ok(HttpResponse::NoContent().finish())
}

/// Brings an archived customer back (managers and admins). 409 when another live customer
/// has taken its USCC meanwhile, or when it was purged.
#[utoipa::path(
    operation_id = "restore_customer",
    tag = "customers",
    params(("id" = Uuid, Path, description = "Customer id")),
    responses(
        (status = 200, description = "The restored customer.", body = Customer),
        (status = 403, description = "Only managers and admins restore."),
        (status = 404, description = "No such customer, or not yours to see."),
        (status = 409, description = "Purged, or its USCC belongs to a live customer now."),
    ),
    security(("bearer" = [])),
)]
#[post("/customers/{id}/restore")]
pub async fn restore_customer(
    state: web::Data<AppState>,
    Authenticated(caller): Authenticated,
    id: web::Path<Uuid>,
) -> Result<HttpResponse, ApiError> {
    let customer = uc::restore(&state.ctx, &caller, id.into_inner()).await?;
    Ok(respond(StatusCode::OK, &customer))
}

/// The change log of a customer, newest first.
#[utoipa::path(
    operation_id = "list_customer_history",
    tag = "customers",
    params(("id" = Uuid, Path, description = "Customer id"), PageQuery),
    responses(
        (status = 200, description = "A page of entries.", body = HistoryList),
        (status = 404, description = "No such customer, or not yours to see."),
    ),
    security(("bearer" = [])),
)]
#[get("/customers/{id}/history")]
pub async fn list_customer_history(
    state: web::Data<AppState>,
    Authenticated(caller): Authenticated,
    id: web::Path<Uuid>,
    page: Query<PageQuery>,
) -> Result<HttpResponse, ApiError> {
    let list: HistoryList = uc::history(&state.ctx, &caller, id.into_inner(), page.input()).await?;
    Ok(HttpResponse::Ok().json(list))
}

/// Replaces a customer's tags. Honours `If-Match` when sent.
#[utoipa::path(
    operation_id = "set_customer_tags",
    tag = "customers",
    params(
        ("id" = Uuid, Path, description = "Customer id"),
        ("If-Match" = Option<String>, Header, description = "The `ETag` last read."),
    ),
    request_body = TagSet,
    responses(
        (status = 200, description = "The customer with its new tags.", body = Customer),
        (status = 404, description = "No such customer, or not yours to see."),
        (status = 409, description = "The customer is archived."),
        (status = 412, description = "The customer changed since the `If-Match` version."),
        (status = 422, description = "Invalid tag names."),
    ),
    security(("bearer" = [])),
)]
#[put("/customers/{id}/tags")]
pub async fn set_customer_tags(
    req: HttpRequest,
    state: web::Data<AppState>,
    Authenticated(caller): Authenticated,
    id: web::Path<Uuid>,
    body: Json<TagSet>,
) -> Result<HttpResponse, ApiError> {
    let customer = uc::set_tags(
        &state.ctx,
        &caller,
        id.into_inner(),
        if_match(&req),
        body.input(),
    )
    .await?;
    Ok(respond(StatusCode::OK, &customer))
}

/// Likely duplicates of a customer among those the caller can see: the same name once
/// legal-form words and punctuation are ignored, or a contact with the same mobile or email.
#[utoipa::path(
    operation_id = "list_customer_duplicates",
    tag = "customers",
    params(("id" = Uuid, Path, description = "Customer id")),
    responses(
        (status = 200, description = "Likely duplicates with their reasons.", body = [Duplicate]),
        (status = 404, description = "No such customer, or not yours to see."),
    ),
    security(("bearer" = [])),
)]
#[get("/customers/{id}/duplicates")]
pub async fn list_customer_duplicates(
    state: web::Data<AppState>,
    Authenticated(caller): Authenticated,
    id: web::Path<Uuid>,
) -> Result<HttpResponse, ApiError> {
    let out: Vec<Duplicate> = uc::duplicates(&state.ctx, &caller, id.into_inner()).await?;
    Ok(HttpResponse::Ok().json(out))
}

/// Merges another customer into this one (managers and admins), in one transaction: the
/// source's contacts (as non-primary), tags, attachments and history move to the survivor,
/// and the source is archived.
#[utoipa::path(
    operation_id = "merge_customers",
    tag = "customers",
    params(("id" = Uuid, Path, description = "The surviving customer")),
    request_body = MergeRequest,
    responses(
        (status = 200, description = "The survivor after the merge.", body = Customer),
        (status = 403, description = "Only managers and admins merge."),
        (status = 404, description = "Either customer does not exist or is not yours to see."),
        (status = 409, description = "The same customer twice, or one of them is archived."),
    ),
    security(("bearer" = [])),
)]
#[post("/customers/{id}/merge")]
pub async fn merge_customers(
    state: web::Data<AppState>,
    Authenticated(caller): Authenticated,
    id: web::Path<Uuid>,
    body: Json<MergeRequest>,
) -> Result<HttpResponse, ApiError> {
    let customer = uc::merge(&state.ctx, &caller, id.into_inner(), body.input()).await?;
    Ok(respond(StatusCode::OK, &customer))
}

/// Irreversibly removes a customer's personal data (admins): contacts, attachments (and
/// their files), needs, address, landline, tier reason and the whole change log, which
/// keeps a single `purged` entry saying who did it. The customer stays archived for good,
/// so that references to it remain valid.
#[utoipa::path(
    operation_id = "purge_customer",
    tag = "customers",
    params(("id" = Uuid, Path, description = "Customer id")),
    responses(
        (status = 204, description = "Purged."),
        (status = 403, description = "Only admins purge."),
        (status = 404, description = "No such customer."),
        (status = 409, description = "Already purged."),
    ),
    security(("bearer" = [])),
)]
#[post("/customers/{id}/purge")]
pub async fn purge_customer(
    state: web::Data<AppState>,
    Authenticated(caller): Authenticated,
    id: web::Path<Uuid>,
) -> Result<HttpResponse, ApiError> {
    uc::purge(&state.ctx, &caller, id.into_inner()).await?;
    Ok(HttpResponse::NoContent().finish())
}
