//! The region index carries the list's default order, as the tier and owner indexes do: a
//! list filtered by region walks it newest first and stops at the page's end, whatever the
//! number of customers, instead of reading every customer of the region and sorting them.

use crate::helpers::execute_all;
use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        execute_all(
            manager,
            &[
                "CREATE INDEX idx_customers_region_updated ON customers (region, updated_at, id)",
                "DROP INDEX idx_customers_region",
            ],
        )
        .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        execute_all(
            manager,
            &[
                "CREATE INDEX idx_customers_region ON customers (region)",
                "DROP INDEX idx_customers_region_updated",
            ],
        )
        .await
    }
}
