//! User accounts.

use chrono::{DateTime, Utc};
use sea_orm::entity::prelude::*;
use sea_orm::sea_query::ExprTrait;
use sea_orm::{ActiveValue::Set, Condition, QueryOrder, QuerySelect};

use crate::StoreError;

/// A row of `users`.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "users")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub username: String,
    pub display_name: String,
    pub email: Option<String>,
    pub role: String,
    pub region: Option<String>,
    pub team: Option<String>,
    pub active: bool,
    pub password_hash: String,
    /// Bumped whenever outstanding tokens must die (deactivation, role or password change).
    pub token_version: i32,
    pub last_login_at: Option<DateTime<Utc>>,
    pub password_changed_at: DateTime<Utc>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// Optimistic-concurrency version, bumped on every change.
    pub version: i32,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}

/// What a new account is made of.
#[derive(Debug, Clone)]
pub struct NewUser {
    pub username: String,
    pub display_name: String,
    pub email: Option<String>,
    pub role: String,
    pub region: Option<String>,
    pub team: Option<String>,
    pub password_hash: String,
}

/// Filters of the account list.
#[derive(Debug, Clone, Default)]
pub struct UserFilter {
    pub role: Option<String>,
    pub active: Option<bool>,
    /// Only accounts that have not logged in since this instant (or never have).
    pub not_logged_in_since: Option<DateTime<Utc>>,
}

/// Changes to an account; `None` leaves a field as it is.
#[derive(Debug, Clone, Default)]
pub struct UserChanges {
    pub display_name: Option<String>,
    pub email: Option<Option<String>>,
    pub role: Option<String>,
    pub region: Option<Option<String>>,
    pub team: Option<Option<String>>,
    pub active: Option<bool>,
    pub password_hash: Option<String>,
    /// Whether outstanding tokens must stop working.
    pub revoke_tokens: bool,
}

/// How many accounts exist.
pub async fn count(conn: &impl ConnectionTrait) -> Result<u64, StoreError> {
    Ok(Entity::find().count(conn).await?)
}

/// How many active admins exist other than `except`.
pub async fn count_other_active_admins(
    conn: &impl ConnectionTrait,
    except: Uuid,
) -> Result<u64, StoreError> {
    Ok(Entity::find()
        .filter(Column::Role.eq("admin"))
        .filter(Column::Active.eq(true))
        .filter(Column::Id.ne(except))
        .count(conn)
        .await?)
}

/// Creates an account.
pub async fn insert(conn: &impl ConnectionTrait, new: NewUser) -> Result<Model, StoreError> {
    let now = Utc::now();
    let model = ActiveModel {
        id: Set(Uuid::now_v7()),
        username: Set(new.username),
        display_name: Set(new.display_name),
        email: Set(new.email),
        role: Set(new.role),
        region: Set(new.region),
        team: Set(new.team),
        active: Set(true),
        password_hash: Set(new.password_hash),
        token_version: Set(0),
        last_login_at: Set(None),
        password_changed_at: Set(now),
        created_at: Set(now),
        updated_at: Set(now),
        version: Set(1),
    };
    Ok(model.insert(conn).await?)
}

/// The account with this id.
pub async fn find(conn: &impl ConnectionTrait, id: Uuid) -> Result<Option<Model>, StoreError> {
    Ok(Entity::find_by_id(id).one(conn).await?)
}

/// The account with this (normalised) username.
pub async fn find_by_username(
    conn: &impl ConnectionTrait,
    username: &str,
) -> Result<Option<Model>, StoreError> {
    Ok(Entity::find()
        .filter(Column::Username.eq(username))
        .one(conn)
        .await?)
}

/// A page of accounts in creation order, after the account `after`.
pub async fn list(
    conn: &impl ConnectionTrait,
    filter: &UserFilter,
    after: Option<Uuid>,
    limit: u64,
) -> Result<Vec<Model>, StoreError> {
    let mut query = Entity::find();
    if let Some(role) = &filter.role {
        query = query.filter(Column::Role.eq(role.as_str()));
    }
    if let Some(active) = filter.active {
        query = query.filter(Column::Active.eq(active));
    }
    if let Some(since) = filter.not_logged_in_since {
        query = query.filter(
            Condition::any()
                .add(Column::LastLoginAt.is_null())
                .add(Column::LastLoginAt.lt(since)),
        );
    }
    if let Some(after) = after {
        query = query.filter(Column::Id.gt(after));
    }
    Ok(query
        .order_by_asc(Column::Id)
        .limit(limit)
        .all(conn)
        .await?)
}

/// Applies `changes` if the account is still at `expected_version` (when given). Returns
/// the updated account, or `None` when the version was stale.
pub async fn update(
    conn: &impl ConnectionTrait,
    current: &Model,
    expected_version: Option<i32>,
    changes: UserChanges,
) -> Result<Option<Model>, StoreError> {
    let now = Utc::now();
    let mut update = Entity::update_many()
        .col_expr(Column::Version, Expr::col(Column::Version).add(1))
        .col_expr(Column::UpdatedAt, Expr::value(now));
    if let Some(v) = changes.display_name {
        update = update.col_expr(Column::DisplayName, Expr::value(v));
    }
    if let Some(v) = changes.email {
        update = update.col_expr(Column::Email, Expr::value(v));
    }
    if let Some(v) = changes.role {
        update = update.col_expr(Column::Role, Expr::value(v));
    }
    if let Some(v) = changes.region {
        update = update.col_expr(Column::Region, Expr::value(v));
    }
    if let Some(v) = changes.team {
        update = update.col_expr(Column::Team, Expr::value(v));
    }
    if let Some(v) = changes.active {
        update = update.col_expr(Column::Active, Expr::value(v));
    }
    if let Some(v) = changes.password_hash {
        update = update
            .col_expr(Column::PasswordHash, Expr::value(v))
            .col_expr(Column::PasswordChangedAt, Expr::value(now));
    }
    if changes.revoke_tokens {
        update = update.col_expr(Column::TokenVersion, Expr::col(Column::TokenVersion).add(1));
    }
    let version = expected_version.unwrap_or(current.version);
    let result = update
        .filter(Column::Id.eq(current.id))
        .filter(Column::Version.eq(version))
        .exec(conn)
        .await?;
    if result.rows_affected == 0 {
        return Ok(None);
    }
    find(conn, current.id).await
}

/// Records a successful login.
pub async fn record_login(
    conn: &impl ConnectionTrait,
    id: Uuid,
    at: DateTime<Utc>,
) -> Result<(), StoreError> {
    Entity::update_many()
        .col_expr(Column::LastLoginAt, Expr::value(at))
        .filter(Column::Id.eq(id))
        .exec(conn)
        .await?;
    Ok(())
}

/// The active accounts among `ids`.
pub async fn active_among(
    conn: &impl ConnectionTrait,
    ids: &[Uuid],
) -> Result<Vec<Model>, StoreError> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    Ok(Entity::find()
        .filter(Column::Id.is_in(ids.iter().copied()))
        .filter(Column::Active.eq(true))
        .all(conn)
        .await?)
}
