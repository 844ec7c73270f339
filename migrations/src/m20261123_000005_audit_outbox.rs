//! One audit log for every kind of record (replacing the customers' own change log, whose
//! entries move into it), and the transactional outbox of events.

use crate::helpers::{fk, index};
use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Users {
    Table,
    Id,
}

#[derive(DeriveIden)]
enum ApiKeys {
    Table,
    Id,
}

#[derive(DeriveIden)]
enum Customers {
    Table,
    Id,
}

#[derive(DeriveIden)]
enum AuditLog {
    Table,
    Id,
    EntityType,
    EntityId,
    Action,
    ActorUserId,
    ActorApiKeyId,
    RequestId,
    At,
    Changes,
}

#[derive(DeriveIden)]
enum CustomerHistory {
    Table,
    Id,
    CustomerId,
    ActorId,
    At,
    Action,
    Changes,
}

#[derive(DeriveIden)]
enum Outbox {
    Table,
    Seq,
    Id,
    EventType,
    EntityType,
    EntityId,
    Payload,
    ActorUserId,
    ActorApiKeyId,
    RequestId,
    OccurredAt,
}

/// `customer_history` exactly as the customers migration made it.
async fn create_customer_history(manager: &SchemaManager<'_>) -> Result<(), DbErr> {
    manager
        .create_table(
            Table::create()
                .table(CustomerHistory::Table)
                .col(uuid(CustomerHistory::Id).primary_key())
                .col(uuid(CustomerHistory::CustomerId))
                .col(uuid_null(CustomerHistory::ActorId))
                .col(timestamp_with_time_zone(CustomerHistory::At))
                .col(string_len(CustomerHistory::Action, 32))
                .col(json(CustomerHistory::Changes))
                .foreign_key(&mut fk(
                    "fk_customer_history_customer",
                    (CustomerHistory::Table, CustomerHistory::CustomerId),
                    (Customers::Table, Customers::Id),
                    ForeignKeyAction::Cascade,
                ))
                .foreign_key(&mut fk(
                    "fk_customer_history_actor",
                    (CustomerHistory::Table, CustomerHistory::ActorId),
                    (Users::Table, Users::Id),
                    ForeignKeyAction::SetNull,
                ))
                .to_owned(),
        )
        .await?;
    index(
        manager,
        "idx_customer_history_customer_id",
        CustomerHistory::Table,
        vec![
            CustomerHistory::CustomerId.into_iden(),
            CustomerHistory::Id.into_iden(),
        ],
    )
    .await?;
    index(
        manager,
        "idx_customer_history_actor_id",
        CustomerHistory::Table,
        vec![CustomerHistory::ActorId.into_iden()],
    )
    .await
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(AuditLog::Table)
                    .col(uuid(AuditLog::Id).primary_key())
                    .col(string_len(AuditLog::EntityType, 32))
                    .col(uuid(AuditLog::EntityId))
                    .col(string_len(AuditLog::Action, 32))
                    .col(uuid_null(AuditLog::ActorUserId))
                    .col(uuid_null(AuditLog::ActorApiKeyId))
                    .col(string_len_null(AuditLog::RequestId, 128))
                    .col(timestamp_with_time_zone(AuditLog::At))
                    .col(json(AuditLog::Changes))
                    .foreign_key(&mut fk(
                        "fk_audit_log_actor_user",
                        (AuditLog::Table, AuditLog::ActorUserId),
                        (Users::Table, Users::Id),
                        ForeignKeyAction::SetNull,
                    ))
                    .foreign_key(&mut fk(
                        "fk_audit_log_actor_api_key",
                        (AuditLog::Table, AuditLog::ActorApiKeyId),
                        (ApiKeys::Table, ApiKeys::Id),
                        ForeignKeyAction::SetNull,
                    ))
                    .to_owned(),
            )
            .await?;
        index(
            manager,
            "idx_audit_log_entity",
            AuditLog::Table,
            vec![
                AuditLog::EntityType.into_iden(),
                AuditLog::EntityId.into_iden(),
                AuditLog::Id.into_iden(),
            ],
        )
        .await?;
        index(
            manager,
            "idx_audit_log_actor_user_id",
            AuditLog::Table,
            vec![AuditLog::ActorUserId.into_iden()],
        )
        .await?;
        index(
            manager,
            "idx_audit_log_actor_api_key_id",
            AuditLog::Table,
            vec![AuditLog::ActorApiKeyId.into_iden()],
        )
        .await?;
        // The customers' change log moves in, entry for entry.
        manager
            .get_connection()
            .execute_unprepared(
                "INSERT INTO audit_log (id, entity_type, entity_id, action, actor_user_id, \
                 actor_api_key_id, request_id, at, changes) \
                 SELECT id, 'customer', customer_id, action, actor_id, NULL, NULL, at, changes \
                 FROM customer_history",
            )
            .await?;
        manager
            .drop_table(Table::drop().table(CustomerHistory::Table).to_owned())
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(Outbox::Table)
                    .col(big_pk_auto(Outbox::Seq))
                    .col(uuid_uniq(Outbox::Id))
                    .col(string_len(Outbox::EventType, 64))
                    .col(string_len(Outbox::EntityType, 32))
                    .col(uuid(Outbox::EntityId))
                    .col(json(Outbox::Payload))
                    .col(uuid_null(Outbox::ActorUserId))
                    .col(uuid_null(Outbox::ActorApiKeyId))
                    .col(string_len_null(Outbox::RequestId, 128))
                    .col(timestamp_with_time_zone(Outbox::OccurredAt))
                    .foreign_key(&mut fk(
                        "fk_outbox_actor_user",
                        (Outbox::Table, Outbox::ActorUserId),
                        (Users::Table, Users::Id),
                        ForeignKeyAction::SetNull,
                    ))
                    .foreign_key(&mut fk(
                        "fk_outbox_actor_api_key",
                        (Outbox::Table, Outbox::ActorApiKeyId),
                        (ApiKeys::Table, ApiKeys::Id),
                        ForeignKeyAction::SetNull,
                    ))
                    .to_owned(),
            )
            .await?;
        index(
            manager,
            "idx_outbox_actor_user_id",
            Outbox::Table,
            vec![Outbox::ActorUserId.into_iden()],
        )
        .await?;
        index(
            manager,
            "idx_outbox_actor_api_key_id",
            Outbox::Table,
            vec![Outbox::ActorApiKeyId.into_iden()],
        )
        .await?;
        index(
            manager,
            "idx_outbox_entity",
            Outbox::Table,
            vec![Outbox::EntityType.into_iden(), Outbox::EntityId.into_iden()],
        )
        .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(Outbox::Table).to_owned())
            .await?;
        create_customer_history(manager).await?;
        // Customer entries go back (those of customers that still exist); other entities'
        // entries had no home before this migration.
        manager
            .get_connection()
            .execute_unprepared(
                "INSERT INTO customer_history (id, customer_id, actor_id, at, action, changes) \
                 SELECT a.id, a.entity_id, a.actor_user_id, a.at, a.action, a.changes \
                 FROM audit_log a JOIN customers c ON c.id = a.entity_id \
                 WHERE a.entity_type = 'customer'",
            )
            .await?;
        manager
            .drop_table(Table::drop().table(AuditLog::Table).to_owned())
            .await
    }
}
