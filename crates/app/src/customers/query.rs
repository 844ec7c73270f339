//! The customer list's query: filters, sort and cursor, parsed from the query string with
//! repeated parameters (`tag=a&tag=b`), each problem a 400 naming its parameter.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, Utc};
use crm_domain::customer::{CustomerType, Source, check_industry, check_region};
use crm_domain::tier::Tier;
use crm_store::customers::{CursorValue, CustomerFilter, SortKey};
use crm_store::{ConnectionTrait, customers, tags};
use serde::{Deserialize, Serialize};
use utoipa::IntoParams;
use uuid::Uuid;

use crate::error::AppError;
use crate::page::{DEFAULT_LIMIT, MAX_LIMIT, invalid};

/// Filters, sort and page of the customer list.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct CustomerQuery {
    /// Text in the name, the USCC, or a contact's name or mobile.
    pub q: Option<String>,
    /// Tag the customer must carry; repeat for several (all must match).
    #[serde(default)]
    #[param(style = Form, explode)]
    pub tag: Vec<String>,
    /// Tag of which the customer must carry at least one; repeat for several.
    #[serde(default)]
    #[param(style = Form, explode)]
    pub any_tag: Vec<String>,
    /// Tier.
    #[param(value_type = Option<Tier>)]
    pub tier: Option<String>,
    /// Customer type.
    #[param(value_type = Option<CustomerType>)]
    pub customer_type: Option<String>,
    /// Owner (account manager).
    pub owner_id: Option<Uuid>,
    /// GB/T 4754-2017 division code.
    #[param(pattern = r"^[A-Ta-t][0-9]{2}$", max_length = 3)]
    pub industry_code: Option<String>,
    /// Province code.
    #[param(pattern = r"^[0-9]{2}$", max_length = 2)]
    pub region: Option<String>,
    /// Source.
    #[param(value_type = Option<Source>)]
    pub source: Option<String>,
    /// Only customers changed at or after this instant (RFC 3339).
    pub updated_since: Option<DateTime<Utc>>,
    /// `true` lists archived customers instead of live ones.
    #[serde(default)]
    pub archived: bool,
    /// `name`, `created_at` or `updated_at`, with `-` for descending. Default `-updated_at`.
    #[param(value_type = Option<CustomerSort>)]
    pub sort: Option<String>,
    /// Items per page, 1–200.
    #[param(minimum = 1, maximum = 200, default = 50)]
    pub limit: Option<u64>,
    /// `next_cursor` of the previous page; only valid with the same sort.
    pub cursor: Option<String>,
}

crate::enum_schema!(
    CustomerSort,
    "Order of a customer list: a field, with `-` in front for descending.",
    [
        "name",
        "-name",
        "created_at",
        "-created_at",
        "updated_at",
        "-updated_at"
    ]
);

/// A checked query, ready for the store.
#[derive(Debug)]
pub struct Plan {
    pub filter: CustomerFilter,
    pub sort: SortKey,
    pub descending: bool,
    pub after: Option<(CursorValue, Uuid)>,
    pub limit: u64,
    sort_name: String,
}

#[derive(Debug, Serialize, Deserialize)]
struct Cursor {
    s: String,
    v: String,
    id: Uuid,
}

impl CustomerQuery {
    /// Checks every parameter and resolves tag names. `None` when a required tag does not
    /// exist (nothing can match).
    pub async fn plan(self, conn: &impl ConnectionTrait) -> Result<Option<Plan>, AppError> {
        let limit = match self.limit {
            None => DEFAULT_LIMIT,
            Some(n) if (1..=MAX_LIMIT).contains(&n) => n,
            Some(_) => return Err(invalid("limit", "must be between 1 and 200")),
        };
        let sort_name = self.sort.unwrap_or_else(|| "-updated_at".to_owned());
        let (descending, key) = match sort_name.strip_prefix('-') {
            Some(k) => (true, k),
            None => (false, sort_name.as_str()),
        };
        let sort = match key {
            "name" => SortKey::Name,
            "created_at" => SortKey::CreatedAt,
            "updated_at" => SortKey::UpdatedAt,
            _ => {
                return Err(invalid(
                    "sort",
                    "must be name, created_at or updated_at, optionally with a leading -",
                ));
            }
        };
        let after = match &self.cursor {
            None => None,
            Some(raw) => {
                let cursor: Cursor = URL_SAFE_NO_PAD
                    .decode(raw)
                    .ok()
                    .and_then(|b| serde_json::from_slice(&b).ok())
                    .ok_or_else(|| invalid("cursor", "is not a cursor returned by this list"))?;
                if cursor.s != sort_name {
                    return Err(invalid("cursor", "belongs to another sort order"));
                }
                let value = match sort {
                    SortKey::Name => CursorValue::Text(cursor.v),
                    _ => CursorValue::Time(
                        DateTime::parse_from_rfc3339(&cursor.v)
                            .map_err(|_| {
                                invalid("cursor", "is not a cursor returned by this list")
                            })?
                            .with_timezone(&Utc),
                    ),
                };
                Some((value, cursor.id))
            }
        };
        let tier = match self.tier.as_deref() {
            Some(t) => Some(
                Tier::parse(t)
                    .ok_or_else(|| invalid("tier", "must be strategic, key or ordinary"))?
                    .as_str()
                    .to_owned(),
            ),
            None => None,
        };
        let customer_type = match self.customer_type.as_deref() {
            Some(t) => Some(
                CustomerType::parse(t)
                    .ok_or_else(|| invalid("customer_type", "must be potential, customer or lost"))?
                    .as_str()
                    .to_owned(),
            ),
            None => None,
        };
        let source = match self.source.as_deref() {
            Some(t) => Some(
                Source::parse(t)
                    .ok_or_else(|| invalid("source", "must be a known source"))?
                    .as_str()
                    .to_owned(),
            ),
            None => None,
        };
        let industry_code = match self.industry_code.as_deref() {
            Some(t) => Some(
                check_industry(t)
                    .map_err(|m| invalid("industry_code", m))?
                    .to_owned(),
            ),
            None => None,
        };
        let region = match self.region.as_deref() {
            Some(t) => Some(
                check_region(t)
                    .map_err(|m| invalid("region", m))?
                    .to_owned(),
            ),
            None => None,
        };
        if self.tag.len() + self.any_tag.len() > 20 {
            return Err(invalid("tag", "may be given at most 20 times"));
        }
        let tag_ids =
            tags::ids_for_names(conn, &[self.tag.clone(), self.any_tag.clone()].concat()).await?;
        let id_of = |name: &String| {
            tag_ids
                .iter()
                .find(|(n, _)| n == name.trim())
                .map(|(_, id)| *id)
        };
        let mut tags_all = Vec::new();
        for name in &self.tag {
            match id_of(name) {
                Some(id) => tags_all.push(id),
                None => return Ok(None),
            }
        }
        let tags_any: Vec<Uuid> = self.any_tag.iter().filter_map(id_of).collect();
        if !self.any_tag.is_empty() && tags_any.is_empty() {
            return Ok(None);
        }
        let filter = CustomerFilter {
            q: self.q.map(|q| q.chars().take(100).collect()),
            tags_all,
            tags_any,
            tier,
            customer_type,
            owner_id: self.owner_id,
            industry_code,
            region,
            source,
            updated_since: self.updated_since,
            archived: self.archived,
        };
        Ok(Some(Plan {
            filter,
            sort,
            descending,
            after,
            limit,
            sort_name,
        }))
    }
}

/// The cursor after `rows`, when the page was full.
pub fn next_cursor(rows: &[customers::Detailed], plan: &Plan) -> Option<String> {
    if u64::try_from(rows.len()).unwrap_or(0) < plan.limit {
        return None;
    }
    let last = &rows.last()?.customer;
    let v = match plan.sort {
        SortKey::Name => last.name.clone(),
        SortKey::CreatedAt => last
            .created_at
            .to_rfc3339_opts(chrono::SecondsFormat::Nanos, true),
        SortKey::UpdatedAt => last
            .updated_at
            .to_rfc3339_opts(chrono::SecondsFormat::Nanos, true),
    };
    let cursor = Cursor {
        s: plan.sort_name.clone(),
        v,
        id: last.id,
    };
    serde_json::to_vec(&cursor)
        .ok()
        .map(|b| URL_SAFE_NO_PAD.encode(b))
}
