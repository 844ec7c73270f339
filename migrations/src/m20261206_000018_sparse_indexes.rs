//! Indexes on columns that most rows leave empty hold only the rows that fill them. A lead's
//! company code, referrer, duplicate links, creating account or API key, and conversion, and
//! the API key (or account) behind an audit entry or event, are NULL in most rows: every
//! lead inserted added its NULLs to up to eight indexes, and every audit entry and event to
//! one or two more, for nothing. Every lookup on these columns (`= value`, a foreign key's
//! cascade, `IS NOT NULL`) is answered by the partial index on both databases.

use crate::helpers::execute_all;
use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

/// Index, table, column.
const SPARSE: &[(&str, &str, &str)] = &[
    ("idx_leads_uscc", "leads", "uscc"),
    ("idx_leads_referred_by", "leads", "referred_by"),
    ("idx_leads_duplicate_of_lead", "leads", "duplicate_of_lead"),
    (
        "idx_leads_duplicate_of_customer",
        "leads",
        "duplicate_of_customer",
    ),
    ("idx_leads_created_by_user", "leads", "created_by_user"),
    ("idx_leads_created_by_key", "leads", "created_by_key"),
    ("idx_leads_customer_id", "leads", "customer_id"),
    ("idx_leads_opportunity_id", "leads", "opportunity_id"),
    ("idx_audit_log_actor_user_id", "audit_log", "actor_user_id"),
    (
        "idx_audit_log_actor_api_key_id",
        "audit_log",
        "actor_api_key_id",
    ),
    ("idx_outbox_actor_user_id", "outbox", "actor_user_id"),
    ("idx_outbox_actor_api_key_id", "outbox", "actor_api_key_id"),
];

/// The partial index made (named `<index>_present`) and the full one dropped, or back.
fn rebuild(partial: bool) -> Vec<String> {
    SPARSE
        .iter()
        .flat_map(|(index, table, column)| {
            if partial {
                [
                    format!(
                        "CREATE INDEX {index}_present ON {table} ({column}) \
                         WHERE {column} IS NOT NULL"
                    ),
                    format!("DROP INDEX {index}"),
                ]
            } else {
                [
                    format!("CREATE INDEX {index} ON {table} ({column})"),
                    format!("DROP INDEX {index}_present"),
                ]
            }
        })
        .collect()
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let statements = rebuild(true);
        let statements: Vec<&str> = statements.iter().map(String::as_str).collect();
        execute_all(manager, &statements).await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let statements = rebuild(false);
        let statements: Vec<&str> = statements.iter().map(String::as_str).collect();
        execute_all(manager, &statements).await
    }
}
