//! Idempotency keys: a caller's key claims a request; the first successful response is kept
//! for replay. Keys live 24 hours.

use chrono::{DateTime, Duration, Utc};
use sea_orm::ActiveValue::Set;
use sea_orm::entity::prelude::*;

use crate::StoreError;

/// A row of `idempotency_keys`.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "idempotency_keys")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub principal: String,
    #[sea_orm(primary_key, auto_increment = false)]
    pub key: String,
    /// SHA-256 of method, path, query and body.
    pub request_hash: String,
    /// `None` while the first request is still being handled.
    pub status: Option<i16>,
    pub location: Option<String>,
    pub etag: Option<String>,
    pub content_type: Option<String>,
    pub body: Option<String>,
    pub created_at: DateTime<Utc>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}

/// How long a key is remembered.
pub const RETENTION: Duration = Duration::hours(24);
/// How long an unfinished claim blocks its key (a crashed request must not block it forever).
pub const CLAIM_TIMEOUT: Duration = Duration::seconds(60);

/// The outcome of claiming a key.
#[derive(Debug)]
pub enum Claim {
    /// The key is ours: handle the request, then `complete` or `release`.
    New,
    /// The key was used before (or is in use).
    Existing(Model),
}

/// Claims `key` for `principal`'s request, forgetting expired keys first.
pub async fn claim(
    conn: &impl ConnectionTrait,
    principal: &str,
    key: &str,
    request_hash: &str,
) -> Result<Claim, StoreError> {
    let now = Utc::now();
    Entity::delete_many()
        .filter(Column::Principal.eq(principal))
        .filter(Column::Key.eq(key))
        .filter(
            sea_orm::Condition::any()
                .add(Column::CreatedAt.lt(now - RETENTION))
                .add(
                    sea_orm::Condition::all()
                        .add(Column::Status.is_null())
                        .add(Column::CreatedAt.lt(now - CLAIM_TIMEOUT)),
                ),
        )
        .exec(conn)
        .await?;
    let row = ActiveModel {
        principal: Set(principal.to_owned()),
        key: Set(key.to_owned()),
        request_hash: Set(request_hash.to_owned()),
        status: Set(None),
        location: Set(None),
        etag: Set(None),
        content_type: Set(None),
        body: Set(None),
        created_at: Set(now),
    };
    // Another request with the key may release it between our insert and our read: then
    // the key is free again, and we try once more.
    for _ in 0..5 {
        match Entity::insert(row.clone())
            .exec(conn)
            .await
            .map_err(StoreError::from)
        {
            Ok(_) => return Ok(Claim::New),
            Err(StoreError::UniqueViolation(_)) => {
                if let Some(existing) = Entity::find_by_id((principal.to_owned(), key.to_owned()))
                    .one(conn)
                    .await?
                {
                    return Ok(Claim::Existing(existing));
                }
            }
            Err(other) => return Err(other),
        }
    }
    // The key keeps changing hands: answer as for a request still in flight.
    Ok(Claim::Existing(Model {
        principal: principal.to_owned(),
        key: key.to_owned(),
        request_hash: request_hash.to_owned(),
        status: None,
        location: None,
        etag: None,
        content_type: None,
        body: None,
        created_at: now,
    }))
}

/// Stores the successful response of a claimed key.
pub async fn complete(conn: &impl ConnectionTrait, mut row: Model) -> Result<(), StoreError> {
    row.created_at = Utc::now();
    ActiveModel::from(row).reset_all().update(conn).await?;
    Ok(())
}

/// Gives a claimed key back (the request failed; the caller may retry it).
pub async fn release(
    conn: &impl ConnectionTrait,
    principal: &str,
    key: &str,
) -> Result<(), StoreError> {
    Entity::delete_by_id((principal.to_owned(), key.to_owned()))
        .exec(conn)
        .await?;
    Ok(())
}
