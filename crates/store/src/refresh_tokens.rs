//! Refresh tokens, stored only as SHA-256 hashes. Tokens descending from one login form a
//! family; rotation spends a token and issues its successor in the same family, and
//! presenting a spent token revokes the whole family.

use chrono::{DateTime, Utc};
use sea_orm::ActiveValue::Set;
use sea_orm::entity::prelude::*;

use crate::StoreError;

/// A row of `refresh_tokens`.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "refresh_tokens")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub user_id: Uuid,
    pub family_id: Uuid,
    pub token_hash: String,
    pub issued_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
    pub spent_at: Option<DateTime<Utc>>,
    pub revoked_at: Option<DateTime<Utc>>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}

/// Stores a newly issued token.
pub async fn insert(
    conn: &impl ConnectionTrait,
    user_id: Uuid,
    family_id: Uuid,
    token_hash: String,
    expires_at: DateTime<Utc>,
) -> Result<Model, StoreError> {
    let model = ActiveModel {
        id: Set(Uuid::now_v7()),
        user_id: Set(user_id),
        family_id: Set(family_id),
        token_hash: Set(token_hash),
        issued_at: Set(Utc::now()),
        expires_at: Set(expires_at),
        spent_at: Set(None),
        revoked_at: Set(None),
    };
    Ok(model.insert(conn).await?)
}

/// The token with this hash, whatever its state.
pub async fn find_by_hash(
    conn: &impl ConnectionTrait,
    token_hash: &str,
) -> Result<Option<Model>, StoreError> {
    Ok(Entity::find()
        .filter(Column::TokenHash.eq(token_hash))
        .one(conn)
        .await?)
}

/// Marks a live token spent. Returns false when it was already spent or revoked (a
/// concurrent refresh won the race, or it is being replayed).
pub async fn spend(
    conn: &impl ConnectionTrait,
    id: Uuid,
    at: DateTime<Utc>,
) -> Result<bool, StoreError> {
    let result = Entity::update_many()
        .col_expr(Column::SpentAt, Expr::value(at))
        .filter(Column::Id.eq(id))
        .filter(Column::SpentAt.is_null())
        .filter(Column::RevokedAt.is_null())
        .exec(conn)
        .await?;
    Ok(result.rows_affected == 1)
}

/// Revokes every token of a family.
pub async fn revoke_family(
    conn: &impl ConnectionTrait,
    family_id: Uuid,
    at: DateTime<Utc>,
) -> Result<(), StoreError> {
    Entity::update_many()
        .col_expr(Column::RevokedAt, Expr::value(at))
        .filter(Column::FamilyId.eq(family_id))
        .filter(Column::RevokedAt.is_null())
        .exec(conn)
        .await?;
    Ok(())
}

/// Revokes every token of a user.
pub async fn revoke_user(
    conn: &impl ConnectionTrait,
    user_id: Uuid,
    at: DateTime<Utc>,
) -> Result<(), StoreError> {
    Entity::update_many()
        .col_expr(Column::RevokedAt, Expr::value(at))
        .filter(Column::UserId.eq(user_id))
        .filter(Column::RevokedAt.is_null())
        .exec(conn)
        .await?;
    Ok(())
}
