//! CSV export of the customers the caller can see, streamed page by page so memory stays
//! flat however many there are. UTF-8 with a byte-order mark so that spreadsheet programs
//! read Chinese text correctly; cells that a spreadsheet would run as a formula are
//! prefixed with `'`.

use actix_web::{HttpRequest, HttpResponse, get, web};
use bytes::Bytes;
use crm_domain::access::{Action, Visibility};
use crm_domain::reference;
use crm_store::customers::{self, CustomerFilter};
use futures_util::stream;
use uuid::Uuid;

use super::dto::Customer;
use super::query::CustomerQuery;
use super::{visibility, with_children};
use crate::AppState;
use crate::auth::Principal;
use crate::error::ApiError;

const PAGE: u64 = 500;
const HEADER: [&str; 23] = [
    "id",
    "name",
    "uscc",
    "industry_code",
    "industry_name",
    "customer_type",
    "tier",
    "region",
    "region_name",
    "owner_id",
    "annual_budget_wan",
    "scale",
    "source",
    "address",
    "phone",
    "primary_contact_name",
    "primary_contact_title",
    "primary_contact_mobile",
    "primary_contact_email",
    "tags",
    "cooperation_since",
    "created_at",
    "updated_at",
];

/// Neutralises cells a spreadsheet would evaluate (CSV injection).
fn cell(value: &str) -> String {
    if value.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        format!("'{value}")
    } else {
        value.to_owned()
    }
}

fn row(c: &Customer) -> Vec<String> {
    let primary = c.contacts.iter().find(|k| k.is_primary);
    let opt = |v: &Option<String>| v.clone().unwrap_or_default();
    vec![
        c.id.to_string(),
        c.name.clone(),
        c.uscc.clone(),
        c.industry_code.clone(),
        reference::industry(&c.industry_code)
            .map(|i| i.name)
            .unwrap_or_default()
            .to_owned(),
        c.customer_type.as_str().to_owned(),
        c.tier.as_str().to_owned(),
        c.region.clone(),
        reference::region(&c.region)
            .map(|r| r.name)
            .unwrap_or_default()
            .to_owned(),
        c.owner_id.to_string(),
        opt(&c.annual_budget),
        c.scale.map(|s| s.as_str().to_owned()).unwrap_or_default(),
        c.source.map(|s| s.as_str().to_owned()).unwrap_or_default(),
        opt(&c.address),
        opt(&c.phone),
        primary.map(|k| k.name.clone()).unwrap_or_default(),
        primary.map(|k| k.title.clone()).unwrap_or_default(),
        primary.map(|k| k.mobile.clone()).unwrap_or_default(),
        primary.and_then(|k| k.email.clone()).unwrap_or_default(),
        c.tags.join(";"),
        c.cooperation_since
            .map(|d| d.to_string())
            .unwrap_or_default(),
        c.created_at.to_rfc3339(),
        c.updated_at.to_rfc3339(),
    ]
    .into_iter()
    .map(|v| cell(&v))
    .collect()
}

fn encode(rows: &[Vec<String>]) -> Result<Bytes, ApiError> {
    let mut writer = csv::Writer::from_writer(Vec::new());
    for r in rows {
        writer.write_record(r).map_err(ApiError::internal)?;
    }
    writer
        .into_inner()
        .map(Bytes::from)
        .map_err(ApiError::internal)
}

struct Cursor {
    state: web::Data<AppState>,
    visibility: Visibility,
    filter: CustomerFilter,
    after: Option<Uuid>,
    done: bool,
}

async fn next_page(mut cur: Cursor) -> Option<(Result<Bytes, actix_web::Error>, Cursor)> {
    if cur.done {
        return None;
    }
    let result = async {
        let rows =
            customers::page_by_id(&cur.state.db, cur.visibility, &cur.filter, cur.after, PAGE)
                .await?;
        cur.done = u64::try_from(rows.len()).unwrap_or(0) < PAGE;
        cur.after = rows.last().map(|r| r.id);
        let page = with_children(&cur.state.db, rows).await?;
        encode(&page.iter().map(row).collect::<Vec<_>>())
    }
    .await;
    match result {
        Ok(bytes) => Some((Ok(bytes), cur)),
        Err(e) => {
            // Headers are gone already; end the stream short and log why.
            tracing::error!(error = %e, "customer export failed mid-stream");
            cur.done = true;
            Some((Err(e.into()), cur))
        }
    }
}

/// Exports the customers the caller can see as CSV, with the list's filters (`sort`,
/// `limit` and `cursor` do not apply: everything is exported, in id order).
#[utoipa::path(
    operation_id = "export_customers",
    tag = "customers",
    params(CustomerQuery),
    responses(
        (status = 200, description = "UTF-8 CSV with a byte-order mark and a header row.", content_type = "text/csv", body = String),
        (status = 400, description = "A query parameter is invalid."),
    ),
    security(("bearer" = [])),
)]
#[get("/customers/export")]
pub async fn export_customers(
    req: HttpRequest,
    state: web::Data<AppState>,
    principal: Principal,
) -> Result<HttpResponse, ApiError> {
    principal.require(Action::ReadCustomers)?;
    let plan = CustomerQuery::parse(req.query_string())?
        .plan(&state.db)
        .await?;
    let mut head = vec![0xEF, 0xBB, 0xBF];
    head.extend_from_slice(&encode(&[HEADER
        .iter()
        .map(|h| (*h).to_owned())
        .collect()])?);
    let first = stream::once(async move { Ok::<_, actix_web::Error>(Bytes::from(head)) });
    let body: std::pin::Pin<Box<dyn futures_util::Stream<Item = Result<Bytes, actix_web::Error>>>> =
        match plan {
            None => Box::pin(first),
            Some(plan) => {
                let cursor = Cursor {
                    state,
                    visibility: visibility(&principal),
                    filter: plan.filter,
                    after: None,
                    done: false,
                };
                Box::pin(futures_util::StreamExt::chain(
                    first,
                    stream::unfold(cursor, next_page),
                ))
            }
        };
    let filename = format!("customers-{}.csv", chrono::Utc::now().format("%Y%m%d"));
    Ok(HttpResponse::Ok()
        .content_type("text/csv; charset=utf-8")
        .insert_header((
            "Content-Disposition",
            format!("attachment; filename=\"{filename}\""),
        ))
        .insert_header(("Cache-Control", "no-store"))
        .streaming(body))
}
