//! Communication records (沟通档案), seen by whoever sees their customer.

use chrono::{DateTime, NaiveDate, Utc};
use crm_domain::access::Visibility;
use sea_orm::entity::prelude::*;
use sea_orm::sea_query::Query;
use sea_orm::{Condition, QueryOrder, QuerySelect};

use crate::StoreError;

/// A row of `activities`.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "activities")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub customer_id: Uuid,
    pub contact_id: Option<Uuid>,
    pub opportunity_id: Option<Uuid>,
    /// `visit`, `call`, `meeting`, `email`, `wechat`, `other`.
    pub kind: String,
    pub occurred_at: DateTime<Utc>,
    pub summary: String,
    pub feedback: Option<String>,
    pub needs_change: Option<String>,
    pub next_follow_up: Option<NaiveDate>,
    pub created_by: Option<Uuid>,
    pub created_at: DateTime<Utc>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}

/// The SQL form of a caller's visibility over records: those of the customers they see.
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

/// Stores a new record.
pub async fn insert(conn: &impl ConnectionTrait, model: Model) -> Result<Model, StoreError> {
    Ok(ActiveModel::from(model).insert(conn).await?)
}

/// The record `id` if the caller can see it.
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

/// Filters of the record list; empty fields do not filter.
#[derive(Debug, Clone, Default)]
pub struct ActivityFilter {
    pub customer_id: Option<Uuid>,
    pub created_by: Option<Uuid>,
    pub kind: Option<String>,
    pub from: Option<DateTime<Utc>>,
    pub to: Option<DateTime<Utc>>,
}

/// A page of the records the caller can see, newest first (by id), after record `after`.
pub async fn list(
    conn: &impl ConnectionTrait,
    visibility: Visibility,
    f: &ActivityFilter,
    after: Option<Uuid>,
    limit: u64,
) -> Result<Vec<Model>, StoreError> {
    let mut query = Entity::find().filter(visible(visibility));
    if let Some(v) = f.customer_id {
        query = query.filter(Column::CustomerId.eq(v));
    }
    if let Some(v) = f.created_by {
        query = query.filter(Column::CreatedBy.eq(v));
    }
    if let Some(v) = &f.kind {
        query = query.filter(Column::Kind.eq(v.as_str()));
    }
    if let Some(v) = f.from {
        query = query.filter(Column::OccurredAt.gte(v));
    }
    if let Some(v) = f.to {
        query = query.filter(Column::OccurredAt.lt(v));
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

/// Moves a customer's records onto another (merge).
pub async fn move_all(
    conn: &impl ConnectionTrait,
    from: Uuid,
    to: Uuid,
) -> Result<u64, StoreError> {
    crate::bulk::repoint::<Entity>(conn, Column::CustomerId, from, to).await
}

/// Deletes a customer's records (purge: they hold what people said).
pub async fn delete_for_customer(
    conn: &impl ConnectionTrait,
    customer_id: Uuid,
) -> Result<Vec<Uuid>, StoreError> {
    let ids: Vec<Uuid> = Entity::find()
        .select_only()
        .column(Column::Id)
        .filter(Column::CustomerId.eq(customer_id))
        .into_tuple()
        .all(conn)
        .await?;
    Entity::delete_many()
        .filter(Column::CustomerId.eq(customer_id))
        .exec(conn)
        .await?;
    Ok(ids)
}
