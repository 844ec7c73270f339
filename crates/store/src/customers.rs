//! Customer profiles, with the caller's visibility applied in the SQL of every query.

use chrono::{DateTime, NaiveDate, Utc};
use crm_domain::access::Visibility;
use sea_orm::entity::prelude::*;
use sea_orm::sea_query::{Alias, Expr, ExprTrait, Func, LikeExpr, Query};
use sea_orm::{Condition, FromQueryResult, QueryOrder, QuerySelect, QueryTrait, Statement};

use crate::StoreError;

/// A row of `customers`.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "customers")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub name: String,
    /// Normalised name for finding likely duplicates.
    pub name_key: String,
    pub uscc: String,
    pub industry_code: String,
    pub customer_type: String,
    /// Hundredths of 万元.
    pub annual_budget: Option<i64>,
    pub needs: Option<String>,
    pub scale: Option<String>,
    pub source: Option<String>,
    pub address: Option<String>,
    pub phone: Option<String>,
    pub region: String,
    pub owner_id: Uuid,
    pub cooperation_since: Option<NaiveDate>,
    pub influence: Option<i16>,
    pub referred_by: Option<Uuid>,
    pub tier: String,
    pub tier_score: i32,
    pub tier_pinned: bool,
    pub tier_reason: Option<String>,
    pub created_by: Uuid,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub archived_at: Option<DateTime<Utc>>,
    pub purged_at: Option<DateTime<Utc>>,
    pub version: i32,
    /// When the latest communication record says the customer was last contacted.
    pub last_activity_at: Option<DateTime<Utc>>,
    /// The latest contact, won deal or contract: what keeps a customer from being at risk.
    pub last_engaged_at: Option<DateTime<Utc>>,
    /// When a manager marked the customer lost (流失).
    pub lost_at: Option<DateTime<Utc>>,
    /// Why it was lost.
    pub lost_reason: Option<String>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}

impl Model {
    /// When the customer was last contacted, or created when it never was: where its
    /// follow-up cadence counts from.
    pub fn last_contact(&self) -> DateTime<Utc> {
        self.last_activity_at.unwrap_or(self.created_at)
    }

    /// Computes the tier and score under `policy` as of `today`, unless the tier is pinned.
    /// `purchased_fen` is the won deals of the trailing 12 months, for a customer that has
    /// won any (see `opportunities::purchase_volumes`); until then the declared annual
    /// budget stands in for it.
    pub fn apply_tier(
        &mut self,
        policy: &crm_domain::tier::TierPolicy,
        today: NaiveDate,
        purchased_fen: Option<i64>,
    ) {
        if self.tier_pinned {
            return;
        }
        let purchase_hundredths = match purchased_fen {
            Some(fen) => crm_domain::money::Money::from_fen(fen).wan_hundredths(),
            None => self.annual_budget.unwrap_or(0),
        };
        let inputs = crm_domain::tier::TierInputs {
            purchase_hundredths,
            cooperation_years: self
                .cooperation_since
                .map_or(0, |d| crm_domain::tier::years_between(d, today)),
            influence: self.influence.and_then(|i| u8::try_from(i).ok()),
        };
        self.tier_score = i32::try_from(policy.score(inputs)).unwrap_or(0);
        self.tier = policy.tier(inputs).as_str().to_owned();
    }
}

/// The SQL form of a caller's visibility over customers.
pub fn visible(visibility: Visibility) -> Condition {
    match visibility {
        Visibility::All => Condition::all(),
        Visibility::OwnedBy(user) => Condition::all().add(Column::OwnerId.eq(user)),
        // Service agents see the customers behind their work orders. Integrators never see
        // customers.
        Visibility::AssignedTo(user) => Condition::all()
            .add(Column::Id.in_subquery(crate::work_orders::customers_of_agent(user))),
        Visibility::CreatedByKey(_) => Condition::all().add(Expr::cust("1 = 0")),
    }
}

/// Which of `ids` the caller can see.
pub async fn visible_among(
    conn: &impl ConnectionTrait,
    ids: &[Uuid],
    visibility: Visibility,
) -> Result<Vec<Uuid>, StoreError> {
    crate::bulk::ids_among::<Entity>(conn, Column::Id, ids, visible(visibility)).await
}

/// A customer the caller can see, archived or not.
pub async fn find_visible(
    conn: &impl ConnectionTrait,
    id: Uuid,
    visibility: Visibility,
) -> Result<Option<Model>, StoreError> {
    Ok(Entity::find_by_id(id)
        .filter(visible(visibility))
        .one(conn)
        .await?)
}

/// A customer with its contacts and the names of its tags, read in one statement.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Detailed {
    /// The customer.
    pub customer: Model,
    /// Its contacts, the primary one first, then in the order they were added.
    pub contacts: Vec<crate::contacts::Summary>,
    /// Its tags' names, by name.
    pub tags: Vec<String>,
}

/// `customers.id`'s contacts and tag names as two JSON arrays: columns of the customer query,
/// so that a customer and its children come in one statement. The contacts come unordered
/// ([`detailed`] puts the primary first, then by id), and so do the tags on SQLite (sorted
/// there too): an ordered aggregate costs SQLite a temporary b-tree for each customer read
/// (about 6 % of the server's CPU time in user space during customer reads), where sorting one
/// to three contacts costs nothing. PostgreSQL orders the tags itself, by its collation.
fn children(backend: sea_orm::DbBackend) -> [(Expr, &'static str); 2] {
    let (contacts, tags) = match backend {
        sea_orm::DbBackend::Postgres => (
            "(SELECT json_agg(json_build_object('id', k.id, 'name', k.name, 'title', k.title, \
             'mobile', k.mobile, 'email', k.email, 'birthday', k.birthday, \
             'is_primary', k.is_primary))::text \
             FROM contacts k WHERE k.customer_id = customers.id)",
            "(SELECT json_agg(t.name ORDER BY t.name)::text FROM customer_tags x \
             JOIN tags t ON t.id = x.tag_id WHERE x.customer_id = customers.id)",
        ),
        // Ids are 16-byte blobs and flags integers on SQLite: written out as a UUID's text
        // and as JSON booleans.
        _ => (
            "(SELECT json_group_array(json_object('id', lower(substr(hex(k.id), 1, 8) || '-' || \
             substr(hex(k.id), 9, 4) || '-' || substr(hex(k.id), 13, 4) || '-' || \
             substr(hex(k.id), 17, 4) || '-' || substr(hex(k.id), 21)), 'name', k.name, \
             'title', k.title, 'mobile', k.mobile, 'email', k.email, 'birthday', k.birthday, \
             'is_primary', json(CASE WHEN k.is_primary THEN 'true' ELSE 'false' END))) \
             FROM contacts k WHERE k.customer_id = customers.id)",
            "(SELECT json_group_array(t.name) FROM customer_tags x \
             JOIN tags t ON t.id = x.tag_id WHERE x.customer_id = customers.id)",
        ),
    };
    [
        (Expr::cust(contacts), "contacts_json"),
        (Expr::cust(tags), "tags_json"),
    ]
}

/// A JSON array column of `row` (NULL when there is nothing to aggregate).
fn json_column<T: serde::de::DeserializeOwned>(
    row: &sea_orm::QueryResult,
    column: &str,
) -> Result<Vec<T>, StoreError> {
    let text: Option<String> = row.try_get("", column)?;
    match text.as_deref() {
        None => Ok(Vec::new()),
        Some(json) => serde_json::from_str(json)
            .map_err(|e| DbErr::Type(format!("{column} of a customer: {e}")).into()),
    }
}

/// A customer query with each row's contacts and tags beside it, as a statement.
fn detailed_statement(backend: sea_orm::DbBackend, mut query: Select<Entity>) -> Statement {
    for (expr, name) in children(backend) {
        query = query.column_as(expr, name);
    }
    query.build(backend)
}

/// Runs a customer query with each row's contacts and tags beside it.
async fn detailed(
    conn: &impl ConnectionTrait,
    query: Select<Entity>,
) -> Result<Vec<Detailed>, StoreError> {
    let backend = conn.get_database_backend();
    run_detailed(conn, detailed_statement(backend, query)).await
}

/// Runs a statement of [`detailed_statement`].
async fn run_detailed(
    conn: &impl ConnectionTrait,
    statement: Statement,
) -> Result<Vec<Detailed>, StoreError> {
    let backend = statement.db_backend;
    let rows = conn.query_all_raw(statement).await?;
    rows.iter()
        .map(|row| {
            let mut contacts: Vec<crate::contacts::Summary> = json_column(row, "contacts_json")?;
            // The primary first, then by id (bytewise, as both databases order UUIDs).
            contacts.sort_unstable_by_key(|c| (!c.is_primary, c.id));
            let mut tags: Vec<String> = json_column(row, "tags_json")?;
            if backend == sea_orm::DbBackend::Sqlite {
                // By name, as SQLite's default (binary) collation orders them.
                tags.sort_unstable();
            }
            Ok(Detailed {
                customer: Model::from_query_result(row, "")?,
                contacts,
                tags,
            })
        })
        .collect()
}

/// The text of the one-customer read, per database and for the two visibilities that read
/// most (everyone's records; a rep's own): built once by the query builder and reused with
/// each read's values. Building it (some forty column expressions, two subqueries) took about
/// 5 % of the server's CPU time during customer reads. `None` in a slot: the built statement's
/// values were not the ones expected, and the statement is built every time.
static ONE_CUSTOMER_SQL: [std::sync::OnceLock<Option<String>>; 4] = [
    std::sync::OnceLock::new(),
    std::sync::OnceLock::new(),
    std::sync::OnceLock::new(),
    std::sync::OnceLock::new(),
];

/// The customer with this id, with its contacts and tags, if the caller can see it.
pub async fn find_visible_detailed(
    conn: &impl ConnectionTrait,
    id: Uuid,
    visibility: Visibility,
) -> Result<Option<Detailed>, StoreError> {
    let backend = conn.get_database_backend();
    let build = || detailed_statement(backend, Entity::find_by_id(id).filter(visible(visibility)));
    let slot = match backend {
        sea_orm::DbBackend::Postgres => Some(0),
        sea_orm::DbBackend::Sqlite => Some(2),
        _ => None,
    };
    let (slot, values) = match (slot, visibility) {
        (Some(base), Visibility::All) => (Some(base), vec![sea_orm::Value::from(id)]),
        (Some(base), Visibility::OwnedBy(owner)) => (
            Some(base + 1),
            vec![sea_orm::Value::from(id), sea_orm::Value::from(owner)],
        ),
        _ => (None, Vec::new()),
    };
    let cached = slot.and_then(|slot| {
        ONE_CUSTOMER_SQL[slot]
            .get_or_init(|| {
                let built = build();
                built
                    .values
                    .as_ref()
                    .is_some_and(|v| v.0 == values)
                    .then_some(built.sql)
            })
            .as_ref()
    });
    let statement = match cached {
        Some(sql) => Statement::from_sql_and_values(backend, sql.clone(), values),
        None => build(),
    };
    Ok(run_detailed(conn, statement).await?.pop())
}

/// The live (not archived) customer with this USCC.
pub async fn find_live_by_uscc(
    conn: &impl ConnectionTrait,
    uscc: &str,
) -> Result<Option<Model>, StoreError> {
    Ok(Entity::find()
        .filter(Column::Uscc.eq(uscc))
        .filter(Column::ArchivedAt.is_null())
        .one(conn)
        .await?)
}

/// The live customers holding any of these USCCs (bulk duplicate checks).
pub async fn find_live_by_usccs(
    conn: &impl ConnectionTrait,
    usccs: &[String],
) -> Result<Vec<Model>, StoreError> {
    if usccs.is_empty() {
        return Ok(Vec::new());
    }
    Ok(Entity::find()
        .filter(Column::Uscc.is_in(usccs.iter().cloned()))
        .filter(Column::ArchivedAt.is_null())
        .all(conn)
        .await?)
}

/// Stores many new customers in one statement (bulk loads).
pub async fn insert_many(conn: &impl ConnectionTrait, rows: Vec<Model>) -> Result<(), StoreError> {
    if rows.is_empty() {
        return Ok(());
    }
    let rows: Vec<ActiveModel> = rows.into_iter().map(ActiveModel::from).collect();
    crate::bulk::insert_all(conn, rows, usize::MAX).await
}

/// Stores a new customer.
pub async fn insert(conn: &impl ConnectionTrait, model: Model) -> Result<Model, StoreError> {
    Ok(ActiveModel::from(model).insert(conn).await?)
}

/// Replaces the stored row with `model` if the stored version is still `expected_version`;
/// bumps the version. Returns the stored row, or `None` when the version was stale.
pub async fn save(
    conn: &impl ConnectionTrait,
    mut model: Model,
    expected_version: i32,
) -> Result<Option<Model>, StoreError> {
    model.version = expected_version + 1;
    let mut active = ActiveModel::from(model.clone()).reset_all();
    active.id = sea_orm::ActiveValue::NotSet;
    // Kept by communication records, deals and contracts alone (`record_contact`,
    // `record_engagement`), never from a stale read.
    active.last_activity_at = sea_orm::ActiveValue::NotSet;
    active.last_engaged_at = sea_orm::ActiveValue::NotSet;
    let result = Entity::update_many()
        .set(active)
        .filter(Column::Id.eq(model.id))
        .filter(Column::Version.eq(expected_version))
        .exec(conn)
        .await?;
    Ok((result.rows_affected == 1).then_some(model))
}

/// Sort orders of the customer list.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SortKey {
    Name,
    CreatedAt,
    UpdatedAt,
}

/// Where a page starts: the sort value and id of the previous page's last row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CursorValue {
    Text(String),
    Time(DateTime<Utc>),
}

/// Filters of the customer list; empty fields do not filter.
#[derive(Debug, Clone, Default)]
pub struct CustomerFilter {
    pub q: Option<String>,
    /// Tag ids the customer must all have.
    pub tags_all: Vec<Uuid>,
    /// Tag ids of which the customer must have at least one.
    pub tags_any: Vec<Uuid>,
    pub tier: Option<String>,
    pub customer_type: Option<String>,
    pub owner_id: Option<Uuid>,
    pub industry_code: Option<String>,
    pub region: Option<String>,
    pub source: Option<String>,
    pub updated_since: Option<DateTime<Utc>>,
    /// `false`: live customers only; `true`: archived only.
    pub archived: bool,
}

pub(crate) fn escape_like(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('%');
    for c in s.chars() {
        if matches!(c, '%' | '_' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out.push('%');
    out
}

fn has_tag(tag: Uuid) -> Expr {
    Expr::exists(
        Query::select()
            .expr(Expr::val(1))
            .from(Alias::new("customer_tags"))
            .and_where(
                Expr::col((Alias::new("customer_tags"), Alias::new("customer_id")))
                    .equals((Entity, Column::Id)),
            )
            .and_where(Expr::col((Alias::new("customer_tags"), Alias::new("tag_id"))).eq(tag))
            .to_owned(),
    )
}

/// The condition of a filter (without visibility).
pub fn filter_condition(filter: &CustomerFilter) -> Condition {
    let mut cond = Condition::all();
    cond = if filter.archived {
        cond.add(Column::ArchivedAt.is_not_null())
    } else {
        cond.add(Column::ArchivedAt.is_null())
    };
    if let Some(q) = filter.q.as_deref().map(str::trim).filter(|q| !q.is_empty()) {
        let pattern = escape_like(&q.to_lowercase());
        let like = || LikeExpr::new(pattern.clone()).escape('\\');
        let contact_match = Expr::exists(
            Query::select()
                .expr(Expr::val(1))
                .from(Alias::new("contacts"))
                .and_where(
                    Expr::col((Alias::new("contacts"), Alias::new("customer_id")))
                        .equals((Entity, Column::Id)),
                )
                .cond_where(
                    Condition::any()
                        .add(Expr::col((Alias::new("contacts"), Alias::new("name"))).like(like()))
                        .add(
                            Expr::col((Alias::new("contacts"), Alias::new("mobile"))).like(like()),
                        ),
                )
                .to_owned(),
        );
        cond = cond.add(
            Condition::any()
                .add(
                    Expr::expr(sea_orm::sea_query::Func::lower(Expr::col((
                        Entity,
                        Column::Name,
                    ))))
                    .like(like()),
                )
                .add(
                    Expr::col((Entity, Column::Uscc))
                        .like(LikeExpr::new(escape_like(&q.to_uppercase())).escape('\\')),
                )
                .add(contact_match),
        );
    }
    for tag in &filter.tags_all {
        cond = cond.add(has_tag(*tag));
    }
    if !filter.tags_any.is_empty() {
        cond = cond.add(Expr::exists(
            Query::select()
                .expr(Expr::val(1))
                .from(Alias::new("customer_tags"))
                .and_where(
                    Expr::col((Alias::new("customer_tags"), Alias::new("customer_id")))
                        .equals((Entity, Column::Id)),
                )
                .and_where(
                    Expr::col((Alias::new("customer_tags"), Alias::new("tag_id")))
                        .is_in(filter.tags_any.clone()),
                )
                .to_owned(),
        ));
    }
    if let Some(v) = &filter.tier {
        cond = cond.add(Column::Tier.eq(v.as_str()));
    }
    if let Some(v) = &filter.customer_type {
        cond = cond.add(Column::CustomerType.eq(v.as_str()));
    }
    if let Some(v) = filter.owner_id {
        cond = cond.add(Column::OwnerId.eq(v));
    }
    if let Some(v) = &filter.industry_code {
        cond = cond.add(Column::IndustryCode.eq(v.as_str()));
    }
    if let Some(v) = &filter.region {
        cond = cond.add(Column::Region.eq(v.as_str()));
    }
    if let Some(v) = &filter.source {
        cond = cond.add(Column::Source.eq(v.as_str()));
    }
    if let Some(v) = filter.updated_since {
        cond = cond.add(Column::UpdatedAt.gte(v));
    }
    cond
}

/// A page of the customers the caller can see, with their contacts and tags, in `sort`
/// order, after `after`.
pub async fn list(
    conn: &impl ConnectionTrait,
    visibility: Visibility,
    filter: &CustomerFilter,
    sort: SortKey,
    descending: bool,
    after: Option<(CursorValue, Uuid)>,
    limit: u64,
) -> Result<Vec<Detailed>, StoreError> {
    let column = match sort {
        SortKey::Name => Column::Name,
        SortKey::CreatedAt => Column::CreatedAt,
        SortKey::UpdatedAt => Column::UpdatedAt,
    };
    let mut query = Entity::find()
        .filter(visible(visibility))
        .filter(filter_condition(filter));
    if let Some((value, id)) = after {
        let value: sea_orm::Value = match value {
            CursorValue::Text(s) => s.into(),
            CursorValue::Time(t) => t.into(),
        };
        let (beyond, id_beyond) = if descending {
            (
                Expr::col(column).lt(value.clone()),
                Expr::col(Column::Id).lt(id),
            )
        } else {
            (
                Expr::col(column).gt(value.clone()),
                Expr::col(Column::Id).gt(id),
            )
        };
        query = query.filter(
            Condition::any().add(beyond).add(
                Condition::all()
                    .add(Expr::col(column).eq(value))
                    .add(id_beyond),
            ),
        );
    }
    let order = if descending {
        sea_orm::Order::Desc
    } else {
        sea_orm::Order::Asc
    };
    detailed(
        conn,
        query
            .order_by(column, order.clone())
            .order_by(Column::Id, order)
            .limit(limit),
    )
    .await
}

/// Every customer the caller can see, in id order, in pages (for exports).
pub async fn page_by_id(
    conn: &impl ConnectionTrait,
    visibility: Visibility,
    filter: &CustomerFilter,
    after: Option<Uuid>,
    limit: u64,
) -> Result<Vec<Model>, StoreError> {
    let mut query = Entity::find()
        .filter(visible(visibility))
        .filter(filter_condition(filter));
    if let Some(after) = after {
        query = query.filter(Column::Id.gt(after));
    }
    Ok(query
        .order_by_asc(Column::Id)
        .limit(limit)
        .all(conn)
        .await?)
}

/// Likely duplicates of `customer` among those the caller can see: the same normalised
/// name, or a contact with the same mobile or email.
pub async fn likely_duplicates(
    conn: &impl ConnectionTrait,
    visibility: Visibility,
    customer: &Model,
    mobiles: &[String],
    emails: &[String],
) -> Result<Vec<Model>, StoreError> {
    let mut any = Condition::any().add(Column::NameKey.eq(customer.name_key.as_str()));
    let contact_with = |column: &str, values: Vec<String>| {
        Expr::exists(
            Query::select()
                .expr(Expr::val(1))
                .from(Alias::new("contacts"))
                .and_where(
                    Expr::col((Alias::new("contacts"), Alias::new("customer_id")))
                        .equals((Entity, Column::Id)),
                )
                .and_where(Expr::col((Alias::new("contacts"), Alias::new(column))).is_in(values))
                .to_owned(),
        )
    };
    if !mobiles.is_empty() {
        any = any.add(contact_with("mobile", mobiles.to_vec()));
    }
    if !emails.is_empty() {
        any = any.add(contact_with("email", emails.to_vec()));
    }
    Ok(Entity::find()
        .filter(visible(visibility))
        .filter(Column::Id.ne(customer.id))
        .filter(Column::ArchivedAt.is_null())
        .filter(any)
        .order_by_asc(Column::Id)
        .limit(50)
        .all(conn)
        .await?)
}

/// Every live, unpinned customer, in id pages (for re-tiering).
pub async fn unpinned_page(
    conn: &impl ConnectionTrait,
    after: Option<Uuid>,
    limit: u64,
) -> Result<Vec<Model>, StoreError> {
    let mut query = Entity::find()
        .filter(Column::TierPinned.eq(false))
        .filter(Column::PurgedAt.is_null());
    if let Some(after) = after {
        query = query.filter(Column::Id.gt(after));
    }
    Ok(query
        .order_by_asc(Column::Id)
        .limit(limit)
        .all(conn)
        .await?)
}

/// Sets a customer's computed tier and score (a new version of its representation).
/// Notes that the customer was contacted at `at`, unless a later contact is known already.
pub async fn record_contact(
    conn: &impl ConnectionTrait,
    id: Uuid,
    at: DateTime<Utc>,
) -> Result<(), StoreError> {
    Entity::update_many()
        .col_expr(Column::LastActivityAt, Expr::value(at))
        .filter(Column::Id.eq(id))
        .filter(
            Condition::any()
                .add(Column::LastActivityAt.is_null())
                .add(Column::LastActivityAt.lt(at)),
        )
        .exec(conn)
        .await?;
    record_engagement(conn, id, at).await
}

/// Notes that the customer engaged (a contact, a won deal, a contract) at `at`, unless a
/// later engagement is known already.
pub async fn record_engagement(
    conn: &impl ConnectionTrait,
    id: Uuid,
    at: DateTime<Utc>,
) -> Result<(), StoreError> {
    Entity::update_many()
        .col_expr(Column::LastEngagedAt, Expr::value(at))
        .filter(Column::Id.eq(id))
        .filter(
            Condition::any()
                .add(Column::LastEngagedAt.is_null())
                .add(Column::LastEngagedAt.lt(at)),
        )
        .exec(conn)
        .await?;
    Ok(())
}

/// The names of those of `ids` the caller can see.
pub async fn names_visible(
    conn: &impl ConnectionTrait,
    ids: &[Uuid],
    visibility: Visibility,
) -> Result<std::collections::HashMap<Uuid, String>, StoreError> {
    if ids.is_empty() {
        return Ok(std::collections::HashMap::new());
    }
    let rows: Vec<(Uuid, String)> = Entity::find()
        .select_only()
        .column(Column::Id)
        .column(Column::Name)
        .filter(Column::Id.is_in(ids.iter().copied()))
        .filter(visible(visibility))
        .into_tuple()
        .all(conn)
        .await?;
    Ok(rows.into_iter().collect())
}

/// Live customers the caller can see, not lost, matching `only`, whose `last` moment (or
/// their creation, when it has none) was before `cutoff`: the longest quiet first, then by
/// id, at most `limit`, after (moment, id) `after`.
async fn quiet(
    conn: &impl ConnectionTrait,
    visibility: Visibility,
    (last, only): (Column, Condition),
    cutoff: DateTime<Utc>,
    after: Option<(DateTime<Utc>, Uuid)>,
    limit: u64,
) -> Result<Vec<Model>, StoreError> {
    let since = || {
        Expr::expr(Func::coalesce([
            Expr::col(last),
            Expr::col(Column::CreatedAt),
        ]))
    };
    let mut query = Entity::find()
        .filter(visible(visibility))
        .filter(only)
        .filter(Column::ArchivedAt.is_null())
        .filter(Column::CustomerType.ne("lost"))
        .filter(since().lt(cutoff));
    if let Some((at, id)) = after {
        // After (at, id) in (since, id) order. The first term bounds the index range the
        // next batch reads (an OR alone would make it start at the range's beginning).
        query = query
            .filter(since().gte(at))
            .filter(Condition::any().add(since().gt(at)).add(Column::Id.gt(id)));
    }
    Ok(query
        .order_by_asc(since())
        .order_by_asc(Column::Id)
        .limit(limit)
        .all(conn)
        .await?)
}

/// Customers of `tier` due a follow-up: last contacted (or created) before `cutoff`.
pub async fn follow_ups_due(
    conn: &impl ConnectionTrait,
    visibility: Visibility,
    tier: &str,
    cutoff: DateTime<Utc>,
    after: Option<(DateTime<Utc>, Uuid)>,
    limit: u64,
) -> Result<Vec<Model>, StoreError> {
    let only = Condition::all().add(Column::Tier.eq(tier));
    quiet(
        conn,
        visibility,
        (Column::LastActivityAt, only),
        cutoff,
        after,
        limit,
    )
    .await
}

/// Customers at risk: no contact, won deal or contract (nor creation) since `cutoff`.
pub async fn at_risk(
    conn: &impl ConnectionTrait,
    visibility: Visibility,
    cutoff: DateTime<Utc>,
    after: Option<(DateTime<Utc>, Uuid)>,
    limit: u64,
) -> Result<Vec<Model>, StoreError> {
    let everyone = (Column::LastEngagedAt, Condition::all());
    quiet(conn, visibility, everyone, cutoff, after, limit).await
}

/// Customers the caller can see that were referred by another, entered in `[from, to)`,
/// by id after `after`.
pub async fn referred(
    conn: &impl ConnectionTrait,
    visibility: Visibility,
    (from, to): (Option<DateTime<Utc>>, Option<DateTime<Utc>>),
    after: Option<Uuid>,
    limit: u64,
) -> Result<Vec<Model>, StoreError> {
    let mut query = Entity::find()
        .filter(visible(visibility))
        .filter(Column::ReferredBy.is_not_null())
        .filter(Column::PurgedAt.is_null());
    if let Some(from) = from {
        query = query.filter(Column::CreatedAt.gte(from));
    }
    if let Some(to) = to {
        query = query.filter(Column::CreatedAt.lt(to));
    }
    if let Some(after) = after {
        query = query.filter(Column::Id.gt(after));
    }
    Ok(query
        .order_by_asc(Column::Id)
        .limit(limit)
        .all(conn)
        .await?)
}

pub async fn set_tier(
    conn: &impl ConnectionTrait,
    id: Uuid,
    tier: &str,
    score: i32,
) -> Result<(), StoreError> {
    Entity::update_many()
        .col_expr(Column::Tier, Expr::value(tier))
        .col_expr(Column::TierScore, Expr::value(score))
        .col_expr(Column::Version, Expr::col(Column::Version).add(1))
        .filter(Column::Id.eq(id))
        .exec(conn)
        .await?;
    Ok(())
}

/// The live customers among `ids`.
pub async fn find_live(
    conn: &impl ConnectionTrait,
    ids: &[Uuid],
) -> Result<Vec<Model>, StoreError> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    Ok(Entity::find()
        .filter(Column::Id.is_in(ids.iter().copied()))
        .filter(Column::ArchivedAt.is_null())
        .all(conn)
        .await?)
}

/// Locks a customer's row until the transaction ends (PostgreSQL `FOR UPDATE`; SQLite's
/// write transactions hold the whole database already), so that writers that check the
/// customer first (the reminder generator) wait for this change.
pub async fn lock(conn: &impl ConnectionTrait, id: Uuid) -> Result<(), StoreError> {
    Entity::find_by_id(id).lock_exclusive().one(conn).await?;
    Ok(())
}

/// The owners of those of `ids` that are live, read under a shared lock (PostgreSQL
/// `FOR SHARE`) so that a purge or a change of owner in progress is waited for.
pub async fn live_owners_locked(
    conn: &impl ConnectionTrait,
    ids: &[Uuid],
) -> Result<std::collections::HashMap<Uuid, Uuid>, StoreError> {
    if ids.is_empty() {
        return Ok(std::collections::HashMap::new());
    }
    Ok(Entity::find()
        .filter(Column::Id.is_in(ids.iter().copied()))
        .filter(Column::ArchivedAt.is_null())
        .lock_shared()
        .all(conn)
        .await?
        .into_iter()
        .map(|c| (c.id, c.owner_id))
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The one-customer read reuses its statement's text only while the built statement binds
    /// exactly the values it is then given: this keeps the reuse from silently ending.
    #[test]
    fn the_customer_read_binds_the_values_its_text_is_reused_with() {
        let (id, owner) = (Uuid::now_v7(), Uuid::now_v7());
        for backend in [sea_orm::DbBackend::Postgres, sea_orm::DbBackend::Sqlite] {
            let all = detailed_statement(
                backend,
                Entity::find_by_id(id).filter(visible(Visibility::All)),
            );
            assert_eq!(
                all.values.map(|v| v.0),
                Some(vec![sea_orm::Value::from(id)])
            );
            let own = detailed_statement(
                backend,
                Entity::find_by_id(id).filter(visible(Visibility::OwnedBy(owner))),
            );
            assert_eq!(
                own.values.map(|v| v.0),
                Some(vec![sea_orm::Value::from(id), sea_orm::Value::from(owner)])
            );
        }
    }
}
