//! Customers: profiles, contacts, tags, the change log, attachments, and the tier policy.

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
enum Customers {
    Table,
    Id,
    Name,
    NameKey,
    Uscc,
    IndustryCode,
    CustomerType,
    AnnualBudget,
    Needs,
    Scale,
    Source,
    Address,
    Phone,
    Region,
    OwnerId,
    CooperationSince,
    Influence,
    ReferredBy,
    Tier,
    TierScore,
    TierPinned,
    TierReason,
    CreatedBy,
    CreatedAt,
    UpdatedAt,
    ArchivedAt,
    PurgedAt,
    Version,
}

#[derive(DeriveIden)]
enum Contacts {
    Table,
    Id,
    CustomerId,
    Name,
    Title,
    Mobile,
    Email,
    Birthday,
    IsPrimary,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum Tags {
    Table,
    Id,
    Name,
    CreatedAt,
}

#[derive(DeriveIden)]
enum CustomerTags {
    Table,
    CustomerId,
    TagId,
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
enum Attachments {
    Table,
    Id,
    CustomerId,
    Filename,
    ContentType,
    Size,
    Sha256,
    StorageKey,
    UploadedBy,
    CreatedAt,
}

#[derive(DeriveIden)]
enum TierPolicy {
    Table,
    Id,
    Policy,
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
                    .table(Customers::Table)
                    .col(uuid(Customers::Id).primary_key())
                    .col(string_len(Customers::Name, 100))
                    .col(string_len(Customers::NameKey, 100))
                    .col(string_len(Customers::Uscc, 18))
                    .col(string_len(Customers::IndustryCode, 3))
                    .col(string_len(Customers::CustomerType, 16))
                    .col(big_integer_null(Customers::AnnualBudget))
                    .col(text_null(Customers::Needs))
                    .col(string_len_null(Customers::Scale, 16))
                    .col(string_len_null(Customers::Source, 16))
                    .col(string_len_null(Customers::Address, 200))
                    .col(string_len_null(Customers::Phone, 30))
                    .col(string_len(Customers::Region, 2))
                    .col(uuid(Customers::OwnerId))
                    .col(date_null(Customers::CooperationSince))
                    .col(small_integer_null(Customers::Influence))
                    .col(uuid_null(Customers::ReferredBy))
                    .col(string_len(Customers::Tier, 16))
                    .col(integer(Customers::TierScore))
                    .col(boolean(Customers::TierPinned))
                    .col(string_len_null(Customers::TierReason, 500))
                    .col(uuid(Customers::CreatedBy))
                    .col(timestamp_with_time_zone(Customers::CreatedAt))
                    .col(timestamp_with_time_zone(Customers::UpdatedAt))
                    .col(timestamp_with_time_zone_null(Customers::ArchivedAt))
                    .col(timestamp_with_time_zone_null(Customers::PurgedAt))
                    .col(integer(Customers::Version))
                    .foreign_key(&mut fk(
                        "fk_customers_owner",
                        (Customers::Table, Customers::OwnerId),
                        (Users::Table, Users::Id),
                        ForeignKeyAction::Restrict,
                    ))
                    .foreign_key(&mut fk(
                        "fk_customers_created_by",
                        (Customers::Table, Customers::CreatedBy),
                        (Users::Table, Users::Id),
                        ForeignKeyAction::Restrict,
                    ))
                    .foreign_key(&mut fk(
                        "fk_customers_referred_by",
                        (Customers::Table, Customers::ReferredBy),
                        (Customers::Table, Customers::Id),
                        ForeignKeyAction::SetNull,
                    ))
                    .to_owned(),
            )
            .await?;
        // Unique among live customers only: an archived customer's code may be registered again.
        manager
            .get_connection()
            .execute_unprepared("CREATE UNIQUE INDEX uq_customers_uscc_live ON customers (uscc) WHERE archived_at IS NULL")
            .await?;
        // Archived customers are few; an index over all rows' `archived_at` would tempt the
        // planner away from the sort indexes for every live-customer list.
        manager
            .get_connection()
            .execute_unprepared("CREATE INDEX idx_customers_archived ON customers (archived_at, updated_at) WHERE archived_at IS NOT NULL")
            .await?;
        for (name, cols) in [
            ("idx_customers_uscc", vec![Customers::Uscc.into_iden()]),
            (
                "idx_customers_name_key",
                vec![Customers::NameKey.into_iden()],
            ),
            (
                "idx_customers_name",
                vec![Customers::Name.into_iden(), Customers::Id.into_iden()],
            ),
            (
                "idx_customers_updated_at",
                vec![Customers::UpdatedAt.into_iden(), Customers::Id.into_iden()],
            ),
            (
                "idx_customers_created_at",
                vec![Customers::CreatedAt.into_iden(), Customers::Id.into_iden()],
            ),
            (
                "idx_customers_owner_id",
                vec![
                    Customers::OwnerId.into_iden(),
                    Customers::UpdatedAt.into_iden(),
                    Customers::Id.into_iden(),
                ],
            ),
            (
                "idx_customers_tier",
                vec![
                    Customers::Tier.into_iden(),
                    Customers::UpdatedAt.into_iden(),
                    Customers::Id.into_iden(),
                ],
            ),
            (
                "idx_customers_customer_type",
                vec![Customers::CustomerType.into_iden()],
            ),
            (
                "idx_customers_industry_code",
                vec![Customers::IndustryCode.into_iden()],
            ),
            ("idx_customers_region", vec![Customers::Region.into_iden()]),
            ("idx_customers_source", vec![Customers::Source.into_iden()]),
            (
                "idx_customers_referred_by",
                vec![Customers::ReferredBy.into_iden()],
            ),
            (
                "idx_customers_created_by",
                vec![Customers::CreatedBy.into_iden()],
            ),
        ] {
            index(manager, name, Customers::Table, cols).await?;
        }

        manager
            .create_table(
                Table::create()
                    .table(Contacts::Table)
                    .col(uuid(Contacts::Id).primary_key())
                    .col(uuid(Contacts::CustomerId))
                    .col(string_len(Contacts::Name, 50))
                    .col(string_len(Contacts::Title, 50))
                    .col(string_len(Contacts::Mobile, 11))
                    .col(string_len_null(Contacts::Email, 254))
                    .col(date_null(Contacts::Birthday))
                    .col(boolean(Contacts::IsPrimary))
                    .col(timestamp_with_time_zone(Contacts::CreatedAt))
                    .col(timestamp_with_time_zone(Contacts::UpdatedAt))
                    .foreign_key(&mut fk(
                        "fk_contacts_customer",
                        (Contacts::Table, Contacts::CustomerId),
                        (Customers::Table, Customers::Id),
                        ForeignKeyAction::Cascade,
                    ))
                    .to_owned(),
            )
            .await?;
        for (name, col) in [
            ("idx_contacts_customer_id", Contacts::CustomerId),
            ("idx_contacts_mobile", Contacts::Mobile),
            ("idx_contacts_email", Contacts::Email),
        ] {
            index(manager, name, Contacts::Table, vec![col.into_iden()]).await?;
        }

        manager
            .create_table(
                Table::create()
                    .table(Tags::Table)
                    .col(uuid(Tags::Id).primary_key())
                    .col(string_len_uniq(Tags::Name, 50))
                    .col(timestamp_with_time_zone(Tags::CreatedAt))
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(CustomerTags::Table)
                    .col(uuid(CustomerTags::CustomerId))
                    .col(uuid(CustomerTags::TagId))
                    .primary_key(
                        Index::create()
                            .col(CustomerTags::CustomerId)
                            .col(CustomerTags::TagId),
                    )
                    .foreign_key(&mut fk(
                        "fk_customer_tags_customer",
                        (CustomerTags::Table, CustomerTags::CustomerId),
                        (Customers::Table, Customers::Id),
                        ForeignKeyAction::Cascade,
                    ))
                    .foreign_key(&mut fk(
                        "fk_customer_tags_tag",
                        (CustomerTags::Table, CustomerTags::TagId),
                        (Tags::Table, Tags::Id),
                        ForeignKeyAction::Cascade,
                    ))
                    .to_owned(),
            )
            .await?;
        index(
            manager,
            "idx_customer_tags_tag_id",
            CustomerTags::Table,
            vec![
                CustomerTags::TagId.into_iden(),
                CustomerTags::CustomerId.into_iden(),
            ],
        )
        .await?;

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
        .await?;

        manager
            .create_table(
                Table::create()
                    .table(Attachments::Table)
                    .col(uuid(Attachments::Id).primary_key())
                    .col(uuid(Attachments::CustomerId))
                    .col(string_len(Attachments::Filename, 255))
                    .col(string_len(Attachments::ContentType, 64))
                    .col(big_integer(Attachments::Size))
                    .col(string_len(Attachments::Sha256, 64))
                    .col(string_len(Attachments::StorageKey, 255))
                    .col(uuid(Attachments::UploadedBy))
                    .col(timestamp_with_time_zone(Attachments::CreatedAt))
                    .foreign_key(&mut fk(
                        "fk_attachments_customer",
                        (Attachments::Table, Attachments::CustomerId),
                        (Customers::Table, Customers::Id),
                        ForeignKeyAction::Restrict,
                    ))
                    .foreign_key(&mut fk(
                        "fk_attachments_uploaded_by",
                        (Attachments::Table, Attachments::UploadedBy),
                        (Users::Table, Users::Id),
                        ForeignKeyAction::Restrict,
                    ))
                    .to_owned(),
            )
            .await?;
        index(
            manager,
            "idx_attachments_customer_id",
            Attachments::Table,
            vec![Attachments::CustomerId.into_iden()],
        )
        .await?;
        index(
            manager,
            "idx_attachments_uploaded_by",
            Attachments::Table,
            vec![Attachments::UploadedBy.into_iden()],
        )
        .await?;

        manager
            .create_table(
                Table::create()
                    .table(TierPolicy::Table)
                    .col(integer(TierPolicy::Id).primary_key())
                    .col(json(TierPolicy::Policy))
                    .col(uuid_null(TierPolicy::UpdatedBy))
                    .col(timestamp_with_time_zone(TierPolicy::UpdatedAt))
                    .col(integer(TierPolicy::Version))
                    .foreign_key(&mut fk(
                        "fk_tier_policy_updated_by",
                        (TierPolicy::Table, TierPolicy::UpdatedBy),
                        (Users::Table, Users::Id),
                        ForeignKeyAction::SetNull,
                    ))
                    .to_owned(),
            )
            .await?;
        index(
            manager,
            "idx_tier_policy_updated_by",
            TierPolicy::Table,
            vec![TierPolicy::UpdatedBy.into_iden()],
        )
        .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for table in [
            TierPolicy::Table.into_iden(),
            Attachments::Table.into_iden(),
            CustomerHistory::Table.into_iden(),
            CustomerTags::Table.into_iden(),
            Tags::Table.into_iden(),
            Contacts::Table.into_iden(),
            Customers::Table.into_iden(),
        ] {
            manager
                .drop_table(Table::drop().table(table).to_owned())
                .await?;
        }
        Ok(())
    }
}
