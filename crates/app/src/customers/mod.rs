//! Customers (客户档案): profiles with contacts and tags, lists with filters, the change log,
//! archive and restore, purge, duplicates and merge, and CSV export. Visibility is applied in
//! the store's SQL: a customer the caller may not see is 404 everywhere.

pub mod dto;
pub mod export;
pub mod query;

use std::collections::HashMap;

use chrono::Utc;
use crm_domain::access::{Action, Caller};
use crm_domain::audit::{AuditAction, EntityType};
use crm_domain::customer::{Uscc, check_industry, name_key};
use crm_domain::rule::RuleViolation;
use crm_store::{ConnectionTrait, audit, contacts, customers, tags, tier_policy, users};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};
use utoipa::ToSchema;
use uuid::Uuid;

use self::dto::{Contact, Customer, CustomerList, CustomerPatch, NewCustomer};
use crate::check::{Checker, today};
use crate::error::AppError;
use crate::input::{IfMatch, Input};
use crate::journal::{Journal, diff};
use crate::page::PageQuery;
use crate::{Ctx, require};

const CUSTOMER: EntityType = EntityType::Customer;

/// The customer `id` if the caller can see it; 404 otherwise.
pub(crate) async fn visible(
    conn: &impl ConnectionTrait,
    caller: &Caller,
    id: Uuid,
) -> Result<customers::Model, AppError> {
    customers::find_visible(conn, id, caller.visibility())
        .await?
        .ok_or(AppError::NotFound)
}

/// Refuses writes to an archived (or purged) customer: 409 until it is restored.
pub(crate) fn ensure_live(row: &customers::Model) -> Result<(), AppError> {
    if row.purged_at.is_some() {
        return Err(RuleViolation::CustomerPurged.into());
    }
    match row.archived_at {
        None => Ok(()),
        Some(_) => Err(RuleViolation::CustomerArchived.into()),
    }
}

/// Loads the contacts and tags of `rows` (one query each) and builds the responses.
pub(crate) async fn with_children(
    conn: &impl ConnectionTrait,
    rows: Vec<customers::Model>,
) -> Result<Vec<Customer>, AppError> {
    let ids: Vec<Uuid> = rows.iter().map(|r| r.id).collect();
    let mut contacts_by: HashMap<Uuid, Vec<contacts::Summary>> = HashMap::new();
    for c in contacts::for_customers(conn, &ids).await? {
        contacts_by
            .entry(c.customer_id)
            .or_default()
            .push(contacts::Summary::from(c));
    }
    let mut tags_by: HashMap<Uuid, Vec<String>> = HashMap::new();
    for (customer_id, name) in tags::names_for_customers(conn, &ids).await? {
        tags_by.entry(customer_id).or_default().push(name);
    }
    Ok(built(
        rows.into_iter()
            .map(|customer| customers::Detailed {
                contacts: contacts_by.remove(&customer.id).unwrap_or_default(),
                tags: tags_by.remove(&customer.id).unwrap_or_default(),
                customer,
            })
            .collect(),
    ))
}

/// The responses for customers read with their children.
pub(crate) fn built(rows: Vec<customers::Detailed>) -> Vec<Customer> {
    let today = today();
    rows.into_iter()
        .map(|r| {
            let contacts = r.contacts.into_iter().map(Contact::from).collect();
            Customer::build(r.customer, contacts, r.tags, today)
        })
        .collect()
}

/// One customer with its children.
pub(crate) async fn one(
    conn: &impl ConnectionTrait,
    row: customers::Model,
) -> Result<Customer, AppError> {
    with_children(conn, vec![row])
        .await?
        .pop()
        .ok_or_else(|| AppError::internal("customer vanished"))
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
    caller: &Caller,
    uscc: &str,
    except: Option<Uuid>,
) -> Result<(), AppError> {
    if let Some(existing) = customers::find_live_by_uscc(conn, uscc)
        .await?
        .filter(|e| Some(e.id) != except)
    {
        let seen = customers::find_visible(conn, existing.id, caller.visibility())
            .await?
            .is_some();
        return Err(RuleViolation::DuplicateUscc {
            existing_id: seen.then_some(existing.id),
        }
        .into());
    }
    Ok(())
}

/// A unique-index race on the USCC (two creations at once) is the same conflict.
fn uscc_race(err: crm_store::StoreError) -> AppError {
    match err {
        crm_store::StoreError::UniqueViolation(_) => {
            RuleViolation::DuplicateUscc { existing_id: None }.into()
        }
        other => other.into(),
    }
}

async fn check_owner(
    conn: &impl ConnectionTrait,
    c: &mut Checker,
    owner: Uuid,
) -> Result<(), AppError> {
    if !users::find(conn, owner).await?.is_some_and(|u| u.active) {
        c.fail("owner_id", "unknown_user", "must be an active user");
    }
    Ok(())
}

async fn check_referrer(
    conn: &impl ConnectionTrait,
    caller: &Caller,
    c: &mut Checker,
    referrer: Uuid,
    me: Uuid,
) -> Result<(), AppError> {
    if referrer == me {
        c.fail(
            "referred_by",
            "invalid_value",
            "cannot be the customer itself",
        );
    } else if customers::find_visible(conn, referrer, caller.visibility())
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

/// The customers the caller can see, with filters, sorting and keyset pagination.
/// Repeated `tag` parameters must all match; repeated `any_tag` parameters, at least one.
pub async fn list(
    ctx: &Ctx,
    caller: &Caller,
    query: Input<query::CustomerQuery>,
) -> Result<CustomerList, AppError> {
    require(caller, Action::ReadCustomers)?;
    let Some(plan) = query.take()?.plan(&ctx.db).await? else {
        // A tag that does not exist matches nothing.
        return Ok(CustomerList {
            items: Vec::new(),
            next_cursor: None,
        });
    };
    let rows = customers::list(
        &ctx.db,
        caller.visibility(),
        &plan.filter,
        plan.sort,
        plan.descending,
        plan.after.clone(),
        plan.limit,
    )
    .await?;
    let next = query::next_cursor(&rows, &plan);
    let items = built(rows);
    Ok(CustomerList {
        items,
        next_cursor: next,
    })
}

/// A checked new customer, ready to insert.
pub(crate) struct Checked {
    row: customers::Model,
    contacts: Vec<contacts::Model>,
    tags: Vec<String>,
}

/// Checks a new customer's every field (all errors at once) and who may own it.
pub(crate) async fn check_create(
    conn: &impl ConnectionTrait,
    caller: &Caller,
    body: NewCustomer,
) -> Result<Checked, AppError> {
    let owner = match (body.owner_id, caller.user_id()) {
        (Some(owner), me) => {
            if Some(owner) != me {
                require(caller, Action::AssignOwner)?;
            }
            Some(owner)
        }
        (None, me) => me,
    };
    let today = today();
    let mut c = Checker::default();
    let mut row = dto::check_new(&mut c, &body, today);
    if body.contacts.is_empty() {
        c.fail("contacts", "required", "must hold at least one contact");
    }
    if body.contacts.len() > dto::MAX_NEW_CONTACTS {
        c.fail("contacts", "too_many", "must hold at most 50 contacts");
    }
    let new_contacts: Vec<contacts::Model> = body
        .contacts
        .iter()
        .take(dto::MAX_NEW_CONTACTS)
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
    match owner {
        Some(owner) => check_owner(conn, &mut c, owner).await?,
        None => c.fail("owner_id", "required", "is required"),
    }
    if let Some(referrer) = row.referred_by {
        check_referrer(conn, caller, &mut c, referrer, row.id).await?;
    }
    c.finish()?;
    row.owner_id = owner.unwrap_or_default();
    row.created_by = caller.user_id().unwrap_or(row.owner_id);
    Ok(Checked {
        row,
        contacts: new_contacts,
        tags: tag_names,
    })
}

/// Creates a customer with its contacts and tags. Sales reps own what they create;
/// managers and admins may name another owner.
pub async fn create(
    ctx: &Ctx,
    caller: &Caller,
    body: Input<NewCustomer>,
) -> Result<Customer, AppError> {
    require(caller, Action::CreateCustomer)?;
    let body = body.take()?;
    let checked = check_create(&ctx.db, caller, body).await?;
    let tx = ctx.begin().await?;
    let mut journal = Journal::new();
    let customer = insert_checked(&tx, caller, checked, &mut journal).await?;
    journal.commit(tx, caller).await?;
    Ok(customer)
}

/// Inserts a checked customer inside `tx` and journals it.
pub(crate) async fn insert_checked(
    tx: &impl ConnectionTrait,
    caller: &Caller,
    checked: Checked,
    journal: &mut Journal,
) -> Result<Customer, AppError> {
    let Checked {
        mut row,
        contacts: new_contacts,
        tags: tag_names,
    } = checked;
    uscc_conflict(tx, caller, &row.uscc, None).await?;
    let (policy, _) = tier_policy::get(tx).await?;
    row.apply_tier(&policy, today(), None);
    let row = customers::insert(tx, row).await.map_err(uscc_race)?;
    contacts::insert_many(tx, new_contacts).await?;
    let tag_ids: Vec<Uuid> = tags::ensure(tx, &tag_names)
        .await?
        .into_iter()
        .map(|t| t.id)
        .collect();
    tags::set_for_customer(tx, row.id, &tag_ids).await?;
    let customer = one(tx, row).await?;
    journal.record(
        CUSTOMER,
        customer.id,
        AuditAction::Created,
        created_entry(&customer),
        &customer,
    )?;
    Ok(customer)
}

/// Creates many customers at once (bulk loads: demo data, imports) with the same checks
/// as [`create`], all of them in one transaction with multi-row statements: every field of
/// every customer is checked first (errors name `customers[i].field`), duplicate USCCs are
/// looked up in one query, and each customer gets its audit entry and event.
pub async fn create_batch(
    ctx: &Ctx,
    caller: &Caller,
    bodies: Vec<NewCustomer>,
) -> Result<Vec<Uuid>, AppError> {
    require(caller, Action::CreateCustomer)?;
    let today = today();
    let mut c = Checker::default();
    let mut owners: Vec<Uuid> = Vec::new();
    let mut referrers: Vec<Uuid> = Vec::new();
    let mut checked = Vec::with_capacity(bodies.len());
    for (i, body) in bodies.into_iter().enumerate() {
        let mut one = Checker::default();
        let owner = body.owner_id.or(caller.user_id());
        let mut row = dto::check_new(&mut one, &body, today);
        if body.contacts.is_empty() {
            one.fail("contacts", "required", "must hold at least one contact");
        }
        if body.contacts.len() > dto::MAX_NEW_CONTACTS {
            one.fail("contacts", "too_many", "must hold at most 50 contacts");
        }
        let people: Vec<contacts::Model> = body
            .contacts
            .iter()
            .take(dto::MAX_NEW_CONTACTS)
            .cloned()
            .enumerate()
            .map(|(k, contact)| {
                dto::check_contact(&mut one, &format!("contacts[{k}]"), contact, row.id, today)
            })
            .collect();
        if !people.is_empty() && people.iter().filter(|k| k.is_primary).count() != 1 {
            one.fail(
                "contacts",
                "primary",
                "must have exactly one contact with is_primary",
            );
        }
        let tag_names = dto::check_tags(&mut one, "tags", body.tags);
        match owner {
            Some(owner) => {
                if Some(owner) != caller.user_id() {
                    require(caller, Action::AssignOwner)?;
                }
                if !owners.contains(&owner) {
                    owners.push(owner);
                }
                row.owner_id = owner;
            }
            None => one.fail("owner_id", "required", "is required"),
        }
        if let Some(referrer) = row.referred_by
            && !referrers.contains(&referrer)
        {
            referrers.push(referrer);
        }
        row.created_by = caller.user_id().unwrap_or(row.owner_id);
        for e in one.errors {
            c.fail(format!("customers[{i}].{}", e.field), &e.code, &e.message);
        }
        checked.push(Checked {
            row,
            contacts: people,
            tags: tag_names,
        });
    }
    for owner in owners {
        if !users::find(&ctx.db, owner).await?.is_some_and(|u| u.active) {
            for (i, item) in checked.iter().enumerate() {
                if item.row.owner_id == owner {
                    c.fail(
                        format!("customers[{i}].owner_id"),
                        "unknown_user",
                        "must be an active user",
                    );
                }
            }
        }
    }
    for referrer in referrers {
        if customers::find_visible(&ctx.db, referrer, caller.visibility())
            .await?
            .is_none()
        {
            for (i, item) in checked.iter().enumerate() {
                if item.row.referred_by == Some(referrer) {
                    c.fail(
                        format!("customers[{i}].referred_by"),
                        "unknown_customer",
                        "must be a customer you can see",
                    );
                }
            }
        }
    }
    let mut seen = std::collections::HashSet::new();
    for (i, item) in checked.iter().enumerate() {
        if !item.row.uscc.is_empty() && !seen.insert(item.row.uscc.clone()) {
            c.fail(
                format!("customers[{i}].uscc"),
                "duplicate",
                "appears more than once in this batch",
            );
        }
    }
    c.finish()?;

    let tx = ctx.begin().await?;
    let usccs: Vec<String> = checked.iter().map(|k| k.row.uscc.clone()).collect();
    if let Some(existing) = customers::find_live_by_usccs(&tx, &usccs).await?.first() {
        let seen = customers::find_visible(&tx, existing.id, caller.visibility())
            .await?
            .is_some();
        return Err(RuleViolation::DuplicateUscc {
            existing_id: seen.then_some(existing.id),
        }
        .into());
    }
    let (policy, _) = tier_policy::get(&tx).await?;
    let mut all_tags: Vec<String> = checked
        .iter()
        .flat_map(|k| k.tags.iter().cloned())
        .collect();
    all_tags.sort();
    all_tags.dedup();
    let tag_ids: HashMap<String, Uuid> = tags::ensure(&tx, &all_tags)
        .await?
        .into_iter()
        .map(|t| (t.name, t.id))
        .collect();
    let mut rows = Vec::with_capacity(checked.len());
    let mut people = Vec::new();
    let mut links = Vec::new();
    let mut journal = Journal::new();
    for Checked {
        mut row,
        contacts: mut theirs,
        tags: names,
    } in checked
    {
        row.apply_tier(&policy, today, None);
        links.extend(
            names
                .iter()
                .filter_map(|n| tag_ids.get(n))
                .map(|t| (row.id, *t)),
        );
        theirs.sort_by_key(|k| (!k.is_primary, k.id));
        let shown = Customer::build(
            row.clone(),
            theirs.iter().cloned().map(Contact::from).collect(),
            {
                let mut sorted = names;
                sorted.sort();
                sorted
            },
            today,
        );
        journal.record(
            CUSTOMER,
            row.id,
            AuditAction::Created,
            created_entry(&shown),
            &shown,
        )?;
        people.extend(theirs);
        rows.push(row);
    }
    let ids: Vec<Uuid> = rows.iter().map(|r| r.id).collect();
    for chunk in rows.chunks(500) {
        customers::insert_many(&tx, chunk.to_vec())
            .await
            .map_err(uscc_race)?;
    }
    for chunk in people.chunks(1000) {
        contacts::insert_many(&tx, chunk.to_vec()).await?;
    }
    for chunk in links.chunks(5000) {
        tags::link_many(&tx, chunk.to_vec()).await?;
    }
    journal.commit(tx, caller).await?;
    Ok(ids)
}

/// One customer with its contacts and tags.
pub async fn get(ctx: &Ctx, caller: &Caller, id: Uuid) -> Result<Customer, AppError> {
    require(caller, Action::ReadCustomers)?;
    let row = customers::find_visible_detailed(&ctx.db, id, caller.visibility())
        .await?
        .ok_or(AppError::NotFound)?;
    built(vec![row])
        .pop()
        .ok_or_else(|| AppError::internal("customer vanished"))
}

/// Changes a customer (JSON merge patch). Needs `If-Match` with the current version.
/// Changing `owner_id` or pinning `tier` is for managers and admins. Every change is logged
/// with old and new values.
pub async fn update(
    ctx: &Ctx,
    caller: &Caller,
    id: Uuid,
    if_match: IfMatch,
    patch: Input<CustomerPatch>,
) -> Result<Customer, AppError> {
    require(caller, Action::EditCustomer)?;
    let tx = ctx.begin().await?;
    let current = visible(&tx, caller, id).await?;
    // The change this caller may make is known only from the body; a body that does not
    // decode is reported after the precondition.
    let patch = patch.take();
    if let Ok(p) = &patch {
        if p.owner_id.is_some() {
            require(caller, Action::AssignOwner)?;
        }
        if p.tier.is_some() || p.tier_reason.is_some() {
            require(caller, Action::PinTier)?;
        }
    }
    if_match.require(current.version)?;
    let patch = patch?;
    ensure_live(&current)?;
    let expected = current.version;
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
            check_referrer(&tx, caller, &mut c, referrer, row.id).await?;
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
                c.fail(
                    "tier_reason",
                    "required_with",
                    "is required when pinning a tier",
                );
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
    c.finish()?;
    if uscc_changed {
        uscc_conflict(&tx, caller, &row.uscc, Some(row.id)).await?;
    }
    let (policy, _) = tier_policy::get(&tx).await?;
    let volumes = crm_store::opportunities::purchase_volumes(
        &tx,
        &[row.id],
        today - chrono::Duration::days(365),
    )
    .await?;
    row.apply_tier(&policy, today, volumes.get(&row.id).copied());
    row.updated_at = Utc::now();
    let saved = customers::save(&tx, row, expected)
        .await
        .map_err(uscc_race)?
        .ok_or(RuleViolation::StaleVersion)?;
    let after = one(&tx, saved).await?;
    let changes = diff(&snapshot(&before), &snapshot(&after));
    let mut journal = Journal::new();
    if before.owner_id != after.owner_id {
        let subjects = crm_store::reminders::subjects_of_customer(&tx, after.id).await?;
        crate::reminders::retract(&tx, before.owner_id, &subjects, &mut journal).await?;
    }
    if !changes.is_empty() {
        let action = if changes.contains_key("owner_id") {
            AuditAction::OwnerChanged
        } else if changes.contains_key("tier_pinned") || changes.contains_key("tier_reason") {
            AuditAction::TierPinned
        } else {
            AuditAction::Updated
        };
        journal.record(CUSTOMER, after.id, action, Value::Object(changes), &after)?;
    }
    journal.commit(tx, caller).await?;
    Ok(after)
}

/// Archives a customer (managers and admins): it leaves lists unless `archived=true` is
/// asked for, keeps its history, and frees its USCC. Archiving an archived one is a no-op.
pub async fn archive(ctx: &Ctx, caller: &Caller, id: Uuid) -> Result<(), AppError> {
    require(caller, Action::ArchiveCustomer)?;
    let tx = ctx.begin().await?;
    let mut row = visible(&tx, caller, id).await?;
    let mut journal = Journal::new();
    if row.archived_at.is_none() {
        let version = row.version;
        let now = Utc::now();
        row.archived_at = Some(now);
        row.updated_at = now;
        let saved = customers::save(&tx, row, version)
            .await?
            .ok_or(RuleViolation::StaleVersion)?;
        let customer = one(&tx, saved).await?;
        journal.record(
            CUSTOMER,
            customer.id,
            AuditAction::Archived,
            json!({"archived": {"from": false, "to": true}}),
            &customer,
        )?;
    }
    journal.commit(tx, caller).await
}

/// Brings an archived customer back (managers and admins). 409 when another live customer
/// has taken its USCC meanwhile, or when it was purged.
pub async fn restore(ctx: &Ctx, caller: &Caller, id: Uuid) -> Result<Customer, AppError> {
    require(caller, Action::ArchiveCustomer)?;
    let tx = ctx.begin().await?;
    let mut row = visible(&tx, caller, id).await?;
    if row.purged_at.is_some() {
        return Err(RuleViolation::CustomerPurged.into());
    }
    let mut journal = Journal::new();
    if row.archived_at.is_some() {
        uscc_conflict(&tx, caller, &row.uscc, Some(row.id)).await?;
        let version = row.version;
        row.archived_at = None;
        row.updated_at = Utc::now();
        row = customers::save(&tx, row, version)
            .await
            .map_err(uscc_race)?
            .ok_or(RuleViolation::StaleVersion)?;
        let customer = one(&tx, row.clone()).await?;
        journal.record(
            CUSTOMER,
            customer.id,
            AuditAction::Restored,
            json!({"archived": {"from": true, "to": false}}),
            &customer,
        )?;
    }
    let customer = one(&tx, row).await?;
    journal.commit(tx, caller).await?;
    Ok(customer)
}

/// One changed field of a change-log entry: its value before and after (any JSON value;
/// `null` when there was none).
#[derive(Debug, Serialize, ToSchema)]
pub struct FieldChange {
    /// The value before.
    pub from: Value,
    /// The value after.
    pub to: Value,
}

/// A change-log entry.
#[derive(Debug, Serialize, ToSchema)]
pub struct HistoryEntry {
    /// Entry id.
    pub id: Uuid,
    /// When.
    pub at: chrono::DateTime<Utc>,
    /// Who (`null` if the account no longer exists, or it was an integrator or the system).
    pub actor_id: Option<Uuid>,
    /// The integrator's API key, when one made the change.
    pub actor_api_key_id: Option<Uuid>,
    /// What: `created`, `updated`, `owner_changed`, `tier_pinned`, `tier_changed`, `tags_changed`,
    /// `contact_added`, `contact_changed`, `contact_removed`, `attachment_added`,
    /// `attachment_removed`, `archived`, `restored`, `merged`, `merged_into`, `purged`.
    #[schema(value_type = crm_domain::audit::AuditAction, example = "updated")]
    pub action: String,
    /// `{field: {from, to}}` for each changed field.
    #[schema(value_type = std::collections::BTreeMap<String, FieldChange>, example = json!({"customer_type": {"from": "potential", "to": "customer"}}))]
    pub changes: Value,
    /// The request that made the change (its `X-Request-Id`), when there was one.
    pub request_id: Option<String>,
}

impl From<audit::Model> for HistoryEntry {
    fn from(e: audit::Model) -> Self {
        Self {
            id: e.id,
            at: e.at,
            actor_id: e.actor_user_id,
            actor_api_key_id: e.actor_api_key_id,
            action: e.action,
            changes: e.changes,
            request_id: e.request_id,
        }
    }
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
pub async fn history(
    ctx: &Ctx,
    caller: &Caller,
    id: Uuid,
    page: Input<PageQuery>,
) -> Result<HistoryList, AppError> {
    require(caller, Action::ReadCustomers)?;
    let row = visible(&ctx.db, caller, id).await?;
    history_page(&ctx.db, CUSTOMER, row.id, page).await
}

/// A page of a record's change log, newest first; the caller has been found to see it.
pub(crate) async fn history_page(
    conn: &impl ConnectionTrait,
    entity: EntityType,
    id: Uuid,
    page: Input<PageQuery>,
) -> Result<HistoryList, AppError> {
    let page = page.take()?.page()?;
    let entries = audit::list(conn, entity.as_str(), id, page.after, page.limit).await?;
    let next = page.next_cursor(entries.last().map(|e| e.id), entries.len());
    Ok(HistoryList {
        items: entries.into_iter().map(HistoryEntry::from).collect(),
        next_cursor: next,
    })
}

/// A customer's tag set.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TagSet {
    /// Tag names; new ones are added to the catalogue. At most 20.
    #[schema(example = json!(["高潜力客户", "意向产品A"]), max_items = 20, value_type = Vec<crate::customers::dto::TagText>)]
    pub tags: Vec<String>,
}

/// Replaces a customer's tags. Honours `If-Match` when sent.
pub async fn set_tags(
    ctx: &Ctx,
    caller: &Caller,
    id: Uuid,
    if_match: IfMatch,
    body: Input<TagSet>,
) -> Result<Customer, AppError> {
    require(caller, Action::EditCustomer)?;
    let tx = ctx.begin().await?;
    let row = visible(&tx, caller, id).await?;
    if_match.check(row.version)?;
    let body = body.take()?;
    let mut c = Checker::default();
    let names = dto::check_tags(&mut c, "tags", body.tags);
    c.finish()?;
    ensure_live(&row)?;
    let before = one(&tx, row.clone()).await?;
    let ids: Vec<Uuid> = tags::ensure(&tx, &names)
        .await?
        .into_iter()
        .map(|t| t.id)
        .collect();
    tags::set_for_customer(&tx, row.id, &ids).await?;
    let customer = touch(&tx, row).await?;
    let mut journal = Journal::new();
    if before.tags != customer.tags {
        journal.record(
            CUSTOMER,
            customer.id,
            AuditAction::TagsChanged,
            json!({"tags": {"from": before.tags, "to": customer.tags}}),
            &customer,
        )?;
    }
    journal.commit(tx, caller).await?;
    Ok(customer)
}

/// Bumps a customer's version and `updated_at` after a change to its children.
pub(crate) async fn touch(
    conn: &impl ConnectionTrait,
    mut row: customers::Model,
) -> Result<Customer, AppError> {
    let version = row.version;
    row.updated_at = Utc::now();
    let saved = customers::save(conn, row, version)
        .await?
        .ok_or(RuleViolation::StaleVersion)?;
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
pub async fn duplicates(ctx: &Ctx, caller: &Caller, id: Uuid) -> Result<Vec<Duplicate>, AppError> {
    require(caller, Action::ReadCustomers)?;
    let row = visible(&ctx.db, caller, id).await?;
    let mine = contacts::for_customers(&ctx.db, &[row.id]).await?;
    let mobiles: Vec<String> = mine.iter().map(|k| k.mobile.clone()).collect();
    let emails: Vec<String> = mine.iter().filter_map(|k| k.email.clone()).collect();
    let others =
        customers::likely_duplicates(&ctx.db, caller.visibility(), &row, &mobiles, &emails).await?;
    let others = with_children(&ctx.db, others).await?;
    Ok(others
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
        .collect())
}

/// Which customer to merge into this one.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MergeRequest {
    /// The customer whose contacts, tags, attachments and history move here; it is archived.
    pub source_id: Uuid,
}

/// Merges another customer into this one (managers and admins), in one transaction: the
/// source's contacts (as non-primary), tags, attachments, deals, work orders and history
/// move to the survivor, and the source is archived.
pub async fn merge(
    ctx: &Ctx,
    caller: &Caller,
    id: Uuid,
    body: Input<MergeRequest>,
) -> Result<Customer, AppError> {
    require(caller, Action::MergeCustomers)?;
    let tx = ctx.begin().await?;
    let survivor = visible(&tx, caller, id).await?;
    let source_id = body.take()?.source_id;
    let mut source = visible(&tx, caller, source_id).await?;
    if survivor.id == source.id {
        return Err(RuleViolation::MergeIntoSelf.into());
    }
    ensure_live(&survivor)?;
    ensure_live(&source)?;
    let moved_contacts = contacts::for_customers(&tx, &[source.id]).await?.len();
    let moved_attachments = crate::attachments::move_all(&tx, source.id, survivor.id).await?;
    contacts::move_all(&tx, source.id, survivor.id).await?;
    tags::move_all(&tx, source.id, survivor.id).await?;
    let moved_deals = crm_store::opportunities::move_all(&tx, source.id, survivor.id).await?;
    let moved_orders = crm_store::work_orders::move_all(&tx, source.id, survivor.id).await?;
    let moved_activities = crm_store::activities::move_all(&tx, source.id, survivor.id).await?;
    let moved_contracts = crm_store::contracts::move_all(&tx, source.id, survivor.id).await?;
    if let Some(at) = source.last_activity_at {
        customers::record_contact(&tx, survivor.id, at).await?;
    }
    if let Some(at) = source.last_engaged_at {
        customers::record_engagement(&tx, survivor.id, at).await?;
    }
    crm_store::surveys::move_all(&tx, source.id, survivor.id).await?;
    crm_store::leads::move_customer(&tx, source.id, survivor.id).await?;
    audit::move_all(&tx, CUSTOMER.as_str(), source.id, survivor.id).await?;
    let version = source.version;
    let now = Utc::now();
    source.archived_at = Some(now);
    source.updated_at = now;
    let source = customers::save(&tx, source, version)
        .await?
        .ok_or(RuleViolation::StaleVersion)?;
    let source = one(&tx, source).await?;
    let mut journal = Journal::new();
    journal.record(
        CUSTOMER,
        source.id,
        AuditAction::MergedInto,
        json!({"merged_into": {"from": null, "to": survivor.id}, "archived": {"from": false, "to": true}}),
        &source,
    )?;
    // The survivor's type and tier follow the deals it now holds.
    crate::opportunities::follow_customer(&tx, survivor.id, false, &mut journal).await?;
    let survivor = customers::find_visible(&tx, survivor.id, crm_domain::access::Visibility::All)
        .await?
        .ok_or(AppError::NotFound)?;
    let customer = touch(&tx, survivor).await?;
    journal.record(
        CUSTOMER,
        customer.id,
        AuditAction::Merged,
        json!({"merged_from": {"from": null, "to": source.id},
               "contacts_moved": {"from": 0, "to": moved_contacts},
               "attachments_moved": {"from": 0, "to": moved_attachments},
               "opportunities_moved": {"from": 0, "to": moved_deals},
               "work_orders_moved": {"from": 0, "to": moved_orders},
               "activities_moved": {"from": 0, "to": moved_activities},
               "contracts_moved": {"from": 0, "to": moved_contracts}}),
        &customer,
    )?;
    journal.commit(tx, caller).await?;
    Ok(customer)
}

/// Irreversibly removes a customer's personal data (admins): contacts, attachments (and
/// their files), needs, address, landline, tier reason and the whole change log, which
/// keeps a single `purged` entry saying who did it. The customer stays archived for good,
/// so that references to it remain valid.
pub async fn purge(ctx: &Ctx, caller: &Caller, id: Uuid) -> Result<(), AppError> {
    require(caller, Action::PurgeCustomer)?;
    let tx = ctx.begin().await?;
    let mut row = visible(&tx, caller, id).await?;
    if row.purged_at.is_some() {
        return Err(RuleViolation::CustomerPurged.into());
    }
    // Held from here to the commit: the reminder generator waits rather than storing a
    // reminder after the ones below are gone.
    customers::lock(&tx, row.id).await?;
    let files = crate::attachments::delete_all(&tx, row.id).await?;
    // Reminders name contacts and quote titles: they go, with their change logs.
    let subjects = crm_store::reminders::subjects_of_customer(&tx, row.id).await?;
    for reminder in crm_store::reminders::delete_for_subjects(&tx, &subjects).await? {
        audit::delete_for(&tx, EntityType::Reminder.as_str(), reminder).await?;
    }
    contacts::delete_for_customer(&tx, row.id).await?;
    tags::set_for_customer(&tx, row.id, &[]).await?;
    audit::delete_for(&tx, CUSTOMER.as_str(), row.id).await?;
    // Work orders keep their numbers, kinds and times for the service figures; their texts
    // and change logs, which may name people, go.
    for order in crm_store::work_orders::purge_customer(&tx, row.id).await? {
        audit::delete_for(&tx, EntityType::WorkOrder.as_str(), order).await?;
    }
    for record in crm_store::activities::delete_for_customer(&tx, row.id).await? {
        audit::delete_for(&tx, EntityType::Activity.as_str(), record).await?;
    }
    for survey in crm_store::surveys::delete_for_customer(&tx, row.id).await? {
        audit::delete_for(&tx, EntityType::Survey.as_str(), survey).await?;
    }
    let version = row.version;
    let now = Utc::now();
    row.needs = None;
    row.address = None;
    row.phone = None;
    row.tier_reason = None;
    row.lost_reason = None;
    row.archived_at = row.archived_at.or(Some(now));
    row.purged_at = Some(now);
    row.updated_at = now;
    let saved = customers::save(&tx, row, version)
        .await?
        .ok_or(RuleViolation::StaleVersion)?;
    let mut journal = Journal::new();
    // The event carries only the id: the purged data must not travel on.
    journal.record(
        CUSTOMER,
        saved.id,
        AuditAction::Purged,
        json!({}),
        &json!({"id": saved.id}),
    )?;
    journal.commit(tx, caller).await?;
    // The rows are gone; now the files. A failure here leaves only unreachable bytes, logged.
    crate::attachments::remove_files(ctx, files).await;
    tracing::info!(customer_id = %saved.id, "customer purged");
    Ok(())
}
