//! Lead request and response types, and the checks that turn a submitted lead into a valid
//! row: every failing field reported at once.

use chrono::{DateTime, Utc};
use crm_domain::customer::{Uscc, check_industry, check_mobile, check_region};
use crm_domain::lead::{LeadSource, LeadStatus};
use crm_store::leads;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use crate::check::{Checker, present};
use crate::error::FieldError;

/// The allowed sources, for messages.
pub const SOURCES: &str = "fair, website, referral, phone, other";

crate::enum_schema!(
    LeadAssignedBy,
    "How a lead got its owner: a rule, the owner of the customer it duplicates, a manager, or the rep who created it.",
    ["rule", "customer_owner", "manager", "creator"]
);

/// A lead (线索).
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Lead {
    /// Lead id.
    pub id: Uuid,
    /// `new` (in the managers' queue), `following` (assigned), `converted`, `disqualified`.
    pub status: LeadStatus,
    /// Where it came from.
    pub source: LeadSource,
    /// Which fair, which page, which campaign.
    #[schema(example = "2026 广交会 B 馆")]
    pub source_detail: Option<String>,
    /// The company's name.
    #[schema(example = "佛山顺德家电配件有限公司")]
    pub company_name: String,
    /// The company's unified social credit code, if known.
    pub uscc: Option<String>,
    /// The person to talk to.
    #[schema(example = "陈静")]
    pub contact_name: String,
    /// Mainland mobile number.
    pub mobile: Option<String>,
    /// Email address.
    pub email: Option<String>,
    /// Province code (GB/T 2260).
    pub region: Option<String>,
    /// GB/T 4754-2017 division.
    pub industry_code: Option<String>,
    /// What they need.
    pub needs: Option<String>,
    /// The integrator's own id for this lead; sending it again returns this lead.
    pub external_id: Option<String>,
    /// The customer who referred them (referral leads).
    pub referred_by: Option<Uuid>,
    /// The rep following it up; `null` while in the managers' queue.
    pub owner_id: Option<Uuid>,
    /// How it was assigned: `rule`, `customer_owner`, `manager` or `creator`.
    #[schema(value_type = Option<LeadAssignedBy>)]
    pub assigned_by: Option<String>,
    /// What it duplicates, when it shares a mobile, email or USCC with an open lead or a
    /// customer.
    pub duplicate_of: Option<DuplicateOf>,
    /// The account that created it, if a person did.
    pub created_by_user_id: Option<Uuid>,
    /// The API key that created it, if an integrator did.
    pub created_by_api_key_id: Option<Uuid>,
    /// The customer it became (converted leads).
    pub customer_id: Option<Uuid>,
    /// The deal it became (converted leads).
    pub opportunity_id: Option<Uuid>,
    /// Why it was disqualified.
    pub disqualify_reason: Option<String>,
    /// When it arrived.
    pub received_at: DateTime<Utc>,
    /// When it last changed.
    pub updated_at: DateTime<Utc>,
    /// Version for `If-Match`; also sent as the `ETag`.
    pub version: i32,
}

/// What a lead duplicates. A lead of an existing customer goes to that customer's owner.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct DuplicateOf {
    /// The earlier open lead, if it duplicates one.
    pub lead_id: Option<Uuid>,
    /// The existing customer, if it duplicates one.
    pub customer_id: Option<Uuid>,
    /// `same_mobile`, `same_email`, `same_uscc`.
    #[schema(example = json!(["same_mobile"]))]
    pub reasons: Vec<String>,
}

impl From<leads::Model> for Lead {
    fn from(m: leads::Model) -> Self {
        let duplicate_of = (m.duplicate_of_lead.is_some() || m.duplicate_of_customer.is_some())
            .then(|| DuplicateOf {
                lead_id: m.duplicate_of_lead,
                customer_id: m.duplicate_of_customer,
                reasons: m
                    .duplicate_reasons
                    .as_deref()
                    .unwrap_or_default()
                    .split_whitespace()
                    .map(str::to_owned)
                    .collect(),
            });
        Self {
            id: m.id,
            status: LeadStatus::parse(&m.status).unwrap_or(LeadStatus::New),
            source: LeadSource::parse(&m.source).unwrap_or(LeadSource::Other),
            source_detail: m.source_detail,
            company_name: m.company_name,
            uscc: m.uscc,
            contact_name: m.contact_name,
            mobile: m.mobile,
            email: m.email,
            region: m.region,
            industry_code: m.industry_code,
            needs: m.needs,
            external_id: m.external_id,
            referred_by: m.referred_by,
            owner_id: m.owner_id,
            assigned_by: m.assigned_by,
            duplicate_of,
            created_by_user_id: m.created_by_user,
            created_by_api_key_id: m.created_by_key,
            customer_id: m.customer_id,
            opportunity_id: m.opportunity_id,
            disqualify_reason: m.disqualify_reason,
            received_at: m.received_at,
            updated_at: m.updated_at,
            version: m.version,
        }
    }
}

/// A new lead, from a web form, a fair scanner, an import row or a rep.
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewLead {
    /// `fair`, `website`, `referral`, `phone` or `other`.
    #[schema(value_type = LeadSource, example = "fair")]
    pub source: String,
    /// Which fair, which page, which campaign (up to 200 characters).
    #[schema(max_length = 200)]
    pub source_detail: Option<String>,
    /// The company's name, 2–100 characters.
    #[schema(example = "佛山顺德家电配件有限公司", min_length = 2, max_length = 100)]
    pub company_name: String,
    /// The company's USCC, checked like a customer's.
    #[schema(
        pattern = r"^([0-9A-HJ-NPQRTUWXYa-hj-npqrtuwxy]{18})?$",
        max_length = 18
    )]
    pub uscc: Option<String>,
    /// The person to talk to, 1–50 characters.
    #[schema(example = "陈静", min_length = 1, max_length = 50)]
    pub contact_name: String,
    /// Mainland mobile number; a lead needs a mobile or an email.
    #[schema(
        example = "13800138000",
        pattern = r"^(1[3-9][0-9]{9})?$",
        max_length = 11
    )]
    pub mobile: Option<String>,
    /// Email address; a lead needs a mobile or an email.
    #[schema(format = Email, max_length = 254)]
    pub email: Option<String>,
    /// Province code (GB/T 2260); derived from the USCC when omitted.
    #[schema(pattern = r"^([0-9]{2})?$", max_length = 2)]
    pub region: Option<String>,
    /// GB/T 4754-2017 division, e.g. `C35`.
    #[schema(pattern = r"^([A-Ta-t][0-9]{2})?$", max_length = 3)]
    pub industry_code: Option<String>,
    /// What they need (up to 2000 characters).
    #[schema(max_length = 2000)]
    pub needs: Option<String>,
    /// Your own id for this lead (1–100 characters): sending it again returns the lead
    /// already made instead of a second one.
    #[schema(example = "form-2026-000123", max_length = 100)]
    pub external_id: Option<String>,
    /// The customer who referred them, for referral leads.
    pub referred_by: Option<Uuid>,
}

/// Changes to a lead (JSON merge patch): absent fields stay, `null` clears.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LeadPatch {
    /// Source.
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = LeadSource, required = false)]
    pub source: Option<Option<String>>,
    /// Source detail.
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>, max_length = 200)]
    pub source_detail: Option<Option<String>>,
    /// Company name.
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = String, required = false, min_length = 2, max_length = 100)]
    pub company_name: Option<Option<String>>,
    /// USCC.
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>, pattern = r"^([0-9A-HJ-NPQRTUWXYa-hj-npqrtuwxy]{18})?$", max_length = 18)]
    pub uscc: Option<Option<String>>,
    /// Contact name.
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = String, required = false, min_length = 1, max_length = 50)]
    pub contact_name: Option<Option<String>>,
    /// Mobile.
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>, pattern = r"^(1[3-9][0-9]{9})?$", max_length = 11)]
    pub mobile: Option<Option<String>>,
    /// Email.
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>, format = Email, max_length = 254)]
    pub email: Option<Option<String>>,
    /// Region.
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>, pattern = r"^([0-9]{2})?$", max_length = 2)]
    pub region: Option<Option<String>>,
    /// Industry.
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>, pattern = r"^([A-Ta-t][0-9]{2})?$", max_length = 3)]
    pub industry_code: Option<Option<String>>,
    /// Needs.
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>, max_length = 2000)]
    pub needs: Option<Option<String>>,
}

/// Filters and page of the lead list.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct LeadQuery {
    /// `new`, `following`, `converted` or `disqualified`.
    pub status: Option<LeadStatus>,
    /// Source.
    pub source: Option<LeadSource>,
    /// Only leads of this owner.
    pub owner_id: Option<Uuid>,
    /// `true`: only leads in nobody's hands (the managers' queue).
    pub unassigned: Option<bool>,
    /// Province code.
    #[param(pattern = r"^[0-9]{2}$", max_length = 2)]
    pub region: Option<String>,
    /// Industry division (`C35`) or section (`C`).
    #[param(pattern = r"^[A-Ta-t]([0-9]{2})?$", max_length = 3)]
    pub industry: Option<String>,
    /// Received at or after (RFC 3339).
    pub received_from: Option<DateTime<Utc>>,
    /// Received before (RFC 3339).
    pub received_to: Option<DateTime<Utc>>,
    /// Text in the company or contact name, mobile, email or USCC.
    pub q: Option<String>,
    /// `true`: only leads flagged as duplicates.
    pub duplicates: Option<bool>,
    /// Items per page, 1–200.
    #[param(minimum = 1, maximum = 200, default = 50)]
    pub limit: Option<u64>,
    /// `next_cursor` of the previous page.
    pub cursor: Option<String>,
}

/// A page of leads, newest first.
#[derive(Debug, Serialize, ToSchema)]
pub struct LeadList {
    /// The leads.
    pub items: Vec<Lead>,
    /// Cursor of the next page; `null` on the last page.
    pub next_cursor: Option<String>,
}

/// The checked fields of a lead, ready for duplicate checks and assignment.
#[derive(Debug, Clone)]
pub struct CheckedLead {
    pub source: LeadSource,
    pub source_detail: Option<String>,
    pub company_name: String,
    pub uscc: Option<String>,
    pub contact_name: String,
    pub mobile: Option<String>,
    pub email: Option<String>,
    pub region: Option<String>,
    pub industry_code: Option<String>,
    pub needs: Option<String>,
    pub external_id: Option<String>,
    pub referred_by: Option<Uuid>,
}

/// Checks a submitted lead; every problem goes to `c` under `prefix` (empty for a single lead).
pub fn check_lead(c: &mut Checker, prefix: &str, lead: NewLead) -> CheckedLead {
    let field = |name: &str| {
        if prefix.is_empty() {
            name.to_owned()
        } else {
            format!("{prefix}.{name}")
        }
    };
    let source = LeadSource::parse(&lead.source);
    if source.is_none() {
        c.fail(
            field("source"),
            if lead.source.trim().is_empty() {
                "required"
            } else {
                "invalid_value"
            },
            &format!("must be one of {SOURCES}"),
        );
    }
    let source_detail = c.opt_text(&field("source_detail"), lead.source_detail, 200);
    let company_name = c.text(&field("company_name"), &lead.company_name, 2, 100);
    let uscc = lead
        .uscc
        .map(|u| u.trim().to_owned())
        .filter(|u| !u.is_empty())
        .and_then(|raw| match Uscc::parse(&raw) {
            Ok(u) => Some(u),
            Err(msg) => {
                c.fail(field("uscc"), "invalid_format", msg);
                None
            }
        });
    let contact_name = c.text(&field("contact_name"), &lead.contact_name, 1, 50);
    let mobile = lead
        .mobile
        .map(|m| m.trim().to_owned())
        .filter(|m| !m.is_empty())
        .and_then(|raw| match check_mobile(&raw) {
            Ok(m) => Some(m),
            Err(msg) => {
                c.fail(field("mobile"), "invalid_format", msg);
                None
            }
        });
    let email = c.email(&field("email"), lead.email);
    if mobile.is_none()
        && email.is_none()
        && c.errors
            .iter()
            .all(|e| e.field != field("mobile") && e.field != field("email"))
    {
        c.fail(
            field("mobile"),
            "mobile_or_email",
            "a lead needs a mobile or an email",
        );
    }
    let region = match lead
        .region
        .as_deref()
        .map(str::trim)
        .filter(|r| !r.is_empty())
    {
        Some(code) => check_region(code)
            .map_err(|msg| c.fail(field("region"), "unknown_code", msg))
            .ok()
            .map(str::to_owned),
        None => uscc.as_ref().and_then(Uscc::region).map(str::to_owned),
    };
    let industry_code = lead
        .industry_code
        .as_deref()
        .map(str::trim)
        .filter(|i| !i.is_empty())
        .and_then(|code| {
            check_industry(code)
                .map_err(|msg| c.fail(field("industry_code"), "unknown_code", msg))
                .ok()
                .map(str::to_owned)
        });
    let needs = c.opt_text(&field("needs"), lead.needs, 2000);
    let external_id = c.opt_text(&field("external_id"), lead.external_id, 100);
    CheckedLead {
        source: source.unwrap_or(LeadSource::Other),
        source_detail,
        company_name,
        uscc: uscc.map(|u| u.as_str().to_owned()),
        contact_name,
        mobile,
        email,
        region,
        industry_code,
        needs,
        external_id,
        referred_by: lead.referred_by,
    }
}

/// The field errors of a checker, for one import row.
pub fn row_errors(c: Checker) -> Vec<FieldError> {
    let mut errors = c.errors;
    errors.sort_by(|a, b| a.field.cmp(&b.field));
    errors
}
