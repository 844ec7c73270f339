//! Contracts, each renewal linked to the contract it renews.

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
}

#[derive(DeriveIden)]
enum Opportunities {
    Table,
    Id,
}

#[derive(DeriveIden)]
enum Contracts {
    Table,
    Id,
    Number,
    CustomerId,
    OpportunityId,
    AmountFen,
    SignedOn,
    StartsOn,
    EndsOn,
    PredecessorId,
    SuccessorId,
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
                    .table(Contracts::Table)
                    .col(uuid(Contracts::Id).primary_key())
                    .col(string_len(Contracts::Number, 64))
                    .col(uuid(Contracts::CustomerId))
                    .col(uuid_null(Contracts::OpportunityId))
                    .col(big_integer(Contracts::AmountFen))
                    .col(date(Contracts::SignedOn))
                    .col(date(Contracts::StartsOn))
                    .col(date(Contracts::EndsOn))
                    .col(uuid_null(Contracts::PredecessorId))
                    .col(uuid_null(Contracts::SuccessorId))
                    .col(uuid_null(Contracts::CreatedBy))
                    .col(timestamp_with_time_zone(Contracts::CreatedAt))
                    .col(timestamp_with_time_zone(Contracts::UpdatedAt))
                    .col(integer(Contracts::Version))
                    .foreign_key(&mut fk(
                        "fk_contracts_customer",
                        (Contracts::Table, Contracts::CustomerId),
                        (Customers::Table, Customers::Id),
                        ForeignKeyAction::Restrict,
                    ))
                    .foreign_key(&mut fk(
                        "fk_contracts_opportunity",
                        (Contracts::Table, Contracts::OpportunityId),
                        (Opportunities::Table, Opportunities::Id),
                        ForeignKeyAction::SetNull,
                    ))
                    .foreign_key(&mut fk(
                        "fk_contracts_predecessor",
                        (Contracts::Table, Contracts::PredecessorId),
                        (Contracts::Table, Contracts::Id),
                        ForeignKeyAction::Restrict,
                    ))
                    .foreign_key(&mut fk(
                        "fk_contracts_created_by",
                        (Contracts::Table, Contracts::CreatedBy),
                        (Users::Table, Users::Id),
                        ForeignKeyAction::SetNull,
                    ))
                    .to_owned(),
            )
            .await?;
        for (name, cols, unique) in [
            (
                "idx_contracts_number",
                vec![Contracts::Number.into_iden()],
                true,
            ),
            // A contract is renewed once.
            (
                "idx_contracts_predecessor",
                vec![Contracts::PredecessorId.into_iden()],
                true,
            ),
            (
                "idx_contracts_customer",
                vec![Contracts::CustomerId.into_iden(), Contracts::Id.into_iden()],
                false,
            ),
            (
                "idx_contracts_ends_on",
                vec![Contracts::EndsOn.into_iden()],
                false,
            ),
            (
                "idx_contracts_opportunity",
                vec![Contracts::OpportunityId.into_iden()],
                false,
            ),
        ] {
            index_with(manager, name, Contracts::Table, cols, unique).await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(Contracts::Table).to_owned())
            .await
    }
}
