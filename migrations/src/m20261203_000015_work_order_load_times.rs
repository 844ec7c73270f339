//! When each agent was last given an order, and each manager last escalated to, from an
//! index: choosing who gets a new order reads one index entry per person instead of every
//! order they were ever given, which grew with the service desk's history.

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
                "CREATE INDEX idx_work_orders_assignee_given ON work_orders (assignee_id, assigned_at)",
                "CREATE INDEX idx_work_orders_escalated_given ON work_orders (escalated_to, escalated_at)",
            ],
        )
        .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        execute_all(
            manager,
            &[
                "DROP INDEX idx_work_orders_assignee_given",
                "DROP INDEX idx_work_orders_escalated_given",
            ],
        )
        .await
    }
}
