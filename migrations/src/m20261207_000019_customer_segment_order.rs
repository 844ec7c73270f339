//! The segment list's order: customers of a tier in a region (a province's key accounts, say),
//! newest change first, like the tier, region and owner indexes. A list filtered by both
//! walked one of the two single-column orders and read every customer of the other filter's
//! values on the way: at a million customers, thousands of rows for a page of fifty.

use crate::helpers::execute_all;
use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        execute_all(
            manager,
            &["CREATE INDEX idx_customers_tier_region ON customers (tier, region, updated_at, id)"],
        )
        .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        execute_all(manager, &["DROP INDEX idx_customers_tier_region"]).await
    }
}
