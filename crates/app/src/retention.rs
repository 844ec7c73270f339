//! Keeping customers (客户保持): half-yearly satisfaction surveys, the customers at risk of
//! leaving (no contact, won deal or contract for the tier policy's `at_risk_months`), marking
//! one lost with the reason (流失客户), and the referrals report (客户推荐).

use chrono::{DateTime, Duration, NaiveDate, Utc};
use crm_domain::access::{Action, Caller};
use crm_domain::audit::{AuditAction, EntityType};
use crm_domain::customer::CustomerType;
use crm_domain::rule::RuleViolation;
use crm_domain::upkeep::{SurveyPeriod, score};
use crm_store::{customers, surveys, tier_policy};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use crate::check::{Checker, today};
use crate::customers::dto::Customer;
use crate::customers::{ensure_live, one};
use crate::error::AppError;
use crate::input::{IfMatch, Input};
use crate::journal::{Journal, changes};
use crate::page::PageQuery;
use crate::{Ctx, require};

/// A satisfaction survey (满意度调查).
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Survey {
    /// Survey id.
    pub id: Uuid,
    /// The customer.
    pub customer_id: Uuid,
    /// The half year, `2026-H2`.
    #[schema(example = "2026-H2")]
    pub period: String,
    /// The customer's needs now.
    pub needs: Option<String>,
    /// Product satisfaction, 1–5.
    pub product_satisfaction: i16,
    /// Service satisfaction, 1–5.
    pub service_satisfaction: i16,
    /// Whether both scores are 4 or 5 (satisfied, for the ≥ 90 % target).
    pub satisfied: bool,
    /// Comments.
    pub comments: Option<String>,
    /// Who recorded it.
    pub created_by: Option<Uuid>,
    /// When.
    pub created_at: DateTime<Utc>,
}

impl From<surveys::Model> for Survey {
    fn from(m: surveys::Model) -> Self {
        Self {
            id: m.id,
            customer_id: m.customer_id,
            period: m.period,
            needs: m.needs,
            product_satisfaction: m.product_satisfaction,
            service_satisfaction: m.service_satisfaction,
            satisfied: m.product_satisfaction >= 4 && m.service_satisfaction >= 4,
            comments: m.comments,
            created_by: m.created_by,
            created_at: m.created_at,
        }
    }
}

/// A survey's answers.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewSurvey {
    /// The half year it covers, `YYYY-H1` or `YYYY-H2`, not one to come; defaults to the
    /// current one.
    #[schema(
        example = "2026-H2",
        pattern = r"^(20[0-9]{2}|2100)-H[12]$",
        max_length = 7
    )]
    pub period: Option<String>,
    /// The customer's needs now, at most 2000 characters.
    #[schema(max_length = 2000)]
    pub needs: Option<String>,
    /// Product satisfaction, 1 (very dissatisfied) to 5 (very satisfied).
    #[schema(minimum = 1, maximum = 5, example = 5)]
    pub product_satisfaction: i64,
    /// Service satisfaction, 1 to 5.
    #[schema(minimum = 1, maximum = 5, example = 4)]
    pub service_satisfaction: i64,
    /// Comments, at most 2000 characters.
    #[schema(max_length = 2000)]
    pub comments: Option<String>,
}

/// A customer's surveys, latest period first.
#[derive(Debug, Serialize, ToSchema)]
pub struct SurveyList {
    /// The surveys.
    pub items: Vec<Survey>,
}

/// Records the survey of a live customer the caller can see for a half year; one per
/// customer and half year (409 `duplicate_survey`).
pub async fn create_survey(
    ctx: &Ctx,
    caller: &Caller,
    customer_id: Uuid,
    body: Input<NewSurvey>,
) -> Result<Survey, AppError> {
    require(caller, Action::ReadCustomers)?;
    let tx = ctx.begin().await?;
    let customer = customers::find_visible(&tx, customer_id, caller.visibility())
        .await?
        .ok_or(AppError::NotFound)?;
    require(caller, Action::RecordSurvey)?;
    let body = body.take()?;
    let mut c = Checker::default();
    let current = SurveyPeriod::of(today());
    let period = match body.period.as_deref().map(str::trim) {
        None => Some(current),
        Some(raw) => match SurveyPeriod::parse(raw) {
            Ok(p) if p > current => {
                c.fail("period", "in_future", "must not be a half year to come");
                None
            }
            Ok(p) => Some(p),
            Err(m) => {
                c.fail("period", "invalid_format", m);
                None
            }
        },
    };
    let mut scored = |field: &str, value: i64| match score(value) {
        Ok(s) => s,
        Err(m) => {
            c.fail(field, "out_of_range", m);
            0
        }
    };
    let product = scored("product_satisfaction", body.product_satisfaction);
    let service = scored("service_satisfaction", body.service_satisfaction);
    let needs = c.opt_text("needs", body.needs, 2000);
    let comments = c.opt_text("comments", body.comments, 2000);
    c.finish()?;
    ensure_live(&customer)?;
    let period = period.ok_or_else(|| AppError::internal("checked period missing"))?;
    let row = surveys::Model {
        id: Uuid::now_v7(),
        customer_id: customer.id,
        period: period.to_string(),
        needs,
        product_satisfaction: product,
        service_satisfaction: service,
        comments,
        created_by: caller.user_id(),
        created_at: Utc::now(),
    };
    if !surveys::insert_once(&tx, row.clone()).await? {
        let existing = surveys::find(&tx, customer.id, &row.period).await?;
        return Err(RuleViolation::DuplicateSurvey {
            existing_id: existing.map(|s| s.id),
        }
        .into());
    }
    let shown = Survey::from(row);
    let entry = changes(
        &json!({}),
        &serde_json::to_value(&shown).map_err(AppError::internal)?,
        &["id", "created_at"],
    );
    let mut journal = Journal::new();
    journal.record(
        EntityType::Survey,
        shown.id,
        AuditAction::Created,
        Value::Object(entry),
        &shown,
    )?;
    journal.commit(tx, caller).await?;
    Ok(shown)
}

/// The surveys of a customer the caller can see.
pub async fn surveys(
    ctx: &Ctx,
    caller: &Caller,
    customer_id: Uuid,
) -> Result<SurveyList, AppError> {
    require(caller, Action::ReadCustomers)?;
    let customer = customers::find_visible(&ctx.db, customer_id, caller.visibility())
        .await?
        .ok_or(AppError::NotFound)?;
    Ok(SurveyList {
        items: surveys::for_customer(&ctx.db, customer.id)
            .await?
            .into_iter()
            .map(Survey::from)
            .collect(),
    })
}

/// A customer at risk of leaving.
#[derive(Debug, Serialize, ToSchema)]
pub struct AtRisk {
    /// The customer.
    pub customer_id: Uuid,
    /// Its name.
    pub name: String,
    /// Its owner.
    pub owner_id: Uuid,
    /// Its type (`potential` or `customer`).
    pub customer_type: CustomerType,
    /// Its latest contact, won deal or contract; `null`: none since it was created.
    pub last_engaged_at: Option<DateTime<Utc>>,
    /// Days without engagement (since creation when none).
    pub quiet_days: i64,
}

/// Customers at risk, the longest quiet first.
#[derive(Debug, Serialize, ToSchema)]
pub struct AtRiskList {
    /// The customers.
    pub items: Vec<AtRisk>,
    /// Cursor of the next page; `null` on the last page.
    pub next_cursor: Option<String>,
}

fn risk_cursor(m: &customers::Model) -> String {
    crate::page::time_cursor(m.last_engaged_at.unwrap_or(m.created_at), m.id)
}

/// The caller's customers (all, for managers) with no contact, won deal or contract for the
/// tier policy's `at_risk_months`, the longest quiet first. Lost and archived customers are
/// left out.
pub async fn at_risk(
    ctx: &Ctx,
    caller: &Caller,
    page: Input<PageQuery>,
) -> Result<AtRiskList, AppError> {
    require(caller, Action::RecordActivity)?;
    let page = page.take()?;
    let limit = PageQuery {
        limit: page.limit,
        cursor: None,
    }
    .limit()?;
    let after = page
        .cursor
        .as_deref()
        .map(crate::page::parse_time_cursor)
        .transpose()?;
    let (policy, _) = tier_policy::get(&ctx.db).await?;
    let now = Utc::now();
    let cutoff = now - Duration::days(i64::from(policy.at_risk_months) * 30);
    let rows = customers::at_risk(&ctx.db, caller.visibility(), cutoff, after, limit).await?;
    let next = (rows.len() as u64 == limit)
        .then(|| rows.last().map(risk_cursor))
        .flatten();
    Ok(AtRiskList {
        items: rows
            .into_iter()
            .map(|m| AtRisk {
                quiet_days: (now - m.last_engaged_at.unwrap_or(m.created_at)).num_days(),
                customer_id: m.id,
                owner_id: m.owner_id,
                customer_type: CustomerType::parse(&m.customer_type)
                    .unwrap_or(CustomerType::Potential),
                last_engaged_at: m.last_engaged_at,
                name: m.name,
            })
            .collect(),
        next_cursor: next,
    })
}

/// Marking a customer lost.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MarkLost {
    /// Why, 1–500 characters.
    #[schema(
        example = "连续两年无采购，已转向竞争对手",
        min_length = 1,
        max_length = 500
    )]
    pub reason: String,
}

/// Marks a live customer lost (流失客户) with the reason (managers and admins): its type
/// becomes `lost`, `lost_at` and `lost_reason` are kept for the churn report. A deal won
/// later wins it back, as before.
pub async fn mark_lost(
    ctx: &Ctx,
    caller: &Caller,
    id: Uuid,
    if_match: IfMatch,
    body: Input<MarkLost>,
) -> Result<Customer, AppError> {
    require(caller, Action::MarkCustomerLost)?;
    let tx = ctx.begin().await?;
    let current = customers::find_visible(&tx, id, caller.visibility())
        .await?
        .ok_or(AppError::NotFound)?;
    if_match.check(current.version)?;
    let body = body.take()?;
    let mut c = Checker::default();
    let reason = c.text("reason", &body.reason, 1, 500);
    c.finish()?;
    ensure_live(&current)?;
    if current.customer_type == CustomerType::Lost.as_str() {
        return Err(RuleViolation::IllegalTransition {
            from: "lost".to_owned(),
            allowed: Vec::new(),
        }
        .into());
    }
    let before = one(&tx, current.clone()).await?;
    let mut row = current.clone();
    let now = Utc::now();
    row.customer_type = CustomerType::Lost.as_str().to_owned();
    row.lost_at = Some(now);
    row.lost_reason = Some(reason);
    row.updated_at = now;
    let saved = customers::save(&tx, row, current.version)
        .await?
        .ok_or(RuleViolation::StaleVersion)?;
    let shown = one(&tx, saved).await?;
    let diff = changes(&before, &shown, &["id", "version", "updated_at"]);
    let mut journal = Journal::new();
    journal.record(
        EntityType::Customer,
        shown.id,
        AuditAction::MarkedLost,
        Value::Object(diff),
        &shown,
    )?;
    journal.commit(tx, caller).await?;
    Ok(shown)
}

/// The range and page of the referrals report.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct ReferralQuery {
    /// Referred customers entered on or after this day (UTC), `YYYY-MM-DD`.
    #[param(format = Date, pattern = r"^(20[0-9]{2}|2100)-")]
    pub from: Option<String>,
    /// Referred customers entered on or before this day (UTC), `YYYY-MM-DD`.
    #[param(format = Date, pattern = r"^(20[0-9]{2}|2100)-")]
    pub to: Option<String>,
    /// Items per page, 1–200.
    #[param(minimum = 1, maximum = 200, default = 50)]
    pub limit: Option<u64>,
    /// `next_cursor` of the previous page.
    pub cursor: Option<String>,
}

/// Who referred whom.
#[derive(Debug, Serialize, ToSchema)]
pub struct Referral {
    /// The customer that referred.
    pub referrer_id: Uuid,
    /// Its name, when you can see it.
    pub referrer_name: Option<String>,
    /// The customer referred.
    pub referred_id: Uuid,
    /// Its name.
    pub referred_name: String,
    /// When the referred customer was entered.
    pub referred_at: DateTime<Utc>,
    /// Whether it became a paying customer (a won deal or a contract), and stayed so.
    pub converted: bool,
    /// Its type now.
    pub customer_type: CustomerType,
}

/// The referrals of the customers you can see.
#[derive(Debug, Serialize, ToSchema)]
pub struct ReferralReport {
    /// Who referred whom, in the order they were entered.
    pub items: Vec<Referral>,
    /// Cursor of the next page; `null` on the last page.
    pub next_cursor: Option<String>,
}

/// Who referred whom among the customers the caller can see, and whether each referral
/// became a paying customer (客户推荐奖励).
pub async fn referrals(
    ctx: &Ctx,
    caller: &Caller,
    query: Input<ReferralQuery>,
) -> Result<ReferralReport, AppError> {
    require(caller, Action::RecordActivity)?;
    let q = query.take()?;
    let page = PageQuery {
        limit: q.limit,
        cursor: q.cursor,
    }
    .page()?;
    let day = |name: &str, raw: Option<&str>| -> Result<Option<NaiveDate>, AppError> {
        raw.map(|r| {
            crm_domain::calendar::parse_day(r.trim()).map_err(|m| crate::page::invalid(name, m))
        })
        .transpose()
    };
    let (from, to) = (day("from", q.from.as_deref())?, day("to", q.to.as_deref())?);
    let bound = |d: Option<NaiveDate>, days: i64| {
        d.and_then(|d| d.checked_add_signed(Duration::days(days)))
            .and_then(|d| d.and_hms_opt(0, 0, 0))
            .map(|t| t.and_utc())
    };
    let rows = customers::referred(
        &ctx.db,
        caller.visibility(),
        (bound(from, 0), bound(to, 1)),
        page.after,
        page.limit,
    )
    .await?;
    let next = page.next_cursor(rows.last().map(|r| r.id), rows.len());
    let referrers: Vec<Uuid> = rows.iter().filter_map(|r| r.referred_by).collect();
    let names = customers::names_visible(&ctx.db, &referrers, caller.visibility()).await?;
    let items = rows
        .into_iter()
        .filter_map(|r| {
            let referrer = r.referred_by?;
            let kind = CustomerType::parse(&r.customer_type).unwrap_or(CustomerType::Potential);
            Some(Referral {
                referrer_id: referrer,
                referrer_name: names.get(&referrer).cloned(),
                referred_id: r.id,
                referred_name: r.name,
                referred_at: r.created_at,
                converted: kind == CustomerType::Customer,
                customer_type: kind,
            })
        })
        .collect();
    Ok(ReferralReport {
        items,
        next_cursor: next,
    })
}
