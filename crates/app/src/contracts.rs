//! Contracts (合同): what a customer signed, for how much and for how long; renewals linked
//! to the contract they renew. A contract not tied to a deal counts towards the customer's
//! annual purchase volume when it is signed, so the customer's type and tier follow; one
//! that puts a won deal on paper counts through the deal, never twice.

use chrono::{DateTime, Datelike, Duration, NaiveDate, Utc};
use crm_domain::access::{Action, Caller};
use crm_domain::audit::{AuditAction, EntityType};
use crm_domain::deal::DealStatus;
use crm_domain::money::Money;
use crm_domain::rule::RuleViolation;
use crm_store::{ConnectionTrait, contracts, customers, opportunities};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use crate::check::{Checker, today};
use crate::customers::ensure_live;
use crate::error::AppError;
use crate::input::{IfMatch, Input};
use crate::journal::{Journal, changes};
use crate::page::PageQuery;
use crate::{Ctx, require};

const CONTRACT: EntityType = EntityType::Contract;

/// Where a contract stands today.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ContractStatus {
    /// Signed, not started yet.
    Pending,
    /// In force.
    Active,
    /// Ended without a renewal.
    Expired,
    /// Renewed by a successor.
    Renewed,
}

/// A contract.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Contract {
    /// Contract id.
    pub id: Uuid,
    /// The contract's own number, unique.
    #[schema(example = "HT-2026-0315")]
    pub number: String,
    /// The customer.
    pub customer_id: Uuid,
    /// The won deal it puts on paper, if any.
    pub opportunity_id: Option<Uuid>,
    /// Amount in yuan, two decimals.
    #[schema(example = "1180000.00")]
    pub amount: String,
    /// When it was signed.
    pub signed_on: NaiveDate,
    /// First day in force.
    pub starts_on: NaiveDate,
    /// Last day in force.
    pub ends_on: NaiveDate,
    /// Where it stands today.
    pub status: ContractStatus,
    /// Days from today to its end (negative once ended).
    pub days_to_end: i64,
    /// The contract it renews.
    pub predecessor_id: Option<Uuid>,
    /// The contract that renews it.
    pub successor_id: Option<Uuid>,
    /// Who entered it.
    pub created_by: Option<Uuid>,
    /// When it was entered.
    pub created_at: DateTime<Utc>,
    /// When it last changed.
    pub updated_at: DateTime<Utc>,
    /// Version; also the `ETag`.
    pub version: i32,
}

impl Contract {
    /// The view of a stored contract on `today`.
    pub fn view(m: contracts::Model, today: NaiveDate) -> Self {
        let status = if m.successor_id.is_some() {
            ContractStatus::Renewed
        } else if today < m.starts_on {
            ContractStatus::Pending
        } else if today > m.ends_on {
            ContractStatus::Expired
        } else {
            ContractStatus::Active
        };
        Self {
            id: m.id,
            number: m.number,
            customer_id: m.customer_id,
            opportunity_id: m.opportunity_id,
            amount: Money::from_fen(m.amount_fen).to_string(),
            signed_on: m.signed_on,
            starts_on: m.starts_on,
            ends_on: m.ends_on,
            status,
            days_to_end: (m.ends_on - today).num_days(),
            predecessor_id: m.predecessor_id,
            successor_id: m.successor_id,
            created_by: m.created_by,
            created_at: m.created_at,
            updated_at: m.updated_at,
            version: m.version,
        }
    }
}

/// `shown` as `caller` may see it: the deal only for those who may read deals.
fn for_caller(mut shown: Contract, caller: &Caller) -> Contract {
    if !caller.may(Action::ReadDeals) {
        shown.opportunity_id = None;
    }
    shown
}

/// A new contract.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewContract {
    /// A live customer you can see.
    pub customer_id: Uuid,
    /// The contract's number, 1–64 characters, unique.
    #[schema(example = "HT-2026-0315", min_length = 1, max_length = 64)]
    pub number: String,
    /// A won deal of the customer that this contract puts on paper.
    pub opportunity_id: Option<Uuid>,
    /// Amount in yuan, at most two decimals.
    #[schema(
        example = "1180000.00",
        pattern = r"^[0-9]{1,10}(\.[0-9]{1,2})?$",
        max_length = 13
    )]
    pub amount: String,
    /// When it was signed, `YYYY-MM-DD`, not in the future; defaults to the start.
    #[schema(format = Date)]
    pub signed_on: Option<String>,
    /// First day in force, `YYYY-MM-DD`.
    #[schema(format = Date, example = "2026-01-01")]
    pub starts_on: String,
    /// Last day in force, `YYYY-MM-DD`, on or after the start.
    #[schema(format = Date, example = "2026-12-31")]
    pub ends_on: String,
}

/// The contract that renews another.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RenewContract {
    /// The new contract's number, unique.
    #[schema(example = "HT-2027-0042", min_length = 1, max_length = 64)]
    pub number: String,
    /// Amount in yuan.
    #[schema(
        example = "1250000.00",
        pattern = r"^[0-9]{1,10}(\.[0-9]{1,2})?$",
        max_length = 13
    )]
    pub amount: String,
    /// When it was signed; defaults to today.
    #[schema(format = Date)]
    pub signed_on: Option<String>,
    /// First day in force; defaults to the day after the renewed contract ends.
    #[schema(format = Date)]
    pub starts_on: Option<String>,
    /// Last day in force, on or after the start.
    #[schema(format = Date, example = "2027-12-31")]
    pub ends_on: String,
    /// A won deal of the customer that this contract puts on paper.
    pub opportunity_id: Option<Uuid>,
}

/// Filters and page of the contract list.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct ContractQuery {
    /// Only this customer's.
    pub customer_id: Option<Uuid>,
    /// Not renewed and ending between today and this many days from now (renewal talks),
    /// 0–3660.
    #[param(minimum = 0, maximum = 3660)]
    pub ending_within_days: Option<i64>,
    /// `true`: only contracts in force today.
    pub active: Option<bool>,
    /// Items per page, 1–200.
    #[param(minimum = 1, maximum = 200, default = 50)]
    pub limit: Option<u64>,
    /// `next_cursor` of the previous page.
    pub cursor: Option<String>,
}

/// A page of contracts, newest first.
#[derive(Debug, Serialize, ToSchema)]
pub struct ContractList {
    /// The contracts.
    pub items: Vec<Contract>,
    /// Cursor of the next page; `null` on the last page.
    pub next_cursor: Option<String>,
}

fn day(c: &mut Checker, field: &str, raw: &str) -> Option<NaiveDate> {
    match crm_domain::calendar::parse_day(raw.trim()) {
        Ok(d) => Some(d),
        Err(m) => {
            c.fail(field, crm_domain::calendar::day_error_code(m), m);
            None
        }
    }
}

fn amount(c: &mut Checker, raw: &str) -> i64 {
    match Money::parse(raw) {
        Ok(m) => m.fen(),
        Err(m) => {
            c.fail("amount", "invalid_value", m);
            0
        }
    }
}

/// The checked fields of a new contract.
struct Checked {
    number: String,
    amount_fen: i64,
    signed_on: NaiveDate,
    starts_on: NaiveDate,
    ends_on: NaiveDate,
}

fn check(
    c: &mut Checker,
    number: &str,
    raw_amount: &str,
    signed_on: Option<&str>,
    starts_on: Option<NaiveDate>,
    ends_on: &str,
) -> Option<Checked> {
    let number = c.text("number", number, 1, 64);
    let amount_fen = amount(c, raw_amount);
    let ends = day(c, "ends_on", ends_on);
    let signed = signed_on.and_then(|s| day(c, "signed_on", s));
    if let Some(s) = signed
        && s > today()
    {
        c.fail("signed_on", "in_future", "must not be in the future");
    }
    if let (Some(start), Some(end)) = (starts_on, ends)
        && end < start
    {
        c.fail("ends_on", "invalid_range", "must be on or after the start");
    }
    let (starts_on, ends_on) = (starts_on?, ends?);
    Some(Checked {
        number,
        amount_fen,
        signed_on: signed.unwrap_or(starts_on.min(today())),
        starts_on,
        ends_on,
    })
}

/// Checks the deal a contract puts on paper: a won deal of the same customer that the
/// caller can see.
async fn check_deal(
    tx: &impl ConnectionTrait,
    caller: &Caller,
    c: &mut Checker,
    customer_id: Uuid,
    deal: Option<Uuid>,
) -> Result<(), AppError> {
    if let Some(id) = deal {
        let ok = opportunities::find_visible(tx, id, caller.visibility())
            .await?
            .is_some_and(|d| d.customer_id == customer_id && d.status == DealStatus::Won.as_str());
        if !ok {
            c.fail(
                "opportunity_id",
                "unknown_opportunity",
                "must be a won deal of this customer that you can see",
            );
        }
    }
    Ok(())
}

/// Inserts a checked contract, journals it and lets the customer's type and tier follow.
async fn insert(
    tx: &impl ConnectionTrait,
    row: contracts::Model,
    journal: &mut Journal,
) -> Result<Contract, AppError> {
    if contracts::number_taken(tx, &row.number).await? {
        return Err(RuleViolation::DuplicateContractNumber { existing_id: None }.into());
    }
    let customer = row.customer_id;
    let signed = row.signed_on.and_hms_opt(0, 0, 0).map(|t| t.and_utc());
    // The check above answers the common case; the unique index the race.
    let saved = contracts::insert(tx, row).await.map_err(|e| match e {
        crm_store::StoreError::UniqueViolation(_) => {
            AppError::from(RuleViolation::DuplicateContractNumber { existing_id: None })
        }
        other => AppError::from(other),
    })?;
    if let Some(at) = signed {
        customers::record_engagement(tx, customer, at.min(Utc::now())).await?;
    }
    let shown = Contract::view(saved, today());
    let entry = changes(
        &json!({}),
        &serde_json::to_value(&shown).map_err(AppError::internal)?,
        &["id", "version", "updated_at", "status", "days_to_end"],
    );
    journal.record(
        CONTRACT,
        shown.id,
        AuditAction::Created,
        Value::Object(entry),
        &shown,
    )?;
    crate::opportunities::follow_customer(tx, customer, false, journal).await?;
    Ok(shown)
}

/// Enters a contract of a live customer the caller can see.
pub async fn create(
    ctx: &Ctx,
    caller: &Caller,
    body: Input<NewContract>,
) -> Result<Contract, AppError> {
    require(caller, Action::EditContract)?;
    let body = body.take()?;
    let mut c = Checker::default();
    let starts = day(&mut c, "starts_on", &body.starts_on);
    let checked = check(
        &mut c,
        &body.number,
        &body.amount,
        body.signed_on.as_deref(),
        starts,
        &body.ends_on,
    );
    let tx = ctx.begin().await?;
    let customer = customers::find_visible(&tx, body.customer_id, caller.visibility()).await?;
    match &customer {
        Some(customer) => check_deal(&tx, caller, &mut c, customer.id, body.opportunity_id).await?,
        None => c.fail(
            "customer_id",
            "unknown_customer",
            "must be a customer you can see",
        ),
    }
    c.finish()?;
    let (Some(customer), Some(checked)) = (customer, checked) else {
        return Err(AppError::internal("checked fields missing"));
    };
    ensure_live(&customer)?;
    let now = Utc::now();
    let row = contracts::Model {
        id: Uuid::now_v7(),
        number: checked.number,
        customer_id: customer.id,
        opportunity_id: body.opportunity_id,
        amount_fen: checked.amount_fen,
        signed_on: checked.signed_on,
        starts_on: checked.starts_on,
        ends_on: checked.ends_on,
        predecessor_id: None,
        successor_id: None,
        created_by: caller.user_id(),
        created_at: now,
        updated_at: now,
        version: 1,
    };
    let mut journal = Journal::new();
    let shown = insert(&tx, row, &mut journal).await?;
    journal.commit(tx, caller).await?;
    Ok(shown)
}

/// Renews a contract: enters its successor, linked both ways. A contract is renewed once
/// (409 `already_renewed`).
pub async fn renew(
    ctx: &Ctx,
    caller: &Caller,
    id: Uuid,
    if_match: IfMatch,
    body: Input<RenewContract>,
) -> Result<Contract, AppError> {
    require(caller, Action::EditContract)?;
    let tx = ctx.begin().await?;
    let old = contracts::find_visible(&tx, id, caller.visibility(), true)
        .await?
        .ok_or(AppError::NotFound)?;
    if_match.check(old.version)?;
    let body = body.take()?;
    let mut c = Checker::default();
    let starts = match body.starts_on.as_deref() {
        Some(raw) => day(&mut c, "starts_on", raw),
        None => old.ends_on.checked_add_signed(Duration::days(1)),
    };
    let checked = check(
        &mut c,
        &body.number,
        &body.amount,
        body.signed_on.as_deref(),
        starts,
        &body.ends_on,
    );
    if let Some(start) = starts
        && start.year() > 2100
    {
        c.fail("starts_on", "out_of_range", "must be before 2101");
    }
    check_deal(&tx, caller, &mut c, old.customer_id, body.opportunity_id).await?;
    c.finish()?;
    if old.successor_id.is_some() {
        return Err(RuleViolation::AlreadyRenewed {
            existing_id: old.successor_id,
        }
        .into());
    }
    let checked = checked.ok_or_else(|| AppError::internal("checked fields missing"))?;
    match customers::find_visible(&tx, old.customer_id, caller.visibility()).await? {
        Some(customer) => ensure_live(&customer)?,
        None => return Err(AppError::NotFound),
    }
    let now = Utc::now();
    let row = contracts::Model {
        id: Uuid::now_v7(),
        number: checked.number,
        customer_id: old.customer_id,
        opportunity_id: body.opportunity_id,
        amount_fen: checked.amount_fen,
        signed_on: body
            .signed_on
            .as_ref()
            .map_or(today(), |_| checked.signed_on),
        starts_on: checked.starts_on,
        ends_on: checked.ends_on,
        predecessor_id: Some(old.id),
        successor_id: None,
        created_by: caller.user_id(),
        created_at: now,
        updated_at: now,
        version: 1,
    };
    let mut journal = Journal::new();
    let shown = insert(&tx, row, &mut journal).await?;
    if !contracts::mark_renewed(&tx, old.id, shown.id, now).await? {
        return Err(RuleViolation::AlreadyRenewed { existing_id: None }.into());
    }
    journal.record(
        CONTRACT,
        old.id,
        AuditAction::Renewed,
        json!({"successor_id": {"from": null, "to": shown.id}}),
        &json!({"id": old.id, "successor_id": shown.id}),
    )?;
    journal.commit(tx, caller).await?;
    Ok(shown)
}

/// One contract.
pub async fn get(ctx: &Ctx, caller: &Caller, id: Uuid) -> Result<Contract, AppError> {
    require(caller, Action::ReadCustomers)?;
    contracts::find_visible(&ctx.db, id, caller.visibility(), false)
        .await?
        .map(|m| for_caller(Contract::view(m, today()), caller))
        .ok_or(AppError::NotFound)
}

/// The contracts of the customers the caller can see, newest first.
pub async fn list(
    ctx: &Ctx,
    caller: &Caller,
    query: Input<ContractQuery>,
) -> Result<ContractList, AppError> {
    require(caller, Action::ReadCustomers)?;
    let q = query.take()?;
    let page = PageQuery {
        limit: q.limit,
        cursor: q.cursor,
    }
    .page()?;
    let today = today();
    let ends_by = match q.ending_within_days {
        Some(d) if !(0..=3660).contains(&d) => {
            return Err(crate::page::invalid(
                "ending_within_days",
                "must be 0 to 3660",
            ));
        }
        Some(d) => Some((today, today + Duration::days(d))),
        None => None,
    };
    let filter = contracts::ContractFilter {
        customer_id: q.customer_id,
        ends_between: ends_by,
        in_force_on: q.active.filter(|a| *a).map(|_| today),
    };
    let rows = contracts::list(
        &ctx.db,
        caller.visibility(),
        &filter,
        page.after,
        page.limit,
    )
    .await?;
    let next = page.next_cursor(rows.last().map(|r| r.id), rows.len());
    Ok(ContractList {
        items: rows.into_iter().map(|m| Contract::view(m, today)).collect(),
        next_cursor: next,
    })
}
