//! Webhooks: subscriptions (a target URL, the event types it wants, its signing secret and
//! how far into the outbox its deliveries have been queued), one delivery per subscription
//! and event (unique, so that several server copies queue each once), and every attempt.

use crate::helpers::{fk, index, index_with};
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
enum WebhookSubscriptions {
    Table,
    Id,
    Url,
    Description,
    Events,
    Secret,
    Active,
    DisabledReason,
    DisabledAt,
    ConsecutiveFailures,
    Cursor,
    CreatedBy,
    CreatedAt,
    UpdatedAt,
    Version,
}

#[derive(DeriveIden)]
enum WebhookDeliveries {
    Table,
    Id,
    SubscriptionId,
    EventId,
    EventSeq,
    EventType,
    Status,
    Attempts,
    NextAttemptAt,
    Manual,
    LockedBy,
    LockedUntil,
    LastStatusCode,
    LastError,
    CreatedAt,
    UpdatedAt,
    CompletedAt,
}

#[derive(DeriveIden)]
enum WebhookAttempts {
    Table,
    Id,
    DeliveryId,
    SubscriptionId,
    AttemptedAt,
    DurationMs,
    StatusCode,
    Error,
    Manual,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(WebhookSubscriptions::Table)
                    .col(uuid(WebhookSubscriptions::Id).primary_key())
                    .col(text(WebhookSubscriptions::Url))
                    .col(text_null(WebhookSubscriptions::Description))
                    .col(text(WebhookSubscriptions::Events))
                    .col(text(WebhookSubscriptions::Secret))
                    .col(boolean(WebhookSubscriptions::Active))
                    .col(string_len_null(WebhookSubscriptions::DisabledReason, 32))
                    .col(timestamp_with_time_zone_null(
                        WebhookSubscriptions::DisabledAt,
                    ))
                    .col(integer(WebhookSubscriptions::ConsecutiveFailures))
                    .col(big_integer(WebhookSubscriptions::Cursor))
                    .col(uuid_null(WebhookSubscriptions::CreatedBy))
                    .col(timestamp_with_time_zone(WebhookSubscriptions::CreatedAt))
                    .col(timestamp_with_time_zone(WebhookSubscriptions::UpdatedAt))
                    .col(integer(WebhookSubscriptions::Version))
                    .foreign_key(&mut fk(
                        "fk_webhook_subscriptions_created_by",
                        (WebhookSubscriptions::Table, WebhookSubscriptions::CreatedBy),
                        (Users::Table, Users::Id),
                        ForeignKeyAction::SetNull,
                    ))
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(WebhookDeliveries::Table)
                    .col(uuid(WebhookDeliveries::Id).primary_key())
                    .col(uuid(WebhookDeliveries::SubscriptionId))
                    .col(uuid(WebhookDeliveries::EventId))
                    .col(big_integer(WebhookDeliveries::EventSeq))
                    .col(string_len(WebhookDeliveries::EventType, 64))
                    .col(string_len(WebhookDeliveries::Status, 16))
                    .col(integer(WebhookDeliveries::Attempts))
                    .col(timestamp_with_time_zone(WebhookDeliveries::NextAttemptAt))
                    .col(boolean(WebhookDeliveries::Manual))
                    .col(string_len_null(WebhookDeliveries::LockedBy, 100))
                    .col(timestamp_with_time_zone_null(
                        WebhookDeliveries::LockedUntil,
                    ))
                    .col(integer_null(WebhookDeliveries::LastStatusCode))
                    .col(text_null(WebhookDeliveries::LastError))
                    .col(timestamp_with_time_zone(WebhookDeliveries::CreatedAt))
                    .col(timestamp_with_time_zone(WebhookDeliveries::UpdatedAt))
                    .col(timestamp_with_time_zone_null(
                        WebhookDeliveries::CompletedAt,
                    ))
                    .foreign_key(&mut fk(
                        "fk_webhook_deliveries_subscription",
                        (WebhookDeliveries::Table, WebhookDeliveries::SubscriptionId),
                        (WebhookSubscriptions::Table, WebhookSubscriptions::Id),
                        ForeignKeyAction::Cascade,
                    ))
                    .to_owned(),
            )
            .await?;
        index_with(
            manager,
            "idx_webhook_deliveries_subscription_event",
            WebhookDeliveries::Table,
            vec![
                WebhookDeliveries::SubscriptionId.into_iden(),
                WebhookDeliveries::EventId.into_iden(),
            ],
            true,
        )
        .await?;
        index(
            manager,
            "idx_webhook_deliveries_due",
            WebhookDeliveries::Table,
            vec![
                WebhookDeliveries::Status.into_iden(),
                WebhookDeliveries::NextAttemptAt.into_iden(),
            ],
        )
        .await?;
        index(
            manager,
            "idx_webhook_deliveries_subscription_id",
            WebhookDeliveries::Table,
            vec![
                WebhookDeliveries::SubscriptionId.into_iden(),
                WebhookDeliveries::Id.into_iden(),
            ],
        )
        .await?;
        manager
            .create_table(
                Table::create()
                    .table(WebhookAttempts::Table)
                    .col(uuid(WebhookAttempts::Id).primary_key())
                    .col(uuid(WebhookAttempts::DeliveryId))
                    .col(uuid(WebhookAttempts::SubscriptionId))
                    .col(timestamp_with_time_zone(WebhookAttempts::AttemptedAt))
                    .col(integer(WebhookAttempts::DurationMs))
                    .col(integer_null(WebhookAttempts::StatusCode))
                    .col(text_null(WebhookAttempts::Error))
                    .col(boolean(WebhookAttempts::Manual))
                    .foreign_key(&mut fk(
                        "fk_webhook_attempts_delivery",
                        (WebhookAttempts::Table, WebhookAttempts::DeliveryId),
                        (WebhookDeliveries::Table, WebhookDeliveries::Id),
                        ForeignKeyAction::Cascade,
                    ))
                    .foreign_key(&mut fk(
                        "fk_webhook_attempts_subscription",
                        (WebhookAttempts::Table, WebhookAttempts::SubscriptionId),
                        (WebhookSubscriptions::Table, WebhookSubscriptions::Id),
                        ForeignKeyAction::Cascade,
                    ))
                    .to_owned(),
            )
            .await?;
        index(
            manager,
            "idx_webhook_attempts_delivery",
            WebhookAttempts::Table,
            vec![
                WebhookAttempts::DeliveryId.into_iden(),
                WebhookAttempts::Id.into_iden(),
            ],
        )
        .await?;
        index(
            manager,
            "idx_webhook_attempts_subscription",
            WebhookAttempts::Table,
            vec![WebhookAttempts::SubscriptionId.into_iden()],
        )
        .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for table in [
            WebhookAttempts::Table.into_iden(),
            WebhookDeliveries::Table.into_iden(),
            WebhookSubscriptions::Table.into_iden(),
        ] {
            manager
                .drop_table(Table::drop().table(table).to_owned())
                .await?;
        }
        Ok(())
    }
}
