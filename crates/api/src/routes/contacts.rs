//! Contacts of a customer: at least one, exactly one primary. Every change is a new
//! version of the customer and an entry in its change log.

use actix_web::http::{StatusCode, header};
use actix_web::{HttpResponse, delete, get, patch, post, web};
use chrono::Utc;
use crm_domain::access::Action;
use crm_store::{ConnectionTrait, begin_write, contacts, customers, history};
use serde::{Deserialize, Serialize};
use serde_json::json;
use utoipa::ToSchema;
use uuid::Uuid;

use crate::AppState;
use crate::auth::Principal;
use crate::error::ApiError;
use crate::extract::Json;
use crate::routes::customers::dto::{Checker, Contact, NewContact, check_contact};
use crate::routes::customers::{ensure_live, fail_if_any, today, touch, visible};
use crate::routes::users::present;

/// A customer's contacts.
#[derive(Debug, Serialize, ToSchema)]
pub struct ContactList {
    /// Primary first, then oldest first.
    pub items: Vec<Contact>,
    /// Always `null`: a customer's contacts come in one page.
    pub next_cursor: Option<String>,
}

/// Changes to a contact (merge patch).
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ContactPatch {
    /// Real name.
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>)]
    pub name: Option<Option<String>>,
    /// Job title.
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>)]
    pub title: Option<Option<String>>,
    /// Mobile number.
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>)]
    pub mobile: Option<Option<String>>,
    /// Email, or `null`.
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>)]
    pub email: Option<Option<String>>,
    /// Birthday, or `null`.
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>, format = Date)]
    pub birthday: Option<Option<String>>,
    /// `true` makes this the primary contact (the previous one stops being primary).
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<bool>)]
    pub is_primary: Option<Option<bool>>,
}

async fn editable(
    conn: &impl ConnectionTrait,
    principal: &Principal,
    customer_id: Uuid,
) -> Result<customers::Model, ApiError> {
    let customer = visible(conn, principal, customer_id).await?;
    ensure_live(&customer)?;
    Ok(customer)
}

fn contact_json(c: &contacts::Model) -> serde_json::Value {
    serde_json::to_value(Contact::from(c.clone())).unwrap_or_default()
}

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
    principal: Principal,
    id: web::Path<Uuid>,
) -> Result<HttpResponse, ApiError> {
    principal.require(Action::ReadCustomers)?;
    let customer = visible(&state.db, &principal, id.into_inner()).await?;
    let items = contacts::for_customers(&state.db, &[customer.id])
        .await?
        .into_iter()
        .map(Contact::from)
        .collect();
    Ok(HttpResponse::Ok().json(ContactList {
        items,
        next_cursor: None,
    }))
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
    principal: Principal,
    id: web::Path<Uuid>,
    body: Json<NewContact>,
) -> Result<HttpResponse, ApiError> {
    principal.require(Action::EditCustomer)?;
    let customer_id = id.into_inner();
    let mut c = Checker::default();
    let contact = check_contact(&mut c, "", body.into_inner(), customer_id, today());
    fail_if_any(c)?;
    let tx = begin_write(&state.db).await?;
    let customer = editable(&tx, &principal, customer_id).await?;
    if contact.is_primary {
        contacts::clear_primary(&tx, customer.id).await?;
    }
    contacts::insert_many(&tx, vec![contact.clone()]).await?;
    touch(&tx, customer).await?;
    history::record(
        &tx,
        customer_id,
        Some(principal.id),
        "contact_added",
        json!({"contact": {"from": null, "to": contact_json(&contact)}}),
    )
    .await?;
    tx.commit().await.map_err(crm_store::StoreError::from)?;
    Ok(HttpResponse::build(StatusCode::CREATED)
        .insert_header((header::LOCATION, format!("/api/v1/contacts/{}", contact.id)))
        .json(Contact::from(contact)))
}

async fn visible_contact(
    conn: &impl ConnectionTrait,
    principal: &Principal,
    id: Uuid,
) -> Result<(contacts::Model, customers::Model), ApiError> {
    let contact = contacts::find(conn, id).await?.ok_or(ApiError::NotFound)?;
    let customer = editable(conn, principal, contact.customer_id).await?;
    Ok((contact, customer))
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
    principal: Principal,
    id: web::Path<Uuid>,
    body: Json<ContactPatch>,
) -> Result<HttpResponse, ApiError> {
    principal.require(Action::EditCustomer)?;
    let patch = body.into_inner();
    let tx = begin_write(&state.db).await?;
    let (before, customer) = visible_contact(&tx, &principal, id.into_inner()).await?;
    let merged = NewContact {
        name: patch
            .name
            .clone()
            .map_or(before.name.clone(), Option::unwrap_or_default),
        title: patch
            .title
            .clone()
            .map_or(before.title.clone(), Option::unwrap_or_default),
        mobile: patch
            .mobile
            .clone()
            .map_or(before.mobile.clone(), Option::unwrap_or_default),
        email: patch.email.clone().unwrap_or(before.email.clone()),
        birthday: patch
            .birthday
            .clone()
            .unwrap_or(before.birthday.map(|d| d.to_string())),
        is_primary: before.is_primary,
    };
    let mut c = Checker::default();
    let mut after = check_contact(&mut c, "", merged, customer.id, today());
    match patch.is_primary {
        Some(Some(true)) => after.is_primary = true,
        Some(Some(false)) if before.is_primary => {
            c.fail("is_primary", "primary", "a customer needs exactly one primary contact: mark another contact primary instead");
        }
        Some(None) => c.fail("is_primary", "required", "cannot be cleared"),
        _ => {}
    }
    fail_if_any(c)?;
    after.id = before.id;
    after.created_at = before.created_at;
    after.updated_at = Utc::now();
    if after.is_primary && !before.is_primary {
        contacts::clear_primary(&tx, customer.id).await?;
    }
    contacts::update(&tx, after.clone()).await?;
    touch(&tx, customer).await?;
    let (from, to) = (contact_json(&before), contact_json(&after));
    if from != to {
        history::record(
            &tx,
            after.customer_id,
            Some(principal.id),
            "contact_changed",
            json!({"contact": {"from": from, "to": to}}),
        )
        .await?;
    }
    tx.commit().await.map_err(crm_store::StoreError::from)?;
    Ok(HttpResponse::Ok().json(Contact::from(after)))
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
    principal: Principal,
    id: web::Path<Uuid>,
) -> Result<HttpResponse, ApiError> {
    principal.require(Action::EditCustomer)?;
    let tx = begin_write(&state.db).await?;
    let (contact, customer) = visible_contact(&tx, &principal, id.into_inner()).await?;
    let all = contacts::for_customers(&tx, &[customer.id]).await?;
    if all.len() <= 1 {
        return Err(ApiError::Conflict {
            detail: "A customer needs at least one contact.".to_owned(),
            existing_id: None,
        });
    }
    contacts::delete(&tx, contact.id).await?;
    if contact.is_primary
        && let Some(mut next) = all
            .into_iter()
            .filter(|k| k.id != contact.id)
            .min_by_key(|k| k.id)
    {
        next.is_primary = true;
        contacts::update(&tx, next).await?;
    }
    touch(&tx, customer).await?;
    history::record(
        &tx,
        contact.customer_id,
        Some(principal.id),
        "contact_removed",
        json!({"contact": {"from": contact_json(&contact), "to": null}}),
    )
    .await?;
    tx.commit().await.map_err(crm_store::StoreError::from)?;
    Ok(HttpResponse::NoContent().finish())
}
