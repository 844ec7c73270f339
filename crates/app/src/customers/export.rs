//! CSV export of the customers the caller can see, produced page by page so memory stays
//! flat however many there are. UTF-8 with a byte-order mark so that spreadsheet programs
//! read Chinese text correctly; cells that a spreadsheet would run as a formula are
//! prefixed with `'`.

use bytes::Bytes;
use crm_domain::access::{Action, Caller, Visibility};
use crm_domain::reference;
use crm_store::customers::{self, CustomerFilter};
use uuid::Uuid;

use super::dto::Customer;
use super::query::CustomerQuery;
use super::with_children;
use crate::error::AppError;
use crate::input::Input;
use crate::{Ctx, require};

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

fn encode(rows: &[Vec<String>]) -> Result<Bytes, AppError> {
    let mut writer = csv::Writer::from_writer(Vec::new());
    for r in rows {
        writer.write_record(r).map_err(AppError::internal)?;
    }
    writer
        .into_inner()
        .map(Bytes::from)
        .map_err(AppError::internal)
}

/// An export in progress: call [`Export::next_chunk`] until it answers `None`.
pub struct Export {
    ctx: Ctx,
    visibility: Visibility,
    filter: Option<CustomerFilter>,
    after: Option<Uuid>,
    started: bool,
    done: bool,
}

/// Starts an export of the customers the caller can see, with the list's filters (`sort`,
/// `limit` and `cursor` do not apply: everything is exported, in id order).
pub async fn export(
    ctx: &Ctx,
    caller: &Caller,
    query: Input<CustomerQuery>,
) -> Result<Export, AppError> {
    require(caller, Action::ReadCustomers)?;
    let plan = query.take()?.plan(&ctx.db).await?;
    Ok(Export {
        ctx: ctx.clone(),
        visibility: caller.visibility(),
        filter: plan.map(|p| p.filter),
        after: None,
        started: false,
        done: false,
    })
}

impl Export {
    /// The next piece of the CSV document: first the byte-order mark and header, then one
    /// page of rows at a time; `None` at the end.
    pub async fn next_chunk(&mut self) -> Result<Option<Bytes>, AppError> {
        if !self.started {
            self.started = true;
            let mut head = vec![0xEF, 0xBB, 0xBF];
            head.extend_from_slice(&encode(&[HEADER
                .iter()
                .map(|h| (*h).to_owned())
                .collect()])?);
            return Ok(Some(Bytes::from(head)));
        }
        let Some(filter) = self.filter.as_ref().filter(|_| !self.done) else {
            return Ok(None);
        };
        let result = async {
            let rows =
                customers::page_by_id(&self.ctx.db, self.visibility, filter, self.after, PAGE)
                    .await?;
            let last_page = u64::try_from(rows.len()).unwrap_or(0) < PAGE;
            let after = rows.last().map(|r| r.id);
            let page = with_children(&self.ctx.db, rows).await?;
            Ok::<_, AppError>((
                encode(&page.iter().map(row).collect::<Vec<_>>())?,
                after,
                last_page,
            ))
        }
        .await;
        match result {
            Ok((bytes, after, last_page)) => {
                self.after = after;
                self.done = last_page;
                Ok(Some(bytes))
            }
            Err(e) => {
                self.done = true;
                Err(e)
            }
        }
    }
}
