//! Lead assignment rules (线索分配规则), edited by managers: ordered; each matches leads by
//! region, industry (section or division) and source, and gives them to one rep or
//! round-robin over several. The first matching rule wins; no match leaves the lead in the
//! managers' queue.

use chrono::{DateTime, Utc};
use crm_domain::access::{Action, Caller};
use crm_domain::audit::{AuditAction, EntityType};
use crm_domain::customer::{check_industry, check_region};
use crm_domain::lead::{LeadSource, RuleConditions};
use crm_domain::rule::RuleViolation;
use crm_store::{assignment_rules, users};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use utoipa::ToSchema;
use uuid::Uuid;

use crate::check::Checker;
use crate::error::AppError;
use crate::input::{IfMatch, Input};
use crate::journal::{Journal, changes};
use crate::{Ctx, require};

const RULE: EntityType = EntityType::AssignmentRule;

/// An assignment rule.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct AssignmentRule {
    /// Rule id.
    pub id: Uuid,
    /// Order: lower first; the first rule that matches a lead takes it.
    pub position: i32,
    /// What the rule is for.
    #[schema(example = "华南展会线索")]
    pub name: String,
    /// Province codes; empty matches any.
    pub regions: Vec<String>,
    /// Industry sections (`C`) or divisions (`C35`); empty matches any.
    pub industries: Vec<String>,
    /// Sources; empty matches any.
    pub sources: Vec<LeadSource>,
    /// The reps, in round-robin order (one rep: always that rep).
    pub assignees: Vec<Uuid>,
    /// Whether the rule applies.
    pub active: bool,
    /// When it was created.
    pub created_at: DateTime<Utc>,
    /// When it last changed.
    pub updated_at: DateTime<Utc>,
    /// Version for `If-Match`.
    pub version: i32,
}

fn split(s: &str) -> Vec<String> {
    s.split_whitespace().map(str::to_owned).collect()
}

impl From<assignment_rules::Model> for AssignmentRule {
    fn from(m: assignment_rules::Model) -> Self {
        Self {
            id: m.id,
            position: m.position,
            name: m.name,
            regions: split(&m.regions),
            industries: split(&m.industries),
            sources: m
                .sources
                .split_whitespace()
                .filter_map(LeadSource::parse)
                .collect(),
            assignees: m
                .assignees
                .split_whitespace()
                .filter_map(|s| s.parse().ok())
                .collect(),
            active: m.active,
            created_at: m.created_at,
            updated_at: m.updated_at,
            version: m.version,
        }
    }
}

/// The conditions of a stored rule.
pub(crate) fn conditions(m: &assignment_rules::Model) -> RuleConditions {
    RuleConditions {
        regions: split(&m.regions),
        industries: split(&m.industries),
        sources: m
            .sources
            .split_whitespace()
            .filter_map(LeadSource::parse)
            .collect(),
    }
}

crate::text_schema!(
    RegionCode,
    "A province code (GB/T 2260), e.g. `44`.",
    pattern = "^[0-9]{2}$",
    2
);
crate::text_schema!(
    IndustryFilter,
    "An industry section (`C`) or division (`C35`) of GB/T 4754-2017.",
    pattern = "^[A-Ta-t]([0-9]{2})?$",
    3
);

/// A new rule.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewRule {
    /// Order: lower first. Defaults to after the last rule.
    #[schema(minimum = 0, maximum = 100_000)]
    pub position: Option<i32>,
    /// 1–100 characters.
    #[schema(example = "华南展会线索", min_length = 1, max_length = 100)]
    pub name: String,
    /// Province codes (GB/T 2260).
    #[schema(example = json!(["44", "45"]), max_items = 40, value_type = Option<Vec<RegionCode>>)]
    pub regions: Option<Vec<String>>,
    /// Industry sections (`C`) or divisions (`C35`).
    #[schema(example = json!(["C"]), max_items = 100, value_type = Option<Vec<IndustryFilter>>)]
    pub industries: Option<Vec<String>>,
    /// Sources.
    #[schema(max_items = 5)]
    pub sources: Option<Vec<LeadSource>>,
    /// 1–50 active accounts, in round-robin order.
    #[schema(min_items = 1, max_items = 50)]
    pub assignees: Vec<Uuid>,
    /// Whether the rule applies (default true).
    pub active: Option<bool>,
}

impl From<NewRule> for RuleInput {
    fn from(rule: NewRule) -> Self {
        Self {
            position: rule.position,
            name: Some(rule.name),
            regions: rule.regions,
            industries: rule.industries,
            sources: rule.sources,
            assignees: Some(rule.assignees),
            active: rule.active,
        }
    }
}

/// Changes to a rule, as a merge patch: absent fields stay.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RuleInput {
    /// Order: lower first.
    #[schema(minimum = 0, maximum = 100_000)]
    pub position: Option<i32>,
    /// 1–100 characters.
    #[schema(example = "华南展会线索", min_length = 1, max_length = 100)]
    pub name: Option<String>,
    /// Province codes (GB/T 2260).
    #[schema(example = json!(["44", "45"]), max_items = 40, value_type = Option<Vec<RegionCode>>)]
    pub regions: Option<Vec<String>>,
    /// Industry sections (`C`) or divisions (`C35`).
    #[schema(example = json!(["C"]), max_items = 100, value_type = Option<Vec<IndustryFilter>>)]
    pub industries: Option<Vec<String>>,
    /// Sources.
    #[schema(max_items = 5)]
    pub sources: Option<Vec<LeadSource>>,
    /// 1–50 active accounts, in round-robin order.
    #[schema(min_items = 1, max_items = 50)]
    pub assignees: Option<Vec<Uuid>>,
    /// Whether the rule applies (default true).
    pub active: Option<bool>,
}

/// Every rule, in order.
#[derive(Debug, Serialize, ToSchema)]
pub struct AssignmentRuleList {
    /// The rules, first applied first.
    pub items: Vec<AssignmentRule>,
    /// Always `null`: rules come in one page.
    pub next_cursor: Option<String>,
}

/// Every rule, in the order they apply. Managers and admins.
pub async fn list(ctx: &Ctx, caller: &Caller) -> Result<AssignmentRuleList, AppError> {
    require(caller, Action::ManageAssignmentRules)?;
    Ok(AssignmentRuleList {
        items: assignment_rules::all(&ctx.db)
            .await?
            .into_iter()
            .map(AssignmentRule::from)
            .collect(),
        next_cursor: None,
    })
}

/// One rule.
pub async fn get(ctx: &Ctx, caller: &Caller, id: Uuid) -> Result<AssignmentRule, AppError> {
    require(caller, Action::ManageAssignmentRules)?;
    assignment_rules::find(&ctx.db, id)
        .await?
        .map(AssignmentRule::from)
        .ok_or(AppError::NotFound)
}

/// Checks the fields given and applies them to `row`.
async fn apply(
    conn: &impl crm_store::ConnectionTrait,
    row: &mut assignment_rules::Model,
    input: RuleInput,
    creating: bool,
) -> Result<(), AppError> {
    let mut c = Checker::default();
    if let Some(p) = input.position {
        if !(0..=100_000).contains(&p) {
            c.fail("position", "out_of_range", "must be between 0 and 100000");
        }
        row.position = p;
    }
    match input.name {
        Some(name) => row.name = c.text("name", &name, 1, 100),
        None if creating => c.fail("name", "required", "is required"),
        None => {}
    }
    if let Some(regions) = input.regions {
        if regions.len() > 40 {
            c.fail("regions", "too_many", "may hold at most 40 provinces");
        }
        let mut out = Vec::new();
        for (i, r) in regions.iter().enumerate() {
            match check_region(r) {
                Ok(code) if !out.contains(&code) => out.push(code),
                Ok(_) => {}
                Err(msg) => c.fail(format!("regions[{i}]"), "unknown_code", msg),
            }
        }
        row.regions = out.join(" ");
    }
    if let Some(industries) = input.industries {
        if industries.len() > 100 {
            c.fail("industries", "too_many", "may hold at most 100 industries");
        }
        let mut out: Vec<String> = Vec::new();
        for (i, raw) in industries.iter().enumerate() {
            let raw = raw.trim().to_ascii_uppercase();
            let ok = if raw.len() == 1 {
                crm_domain::reference::INDUSTRY_SECTIONS
                    .iter()
                    .any(|s| s.code == raw)
            } else {
                check_industry(&raw).is_ok()
            };
            if ok {
                if !out.contains(&raw) {
                    out.push(raw);
                }
            } else {
                c.fail(
                    format!("industries[{i}]"),
                    "unknown_code",
                    "must be a GB/T 4754-2017 section (C) or division (C35)",
                );
            }
        }
        row.industries = out.join(" ");
    }
    if let Some(mut sources) = input.sources {
        if sources.len() > LeadSource::ALL.len() {
            c.fail("sources", "too_many", "may name each source once");
        }
        let mut seen = std::collections::HashSet::new();
        sources.retain(|s| seen.insert(*s));
        row.sources = sources
            .iter()
            .map(|s| s.as_str())
            .collect::<Vec<_>>()
            .join(" ");
    }
    match input.assignees {
        Some(mut ids) => {
            let sent = ids.len();
            let mut seen = std::collections::HashSet::new();
            ids.retain(|id| seen.insert(*id));
            if ids.is_empty() || sent > 50 {
                c.fail("assignees", "length", "must name 1 to 50 accounts");
            }
            let active = users::active_among(conn, &ids).await?;
            for (i, id) in ids.iter().enumerate() {
                if !active.iter().any(|u| u.id == *id) {
                    c.fail(
                        format!("assignees[{i}]"),
                        "unknown_user",
                        "must be an active user",
                    );
                }
            }
            row.assignees = ids
                .iter()
                .map(Uuid::to_string)
                .collect::<Vec<_>>()
                .join(" ");
        }
        None if creating => c.fail("assignees", "required", "must name 1 to 50 accounts"),
        None => {}
    }
    if let Some(active) = input.active {
        row.active = active;
    }
    c.finish()
}

/// Adds a rule. Managers and admins.
pub async fn create(
    ctx: &Ctx,
    caller: &Caller,
    body: Input<NewRule>,
) -> Result<AssignmentRule, AppError> {
    require(caller, Action::ManageAssignmentRules)?;
    let input = RuleInput::from(body.take()?);
    let tx = ctx.begin().await?;
    let last = assignment_rules::all(&tx)
        .await?
        .last()
        .map_or(0, |r| r.position + 10);
    let now = Utc::now();
    let mut row = assignment_rules::Model {
        id: Uuid::now_v7(),
        position: last,
        name: String::new(),
        regions: String::new(),
        industries: String::new(),
        sources: String::new(),
        assignees: String::new(),
        turn: 0,
        active: true,
        created_at: now,
        updated_at: now,
        version: 1,
    };
    apply(&tx, &mut row, input, true).await?;
    let saved = AssignmentRule::from(assignment_rules::insert(&tx, row).await?);
    let mut journal = Journal::new();
    let entry = changes(
        &json!({}),
        &serde_json::to_value(&saved).map_err(AppError::internal)?,
        &["id", "version", "created_at", "updated_at"],
    );
    journal.record(
        RULE,
        saved.id,
        AuditAction::Created,
        Value::Object(entry),
        &saved,
    )?;
    journal.commit(tx, caller).await?;
    Ok(saved)
}

/// Changes a rule (merge patch). Honours `If-Match` when sent.
pub async fn update(
    ctx: &Ctx,
    caller: &Caller,
    id: Uuid,
    if_match: IfMatch,
    body: Input<RuleInput>,
) -> Result<AssignmentRule, AppError> {
    require(caller, Action::ManageAssignmentRules)?;
    let tx = ctx.begin().await?;
    let current = assignment_rules::find(&tx, id)
        .await?
        .ok_or(AppError::NotFound)?;
    if_match.check(current.version)?;
    let input = body.take()?;
    let mut row = current.clone();
    apply(&tx, &mut row, input, false).await?;
    row.updated_at = Utc::now();
    let saved = assignment_rules::save(&tx, row, current.version)
        .await?
        .ok_or(RuleViolation::StaleVersion)?;
    let (before, after) = (AssignmentRule::from(current), AssignmentRule::from(saved));
    let diff = changes(&before, &after, &["version", "updated_at"]);
    let mut journal = Journal::new();
    if !diff.is_empty() {
        journal.record(
            RULE,
            after.id,
            AuditAction::Updated,
            Value::Object(diff),
            &after,
        )?;
    }
    journal.commit(tx, caller).await?;
    Ok(after)
}

/// Deletes a rule.
pub async fn delete(ctx: &Ctx, caller: &Caller, id: Uuid) -> Result<(), AppError> {
    require(caller, Action::ManageAssignmentRules)?;
    let tx = ctx.begin().await?;
    let current = assignment_rules::find(&tx, id)
        .await?
        .ok_or(AppError::NotFound)?;
    assignment_rules::delete(&tx, id).await?;
    let mut journal = Journal::new();
    journal.record(
        RULE,
        id,
        AuditAction::Deleted,
        json!({"name": {"from": current.name, "to": null}}),
        &json!({"id": id}),
    )?;
    journal.commit(tx, caller).await
}
