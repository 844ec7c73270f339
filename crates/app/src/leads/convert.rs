//! Conversion (转化为商机): a lead becomes a customer — new, checked by every customer rule, or
//! an existing one — and a deal, in one transaction, and is marked `converted` with both
//! links. Errors name the lead field to fix, or the conversion field to add.

use chrono::Utc;
use crm_domain::access::{Action, Caller};
use crm_domain::audit::{AuditAction, EntityType};
use crm_domain::lead::{LeadEvent, LeadSource, LeadStatus};
use crm_store::{customers, leads};
use serde::{Deserialize, Serialize};
use serde_json::json;
use utoipa::ToSchema;
use uuid::Uuid;

use super::dto::Lead;
use super::{customer_source, visible};
use crate::check::Checker;
use crate::customers::dto::{Customer, NewContact, NewCustomer};
use crate::error::{AppError, FieldError};
use crate::input::Input;
use crate::journal::Journal;
use crate::opportunities::{self, Opportunity};
use crate::{Ctx, require};

/// What a new customer needs beyond what the lead has.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ConvertCustomer {
    /// The full legal name, when it differs from the lead's company name.
    #[schema(min_length = 2, max_length = 100)]
    pub name: Option<String>,
    /// The USCC, when the lead has none.
    #[schema(pattern = r"^[0-9A-HJ-NPQRTUWXYa-hj-npqrtuwxy]{18}$", max_length = 18)]
    pub uscc: Option<String>,
    /// The industry division, when the lead has none.
    #[schema(pattern = r"^[A-Ta-t][0-9]{2}$", max_length = 3)]
    pub industry_code: Option<String>,
    /// `potential` (default), `customer` or `lost`.
    #[schema(value_type = Option<crm_domain::customer::CustomerType>)]
    pub customer_type: Option<String>,
    /// The contact's job title (职务), which a customer's contacts must have.
    #[schema(example = "采购经理", min_length = 1, max_length = 50)]
    pub contact_title: Option<String>,
    /// Province code, when the lead has none and the USCC does not tell.
    #[schema(pattern = r"^[0-9]{2}$", max_length = 2)]
    pub region: Option<String>,
}

/// The deal a conversion creates.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ConvertDeal {
    /// What is being sold; defaults to the company name followed by "商机".
    #[schema(min_length = 2, max_length = 200)]
    pub name: Option<String>,
    /// Estimated amount in yuan.
    #[schema(
        example = "500000.00",
        pattern = r"^[0-9]{1,10}(\.[0-9]{1,2})?$",
        max_length = 13
    )]
    pub amount: String,
    /// Expected close date, `YYYY-MM-DD`.
    #[schema(example = "2027-01-31", format = Date)]
    pub expected_close_date: String,
    /// 30, 60 or 90.
    #[schema(value_type = crate::opportunities::ProbabilitySchema)]
    pub probability: i64,
}

/// A conversion: link `customer_id`, or create a customer from the lead (with `customer`
/// for what the lead lacks); and the deal.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ConvertLead {
    /// An existing live customer you can see; omit to create one from the lead.
    pub customer_id: Option<Uuid>,
    /// For a new customer: what the lead lacks. Not with `customer_id`.
    pub customer: Option<ConvertCustomer>,
    /// The deal.
    pub opportunity: ConvertDeal,
}

/// What a conversion made.
#[derive(Debug, Serialize, ToSchema)]
pub struct Conversion {
    /// The lead, now `converted`.
    pub lead: Lead,
    /// The customer (new or linked).
    pub customer: Customer,
    /// The new deal.
    pub opportunity: Opportunity,
}

/// Where a customer field's value came from, so the error names what to fix.
fn lead_field(field: &str) -> String {
    match field {
        "name" => "company_name".to_owned(),
        "uscc" => "uscc".to_owned(),
        "industry_code" => "industry_code".to_owned(),
        "region" => "region".to_owned(),
        "needs" => "needs".to_owned(),
        "contacts[0].name" => "contact_name".to_owned(),
        "contacts[0].mobile" | "contacts" => "mobile".to_owned(),
        "contacts[0].email" => "email".to_owned(),
        "contacts[0].title" => "customer.contact_title".to_owned(),
        "customer_type" => "customer.customer_type".to_owned(),
        other => format!("customer.{other}"),
    }
}

/// Converts an open lead the caller can see.
pub async fn convert(
    ctx: &Ctx,
    caller: &Caller,
    id: Uuid,
    body: Input<ConvertLead>,
) -> Result<Conversion, AppError> {
    require(caller, Action::EditLead)?;
    let tx = ctx.begin().await?;
    let lead = visible(&tx, caller, id).await?;
    let body = body.take()?;
    let status = LeadStatus::parse(&lead.status).unwrap_or(LeadStatus::New);
    let converted = crm_domain::lead::transition(status, LeadEvent::Convert)?;

    let owner = lead.owner_id.or(caller.user_id());
    let mut c = Checker::default();
    let deal_name = body
        .opportunity
        .name
        .clone()
        .unwrap_or_else(|| format!("{} 商机", lead.company_name));
    let deal = opportunities::check_deal(
        &mut c,
        "opportunity.",
        &deal_name,
        &body.opportunity.amount,
        &body.opportunity.expected_close_date,
        body.opportunity.probability,
        owner,
    );
    if body.customer_id.is_some() && body.customer.is_some() {
        c.fail(
            "customer",
            "exclusive",
            "must be left out when customer_id names an existing customer",
        );
    }
    let mut journal = Journal::new();
    let customer = match body.customer_id {
        Some(existing) => {
            let found = customers::find_visible(&tx, existing, caller.visibility()).await?;
            match found {
                None => {
                    c.fail(
                        "customer_id",
                        "unknown_customer",
                        "must be a customer you can see",
                    );
                    c.finish()?;
                    return Err(AppError::NotFound);
                }
                Some(found) => {
                    c.finish()?;
                    crate::customers::ensure_live(&found)?;
                    crate::customers::one(&tx, found).await?
                }
            }
        }
        None => {
            let extra = body.customer.unwrap_or_default();
            let new = NewCustomer {
                name: extra.name.unwrap_or_else(|| lead.company_name.clone()),
                uscc: extra.uscc.or(lead.uscc.clone()).unwrap_or_default(),
                industry_code: extra
                    .industry_code
                    .or(lead.industry_code.clone())
                    .unwrap_or_default(),
                customer_type: extra
                    .customer_type
                    .unwrap_or_else(|| "potential".to_owned()),
                contacts: vec![NewContact {
                    name: lead.contact_name.clone(),
                    title: extra.contact_title.unwrap_or_default(),
                    mobile: lead.mobile.clone().unwrap_or_default(),
                    email: lead.email.clone(),
                    birthday: None,
                    is_primary: true,
                }],
                annual_budget: None,
                needs: lead.needs.clone(),
                scale: None,
                source: Some(
                    customer_source(LeadSource::parse(&lead.source).unwrap_or(LeadSource::Other))
                        .to_owned(),
                ),
                address: None,
                phone: None,
                region: extra.region.or(lead.region.clone()),
                owner_id: owner,
                cooperation_since: None,
                influence: None,
                referred_by: lead.referred_by,
                tags: Vec::new(),
            };
            // What neither the lead nor the conversion gives is missing, not malformed.
            let missing = |field: &str| match field {
                "uscc" => new.uscc.trim().is_empty(),
                "industry_code" => new.industry_code.trim().is_empty(),
                "contacts[0].mobile" => new
                    .contacts
                    .first()
                    .is_none_or(|c| c.mobile.trim().is_empty()),
                _ => false,
            };
            let missing: Vec<&str> = ["uscc", "industry_code", "contacts[0].mobile"]
                .into_iter()
                .filter(|f| missing(f))
                .collect();
            // Every customer rule applies; its errors are named after the lead's fields.
            let checked = match crate::customers::check_create(&tx, caller, new).await {
                Ok(checked) => Some(checked),
                Err(AppError::Validation(errors)) => {
                    for e in errors {
                        let field = lead_field(&e.field);
                        if missing.contains(&e.field.as_str()) {
                            let message = if e.field == "contacts[0].mobile" {
                                "the lead has no mobile number, which a customer's contact needs: add one to the lead"
                            } else {
                                "the lead has none: give it in `customer`"
                            };
                            c.errors.push(FieldError::new(field, "required", message));
                        } else {
                            c.errors.push(FieldError::new(field, e.code, e.message));
                        }
                    }
                    None
                }
                Err(other) => return Err(other),
            };
            c.finish()?;
            let checked = checked.ok_or_else(|| AppError::internal("customer not checked"))?;
            crate::customers::insert_checked(&tx, caller, checked, &mut journal).await?
        }
    };
    let opportunity = opportunities::insert_checked(
        &tx,
        caller,
        customer.id,
        Some(lead.id),
        deal,
        customer.owner_id,
        &mut journal,
    )
    .await?;
    let mut row = lead.clone();
    row.status = converted.as_str().to_owned();
    row.customer_id = Some(customer.id);
    row.opportunity_id = Some(opportunity.id);
    if row.owner_id.is_none() {
        row.owner_id = caller.user_id();
    }
    row.updated_at = Utc::now();
    let saved = leads::save(&tx, row, lead.version)
        .await?
        .ok_or(crm_domain::rule::RuleViolation::StaleVersion)?;
    let after = Lead::from(saved);
    journal.record(
        EntityType::Lead,
        after.id,
        AuditAction::Converted,
        json!({"status": {"from": lead.status, "to": after.status},
               "customer_id": {"from": null, "to": customer.id},
               "opportunity_id": {"from": null, "to": opportunity.id}}),
        &after,
    )?;
    journal.commit(tx, caller).await?;
    Ok(Conversion {
        lead: super::show(&ctx.db, caller, after).await?,
        customer,
        opportunity,
    })
}
