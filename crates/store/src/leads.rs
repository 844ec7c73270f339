//! Leads (线索): what integrators and reps bring in, with the visibility condition every lead
//! query is built on, bulk inserts and bulk duplicate look-ups for imports.

use chrono::{DateTime, Utc};
use crm_domain::access::Visibility;
use sea_orm::entity::prelude::*;
use sea_orm::sea_query::{ExprTrait, Func, LikeExpr};
use sea_orm::{Condition, FromQueryResult, QueryOrder, QuerySelect};

use crate::StoreError;

/// A row of `leads`.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "leads")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub source: String,
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
    /// `key:<id>` or `user:<id>`: whose `external_id` space the lead is in.
    pub creator: String,
    pub referred_by: Option<Uuid>,
    pub status: String,
    pub owner_id: Option<Uuid>,
    /// `rule`, `customer_owner`, `manager` or `creator`.
    pub assigned_by: Option<String>,
    pub duplicate_of_lead: Option<Uuid>,
    pub duplicate_of_customer: Option<Uuid>,
    /// Space-separated: `same_mobile`, `same_email`, `same_uscc`.
    pub duplicate_reasons: Option<String>,
    pub created_by_user: Option<Uuid>,
    pub created_by_key: Option<Uuid>,
    pub customer_id: Option<Uuid>,
    pub opportunity_id: Option<Uuid>,
    pub disqualify_reason: Option<String>,
    pub received_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub version: i32,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}

/// The SQL form of a caller's visibility over leads.
pub fn visible(visibility: Visibility) -> Condition {
    match visibility {
        Visibility::All => Condition::all(),
        Visibility::OwnedBy(user) => Condition::all().add(Column::OwnerId.eq(user)),
        Visibility::CreatedByKey(key) => Condition::all().add(Column::CreatedByKey.eq(key)),
        Visibility::AssignedTo(_) => Condition::all().add(Expr::cust("1 = 0")),
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

/// The lead `id` if the caller can see it.
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

/// The leads `creator` already made with these external ids.
pub async fn by_external_ids(
    conn: &impl ConnectionTrait,
    creator: &str,
    external_ids: &[String],
) -> Result<Vec<Model>, StoreError> {
    if external_ids.is_empty() {
        return Ok(Vec::new());
    }
    Ok(Entity::find()
        .filter(Column::Creator.eq(creator))
        .filter(Column::ExternalId.is_in(external_ids.iter().cloned()))
        .all(conn)
        .await?)
}

/// The keys of a lead that duplicates are found by.
#[derive(Debug, Clone, PartialEq, Eq, FromQueryResult)]
pub struct LeadKeys {
    pub id: Uuid,
    pub status: String,
    pub mobile: Option<String>,
    pub email: Option<String>,
    pub uscc: Option<String>,
}

/// Open leads (new or following) sharing a mobile, an email or a USCC with the given ones,
/// oldest first: only their keys, since a busy switchboard number may be on hundreds.
pub async fn open_matching(
    conn: &impl ConnectionTrait,
    mobiles: &[String],
    emails: &[String],
    usccs: &[String],
) -> Result<Vec<LeadKeys>, StoreError> {
    // One query per key, each on its own index: with the keys OR-ed together (or with the
    // status beside them) planners fall back to scanning every open lead.
    let mut found: Vec<LeadKeys> = Vec::new();
    for (column, values) in [
        (Column::Mobile, mobiles),
        (Column::Email, emails),
        (Column::Uscc, usccs),
    ] {
        for chunk in values.chunks(1000) {
            found.extend(
                Entity::find()
                    .select_only()
                    .columns([
                        Column::Id,
                        Column::Status,
                        Column::Mobile,
                        Column::Email,
                        Column::Uscc,
                    ])
                    .filter(column.is_in(chunk.iter().cloned()))
                    .into_model::<LeadKeys>()
                    .all(conn)
                    .await?,
            );
        }
    }
    found.retain(|l| matches!(l.status.as_str(), "new" | "following"));
    found.sort_by_key(|l| l.id);
    found.dedup_by_key(|l| l.id);
    Ok(found)
}

/// Rows per statement: 29 columns each stays under SQLite's 32,766 bound parameters.
const CHUNK: usize = 1000;

/// Stores new leads in multi-row statements.
pub async fn insert_many(conn: &impl ConnectionTrait, rows: Vec<Model>) -> Result<(), StoreError> {
    let rows: Vec<ActiveModel> = rows.into_iter().map(ActiveModel::from).collect();
    crate::bulk::insert_all(conn, rows, CHUNK).await
}

/// Replaces the stored row if its version is still `expected_version`; bumps the version.
pub async fn save(
    conn: &impl ConnectionTrait,
    mut model: Model,
    expected_version: i32,
) -> Result<Option<Model>, StoreError> {
    model.version = expected_version + 1;
    let mut active = ActiveModel::from(model.clone()).reset_all();
    active.id = sea_orm::ActiveValue::NotSet;
    let result = Entity::update_many()
        .set(active)
        .filter(Column::Id.eq(model.id))
        .filter(Column::Version.eq(expected_version))
        .exec(conn)
        .await?;
    Ok((result.rows_affected == 1).then_some(model))
}

/// Filters of the lead list; empty fields do not filter.
#[derive(Debug, Clone, Default)]
pub struct LeadFilter {
    pub status: Option<String>,
    pub source: Option<String>,
    pub owner_id: Option<Uuid>,
    /// Only leads in nobody's hands (the managers' queue).
    pub unassigned: bool,
    pub region: Option<String>,
    /// A division (`C35`) or a section (`C`).
    pub industry: Option<String>,
    pub received_from: Option<DateTime<Utc>>,
    pub received_to: Option<DateTime<Utc>>,
    pub q: Option<String>,
    pub duplicates_only: bool,
}

fn filter_condition(f: &LeadFilter) -> Condition {
    let mut cond = Condition::all();
    if let Some(v) = &f.status {
        cond = cond.add(Column::Status.eq(v.as_str()));
    }
    if let Some(v) = &f.source {
        cond = cond.add(Column::Source.eq(v.as_str()));
    }
    if let Some(v) = f.owner_id {
        cond = cond.add(Column::OwnerId.eq(v));
    }
    if f.unassigned {
        cond = cond.add(Column::OwnerId.is_null());
    }
    if let Some(v) = &f.region {
        cond = cond.add(Column::Region.eq(v.as_str()));
    }
    if let Some(v) = &f.industry {
        cond = if v.len() == 1 {
            cond.add(Column::IndustryCode.starts_with(v.as_str()))
        } else {
            cond.add(Column::IndustryCode.eq(v.as_str()))
        };
    }
    if let Some(v) = f.received_from {
        cond = cond.add(Column::ReceivedAt.gte(v));
    }
    if let Some(v) = f.received_to {
        cond = cond.add(Column::ReceivedAt.lt(v));
    }
    if let Some(q) = f.q.as_deref().map(str::trim).filter(|q| !q.is_empty()) {
        let pattern = crate::customers::escape_like(&q.to_lowercase());
        let like = || LikeExpr::new(pattern.clone()).escape('\\');
        let lower = |c: Column| Expr::expr(Func::lower(Expr::col(c)));
        cond = cond.add(
            Condition::any()
                .add(lower(Column::CompanyName).like(like()))
                .add(lower(Column::ContactName).like(like()))
                .add(Expr::col(Column::Mobile).like(like()))
                .add(lower(Column::Email).like(like()))
                .add(lower(Column::Uscc).like(like())),
        );
    }
    if f.duplicates_only {
        cond = cond.add(
            Condition::any()
                .add(Column::DuplicateOfLead.is_not_null())
                .add(Column::DuplicateOfCustomer.is_not_null()),
        );
    }
    cond
}

/// A page of the leads the caller can see, newest first, after lead `after`.
pub async fn list(
    conn: &impl ConnectionTrait,
    visibility: Visibility,
    filter: &LeadFilter,
    after: Option<Uuid>,
    limit: u64,
) -> Result<Vec<Model>, StoreError> {
    let mut query = Entity::find()
        .filter(visible(visibility))
        .filter(filter_condition(filter));
    if let Some(after) = after {
        query = query.filter(Column::Id.lt(after));
    }
    Ok(query
        .order_by_desc(Column::Id)
        .limit(limit)
        .all(conn)
        .await?)
}

/// Moves leads that point at one customer onto another (merge).
pub async fn move_customer(
    conn: &impl ConnectionTrait,
    from: Uuid,
    to: Uuid,
) -> Result<(), StoreError> {
    for column in [
        Column::CustomerId,
        Column::DuplicateOfCustomer,
        Column::ReferredBy,
    ] {
        Entity::update_many()
            .col_expr(column, Expr::value(to))
            .filter(column.eq(from))
            .exec(conn)
            .await?;
    }
    Ok(())
}

/// Serialises lead intake until the caller's transaction ends (PostgreSQL; SQLite has one
/// writer anyway), so that two imports at once never miss each other's duplicates.
pub async fn lock_intake(conn: &impl ConnectionTrait) -> Result<(), StoreError> {
    if conn.get_database_backend() == sea_orm::DbBackend::Postgres {
        conn.execute_raw(sea_orm::Statement::from_string(
            sea_orm::DbBackend::Postgres,
            "SELECT pg_advisory_xact_lock(7163288127598915)",
        ))
        .await?;
    }
    Ok(())
}
