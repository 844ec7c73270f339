//! Failed-login counts per username, whether or not the account exists, so that throttling
//! itself does not reveal which usernames are real.

use chrono::{DateTime, Utc};
use sea_orm::ActiveValue::Set;
use sea_orm::entity::prelude::*;
use sea_orm::sea_query::OnConflict;

use crate::StoreError;

/// A row of `login_throttle`.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "login_throttle")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub username: String,
    pub failures: i32,
    pub last_failure_at: DateTime<Utc>,
    pub locked_until: Option<DateTime<Utc>>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}

/// The throttle state of a username.
pub async fn get(conn: &impl ConnectionTrait, username: &str) -> Result<Option<Model>, StoreError> {
    Ok(Entity::find_by_id(username.to_owned()).one(conn).await?)
}

/// Stores the state after a failure.
pub async fn save(conn: &impl ConnectionTrait, state: Model) -> Result<(), StoreError> {
    let model = ActiveModel {
        username: Set(state.username),
        failures: Set(state.failures),
        last_failure_at: Set(state.last_failure_at),
        locked_until: Set(state.locked_until),
    };
    Entity::insert(model)
        .on_conflict(
            OnConflict::column(Column::Username)
                .update_columns([Column::Failures, Column::LastFailureAt, Column::LockedUntil])
                .to_owned(),
        )
        .exec(conn)
        .await?;
    Ok(())
}

/// Forgets the failures of a username (after a successful login or an admin reset).
pub async fn clear(conn: &impl ConnectionTrait, username: &str) -> Result<(), StoreError> {
    Entity::delete_by_id(username.to_owned()).exec(conn).await?;
    Ok(())
}
