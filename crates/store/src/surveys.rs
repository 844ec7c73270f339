//! Satisfaction surveys (满意度调查), one per customer and half year.

use chrono::{DateTime, Utc};
use sea_orm::QueryOrder;
use sea_orm::entity::prelude::*;
use sea_orm::sea_query::OnConflict;

use crate::StoreError;

/// A row of `surveys`.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "surveys")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub customer_id: Uuid,
    /// `2026-H2`.
    pub period: String,
    pub needs: Option<String>,
    pub product_satisfaction: i16,
    pub service_satisfaction: i16,
    pub comments: Option<String>,
    pub created_by: Option<Uuid>,
    pub created_at: DateTime<Utc>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}

/// Stores a survey unless the customer has one for its period; `false` then.
pub async fn insert_once(conn: &impl ConnectionTrait, model: Model) -> Result<bool, StoreError> {
    let n = Entity::insert(ActiveModel::from(model))
        .on_conflict(
            OnConflict::columns([Column::CustomerId, Column::Period])
                .do_nothing()
                .to_owned(),
        )
        .exec_without_returning(conn)
        .await?;
    Ok(n == 1)
}

/// The customer's survey of `period`.
pub async fn find(
    conn: &impl ConnectionTrait,
    customer_id: Uuid,
    period: &str,
) -> Result<Option<Model>, StoreError> {
    Ok(Entity::find()
        .filter(Column::CustomerId.eq(customer_id))
        .filter(Column::Period.eq(period))
        .one(conn)
        .await?)
}

/// A customer's surveys, latest period first.
pub async fn for_customer(
    conn: &impl ConnectionTrait,
    customer_id: Uuid,
) -> Result<Vec<Model>, StoreError> {
    Ok(Entity::find()
        .filter(Column::CustomerId.eq(customer_id))
        .order_by_desc(Column::Period)
        .all(conn)
        .await?)
}

/// Moves a customer's surveys onto another (merge); a period the survivor has already
/// keeps the survivor's. Returns how many moved.
pub async fn move_all(
    conn: &impl ConnectionTrait,
    from: Uuid,
    to: Uuid,
) -> Result<u64, StoreError> {
    let theirs = for_customer(conn, to).await?;
    let taken: Vec<String> = theirs.into_iter().map(|s| s.period).collect();
    let mut update = Entity::update_many()
        .col_expr(Column::CustomerId, Expr::value(to))
        .filter(Column::CustomerId.eq(from));
    if !taken.is_empty() {
        update = update.filter(Column::Period.is_not_in(taken));
    }
    Ok(update.exec(conn).await?.rows_affected)
}

/// Deletes a customer's surveys (purge: they hold what people said).
pub async fn delete_for_customer(
    conn: &impl ConnectionTrait,
    customer_id: Uuid,
) -> Result<Vec<Uuid>, StoreError> {
    let ids = for_customer(conn, customer_id)
        .await?
        .into_iter()
        .map(|s| s.id)
        .collect();
    Entity::delete_many()
        .filter(Column::CustomerId.eq(customer_id))
        .exec(conn)
        .await?;
    Ok(ids)
}
