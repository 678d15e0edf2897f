use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

/// What a street office needs to start on its own: communities it manages (archived ones keep
/// their history), residents who choose whether they appear on the honour roll, and sessions
/// that survive a mini-program refreshing from several pages at once.
#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.alter_table(
            Table::alter()
                .table(Communities::Table)
                .add_column(string_len(Communities::Status, 16).default("ACTIVE"))
                .to_owned(),
        )
        .await?;
        m.alter_table(
            Table::alter()
                .table(Users::Table)
                .add_column(boolean(Users::HonourRollOptOut).default(false))
                .to_owned(),
        )
        .await?;
        // Sessions that behave on phones: a refresh repeated at once gets the same pair.
        m.alter_table(
            Table::alter()
                .table(RefreshTokens::Table)
                .add_column(timestamp_with_time_zone_null(RefreshTokens::AccessIssuedAt))
                .to_owned(),
        )
        .await
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.alter_table(
            Table::alter()
                .table(RefreshTokens::Table)
                .drop_column(RefreshTokens::AccessIssuedAt)
                .to_owned(),
        )
        .await?;
        m.alter_table(
            Table::alter()
                .table(Users::Table)
                .drop_column(Users::HonourRollOptOut)
                .to_owned(),
        )
        .await?;
        m.alter_table(
            Table::alter()
                .table(Communities::Table)
                .drop_column(Communities::Status)
                .to_owned(),
        )
        .await
    }
}

#[derive(DeriveIden)]
enum Communities {
    Table,
    Status,
}

#[derive(DeriveIden)]
enum RefreshTokens {
    Table,
    AccessIssuedAt,
}

#[derive(DeriveIden)]
enum Users {
    Table,
    HonourRollOptOut,
}
