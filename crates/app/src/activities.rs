//! Communication records (沟通档案): every visit, call, meeting, e-mail or WeChat with a
//! customer — what was said, the customer's feedback, changed needs, the next follow-up —
//! and the follow-ups due by each tier's cadence (重要客户每月回访、一般客户每季度回访).

use chrono::{DateTime, Datelike, Duration, NaiveDate, Utc};
use crm_domain::access::{Action, Caller};
use crm_domain::audit::{AuditAction, EntityType};
use crm_domain::tier::Tier;
use crm_domain::upkeep::ActivityKind;
use crm_store::{activities, customers, opportunities, tier_policy};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use crate::check::{Checker, today};
use crate::customers::ensure_live;
use crate::error::AppError;
use crate::input::Input;
use crate::journal::{Journal, changes};
use crate::page::PageQuery;
use crate::{Ctx, require};

/// A communication record.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Activity {
    /// Record id.
    pub id: Uuid,
    /// The customer.
    pub customer_id: Uuid,
    /// The contact spoken to.
    pub contact_id: Option<Uuid>,
    /// The deal it was about.
    pub opportunity_id: Option<Uuid>,
    /// How.
    pub kind: ActivityKind,
    /// When it took place.
    pub occurred_at: DateTime<Utc>,
    /// What was said.
    #[schema(example = "拜访设备科，演示新一代温控模块")]
    pub summary: String,
    /// The customer's feedback.
    pub feedback: Option<String>,
    /// How the customer's needs changed.
    pub needs_change: Option<String>,
    /// When to follow up next.
    pub next_follow_up: Option<NaiveDate>,
    /// Who recorded it.
    pub created_by: Option<Uuid>,
    /// When it was recorded.
    pub created_at: DateTime<Utc>,
}

impl From<activities::Model> for Activity {
    fn from(m: activities::Model) -> Self {
        Self {
            id: m.id,
            customer_id: m.customer_id,
            contact_id: m.contact_id,
            opportunity_id: m.opportunity_id,
            kind: ActivityKind::parse(&m.kind).unwrap_or(ActivityKind::Other),
            occurred_at: m.occurred_at,
            summary: m.summary,
            feedback: m.feedback,
            needs_change: m.needs_change,
            next_follow_up: m.next_follow_up,
            created_by: m.created_by,
            created_at: m.created_at,
        }
    }
}

impl Activity {
    /// The record as `caller` may see it: the deal only for those who may read deals.
    fn for_caller(m: activities::Model, caller: &Caller) -> Self {
        let mut shown = Self::from(m);
        if !caller.may(Action::ReadDeals) {
            shown.opportunity_id = None;
        }
        shown
    }
}

/// A new communication record.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewActivity {
    /// How.
    #[schema(value_type = ActivityKind)]
    pub kind: String,
    /// When it took place (RFC 3339); not more than a day ahead. Defaults to now.
    pub occurred_at: Option<DateTime<Utc>>,
    /// What was said, 1–2000 characters.
    #[schema(
        example = "拜访设备科，演示新一代温控模块",
        min_length = 1,
        max_length = 2000
    )]
    pub summary: String,
    /// The customer's feedback, at most 2000 characters.
    #[schema(max_length = 2000)]
    pub feedback: Option<String>,
    /// How the customer's needs changed, at most 2000 characters.
    #[schema(max_length = 2000)]
    pub needs_change: Option<String>,
    /// When to follow up next, `YYYY-MM-DD`, not before the contact.
    #[schema(format = Date)]
    pub next_follow_up: Option<String>,
    /// One of the customer's contacts.
    pub contact_id: Option<Uuid>,
    /// One of the customer's deals.
    pub opportunity_id: Option<Uuid>,
}

/// Filters and page of the record list.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct ActivityQuery {
    /// `true`: only the records you made.
    pub mine: Option<bool>,
    /// Only records made by this user.
    pub created_by: Option<Uuid>,
    /// Only this customer's.
    pub customer_id: Option<Uuid>,
    /// Only this kind.
    pub kind: Option<ActivityKind>,
    /// Took place at or after (RFC 3339).
    pub from: Option<DateTime<Utc>>,
    /// Took place before (RFC 3339).
    pub to: Option<DateTime<Utc>>,
    /// Items per page, 1–200.
    #[param(minimum = 1, maximum = 200, default = 50)]
    pub limit: Option<u64>,
    /// `next_cursor` of the previous page.
    pub cursor: Option<String>,
}

/// A page of communication records, newest recorded first.
#[derive(Debug, Serialize, ToSchema)]
pub struct ActivityList {
    /// The records.
    pub items: Vec<Activity>,
    /// Cursor of the next page; `null` on the last page.
    pub next_cursor: Option<String>,
}

/// How many follow-ups to list.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct FollowUpQuery {
    /// How many, 1–200 (the most overdue).
    #[param(minimum = 1, maximum = 200, default = 50)]
    pub limit: Option<u64>,
}

/// A customer due a follow-up.
#[derive(Debug, Serialize, ToSchema)]
pub struct FollowUpDue {
    /// The customer.
    pub customer_id: Uuid,
    /// Its name.
    pub name: String,
    /// Its tier, which sets the cadence.
    pub tier: Tier,
    /// Its owner.
    pub owner_id: Uuid,
    /// When it was last contacted; `null`: never (counted from its creation).
    pub last_activity_at: Option<DateTime<Utc>>,
    /// Days between follow-ups for its tier.
    pub cadence_days: u32,
    /// When the follow-up was due.
    pub due_on: NaiveDate,
    /// Days past due (0: due today).
    pub days_overdue: i64,
}

/// The customers due a follow-up, most overdue first.
#[derive(Debug, Serialize, ToSchema)]
pub struct FollowUpList {
    /// The customers.
    pub items: Vec<FollowUpDue>,
}

/// Records a contact with a live customer the caller can see; the customer's last contact
/// moves with it.
pub async fn create(
    ctx: &Ctx,
    caller: &Caller,
    customer_id: Uuid,
    body: Input<NewActivity>,
) -> Result<Activity, AppError> {
    require(caller, Action::RecordActivity)?;
    let tx = ctx.begin().await?;
    let customer = customers::find_visible(&tx, customer_id, caller.visibility())
        .await?
        .ok_or(AppError::NotFound)?;
    let body = body.take()?;
    let now = Utc::now();
    let mut c = Checker::default();
    let kind = c.one_of(
        "kind",
        Some(&body.kind),
        ActivityKind::parse,
        &ActivityKind::names(),
    );
    let occurred_at = body.occurred_at.unwrap_or(now);
    if occurred_at > now + Duration::days(1) {
        c.fail(
            "occurred_at",
            "in_future",
            "must not be more than a day ahead",
        );
    } else if occurred_at.date_naive() < NaiveDate::from_ymd_opt(2000, 1, 1).unwrap_or_default() {
        c.fail("occurred_at", "out_of_range", "must be after 2000");
    }
    let summary = c.text("summary", &body.summary, 1, 2000);
    let feedback = c.opt_text("feedback", body.feedback, 2000);
    let needs_change = c.opt_text("needs_change", body.needs_change, 2000);
    let next = c.date(
        "next_follow_up",
        body.next_follow_up.as_deref(),
        today(),
        false,
    );
    if let Some(next) = next
        && (next < occurred_at.date_naive() || next.year() > 2100)
    {
        c.fail(
            "next_follow_up",
            "out_of_range",
            "must be on or after the contact and before 2101",
        );
    }
    crate::contacts::check_belongs(&tx, &mut c, customer.id, body.contact_id).await?;
    if let Some(id) = body.opportunity_id {
        let theirs = opportunities::find_visible(&tx, id, caller.visibility())
            .await?
            .is_some_and(|d| d.customer_id == customer.id);
        if !theirs {
            c.fail(
                "opportunity_id",
                "unknown_opportunity",
                "must be a deal of this customer that you can see",
            );
        }
    }
    c.finish()?;
    ensure_live(&customer)?;
    let row = activities::Model {
        id: Uuid::now_v7(),
        customer_id: customer.id,
        contact_id: body.contact_id,
        opportunity_id: body.opportunity_id,
        kind: kind.unwrap_or(ActivityKind::Other).as_str().to_owned(),
        occurred_at,
        summary,
        feedback,
        needs_change,
        next_follow_up: next,
        created_by: caller.user_id(),
        created_at: now,
    };
    let saved = activities::insert(&tx, row).await?;
    customers::record_contact(&tx, customer.id, occurred_at.min(now)).await?;
    let shown = Activity::from(saved);
    let mut journal = Journal::new();
    let entry = changes(
        &json!({}),
        &serde_json::to_value(&shown).map_err(AppError::internal)?,
        &["id", "created_at"],
    );
    journal.record(
        EntityType::Activity,
        shown.id,
        AuditAction::Created,
        Value::Object(entry),
        &shown,
    )?;
    journal.commit(tx, caller).await?;
    Ok(shown)
}

/// The communication records the caller can see, newest first, with filters.
pub async fn list(
    ctx: &Ctx,
    caller: &Caller,
    query: Input<ActivityQuery>,
) -> Result<ActivityList, AppError> {
    require(caller, Action::ReadCustomers)?;
    let q = query.take()?;
    page_of(
        ctx,
        caller,
        activities::ActivityFilter {
            customer_id: q.customer_id,
            created_by: if q.mine == Some(true) {
                Some(caller.user_id().ok_or(AppError::Forbidden(
                    "Only people have records of their own.",
                ))?)
            } else {
                q.created_by
            },
            kind: q.kind.map(|k| k.as_str().to_owned()),
            from: crate::page::instant("from", q.from)?,
            to: crate::page::instant("to", q.to)?,
        },
        PageQuery {
            limit: q.limit,
            cursor: q.cursor,
        },
    )
    .await
}

/// The communication records of one customer the caller can see, newest first.
pub async fn for_customer(
    ctx: &Ctx,
    caller: &Caller,
    customer_id: Uuid,
    page: Input<PageQuery>,
) -> Result<ActivityList, AppError> {
    require(caller, Action::ReadCustomers)?;
    let customer = customers::find_visible(&ctx.db, customer_id, caller.visibility())
        .await?
        .ok_or(AppError::NotFound)?;
    let filter = activities::ActivityFilter {
        customer_id: Some(customer.id),
        ..activities::ActivityFilter::default()
    };
    page_of(ctx, caller, filter, page.take()?).await
}

async fn page_of(
    ctx: &Ctx,
    caller: &Caller,
    filter: activities::ActivityFilter,
    page: PageQuery,
) -> Result<ActivityList, AppError> {
    let page = page.page()?;
    let rows = activities::list(
        &ctx.db,
        caller.visibility(),
        &filter,
        page.after,
        page.limit,
    )
    .await?;
    let next = page.next_cursor(rows.last().map(|r| r.id), rows.len());
    Ok(ActivityList {
        items: rows
            .into_iter()
            .map(|m| Activity::for_caller(m, caller))
            .collect(),
        next_cursor: next,
    })
}

/// One communication record.
pub async fn get(ctx: &Ctx, caller: &Caller, id: Uuid) -> Result<Activity, AppError> {
    require(caller, Action::ReadCustomers)?;
    activities::find_visible(&ctx.db, id, caller.visibility())
        .await?
        .map(|m| Activity::for_caller(m, caller))
        .ok_or(AppError::NotFound)
}

/// The caller's customers (all, for managers) whose last contact is older than their tier's
/// cadence in the tier policy, most overdue first. Lost and archived customers are left
/// out; a customer never contacted counts from its creation.
pub async fn follow_ups_due(
    ctx: &Ctx,
    caller: &Caller,
    query: Input<FollowUpQuery>,
) -> Result<FollowUpList, AppError> {
    require(caller, Action::RecordActivity)?;
    let limit = PageQuery {
        limit: query.take()?.limit,
        cursor: None,
    }
    .limit()?;
    let (policy, _) = tier_policy::get(&ctx.db).await?;
    let now = Utc::now();
    let today = today();
    let mut items = Vec::new();
    for tier in [Tier::Strategic, Tier::Key, Tier::Ordinary] {
        let days = policy.follow_up.days(tier);
        let cutoff = now - Duration::days(i64::from(days));
        let rows = customers::follow_ups_due(
            &ctx.db,
            caller.visibility(),
            tier.as_str(),
            cutoff,
            None,
            limit,
        )
        .await?;
        items.extend(rows.into_iter().map(|c| {
            let due_on = policy.follow_up.due_on(tier, c.last_contact());
            FollowUpDue {
                customer_id: c.id,
                name: c.name,
                tier,
                owner_id: c.owner_id,
                last_activity_at: c.last_activity_at,
                cadence_days: days,
                due_on,
                days_overdue: (today - due_on).num_days().max(0),
            }
        }));
    }
    items.sort_by(|a, b| {
        b.days_overdue
            .cmp(&a.days_overdue)
            .then(a.due_on.cmp(&b.due_on))
            .then(a.customer_id.cmp(&b.customer_id))
    });
    items.truncate(usize::try_from(limit).unwrap_or(usize::MAX));
    Ok(FollowUpList { items })
}
