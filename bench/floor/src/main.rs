//! The floor of the load benchmark: what the customer read and the filtered customer list
//! cost with actix-web and raw sqlx alone — no authentication, no middleware, no use-case
//! layer, no ORM — on the same database the API serves.
//!
//! - `GET /customers/{id}` answers the JSON `GET /api/v1/customers/{id}` answers (the same
//!   columns, its contacts primary first, its tags by name), in one query.
//! - `GET /customers?tag=…&tier=…&region=…&industry_code=…&customer_type=…&source=…&limit=N`
//!   answers the JSON of `GET /api/v1/customers` with the same filters: live customers
//!   carrying the tag, ordered by `updated_at` then id, both descending (the list's default
//!   order), with their contacts and tags and the same `next_cursor` — in two queries (the
//!   tag's id, then the page with each customer's contacts and tags as JSON columns, the
//!   shape the API's list query has).
//!
//! Usage: `crm-floor [BIND] [DATABASE_URL]`, or `FLOOR_BIND` (default `127.0.0.1:18190`) and
//! `FLOOR_DATABASE_URL` (`sqlite://…` or `postgres://…`).

use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use actix_web::{App, HttpResponse, HttpServer, web};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, NaiveDate, SecondsFormat, Utc};
use serde::{Deserialize, Serialize};
use sqlx::postgres::{PgPool, PgPoolOptions};
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous,
};
use sqlx::{AssertSqlSafe, Row};
use uuid::Uuid;

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Pool size: the API's default (`CRM_DB_MAX_CONNECTIONS`).
const POOL_SIZE: u32 = 10;

/// A contact, as the API answers it.
#[derive(Debug, Serialize, Deserialize)]
struct Contact {
    id: Uuid,
    name: String,
    title: String,
    mobile: String,
    email: Option<String>,
    birthday: Option<NaiveDate>,
    is_primary: bool,
}

/// A customer, as the API answers it (the same fields in the same order).
#[derive(Debug, Serialize)]
struct Customer {
    id: Uuid,
    name: String,
    uscc: String,
    industry_code: String,
    customer_type: String,
    annual_budget: Option<String>,
    needs: Option<String>,
    scale: Option<String>,
    source: Option<String>,
    address: Option<String>,
    phone: Option<String>,
    region: String,
    owner_id: Uuid,
    cooperation_since: Option<NaiveDate>,
    cooperation_years: u32,
    influence: Option<i16>,
    referred_by: Option<Uuid>,
    tier: String,
    tier_score: i32,
    tier_pinned: bool,
    tier_reason: Option<String>,
    contacts: Vec<Contact>,
    tags: Vec<String>,
    archived: bool,
    archived_at: Option<DateTime<Utc>>,
    purged_at: Option<DateTime<Utc>>,
    last_activity_at: Option<DateTime<Utc>>,
    last_engaged_at: Option<DateTime<Utc>>,
    lost_at: Option<DateTime<Utc>>,
    lost_reason: Option<String>,
    created_by: Uuid,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
    version: i32,
}

/// A page of customers, as the API answers it.
#[derive(Debug, Serialize)]
struct CustomerList {
    items: Vec<Customer>,
    next_cursor: Option<String>,
}

/// The list's cursor, as the API encodes it.
#[derive(Serialize)]
struct Cursor<'a> {
    s: &'a str,
    v: String,
    id: Uuid,
}

/// The filters the floor answers (one tag at most).
#[derive(Debug, Deserialize)]
struct ListQuery {
    tag: Option<String>,
    tier: Option<String>,
    region: Option<String>,
    industry_code: Option<String>,
    customer_type: Option<String>,
    source: Option<String>,
    limit: Option<i64>,
}

/// The pool, and the one-customer query (built once).
enum Db {
    Postgres(PgPool, Arc<str>),
    Sqlite(SqlitePool, Arc<str>),
}

/// The customer columns, in the order the row decoder reads them (0–29).
const CUSTOMER_COLUMNS: &str = "c.id, c.name, c.uscc, c.industry_code, c.customer_type, \
     c.annual_budget, c.needs, c.scale, c.source, c.address, c.phone, c.region, c.owner_id, \
     c.cooperation_since, c.influence, c.referred_by, c.tier, c.tier_score, c.tier_pinned, \
     c.tier_reason, c.archived_at, c.purged_at, c.last_activity_at, c.last_engaged_at, \
     c.lost_at, c.lost_reason, c.created_by, c.created_at, c.updated_at, c.version";

/// The contact columns (30–36).
const CONTACT_COLUMNS: &str = "k.id, k.name, k.title, k.mobile, k.email, k.birthday, k.is_primary";

/// The customer's contacts as a JSON array, unordered (sorted after reading, as the API
/// does): PostgreSQL.
const PG_CONTACTS: &str = "(SELECT json_agg(json_build_object('id', k.id, 'name', k.name, \
     'title', k.title, 'mobile', k.mobile, 'email', k.email, 'birthday', k.birthday, \
     'is_primary', k.is_primary))::text \
     FROM contacts k WHERE k.customer_id = c.id)";

/// The same for SQLite (ids are 16-byte blobs, flags integers).
const SQLITE_CONTACTS: &str = "(SELECT json_group_array(json_object('id', \
     lower(substr(hex(k.id), 1, 8) || '-' || substr(hex(k.id), 9, 4) || '-' || \
     substr(hex(k.id), 13, 4) || '-' || substr(hex(k.id), 17, 4) || '-' || substr(hex(k.id), 21)), \
     'name', k.name, 'title', k.title, 'mobile', k.mobile, 'email', k.email, \
     'birthday', k.birthday, 'is_primary', json(CASE WHEN k.is_primary THEN 'true' ELSE 'false' END))) \
     FROM contacts k WHERE k.customer_id = c.id)";

/// The customer's tag names as a JSON array, by name (column 37): PostgreSQL.
const PG_TAGS: &str = "(SELECT json_agg(t.name ORDER BY t.name)::text FROM customer_tags x \
     JOIN tags t ON t.id = x.tag_id WHERE x.customer_id = c.id)";

/// The same for SQLite.
const SQLITE_TAGS: &str = "(SELECT json_group_array(name) FROM (SELECT t.name AS name \
     FROM customer_tags x JOIN tags t ON t.id = x.tag_id WHERE x.customer_id = c.id \
     ORDER BY t.name))";

/// `4385.49` from 438549 hundredths, as the API writes an amount in 万元.
fn hundredths(v: i64) -> String {
    let sign = if v < 0 { "-" } else { "" };
    let abs = v.unsigned_abs();
    format!("{sign}{}.{:02}", abs / 100, abs % 100)
}

/// Whole years from `since` to `today`, as the API computes `cooperation_years`.
fn years_between(since: NaiveDate, today: NaiveDate) -> u32 {
    today.years_since(since).unwrap_or(0)
}

/// Builds customers from rows of customer columns, contact columns and the tags, one row per
/// contact (a customer's rows adjacent, contacts in their order); or, with `json`, from rows
/// of customer columns, the contacts as a JSON array (30) and the tags (31), one row per
/// customer.
macro_rules! customers_from_rows {
    ($rows:expr) => {
        customers_from_rows!($rows, 37_usize, false)
    };
    ($rows:expr, json) => {
        customers_from_rows!($rows, 31_usize, true)
    };
    ($rows:expr, $tags_col:expr, $json:expr) => {{
        let today = Utc::now().date_naive();
        let mut out: Vec<Customer> = Vec::new();
        for row in $rows.iter() {
            let id: Uuid = row.try_get(0_usize)?;
            if out.last().map(|c| c.id) != Some(id) {
                let annual_budget: Option<i64> = row.try_get(5_usize)?;
                let cooperation_since: Option<NaiveDate> = row.try_get(13_usize)?;
                let archived_at: Option<DateTime<Utc>> = row.try_get(20_usize)?;
                let tags: Option<String> = row.try_get($tags_col)?;
                let contacts: Vec<Contact> = if $json {
                    let text: Option<String> = row.try_get(30_usize)?;
                    let mut contacts: Vec<Contact> = text
                        .as_deref()
                        .and_then(|t| serde_json::from_str(t).ok())
                        .unwrap_or_default();
                    // Read unordered, as the API reads them: the primary first, then by id.
                    contacts.sort_unstable_by_key(|c| (!c.is_primary, c.id));
                    contacts
                } else {
                    Vec::new()
                };
                out.push(Customer {
                    id,
                    name: row.try_get(1_usize)?,
                    uscc: row.try_get(2_usize)?,
                    industry_code: row.try_get(3_usize)?,
                    customer_type: row.try_get(4_usize)?,
                    annual_budget: annual_budget.map(hundredths),
                    needs: row.try_get(6_usize)?,
                    scale: row.try_get(7_usize)?,
                    source: row.try_get(8_usize)?,
                    address: row.try_get(9_usize)?,
                    phone: row.try_get(10_usize)?,
                    region: row.try_get(11_usize)?,
                    owner_id: row.try_get(12_usize)?,
                    cooperation_since,
                    cooperation_years: cooperation_since.map_or(0, |d| years_between(d, today)),
                    influence: row.try_get(14_usize)?,
                    referred_by: row.try_get(15_usize)?,
                    tier: row.try_get(16_usize)?,
                    tier_score: row.try_get(17_usize)?,
                    tier_pinned: row.try_get(18_usize)?,
                    tier_reason: row.try_get(19_usize)?,
                    contacts,
                    tags: tags
                        .as_deref()
                        .and_then(|t| serde_json::from_str::<Vec<String>>(t).ok())
                        .unwrap_or_default(),
                    archived: archived_at.is_some(),
                    archived_at,
                    purged_at: row.try_get(21_usize)?,
                    last_activity_at: row.try_get(22_usize)?,
                    last_engaged_at: row.try_get(23_usize)?,
                    lost_at: row.try_get(24_usize)?,
                    lost_reason: row.try_get(25_usize)?,
                    created_by: row.try_get(26_usize)?,
                    created_at: row.try_get(27_usize)?,
                    updated_at: row.try_get(28_usize)?,
                    version: row.try_get(29_usize)?,
                });
            }
            let contact_id: Option<Uuid> = if $json { None } else { row.try_get(30_usize)? };
            if let (Some(contact_id), Some(customer)) = (contact_id, out.last_mut()) {
                customer.contacts.push(Contact {
                    id: contact_id,
                    name: row.try_get(31_usize)?,
                    title: row.try_get(32_usize)?,
                    mobile: row.try_get(33_usize)?,
                    email: row.try_get(34_usize)?,
                    birthday: row.try_get(35_usize)?,
                    is_primary: row.try_get(36_usize)?,
                });
            }
        }
        out
    }};
}

/// The one-customer query; `p` is the placeholder syntax (`$` or `?`).
fn get_sql(tags: &str, p: &str) -> String {
    format!(
        "SELECT {CUSTOMER_COLUMNS}, {CONTACT_COLUMNS}, {tags} \
         FROM customers c LEFT JOIN contacts k ON k.customer_id = c.id \
         WHERE c.id = {p}1 \
         ORDER BY k.is_primary DESC, k.id"
    )
}

/// The list's page with its children: the API's list query (live customers, the filters,
/// `updated_at` then id descending, the limit), each customer's contacts and tags beside it
/// as JSON arrays, in one statement. Placeholders: 1 the tag id (when `with_tag`), then the
/// other filters in order, then the limit.
fn list_sql(contacts: &str, tags: &str, p: &str, with_tag: bool, filters: &[&str]) -> String {
    let mut conditions = vec!["c.archived_at IS NULL".to_owned()];
    let mut n = 0;
    if with_tag {
        n += 1;
        conditions.push(format!(
            "EXISTS (SELECT 1 FROM customer_tags x WHERE x.customer_id = c.id \
             AND x.tag_id = {p}{n})"
        ));
    }
    for column in filters {
        n += 1;
        conditions.push(format!("c.{column} = {p}{n}"));
    }
    n += 1;
    format!(
        "SELECT {CUSTOMER_COLUMNS}, {contacts}, {tags} FROM customers c WHERE {} \
         ORDER BY c.updated_at DESC, c.id DESC LIMIT {p}{n}",
        conditions.join(" AND ")
    )
}

/// The filters given, as (column, value), in a fixed order.
fn filters(q: &ListQuery) -> Vec<(&'static str, String)> {
    let mut out = Vec::new();
    if let Some(v) = &q.tier {
        out.push(("tier", v.clone()));
    }
    if let Some(v) = &q.customer_type {
        out.push(("customer_type", v.clone()));
    }
    if let Some(v) = &q.industry_code {
        out.push(("industry_code", v.to_ascii_uppercase()));
    }
    if let Some(v) = &q.region {
        out.push(("region", v.clone()));
    }
    if let Some(v) = &q.source {
        out.push(("source", v.clone()));
    }
    out
}

impl Db {
    async fn get(&self, id: Uuid) -> Result<Option<Customer>, sqlx::Error> {
        match self {
            Db::Postgres(pool, sql) => {
                let rows = sqlx::query::<sqlx::Postgres>(AssertSqlSafe(Arc::clone(sql)))
                    .bind(id)
                    .fetch_all(pool)
                    .await?;
                Ok(customers_from_rows!(rows).pop())
            }
            Db::Sqlite(pool, sql) => {
                let rows = sqlx::query::<sqlx::Sqlite>(AssertSqlSafe(Arc::clone(sql)))
                    .bind(id)
                    .fetch_all(pool)
                    .await?;
                Ok(customers_from_rows!(rows).pop())
            }
        }
    }

    /// The tag's id; `None` when no tag has this name (nothing can match).
    async fn tag_id(&self, name: &str) -> Result<Option<Uuid>, sqlx::Error> {
        match self {
            Db::Postgres(pool, _) => {
                sqlx::query_scalar::<sqlx::Postgres, Uuid>("SELECT id FROM tags WHERE name = $1")
                    .bind(name)
                    .fetch_optional(pool)
                    .await
            }
            Db::Sqlite(pool, _) => {
                sqlx::query_scalar::<sqlx::Sqlite, Uuid>("SELECT id FROM tags WHERE name = ?1")
                    .bind(name)
                    .fetch_optional(pool)
                    .await
            }
        }
    }

    async fn list(
        &self,
        tag: Option<Uuid>,
        filters: &[(&'static str, String)],
        limit: i64,
    ) -> Result<Vec<Customer>, sqlx::Error> {
        let columns: Vec<&str> = filters.iter().map(|(c, _)| *c).collect();
        match self {
            Db::Postgres(pool, _) => {
                let sql = list_sql(PG_CONTACTS, PG_TAGS, "$", tag.is_some(), &columns);
                let mut query = sqlx::query::<sqlx::Postgres>(AssertSqlSafe(sql));
                if let Some(tag) = tag {
                    query = query.bind(tag);
                }
                for (_, value) in filters {
                    query = query.bind(value.as_str());
                }
                let rows = query.bind(limit).fetch_all(pool).await?;
                Ok(customers_from_rows!(rows, json))
            }
            Db::Sqlite(pool, _) => {
                let sql = list_sql(SQLITE_CONTACTS, SQLITE_TAGS, "?", tag.is_some(), &columns);
                let mut query = sqlx::query::<sqlx::Sqlite>(AssertSqlSafe(sql));
                if let Some(tag) = tag {
                    query = query.bind(tag);
                }
                for (_, value) in filters {
                    query = query.bind(value.as_str());
                }
                let rows = query.bind(limit).fetch_all(pool).await?;
                Ok(customers_from_rows!(rows, json))
            }
        }
    }
}

fn failed(err: &sqlx::Error) -> HttpResponse {
    HttpResponse::InternalServerError()
        .content_type("text/plain; charset=utf-8")
        .body(format!("database error: {err}"))
}

async fn get_customer(db: web::Data<Db>, id: web::Path<Uuid>) -> HttpResponse {
    match db.get(id.into_inner()).await {
        Ok(Some(customer)) => HttpResponse::Ok()
            .insert_header(("ETag", format!("\"{}\"", customer.version)))
            .json(customer),
        Ok(None) => HttpResponse::NotFound().finish(),
        Err(err) => failed(&err),
    }
}

async fn list_customers(db: web::Data<Db>, query: web::Query<ListQuery>) -> HttpResponse {
    let query = query.into_inner();
    let limit = query.limit.unwrap_or(50);
    if !(1..=200).contains(&limit) {
        return HttpResponse::BadRequest().body("limit must be between 1 and 200");
    }
    let tag = match &query.tag {
        None => None,
        Some(name) => match db.tag_id(name.trim()).await {
            Ok(Some(id)) => Some(id),
            Ok(None) => {
                return HttpResponse::Ok().json(CustomerList {
                    items: Vec::new(),
                    next_cursor: None,
                });
            }
            Err(err) => return failed(&err),
        },
    };
    let items = match db.list(tag, &filters(&query), limit).await {
        Ok(items) => items,
        Err(err) => return failed(&err),
    };
    let full = i64::try_from(items.len()).unwrap_or(0) >= limit;
    let next_cursor = items.last().filter(|_| full).and_then(|last| {
        let cursor = Cursor {
            s: "-updated_at",
            v: last.updated_at.to_rfc3339_opts(SecondsFormat::Nanos, true),
            id: last.id,
        };
        serde_json::to_vec(&cursor)
            .ok()
            .map(|bytes| URL_SAFE_NO_PAD.encode(bytes))
    });
    HttpResponse::Ok().json(CustomerList { items, next_cursor })
}

async fn ready() -> HttpResponse {
    HttpResponse::Ok().body("ok")
}

async fn connect(url: &str) -> Result<Db, sqlx::Error> {
    if url.starts_with("sqlite:") {
        // The API's SQLite settings (crm_store::db::connect), the map size from the same
        // setting as the server's.
        let mmap_mib: u64 = match std::env::var("CRM_SQLITE_MMAP_MIB") {
            Ok(mib) => mib.parse().map_err(|_| {
                sqlx::Error::Configuration("CRM_SQLITE_MMAP_MIB: not a number".into())
            })?,
            Err(_) => 256,
        };
        let options = SqliteConnectOptions::from_str(url)?
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Normal)
            .busy_timeout(Duration::from_secs(10))
            .foreign_keys(true)
            .pragma("mmap_size", (mmap_mib << 20).to_string())
            .pragma("cache_size", "-4096")
            .pragma("temp_store", "memory");
        let pool = SqlitePoolOptions::new()
            .max_connections(POOL_SIZE)
            .min_connections(1)
            .acquire_timeout(Duration::from_secs(10))
            .connect_with(options)
            .await?;
        Ok(Db::Sqlite(pool, Arc::from(get_sql(SQLITE_TAGS, "?"))))
    } else {
        let pool = PgPoolOptions::new()
            .max_connections(POOL_SIZE)
            .min_connections(1)
            .acquire_timeout(Duration::from_secs(10))
            .connect(url)
            .await?;
        Ok(Db::Postgres(pool, Arc::from(get_sql(PG_TAGS, "$"))))
    }
}

#[actix_web::main]
async fn main() -> std::io::Result<()> {
    let mut args = std::env::args().skip(1);
    let bind = args
        .next()
        .or_else(|| std::env::var("FLOOR_BIND").ok())
        .unwrap_or_else(|| "127.0.0.1:18190".to_owned());
    let Some(url) = args
        .next()
        .or_else(|| std::env::var("FLOOR_DATABASE_URL").ok())
    else {
        eprintln!("usage: crm-floor [BIND] [DATABASE_URL] (or FLOOR_BIND, FLOOR_DATABASE_URL)");
        std::process::exit(2);
    };
    let db = match connect(&url).await {
        Ok(db) => web::Data::new(db),
        Err(err) => {
            eprintln!("crm-floor: cannot open the database: {err}");
            std::process::exit(1);
        }
    };
    let mut server = HttpServer::new(move || {
        App::new()
            .app_data(db.clone())
            .route("/readyz", web::get().to(ready))
            .route("/customers", web::get().to(list_customers))
            .route("/customers/{id}", web::get().to(get_customer))
    });
    if let Some(workers) = std::env::var("FLOOR_WORKERS")
        .ok()
        .and_then(|w| w.parse::<usize>().ok())
        .filter(|w| *w > 0)
    {
        server = server.workers(workers);
    }
    server.bind(bind)?.run().await
}
