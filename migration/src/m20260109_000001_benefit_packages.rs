use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

use crate::util::fk;

#[derive(DeriveMigrationName)]
pub struct Migration;

/// The warm-heart gift: benefit packages staff compose from items that several member
/// merchants give, each provider confirming its own.
#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_table(
            Table::create()
                .table(BenefitPackages::Table)
                .col(big_pk_auto(BenefitPackages::Id))
                .col(big_integer(BenefitPackages::StreetId))
                .col(string_len(BenefitPackages::Title, 64))
                .col(text(BenefitPackages::Story))
                .col(integer(BenefitPackages::Copies))
                .col(integer(BenefitPackages::GrantedCount).default(0))
                .col(string_len(BenefitPackages::Status, 16))
                .col(text_null(BenefitPackages::StatusReason))
                .col(big_integer(BenefitPackages::CreatedBy))
                .col(timestamp_with_time_zone(BenefitPackages::CreatedAt))
                .col(timestamp_with_time_zone(BenefitPackages::UpdatedAt))
                .foreign_key(&mut fk(
                    "fk_benefit_packages_street",
                    (BenefitPackages::Table, BenefitPackages::StreetId),
                    (Streets::Table, Streets::Id),
                ))
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("ix_benefit_packages_street")
                .table(BenefitPackages::Table)
                .col(BenefitPackages::StreetId)
                .col(BenefitPackages::Id)
                .to_owned(),
        )
        .await?;
        m.create_table(
            Table::create()
                .table(PackageItems::Table)
                .col(big_pk_auto(PackageItems::Id))
                .col(big_integer(PackageItems::PackageId))
                .col(big_integer(PackageItems::MerchantId))
                .col(string_len(PackageItems::Kind, 16))
                .col(string_len(PackageItems::Description, 200))
                .col(integer_null(PackageItems::TotalUses))
                .col(integer_null(PackageItems::PerDayLimit))
                .col(integer(PackageItems::ValidDays))
                .col(big_integer_null(PackageItems::ValueFen))
                .col(string_len(PackageItems::Status, 16))
                .col(text_null(PackageItems::DeclineReason))
                .col(timestamp_with_time_zone(PackageItems::CreatedAt))
                .col(timestamp_with_time_zone(PackageItems::UpdatedAt))
                .foreign_key(&mut fk(
                    "fk_package_items_package",
                    (PackageItems::Table, PackageItems::PackageId),
                    (BenefitPackages::Table, BenefitPackages::Id),
                ))
                .foreign_key(&mut fk(
                    "fk_package_items_merchant",
                    (PackageItems::Table, PackageItems::MerchantId),
                    (Merchants::Table, Merchants::Id),
                ))
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("ix_package_items_package")
                .table(PackageItems::Table)
                .col(PackageItems::PackageId)
                .col(PackageItems::Id)
                .to_owned(),
        )
        .await?;
        // What a provider is asked to confirm.
        m.create_index(
            Index::create()
                .name("ix_package_items_merchant")
                .table(PackageItems::Table)
                .col(PackageItems::MerchantId)
                .col(PackageItems::Status)
                .col(PackageItems::Id)
                .to_owned(),
        )
        .await?;
        Ok(())
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.drop_table(Table::drop().table(PackageItems::Table).to_owned())
            .await?;
        m.drop_table(Table::drop().table(BenefitPackages::Table).to_owned())
            .await
    }
}

#[derive(DeriveIden)]
enum BenefitPackages {
    Table,
    Id,
    StreetId,
    Title,
    Story,
    Copies,
    GrantedCount,
    Status,
    StatusReason,
    CreatedBy,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum PackageItems {
    Table,
    Id,
    PackageId,
    MerchantId,
    Kind,
    Description,
    TotalUses,
    PerDayLimit,
    ValidDays,
    ValueFen,
    Status,
    DeclineReason,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum Streets {
    Table,
    Id,
}

#[derive(DeriveIden)]
enum Merchants {
    Table,
    Id,
}
