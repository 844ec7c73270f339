//! Contacts (联系人) of customers.

use chrono::{DateTime, NaiveDate, Utc};
use sea_orm::entity::prelude::*;
use sea_orm::{QueryOrder, QuerySelect};

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

/// What a customer's profile shows of a contact (read beside the customer:
/// [`crate::customers::Detailed`]).
#[derive(Clone, Debug, PartialEq, Eq, serde::Deserialize)]
pub struct Summary {
    pub id: Uuid,
    pub name: String,
    pub title: String,
    pub mobile: String,
    pub email: Option<String>,
    pub birthday: Option<NaiveDate>,
    pub is_primary: bool,
}

impl From<Model> for Summary {
    fn from(m: Model) -> Self {
        Self {
            id: m.id,
            name: m.name,
            title: m.title,
            mobile: m.mobile,
            email: m.email,
            birthday: m.birthday,
            is_primary: m.is_primary,
        }
    }
}

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
    let rows: Vec<ActiveModel> = contacts.into_iter().map(ActiveModel::from).collect();
    crate::bulk::insert_all(conn, rows, usize::MAX).await
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
) -> Result<Vec<ContactKeys>, StoreError> {
    // One query per key, each on its own index (OR-ed, planners scan the whole table).
    let mut found: Vec<ContactKeys> = Vec::new();
    for (column, values) in [(Column::Mobile, mobiles), (Column::Email, emails)] {
        for chunk in values.chunks(1000) {
            found.extend(
                Entity::find()
                    .select_only()
                    .columns([
                        Column::Id,
                        Column::CustomerId,
                        Column::Mobile,
                        Column::Email,
                    ])
                    .filter(column.is_in(chunk.iter().cloned()))
                    .into_model::<ContactKeys>()
                    .all(conn)
                    .await?,
            );
        }
    }
    found.sort_by_key(|c| c.id);
    found.dedup_by_key(|c| c.id);
    Ok(found)
}

/// The keys of a contact that duplicate leads are found by.
#[derive(Debug, Clone, PartialEq, Eq, sea_orm::FromQueryResult)]
pub struct ContactKeys {
    pub id: Uuid,
    pub customer_id: Uuid,
    pub mobile: String,
    pub email: Option<String>,
}
