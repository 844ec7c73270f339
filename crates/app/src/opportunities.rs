//! Deals (商机, opportunities): an amount, an expected close date and a probability of exactly
//! 30, 60 or 90 percent while open (三级评估); won (100, final amount) or lost (0, with a
//! reason); reopened by a manager. Every stage change is kept with its time, actor, from and
//! to. A won deal makes a potential customer a customer, and counts towards the customer's
//! annual purchase volume, so the customer's tier follows at once.

use chrono::{Datelike, Duration, NaiveDate, Utc};
use crm_domain::access::{Action, Caller};
use crm_domain::audit::{AuditAction, EntityType};
use crm_domain::customer::CustomerType;
use crm_domain::deal::{self, DealEvent, DealState, DealStatus, Probability};
use crm_domain::money::Money;
use crm_domain::rule::RuleViolation;
use crm_store::opportunities::{self, stage};
use crm_store::{ConnectionTrait, customers, tier_policy, users};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use crate::check::{Checker, present, today};
use crate::customers::{HistoryList, ensure_live, one as customer_view};
use crate::error::AppError;
use crate::input::{IfMatch, Input};
use crate::journal::{Journal, changes};
use crate::page::PageQuery;
use crate::{Ctx, require};

const DEAL: EntityType = EntityType::Opportunity;
/// Fields of the deal view that every change touches.
const VOLATILE: [&str; 3] = ["id", "version", "updated_at"];

/// A deal.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Opportunity {
    /// Deal id.
    pub id: Uuid,
    /// The customer.
    pub customer_id: Uuid,
    /// The lead it came from, if any.
    pub lead_id: Option<Uuid>,
    /// What is being sold.
    #[schema(example = "2027 年度智能温控模块框架采购")]
    pub name: String,
    /// Estimated amount while open (预计成交金额), final amount once won; yuan, two decimals.
    #[schema(example = "1250000.00")]
    pub amount: String,
    /// Expected close date (预计成交日).
    pub expected_close_date: NaiveDate,
    /// The rep.
    pub owner_id: Uuid,
    /// `open`, `won` or `lost`.
    pub status: DealStatus,
    /// 30, 60 or 90 while open; 100 won; 0 lost.
    #[schema(example = 60)]
    pub probability: i16,
    /// Amount × probability, yuan, two decimals (0 once closed).
    #[schema(example = "750000.00")]
    pub weighted_amount: String,
    /// Why it was lost.
    pub lost_reason: Option<String>,
    /// The day it was won or lost (UTC).
    pub closed_on: Option<NaiveDate>,
    /// Who created it.
    pub created_by: Option<Uuid>,
    /// When it was created.
    pub created_at: chrono::DateTime<Utc>,
    /// When it last changed.
    pub updated_at: chrono::DateTime<Utc>,
    /// Version for `If-Match`; also sent as the `ETag`.
    pub version: i32,
}

impl From<opportunities::Model> for Opportunity {
    fn from(m: opportunities::Model) -> Self {
        let status = DealStatus::parse(&m.status).unwrap_or(DealStatus::Open);
        let weighted = if status == DealStatus::Open {
            crm_domain::money::weighted_yuan(i128::from(m.amount_fen) * i128::from(m.probability))
        } else {
            "0.00".to_owned()
        };
        Self {
            id: m.id,
            customer_id: m.customer_id,
            lead_id: m.lead_id,
            name: m.name,
            amount: Money::from_fen(m.amount_fen).to_string(),
            expected_close_date: m.expected_close_date,
            owner_id: m.owner_id,
            status,
            probability: m.probability,
            weighted_amount: weighted,
            lost_reason: m.lost_reason,
            closed_on: m.closed_on,
            created_by: m.created_by,
            created_at: m.created_at,
            updated_at: m.updated_at,
            version: m.version,
        }
    }
}

/// A new deal.
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewOpportunity {
    /// A live customer you can see.
    pub customer_id: Uuid,
    /// What is being sold, 2–200 characters.
    #[schema(
        example = "2027 年度智能温控模块框架采购",
        min_length = 2,
        max_length = 200
    )]
    pub name: String,
    /// Estimated amount in yuan, a decimal string with at most two decimals.
    #[schema(
        example = "1250000.00",
        pattern = r"^[0-9]{1,10}(\.[0-9]{1,2})?$",
        max_length = 13
    )]
    pub amount: String,
    /// Expected close date, `YYYY-MM-DD`.
    #[schema(example = "2027-03-31", format = Date)]
    pub expected_close_date: String,
    /// 30, 60 or 90.
    #[schema(value_type = ProbabilitySchema)]
    pub probability: i64,
    /// The rep; defaults to you. Naming another is for managers and admins.
    pub owner_id: Option<Uuid>,
}

/// The document's `Probability`: the stage of an open deal (三级评估), 30, 60 or 90 percent.
pub struct ProbabilitySchema;

impl utoipa::PartialSchema for ProbabilitySchema {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        utoipa::openapi::schema::ObjectBuilder::new()
            .schema_type(utoipa::openapi::schema::Type::Integer)
            .description(Some(
                "The stage of an open deal (三级评估): 30, 60 or 90 percent.",
            ))
            .enum_values(Some([30, 60, 90]))
            .examples([30])
            .into()
    }
}

impl utoipa::ToSchema for ProbabilitySchema {
    fn name() -> std::borrow::Cow<'static, str> {
        "Probability".into()
    }
}

/// The probabilities a deal can be filtered by.
fn probability_filter() -> utoipa::openapi::schema::Object {
    utoipa::openapi::schema::ObjectBuilder::new()
        .schema_type(utoipa::openapi::schema::Type::Integer)
        .enum_values(Some([0, 30, 60, 90, 100]))
        .build()
}

/// Changes to an open deal (JSON merge patch).
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct OpportunityPatch {
    /// Name.
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = String, required = false, min_length = 2, max_length = 200)]
    pub name: Option<Option<String>>,
    /// Estimated amount.
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = String, required = false, pattern = r"^[0-9]{1,10}(\.[0-9]{1,2})?$", max_length = 13)]
    pub amount: Option<Option<String>>,
    /// Expected close date.
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = String, required = false, format = Date)]
    pub expected_close_date: Option<Option<String>>,
    /// 30, 60 or 90: a stage change.
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = ProbabilitySchema)]
    pub probability: Option<Option<i64>>,
    /// Another rep (managers and admins).
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Uuid, required = false)]
    pub owner_id: Option<Option<Uuid>>,
}

/// Winning a deal.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct WinOpportunity {
    /// The final amount in yuan.
    #[schema(
        example = "1180000.00",
        pattern = r"^[0-9]{1,10}(\.[0-9]{1,2})?$",
        max_length = 13
    )]
    pub amount: String,
}

/// Losing a deal.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LoseOpportunity {
    /// Why, 1–500 characters.
    #[schema(
        example = "客户选择了价格更低的供应商",
        min_length = 1,
        max_length = 500
    )]
    pub reason: String,
}

/// Reopening a deal.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReopenOpportunity {
    /// 30, 60 or 90; defaults to 30.
    #[schema(value_type = Option<ProbabilitySchema>)]
    pub probability: Option<i64>,
}

/// Filters and page of the deal list.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct OpportunityQuery {
    /// `open`, `won` or `lost`.
    pub status: Option<DealStatus>,
    /// Only deals of this rep.
    pub owner_id: Option<Uuid>,
    /// Only deals of this customer.
    pub customer_id: Option<Uuid>,
    /// 30, 60 or 90 (100 won, 0 lost).
    #[param(schema_with = probability_filter)]
    pub probability: Option<i16>,
    /// Expected close on or after.
    pub close_from: Option<NaiveDate>,
    /// Expected close on or before.
    pub close_to: Option<NaiveDate>,
    /// Items per page, 1–200.
    #[param(minimum = 1, maximum = 200, default = 50)]
    pub limit: Option<u64>,
    /// `next_cursor` of the previous page.
    pub cursor: Option<String>,
}

/// A page of deals, newest first.
#[derive(Debug, Serialize, ToSchema)]
pub struct OpportunityList {
    /// The deals.
    pub items: Vec<Opportunity>,
    /// Cursor of the next page; `null` on the last page.
    pub next_cursor: Option<String>,
}

/// A stage change.
#[derive(Debug, Serialize, ToSchema)]
pub struct Stage {
    /// When.
    pub at: chrono::DateTime<Utc>,
    /// Who (`null` for the system).
    pub actor_id: Option<Uuid>,
    /// The status before (`null` when created).
    pub from_status: Option<DealStatus>,
    /// The probability before.
    pub from_probability: Option<i16>,
    /// The status after.
    pub to_status: DealStatus,
    /// The probability after.
    pub to_probability: i16,
    /// The amount at that moment, yuan.
    pub amount: String,
}

/// A deal's stages, oldest first.
#[derive(Debug, Serialize, ToSchema)]
pub struct StageList {
    /// Every stage change.
    pub items: Vec<Stage>,
}

/// The deal `id` if the caller can see it; 404 otherwise.
async fn visible(
    conn: &impl ConnectionTrait,
    caller: &Caller,
    id: Uuid,
) -> Result<opportunities::Model, AppError> {
    opportunities::find_visible(conn, id, caller.visibility())
        .await?
        .ok_or(AppError::NotFound)
}

fn state(m: &opportunities::Model) -> DealState {
    DealState {
        status: DealStatus::parse(&m.status).unwrap_or(DealStatus::Open),
        probability: u8::try_from(m.probability).unwrap_or(0),
    }
}

fn stage_row(
    caller: &Caller,
    deal: &opportunities::Model,
    from: Option<DealState>,
) -> stage::Model {
    stage::Model {
        id: Uuid::now_v7(),
        opportunity_id: deal.id,
        from_status: from.map(|s| s.status.as_str().to_owned()),
        from_probability: from.map(|s| i16::from(s.probability)),
        to_status: deal.status.clone(),
        to_probability: deal.probability,
        amount_fen: deal.amount_fen,
        actor_id: caller.user_id(),
        at: Utc::now(),
    }
}

fn money(c: &mut Checker, field: &str, raw: &str) -> i64 {
    match Money::parse(raw) {
        Ok(m) => m.fen(),
        Err(msg) => {
            c.fail(field, "invalid_value", msg);
            0
        }
    }
}

fn probability(c: &mut Checker, field: &str, raw: i64) -> i16 {
    match Probability::new(raw) {
        Ok(p) => i16::from(p.percent()),
        Err(msg) => {
            c.fail(field, "invalid_value", msg);
            30
        }
    }
}

fn close_date(c: &mut Checker, field: &str, raw: &str) -> NaiveDate {
    match NaiveDate::parse_from_str(raw.trim(), "%Y-%m-%d") {
        Ok(d) if d.year_ce().1 >= 2000 && d.year_ce().1 <= 2100 => d,
        Ok(_) => {
            c.fail(field, "out_of_range", "must be between 2000 and 2100");
            today()
        }
        Err(_) => {
            c.fail(field, "invalid_format", "must be a date YYYY-MM-DD");
            today()
        }
    }
}

/// A checked new deal, ready to insert for `customer_id`.
pub(crate) struct CheckedDeal {
    name: String,
    amount_fen: i64,
    expected_close_date: NaiveDate,
    probability: i16,
    owner_id: Option<Uuid>,
}

/// Checks a new deal's fields; `prefix` names them in errors (`opportunity.` in conversions).
pub(crate) fn check_deal(
    c: &mut Checker,
    prefix: &str,
    name: &str,
    amount: &str,
    expected_close_date: &str,
    p: i64,
    owner_id: Option<Uuid>,
) -> CheckedDeal {
    let f = |n: &str| format!("{prefix}{n}");
    CheckedDeal {
        name: c.text(&f("name"), name, 2, 200),
        amount_fen: money(c, &f("amount"), amount),
        expected_close_date: close_date(c, &f("expected_close_date"), expected_close_date),
        probability: probability(c, &f("probability"), p),
        owner_id,
    }
}

/// Inserts a checked deal of a live customer in `tx`, with its first stage, audit entry and
/// event. The owner defaults to the caller (or `fallback_owner`).
pub(crate) async fn insert_checked(
    tx: &impl ConnectionTrait,
    caller: &Caller,
    customer_id: Uuid,
    lead_id: Option<Uuid>,
    deal: CheckedDeal,
    fallback_owner: Uuid,
    journal: &mut Journal,
) -> Result<Opportunity, AppError> {
    let owner = deal.owner_id.or(caller.user_id()).unwrap_or(fallback_owner);
    if caller.user_id().is_some_and(|me| me != owner) {
        require(caller, Action::ManageDeals)?;
    }
    if !users::find(tx, owner).await?.is_some_and(|u| u.active) {
        return Err(AppError::invalid_field(
            "owner_id",
            "unknown_user",
            "must be an active user",
        ));
    }
    let now = Utc::now();
    let row = opportunities::Model {
        id: Uuid::now_v7(),
        customer_id,
        lead_id,
        name: deal.name,
        amount_fen: deal.amount_fen,
        expected_close_date: deal.expected_close_date,
        owner_id: owner,
        status: DealStatus::Open.as_str().to_owned(),
        probability: deal.probability,
        lost_reason: None,
        closed_on: None,
        closed_at: None,
        created_by: caller.user_id(),
        created_at: now,
        updated_at: now,
        version: 1,
    };
    let saved = opportunities::insert(tx, row).await?;
    opportunities::record_stages(tx, vec![stage_row(caller, &saved, None)]).await?;
    let shown = Opportunity::from(saved);
    journal_created(journal, &shown)?;
    Ok(shown)
}

/// A new deal's audit entry (every field, from nothing) and `opportunity.created` event.
fn journal_created(journal: &mut Journal, shown: &Opportunity) -> Result<(), AppError> {
    let entry = changes(
        &json!({}),
        &serde_json::to_value(shown).map_err(AppError::internal)?,
        &VOLATILE,
    );
    journal.record(
        DEAL,
        shown.id,
        AuditAction::Created,
        Value::Object(entry),
        shown,
    )
}

/// Creates a deal for a live customer the caller can see.
pub async fn create(
    ctx: &Ctx,
    caller: &Caller,
    body: Input<NewOpportunity>,
) -> Result<Opportunity, AppError> {
    require(caller, Action::EditDeal)?;
    let body = body.take()?;
    if body.owner_id.is_some_and(|o| Some(o) != caller.user_id()) {
        require(caller, Action::ManageDeals)?;
    }
    let mut c = Checker::default();
    let checked = check_deal(
        &mut c,
        "",
        &body.name,
        &body.amount,
        &body.expected_close_date,
        body.probability,
        body.owner_id,
    );
    let tx = ctx.begin().await?;
    let customer = customers::find_visible(&tx, body.customer_id, caller.visibility()).await?;
    if customer.is_none() {
        c.fail(
            "customer_id",
            "unknown_customer",
            "must be a customer you can see",
        );
    }
    c.finish()?;
    let customer = customer.ok_or(AppError::NotFound)?;
    ensure_live(&customer)?;
    let mut journal = Journal::new();
    let shown = insert_checked(
        &tx,
        caller,
        customer.id,
        None,
        checked,
        customer.owner_id,
        &mut journal,
    )
    .await?;
    journal.commit(tx, caller).await?;
    Ok(shown)
}

/// The deals the caller can see, newest first, with filters.
pub async fn list(
    ctx: &Ctx,
    caller: &Caller,
    query: Input<OpportunityQuery>,
) -> Result<OpportunityList, AppError> {
    require(caller, Action::ReadDeals)?;
    let q = query.take()?;
    let page = PageQuery {
        limit: q.limit,
        cursor: q.cursor,
    }
    .page()?;
    if let Some(p) = q.probability
        && ![0, 30, 60, 90, 100].contains(&p)
    {
        return Err(crate::page::invalid(
            "probability",
            "must be 30, 60 or 90 (100 won, 0 lost)",
        ));
    }
    let filter = opportunities::DealFilter {
        status: q.status.map(|s| s.as_str().to_owned()),
        owner_id: q.owner_id,
        customer_id: q.customer_id,
        probability: q.probability,
        close_from: q.close_from,
        close_to: q.close_to,
    };
    let rows = opportunities::list(
        &ctx.db,
        caller.visibility(),
        &filter,
        page.after,
        page.limit,
    )
    .await?;
    let next = page.next_cursor(rows.last().map(|d| d.id), rows.len());
    Ok(OpportunityList {
        items: rows.into_iter().map(Opportunity::from).collect(),
        next_cursor: next,
    })
}

/// One deal.
pub async fn get(ctx: &Ctx, caller: &Caller, id: Uuid) -> Result<Opportunity, AppError> {
    require(caller, Action::ReadDeals)?;
    Ok(Opportunity::from(visible(&ctx.db, caller, id).await?))
}

/// A deal's stage changes, oldest first.
pub async fn stages(ctx: &Ctx, caller: &Caller, id: Uuid) -> Result<StageList, AppError> {
    require(caller, Action::ReadDeals)?;
    let deal = visible(&ctx.db, caller, id).await?;
    let items = opportunities::stages(&ctx.db, deal.id)
        .await?
        .into_iter()
        .map(|s| Stage {
            at: s.at,
            actor_id: s.actor_id,
            from_status: s.from_status.as_deref().and_then(DealStatus::parse),
            from_probability: s.from_probability,
            to_status: DealStatus::parse(&s.to_status).unwrap_or(DealStatus::Open),
            to_probability: s.to_probability,
            amount: Money::from_fen(s.amount_fen).to_string(),
        })
        .collect();
    Ok(StageList { items })
}

/// The change log of a deal, newest first.
pub async fn history(
    ctx: &Ctx,
    caller: &Caller,
    id: Uuid,
    page: Input<PageQuery>,
) -> Result<HistoryList, AppError> {
    require(caller, Action::ReadDeals)?;
    let deal = visible(&ctx.db, caller, id).await?;
    crate::customers::history_page(&ctx.db, DEAL, deal.id, page).await
}

/// Saves a changed deal and journals it (and its stage change, when its state moved).
async fn save(
    tx: &impl ConnectionTrait,
    caller: &Caller,
    before: &opportunities::Model,
    after: opportunities::Model,
    action: AuditAction,
    journal: &mut Journal,
) -> Result<Opportunity, AppError> {
    let saved = opportunities::save(tx, after, before.version)
        .await?
        .ok_or(RuleViolation::StaleVersion)?;
    if saved.status != before.status || saved.probability != before.probability {
        opportunities::record_stages(tx, vec![stage_row(caller, &saved, Some(state(before)))])
            .await?;
    }
    let (old, new) = (Opportunity::from(before.clone()), Opportunity::from(saved));
    let diff = changes(&old, &new, &VOLATILE);
    if !diff.is_empty() {
        journal.record(DEAL, new.id, action, Value::Object(diff), &new)?;
    }
    Ok(new)
}

/// Changes an open deal (JSON merge patch) with `If-Match`. A new probability is a stage
/// change; another owner is for managers and admins.
pub async fn update(
    ctx: &Ctx,
    caller: &Caller,
    id: Uuid,
    if_match: IfMatch,
    patch: Input<OpportunityPatch>,
) -> Result<Opportunity, AppError> {
    require(caller, Action::EditDeal)?;
    let tx = ctx.begin().await?;
    let current = visible(&tx, caller, id).await?;
    let patch = patch.take();
    if let Ok(p) = &patch
        && p.owner_id.is_some()
    {
        require(caller, Action::ManageDeals)?;
    }
    if_match.require(current.version)?;
    let patch = patch?;
    let mut c = Checker::default();
    let mut row = current.clone();
    let required = |c: &mut Checker, f: &str| c.fail(f, "required", "cannot be cleared");
    match patch.name {
        Some(Some(v)) => row.name = c.text("name", &v, 2, 200),
        Some(None) => required(&mut c, "name"),
        None => {}
    }
    match patch.amount {
        Some(Some(v)) => row.amount_fen = money(&mut c, "amount", &v),
        Some(None) => required(&mut c, "amount"),
        None => {}
    }
    match patch.expected_close_date {
        Some(Some(v)) => row.expected_close_date = close_date(&mut c, "expected_close_date", &v),
        Some(None) => required(&mut c, "expected_close_date"),
        None => {}
    }
    let mut event = None;
    match patch.probability {
        Some(Some(v)) => {
            if let Ok(p) = Probability::new(v) {
                event = Some(DealEvent::Assess(p));
            } else {
                probability(&mut c, "probability", v);
            }
        }
        Some(None) => required(&mut c, "probability"),
        None => {}
    }
    match patch.owner_id {
        Some(Some(owner)) => {
            if !users::find(&tx, owner).await?.is_some_and(|u| u.active) {
                c.fail("owner_id", "unknown_user", "must be an active user");
            }
            row.owner_id = owner;
        }
        Some(None) => required(&mut c, "owner_id"),
        None => {}
    }
    c.finish()?;
    live_customer(&tx, current.customer_id).await?;
    // Only open deals change; a closed one must be reopened first.
    let from = state(&current);
    if from.status != DealStatus::Open {
        return Err(RuleViolation::IllegalTransition {
            from: from.status.as_str().to_owned(),
            allowed: deal::allowed(from)
                .iter()
                .map(|s| (*s).to_owned())
                .collect(),
        }
        .into());
    }
    if let Some(e) = event {
        row.probability = i16::from(deal::transition(from, e)?.probability);
    }
    row.updated_at = Utc::now();
    let action = if row.probability != current.probability {
        AuditAction::StageChanged
    } else {
        AuditAction::Updated
    };
    let mut journal = Journal::new();
    let shown = save(&tx, caller, &current, row, action, &mut journal).await?;
    journal.commit(tx, caller).await?;
    Ok(shown)
}

/// The deal's customer must be live: an archived customer's deals wait until it is restored,
/// a purged one's never change again.
async fn live_customer(tx: &impl ConnectionTrait, customer_id: Uuid) -> Result<(), AppError> {
    match customers::find_visible(tx, customer_id, crm_domain::access::Visibility::All).await? {
        Some(customer) => ensure_live(&customer),
        None => Err(AppError::NotFound),
    }
}

/// Applies a closing or reopening move and everything that follows from it on the customer.
/// The body is decoded only after visibility and `If-Match` have been checked.
async fn close<T>(
    ctx: &Ctx,
    caller: &Caller,
    id: Uuid,
    if_match: IfMatch,
    body: Input<T>,
    decide: impl FnOnce(&mut Checker, &mut opportunities::Model, T) -> Option<DealEvent>,
    action: AuditAction,
) -> Result<Opportunity, AppError> {
    let tx = ctx.begin().await?;
    let current = visible(&tx, caller, id).await?;
    if_match.check(current.version)?;
    let body = body.take()?;
    let mut row = current.clone();
    let mut c = Checker::default();
    let event = decide(&mut c, &mut row, body);
    c.finish()?;
    let event = event.ok_or_else(|| AppError::internal("no move"))?;
    let next = deal::transition(state(&current), event)?;
    live_customer(&tx, current.customer_id).await?;
    let now = Utc::now();
    row.status = next.status.as_str().to_owned();
    row.probability = i16::from(next.probability);
    match next.status {
        DealStatus::Open => {
            row.closed_on = None;
            row.closed_at = None;
            row.lost_reason = None;
        }
        DealStatus::Won | DealStatus::Lost => {
            row.closed_on = Some(now.date_naive());
            row.closed_at = Some(now);
        }
    }
    row.updated_at = now;
    let mut journal = Journal::new();
    let shown = save(&tx, caller, &current, row, action, &mut journal).await?;
    if next.status == DealStatus::Won {
        customers::record_engagement(&tx, shown.customer_id, now).await?;
    }
    follow_customer(
        &tx,
        shown.customer_id,
        next.status == DealStatus::Won,
        &mut journal,
    )
    .await?;
    journal.commit(tx, caller).await?;
    Ok(shown)
}

/// Wins an open deal with its final amount (probability 100).
pub async fn win(
    ctx: &Ctx,
    caller: &Caller,
    id: Uuid,
    if_match: IfMatch,
    body: Input<WinOpportunity>,
) -> Result<Opportunity, AppError> {
    require(caller, Action::EditDeal)?;
    close(
        ctx,
        caller,
        id,
        if_match,
        body,
        |c, row, body| {
            row.amount_fen = money(c, "amount", &body.amount);
            Some(DealEvent::Win)
        },
        AuditAction::Won,
    )
    .await
}

/// Loses an open deal, with the reason.
pub async fn lose(
    ctx: &Ctx,
    caller: &Caller,
    id: Uuid,
    if_match: IfMatch,
    body: Input<LoseOpportunity>,
) -> Result<Opportunity, AppError> {
    require(caller, Action::EditDeal)?;
    close(
        ctx,
        caller,
        id,
        if_match,
        body,
        |c, row, body| {
            row.lost_reason = Some(c.text("reason", &body.reason, 1, 500));
            Some(DealEvent::Lose)
        },
        AuditAction::Lost,
    )
    .await
}

/// Opens a won or lost deal again (managers and admins), at 30 percent unless told otherwise.
pub async fn reopen(
    ctx: &Ctx,
    caller: &Caller,
    id: Uuid,
    if_match: IfMatch,
    body: Input<ReopenOpportunity>,
) -> Result<Opportunity, AppError> {
    require(caller, Action::ManageDeals)?;
    close(
        ctx,
        caller,
        id,
        if_match,
        body,
        |c, _, body| {
            let p = body.probability.unwrap_or(30);
            match Probability::new(p) {
                Ok(p) => Some(DealEvent::Reopen(p)),
                Err(msg) => {
                    c.fail("probability", "invalid_value", msg);
                    None
                }
            }
        },
        AuditAction::Reopened,
    )
    .await
}

/// After a deal closes or reopens: a potential customer with a won deal becomes a customer,
/// and the customer's tier is recomputed from its won deals of the trailing 12 months.
pub(crate) async fn follow_customer(
    tx: &impl ConnectionTrait,
    customer_id: Uuid,
    won_now: bool,
    journal: &mut Journal,
) -> Result<(), AppError> {
    // The customer may be edited by someone else meanwhile; its type and tier are derived
    // here, so a concurrent edit is no reason to fail the deal: read it again and retry.
    let mut attempts = 0;
    let (current, saved) = loop {
        attempts += 1;
        let Some(current) =
            customers::find_visible(tx, customer_id, crm_domain::access::Visibility::All).await?
        else {
            return Ok(());
        };
        let today = today();
        let volumes =
            opportunities::purchase_volumes(tx, &[customer_id], today - Duration::days(365))
                .await?;
        let mut row = current.clone();
        // A potential customer with a won deal is a paying customer; a lost one that wins a
        // deal again is won back.
        let kind = CustomerType::parse(&row.customer_type);
        if (volumes.contains_key(&customer_id) && kind == Some(CustomerType::Potential))
            || (won_now && kind == Some(CustomerType::Lost))
        {
            row.customer_type = CustomerType::Customer.as_str().to_owned();
        }
        let (policy, _) = tier_policy::get(tx).await?;
        row.apply_tier(&policy, today, volumes.get(&customer_id).copied());
        if row.customer_type == current.customer_type
            && row.tier == current.tier
            && row.tier_score == current.tier_score
        {
            return Ok(());
        }
        row.updated_at = Utc::now();
        match customers::save(tx, row, current.version).await? {
            Some(saved) => break (current, saved),
            None if attempts < 5 => continue,
            None => return Err(RuleViolation::StaleVersion.into()),
        }
    };
    let shown = customer_view(tx, saved).await?;
    let mut diff = serde_json::Map::new();
    if shown.customer_type.as_str() != current.customer_type {
        diff.insert(
            "customer_type".to_owned(),
            json!({"from": current.customer_type, "to": shown.customer_type}),
        );
    }
    if shown.tier.as_str() != current.tier {
        diff.insert(
            "tier".to_owned(),
            json!({"from": current.tier, "to": shown.tier}),
        );
    }
    if !diff.is_empty() {
        let action = if diff.contains_key("customer_type") {
            AuditAction::Updated
        } else {
            AuditAction::TierChanged
        };
        journal.record(
            EntityType::Customer,
            customer_id,
            action,
            Value::Object(diff),
            &shown,
        )?;
    }
    Ok(())
}

/// How a deal loaded in bulk ended, for records brought over from elsewhere.
#[derive(Debug, Clone)]
pub enum Outcome {
    /// Won on `on` at `amount` (yuan).
    Won {
        /// The final amount.
        amount: String,
        /// The day it was won; not in the future.
        on: NaiveDate,
    },
    /// Lost on `on` for `reason`.
    Lost {
        /// Why.
        reason: String,
        /// The day it was lost; not in the future.
        on: NaiveDate,
    },
}

/// One deal of a bulk load: a new deal, and how it ended if it did.
#[derive(Debug, Clone)]
pub struct DealRecord {
    /// The deal as `POST /opportunities` takes it (`owner_id` required).
    pub deal: NewOpportunity,
    /// Won or lost already; `None` for an open deal.
    pub outcome: Option<Outcome>,
}

/// Loads many deals at once (the command line's demo data, migrations from another CRM):
/// every deal checked as `create` checks it — a live customer, an active owner, exactly 30,
/// 60 or 90 while open, exact money — and, for closed ones, the outcome as `win` and `lose`
/// check it. All or nothing, one transaction, multi-row statements; each deal gets its stages,
/// audit entry and event; customers with won deals follow as after `win`.
pub async fn create_batch(
    ctx: &Ctx,
    caller: &Caller,
    records: Vec<DealRecord>,
) -> Result<Vec<Uuid>, AppError> {
    require(caller, Action::ManageDeals)?;
    let today = today();
    let tx = ctx.begin().await?;
    let mut customer_ids: Vec<Uuid> = records.iter().map(|r| r.deal.customer_id).collect();
    customer_ids.sort_unstable();
    customer_ids.dedup();
    let live: std::collections::HashSet<Uuid> = customers::find_live(&tx, &customer_ids)
        .await?
        .into_iter()
        .map(|c| c.id)
        .collect();
    let mut owner_ids: Vec<Uuid> = records.iter().filter_map(|r| r.deal.owner_id).collect();
    owner_ids.sort_unstable();
    owner_ids.dedup();
    let active: std::collections::HashSet<Uuid> = users::active_among(&tx, &owner_ids)
        .await?
        .into_iter()
        .map(|u| u.id)
        .collect();

    let mut c = Checker::default();
    let mut rows = Vec::with_capacity(records.len());
    let mut stages = Vec::with_capacity(records.len() * 2);
    let mut journal = Journal::new();
    let mut won_customers = Vec::new();
    let now = Utc::now();
    for (i, record) in records.into_iter().enumerate() {
        let prefix = format!("deals[{i}].");
        let body = record.deal;
        let checked = check_deal(
            &mut c,
            &prefix,
            &body.name,
            &body.amount,
            &body.expected_close_date,
            body.probability,
            body.owner_id,
        );
        if !live.contains(&body.customer_id) {
            c.fail(
                format!("{prefix}customer_id"),
                "unknown_customer",
                "must be a live customer",
            );
        }
        let Some(owner) = checked.owner_id.filter(|o| active.contains(o)) else {
            c.fail(
                format!("{prefix}owner_id"),
                "unknown_user",
                "must be an active user",
            );
            continue;
        };
        let mut row = opportunities::Model {
            id: Uuid::now_v7(),
            customer_id: body.customer_id,
            lead_id: None,
            name: checked.name,
            amount_fen: checked.amount_fen,
            expected_close_date: checked.expected_close_date,
            owner_id: owner,
            status: DealStatus::Open.as_str().to_owned(),
            probability: checked.probability,
            lost_reason: None,
            closed_on: None,
            closed_at: None,
            created_by: caller.user_id(),
            created_at: now,
            updated_at: now,
            version: 1,
        };
        stages.push(stage_row(caller, &row, None));
        if let Some(outcome) = record.outcome {
            let opened = state(&row);
            let (event, on) = match outcome {
                Outcome::Won { amount, on } => {
                    row.amount_fen = money(&mut c, &format!("{prefix}amount"), &amount);
                    won_customers.push((row.customer_id, on));
                    (DealEvent::Win, on)
                }
                Outcome::Lost { reason, on } => {
                    row.lost_reason =
                        Some(c.text(&format!("{prefix}lost_reason"), &reason, 1, 500));
                    (DealEvent::Lose, on)
                }
            };
            if on > today || on.year() < 2000 {
                c.fail(
                    format!("{prefix}closed_on"),
                    "out_of_range",
                    "must be a past day since 2000",
                );
            }
            let next = deal::transition(opened, event)?;
            row.status = next.status.as_str().to_owned();
            row.probability = i16::from(next.probability);
            row.closed_on = Some(on);
            row.closed_at = on.and_hms_opt(12, 0, 0).map(|t| t.and_utc());
            stages.push(stage_row(caller, &row, Some(opened)));
        }
        journal_created(&mut journal, &Opportunity::from(row.clone()))?;
        rows.push(row);
    }
    c.finish()?;
    let ids = rows.iter().map(|r| r.id).collect();
    opportunities::insert_many(&tx, rows).await?;
    opportunities::record_stages(&tx, stages).await?;
    won_customers.sort_unstable();
    let mut latest: Vec<(Uuid, NaiveDate)> = Vec::new();
    for (customer, on) in won_customers {
        match latest.last_mut() {
            Some((last, day)) if *last == customer => *day = (*day).max(on),
            _ => latest.push((customer, on)),
        }
    }
    for (customer, on) in &latest {
        if let Some(at) = on.and_hms_opt(12, 0, 0) {
            customers::record_engagement(&tx, *customer, at.and_utc()).await?;
        }
    }
    let won_customers: Vec<Uuid> = latest.into_iter().map(|(c, _)| c).collect();
    for customer in won_customers {
        follow_customer(&tx, customer, true, &mut journal).await?;
    }
    journal.commit(tx, caller).await?;
    Ok(ids)
}
