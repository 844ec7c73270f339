//! Contacts of a customer: at least one, exactly one primary. Every change is a new
//! version of the customer and an entry in its change log.

use chrono::Utc;
use crm_domain::access::{Action, Caller};
use crm_domain::audit::{AuditAction, EntityType};
use crm_domain::rule::RuleViolation;
use crm_store::{ConnectionTrait, contacts, customers};
use serde::{Deserialize, Serialize};
use serde_json::json;
use utoipa::ToSchema;
use uuid::Uuid;

use crate::check::{Checker, present, today};
use crate::customers::dto::{Contact, NewContact, check_contact};
use crate::customers::{ensure_live, touch, visible};
use crate::error::AppError;
use crate::input::Input;
use crate::journal::Journal;
use crate::{Ctx, require};

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
    #[schema(value_type = String, required = false, min_length = 1, max_length = 50)]
    pub name: Option<Option<String>>,
    /// Job title.
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = String, required = false, min_length = 1, max_length = 50)]
    pub title: Option<Option<String>>,
    /// Mobile number.
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = String, required = false, pattern = r"^1[3-9][0-9]{9}$", max_length = 11)]
    pub mobile: Option<Option<String>>,
    /// Email, or `null`.
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>, format = Email, max_length = 254)]
    pub email: Option<Option<String>>,
    /// Birthday, or `null`.
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>, format = Date)]
    pub birthday: Option<Option<String>>,
    /// `true` makes this the primary contact (the previous one stops being primary).
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = bool, required = false)]
    pub is_primary: Option<Option<bool>>,
}

fn contact_json(c: &contacts::Model) -> serde_json::Value {
    serde_json::to_value(Contact::from(c.clone())).unwrap_or_default()
}

/// Fails `contact_id` unless it names one of `customer_id`'s contacts (for records that
/// point at the person spoken to: work orders, communication records).
pub(crate) async fn check_belongs(
    conn: &impl ConnectionTrait,
    c: &mut Checker,
    customer_id: Uuid,
    contact_id: Option<Uuid>,
) -> Result<(), AppError> {
    let Some(id) = contact_id else {
        return Ok(());
    };
    let theirs = contacts::find(conn, id)
        .await?
        .is_some_and(|k| k.customer_id == customer_id);
    if !theirs {
        c.fail(
            "contact_id",
            "unknown_contact",
            "must be a contact of this customer",
        );
    }
    Ok(())
}

/// A customer's contacts, primary first.
pub async fn list(ctx: &Ctx, caller: &Caller, customer_id: Uuid) -> Result<ContactList, AppError> {
    require(caller, Action::ReadCustomers)?;
    let customer = visible(&ctx.db, caller, customer_id).await?;
    let items = contacts::for_customers(&ctx.db, &[customer.id])
        .await?
        .into_iter()
        .map(Contact::from)
        .collect();
    Ok(ContactList {
        items,
        next_cursor: None,
    })
}

/// Adds a contact. With `is_primary`, it becomes the primary contact.
pub async fn create(
    ctx: &Ctx,
    caller: &Caller,
    customer_id: Uuid,
    body: Input<NewContact>,
) -> Result<Contact, AppError> {
    require(caller, Action::EditCustomer)?;
    let tx = ctx.begin().await?;
    let customer = visible(&tx, caller, customer_id).await?;
    let body = body.take()?;
    let mut c = Checker::default();
    let contact = check_contact(&mut c, "", body, customer_id, today());
    c.finish()?;
    ensure_live(&customer)?;
    if contact.is_primary {
        contacts::clear_primary(&tx, customer.id).await?;
    }
    contacts::insert_many(&tx, vec![contact.clone()]).await?;
    let shown = touch(&tx, customer).await?;
    let mut journal = Journal::new();
    journal.record(
        EntityType::Customer,
        customer_id,
        AuditAction::ContactAdded,
        json!({"contact": {"from": null, "to": contact_json(&contact)}}),
        &shown,
    )?;
    journal.commit(tx, caller).await?;
    Ok(Contact::from(contact))
}

async fn visible_contact(
    conn: &impl ConnectionTrait,
    caller: &Caller,
    id: Uuid,
) -> Result<(contacts::Model, customers::Model), AppError> {
    let contact = contacts::find(conn, id).await?.ok_or(AppError::NotFound)?;
    let customer = visible(conn, caller, contact.customer_id).await?;
    Ok((contact, customer))
}

/// Changes a contact (merge patch). `is_primary: true` moves the primary flag here; a
/// primary contact cannot be un-marked directly: mark another one instead.
pub async fn update(
    ctx: &Ctx,
    caller: &Caller,
    id: Uuid,
    body: Input<ContactPatch>,
) -> Result<Contact, AppError> {
    require(caller, Action::EditCustomer)?;
    let tx = ctx.begin().await?;
    let (before, customer) = visible_contact(&tx, caller, id).await?;
    let patch = body.take()?;
    ensure_live(&customer)?;
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
    c.finish()?;
    after.id = before.id;
    after.created_at = before.created_at;
    after.updated_at = Utc::now();
    if after.is_primary && !before.is_primary {
        contacts::clear_primary(&tx, customer.id).await?;
    }
    contacts::update(&tx, after.clone()).await?;
    let shown = touch(&tx, customer).await?;
    let (from, to) = (contact_json(&before), contact_json(&after));
    let mut journal = Journal::new();
    if from != to {
        journal.record(
            EntityType::Customer,
            after.customer_id,
            AuditAction::ContactChanged,
            json!({"contact": {"from": from, "to": to}}),
            &shown,
        )?;
    }
    journal.commit(tx, caller).await?;
    Ok(Contact::from(after))
}

/// Removes a contact. The last contact cannot be removed (409); removing the primary one
/// makes the oldest remaining contact primary.
pub async fn delete(ctx: &Ctx, caller: &Caller, id: Uuid) -> Result<(), AppError> {
    require(caller, Action::EditCustomer)?;
    let tx = ctx.begin().await?;
    let (contact, customer) = visible_contact(&tx, caller, id).await?;
    ensure_live(&customer)?;
    let all = contacts::for_customers(&tx, &[customer.id]).await?;
    if all.len() <= 1 {
        return Err(RuleViolation::LastContact.into());
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
    let shown = touch(&tx, customer).await?;
    let mut journal = Journal::new();
    journal.record(
        EntityType::Customer,
        contact.customer_id,
        AuditAction::ContactRemoved,
        json!({"contact": {"from": contact_json(&contact), "to": null}}),
        &shown,
    )?;
    journal.commit(tx, caller).await
}
