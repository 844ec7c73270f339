//! Persistence of the CRM: connecting to SQLite or PostgreSQL with the settings each needs,
//! running the migrations, and (in later modules) the entities and queries. Every query
//! function takes `&impl ConnectionTrait` so that it composes inside a transaction.

pub mod accounts;
pub mod activities;
pub mod api_keys;
pub mod assignment_rules;
pub mod attachments;
pub mod audit;
pub mod bulk;
pub mod contacts;
pub mod contracts;
pub mod customers;
pub mod db;
pub mod error;
pub mod idempotency;
pub mod jobs;
pub mod leads;
pub mod login_throttle;
pub mod opportunities;
pub mod outbox;
pub mod refresh_tokens;
pub mod reminders;
pub mod surveys;
pub mod tags;
pub mod tier_policy;
pub mod users;
pub mod webhooks;
pub mod work_orders;

pub use db::{
    DEFAULT_SQLITE_MMAP_SIZE, Database, PoolStatus, Turn, WriteQueue, WriteTx, begin_queued,
    begin_write, connect, connect_with, migrate_down, migrate_up, pool_status,
};
pub use error::StoreError;
pub use sea_orm::{ConnectionTrait, DatabaseConnection, DatabaseTransaction, DbBackend};
