//! Customers (客户档案): profiles with contacts and tags, lists with filters, the change log,
//! archive and restore, purge, duplicates and merge, and CSV export. Visibility is applied in
//! the store's SQL: a customer the caller may not see is 404 everywhere.

pub mod dto;
pub mod export;
pub mod query;

use std::collections::HashMap;

use actix_web::http::{StatusCode, header};
use actix_web::{HttpRequest, HttpResponse, delete, get, patch, post, put, web};
use chrono::{NaiveDate, Utc};
use crm_domain::access::{Action, Visibility, record_visibility};
use crm_domain::customer::{Uscc, check_industry, name_key};
use crm_store::{
    ConnectionTrait, begin_write, contacts, customers, history, tags, tier_policy, users,
};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};
use utoipa::ToSchema;
use uuid::Uuid;

use self::dto::{Checker, Contact, Customer, CustomerList, CustomerPatch, NewCustomer};
use crate::AppState;
use crate::auth::Principal;
use crate::concurrency::{etag, if_match};
use crate::error::ApiError;
use crate::extract::Json;
use crate::pagination::PageQuery;

pub(crate) fn today() -> NaiveDate {
    Utc::now().date_naive()
}

pub(crate) fn visibility(principal: &Principal) -> Visibility {
    record_visibility(principal.role, principal.id)
}

/// The customer `id` if the caller can see it; 404 otherwise.
pub(crate) async fn visible(
    conn: &impl ConnectionTrait,
    principal: &Principal,
    id: Uuid,
) -> Result<customers::Model, ApiError> {
    customers::find_visible(conn, id, visibility(principal))
        .await?
        .ok_or(ApiError::NotFound)
}

/// Refuses writes to an archived customer: 409 until it is restored.
pub(crate) fn ensure_live(row: &customers::Model) -> Result<(), ApiError> {
    match row.archived_at {
        None => Ok(()),
        Some(_) => Err(ApiError::Conflict {
            detail: "The customer is archived; restore it first.".to_owned(),
            existing_id: None,
        }),
    }
}

/// Loads the contacts and tags of `rows` (one query each) and builds the responses.
pub(crate) async fn with_children(
    conn: &impl ConnectionTrait,
    rows: Vec<customers::Model>,
) -> Result<Vec<Customer>, ApiError> {
    let ids: Vec<Uuid> = rows.iter().map(|r| r.id).collect();
    let mut contacts_by: HashMap<Uuid, Vec<Contact>> = HashMap::new();
    for c in contacts::for_customers(conn, &ids).await? {
        contacts_by
            .entry(c.customer_id)
            .or_default()
            .push(Contact::from(c));
    }
    let mut tags_by: HashMap<Uuid, Vec<String>> = HashMap::new();
    for (customer_id, name) in tags::names_for_customers(conn, &ids).await? {
        tags_by.entry(customer_id).or_default().push(name);
    }
    let today = today();
    Ok(rows
        .into_iter()
        .map(|r| {
            let id = r.id;
            Customer::build(
                r,
                contacts_by.remove(&id).unwrap_or_default(),
                tags_by.remove(&id).unwrap_or_default(),
                today,
            )
        })
        .collect())
}

pub(crate) async fn one(
    conn: &impl ConnectionTrait,
    row: customers::Model,
) -> Result<Customer, ApiError> {
    with_children(conn, vec![row])
        .await?
        .pop()
        .ok_or_else(|| ApiError::internal("customer vanished"))
}

/// The customer's response with its `ETag` (and `Location` when created).
pub(crate) fn respond(status: StatusCode, customer: &Customer) -> HttpResponse {
    let mut builder = HttpResponse::build(status);
    builder.insert_header((header::ETAG, etag(customer.version)));
    if status == StatusCode::CREATED {
        builder.insert_header((
            header::LOCATION,
            format!("/api/v1/customers/{}", customer.id),
        ));
    }
    builder.json(customer)
}

/// The fields a change-log entry compares.
fn snapshot(customer: &Customer) -> Map<String, Value> {
    let mut map = match serde_json::to_value(customer) {
        Ok(Value::Object(map)) => map,
        _ => Map::new(),
    };
    for volatile in [
        "id",
        "contacts",
        "tags",
        "version",
        "updated_at",
        "created_at",
        "created_by",
        "cooperation_years",
        "tier_score",
        "archived",
        "archived_at",
        "purged_at",
    ] {
        map.remove(volatile);
    }
    map
}

/// `{field: {from, to}}` for every field that differs.
pub(crate) fn diff(before: &Map<String, Value>, after: &Map<String, Value>) -> Map<String, Value> {
    let mut changes = Map::new();
    for (key, to) in after {
        let from = before.get(key).cloned().unwrap_or(Value::Null);
        if &from != to {
            changes.insert(key.clone(), json!({"from": from, "to": to}));
        }
    }
    changes
}

/// Records `row`'s creation in the log with every field set.
fn created_entry(customer: &Customer) -> Value {
    let mut changes = diff(&Map::new(), &snapshot(customer));
    changes.retain(|_, v| v["to"] != Value::Null);
    changes.insert(
        "contacts".to_owned(),
        json!({"from": null, "to": customer.contacts}),
    );
    if !customer.tags.is_empty() {
        changes.insert(
            "tags".to_owned(),
            json!({"from": null, "to": customer.tags}),
        );
    }
    Value::Object(changes)
}

/// 409 for a USCC another live customer has, naming it if the caller can see it.
async fn uscc_conflict(
    conn: &impl ConnectionTrait,
    principal: &Principal,
    uscc: &str,
    except: Option<Uuid>,
) -> Result<(), ApiError> {
    if let Some(existing) = customers::find_live_by_uscc(conn, uscc)
        .await?
        .filter(|e| Some(e.id) != except)
    {
        let seen = customers::find_visible(conn, existing.id, visibility(principal))
            .await?
            .is_some();
        return Err(ApiError::Conflict {
            detail: if seen {
                "A customer with this USCC already exists.".to_owned()
            } else {
                "A customer with this USCC already exists, owned by someone else; ask a manager."
                    .to_owned()
            },
            existing_id: seen.then_some(existing.id),
        });
    }
    Ok(())
}

async fn check_owner(
    conn: &impl ConnectionTrait,
    c: &mut Checker,
    owner: Uuid,
) -> Result<(), ApiError> {
    if !users::find(conn, owner).await?.is_some_and(|u| u.active) {
        c.fail("owner_id", "unknown_user", "must be an active user");
    }
    Ok(())
}

async fn check_referrer(
    conn: &impl ConnectionTrait,
    principal: &Principal,
    c: &mut Checker,
    referrer: Uuid,
    me: Uuid,
) -> Result<(), ApiError> {
    if referrer == me {
        c.fail(
            "referred_by",
            "invalid_value",
            "cannot be the customer itself",
        );
    } else if customers::find_visible(conn, referrer, visibility(principal))
        .await?
        .is_none()
    {
        c.fail(
            "referred_by",
            "unknown_customer",
            "must be a customer you can see",
        );
    }
    Ok(())
}

pub(crate) fn fail_if_any(c: Checker) -> Result<(), ApiError> {
    ApiError::unless_invalid(c.errors)
}

/// Lists the customers the caller can see, with filters, sorting and keyset pagination.
/// Repeated `tag` parameters must all match; repeated `any_tag` parameters, at least one.
#[utoipa::path(
    operation_id = "list_customers",
    tag = "customers",
    params(query::CustomerQuery),
    responses(
        (status = 200, description = "A page of customers with their contacts and tags.", body = CustomerList),
        (status = 400, description = "A query parameter is invalid."),
    ),
    security(("bearer" = [])),
)]
#[get("/customers")]
pub async fn list_customers(
    req: HttpRequest,
    state: web::Data<AppState>,
    principal: Principal,
) -> Result<HttpResponse, ApiError> {
    principal.require(Action::ReadCustomers)?;
    let query = query::CustomerQuery::parse(req.query_string())?;
    let Some(plan) = query.plan(&state.db).await? else {
        // A tag that does not exist matches nothing.
        return Ok(HttpResponse::Ok().json(CustomerList {
            items: Vec::new(),
            next_cursor: None,
        }));
    };
    let rows = customers::list(
        &state.db,
        visibility(&principal),
        &plan.filter,
        plan.sort,
        plan.descending,
        plan.after.clone(),
        plan.limit,
    )
    .await?;
    let next = query::next_cursor(&rows, &plan);
    let items = with_children(&state.db, rows).await?;
    Ok(HttpResponse::Ok().json(CustomerList {
        items,
        next_cursor: next,
    }))
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
    principal: Principal,
    body: Json<NewCustomer>,
) -> Result<HttpResponse, ApiError> {
    principal.require(Action::CreateCustomer)?;
    let body = body.into_inner();
    let owner = body.owner_id.unwrap_or(principal.id);
    if owner != principal.id {
        principal.require(Action::AssignOwner)?;
    }
    let today = today();
    let mut c = Checker::default();
    let mut row = dto::check_new(&mut c, &body, today);
    if body.contacts.is_empty() {
        c.fail("contacts", "required", "must hold at least one contact");
    }
    let new_contacts: Vec<contacts::Model> = body
        .contacts
        .iter()
        .cloned()
        .enumerate()
        .map(|(idx, contact)| {
            dto::check_contact(&mut c, &format!("contacts[{idx}]"), contact, row.id, today)
        })
        .collect();
    let primaries = new_contacts.iter().filter(|k| k.is_primary).count();
    if !new_contacts.is_empty() && primaries != 1 {
        c.fail(
            "contacts",
            "primary",
            "must have exactly one contact with is_primary",
        );
    }
    let tag_names = dto::check_tags(&mut c, "tags", body.tags);
    check_owner(&state.db, &mut c, owner).await?;
    if let Some(referrer) = row.referred_by {
        check_referrer(&state.db, &principal, &mut c, referrer, row.id).await?;
    }
    fail_if_any(c)?;

    row.owner_id = owner;
    row.created_by = principal.id;
    let tx = begin_write(&state.db).await?;
    uscc_conflict(&tx, &principal, &row.uscc, None).await?;
    let (policy, _) = tier_policy::get(&tx).await?;
    row.apply_tier(&policy, today);
    let row = customers::insert(&tx, row).await.map_err(uscc_race)?;
    contacts::insert_many(&tx, new_contacts).await?;
    let tag_ids: Vec<Uuid> = tags::ensure(&tx, &tag_names)
        .await?
        .into_iter()
        .map(|t| t.id)
        .collect();
    tags::set_for_customer(&tx, row.id, &tag_ids).await?;
    let customer = one(&tx, row).await?;
    history::record(
        &tx,
        customer.id,
        Some(principal.id),
        "created",
        created_entry(&customer),
    )
    .await?;
    tx.commit().await.map_err(crm_store::StoreError::from)?;
    Ok(respond(StatusCode::CREATED, &customer))
}

fn uscc_race(err: crm_store::StoreError) -> ApiError {
    match err {
        crm_store::StoreError::UniqueViolation(_) => ApiError::Conflict {
            detail: "A customer with this USCC already exists.".to_owned(),
            existing_id: None,
        },
        other => other.into(),
    }
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
    principal: Principal,
    id: web::Path<Uuid>,
) -> Result<HttpResponse, ApiError> {
    principal.require(Action::ReadCustomers)?;
    let row = visible(&state.db, &principal, id.into_inner()).await?;
    let customer = one(&state.db, row).await?;
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
    principal: Principal,
    id: web::Path<Uuid>,
    body: Json<CustomerPatch>,
) -> Result<HttpResponse, ApiError> {
    principal.require(Action::EditCustomer)?;
    let expected = if_match(&req)?.ok_or(ApiError::PreconditionRequired)?;
    let patch = body.into_inner();
    if patch.owner_id.is_some() {
        principal.require(Action::AssignOwner)?;
    }
    if patch.tier.is_some() || patch.tier_reason.is_some() {
        principal.require(Action::PinTier)?;
    }
    let tx = begin_write(&state.db).await?;
    let current = visible(&tx, &principal, id.into_inner()).await?;
    if current.version != expected {
        return Err(ApiError::PreconditionFailed);
    }
    ensure_live(&current)?;
    let before = one(&tx, current.clone()).await?;
    let mut row = current.clone();
    let mut c = Checker::default();
    let today = today();
    let required = |c: &mut Checker, field: &str| c.fail(field, "required", "cannot be cleared");

    match patch.name {
        Some(Some(name)) => {
            row.name = c.text("name", &name, 2, 100);
            row.name_key = name_key(&row.name);
        }
        Some(None) => required(&mut c, "name"),
        None => {}
    }
    let mut uscc_changed = false;
    match patch.uscc {
        Some(Some(raw)) => match Uscc::parse(&raw) {
            Ok(u) => {
                uscc_changed = u.as_str() != row.uscc;
                row.uscc = u.as_str().to_owned();
            }
            Err(msg) => c.fail("uscc", "invalid_format", msg),
        },
        Some(None) => required(&mut c, "uscc"),
        None => {}
    }
    match patch.industry_code {
        Some(Some(raw)) => match check_industry(&raw) {
            Ok(code) => row.industry_code = code.to_owned(),
            Err(msg) => c.fail("industry_code", "unknown_code", msg),
        },
        Some(None) => required(&mut c, "industry_code"),
        None => {}
    }
    match patch.customer_type {
        Some(Some(raw)) => {
            if let Some(t) = c.one_of(
                "customer_type",
                Some(&raw),
                crm_domain::customer::CustomerType::parse,
                dto::CUSTOMER_TYPES,
            ) {
                row.customer_type = t.as_str().to_owned();
            }
        }
        Some(None) => required(&mut c, "customer_type"),
        None => {}
    }
    if let Some(v) = patch.annual_budget {
        row.annual_budget = dto::budget(&mut c, v.as_deref());
    }
    if let Some(v) = patch.needs {
        row.needs = c.opt_text("needs", v, 2000);
    }
    if let Some(v) = patch.scale {
        row.scale = c
            .one_of(
                "scale",
                v.as_deref(),
                crm_domain::customer::Scale::parse,
                dto::SCALES,
            )
            .map(|s| s.as_str().to_owned());
    }
    if let Some(v) = patch.source {
        row.source = c
            .one_of(
                "source",
                v.as_deref(),
                crm_domain::customer::Source::parse,
                dto::SOURCES,
            )
            .map(|s| s.as_str().to_owned());
    }
    if let Some(v) = patch.address {
        row.address = c.opt_text("address", v, 200);
    }
    if let Some(v) = patch.phone {
        row.phone = dto::phone(&mut c, v);
    }
    if patch.region.is_some() || uscc_changed {
        let given = match &patch.region {
            Some(v) => v.clone(),
            None => Some(row.region.clone()),
        };
        let uscc = Uscc::parse(&row.uscc).ok();
        let derived = dto::region(&mut c, given.as_deref(), uscc.as_ref());
        if !derived.is_empty() {
            row.region = derived;
        }
    }
    match patch.owner_id {
        Some(Some(owner)) => {
            check_owner(&tx, &mut c, owner).await?;
            row.owner_id = owner;
        }
        Some(None) => required(&mut c, "owner_id"),
        None => {}
    }
    if let Some(v) = patch.cooperation_since {
        row.cooperation_since = c.date("cooperation_since", v.as_deref(), today, true);
    }
    if let Some(v) = patch.influence {
        row.influence = dto::influence(&mut c, v);
    }
    if let Some(v) = patch.referred_by {
        if let Some(referrer) = v {
            check_referrer(&tx, &principal, &mut c, referrer, row.id).await?;
        }
        row.referred_by = v;
    }
    let reason = match patch.tier_reason {
        Some(v) => c.opt_text("tier_reason", v, 500),
        None => row.tier_reason.clone(),
    };
    match patch.tier {
        Some(Some(tier)) => {
            if reason.is_none() {
                c.fail("tier_reason", "required", "is required when pinning a tier");
            }
            row.tier = tier.as_str().to_owned();
            row.tier_pinned = true;
            row.tier_reason = reason;
        }
        Some(None) => {
            row.tier_pinned = false;
            row.tier_reason = None;
        }
        None if row.tier_pinned => row.tier_reason = reason,
        None => {}
    }
    fail_if_any(c)?;
    if uscc_changed {
        uscc_conflict(&tx, &principal, &row.uscc, Some(row.id)).await?;
    }
    let (policy, _) = tier_policy::get(&tx).await?;
    row.apply_tier(&policy, today);
    row.updated_at = Utc::now();
    let saved = customers::save(&tx, row, expected)
        .await
        .map_err(uscc_race)?
        .ok_or(ApiError::PreconditionFailed)?;
    let after = one(&tx, saved).await?;
    let changes = diff(&snapshot(&before), &snapshot(&after));
    if !changes.is_empty() {
        let action = if changes.contains_key("owner_id") {
            "owner_changed"
        } else if changes.contains_key("tier_pinned") || changes.contains_key("tier_reason") {
            "tier_pinned"
        } else {
            "updated"
        };
        history::record(
            &tx,
            after.id,
            Some(principal.id),
            action,
            Value::Object(changes),
        )
        .await?;
    }
    tx.commit().await.map_err(crm_store::StoreError::from)?;
    Ok(respond(StatusCode::OK, &after))
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
    principal: Principal,
    id: web::Path<Uuid>,
) -> Result<HttpResponse, ApiError> {
    principal.require(Action::ArchiveCustomer)?;
    let tx = begin_write(&state.db).await?;
    let mut row = visible(&tx, &principal, id.into_inner()).await?;
    if row.archived_at.is_none() {
        let version = row.version;
        let now = Utc::now();
        row.archived_at = Some(now);
        row.updated_at = now;
        customers::save(&tx, row.clone(), version)
            .await?
            .ok_or(ApiError::PreconditionFailed)?;
        history::record(
            &tx,
            row.id,
            Some(principal.id),
            "archived",
            json!({"archived": {"from": false, "to": true}}),
        )
        .await?;
    }
    tx.commit().await.map_err(crm_store::StoreError::from)?;
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
    principal: Principal,
    id: web::Path<Uuid>,
) -> Result<HttpResponse, ApiError> {
    principal.require(Action::ArchiveCustomer)?;
    let tx = begin_write(&state.db).await?;
    let mut row = visible(&tx, &principal, id.into_inner()).await?;
    if row.purged_at.is_some() {
        return Err(ApiError::Conflict {
            detail: "A purged customer cannot be restored.".to_owned(),
            existing_id: None,
        });
    }
    if row.archived_at.is_some() {
        uscc_conflict(&tx, &principal, &row.uscc, Some(row.id)).await?;
        let version = row.version;
        row.archived_at = None;
        row.updated_at = Utc::now();
        row = customers::save(&tx, row, version)
            .await
            .map_err(uscc_race)?
            .ok_or(ApiError::PreconditionFailed)?;
        history::record(
            &tx,
            row.id,
            Some(principal.id),
            "restored",
            json!({"archived": {"from": true, "to": false}}),
        )
        .await?;
    }
    let customer = one(&tx, row).await?;
    tx.commit().await.map_err(crm_store::StoreError::from)?;
    Ok(respond(StatusCode::OK, &customer))
}

/// A change-log entry.
#[derive(Debug, Serialize, ToSchema)]
pub struct HistoryEntry {
    /// Entry id.
    pub id: Uuid,
    /// When.
    pub at: chrono::DateTime<Utc>,
    /// Who (`null` if the account no longer exists or it was the system).
    pub actor_id: Option<Uuid>,
    /// What: `created`, `updated`, `owner_changed`, `tier_pinned`, `tier_changed`, `tags_changed`,
    /// `contact_added`, `contact_changed`, `contact_removed`, `archived`, `restored`, `merged`,
    /// `merged_into`, `purged`.
    #[schema(example = "updated")]
    pub action: String,
    /// `{field: {from, to}}` for each changed field.
    #[schema(value_type = Object, example = json!({"customer_type": {"from": "potential", "to": "customer"}}))]
    pub changes: Value,
}

/// A page of change-log entries.
#[derive(Debug, Serialize, ToSchema)]
pub struct HistoryList {
    /// Entries, newest first.
    pub items: Vec<HistoryEntry>,
    /// Cursor of the next (older) page; `null` on the last page.
    pub next_cursor: Option<String>,
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
    principal: Principal,
    id: web::Path<Uuid>,
    page: web::Query<PageQuery>,
) -> Result<HttpResponse, ApiError> {
    principal.require(Action::ReadCustomers)?;
    let row = visible(&state.db, &principal, id.into_inner()).await?;
    let limit = page.limit()?;
    let entries = history::list(&state.db, row.id, page.after_id()?, limit).await?;
    let next = crate::pagination::next_cursor(entries.last().map(|e| e.id), entries.len(), limit);
    let items = entries
        .into_iter()
        .map(|e| HistoryEntry {
            id: e.id,
            at: e.at,
            actor_id: e.actor_id,
            action: e.action,
            changes: e.changes,
        })
        .collect();
    Ok(HttpResponse::Ok().json(HistoryList {
        items,
        next_cursor: next,
    }))
}

/// A customer's tag set.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TagSet {
    /// Tag names; new ones are added to the catalogue. At most 20.
    #[schema(example = json!(["高潜力客户", "意向产品A"]))]
    pub tags: Vec<String>,
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
    principal: Principal,
    id: web::Path<Uuid>,
    body: Json<TagSet>,
) -> Result<HttpResponse, ApiError> {
    principal.require(Action::EditCustomer)?;
    let expected = if_match(&req)?;
    let mut c = Checker::default();
    let names = dto::check_tags(&mut c, "tags", body.into_inner().tags);
    fail_if_any(c)?;
    let tx = begin_write(&state.db).await?;
    let row = visible(&tx, &principal, id.into_inner()).await?;
    if expected.is_some_and(|v| v != row.version) {
        return Err(ApiError::PreconditionFailed);
    }
    ensure_live(&row)?;
    let before = one(&tx, row.clone()).await?;
    let ids: Vec<Uuid> = tags::ensure(&tx, &names)
        .await?
        .into_iter()
        .map(|t| t.id)
        .collect();
    tags::set_for_customer(&tx, row.id, &ids).await?;
    let customer = touch(&tx, row).await?;
    if before.tags != customer.tags {
        history::record(
            &tx,
            customer.id,
            Some(principal.id),
            "tags_changed",
            json!({"tags": {"from": before.tags, "to": customer.tags}}),
        )
        .await?;
    }
    tx.commit().await.map_err(crm_store::StoreError::from)?;
    Ok(respond(StatusCode::OK, &customer))
}

/// Bumps a customer's version and `updated_at` after a change to its children.
pub(crate) async fn touch(
    conn: &impl ConnectionTrait,
    mut row: customers::Model,
) -> Result<Customer, ApiError> {
    let version = row.version;
    row.updated_at = Utc::now();
    let saved = customers::save(conn, row, version)
        .await?
        .ok_or(ApiError::PreconditionFailed)?;
    one(conn, saved).await
}

/// A likely duplicate and why.
#[derive(Debug, Serialize, ToSchema)]
pub struct Duplicate {
    /// The other customer.
    pub customer: Customer,
    /// Why it looks the same: `same_name`, `same_mobile`, `same_email`.
    #[schema(example = json!(["same_name", "same_mobile"]))]
    pub reasons: Vec<String>,
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
    principal: Principal,
    id: web::Path<Uuid>,
) -> Result<HttpResponse, ApiError> {
    principal.require(Action::ReadCustomers)?;
    let row = visible(&state.db, &principal, id.into_inner()).await?;
    let mine = contacts::for_customers(&state.db, &[row.id]).await?;
    let mobiles: Vec<String> = mine.iter().map(|k| k.mobile.clone()).collect();
    let emails: Vec<String> = mine.iter().filter_map(|k| k.email.clone()).collect();
    let others =
        customers::likely_duplicates(&state.db, visibility(&principal), &row, &mobiles, &emails)
            .await?;
    let others = with_children(&state.db, others).await?;
    let out: Vec<Duplicate> = others
        .into_iter()
        .map(|other| {
            let mut reasons = Vec::new();
            if name_key(&other.name) == row.name_key {
                reasons.push("same_name".to_owned());
            }
            if other.contacts.iter().any(|k| mobiles.contains(&k.mobile)) {
                reasons.push("same_mobile".to_owned());
            }
            if other
                .contacts
                .iter()
                .any(|k| k.email.as_ref().is_some_and(|e| emails.contains(e)))
            {
                reasons.push("same_email".to_owned());
            }
            Duplicate {
                customer: other,
                reasons,
            }
        })
        .collect();
    Ok(HttpResponse::Ok().json(out))
}

/// Which customer to merge into this one.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MergeRequest {
    /// The customer whose contacts, tags, attachments and history move here; it is archived.
    pub source_id: Uuid,
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
    principal: Principal,
    id: web::Path<Uuid>,
    body: Json<MergeRequest>,
) -> Result<HttpResponse, ApiError> {
    principal.require(Action::MergeCustomers)?;
    let source_id = body.into_inner().source_id;
    let tx = begin_write(&state.db).await?;
    let survivor = visible(&tx, &principal, id.into_inner()).await?;
    let mut source = visible(&tx, &principal, source_id).await?;
    if survivor.id == source.id {
        return Err(ApiError::Conflict {
            detail: "A customer cannot be merged into itself.".to_owned(),
            existing_id: None,
        });
    }
    if survivor.archived_at.is_some() || source.archived_at.is_some() {
        return Err(ApiError::Conflict {
            detail: "Both customers must be live (not archived).".to_owned(),
            existing_id: None,
        });
    }
    let moved_contacts = contacts::for_customers(&tx, &[source.id]).await?.len();
    let moved_attachments =
        crate::routes::attachments::move_all(&tx, source.id, survivor.id).await?;
    contacts::move_all(&tx, source.id, survivor.id).await?;
    tags::move_all(&tx, source.id, survivor.id).await?;
    history::move_all(&tx, source.id, survivor.id).await?;
    let version = source.version;
    let now = Utc::now();
    source.archived_at = Some(now);
    source.updated_at = now;
    customers::save(&tx, source.clone(), version)
        .await?
        .ok_or(ApiError::PreconditionFailed)?;
    history::record(&tx, source.id, Some(principal.id), "merged_into", json!({"merged_into": {"from": null, "to": survivor.id}, "archived": {"from": false, "to": true}})).await?;
    let customer = touch(&tx, survivor).await?;
    history::record(
        &tx,
        customer.id,
        Some(principal.id),
        "merged",
        json!({"merged_from": {"from": null, "to": source.id},
               "contacts_moved": {"from": 0, "to": moved_contacts},
               "attachments_moved": {"from": 0, "to": moved_attachments}}),
    )
    .await?;
    tx.commit().await.map_err(crm_store::StoreError::from)?;
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
    principal: Principal,
    id: web::Path<Uuid>,
) -> Result<HttpResponse, ApiError> {
    principal.require(Action::PurgeCustomer)?;
    let tx = begin_write(&state.db).await?;
    let mut row = visible(&tx, &principal, id.into_inner()).await?;
    if row.purged_at.is_some() {
        return Err(ApiError::Conflict {
            detail: "The customer is already purged.".to_owned(),
            existing_id: None,
        });
    }
    let files = crate::routes::attachments::delete_all(&tx, row.id).await?;
    contacts::delete_for_customer(&tx, row.id).await?;
    tags::set_for_customer(&tx, row.id, &[]).await?;
    history::delete_for_customer(&tx, row.id).await?;
    let version = row.version;
    let now = Utc::now();
    row.needs = None;
    row.address = None;
    row.phone = None;
    row.tier_reason = None;
    row.archived_at = row.archived_at.or(Some(now));
    row.purged_at = Some(now);
    row.updated_at = now;
    customers::save(&tx, row.clone(), version)
        .await?
        .ok_or(ApiError::PreconditionFailed)?;
    history::record(&tx, row.id, Some(principal.id), "purged", json!({})).await?;
    tx.commit().await.map_err(crm_store::StoreError::from)?;
    // The rows are gone; now the files. A failure here leaves only unreachable bytes, logged.
    crate::routes::attachments::remove_files(&state, files).await;
    tracing::info!(customer_id = %row.id, actor = %principal.id, "customer purged");
    Ok(HttpResponse::NoContent().finish())
}
