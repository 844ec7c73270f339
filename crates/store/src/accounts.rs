//! What the authentication check reads about an account, and how a server copy learns that
//! accounts changed: the `account_changes` counter, which triggers bump whenever an account's
//! active flag, role or token version changes or an account is deleted, and on PostgreSQL the
//! `crm_account_changes` channel, on which the same triggers name the account.

use std::sync::Arc;

use sea_orm::sqlx::postgres::{PgListener, PgPoolOptions};
use sea_orm::{
    ConnectionTrait, DbErr, EntityTrait, FromQueryResult, QuerySelect, RuntimeErr, Statement,
};
use uuid::Uuid;

use crate::users::{Column, Entity};
use crate::{Database, StoreError};

/// The PostgreSQL channel on which account changes are announced.
pub const CHANNEL: &str = "crm_account_changes";

/// What decides whether a signed-in person's token still counts.
#[derive(Debug, Clone, PartialEq, Eq, FromQueryResult)]
pub struct AccountState {
    /// The role's name.
    pub role: String,
    /// Whether the account may sign in.
    pub active: bool,
    /// Bumped to revoke every token issued before.
    pub token_version: i32,
}

/// The state of the account with this id.
pub async fn state(
    conn: &impl ConnectionTrait,
    id: Uuid,
) -> Result<Option<AccountState>, StoreError> {
    Ok(Entity::find_by_id(id)
        .select_only()
        .column(Column::Role)
        .column(Column::Active)
        .column(Column::TokenVersion)
        .into_model::<AccountState>()
        .one(conn)
        .await?)
}

/// The account-change counter: it moves whenever an account changes in a way that matters to
/// authentication.
pub async fn change_seq(conn: &impl ConnectionTrait) -> Result<i64, StoreError> {
    let backend = conn.get_database_backend();
    let row = conn
        .query_one_raw(Statement::from_string(
            backend,
            "SELECT seq FROM account_changes WHERE id = 1",
        ))
        .await?
        .ok_or_else(|| StoreError::Database(DbErr::RecordNotFound("account_changes".into())))?;
    Ok(row.try_get::<i64>("", "seq")?)
}

/// The payload of a heartbeat on [`CHANNEL`].
const HEARTBEAT: &str = "heartbeat";

/// What a [`ChangeListener`] heard.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AccountChange {
    /// This account changed.
    Account(Uuid),
    /// A heartbeat: nothing changed, and the channel is heard.
    Heartbeat,
    /// Something changed, but the message did not say what: treat every account as changed.
    Unknown,
}

/// Sends a heartbeat through [`CHANNEL`] (PostgreSQL), which proves to every listening copy
/// that it still hears the channel.
pub async fn heartbeat(conn: &impl ConnectionTrait) -> Result<(), StoreError> {
    conn.execute_raw(Statement::from_sql_and_values(
        conn.get_database_backend(),
        "SELECT pg_notify($1, $2)",
        [CHANNEL.into(), HEARTBEAT.into()],
    ))
    .await?;
    Ok(())
}

/// A PostgreSQL connection of its own (outside the pool) listening on [`CHANNEL`].
pub struct ChangeListener(PgListener);

impl ChangeListener {
    /// Connects with the pool's settings and starts listening.
    pub async fn connect(db: &Database) -> Result<Self, StoreError> {
        let options = db.get_postgres_connection_pool().connect_options();
        let own = PgPoolOptions::new()
            .max_connections(1)
            .min_connections(0)
            .max_lifetime(None)
            .idle_timeout(None)
            .connect_with((*options).clone())
            .await
            .map_err(sqlx_error)?;
        let mut listener = PgListener::connect_with(&own).await.map_err(sqlx_error)?;
        listener.listen(CHANNEL).await.map_err(sqlx_error)?;
        Ok(Self(listener))
    }

    /// The next change; `None` when the connection was lost (changes may have been missed).
    pub async fn next(&mut self) -> Result<Option<AccountChange>, StoreError> {
        let received = self.0.try_recv().await.map_err(sqlx_error)?;
        Ok(received.map(|n| match Uuid::parse_str(n.payload()) {
            Ok(id) => AccountChange::Account(id),
            Err(_) if n.payload() == HEARTBEAT => AccountChange::Heartbeat,
            Err(_) => AccountChange::Unknown,
        }))
    }
}

fn sqlx_error(e: sea_orm::sqlx::Error) -> StoreError {
    StoreError::Unavailable(DbErr::Conn(RuntimeErr::SqlxError(Arc::new(e))))
}
