//! Contacts (联系人) of customers.

use chrono::{DateTime, NaiveDate, Utc};
use sea_orm::QueryOrder;
use sea_orm::entity::prelude::*;

use crate::StoreError;

/// A row of `contacts`.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "contacts")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub customer_id: Uuid,
    pub name: String,
    pub title: String,
    pub mobile: String,
    pub email: Option<String>,
    pub birthday: Option<NaiveDate>,
    pub is_primary: bool,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}

/// The contacts of these customers, in one query, primary first then oldest first.
pub async fn for_customers(
    conn: &impl ConnectionTrait,
    ids: &[Uuid],
) -> Result<Vec<Model>, StoreError> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    Ok(Entity::find()
        .filter(Column::CustomerId.is_in(ids.iter().copied()))
        .order_by_desc(Column::IsPrimary)
        .order_by_asc(Column::Id)
        .all(conn)
        .await?)
}

/// One contact.
pub async fn find(conn: &impl ConnectionTrait, id: Uuid) -> Result<Option<Model>, StoreError> {
    Ok(Entity::find_by_id(id).one(conn).await?)
}

/// Stores new contacts in one statement.
pub async fn insert_many(
    conn: &impl ConnectionTrait,
    contacts: Vec<Model>,
) -> Result<(), StoreError> {
    if contacts.is_empty() {
        return Ok(());
    }
    Entity::insert_many(contacts.into_iter().map(ActiveModel::from))
        .exec(conn)
        .await?;
    Ok(())
}

/// Stores a contact's new state.
pub async fn update(conn: &impl ConnectionTrait, contact: Model) -> Result<(), StoreError> {
    let active = ActiveModel::from(contact).reset_all();
    active.update(conn).await?;
    Ok(())
}

/// Marks every contact of a customer not primary.
pub async fn clear_primary(
    conn: &impl ConnectionTrait,
    customer_id: Uuid,
) -> Result<(), StoreError> {
    Entity::update_many()
        .col_expr(Column::IsPrimary, Expr::value(false))
        .filter(Column::CustomerId.eq(customer_id))
        .exec(conn)
        .await?;
    Ok(())
}

/// Deletes a contact.
pub async fn delete(conn: &impl ConnectionTrait, id: Uuid) -> Result<(), StoreError> {
    Entity::delete_by_id(id).exec(conn).await?;
    Ok(())
}

/// Deletes every contact of a customer (purge).
pub async fn delete_for_customer(
    conn: &impl ConnectionTrait,
    customer_id: Uuid,
) -> Result<u64, StoreError> {
    Ok(Entity::delete_many()
        .filter(Column::CustomerId.eq(customer_id))
        .exec(conn)
        .await?
        .rows_affected)
}

/// Moves every contact of `from` to `to`, none of them primary (merge).
pub async fn move_all(conn: &impl ConnectionTrait, from: Uuid, to: Uuid) -> Result<(), StoreError> {
    Entity::update_many()
        .col_expr(Column::CustomerId, Expr::value(to))
        .col_expr(Column::IsPrimary, Expr::value(false))
        .filter(Column::CustomerId.eq(from))
        .exec(conn)
        .await?;
    Ok(())
}

/// Contacts with any of these mobiles or emails (bulk duplicate checks).
pub async fn matching(
    conn: &impl ConnectionTrait,
    mobiles: &[String],
    emails: &[String],
) -> Result<Vec<Model>, StoreError> {
    let mut any = sea_orm::Condition::any();
    if !mobiles.is_empty() {
        any = any.add(Column::Mobile.is_in(mobiles.iter().cloned()));
    }
    if !emails.is_empty() {
        any = any.add(Column::Email.is_in(emails.iter().cloned()));
    }
    if any.is_empty() {
        return Ok(Vec::new());
    }
    Ok(Entity::find().filter(any).all(conn).await?)
}
