use sea_orm_migration::{prelude::*, schema::*};

use crate::util::fk;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Users {
    Table,
    Id,
    LeaderboardOptOut,
}

#[derive(DeriveIden)]
enum Coupons {
    Table,
    PointsCost,
}

#[derive(DeriveIden)]
enum CouponClaims {
    Table,
    PointsSpent,
}

#[derive(DeriveIden)]
enum PointsEntries {
    Table,
    Id,
    UserId,
    StreetId,
    Amount,
    Kind,
    SourceType,
    SourceKey,
    ActorUserId,
    Note,
    CreatedAt,
}

#[derive(DeriveIden)]
enum PointsAccounts {
    Table,
    UserId,
    Balance,
    LifetimeEarned,
    UpdatedAt,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        // SQLite adds one column per ALTER.
        m.alter_table(
            Table::alter()
                .table(Users::Table)
                .add_column(boolean(Users::LeaderboardOptOut).default(false))
                .to_owned(),
        )
        .await?;
        m.alter_table(
            Table::alter()
                .table(Coupons::Table)
                .add_column(integer(Coupons::PointsCost).default(0))
                .to_owned(),
        )
        .await?;
        m.alter_table(
            Table::alter()
                .table(CouponClaims::Table)
                .add_column(integer(CouponClaims::PointsSpent).default(0))
                .to_owned(),
        )
        .await?;

        m.create_table(
            Table::create()
                .table(PointsEntries::Table)
                .col(big_pk_auto(PointsEntries::Id))
                .col(big_integer(PointsEntries::UserId))
                .col(big_integer_null(PointsEntries::StreetId))
                .col(integer(PointsEntries::Amount))
                .col(string_len(PointsEntries::Kind, 32))
                .col(string_len(PointsEntries::SourceType, 32))
                .col(string_len(PointsEntries::SourceKey, 64))
                .col(big_integer_null(PointsEntries::ActorUserId))
                .col(text_null(PointsEntries::Note))
                .col(timestamp_with_time_zone(PointsEntries::CreatedAt))
                .foreign_key(&mut fk(
                    "fk_points_entries_user",
                    (PointsEntries::Table, PointsEntries::UserId),
                    (Users::Table, Users::Id),
                ))
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("ux_points_entries_source")
                .table(PointsEntries::Table)
                .col(PointsEntries::UserId)
                .col(PointsEntries::SourceType)
                .col(PointsEntries::SourceKey)
                .unique()
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("ix_points_entries_street_time")
                .table(PointsEntries::Table)
                .col(PointsEntries::StreetId)
                .col(PointsEntries::CreatedAt)
                .to_owned(),
        )
        .await?;

        m.create_table(
            Table::create()
                .table(PointsAccounts::Table)
                .col(big_integer(PointsAccounts::UserId).primary_key())
                .col(big_integer(PointsAccounts::Balance).default(0))
                .col(big_integer(PointsAccounts::LifetimeEarned).default(0))
                .col(timestamp_with_time_zone(PointsAccounts::UpdatedAt))
                .check(Expr::cust("balance >= 0"))
                .foreign_key(&mut fk(
                    "fk_points_accounts_user",
                    (PointsAccounts::Table, PointsAccounts::UserId),
                    (Users::Table, Users::Id),
                ))
                .to_owned(),
        )
        .await?;
        Ok(())
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.drop_table(Table::drop().table(PointsAccounts::Table).to_owned())
            .await?;
        m.drop_table(Table::drop().table(PointsEntries::Table).to_owned())
            .await?;
        m.alter_table(
            Table::alter()
                .table(CouponClaims::Table)
                .drop_column(CouponClaims::PointsSpent)
                .to_owned(),
        )
        .await?;
        m.alter_table(
            Table::alter()
                .table(Coupons::Table)
                .drop_column(Coupons::PointsCost)
                .to_owned(),
        )
        .await?;
        m.alter_table(
            Table::alter()
                .table(Users::Table)
                .drop_column(Users::LeaderboardOptOut)
                .to_owned(),
        )
        .await
    }
}
