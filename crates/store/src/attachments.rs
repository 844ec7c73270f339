//! Attachment records (business licences, contracts); the bytes live in the object store.

use chrono::{DateTime, Utc};
use sea_orm::QueryOrder;
use sea_orm::entity::prelude::*;

use crate::StoreError;

/// A row of `attachments`.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "attachments")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub customer_id: Uuid,
    pub filename: String,
    pub content_type: String,
    pub size: i64,
    pub sha256: String,
    /// Where the bytes are in the object store.
    pub storage_key: String,
    pub uploaded_by: Uuid,
    pub created_at: DateTime<Utc>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}

/// Stores a record.
pub async fn insert(conn: &impl ConnectionTrait, model: Model) -> Result<Model, StoreError> {
    Ok(ActiveModel::from(model).insert(conn).await?)
}

/// One record.
pub async fn find(conn: &impl ConnectionTrait, id: Uuid) -> Result<Option<Model>, StoreError> {
    Ok(Entity::find_by_id(id).one(conn).await?)
}

/// A customer's attachments, oldest first.
pub async fn for_customer(
    conn: &impl ConnectionTrait,
    customer_id: Uuid,
) -> Result<Vec<Model>, StoreError> {
    Ok(Entity::find()
        .filter(Column::CustomerId.eq(customer_id))
        .order_by_asc(Column::Id)
        .all(conn)
        .await?)
}

/// Deletes a record.
pub async fn delete(conn: &impl ConnectionTrait, id: Uuid) -> Result<(), StoreError> {
    Entity::delete_by_id(id).exec(conn).await?;
    Ok(())
}

/// Deletes a customer's records, returning them (purge).
pub async fn delete_for_customer(
    conn: &impl ConnectionTrait,
    customer_id: Uuid,
) -> Result<Vec<Model>, StoreError> {
    let rows = for_customer(conn, customer_id).await?;
    Entity::delete_many()
        .filter(Column::CustomerId.eq(customer_id))
        .exec(conn)
        .await?;
    Ok(rows)
}

/// Moves a customer's records onto another (merge); returns how many moved.
pub async fn move_all(
    conn: &impl ConnectionTrait,
    from: Uuid,
    to: Uuid,
) -> Result<u64, StoreError> {
    Ok(Entity::update_many()
        .col_expr(Column::CustomerId, Expr::value(to))
        .filter(Column::CustomerId.eq(from))
        .exec(conn)
        .await?
        .rows_affected)
}
