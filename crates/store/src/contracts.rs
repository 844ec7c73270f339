//! Contracts (合同), seen by whoever sees their customer, with the part of the purchase
//! volume they make.

use std::collections::HashMap;

use chrono::{DateTime, NaiveDate, Utc};
use crm_domain::access::Visibility;
use sea_orm::entity::prelude::*;
use sea_orm::sea_query::{ExprTrait, Query};
use sea_orm::{Condition, FromQueryResult, QueryOrder, QuerySelect};

use crate::StoreError;

/// A row of `contracts`.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "contracts")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub number: String,
    pub customer_id: Uuid,
    /// The won deal it puts on paper; its amount then counts through the deal.
    pub opportunity_id: Option<Uuid>,
    pub amount_fen: i64,
    pub signed_on: NaiveDate,
    pub starts_on: NaiveDate,
    pub ends_on: NaiveDate,
    pub predecessor_id: Option<Uuid>,
    pub successor_id: Option<Uuid>,
    pub created_by: Option<Uuid>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub version: i32,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}

/// The SQL form of a caller's visibility: the contracts of the customers they see.
pub fn visible(visibility: Visibility) -> Condition {
    match visibility {
        Visibility::All => Condition::all(),
        other => Condition::all().add(
            Column::CustomerId.in_subquery(
                Query::select()
                    .column(crate::customers::Column::Id)
                    .from(crate::customers::Entity)
                    .cond_where(crate::customers::visible(other))
                    .to_owned(),
            ),
        ),
    }
}

/// The contract `id` if the caller can see it; locked for a change when `lock` is set.
pub async fn find_visible(
    conn: &impl ConnectionTrait,
    id: Uuid,
    visibility: Visibility,
    lock: bool,
) -> Result<Option<Model>, StoreError> {
    let mut query = Entity::find_by_id(id).filter(visible(visibility));
    if lock {
        query = query.lock_exclusive();
    }
    Ok(query.one(conn).await?)
}

/// Whether a contract has this number.
pub async fn number_taken(conn: &impl ConnectionTrait, number: &str) -> Result<bool, StoreError> {
    Ok(Entity::find()
        .filter(Column::Number.eq(number))
        .one(conn)
        .await?
        .is_some())
}

/// Stores a new contract.
pub async fn insert(conn: &impl ConnectionTrait, model: Model) -> Result<Model, StoreError> {
    Ok(ActiveModel::from(model).insert(conn).await?)
}

/// Stores many new contracts (bulk loads).
pub async fn insert_many(conn: &impl ConnectionTrait, rows: Vec<Model>) -> Result<(), StoreError> {
    let rows: Vec<ActiveModel> = rows.into_iter().map(ActiveModel::from).collect();
    crate::bulk::insert_all(conn, rows, 500).await
}

/// Marks `id` renewed by `successor` if it was not renewed yet; `false` otherwise.
pub async fn mark_renewed(
    conn: &impl ConnectionTrait,
    id: Uuid,
    successor: Uuid,
    now: DateTime<Utc>,
) -> Result<bool, StoreError> {
    let result = Entity::update_many()
        .col_expr(Column::SuccessorId, Expr::value(successor))
        .col_expr(Column::UpdatedAt, Expr::value(now))
        .col_expr(Column::Version, Expr::col(Column::Version).add(1))
        .filter(Column::Id.eq(id))
        .filter(Column::SuccessorId.is_null())
        .exec(conn)
        .await?;
    Ok(result.rows_affected == 1)
}

/// Filters of the contract list; empty fields do not filter.
#[derive(Debug, Clone, Default)]
pub struct ContractFilter {
    pub customer_id: Option<Uuid>,
    /// Not renewed and ending between these days, inclusive (renewal talks).
    pub ends_between: Option<(NaiveDate, NaiveDate)>,
    /// In force on this day (started, not ended).
    pub in_force_on: Option<NaiveDate>,
}

/// A page of the contracts the caller can see, newest first, after contract `after`.
pub async fn list(
    conn: &impl ConnectionTrait,
    visibility: Visibility,
    f: &ContractFilter,
    after: Option<Uuid>,
    limit: u64,
) -> Result<Vec<Model>, StoreError> {
    let mut query = Entity::find().filter(visible(visibility));
    if let Some(v) = f.customer_id {
        query = query.filter(Column::CustomerId.eq(v));
    }
    if let Some((from, to)) = f.ends_between {
        query = query
            .filter(Column::SuccessorId.is_null())
            .filter(Column::EndsOn.between(from, to));
    }
    if let Some(v) = f.in_force_on {
        query = query
            .filter(Column::StartsOn.lte(v))
            .filter(Column::EndsOn.gte(v));
    }
    if let Some(after) = after {
        query = query.filter(Column::Id.lt(after));
    }
    Ok(query
        .order_by_desc(Column::Id)
        .limit(limit)
        .all(conn)
        .await?)
}

/// Contracts not renewed that end between `from` and `to` (inclusive), oldest first, after
/// `after`: the renewal reminders' source.
pub async fn ending_between(
    conn: &impl ConnectionTrait,
    from: NaiveDate,
    to: NaiveDate,
    after: Option<Uuid>,
    limit: u64,
) -> Result<Vec<Model>, StoreError> {
    let mut query = Entity::find()
        .filter(Column::SuccessorId.is_null())
        .filter(Column::EndsOn.between(from, to));
    if let Some(after) = after {
        query = query.filter(Column::Id.gt(after));
    }
    Ok(query
        .order_by_asc(Column::Id)
        .limit(limit)
        .all(conn)
        .await?)
}

/// Moves a customer's contracts onto another (merge).
pub async fn move_all(
    conn: &impl ConnectionTrait,
    from: Uuid,
    to: Uuid,
) -> Result<u64, StoreError> {
    crate::bulk::repoint::<Entity>(conn, Column::CustomerId, from, to).await
}

#[derive(Debug, FromQueryResult)]
struct Volume {
    customer_id: Uuid,
    fen: i64,
}

/// For each of `customer_ids` that ever signed a contract not tied to a deal: the amounts
/// of such contracts signed on or after `since` (0 when none recently). Contracts tied to a
/// deal count through the deal, never twice.
pub async fn purchase_volumes(
    conn: &impl ConnectionTrait,
    customer_ids: &[Uuid],
    since: NaiveDate,
) -> Result<HashMap<Uuid, i64>, StoreError> {
    let mut out = HashMap::new();
    let since_sql = match conn.get_database_backend() {
        sea_orm::DbBackend::Postgres => "$1",
        _ => "?",
    };
    let volume = format!(
        "CAST(COALESCE(SUM(CASE WHEN signed_on >= {since_sql} THEN amount_fen ELSE 0 END), 0) AS BIGINT)"
    );
    for chunk in customer_ids.chunks(500) {
        let rows = Entity::find()
            .select_only()
            .column(Column::CustomerId)
            .column_as(Expr::cust_with_values(volume.clone(), [since]), "fen")
            .filter(Column::CustomerId.is_in(chunk.iter().copied()))
            .filter(Column::OpportunityId.is_null())
            .group_by(Column::CustomerId)
            .into_model::<Volume>()
            .all(conn)
            .await?;
        out.extend(rows.into_iter().map(|r| (r.customer_id, r.fen)));
    }
    Ok(out)
}
