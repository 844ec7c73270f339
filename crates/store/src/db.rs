//! Connecting to the database. SQLite gets WAL, a busy timeout and enforced foreign keys;
//! write transactions on SQLite begin `IMMEDIATE` so that concurrent writers queue on the
//! busy timeout instead of failing with "database is locked", and the writers of one process
//! queue first in a [`WriteQueue`], in the order they came.

use std::sync::Arc;
use std::time::Duration;

use crm_migrations::{Migrator, MigratorTrait};
use sea_orm::entity::prelude::async_trait;
use sea_orm::sqlx::sqlite::{SqliteJournalMode, SqliteSynchronous};
use sea_orm::{
    ConnectOptions, ConnectionTrait, DatabaseConnection, DatabaseTransaction, DbBackend, DbErr,
    ExecResult, QueryResult, SqliteTransactionMode, Statement, TransactionOptions,
    TransactionTrait,
};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

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

/// How long a SQLite connection stays open unused.
const SQLITE_IDLE_TIMEOUT: Duration = Duration::from_secs(30);

/// How long a SQLite connection stays open at most: it is closed when next given back after
/// that (a new one opens when one is needed).
const SQLITE_MAX_LIFETIME: Duration = Duration::from_secs(60);

/// How much of a SQLite database file each connection reads through memory mapping, in
/// bytes, unless told otherwise.
pub const DEFAULT_SQLITE_MMAP_SIZE: u64 = 256 << 20;

/// Opens a pool for `url` (`sqlite://path?mode=rwc` or `postgres://…`) with the default
/// SQLite map size.
pub async fn connect(url: &str, max_connections: u32) -> Result<Database, StoreError> {
    connect_with(url, max_connections, DEFAULT_SQLITE_MMAP_SIZE).await
}

/// Opens a pool for `url`; on SQLite each connection maps up to `sqlite_mmap_size` bytes of
/// the database file (0: none, every page is read with `pread`).
pub async fn connect_with(
    url: &str,
    max_connections: u32,
    sqlite_mmap_size: u64,
) -> Result<Database, StoreError> {
    let mut options = ConnectOptions::new(url.to_owned());
    if url.starts_with("sqlite:") {
        // Each SQLite connection keeps a page cache and a memory map of its own, which a quiet
        // server should give back (a new connection costs well under a millisecond). Idleness
        // alone does not do it: the pool lends its idle connections in turn, oldest first, so
        // the periodic light work (the account-change poll every 100 ms, the job worker's
        // tick) keeps every connection in use and none stays idle for the timeout. Closing
        // connections by age too bounds what a burst (the reminder generator's read of every
        // customer due a follow-up, an import) leaves held to a minute.
        options
            .idle_timeout(SQLITE_IDLE_TIMEOUT)
            .max_lifetime(SQLITE_MAX_LIFETIME);
    }
    options
        .max_connections(max_connections)
        .min_connections(1)
        .connect_timeout(Duration::from_secs(10))
        .acquire_timeout(Duration::from_secs(10))
        .sqlx_logging(false)
        .map_sqlx_sqlite_opts(move |opts| {
            opts.journal_mode(SqliteJournalMode::Wal)
                .synchronous(SqliteSynchronous::Normal)
                .busy_timeout(SQLITE_BUSY_TIMEOUT)
                .foreign_keys(true)
                .create_if_missing(true)
                // Reads from memory rather than through read() calls (the mapped pages are the
                // operating system's file cache, shared by every connection), and a small page
                // cache of each connection's own.
                .pragma("mmap_size", sqlite_mmap_size.to_string())
                .pragma("cache_size", "-4096")
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

/// The turn of one process's writers on SQLite, one at a time and first come first served.
/// SQLite lets one writer in at a time and makes the others retry on a timer, which under
/// load lets a late writer in before one that has waited long; queueing in the process
/// first keeps every writer's wait as short as the queue ahead of it. PostgreSQL needs no
/// queue.
#[derive(Clone)]
pub struct WriteQueue(Option<Arc<Semaphore>>);

impl WriteQueue {
    /// The queue for writers to `db`.
    pub fn for_database(db: &Database) -> Self {
        match db.get_database_backend() {
            DbBackend::Sqlite => Self(Some(Arc::new(Semaphore::new(1)))),
            _ => Self(None),
        }
    }
}

/// A write transaction that holds its turn in the [`WriteQueue`] until it ends.
pub struct WriteTx {
    tx: DatabaseTransaction,
    _turn: Option<OwnedSemaphorePermit>,
}

impl WriteTx {
    /// Commits, and gives the turn to the next writer.
    pub async fn commit(self) -> Result<(), DbErr> {
        self.tx.commit().await
    }

    /// Rolls back, and gives the turn to the next writer.
    pub async fn rollback(self) -> Result<(), DbErr> {
        self.tx.rollback().await
    }
}

#[async_trait::async_trait]
impl ConnectionTrait for WriteTx {
    fn get_database_backend(&self) -> DbBackend {
        self.tx.get_database_backend()
    }

    async fn execute_raw(&self, stmt: Statement) -> Result<ExecResult, DbErr> {
        self.tx.execute_raw(stmt).await
    }

    async fn execute_unprepared(&self, sql: &str) -> Result<ExecResult, DbErr> {
        self.tx.execute_unprepared(sql).await
    }

    async fn query_one_raw(&self, stmt: Statement) -> Result<Option<QueryResult>, DbErr> {
        self.tx.query_one_raw(stmt).await
    }

    async fn query_all_raw(&self, stmt: Statement) -> Result<Vec<QueryResult>, DbErr> {
        self.tx.query_all_raw(stmt).await
    }
}

/// Waits for this process's turn to write (on SQLite), then begins a write transaction. A
/// writer that waits longer than SQLite's busy timeout gets the same answer as one that waited
/// that long for SQLite: the database is unavailable for now.
pub async fn begin_queued(db: &Database, queue: &WriteQueue) -> Result<WriteTx, StoreError> {
    let Turn(turn) = queue.turn().await?;
    Ok(WriteTx {
        tx: begin_write(db).await?,
        _turn: turn,
    })
}

/// A writer's turn in the [`WriteQueue`], held until dropped.
#[must_use = "the turn ends when it is dropped"]
pub struct Turn(Option<OwnedSemaphorePermit>);

impl WriteQueue {
    /// Waits for this process's turn to write (on SQLite; at once elsewhere) and holds it
    /// until the turn is dropped: for a write that is one statement, or that begins its own
    /// transaction, outside the use cases' [`begin_queued`] (the job queue's bookkeeping).
    /// Without it such a write waits in SQLite's busy handler, which can miss every gap
    /// between the queued writers' transactions until its timeout.
    pub async fn turn(&self) -> Result<Turn, StoreError> {
        let Some(queue) = &self.0 else {
            return Ok(Turn(None));
        };
        let waited = tokio::time::timeout(SQLITE_BUSY_TIMEOUT, queue.clone().acquire_owned());
        match waited.await {
            Ok(Ok(turn)) => Ok(Turn(Some(turn))),
            _ => Err(StoreError::Unavailable(DbErr::Custom(
                "timed out waiting for the turn to write".to_owned(),
            ))),
        }
    }
}

/// Applies every pending migration.
pub async fn migrate_up(db: &Database) -> Result<(), StoreError> {
    Ok(Migrator::up(db, None).await?)
}

/// Rolls back every applied migration (used by the migration test and `crm migrate down`).
pub async fn migrate_down(db: &Database, steps: Option<u32>) -> Result<(), StoreError> {
    Ok(Migrator::down(db, steps).await?)
}
