//! Contacts of a customer: the HTTP side of [`crm_app::contacts`].

use actix_web::http::{StatusCode, header};
use actix_web::{HttpResponse, delete, get, patch, post, web};
use crm_app::contacts::{self as uc, ContactList, ContactPatch};
use crm_app::customers::dto::{Contact, NewContact};
use uuid::Uuid;

use crate::AppState;
use crate::auth::Authenticated;
use crate::error::ApiError;
use crate::extract::Json;

/// Lists a customer's contacts.
#[utoipa::path(
    operation_id = "list_contacts",
    tag = "contacts",
    params(("id" = Uuid, Path, description = "Customer id")),
    responses(
        (status = 200, description = "The contacts.", body = ContactList),
        (status = 404, description = "No such customer, or not yours to see."),
    ),
    security(("bearer" = [])),
)]
#[get("/customers/{id}/contacts")]
pub async fn list_contacts(
    state: web::Data<AppState>,
    Authenticated(caller): Authenticated,
    id: web::Path<Uuid>,
) -> Result<HttpResponse, ApiError> {
    let list: ContactList = uc::list(&state.ctx, &caller, id.into_inner()).await?;
    Ok(HttpResponse::Ok().json(list))
}

/// Adds a contact. With `is_primary`, it becomes the primary contact.
#[utoipa::path(
    operation_id = "create_contact",
    tag = "contacts",
    params(("id" = Uuid, Path, description = "Customer id")),
    request_body = NewContact,
    responses(
        (status = 201, description = "Added.", body = Contact),
        (status = 404, description = "No such customer, or not yours to see."),
        (status = 409, description = "The customer is archived."),
        (status = 422, description = "Invalid fields, all listed."),
    ),
    security(("bearer" = [])),
)]
#[post("/customers/{id}/contacts")]
pub async fn create_contact(
    state: web::Data<AppState>,
    Authenticated(caller): Authenticated,
    id: web::Path<Uuid>,
    body: Json<NewContact>,
) -> Result<HttpResponse, ApiError> {
    let contact: Contact = uc::create(&state.ctx, &caller, id.into_inner(), body.input()).await?;
    Ok(HttpResponse::build(StatusCode::CREATED)
        .insert_header((header::LOCATION, format!("/api/v1/contacts/{}", contact.id)))
        .json(contact))
}

/// Changes a contact (merge patch). `is_primary: true` moves the primary flag here; a
/// primary contact cannot be un-marked directly: mark another one instead.
#[utoipa::path(
    operation_id = "update_contact",
    tag = "contacts",
    params(("id" = Uuid, Path, description = "Contact id")),
    request_body(content = ContactPatch, content_type = "application/merge-patch+json"),
    responses(
        (status = 200, description = "The changed contact.", body = Contact),
        (status = 404, description = "No such contact, or not yours to see."),
        (status = 409, description = "The customer is archived."),
        (status = 422, description = "Invalid fields, all listed."),
    ),
    security(("bearer" = [])),
)]
#[patch("/contacts/{id}")]
pub async fn update_contact(
    state: web::Data<AppState>,
    Authenticated(caller): Authenticated,
    id: web::Path<Uuid>,
    body: Json<ContactPatch>,
) -> Result<HttpResponse, ApiError> {
    let contact = uc::update(&state.ctx, &caller, id.into_inner(), body.input()).await?;
    Ok(HttpResponse::Ok().json(contact))
}

/// Removes a contact. The last contact cannot be removed (409); removing the primary one
/// makes the oldest remaining contact primary.
#[utoipa::path(
    operation_id = "delete_contact",
    tag = "contacts",
    params(("id" = Uuid, Path, description = "Contact id")),
    responses(
        (status = 204, description = "Removed."),
        (status = 404, description = "No such contact, or not yours to see."),
        (status = 409, description = "It is the customer's only contact, or the customer is archived."),
    ),
    security(("bearer" = [])),
)]
#[delete("/contacts/{id}")]
pub async fn delete_contact(
    state: web::Data<AppState>,
    Authenticated(caller): Authenticated,
    id: web::Path<Uuid>,
) -> Result<HttpResponse, ApiError> {
    uc::delete(&state.ctx, &caller, id.into_inner()).await?;
    Ok(HttpResponse::NoContent().finish())
}
