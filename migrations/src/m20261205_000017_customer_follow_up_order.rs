//! The reminder generator's order for follow-ups: customers of a tier by the time they were
//! last contacted (or created), live ones only. Each batch of customers due a follow-up then
//! reads its own stretch of this index, instead of every customer of the tier sorted anew
//! for each batch.

use crate::helpers::execute_all;
use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        execute_all(
            manager,
            &["CREATE INDEX idx_customers_follow_up ON customers \
               (tier, COALESCE(last_activity_at, created_at), id) WHERE archived_at IS NULL"],
        )
        .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        execute_all(manager, &["DROP INDEX idx_customers_follow_up"]).await
    }
}
