//! Service work orders with their timeline and daily number counters, and the documents that
//! govern them (the SLA policy, the work calendar).

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
enum Contacts {
    Table,
    Id,
}

#[derive(DeriveIden)]
enum WorkOrders {
    Table,
    Id,
    Number,
    CustomerId,
    ContactId,
    Title,
    Description,
    Category,
    Severity,
    Channel,
    Status,
    Tier,
    SlaClock,
    AssigneeId,
    AssignedAt,
    ResponseDueAt,
    ResolutionDueAt,
    RespondedAt,
    ResolvedAt,
    Resolution,
    ClosedAt,
    CancelledAt,
    CancelReason,
    ResponseBreachedAt,
    ResolutionBreachedAt,
    EscalatedTo,
    EscalatedAt,
    VisitSatisfaction,
    VisitComment,
    VisitedBy,
    VisitedAt,
    CreatedBy,
    CreatedAt,
    UpdatedAt,
    Version,
}

#[derive(DeriveIden)]
enum WorkOrderEntries {
    Table,
    Id,
    WorkOrderId,
    Kind,
    Body,
    FromStatus,
    ToStatus,
    UserId,
    ActorId,
    At,
}

#[derive(DeriveIden)]
enum WorkOrderCounters {
    Table,
    Day,
    Last,
}

#[derive(DeriveIden)]
enum ServiceDocuments {
    Table,
    Name,
    Body,
    UpdatedBy,
    UpdatedAt,
    Version,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(WorkOrders::Table)
                    .col(uuid(WorkOrders::Id).primary_key())
                    .col(string_len(WorkOrders::Number, 32))
                    .col(uuid(WorkOrders::CustomerId))
                    .col(uuid_null(WorkOrders::ContactId))
                    .col(string_len(WorkOrders::Title, 200))
                    .col(text(WorkOrders::Description))
                    .col(string_len(WorkOrders::Category, 16))
                    .col(string_len(WorkOrders::Severity, 16))
                    .col(string_len(WorkOrders::Channel, 16))
                    .col(string_len(WorkOrders::Status, 16))
                    .col(string_len(WorkOrders::Tier, 16))
                    .col(string_len(WorkOrders::SlaClock, 16))
                    .col(uuid_null(WorkOrders::AssigneeId))
                    .col(timestamp_with_time_zone_null(WorkOrders::AssignedAt))
                    .col(timestamp_with_time_zone(WorkOrders::ResponseDueAt))
                    .col(timestamp_with_time_zone(WorkOrders::ResolutionDueAt))
                    .col(timestamp_with_time_zone_null(WorkOrders::RespondedAt))
                    .col(timestamp_with_time_zone_null(WorkOrders::ResolvedAt))
                    .col(text_null(WorkOrders::Resolution))
                    .col(timestamp_with_time_zone_null(WorkOrders::ClosedAt))
                    .col(timestamp_with_time_zone_null(WorkOrders::CancelledAt))
                    .col(text_null(WorkOrders::CancelReason))
                    .col(timestamp_with_time_zone_null(
                        WorkOrders::ResponseBreachedAt,
                    ))
                    .col(timestamp_with_time_zone_null(
                        WorkOrders::ResolutionBreachedAt,
                    ))
                    .col(uuid_null(WorkOrders::EscalatedTo))
                    .col(timestamp_with_time_zone_null(WorkOrders::EscalatedAt))
                    .col(small_integer_null(WorkOrders::VisitSatisfaction))
                    .col(text_null(WorkOrders::VisitComment))
                    .col(uuid_null(WorkOrders::VisitedBy))
                    .col(timestamp_with_time_zone_null(WorkOrders::VisitedAt))
                    .col(uuid_null(WorkOrders::CreatedBy))
                    .col(timestamp_with_time_zone(WorkOrders::CreatedAt))
                    .col(timestamp_with_time_zone(WorkOrders::UpdatedAt))
                    .col(integer(WorkOrders::Version))
                    .foreign_key(&mut fk(
                        "fk_work_orders_customer",
                        (WorkOrders::Table, WorkOrders::CustomerId),
                        (Customers::Table, Customers::Id),
                        ForeignKeyAction::Restrict,
                    ))
                    .foreign_key(&mut fk(
                        "fk_work_orders_contact",
                        (WorkOrders::Table, WorkOrders::ContactId),
                        (Contacts::Table, Contacts::Id),
                        ForeignKeyAction::SetNull,
                    ))
                    .foreign_key(&mut fk(
                        "fk_work_orders_assignee",
                        (WorkOrders::Table, WorkOrders::AssigneeId),
                        (Users::Table, Users::Id),
                        ForeignKeyAction::Restrict,
                    ))
                    .foreign_key(&mut fk(
                        "fk_work_orders_escalated_to",
                        (WorkOrders::Table, WorkOrders::EscalatedTo),
                        (Users::Table, Users::Id),
                        ForeignKeyAction::Restrict,
                    ))
                    .foreign_key(&mut fk(
                        "fk_work_orders_visited_by",
                        (WorkOrders::Table, WorkOrders::VisitedBy),
                        (Users::Table, Users::Id),
                        ForeignKeyAction::SetNull,
                    ))
                    .foreign_key(&mut fk(
                        "fk_work_orders_created_by",
                        (WorkOrders::Table, WorkOrders::CreatedBy),
                        (Users::Table, Users::Id),
                        ForeignKeyAction::SetNull,
                    ))
                    .to_owned(),
            )
            .await?;
        for (name, cols, unique) in [
            (
                "idx_work_orders_number",
                vec![WorkOrders::Number.into_iden()],
                true,
            ),
            (
                "idx_work_orders_customer_id",
                vec![
                    WorkOrders::CustomerId.into_iden(),
                    WorkOrders::Id.into_iden(),
                ],
                false,
            ),
            (
                "idx_work_orders_assignee_id",
                vec![
                    WorkOrders::AssigneeId.into_iden(),
                    WorkOrders::Status.into_iden(),
                ],
                false,
            ),
            (
                "idx_work_orders_created_by",
                vec![WorkOrders::CreatedBy.into_iden()],
                false,
            ),
            (
                "idx_work_orders_escalated_to",
                vec![
                    WorkOrders::EscalatedTo.into_iden(),
                    WorkOrders::Status.into_iden(),
                ],
                false,
            ),
            (
                "idx_work_orders_status",
                vec![WorkOrders::Status.into_iden(), WorkOrders::Id.into_iden()],
                false,
            ),
            // The breach sweep looks for open orders past a due time.
            (
                "idx_work_orders_response_due",
                vec![WorkOrders::ResponseDueAt.into_iden()],
                false,
            ),
            (
                "idx_work_orders_resolution_due",
                vec![WorkOrders::ResolutionDueAt.into_iden()],
                false,
            ),
        ] {
            index_with(manager, name, WorkOrders::Table, cols, unique).await?;
        }

        manager
            .create_table(
                Table::create()
                    .table(WorkOrderEntries::Table)
                    .col(uuid(WorkOrderEntries::Id).primary_key())
                    .col(uuid(WorkOrderEntries::WorkOrderId))
                    .col(string_len(WorkOrderEntries::Kind, 16))
                    .col(text_null(WorkOrderEntries::Body))
                    .col(string_len_null(WorkOrderEntries::FromStatus, 16))
                    .col(string_len_null(WorkOrderEntries::ToStatus, 16))
                    .col(uuid_null(WorkOrderEntries::UserId))
                    .col(uuid_null(WorkOrderEntries::ActorId))
                    .col(timestamp_with_time_zone(WorkOrderEntries::At))
                    .foreign_key(&mut fk(
                        "fk_work_order_entries_work_order",
                        (WorkOrderEntries::Table, WorkOrderEntries::WorkOrderId),
                        (WorkOrders::Table, WorkOrders::Id),
                        ForeignKeyAction::Cascade,
                    ))
                    .foreign_key(&mut fk(
                        "fk_work_order_entries_user",
                        (WorkOrderEntries::Table, WorkOrderEntries::UserId),
                        (Users::Table, Users::Id),
                        ForeignKeyAction::SetNull,
                    ))
                    .foreign_key(&mut fk(
                        "fk_work_order_entries_actor",
                        (WorkOrderEntries::Table, WorkOrderEntries::ActorId),
                        (Users::Table, Users::Id),
                        ForeignKeyAction::SetNull,
                    ))
                    .to_owned(),
            )
            .await?;
        index_with(
            manager,
            "idx_work_order_entries_work_order",
            WorkOrderEntries::Table,
            vec![
                WorkOrderEntries::WorkOrderId.into_iden(),
                WorkOrderEntries::Id.into_iden(),
            ],
            false,
        )
        .await?;

        manager
            .create_table(
                Table::create()
                    .table(WorkOrderCounters::Table)
                    .col(string_len(WorkOrderCounters::Day, 8).primary_key())
                    .col(big_integer(WorkOrderCounters::Last))
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(ServiceDocuments::Table)
                    .col(string_len(ServiceDocuments::Name, 32).primary_key())
                    .col(json(ServiceDocuments::Body))
                    .col(uuid_null(ServiceDocuments::UpdatedBy))
                    .col(timestamp_with_time_zone(ServiceDocuments::UpdatedAt))
                    .col(integer(ServiceDocuments::Version))
                    .foreign_key(&mut fk(
                        "fk_service_documents_updated_by",
                        (ServiceDocuments::Table, ServiceDocuments::UpdatedBy),
                        (Users::Table, Users::Id),
                        ForeignKeyAction::SetNull,
                    ))
                    .to_owned(),
            )
            .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for table in [
            ServiceDocuments::Table.into_iden(),
            WorkOrderCounters::Table.into_iden(),
            WorkOrderEntries::Table.into_iden(),
            WorkOrders::Table.into_iden(),
        ] {
            manager
                .drop_table(Table::drop().table(table).to_owned())
                .await?;
        }
        Ok(())
    }
}
