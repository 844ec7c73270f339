//! Schema migrations, one module per migration, the same for SQLite and PostgreSQL. Each is
//! reversible; the integration suite runs them up, down and up again on both databases.

pub use sea_orm_migration::prelude::*;

/// The ordered list of migrations.
pub struct Migrator;

#[sea_orm_migration::async_trait::async_trait]
impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![]
    }
}
