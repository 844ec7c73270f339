//! Customer request and response types, and the checks that turn a request into a valid
//! record: every failing field is reported at once.

use chrono::{DateTime, NaiveDate, Utc};
use crm_domain::customer::{
    CustomerType, Scale, Source, Uscc, Wan, check_industry, check_mobile, check_region, name_key,
};
use crm_domain::tier::Tier;
use crm_store::{contacts, customers};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use crate::check::{Checker, present};

/// A contact person of a customer.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Contact {
    /// Contact id.
    pub id: Uuid,
    /// Real name.
    #[schema(example = "张伟")]
    pub name: String,
    /// Job title (职务).
    #[schema(example = "采购经理")]
    pub title: String,
    /// Mainland China mobile number.
    #[schema(example = "13800138000")]
    pub mobile: String,
    /// Email address.
    pub email: Option<String>,
    /// Birthday, for care reminders.
    pub birthday: Option<NaiveDate>,
    /// Whether this is the primary contact; a customer has exactly one.
    pub is_primary: bool,
}

impl From<contacts::Model> for Contact {
    fn from(m: contacts::Model) -> Self {
        Self::from(contacts::Summary::from(m))
    }
}

impl From<contacts::Summary> for Contact {
    fn from(m: contacts::Summary) -> Self {
        Self {
            id: m.id,
            name: m.name,
            title: m.title,
            mobile: m.mobile,
            email: m.email,
            birthday: m.birthday,
            is_primary: m.is_primary,
        }
    }
}

/// A customer profile (客户档案).
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Customer {
    /// Customer id.
    pub id: Uuid,
    /// Full legal name as on the business licence.
    #[schema(example = "深圳市腾达科技有限公司")]
    pub name: String,
    /// Unified social credit code (GB 32100-2015).
    #[schema(example = "91350100M000100Y43")]
    pub uscc: String,
    /// GB/T 4754-2017 division.
    #[schema(example = "C35")]
    pub industry_code: String,
    /// Customer type.
    pub customer_type: CustomerType,
    /// Declared annual purchase budget in 万元, a decimal string.
    #[schema(example = "1250.00")]
    pub annual_budget: Option<String>,
    /// Current needs or pain points.
    pub needs: Option<String>,
    /// Company size.
    pub scale: Option<Scale>,
    /// Where the customer came from.
    pub source: Option<Source>,
    /// Address.
    pub address: Option<String>,
    /// Landline.
    pub phone: Option<String>,
    /// Province code (GB/T 2260).
    #[schema(example = "35")]
    pub region: String,
    /// The account manager (负责人).
    pub owner_id: Uuid,
    /// Start of cooperation.
    pub cooperation_since: Option<NaiveDate>,
    /// Whole years of cooperation (合作年限), from `cooperation_since`.
    pub cooperation_years: u32,
    /// Industry influence, 1–5.
    pub influence: Option<i16>,
    /// The customer that referred this one.
    pub referred_by: Option<Uuid>,
    /// Tier (客户分级).
    pub tier: Tier,
    /// Score 0–100 the tier policy gives this customer.
    pub tier_score: i32,
    /// Whether a manager pinned the tier by hand.
    pub tier_pinned: bool,
    /// Why the tier was pinned.
    pub tier_reason: Option<String>,
    /// Contacts, primary first.
    pub contacts: Vec<Contact>,
    /// Tags, by name.
    #[schema(example = json!(["高潜力客户", "意向产品A"]))]
    pub tags: Vec<String>,
    /// Whether the customer is archived.
    pub archived: bool,
    /// When it was archived.
    pub archived_at: Option<DateTime<Utc>>,
    /// When its personal data was purged (it is archived for good).
    pub purged_at: Option<DateTime<Utc>>,
    /// When it was last contacted (the latest communication record).
    pub last_activity_at: Option<DateTime<Utc>>,
    /// Its latest contact, won deal or contract; a customer quiet for longer than the tier
    /// policy's `at_risk_months` is at risk (`GET /customers/at-risk`).
    pub last_engaged_at: Option<DateTime<Utc>>,
    /// When a manager marked it lost (流失客户).
    pub lost_at: Option<DateTime<Utc>>,
    /// Why it was lost.
    pub lost_reason: Option<String>,
    /// Who created it.
    pub created_by: Uuid,
    /// When it was created.
    pub created_at: DateTime<Utc>,
    /// When it last changed.
    pub updated_at: DateTime<Utc>,
    /// Version for `If-Match`; also sent as the `ETag`.
    pub version: i32,
}

impl Customer {
    /// Builds the response from a row and its children.
    pub fn build(
        m: customers::Model,
        contacts: Vec<Contact>,
        tags: Vec<String>,
        today: NaiveDate,
    ) -> Self {
        Self {
            id: m.id,
            name: m.name,
            uscc: m.uscc,
            industry_code: m.industry_code,
            customer_type: CustomerType::parse(&m.customer_type).unwrap_or(CustomerType::Potential),
            annual_budget: m.annual_budget.map(|v| Wan::from_hundredths(v).to_string()),
            needs: m.needs,
            scale: m.scale.as_deref().and_then(Scale::parse),
            source: m.source.as_deref().and_then(Source::parse),
            address: m.address,
            phone: m.phone,
            region: m.region,
            owner_id: m.owner_id,
            cooperation_since: m.cooperation_since,
            cooperation_years: m
                .cooperation_since
                .map_or(0, |d| crm_domain::tier::years_between(d, today)),
            influence: m.influence,
            referred_by: m.referred_by,
            tier: Tier::parse(&m.tier).unwrap_or(Tier::Ordinary),
            tier_score: m.tier_score,
            tier_pinned: m.tier_pinned,
            tier_reason: m.tier_reason,
            contacts,
            tags,
            archived: m.archived_at.is_some(),
            archived_at: m.archived_at,
            purged_at: m.purged_at,
            last_activity_at: m.last_activity_at,
            last_engaged_at: m.last_engaged_at,
            lost_at: m.lost_at,
            lost_reason: m.lost_reason,
            created_by: m.created_by,
            created_at: m.created_at,
            updated_at: m.updated_at,
            version: m.version,
        }
    }
}

/// Most contacts a new customer may bring (more are added one by one).
pub const MAX_NEW_CONTACTS: usize = 50;

/// A page of customers.
#[derive(Debug, Serialize, ToSchema)]
pub struct CustomerList {
    /// The customers.
    pub items: Vec<Customer>,
    /// Cursor of the next page; `null` on the last page.
    pub next_cursor: Option<String>,
}

crate::text_schema!(TagText, "A tag name: 1–50 characters once trimmed.", 1, 50);

/// A new contact.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewContact {
    /// Real name, 1–50 characters.
    #[schema(example = "张伟", min_length = 1, max_length = 50)]
    pub name: String,
    /// Job title, 1–50 characters.
    #[schema(example = "采购经理", min_length = 1, max_length = 50)]
    pub title: String,
    /// Mainland China mobile number (`^1[3-9]\d{9}$`).
    #[schema(
        example = "13800138000",
        pattern = r"^1[3-9][0-9]{9}$",
        max_length = 11
    )]
    pub mobile: String,
    /// Email address.
    #[schema(format = Email, max_length = 254)]
    pub email: Option<String>,
    /// Birthday (`YYYY-MM-DD`).
    #[schema(value_type = Option<String>, format = Date)]
    pub birthday: Option<String>,
    /// Whether this is the primary contact.
    #[serde(default)]
    pub is_primary: bool,
}

/// A new customer.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewCustomer {
    /// Full legal name, 2–100 characters.
    #[schema(example = "深圳市腾达科技有限公司", min_length = 2, max_length = 100)]
    pub name: String,
    /// Unified social credit code; upper-cased on input; its check character must be right.
    #[schema(
        example = "91350100M000100Y43",
        pattern = r"^[0-9A-HJ-NPQRTUWXYa-hj-npqrtuwxy]{18}$",
        max_length = 18
    )]
    pub uscc: String,
    /// GB/T 4754-2017 division code.
    #[schema(example = "C35", pattern = r"^[A-Ta-t][0-9]{2}$", max_length = 3)]
    pub industry_code: String,
    /// `potential`, `customer` or `lost`.
    #[schema(value_type = CustomerType)]
    pub customer_type: String,
    /// At least one and at most 50; exactly one with `is_primary`.
    #[schema(min_items = 1, max_items = 50)]
    pub contacts: Vec<NewContact>,
    /// Annual purchase budget in 万元: a decimal string, at most two decimals.
    #[schema(
        example = "1250.00",
        pattern = r"^[0-9]{1,12}(\.[0-9]{1,2})?$",
        max_length = 15
    )]
    pub annual_budget: Option<String>,
    /// Current needs or pain points, up to 2000 characters.
    #[schema(max_length = 2000)]
    pub needs: Option<String>,
    /// `micro`, `small`, `medium` or `large`.
    #[schema(value_type = Option<Scale>)]
    pub scale: Option<String>,
    /// `website`, `fair`, `referral`, `phone`, `social`, `partner` or `other`.
    #[schema(value_type = Option<Source>)]
    pub source: Option<String>,
    /// Address, up to 200 characters.
    #[schema(max_length = 200)]
    pub address: Option<String>,
    /// Landline, up to 30 characters.
    #[schema(max_length = 30, pattern = r"^( *|[ ()+-]*[0-9][0-9 ()+-]*)$")]
    pub phone: Option<String>,
    /// Province code; derived from the USCC when omitted.
    #[schema(pattern = r"^([0-9]{2})?$", max_length = 2)]
    pub region: Option<String>,
    /// The account manager; defaults to the caller. Only managers and admins may name another.
    pub owner_id: Option<Uuid>,
    /// Start of cooperation (`YYYY-MM-DD`).
    #[schema(value_type = Option<String>, format = Date)]
    pub cooperation_since: Option<String>,
    /// Industry influence, 1–5.
    #[schema(minimum = 1, maximum = 5)]
    pub influence: Option<i64>,
    /// The customer that referred this one.
    pub referred_by: Option<Uuid>,
    /// Tags; new names are added to the catalogue.
    #[serde(default)]
    #[schema(max_items = 20, value_type = Vec<crate::customers::dto::TagText>)]
    pub tags: Vec<String>,
}

/// Changes to a customer, as a JSON merge patch: absent fields stay, `null` clears.
/// Contacts and tags have endpoints of their own.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CustomerPatch {
    /// Full legal name.
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = String, required = false, min_length = 2, max_length = 100)]
    pub name: Option<Option<String>>,
    /// Unified social credit code.
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = String, required = false, pattern = r"^[0-9A-HJ-NPQRTUWXYa-hj-npqrtuwxy]{18}$", max_length = 18)]
    pub uscc: Option<Option<String>>,
    /// Industry division code.
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = String, required = false, pattern = r"^[A-Ta-t][0-9]{2}$", max_length = 3)]
    pub industry_code: Option<Option<String>>,
    /// Customer type.
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = CustomerType, required = false)]
    pub customer_type: Option<Option<String>>,
    /// Annual budget in 万元, or `null`.
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>, pattern = r"^[0-9]{1,12}(\.[0-9]{1,2})?$", max_length = 15)]
    pub annual_budget: Option<Option<String>>,
    /// Needs, or `null`.
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>, max_length = 2000)]
    pub needs: Option<Option<String>>,
    /// Size, or `null`.
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<Scale>)]
    pub scale: Option<Option<String>>,
    /// Source, or `null`.
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<Source>)]
    pub source: Option<Option<String>>,
    /// Address, or `null`.
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>, max_length = 200)]
    pub address: Option<Option<String>>,
    /// Landline, or `null`.
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>, max_length = 30, pattern = r"^( *|[ ()+-]*[0-9][0-9 ()+-]*)$")]
    pub phone: Option<Option<String>>,
    /// Province code; `null` derives it from the USCC again.
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>, pattern = r"^([0-9]{2})?$", max_length = 2)]
    pub region: Option<Option<String>>,
    /// New account manager (managers and admins only).
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Uuid, required = false)]
    pub owner_id: Option<Option<Uuid>>,
    /// Start of cooperation, or `null`.
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>, format = Date)]
    pub cooperation_since: Option<Option<String>>,
    /// Influence 1–5, or `null`.
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<i64>, minimum = 1, maximum = 5)]
    pub influence: Option<Option<i64>>,
    /// Referring customer, or `null`.
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<Uuid>)]
    pub referred_by: Option<Option<Uuid>>,
    /// Pins the tier by hand (managers and admins; needs `tier_reason`); `null` unpins it
    /// and lets the policy decide again.
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<Tier>)]
    pub tier: Option<Option<Tier>>,
    /// Why the tier is pinned.
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>, max_length = 500)]
    pub tier_reason: Option<Option<String>>,
}

/// The allowed values, for messages.
pub const CUSTOMER_TYPES: &str = "potential, customer, lost";
/// The allowed values, for messages.
pub const SCALES: &str = "micro, small, medium, large";
/// The allowed values, for messages.
pub const SOURCES: &str = "website, fair, referral, phone, social, partner, other";

/// Checks a contact; `prefix` is its JSON path.
pub fn check_contact(
    c: &mut Checker,
    prefix: &str,
    contact: NewContact,
    customer_id: Uuid,
    today: NaiveDate,
) -> contacts::Model {
    let field = |name: &str| {
        if prefix.is_empty() {
            name.to_owned()
        } else {
            format!("{prefix}.{name}")
        }
    };
    let name = c.text(&field("name"), &contact.name, 1, 50);
    let title = c.text(&field("title"), &contact.title, 1, 50);
    let mobile = match check_mobile(&contact.mobile) {
        Ok(m) => m,
        Err(msg) => {
            c.fail(field("mobile"), "invalid_format", msg);
            String::new()
        }
    };
    let email = c.email(&field("email"), contact.email);
    let birthday = c.date(&field("birthday"), contact.birthday.as_deref(), today, true);
    let now = Utc::now();
    contacts::Model {
        id: Uuid::now_v7(),
        customer_id,
        name,
        title,
        mobile,
        email,
        birthday,
        is_primary: contact.is_primary,
        created_at: now,
        updated_at: now,
    }
}

/// Checks tag names: trimmed, 1–50 characters, no sensitive numbers, at most 20 sent,
/// deduplicated.
pub fn check_tags(c: &mut Checker, field: &str, tags: Vec<String>) -> Vec<String> {
    if tags.len() > 20 {
        c.fail(field, "too_many", "may hold at most 20 tags");
    }
    let mut out: Vec<String> = Vec::new();
    for (idx, tag) in tags.into_iter().enumerate() {
        let tag = c.text(&format!("{field}[{idx}]"), &tag, 1, 50);
        if !out.contains(&tag) {
            out.push(tag);
        }
    }
    out
}

/// The checked scalar fields of a new customer (without owner, tier and children).
pub fn check_new(c: &mut Checker, body: &NewCustomer, today: NaiveDate) -> customers::Model {
    let name = c.text("name", &body.name, 2, 100);
    let uscc = match Uscc::parse(&body.uscc) {
        Ok(u) => Some(u),
        Err(msg) => {
            c.fail("uscc", "invalid_format", msg);
            None
        }
    };
    let industry_code = check_industry(&body.industry_code)
        .map_err(|msg| c.fail("industry_code", "unknown_code", msg))
        .unwrap_or_default()
        .to_owned();
    let customer_type = c
        .one_of(
            "customer_type",
            Some(&body.customer_type),
            CustomerType::parse,
            CUSTOMER_TYPES,
        )
        .map(CustomerType::as_str)
        .unwrap_or_default()
        .to_owned();
    let annual_budget = budget(c, body.annual_budget.as_deref());
    let needs = c.opt_text("needs", body.needs.clone(), 2000);
    let scale = c
        .one_of("scale", body.scale.as_deref(), Scale::parse, SCALES)
        .map(|s| s.as_str().to_owned());
    let source = c
        .one_of("source", body.source.as_deref(), Source::parse, SOURCES)
        .map(|s| s.as_str().to_owned());
    let address = c.opt_text("address", body.address.clone(), 200);
    let phone = phone(c, body.phone.clone());
    let region = region(c, body.region.as_deref(), uscc.as_ref());
    let cooperation_since = c.date(
        "cooperation_since",
        body.cooperation_since.as_deref(),
        today,
        true,
    );
    let influence = influence(c, body.influence);
    let now = Utc::now();
    customers::Model {
        id: Uuid::now_v7(),
        name_key: name_key(&name),
        name,
        uscc: uscc.map(|u| u.as_str().to_owned()).unwrap_or_default(),
        industry_code,
        customer_type,
        annual_budget,
        needs,
        scale,
        source,
        address,
        phone,
        region,
        owner_id: Uuid::nil(),
        cooperation_since,
        influence,
        referred_by: body.referred_by,
        tier: Tier::Ordinary.as_str().to_owned(),
        tier_score: 0,
        tier_pinned: false,
        tier_reason: None,
        created_by: Uuid::nil(),
        created_at: now,
        updated_at: now,
        archived_at: None,
        purged_at: None,
        version: 1,
        last_activity_at: None,
        last_engaged_at: None,
        lost_at: None,
        lost_reason: None,
    }
}

/// An annual budget in 万元.
pub fn budget(c: &mut Checker, raw: Option<&str>) -> Option<i64> {
    let raw = raw?;
    match Wan::parse(raw) {
        Ok(w) => Some(w.hundredths()),
        Err(msg) => {
            c.fail("annual_budget", "invalid_value", msg);
            None
        }
    }
}

/// A landline: digits, spaces, `-`, `+`, parentheses, up to 30 characters.
pub fn phone(c: &mut Checker, raw: Option<String>) -> Option<String> {
    let value = raw.map(|v| v.trim().to_owned()).filter(|v| !v.is_empty())?;
    let ok = value.chars().count() <= 30
        && value.chars().any(|ch| ch.is_ascii_digit())
        && value
            .chars()
            .all(|ch| ch.is_ascii_digit() || matches!(ch, ' ' | '-' | '+' | '(' | ')'));
    if !ok {
        c.fail("phone", "invalid_format", "must be a phone number of digits, spaces, '-', '+' and parentheses, at most 30 characters");
    }
    Some(value)
}

/// The region: the given province code, or the one in the USCC.
pub fn region(c: &mut Checker, given: Option<&str>, uscc: Option<&Uscc>) -> String {
    match given.map(str::trim).filter(|s| !s.is_empty()) {
        Some(code) => check_region(code)
            .map_err(|msg| c.fail("region", "unknown_code", msg))
            .unwrap_or_default()
            .to_owned(),
        None => match uscc {
            Some(u) => match u.region() {
                Some(r) => r.to_owned(),
                None => {
                    c.fail(
                        "region",
                        "region_required",
                        "cannot be derived from the USCC; give a province code",
                    );
                    String::new()
                }
            },
            // The USCC is already reported.
            None => String::new(),
        },
    }
}

/// Influence 1–5.
pub fn influence(c: &mut Checker, raw: Option<i64>) -> Option<i16> {
    let v = raw?;
    if (1..=5).contains(&v) {
        i16::try_from(v).ok()
    } else {
        c.fail("influence", "out_of_range", "must be between 1 and 5");
        None
    }
}
