//! Leads with their assignment rules, and deals (opportunities) with their stage history.

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
enum Leads {
    Table,
    Id,
    Source,
    SourceDetail,
    CompanyName,
    Uscc,
    ContactName,
    Mobile,
    Email,
    Region,
    IndustryCode,
    Needs,
    ExternalId,
    Creator,
    ReferredBy,
    Status,
    OwnerId,
    AssignedBy,
    DuplicateOfLead,
    DuplicateOfCustomer,
    DuplicateReasons,
    CreatedByUser,
    CreatedByKey,
    CustomerId,
    OpportunityId,
    DisqualifyReason,
    ReceivedAt,
    UpdatedAt,
    Version,
}

#[derive(DeriveIden)]
enum AssignmentRules {
    Table,
    Id,
    Position,
    Name,
    Regions,
    Industries,
    Sources,
    Assignees,
    Turn,
    Active,
    CreatedAt,
    UpdatedAt,
    Version,
}

#[derive(DeriveIden)]
enum Opportunities {
    Table,
    Id,
    CustomerId,
    LeadId,
    Name,
    AmountFen,
    ExpectedCloseDate,
    OwnerId,
    Status,
    Probability,
    LostReason,
    ClosedOn,
    ClosedAt,
    CreatedBy,
    CreatedAt,
    UpdatedAt,
    Version,
}

#[derive(DeriveIden)]
enum OpportunityStages {
    Table,
    Id,
    OpportunityId,
    FromStatus,
    FromProbability,
    ToStatus,
    ToProbability,
    AmountFen,
    ActorId,
    At,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(Opportunities::Table)
                    .col(uuid(Opportunities::Id).primary_key())
                    .col(uuid(Opportunities::CustomerId))
                    .col(uuid_null(Opportunities::LeadId))
                    .col(string_len(Opportunities::Name, 200))
                    .col(big_integer(Opportunities::AmountFen))
                    .col(date(Opportunities::ExpectedCloseDate))
                    .col(uuid(Opportunities::OwnerId))
                    .col(string_len(Opportunities::Status, 16))
                    .col(small_integer(Opportunities::Probability))
                    .col(text_null(Opportunities::LostReason))
                    .col(date_null(Opportunities::ClosedOn))
                    .col(timestamp_with_time_zone_null(Opportunities::ClosedAt))
                    .col(uuid_null(Opportunities::CreatedBy))
                    .col(timestamp_with_time_zone(Opportunities::CreatedAt))
                    .col(timestamp_with_time_zone(Opportunities::UpdatedAt))
                    .col(integer(Opportunities::Version))
                    .foreign_key(&mut fk(
                        "fk_opportunities_customer",
                        (Opportunities::Table, Opportunities::CustomerId),
                        (Customers::Table, Customers::Id),
                        ForeignKeyAction::Restrict,
                    ))
                    .foreign_key(&mut fk(
                        "fk_opportunities_owner",
                        (Opportunities::Table, Opportunities::OwnerId),
                        (Users::Table, Users::Id),
                        ForeignKeyAction::Restrict,
                    ))
                    .foreign_key(&mut fk(
                        "fk_opportunities_created_by",
                        (Opportunities::Table, Opportunities::CreatedBy),
                        (Users::Table, Users::Id),
                        ForeignKeyAction::SetNull,
                    ))
                    .to_owned(),
            )
            .await?;
        for (name, cols) in [
            (
                "idx_opportunities_customer_id",
                vec![
                    Opportunities::CustomerId.into_iden(),
                    Opportunities::Id.into_iden(),
                ],
            ),
            (
                "idx_opportunities_owner_id",
                vec![
                    Opportunities::OwnerId.into_iden(),
                    Opportunities::Id.into_iden(),
                ],
            ),
            (
                "idx_opportunities_lead_id",
                vec![Opportunities::LeadId.into_iden()],
            ),
            (
                "idx_opportunities_created_by",
                vec![Opportunities::CreatedBy.into_iden()],
            ),
            // The forecast reads only these columns: it is answered from the index alone.
            (
                "idx_opportunities_status_close",
                vec![
                    Opportunities::Status.into_iden(),
                    Opportunities::ExpectedCloseDate.into_iden(),
                    Opportunities::OwnerId.into_iden(),
                    Opportunities::Probability.into_iden(),
                    Opportunities::AmountFen.into_iden(),
                ],
            ),
            (
                "idx_opportunities_status_closed_on",
                vec![
                    Opportunities::Status.into_iden(),
                    Opportunities::ClosedOn.into_iden(),
                    Opportunities::OwnerId.into_iden(),
                    Opportunities::Probability.into_iden(),
                    Opportunities::AmountFen.into_iden(),
                ],
            ),
        ] {
            index_with(manager, name, Opportunities::Table, cols, false).await?;
        }

        manager
            .create_table(
                Table::create()
                    .table(OpportunityStages::Table)
                    .col(uuid(OpportunityStages::Id).primary_key())
                    .col(uuid(OpportunityStages::OpportunityId))
                    .col(string_len_null(OpportunityStages::FromStatus, 16))
                    .col(small_integer_null(OpportunityStages::FromProbability))
                    .col(string_len(OpportunityStages::ToStatus, 16))
                    .col(small_integer(OpportunityStages::ToProbability))
                    .col(big_integer(OpportunityStages::AmountFen))
                    .col(uuid_null(OpportunityStages::ActorId))
                    .col(timestamp_with_time_zone(OpportunityStages::At))
                    .foreign_key(&mut fk(
                        "fk_opportunity_stages_opportunity",
                        (OpportunityStages::Table, OpportunityStages::OpportunityId),
                        (Opportunities::Table, Opportunities::Id),
                        ForeignKeyAction::Cascade,
                    ))
                    .foreign_key(&mut fk(
                        "fk_opportunity_stages_actor",
                        (OpportunityStages::Table, OpportunityStages::ActorId),
                        (Users::Table, Users::Id),
                        ForeignKeyAction::SetNull,
                    ))
                    .to_owned(),
            )
            .await?;
        index_with(
            manager,
            "idx_opportunity_stages_opportunity",
            OpportunityStages::Table,
            vec![
                OpportunityStages::OpportunityId.into_iden(),
                OpportunityStages::Id.into_iden(),
            ],
            false,
        )
        .await?;
        index_with(
            manager,
            "idx_opportunity_stages_actor_id",
            OpportunityStages::Table,
            vec![OpportunityStages::ActorId.into_iden()],
            false,
        )
        .await?;

        manager
            .create_table(
                Table::create()
                    .table(Leads::Table)
                    .col(uuid(Leads::Id).primary_key())
                    .col(string_len(Leads::Source, 16))
                    .col(string_len_null(Leads::SourceDetail, 200))
                    .col(string_len(Leads::CompanyName, 100))
                    .col(string_len_null(Leads::Uscc, 18))
                    .col(string_len(Leads::ContactName, 50))
                    .col(string_len_null(Leads::Mobile, 11))
                    .col(string_len_null(Leads::Email, 254))
                    .col(string_len_null(Leads::Region, 2))
                    .col(string_len_null(Leads::IndustryCode, 3))
                    .col(text_null(Leads::Needs))
                    .col(string_len_null(Leads::ExternalId, 100))
                    .col(string_len(Leads::Creator, 48))
                    .col(uuid_null(Leads::ReferredBy))
                    .col(string_len(Leads::Status, 16))
                    .col(uuid_null(Leads::OwnerId))
                    .col(string_len_null(Leads::AssignedBy, 16))
                    .col(uuid_null(Leads::DuplicateOfLead))
                    .col(uuid_null(Leads::DuplicateOfCustomer))
                    .col(string_len_null(Leads::DuplicateReasons, 64))
                    .col(uuid_null(Leads::CreatedByUser))
                    .col(uuid_null(Leads::CreatedByKey))
                    .col(uuid_null(Leads::CustomerId))
                    .col(uuid_null(Leads::OpportunityId))
                    .col(text_null(Leads::DisqualifyReason))
                    .col(timestamp_with_time_zone(Leads::ReceivedAt))
                    .col(timestamp_with_time_zone(Leads::UpdatedAt))
                    .col(integer(Leads::Version))
                    .foreign_key(&mut fk(
                        "fk_leads_owner",
                        (Leads::Table, Leads::OwnerId),
                        (Users::Table, Users::Id),
                        ForeignKeyAction::SetNull,
                    ))
                    .foreign_key(&mut fk(
                        "fk_leads_referred_by",
                        (Leads::Table, Leads::ReferredBy),
                        (Customers::Table, Customers::Id),
                        ForeignKeyAction::SetNull,
                    ))
                    .foreign_key(&mut fk(
                        "fk_leads_duplicate_of_lead",
                        (Leads::Table, Leads::DuplicateOfLead),
                        (Leads::Table, Leads::Id),
                        ForeignKeyAction::SetNull,
                    ))
                    .foreign_key(&mut fk(
                        "fk_leads_duplicate_of_customer",
                        (Leads::Table, Leads::DuplicateOfCustomer),
                        (Customers::Table, Customers::Id),
                        ForeignKeyAction::SetNull,
                    ))
                    .foreign_key(&mut fk(
                        "fk_leads_created_by_user",
                        (Leads::Table, Leads::CreatedByUser),
                        (Users::Table, Users::Id),
                        ForeignKeyAction::SetNull,
                    ))
                    .foreign_key(&mut fk(
                        "fk_leads_created_by_key",
                        (Leads::Table, Leads::CreatedByKey),
                        (ApiKeys::Table, ApiKeys::Id),
                        ForeignKeyAction::SetNull,
                    ))
                    .foreign_key(&mut fk(
                        "fk_leads_customer",
                        (Leads::Table, Leads::CustomerId),
                        (Customers::Table, Customers::Id),
                        ForeignKeyAction::SetNull,
                    ))
                    .foreign_key(&mut fk(
                        "fk_leads_opportunity",
                        (Leads::Table, Leads::OpportunityId),
                        (Opportunities::Table, Opportunities::Id),
                        ForeignKeyAction::SetNull,
                    ))
                    .to_owned(),
            )
            .await?;
        for (name, cols, unique) in [
            (
                "idx_leads_creator_external_id",
                vec![Leads::Creator.into_iden(), Leads::ExternalId.into_iden()],
                true,
            ),
            (
                "idx_leads_owner_id",
                vec![Leads::OwnerId.into_iden(), Leads::Id.into_iden()],
                false,
            ),
            (
                "idx_leads_status",
                vec![Leads::Status.into_iden(), Leads::Id.into_iden()],
                false,
            ),
            ("idx_leads_mobile", vec![Leads::Mobile.into_iden()], false),
            ("idx_leads_email", vec![Leads::Email.into_iden()], false),
            ("idx_leads_uscc", vec![Leads::Uscc.into_iden()], false),
            (
                "idx_leads_received_at",
                vec![Leads::ReceivedAt.into_iden()],
                false,
            ),
            (
                "idx_leads_referred_by",
                vec![Leads::ReferredBy.into_iden()],
                false,
            ),
            (
                "idx_leads_duplicate_of_lead",
                vec![Leads::DuplicateOfLead.into_iden()],
                false,
            ),
            (
                "idx_leads_duplicate_of_customer",
                vec![Leads::DuplicateOfCustomer.into_iden()],
                false,
            ),
            (
                "idx_leads_created_by_user",
                vec![Leads::CreatedByUser.into_iden()],
                false,
            ),
            (
                "idx_leads_created_by_key",
                vec![Leads::CreatedByKey.into_iden()],
                false,
            ),
            (
                "idx_leads_customer_id",
                vec![Leads::CustomerId.into_iden()],
                false,
            ),
            (
                "idx_leads_opportunity_id",
                vec![Leads::OpportunityId.into_iden()],
                false,
            ),
        ] {
            index_with(manager, name, Leads::Table, cols, unique).await?;
        }

        manager
            .create_table(
                Table::create()
                    .table(AssignmentRules::Table)
                    .col(uuid(AssignmentRules::Id).primary_key())
                    .col(integer(AssignmentRules::Position))
                    .col(string_len(AssignmentRules::Name, 100))
                    .col(text(AssignmentRules::Regions))
                    .col(text(AssignmentRules::Industries))
                    .col(text(AssignmentRules::Sources))
                    .col(text(AssignmentRules::Assignees))
                    .col(big_integer(AssignmentRules::Turn))
                    .col(boolean(AssignmentRules::Active))
                    .col(timestamp_with_time_zone(AssignmentRules::CreatedAt))
                    .col(timestamp_with_time_zone(AssignmentRules::UpdatedAt))
                    .col(integer(AssignmentRules::Version))
                    .to_owned(),
            )
            .await?;
        index_with(
            manager,
            "idx_assignment_rules_position",
            AssignmentRules::Table,
            vec![
                AssignmentRules::Position.into_iden(),
                AssignmentRules::Id.into_iden(),
            ],
            false,
        )
        .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for table in [
            AssignmentRules::Table.into_iden(),
            Leads::Table.into_iden(),
            OpportunityStages::Table.into_iden(),
            Opportunities::Table.into_iden(),
        ] {
            manager
                .drop_table(Table::drop().table(table).to_owned())
                .await?;
        }
        Ok(())
    }
}
