//! The customer change log (修改日志): who changed what, when, from which value to which,
//! written in the same transaction as the change.

use chrono::{DateTime, Utc};
use sea_orm::entity::prelude::*;
use sea_orm::{QueryOrder, QuerySelect};

use crate::StoreError;

/// A row of `customer_history`.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "customer_history")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub customer_id: Uuid,
    pub actor_id: Option<Uuid>,
    pub at: DateTime<Utc>,
    pub action: String,
    /// `{field: {from, to}}`.
    pub changes: Json,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}

/// Appends an entry.
pub async fn record(
    conn: &impl ConnectionTrait,
    customer_id: Uuid,
    actor_id: Option<Uuid>,
    action: &str,
    changes: Json,
) -> Result<(), StoreError> {
    let model = ActiveModel {
        id: sea_orm::ActiveValue::Set(Uuid::now_v7()),
        customer_id: sea_orm::ActiveValue::Set(customer_id),
        actor_id: sea_orm::ActiveValue::Set(actor_id),
        at: sea_orm::ActiveValue::Set(Utc::now()),
        action: sea_orm::ActiveValue::Set(action.to_owned()),
        changes: sea_orm::ActiveValue::Set(changes),
    };
    Entity::insert(model).exec(conn).await?;
    Ok(())
}

/// Appends many entries in one statement (bulk loads).
pub async fn record_many(
    conn: &impl ConnectionTrait,
    entries: Vec<Model>,
) -> Result<(), StoreError> {
    if entries.is_empty() {
        return Ok(());
    }
    Entity::insert_many(entries.into_iter().map(ActiveModel::from))
        .exec(conn)
        .await?;
    Ok(())
}

/// A page of a customer's history, newest first, before entry `before`.
pub async fn list(
    conn: &impl ConnectionTrait,
    customer_id: Uuid,
    before: Option<Uuid>,
    limit: u64,
) -> Result<Vec<Model>, StoreError> {
    let mut query = Entity::find().filter(Column::CustomerId.eq(customer_id));
    if let Some(before) = before {
        query = query.filter(Column::Id.lt(before));
    }
    Ok(query
        .order_by_desc(Column::Id)
        .limit(limit)
        .all(conn)
        .await?)
}

/// Moves a customer's history onto another (merge).
pub async fn move_all(conn: &impl ConnectionTrait, from: Uuid, to: Uuid) -> Result<(), StoreError> {
    Entity::update_many()
        .col_expr(Column::CustomerId, Expr::value(to))
        .filter(Column::CustomerId.eq(from))
        .exec(conn)
        .await?;
    Ok(())
}

/// Deletes a customer's history (purge: the old values are personal data).
pub async fn delete_for_customer(
    conn: &impl ConnectionTrait,
    customer_id: Uuid,
) -> Result<(), StoreError> {
    Entity::delete_many()
        .filter(Column::CustomerId.eq(customer_id))
        .exec(conn)
        .await?;
    Ok(())
}
