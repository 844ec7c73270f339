//! Communication records (沟通档案) and, on customers, when they were last contacted.

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
enum Customers {
    Table,
    Id,
    LastActivityAt,
}

#[derive(DeriveIden)]
enum Contacts {
    Table,
    Id,
}

#[derive(DeriveIden)]
enum Opportunities {
    Table,
    Id,
}

#[derive(DeriveIden)]
enum Activities {
    Table,
    Id,
    CustomerId,
    ContactId,
    OpportunityId,
    Kind,
    OccurredAt,
    Summary,
    Feedback,
    NeedsChange,
    NextFollowUp,
    CreatedBy,
    CreatedAt,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(Activities::Table)
                    .col(uuid(Activities::Id).primary_key())
                    .col(uuid(Activities::CustomerId))
                    .col(uuid_null(Activities::ContactId))
                    .col(uuid_null(Activities::OpportunityId))
                    .col(string_len(Activities::Kind, 16))
                    .col(timestamp_with_time_zone(Activities::OccurredAt))
                    .col(text(Activities::Summary))
                    .col(text_null(Activities::Feedback))
                    .col(text_null(Activities::NeedsChange))
                    .col(date_null(Activities::NextFollowUp))
                    .col(uuid_null(Activities::CreatedBy))
                    .col(timestamp_with_time_zone(Activities::CreatedAt))
                    .foreign_key(&mut fk(
                        "fk_activities_customer",
                        (Activities::Table, Activities::CustomerId),
                        (Customers::Table, Customers::Id),
                        ForeignKeyAction::Restrict,
                    ))
                    .foreign_key(&mut fk(
                        "fk_activities_contact",
                        (Activities::Table, Activities::ContactId),
                        (Contacts::Table, Contacts::Id),
                        ForeignKeyAction::SetNull,
                    ))
                    .foreign_key(&mut fk(
                        "fk_activities_opportunity",
                        (Activities::Table, Activities::OpportunityId),
                        (Opportunities::Table, Opportunities::Id),
                        ForeignKeyAction::SetNull,
                    ))
                    .foreign_key(&mut fk(
                        "fk_activities_created_by",
                        (Activities::Table, Activities::CreatedBy),
                        (Users::Table, Users::Id),
                        ForeignKeyAction::SetNull,
                    ))
                    .to_owned(),
            )
            .await?;
        for (name, cols) in [
            (
                "idx_activities_customer",
                vec![
                    Activities::CustomerId.into_iden(),
                    Activities::OccurredAt.into_iden(),
                ],
            ),
            (
                "idx_activities_created_by",
                vec![
                    Activities::CreatedBy.into_iden(),
                    Activities::Id.into_iden(),
                ],
            ),
            (
                "idx_activities_contact",
                vec![Activities::ContactId.into_iden()],
            ),
            (
                "idx_activities_opportunity",
                vec![Activities::OpportunityId.into_iden()],
            ),
        ] {
            index_with(manager, name, Activities::Table, cols, false).await?;
        }
        manager
            .alter_table(
                Table::alter()
                    .table(Customers::Table)
                    .add_column(timestamp_with_time_zone_null(Customers::LastActivityAt))
                    .to_owned(),
            )
            .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(Customers::Table)
                    .drop_column(Customers::LastActivityAt)
                    .to_owned(),
            )
            .await?;
        manager
            .drop_table(Table::drop().table(Activities::Table).to_owned())
            .await
    }
}
