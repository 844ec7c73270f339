//! Integrator API keys, stored only as SHA-256 hashes of their (high-entropy) secret.

use chrono::{DateTime, Duration, Utc};
use sea_orm::ActiveValue::Set;
use sea_orm::entity::prelude::*;
use sea_orm::{Condition, QueryOrder, QuerySelect};

use crate::StoreError;

/// A row of `api_keys`.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "api_keys")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub name: String,
    /// The first characters of the key, shown so people can tell keys apart.
    pub prefix: String,
    pub key_hash: String,
    /// Space-separated scope names.
    pub scopes: String,
    pub created_by: Uuid,
    pub created_at: DateTime<Utc>,
    pub last_used_at: Option<DateTime<Utc>>,
    pub revoked_at: Option<DateTime<Utc>>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}

/// How stale `last_used_at` may get before a use writes it again.
const TOUCH_INTERVAL: Duration = Duration::seconds(60);

/// Stores a new key.
pub async fn insert(
    conn: &impl ConnectionTrait,
    name: String,
    prefix: String,
    key_hash: String,
    scopes: String,
    created_by: Uuid,
) -> Result<Model, StoreError> {
    let model = ActiveModel {
        id: Set(Uuid::now_v7()),
        name: Set(name),
        prefix: Set(prefix),
        key_hash: Set(key_hash),
        scopes: Set(scopes),
        created_by: Set(created_by),
        created_at: Set(Utc::now()),
        last_used_at: Set(None),
        revoked_at: Set(None),
    };
    Ok(model.insert(conn).await?)
}

/// A page of live keys in creation order, after the key `after`.
pub async fn list(
    conn: &impl ConnectionTrait,
    after: Option<Uuid>,
    limit: u64,
) -> Result<Vec<Model>, StoreError> {
    let mut query = Entity::find().filter(Column::RevokedAt.is_null());
    if let Some(after) = after {
        query = query.filter(Column::Id.gt(after));
    }
    Ok(query
        .order_by_asc(Column::Id)
        .limit(limit)
        .all(conn)
        .await?)
}

/// The live key with this hash.
pub async fn find_live_by_hash(
    conn: &impl ConnectionTrait,
    key_hash: &str,
) -> Result<Option<Model>, StoreError> {
    Ok(Entity::find()
        .filter(Column::KeyHash.eq(key_hash))
        .filter(Column::RevokedAt.is_null())
        .one(conn)
        .await?)
}

/// Revokes a live key. Returns false when there is no live key with this id.
pub async fn revoke(conn: &impl ConnectionTrait, id: Uuid) -> Result<bool, StoreError> {
    let result = Entity::update_many()
        .col_expr(Column::RevokedAt, Expr::value(Utc::now()))
        .filter(Column::Id.eq(id))
        .filter(Column::RevokedAt.is_null())
        .exec(conn)
        .await?;
    Ok(result.rows_affected == 1)
}

/// Records a use of `key` (as just read), at most once a minute per key so that busy
/// integrators do not turn every request into a write: when the key as read was used within
/// the minute, nothing is sent to the database at all (an `UPDATE` that changes nothing still
/// takes SQLite's write lock).
pub async fn touch(
    conn: &impl ConnectionTrait,
    key: &Model,
    at: DateTime<Utc>,
) -> Result<(), StoreError> {
    if key
        .last_used_at
        .is_some_and(|used| used >= at - TOUCH_INTERVAL)
    {
        return Ok(());
    }
    let id = key.id;
    Entity::update_many()
        .col_expr(Column::LastUsedAt, Expr::value(at))
        .filter(Column::Id.eq(id))
        .filter(
            Condition::any()
                .add(Column::LastUsedAt.is_null())
                .add(Column::LastUsedAt.lt(at - TOUCH_INTERVAL)),
        )
        .exec(conn)
        .await?;
    Ok(())
}
