//! Connecting to the database. SQLite gets WAL, a busy timeout and enforced foreign keys;
//! write transactions on SQLite begin `IMMEDIATE` so that concurrent writers queue on the
//! busy timeout instead of failing with "database is locked".

use std::time::Duration;

use crm_migrations::{Migrator, MigratorTrait};
use sea_orm::sqlx::sqlite::{SqliteJournalMode, SqliteSynchronous};
use sea_orm::{
    ConnectOptions, DatabaseConnection, DatabaseTransaction, DbBackend, SqliteTransactionMode,
    TransactionOptions, TransactionTrait,
};

use crate::StoreError;

/// The handle the rest of the application shares: a pool over one database.
pub type Database = DatabaseConnection;

/// What the connection pool holds right now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PoolStatus {
    /// Connections open.
    pub open: u32,
    /// Open connections not lent out.
    pub idle: u32,
    /// The most connections the pool opens.
    pub max: u32,
}

/// The pool's connections: open, idle and at most.
pub fn pool_status(db: &Database) -> PoolStatus {
    let (open, idle, max) = match db.get_database_backend() {
        sea_orm::DbBackend::Postgres => {
            let pool = db.get_postgres_connection_pool();
            (
                pool.size(),
                pool.num_idle(),
                pool.options().get_max_connections(),
            )
        }
        _ => {
            let pool = db.get_sqlite_connection_pool();
            (
                pool.size(),
                pool.num_idle(),
                pool.options().get_max_connections(),
            )
        }
    };
    PoolStatus {
        open,
        idle: u32::try_from(idle).unwrap_or(u32::MAX).min(open),
        max,
    }
}

/// How long a SQLite writer waits for another writer before giving up.
const SQLITE_BUSY_TIMEOUT: Duration = Duration::from_secs(10);

/// Opens a pool for `url` (`sqlite://path?mode=rwc` or `postgres://…`).
pub async fn connect(url: &str, max_connections: u32) -> Result<Database, StoreError> {
    let mut options = ConnectOptions::new(url.to_owned());
    options
        .max_connections(max_connections)
        .min_connections(1)
        .connect_timeout(Duration::from_secs(10))
        .acquire_timeout(Duration::from_secs(10))
        .sqlx_logging(false)
        .map_sqlx_sqlite_opts(|opts| {
            opts.journal_mode(SqliteJournalMode::Wal)
                .synchronous(SqliteSynchronous::Normal)
                .busy_timeout(SQLITE_BUSY_TIMEOUT)
                .foreign_keys(true)
                .create_if_missing(true)
                // Reads from memory rather than through read() calls, and a page cache big
                // enough for a working set of hundreds of thousands of customers.
                .pragma("mmap_size", "268435456")
                .pragma("cache_size", "-32768")
                .pragma("temp_store", "memory")
        });
    Ok(sea_orm::Database::connect(options).await?)
}

/// Begins a transaction that will write. On SQLite it takes the write lock at once, which
/// keeps two read-then-write transactions from deadlocking each other.
pub async fn begin_write(db: &Database) -> Result<DatabaseTransaction, StoreError> {
    let options = match db.get_database_backend() {
        DbBackend::Sqlite => TransactionOptions {
            sqlite_transaction_mode: Some(SqliteTransactionMode::Immediate),
            ..TransactionOptions::default()
        },
        _ => TransactionOptions::default(),
    };
    Ok(db.begin_with_options(options).await?)
}

/// Applies every pending migration.
pub async fn migrate_up(db: &Database) -> Result<(), StoreError> {
    Ok(Migrator::up(db, None).await?)
}

/// Rolls back every applied migration (used by the migration test and `crm migrate down`).
pub async fn migrate_down(db: &Database, steps: Option<u32>) -> Result<(), StoreError> {
    Ok(Migrator::down(db, steps).await?)
}
