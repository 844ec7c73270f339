//! Account changes made visible to every server copy: a counter row that the database bumps
//! whenever an account's active flag, role or token version changes or an account is deleted
//! and, on PostgreSQL, a notification on the `crm_account_changes` channel carrying the
//! account's id. The copies cache the accounts they authenticate and drop an entry the moment
//! either tells them it changed (docs/OPERATIONS.md, "Accounts and secrets").

use crate::helpers::execute_all;
use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::DbBackend;

#[derive(DeriveMigrationName)]
pub struct Migration;

const SQLITE_UP: &[&str] = &[
    "CREATE TABLE account_changes (id integer NOT NULL PRIMARY KEY CHECK (id = 1), seq bigint NOT NULL)",
    "INSERT INTO account_changes (id, seq) VALUES (1, 0)",
    "CREATE TRIGGER users_account_changed AFTER UPDATE OF active, role, token_version ON users \
     WHEN OLD.active IS NOT NEW.active OR OLD.role IS NOT NEW.role \
       OR OLD.token_version IS NOT NEW.token_version \
     BEGIN UPDATE account_changes SET seq = seq + 1 WHERE id = 1; END",
    "CREATE TRIGGER users_account_deleted AFTER DELETE ON users \
     BEGIN UPDATE account_changes SET seq = seq + 1 WHERE id = 1; END",
];

const SQLITE_DOWN: &[&str] = &[
    "DROP TRIGGER users_account_deleted",
    "DROP TRIGGER users_account_changed",
    "DROP TABLE account_changes",
];

const POSTGRES_UP: &[&str] = &[
    "CREATE TABLE account_changes (id integer NOT NULL PRIMARY KEY CHECK (id = 1), seq bigint NOT NULL)",
    "INSERT INTO account_changes (id, seq) VALUES (1, 0)",
    "CREATE FUNCTION crm_account_changed() RETURNS trigger LANGUAGE plpgsql AS $$ \
     BEGIN \
       UPDATE account_changes SET seq = seq + 1 WHERE id = 1; \
       PERFORM pg_notify('crm_account_changes', OLD.id::text); \
       RETURN NULL; \
     END $$",
    "CREATE TRIGGER users_account_changed AFTER UPDATE OF active, role, token_version ON users \
     FOR EACH ROW WHEN (OLD.active IS DISTINCT FROM NEW.active \
       OR OLD.role IS DISTINCT FROM NEW.role \
       OR OLD.token_version IS DISTINCT FROM NEW.token_version) \
     EXECUTE FUNCTION crm_account_changed()",
    "CREATE TRIGGER users_account_deleted AFTER DELETE ON users \
     FOR EACH ROW EXECUTE FUNCTION crm_account_changed()",
];

const POSTGRES_DOWN: &[&str] = &[
    "DROP TRIGGER users_account_deleted ON users",
    "DROP TRIGGER users_account_changed ON users",
    "DROP FUNCTION crm_account_changed()",
    "DROP TABLE account_changes",
];

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        match manager.get_database_backend() {
            DbBackend::Postgres => execute_all(manager, POSTGRES_UP).await,
            _ => execute_all(manager, SQLITE_UP).await,
        }
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        match manager.get_database_backend() {
            DbBackend::Postgres => execute_all(manager, POSTGRES_DOWN).await,
            _ => execute_all(manager, SQLITE_DOWN).await,
        }
    }
}
