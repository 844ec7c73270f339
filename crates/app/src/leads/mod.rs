//! Leads (线索): intake from web forms, fair scanners and imports, duplicate flags, routing by
//! assignment rules, manual assignment, conversion into a customer and a deal, and
//! disqualification. One intake pipeline serves a single lead and a 1,000-row import alike:
//! every row checked, duplicates and external ids looked up in bulk, rules applied, all valid
//! rows written in one transaction with their audit entries and events.

pub mod convert;
pub mod csv_import;
pub mod dto;

use std::collections::{HashMap, HashSet};

use chrono::Utc;
use crm_domain::access::{Action, Caller, Role, Visibility};
use crm_domain::audit::{AuditAction, EntityType};
use crm_domain::lead::{
    self as rules, LeadEvent, LeadFacts, LeadSource, LeadStatus, RuleConditions,
};
use crm_store::{ConnectionTrait, assignment_rules, contacts, customers, leads, users};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use utoipa::ToSchema;
use uuid::Uuid;

use self::dto::{
    CheckedLead, DuplicateOf, Lead, LeadList, LeadPatch, LeadQuery, NewLead, check_lead,
};
use crate::check::Checker;
use crate::customers::HistoryList;
use crate::error::{AppError, FieldError};
use crate::input::{IfMatch, Input};
use crate::journal::{Journal, changes};
use crate::page::{PageQuery, invalid};
use crate::{Ctx, require};

const LEAD: EntityType = EntityType::Lead;
/// Rows one import may hold.
pub const MAX_ROWS: usize = 1000;
/// Fields of the lead view that every change touches.
const VOLATILE: [&str; 3] = ["id", "version", "updated_at"];

/// A JSON import.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ImportRequest {
    /// The leads, at most 1,000. A row of the wrong shape (a missing field, a field of the
    /// wrong type, an unknown field) is answered `invalid` on its own; the others go on.
    #[schema(min_items = 1, max_items = 1000, value_type = Vec<NewLead>)]
    pub leads: Vec<Value>,
}

/// What happened to one row of an import.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum RowStatus {
    /// A new lead.
    Created,
    /// A new lead, flagged as a duplicate of an open lead or a customer (`duplicate_of`).
    Duplicate,
    /// The integrator sent this `external_id` before: the lead it made then.
    Existing,
    /// Not stored: `errors` lists every bad field.
    Invalid,
}

/// One row of an import's answer.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ImportRow {
    /// The row's number: its position in `leads` (from 1), or its line in the CSV file.
    pub row: usize,
    /// What happened.
    pub status: RowStatus,
    /// The lead made (or found, for `existing`).
    pub lead_id: Option<Uuid>,
    /// The rep it went to; `null` while in the managers' queue.
    pub owner_id: Option<Uuid>,
    /// What it duplicates.
    pub duplicate_of: Option<DuplicateOf>,
    /// Why it is invalid.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<FieldError>,
}

/// How many rows went which way.
#[derive(Debug, Clone, Default, Serialize, ToSchema)]
pub struct ImportSummary {
    /// Rows received.
    pub received: usize,
    /// New leads, duplicates excluded.
    pub created: usize,
    /// New leads flagged as duplicates.
    pub duplicates: usize,
    /// Rows whose `external_id` was known: nothing new.
    pub existing: usize,
    /// Rows not stored.
    pub invalid: usize,
    /// New leads given to a rep (the others wait in the managers' queue).
    pub assigned: usize,
}

/// The answer to an import: a summary and one entry per row, in order.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ImportReport {
    /// Counts.
    pub summary: ImportSummary,
    /// Every row.
    pub rows: Vec<ImportRow>,
}

/// A row on its way in: checked, or with its errors.
pub struct Row {
    /// The row's number for the answer.
    pub number: usize,
    /// The checked lead, or every error it has.
    pub lead: Result<CheckedLead, Vec<FieldError>>,
}

/// Whose `external_id` space a caller's leads are in.
fn creator_of(caller: &Caller) -> String {
    match caller {
        Caller::Person { id, .. } => format!("user:{id}"),
        Caller::Integrator { key_id, .. } => format!("key:{key_id}"),
        Caller::System => "system".to_owned(),
    }
}

/// The lead `id` if the caller can see it; 404 otherwise.
pub(crate) async fn visible(
    conn: &impl ConnectionTrait,
    caller: &Caller,
    id: Uuid,
) -> Result<leads::Model, AppError> {
    leads::find_visible(conn, id, caller.visibility())
        .await?
        .ok_or(AppError::NotFound)
}

/// What a lead duplicates is shown as far as the caller may see it: the flag and its reasons
/// always, the ids of customers and leads the caller cannot see never (an integrator never
/// learns customer ids).
pub(crate) async fn redact<'a>(
    conn: &impl ConnectionTrait,
    caller: &Caller,
    flags: impl IntoIterator<Item = &'a mut DuplicateOf>,
) -> Result<(), AppError> {
    let visibility = caller.visibility();
    if matches!(visibility, Visibility::All) {
        return Ok(());
    }
    let mut flags: Vec<&mut DuplicateOf> = flags.into_iter().collect();
    let customer_ids: Vec<Uuid> = flags.iter().filter_map(|d| d.customer_id).collect();
    let lead_ids: Vec<Uuid> = flags.iter().filter_map(|d| d.lead_id).collect();
    let seen_customers: HashSet<Uuid> = customers::visible_among(conn, &customer_ids, visibility)
        .await?
        .into_iter()
        .collect();
    let seen_leads: HashSet<Uuid> = leads::visible_among(conn, &lead_ids, visibility)
        .await?
        .into_iter()
        .collect();
    for flag in &mut flags {
        flag.customer_id = flag.customer_id.filter(|id| seen_customers.contains(id));
        flag.lead_id = flag.lead_id.filter(|id| seen_leads.contains(id));
    }
    Ok(())
}

/// Leads as the caller may see them: what they duplicate (see [`redact`]), and for an
/// integrator, which sees no customers or deals, not what they were converted into.
pub(crate) async fn redact_leads(
    conn: &impl ConnectionTrait,
    caller: &Caller,
    leads: &mut [Lead],
) -> Result<(), AppError> {
    if let Caller::Integrator { .. } = caller {
        for lead in leads.iter_mut() {
            lead.customer_id = None;
            lead.opportunity_id = None;
        }
    }
    redact(
        conn,
        caller,
        leads.iter_mut().filter_map(|l| l.duplicate_of.as_mut()),
    )
    .await
}

/// One lead as the caller may see it (see [`redact`]).
pub(crate) async fn show(
    conn: &impl ConnectionTrait,
    caller: &Caller,
    mut lead: Lead,
) -> Result<Lead, AppError> {
    redact_leads(conn, caller, std::slice::from_mut(&mut lead)).await?;
    Ok(lead)
}

/// Creates one lead (web form, fair scanner, rep). The same `external_id` from the same
/// integrator returns the lead it made before; the flag says whether this call made it.
pub async fn create(
    ctx: &Ctx,
    caller: &Caller,
    body: Input<NewLead>,
) -> Result<(Lead, bool), AppError> {
    require(caller, Action::CreateLead)?;
    let mut c = Checker::default();
    let checked = check_lead(&mut c, "", body.take()?);
    c.finish()?;
    let (rows, mut made) = intake(
        ctx,
        caller,
        vec![Row {
            number: 1,
            lead: Ok(checked),
        }],
    )
    .await?;
    let row = rows
        .into_iter()
        .next()
        .ok_or_else(|| AppError::internal("no row"))?;
    if !row.errors.is_empty() {
        return Err(AppError::Validation(row.errors));
    }
    match row.status {
        RowStatus::Existing => {
            let id = row.lead_id.ok_or_else(|| AppError::internal("no lead"))?;
            let found = leads::find_visible(&ctx.db, id, caller.visibility())
                .await?
                .ok_or(AppError::NotFound)?;
            Ok((show(&ctx.db, caller, Lead::from(found)).await?, false))
        }
        _ => {
            let lead = made
                .pop()
                .ok_or_else(|| AppError::internal("lead not made"))?;
            Ok((show(&ctx.db, caller, lead).await?, true))
        }
    }
}

/// Imports up to 1,000 leads given as JSON: every row answered, valid rows committed together.
pub async fn import(
    ctx: &Ctx,
    caller: &Caller,
    body: Input<ImportRequest>,
) -> Result<ImportReport, AppError> {
    require(caller, Action::CreateLead)?;
    let body = body.take()?;
    if body.leads.len() > MAX_ROWS {
        return Err(AppError::invalid_field(
            "leads",
            "too_many",
            "may hold at most 1000 leads per request",
        ));
    }
    if body.leads.is_empty() {
        return Err(AppError::invalid_field(
            "leads",
            "required",
            "must hold at least one lead",
        ));
    }
    let rows = body
        .leads
        .into_iter()
        .enumerate()
        .map(|(i, value)| {
            let lead = match crate::input::decode_value::<NewLead>(value) {
                Ok(lead) => lead,
                Err(error) => {
                    return Row {
                        number: i + 1,
                        lead: Err(vec![error]),
                    };
                }
            };
            let mut c = Checker::default();
            let checked = check_lead(&mut c, "", lead);
            Row {
                number: i + 1,
                lead: if c.ok() {
                    Ok(checked)
                } else {
                    Err(dto::row_errors(c))
                },
            }
        })
        .collect();
    import_rows(ctx, caller, rows).await
}

/// Imports rows already read (from JSON or CSV) and answers for each.
pub async fn import_rows(
    ctx: &Ctx,
    caller: &Caller,
    rows: Vec<Row>,
) -> Result<ImportReport, AppError> {
    require(caller, Action::CreateLead)?;
    let received = rows.len();
    let (rows, _) = intake(ctx, caller, rows).await?;
    let mut summary = ImportSummary {
        received,
        ..ImportSummary::default()
    };
    for row in &rows {
        match row.status {
            RowStatus::Created => summary.created += 1,
            RowStatus::Duplicate => summary.duplicates += 1,
            RowStatus::Existing => summary.existing += 1,
            RowStatus::Invalid => summary.invalid += 1,
        }
        if matches!(row.status, RowStatus::Created | RowStatus::Duplicate) && row.owner_id.is_some()
        {
            summary.assigned += 1;
        }
    }
    Ok(ImportReport { summary, rows })
}

/// A lead's duplicate and routing keys.
struct Keys<'a> {
    mobile: Option<&'a str>,
    email: Option<&'a str>,
    uscc: Option<&'a str>,
}

fn keys(lead: &CheckedLead) -> Keys<'_> {
    Keys {
        mobile: lead.mobile.as_deref(),
        email: lead.email.as_deref(),
        uscc: lead.uscc.as_deref(),
    }
}

/// What a key matches: the earliest lead (or customer) holding each value.
#[derive(Default)]
struct Index {
    by_mobile: HashMap<String, Uuid>,
    by_email: HashMap<String, Uuid>,
    by_uscc: HashMap<String, Uuid>,
}

impl Index {
    fn add(&mut self, keys: &Keys<'_>, id: Uuid) {
        if let Some(v) = keys.mobile {
            self.by_mobile.entry(v.to_owned()).or_insert(id);
        }
        if let Some(v) = keys.email {
            self.by_email.entry(v.to_owned()).or_insert(id);
        }
        if let Some(v) = keys.uscc {
            self.by_uscc.entry(v.to_owned()).or_insert(id);
        }
    }

    /// The first match and every reason it matches.
    fn find(&self, keys: &Keys<'_>) -> Option<(Uuid, Vec<String>)> {
        let hits = [
            (keys.uscc.and_then(|v| self.by_uscc.get(v)), "same_uscc"),
            (
                keys.mobile.and_then(|v| self.by_mobile.get(v)),
                "same_mobile",
            ),
            (keys.email.and_then(|v| self.by_email.get(v)), "same_email"),
        ];
        let id = *hits.iter().find_map(|(hit, _)| *hit)?;
        let reasons = hits
            .iter()
            .filter(|(hit, _)| *hit == Some(&id))
            .map(|(_, reason)| (*reason).to_owned())
            .collect();
        Some((id, reasons))
    }
}

/// Open leads and live customers holding any of these keys, indexed, with the customers'
/// owners.
struct Matches {
    leads: Index,
    customers: Index,
    owners: HashMap<Uuid, Uuid>,
}

/// Everything leads with these keys could duplicate, one indexed query per key and table; `except` is left out
/// (a lead being edited does not duplicate itself).
async fn matches(
    conn: &impl ConnectionTrait,
    mobiles: &[String],
    emails: &[String],
    usccs: &[String],
    except: Option<Uuid>,
) -> Result<Matches, AppError> {
    let mut lead_index = Index::default();
    for open in leads::open_matching(conn, mobiles, emails, usccs).await? {
        if Some(open.id) == except {
            continue;
        }
        lead_index.add(
            &Keys {
                mobile: open.mobile.as_deref(),
                email: open.email.as_deref(),
                uscc: open.uscc.as_deref(),
            },
            open.id,
        );
    }
    let mut customer_index = Index::default();
    let mut customer_owner: HashMap<Uuid, Uuid> = HashMap::new();
    for customer in customers::find_live_by_usccs(conn, usccs).await? {
        customer_owner.insert(customer.id, customer.owner_id);
        customer_index.add(
            &Keys {
                mobile: None,
                email: None,
                uscc: Some(&customer.uscc),
            },
            customer.id,
        );
    }
    let people = contacts::matching(conn, mobiles, emails).await?;
    let people_customers: Vec<Uuid> = people.iter().map(|p| p.customer_id).collect();
    let live: HashMap<Uuid, Uuid> = customers::find_live(conn, &people_customers)
        .await?
        .into_iter()
        .map(|c| (c.id, c.owner_id))
        .collect();
    for person in &people {
        if let Some(owner) = live.get(&person.customer_id) {
            customer_owner.insert(person.customer_id, *owner);
            customer_index.add(
                &Keys {
                    mobile: Some(&person.mobile),
                    email: person.email.as_deref(),
                    uscc: None,
                },
                person.customer_id,
            );
        }
    }
    Ok(Matches {
        leads: lead_index,
        customers: customer_index,
        owners: customer_owner,
    })
}

/// An active rule with its conditions and active assignees.
struct ActiveRule {
    id: Uuid,
    conditions: RuleConditions,
    assignees: Vec<Uuid>,
}

/// The intake pipeline: see the module's note. Answers every row in order, with the lead
/// views of the rows it made.
async fn intake(
    ctx: &Ctx,
    caller: &Caller,
    rows: Vec<Row>,
) -> Result<(Vec<ImportRow>, Vec<Lead>), AppError> {
    let creator = creator_of(caller);
    let tx = ctx.begin().await?;
    leads::lock_intake(&tx).await?;

    // Referring customers must exist (and be visible to a person).
    let mut rows = rows;
    let referrers: HashSet<Uuid> = rows
        .iter()
        .filter_map(|r| r.lead.as_ref().ok().and_then(|l| l.referred_by))
        .collect();
    let referrers: Vec<Uuid> = referrers.into_iter().collect();
    let known: HashSet<Uuid> = match caller {
        Caller::Person { .. } => {
            let mut seen = HashSet::new();
            for id in &referrers {
                if customers::find_visible(&tx, *id, caller.visibility())
                    .await?
                    .is_some()
                {
                    seen.insert(*id);
                }
            }
            seen
        }
        _ => customers::find_live(&tx, &referrers)
            .await?
            .into_iter()
            .map(|c| c.id)
            .collect(),
    };
    for row in &mut rows {
        if let Ok(lead) = &row.lead
            && let Some(r) = lead.referred_by
            && !known.contains(&r)
        {
            row.lead = Err(vec![FieldError::new(
                "referred_by",
                "unknown_customer",
                "must be a customer you can see",
            )]);
        }
    }

    // Leads this creator already made under these external ids.
    let external_ids: Vec<String> = rows
        .iter()
        .filter_map(|r| r.lead.as_ref().ok().and_then(|l| l.external_id.clone()))
        .collect();
    let mut made_before: HashMap<String, leads::Model> =
        leads::by_external_ids(&tx, &creator, &external_ids)
            .await?
            .into_iter()
            .filter_map(|l| l.external_id.clone().map(|e| (e, l)))
            .collect();

    // Everything the new leads could duplicate, one indexed query per key and table.
    let fresh: Vec<&CheckedLead> = rows
        .iter()
        .filter_map(|r| r.lead.as_ref().ok())
        .filter(|l| {
            l.external_id
                .as_ref()
                .is_none_or(|e| !made_before.contains_key(e))
        })
        .collect();
    let mobiles: Vec<String> = fresh.iter().filter_map(|l| l.mobile.clone()).collect();
    let emails: Vec<String> = fresh.iter().filter_map(|l| l.email.clone()).collect();
    let usccs: Vec<String> = fresh.iter().filter_map(|l| l.uscc.clone()).collect();
    let Matches {
        leads: mut lead_index,
        customers: customer_index,
        owners: customer_owner,
    } = matches(&tx, &mobiles, &emails, &usccs, None).await?;

    // The rules, with the assignees that can still take leads.
    let all_rules = assignment_rules::all(&tx).await?;
    let mut assignee_ids: Vec<Uuid> = all_rules
        .iter()
        .flat_map(|r| {
            r.assignees
                .split_whitespace()
                .filter_map(|s| s.parse().ok())
        })
        .collect();
    assignee_ids.extend(customer_owner.values().copied());
    assignee_ids.sort();
    assignee_ids.dedup();
    let active_users: HashSet<Uuid> = users::active_among(&tx, &assignee_ids)
        .await?
        .into_iter()
        .map(|u| u.id)
        .collect();
    let rules: Vec<ActiveRule> = all_rules
        .iter()
        .filter(|r| r.active)
        .map(|r| ActiveRule {
            id: r.id,
            conditions: crate::assignment_rules::conditions(r),
            assignees: r
                .assignees
                .split_whitespace()
                .filter_map(|s| s.parse().ok())
                .filter(|id| active_users.contains(id))
                .collect(),
        })
        .filter(|r| !r.assignees.is_empty())
        .collect();
    let conditions: Vec<RuleConditions> = rules.iter().map(|r| r.conditions.clone()).collect();

    // Classify every row in order.
    enum Plan {
        Invalid(Vec<FieldError>),
        Existing(Uuid, Option<Uuid>),
        New(Box<leads::Model>, Option<usize>),
    }
    let now = Utc::now();
    let mut plans = Vec::with_capacity(rows.len());
    let mut batch_ext: HashMap<String, Uuid> = HashMap::new();
    for row in rows {
        let lead = match row.lead {
            Err(errors) => {
                plans.push((row.number, Plan::Invalid(errors)));
                continue;
            }
            Ok(lead) => lead,
        };
        if let Some(ext) = &lead.external_id {
            if let Some(before) = made_before.get(ext) {
                plans.push((row.number, Plan::Existing(before.id, before.owner_id)));
                continue;
            }
            if let Some(id) = batch_ext.get(ext) {
                plans.push((row.number, Plan::Existing(*id, None)));
                continue;
            }
        }
        let id = Uuid::now_v7();
        let k = keys(&lead);
        let customer_hit = customer_index.find(&k);
        let lead_hit = if customer_hit.is_none() {
            lead_index.find(&k)
        } else {
            None
        };
        lead_index.add(&k, id);
        let (mut owner, mut assigned_by, mut rule) = (None, None, None);
        if let Some((customer, _)) = &customer_hit
            && let Some(o) = customer_owner
                .get(customer)
                .filter(|o| active_users.contains(o))
        {
            owner = Some(*o);
            assigned_by = Some("customer_owner");
        }
        if owner.is_none()
            && let Caller::Person {
                id: me,
                role: Role::Sales,
            } = caller
        {
            owner = Some(*me);
            assigned_by = Some("creator");
        }
        if owner.is_none() {
            rule = rules::first_match(
                &conditions,
                LeadFacts {
                    region: lead.region.as_deref(),
                    industry_code: lead.industry_code.as_deref(),
                    source: lead.source,
                },
            );
        }
        let reasons = customer_hit
            .as_ref()
            .or(lead_hit.as_ref())
            .map(|(_, r)| r.join(" "));
        let model = leads::Model {
            id,
            source: lead.source.as_str().to_owned(),
            source_detail: lead.source_detail,
            company_name: lead.company_name,
            uscc: lead.uscc,
            contact_name: lead.contact_name,
            mobile: lead.mobile,
            email: lead.email,
            region: lead.region,
            industry_code: lead.industry_code,
            needs: lead.needs,
            external_id: lead.external_id.clone(),
            creator: creator.clone(),
            referred_by: lead.referred_by,
            status: if owner.is_some() {
                LeadStatus::Following
            } else {
                LeadStatus::New
            }
            .as_str()
            .to_owned(),
            owner_id: owner,
            assigned_by: assigned_by.map(str::to_owned),
            duplicate_of_lead: lead_hit.map(|(id, _)| id),
            duplicate_of_customer: customer_hit.map(|(id, _)| id),
            duplicate_reasons: reasons,
            created_by_user: caller.user_id(),
            created_by_key: caller.api_key_id(),
            customer_id: None,
            opportunity_id: None,
            disqualify_reason: None,
            received_at: now,
            updated_at: now,
            version: 1,
        };
        if let Some(ext) = lead.external_id {
            batch_ext.insert(ext, id);
        }
        plans.push((row.number, Plan::New(Box::new(model), rule)));
    }

    // Round-robin turns: one counter update per rule, however many leads it takes.
    let mut per_rule: HashMap<usize, i64> = HashMap::new();
    for (_, plan) in &plans {
        if let Plan::New(_, Some(rule)) = plan {
            *per_rule.entry(*rule).or_default() += 1;
        }
    }
    let mut next_turn: HashMap<usize, i64> = HashMap::new();
    let mut rule_indices: Vec<usize> = per_rule.keys().copied().collect();
    rule_indices.sort_unstable();
    for idx in rule_indices {
        // A rule deleted meanwhile assigns nothing: its leads wait in the managers' queue.
        if let Some(first) =
            assignment_rules::take_turns(&tx, rules[idx].id, per_rule[&idx]).await?
        {
            next_turn.insert(idx, first);
        }
    }

    let mut answers = Vec::with_capacity(plans.len());
    let mut models = Vec::new();
    let mut journal = Journal::new();
    for (number, plan) in plans {
        match plan {
            Plan::Invalid(errors) => answers.push(ImportRow {
                row: number,
                status: RowStatus::Invalid,
                lead_id: None,
                owner_id: None,
                duplicate_of: None,
                errors,
            }),
            Plan::Existing(id, owner) => answers.push(ImportRow {
                row: number,
                status: RowStatus::Existing,
                lead_id: Some(id),
                owner_id: owner,
                duplicate_of: None,
                errors: Vec::new(),
            }),
            Plan::New(mut model, rule) => {
                if let Some(idx) = rule
                    && let Some(turn) = next_turn.get_mut(&idx)
                {
                    let list = &rules[idx].assignees;
                    let at =
                        usize::try_from(turn.rem_euclid(i64::try_from(list.len()).unwrap_or(1)))
                            .unwrap_or(0);
                    model.owner_id = list.get(at).copied();
                    model.assigned_by = Some("rule".to_owned());
                    model.status = LeadStatus::Following.as_str().to_owned();
                    *turn += 1;
                }
                let view = Lead::from((*model).clone());
                let duplicate = view.duplicate_of.is_some();
                // The lead as the API shows it, serialised once for its entry and events.
                let shown = serde_json::to_value(&view).map_err(AppError::internal)?;
                let created = changes(&json!({}), &shown, &VOLATILE);
                journal.audit(LEAD, view.id, AuditAction::Created, Value::Object(created));
                if view.owner_id.is_some() {
                    journal.event_value(LEAD, view.id, AuditAction::Created, shown.clone());
                    journal.event_value(LEAD, view.id, AuditAction::Assigned, shown);
                } else {
                    journal.event_value(LEAD, view.id, AuditAction::Created, shown);
                }
                answers.push(ImportRow {
                    row: number,
                    status: if duplicate {
                        RowStatus::Duplicate
                    } else {
                        RowStatus::Created
                    },
                    lead_id: Some(view.id),
                    owner_id: view.owner_id,
                    duplicate_of: view.duplicate_of.clone(),
                    errors: Vec::new(),
                });
                models.push(*model);
            }
        }
    }
    // A row repeating an external id of this request answers with the owner its first
    // row got.
    let owners: HashMap<Uuid, Option<Uuid>> = models.iter().map(|m| (m.id, m.owner_id)).collect();
    for answer in &mut answers {
        if answer.status == RowStatus::Existing
            && let Some(owner) = answer.lead_id.and_then(|id| owners.get(&id))
        {
            answer.owner_id = *owner;
        }
    }
    let views: Vec<Lead> = models.iter().cloned().map(Lead::from).collect();
    leads::insert_many(&tx, models).await.map_err(|e| match e {
        // Another request made a lead with the same external id meanwhile.
        crm_store::StoreError::UniqueViolation(_) => AppError::Conflict {
            code: crate::error::ErrorCode::Conflict,
            detail: "A lead with one of these external ids was created meanwhile; send the request again.".to_owned(),
        },
        other => other.into(),
    })?;
    journal.commit(tx, caller).await?;
    // Forget what made_before held; nothing else needs it.
    made_before.clear();
    let mut views = views;
    redact(
        &ctx.db,
        caller,
        answers
            .iter_mut()
            .filter_map(|a| a.duplicate_of.as_mut())
            .chain(views.iter_mut().filter_map(|v| v.duplicate_of.as_mut())),
    )
    .await?;
    Ok((answers, views))
}

/// The leads the caller can see, newest first, with filters.
pub async fn list(
    ctx: &Ctx,
    caller: &Caller,
    query: Input<LeadQuery>,
) -> Result<LeadList, AppError> {
    require(caller, Action::ReadLeads)?;
    let q = query.take()?;
    let page = PageQuery {
        limit: q.limit,
        cursor: q.cursor,
    }
    .page()?;
    let industry = match q.industry.as_deref() {
        None => None,
        Some(s)
            if crm_domain::reference::INDUSTRY_SECTIONS
                .iter()
                .any(|section| section.code.eq_ignore_ascii_case(s)) =>
        {
            Some(s.to_ascii_uppercase())
        }
        Some(s) => Some(
            crm_domain::customer::check_industry(s)
                .map_err(|_| {
                    invalid(
                        "industry",
                        "must be a GB/T 4754 section (C) or division (C35)",
                    )
                })?
                .to_owned(),
        ),
    };
    let region = match q.region.as_deref() {
        None => None,
        Some(s) => Some(
            crm_domain::customer::check_region(s)
                .map_err(|_| invalid("region", "must be a GB/T 2260 province code"))?
                .to_owned(),
        ),
    };
    let filter = leads::LeadFilter {
        status: q.status.map(|s| s.as_str().to_owned()),
        source: q.source.map(|s| s.as_str().to_owned()),
        owner_id: q.owner_id,
        unassigned: q.unassigned.unwrap_or(false),
        region,
        industry,
        received_from: crate::page::instant("received_from", q.received_from)?,
        received_to: crate::page::instant("received_to", q.received_to)?,
        q: q.q,
        duplicates_only: q.duplicates.unwrap_or(false),
    };
    let rows = leads::list(
        &ctx.db,
        caller.visibility(),
        &filter,
        page.after,
        page.limit,
    )
    .await?;
    let next = page.next_cursor(rows.last().map(|l| l.id), rows.len());
    let mut items: Vec<Lead> = rows.into_iter().map(Lead::from).collect();
    redact_leads(&ctx.db, caller, &mut items).await?;
    Ok(LeadList {
        items,
        next_cursor: next,
    })
}

/// One lead.
pub async fn get(ctx: &Ctx, caller: &Caller, id: Uuid) -> Result<Lead, AppError> {
    require(caller, Action::ReadLeads)?;
    show(
        &ctx.db,
        caller,
        Lead::from(visible(&ctx.db, caller, id).await?),
    )
    .await
}

fn ensure_open(lead: &leads::Model, event: LeadEvent) -> Result<LeadStatus, AppError> {
    let status = LeadStatus::parse(&lead.status).unwrap_or(LeadStatus::New);
    Ok(rules::transition(status, event)?)
}

/// Changes an open lead (JSON merge patch) with `If-Match`.
pub async fn update(
    ctx: &Ctx,
    caller: &Caller,
    id: Uuid,
    if_match: IfMatch,
    patch: Input<LeadPatch>,
) -> Result<Lead, AppError> {
    require(caller, Action::EditLead)?;
    let tx = ctx.begin().await?;
    let current = visible(&tx, caller, id).await?;
    if_match.require(current.version)?;
    let patch = patch.take()?;
    let status = LeadStatus::parse(&current.status).unwrap_or(LeadStatus::New);
    if !status.is_open() {
        return Err(crm_domain::rule::RuleViolation::IllegalTransition {
            from: status.as_str().to_owned(),
            allowed: Vec::new(),
        }
        .into());
    }
    let pick = |v: Option<Option<String>>, old: &Option<String>| match v {
        Some(v) => v,
        None => old.clone(),
    };
    let merged = NewLead {
        source: match &patch.source {
            Some(Some(s)) => s.clone(),
            Some(None) => String::new(),
            None => current.source.clone(),
        },
        source_detail: pick(patch.source_detail, &current.source_detail),
        company_name: pick(patch.company_name, &Some(current.company_name.clone()))
            .unwrap_or_default(),
        uscc: pick(patch.uscc, &current.uscc),
        contact_name: pick(patch.contact_name, &Some(current.contact_name.clone()))
            .unwrap_or_default(),
        mobile: pick(patch.mobile, &current.mobile),
        email: pick(patch.email, &current.email),
        region: pick(patch.region, &current.region),
        industry_code: pick(patch.industry_code, &current.industry_code),
        needs: pick(patch.needs, &current.needs),
        external_id: current.external_id.clone(),
        referred_by: current.referred_by,
    };
    let mut c = Checker::default();
    let checked = check_lead(&mut c, "", merged);
    c.finish()?;
    let before = Lead::from(current.clone());
    let mut row = current.clone();
    row.source = checked.source.as_str().to_owned();
    row.source_detail = checked.source_detail;
    row.company_name = checked.company_name;
    row.uscc = checked.uscc;
    row.contact_name = checked.contact_name;
    row.mobile = checked.mobile;
    row.email = checked.email;
    row.region = checked.region;
    row.industry_code = checked.industry_code;
    row.needs = checked.needs;
    // New contact details or code: what the lead duplicates is looked at again (its owner
    // stays; managers reassign).
    if row.mobile != current.mobile || row.email != current.email || row.uscc != current.uscc {
        let found = matches(
            &tx,
            &row.mobile.iter().cloned().collect::<Vec<_>>(),
            &row.email.iter().cloned().collect::<Vec<_>>(),
            &row.uscc.iter().cloned().collect::<Vec<_>>(),
            Some(row.id),
        )
        .await?;
        let k = Keys {
            mobile: row.mobile.as_deref(),
            email: row.email.as_deref(),
            uscc: row.uscc.as_deref(),
        };
        let customer_hit = found.customers.find(&k);
        let lead_hit = if customer_hit.is_none() {
            found.leads.find(&k)
        } else {
            None
        };
        row.duplicate_reasons = customer_hit
            .as_ref()
            .or(lead_hit.as_ref())
            .map(|(_, r)| r.join(" "));
        row.duplicate_of_customer = customer_hit.map(|(id, _)| id);
        row.duplicate_of_lead = lead_hit.map(|(id, _)| id);
    }
    row.updated_at = Utc::now();
    let saved = leads::save(&tx, row, current.version)
        .await?
        .ok_or(crm_domain::rule::RuleViolation::StaleVersion)?;
    let after = Lead::from(saved);
    let diff = changes(&before, &after, &VOLATILE);
    let mut journal = Journal::new();
    if !diff.is_empty() {
        journal.record(
            LEAD,
            after.id,
            AuditAction::Updated,
            Value::Object(diff),
            &after,
        )?;
    }
    journal.commit(tx, caller).await?;
    show(&ctx.db, caller, after).await
}

/// The change log of a lead, newest first.
pub async fn history(
    ctx: &Ctx,
    caller: &Caller,
    id: Uuid,
    page: Input<PageQuery>,
) -> Result<HistoryList, AppError> {
    require(caller, Action::ReadLeadHistory)?;
    let lead = visible(&ctx.db, caller, id).await?;
    crate::customers::history_page(&ctx.db, LEAD, lead.id, page).await
}

/// Who gets a lead.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AssignLead {
    /// An active account.
    pub owner_id: Uuid,
}

/// Gives an open lead to a rep (managers and admins). Honours `If-Match` when sent.
pub async fn assign(
    ctx: &Ctx,
    caller: &Caller,
    id: Uuid,
    if_match: IfMatch,
    body: Input<AssignLead>,
) -> Result<Lead, AppError> {
    require(caller, Action::AssignLead)?;
    let tx = ctx.begin().await?;
    let current = visible(&tx, caller, id).await?;
    if_match.check(current.version)?;
    let owner = body.take()?.owner_id;
    if !users::find(&tx, owner).await?.is_some_and(|u| u.active) {
        return Err(AppError::invalid_field(
            "owner_id",
            "unknown_user",
            "must be an active user",
        ));
    }
    let status = ensure_open(&current, LeadEvent::Assign)?;
    let mut row = current.clone();
    row.owner_id = Some(owner);
    row.assigned_by = Some("manager".to_owned());
    row.status = status.as_str().to_owned();
    row.updated_at = Utc::now();
    let saved = leads::save(&tx, row, current.version)
        .await?
        .ok_or(crm_domain::rule::RuleViolation::StaleVersion)?;
    let after = Lead::from(saved);
    let mut journal = Journal::new();
    journal.record(
        LEAD,
        after.id,
        AuditAction::Assigned,
        json!({"owner_id": {"from": current.owner_id, "to": owner}, "status": {"from": current.status, "to": after.status}}),
        &after,
    )?;
    journal.commit(tx, caller).await?;
    show(&ctx.db, caller, after).await
}

/// Why a lead is set aside.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DisqualifyLead {
    /// 1–500 characters.
    #[schema(example = "预算不足，明年再联系", min_length = 1, max_length = 500)]
    pub reason: String,
}

/// Sets an open lead aside with a reason.
pub async fn disqualify(
    ctx: &Ctx,
    caller: &Caller,
    id: Uuid,
    body: Input<DisqualifyLead>,
) -> Result<Lead, AppError> {
    require(caller, Action::EditLead)?;
    let tx = ctx.begin().await?;
    let current = visible(&tx, caller, id).await?;
    let body = body.take()?;
    let mut c = Checker::default();
    let reason = c.text("reason", &body.reason, 1, 500);
    c.finish()?;
    let status = ensure_open(&current, LeadEvent::Disqualify)?;
    let mut row = current.clone();
    row.status = status.as_str().to_owned();
    row.disqualify_reason = Some(reason.clone());
    row.updated_at = Utc::now();
    let saved = leads::save(&tx, row, current.version)
        .await?
        .ok_or(crm_domain::rule::RuleViolation::StaleVersion)?;
    let after = Lead::from(saved);
    let mut journal = Journal::new();
    journal.record(
        LEAD,
        after.id,
        AuditAction::Disqualified,
        json!({"status": {"from": current.status, "to": after.status}, "disqualify_reason": {"from": null, "to": reason}}),
        &after,
    )?;
    journal.commit(tx, caller).await?;
    show(&ctx.db, caller, after).await
}

/// The source a lead's customer gets.
pub(crate) fn customer_source(source: LeadSource) -> &'static str {
    match source {
        LeadSource::Fair => "fair",
        LeadSource::Website => "website",
        LeadSource::Referral => "referral",
        LeadSource::Phone => "phone",
        LeadSource::Other => "other",
    }
}
