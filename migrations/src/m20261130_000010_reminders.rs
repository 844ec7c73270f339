//! The reminder inbox: one row per reminder, generated ones under a unique key so that each
//! is made once however many server copies generate them.

use crate::helpers::{fk, index_with};
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
enum Reminders {
    Table,
    Id,
    UserId,
    Kind,
    Title,
    Body,
    SubjectType,
    SubjectId,
    DueAt,
    Status,
    SnoozedUntil,
    DedupeKey,
    CreatedBy,
    CreatedAt,
    UpdatedAt,
    Version,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(Reminders::Table)
                    .col(uuid(Reminders::Id).primary_key())
                    .col(uuid(Reminders::UserId))
                    .col(string_len(Reminders::Kind, 16))
                    .col(string_len(Reminders::Title, 200))
                    .col(text_null(Reminders::Body))
                    .col(string_len_null(Reminders::SubjectType, 32))
                    .col(uuid_null(Reminders::SubjectId))
                    .col(timestamp_with_time_zone(Reminders::DueAt))
                    .col(string_len(Reminders::Status, 16))
                    .col(timestamp_with_time_zone_null(Reminders::SnoozedUntil))
                    .col(string_len_null(Reminders::DedupeKey, 200))
                    .col(uuid_null(Reminders::CreatedBy))
                    .col(timestamp_with_time_zone(Reminders::CreatedAt))
                    .col(timestamp_with_time_zone(Reminders::UpdatedAt))
                    .col(integer(Reminders::Version))
                    .foreign_key(&mut fk(
                        "fk_reminders_user",
                        (Reminders::Table, Reminders::UserId),
                        (Users::Table, Users::Id),
                        ForeignKeyAction::Cascade,
                    ))
                    .foreign_key(&mut fk(
                        "fk_reminders_created_by",
                        (Reminders::Table, Reminders::CreatedBy),
                        (Users::Table, Users::Id),
                        ForeignKeyAction::SetNull,
                    ))
                    .to_owned(),
            )
            .await?;
        for (name, cols, unique) in [
            (
                "idx_reminders_dedupe_key",
                vec![Reminders::DedupeKey.into_iden()],
                true,
            ),
            (
                "idx_reminders_inbox",
                vec![
                    Reminders::UserId.into_iden(),
                    Reminders::Status.into_iden(),
                    Reminders::DueAt.into_iden(),
                ],
                false,
            ),
            (
                "idx_reminders_subject",
                vec![Reminders::SubjectId.into_iden()],
                false,
            ),
        ] {
            index_with(manager, name, Reminders::Table, cols, unique).await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(Reminders::Table).to_owned())
            .await
    }
}
