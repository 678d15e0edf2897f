use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

use crate::util::fk;

#[derive(DeriveMigrationName)]
pub struct Migration;

/// Granting an award: the package and points it was granted with, and the entitlements its
/// items become for the nominee, one per item, each redeemed only at its provider.
#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        // SQLite adds one column per statement.
        for col in [
            big_integer_null(Awards::PackageId),
            integer_null(Awards::BonusPoints),
            timestamp_with_time_zone_null(Awards::GrantedAt),
        ] {
            let mut col = col;
            m.alter_table(
                Table::alter()
                    .table(Awards::Table)
                    .add_column(&mut col)
                    .to_owned(),
            )
            .await?;
        }
        m.create_table(
            Table::create()
                .table(Entitlements::Table)
                .col(big_pk_auto(Entitlements::Id))
                .col(big_integer(Entitlements::StreetId))
                .col(big_integer(Entitlements::AwardId))
                .col(big_integer(Entitlements::PackageId))
                .col(big_integer(Entitlements::ItemId))
                .col(big_integer(Entitlements::MerchantId))
                .col(big_integer(Entitlements::HolderUserId))
                .col(string_len(Entitlements::Kind, 16))
                .col(string_len(Entitlements::Description, 200))
                .col(integer_null(Entitlements::TotalUses))
                .col(integer(Entitlements::UsedCount).default(0))
                .col(big_integer_null(Entitlements::ValueFen))
                .col(big_integer_null(Entitlements::RemainingValueFen))
                .col(integer_null(Entitlements::PerDayLimit))
                .col(timestamp_with_time_zone(Entitlements::ValidFrom))
                .col(timestamp_with_time_zone(Entitlements::ValidUntil))
                .col(string_len_uniq(Entitlements::Code, 16))
                .col(string_len(Entitlements::Status, 16))
                .col(text_null(Entitlements::VoidReason))
                .col(timestamp_with_time_zone_null(Entitlements::LastUsedAt))
                .col(timestamp_with_time_zone(Entitlements::CreatedAt))
                .foreign_key(&mut fk(
                    "fk_entitlements_award",
                    (Entitlements::Table, Entitlements::AwardId),
                    (Awards::Table, Awards::Id),
                ))
                .to_owned(),
        )
        .await?;
        // One entitlement per item of a grant, whatever races.
        m.create_index(
            Index::create()
                .name("ux_entitlements_award_item")
                .table(Entitlements::Table)
                .col(Entitlements::AwardId)
                .col(Entitlements::ItemId)
                .unique()
                .to_owned(),
        )
        .await?;
        // Every use: who served, where, when, in which request.
        m.create_table(
            Table::create()
                .table(EntitlementUses::Table)
                .col(big_pk_auto(EntitlementUses::Id))
                .col(big_integer(EntitlementUses::EntitlementId))
                .col(big_integer(EntitlementUses::MerchantId))
                .col(big_integer(EntitlementUses::ServedBy))
                .col(big_integer_null(EntitlementUses::AmountFen))
                .col(integer(EntitlementUses::UsedCountAfter))
                .col(big_integer_null(EntitlementUses::RemainingValueAfter))
                .col(date(EntitlementUses::LocalDay))
                .col(string_len_null(EntitlementUses::RequestId, 64))
                .col(timestamp_with_time_zone(EntitlementUses::CreatedAt))
                .foreign_key(&mut fk(
                    "fk_entitlement_uses_entitlement",
                    (EntitlementUses::Table, EntitlementUses::EntitlementId),
                    (Entitlements::Table, Entitlements::Id),
                ))
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("ix_entitlement_uses_day")
                .table(EntitlementUses::Table)
                .col(EntitlementUses::EntitlementId)
                .col(EntitlementUses::LocalDay)
                .to_owned(),
        )
        .await?;
        for (name, col) in [
            ("ix_entitlements_holder", Entitlements::HolderUserId),
            ("ix_entitlements_merchant", Entitlements::MerchantId),
        ] {
            m.create_index(
                Index::create()
                    .name(name)
                    .table(Entitlements::Table)
                    .col(col)
                    .col(Entitlements::Id)
                    .to_owned(),
            )
            .await?;
        }
        Ok(())
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.drop_table(Table::drop().table(EntitlementUses::Table).to_owned())
            .await?;
        m.drop_table(Table::drop().table(Entitlements::Table).to_owned())
            .await?;
        for col in [Awards::PackageId, Awards::BonusPoints, Awards::GrantedAt] {
            m.alter_table(
                Table::alter()
                    .table(Awards::Table)
                    .drop_column(col)
                    .to_owned(),
            )
            .await?;
        }
        Ok(())
    }
}

#[derive(DeriveIden)]
enum Awards {
    Table,
    Id,
    PackageId,
    BonusPoints,
    GrantedAt,
}

#[derive(DeriveIden)]
enum Entitlements {
    Table,
    Id,
    StreetId,
    AwardId,
    PackageId,
    ItemId,
    MerchantId,
    HolderUserId,
    Kind,
    Description,
    TotalUses,
    UsedCount,
    ValueFen,
    RemainingValueFen,
    PerDayLimit,
    ValidFrom,
    ValidUntil,
    Code,
    Status,
    VoidReason,
    LastUsedAt,
    CreatedAt,
}

#[derive(DeriveIden)]
enum EntitlementUses {
    Table,
    Id,
    EntitlementId,
    MerchantId,
    ServedBy,
    AmountFen,
    UsedCountAfter,
    RemainingValueAfter,
    LocalDay,
    RequestId,
    CreatedAt,
}
