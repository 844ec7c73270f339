//! Satisfaction surveys, and on customers what retention reads: when they last engaged
//! (a contact, a won deal, a contract) and when and why they were lost.

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
    LastEngagedAt,
    LostAt,
    LostReason,
}

#[derive(DeriveIden)]
enum Surveys {
    Table,
    Id,
    CustomerId,
    Period,
    Needs,
    ProductSatisfaction,
    ServiceSatisfaction,
    Comments,
    CreatedBy,
    CreatedAt,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(Surveys::Table)
                    .col(uuid(Surveys::Id).primary_key())
                    .col(uuid(Surveys::CustomerId))
                    .col(string_len(Surveys::Period, 7))
                    .col(text_null(Surveys::Needs))
                    .col(small_integer(Surveys::ProductSatisfaction))
                    .col(small_integer(Surveys::ServiceSatisfaction))
                    .col(text_null(Surveys::Comments))
                    .col(uuid_null(Surveys::CreatedBy))
                    .col(timestamp_with_time_zone(Surveys::CreatedAt))
                    .foreign_key(&mut fk(
                        "fk_surveys_customer",
                        (Surveys::Table, Surveys::CustomerId),
                        (Customers::Table, Customers::Id),
                        ForeignKeyAction::Restrict,
                    ))
                    .foreign_key(&mut fk(
                        "fk_surveys_created_by",
                        (Surveys::Table, Surveys::CreatedBy),
                        (Users::Table, Users::Id),
                        ForeignKeyAction::SetNull,
                    ))
                    .to_owned(),
            )
            .await?;
        // One survey per customer and half year.
        index_with(
            manager,
            "idx_surveys_customer_period",
            Surveys::Table,
            vec![Surveys::CustomerId.into_iden(), Surveys::Period.into_iden()],
            true,
        )
        .await?;
        for col in [
            timestamp_with_time_zone_null(Customers::LastEngagedAt),
            timestamp_with_time_zone_null(Customers::LostAt),
            text_null(Customers::LostReason),
        ] {
            // One column per statement: SQLite alters one at a time.
            manager
                .alter_table(
                    Table::alter()
                        .table(Customers::Table)
                        .add_column(col)
                        .to_owned(),
                )
                .await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for col in [
            Customers::LastEngagedAt,
            Customers::LostAt,
            Customers::LostReason,
        ] {
            manager
                .alter_table(
                    Table::alter()
                        .table(Customers::Table)
                        .drop_column(col)
                        .to_owned(),
                )
                .await?;
        }
        manager
            .drop_table(Table::drop().table(Surveys::Table).to_owned())
            .await
    }
}
