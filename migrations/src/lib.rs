//! Schema migrations, one module per migration, the same for SQLite and PostgreSQL. Each is
//! reversible; the integration suite runs them up, down and up again on both databases.

pub use sea_orm_migration::prelude::*;

mod helpers;

mod m20261122_000001_identity;
mod m20261122_000002_customers;
mod m20261122_000003_idempotency;
mod m20261123_000004_jobs;
mod m20261123_000005_audit_outbox;
mod m20261123_000006_leads_deals;
mod m20261130_000007_work_orders;
mod m20261130_000008_activities;
mod m20261130_000009_contracts;
mod m20261130_000010_reminders;
mod m20261130_000011_retention;
mod m20261201_000012_webhooks;
mod m20261202_000013_account_changes;
mod m20261202_000014_customer_region_order;
mod m20261203_000015_work_order_load_times;
mod m20261204_000016_deal_forecast_days;
mod m20261205_000017_customer_follow_up_order;
mod m20261206_000018_sparse_indexes;
mod m20261207_000019_customer_segment_order;

/// The ordered list of migrations.
pub struct Migrator;

#[sea_orm_migration::async_trait::async_trait]
impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![
            Box::new(m20261122_000001_identity::Migration),
            Box::new(m20261122_000002_customers::Migration),
            Box::new(m20261122_000003_idempotency::Migration),
            Box::new(m20261123_000004_jobs::Migration),
            Box::new(m20261123_000005_audit_outbox::Migration),
            Box::new(m20261123_000006_leads_deals::Migration),
            Box::new(m20261130_000007_work_orders::Migration),
            Box::new(m20261130_000008_activities::Migration),
            Box::new(m20261130_000009_contracts::Migration),
            Box::new(m20261130_000010_reminders::Migration),
            Box::new(m20261130_000011_retention::Migration),
            Box::new(m20261201_000012_webhooks::Migration),
            Box::new(m20261202_000013_account_changes::Migration),
            Box::new(m20261202_000014_customer_region_order::Migration),
            Box::new(m20261203_000015_work_order_load_times::Migration),
            Box::new(m20261204_000016_deal_forecast_days::Migration),
            Box::new(m20261205_000017_customer_follow_up_order::Migration),
            Box::new(m20261206_000018_sparse_indexes::Migration),
            Box::new(m20261207_000019_customer_segment_order::Migration),
        ]
    }
}
