//! The audit log: for every kind of record, who changed what, when, from which value to
//! which, and through which request. Written in the same transaction as the change.

use chrono::{DateTime, Utc};
use sea_orm::entity::prelude::*;
use sea_orm::{QueryOrder, QuerySelect};

use crate::StoreError;

/// A row of `audit_log`.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "audit_log")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    /// `customer`, `user`, `api_key`, `tag`, `tier_policy`, …
    pub entity_type: String,
    pub entity_id: Uuid,
    pub action: String,
    /// The account that made the change, if a person did.
    pub actor_user_id: Option<Uuid>,
    /// The API key that made the change, if an integrator did.
    pub actor_api_key_id: Option<Uuid>,
    /// The request that made the change, if any.
    pub request_id: Option<String>,
    pub at: DateTime<Utc>,
    /// `{field: {from, to}}`.
    pub changes: Json,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}

/// Who made a change, as the audit log and the outbox record it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Actor {
    /// The account, for a person.
    pub user_id: Option<Uuid>,
    /// The API key, for an integrator.
    pub api_key_id: Option<Uuid>,
    /// The request id, when the change came through the API.
    pub request_id: Option<String>,
}

/// Rows per statement: 9 columns each stays well under SQLite's 32,766 bound parameters.
const CHUNK: usize = 1000;

/// Appends entries, in multi-row statements.
pub async fn record_many(
    conn: &impl ConnectionTrait,
    entries: Vec<Model>,
) -> Result<(), StoreError> {
    let entries: Vec<ActiveModel> = entries.into_iter().map(ActiveModel::from).collect();
    crate::bulk::insert_all(conn, entries, CHUNK).await
}

/// A page of one record's entries, newest first, before entry `before`.
pub async fn list(
    conn: &impl ConnectionTrait,
    entity_type: &str,
    entity_id: Uuid,
    before: Option<Uuid>,
    limit: u64,
) -> Result<Vec<Model>, StoreError> {
    let mut query = Entity::find()
        .filter(Column::EntityType.eq(entity_type))
        .filter(Column::EntityId.eq(entity_id));
    if let Some(before) = before {
        query = query.filter(Column::Id.lt(before));
    }
    Ok(query
        .order_by_desc(Column::Id)
        .limit(limit)
        .all(conn)
        .await?)
}

/// Moves one record's entries onto another of the same type (merge).
pub async fn move_all(
    conn: &impl ConnectionTrait,
    entity_type: &str,
    from: Uuid,
    to: Uuid,
) -> Result<(), StoreError> {
    Entity::update_many()
        .col_expr(Column::EntityId, Expr::value(to))
        .filter(Column::EntityType.eq(entity_type))
        .filter(Column::EntityId.eq(from))
        .exec(conn)
        .await?;
    Ok(())
}

/// Deletes one record's entries (purge: the old values are personal data).
pub async fn delete_for(
    conn: &impl ConnectionTrait,
    entity_type: &str,
    entity_id: Uuid,
) -> Result<(), StoreError> {
    Entity::delete_many()
        .filter(Column::EntityType.eq(entity_type))
        .filter(Column::EntityId.eq(entity_id))
        .exec(conn)
        .await?;
    Ok(())
}
