use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

/// What a street office needs to start on its own: its settings and administrators,
/// communities it manages (archived ones keep
/// their history), tags residents ask for and staff verify, residents who choose whether they
/// appear on the honour roll, and sessions
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
        // Street administrators: the staff who add and remove the street's staff.
        m.alter_table(
            Table::alter()
                .table(Users::Table)
                .add_column(boolean(Users::IsStreetAdmin).default(false))
                .to_owned(),
        )
        .await?;
        // The street's settings. SQLite adds one column per statement.
        for col in [
            string_len_null(Streets::DisplayName, 64),
            date_null(Streets::FoundedOn),
            string_len(Streets::TimeZone, 64)
                .default("Asia/Shanghai")
                .to_owned(),
            integer_null(Streets::MaxActivityPoints),
            integer_null(Streets::DemandResponseHours),
        ] {
            let mut col = col;
            m.alter_table(
                Table::alter()
                    .table(Streets::Table)
                    .add_column(&mut col)
                    .to_owned(),
            )
            .await?;
        }
        // One-time reset codes staff issue in person.
        m.create_table(
            Table::create()
                .table(ResetCodes::Table)
                .col(big_pk_auto(ResetCodes::Id))
                .col(big_integer(ResetCodes::UserId))
                .col(string_len_uniq(ResetCodes::CodeHash, 64))
                .col(big_integer(ResetCodes::IssuedBy))
                .col(timestamp_with_time_zone(ResetCodes::CreatedAt))
                .col(timestamp_with_time_zone(ResetCodes::ExpiresAt))
                .col(timestamp_with_time_zone_null(ResetCodes::UsedAt))
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("ix_reset_codes_user")
                .table(ResetCodes::Table)
                .col(ResetCodes::UserId)
                .to_owned(),
        )
        .await?;
        // Tags residents ask for and staff verify.
        m.create_table(
            Table::create()
                .table(TagRequests::Table)
                .col(big_pk_auto(TagRequests::Id))
                .col(big_integer(TagRequests::UserId))
                .col(big_integer(TagRequests::StreetId))
                .col(string_len(TagRequests::Tag, 32))
                .col(text(TagRequests::Note))
                .col(string_len(TagRequests::Status, 16))
                .col(text_null(TagRequests::Reason))
                .col(timestamp_with_time_zone(TagRequests::CreatedAt))
                .col(timestamp_with_time_zone_null(TagRequests::DecidedAt))
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("ix_tag_requests_street_status")
                .table(TagRequests::Table)
                .col(TagRequests::StreetId)
                .col(TagRequests::Status)
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("ix_tag_requests_user")
                .table(TagRequests::Table)
                .col(TagRequests::UserId)
                .col(TagRequests::Tag)
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
        m.drop_table(Table::drop().table(TagRequests::Table).to_owned())
            .await?;
        m.drop_table(Table::drop().table(ResetCodes::Table).to_owned())
            .await?;
        for col in [
            Streets::DisplayName,
            Streets::FoundedOn,
            Streets::TimeZone,
            Streets::MaxActivityPoints,
            Streets::DemandResponseHours,
        ] {
            m.alter_table(
                Table::alter()
                    .table(Streets::Table)
                    .drop_column(col)
                    .to_owned(),
            )
            .await?;
        }
        m.alter_table(
            Table::alter()
                .table(Users::Table)
                .drop_column(Users::IsStreetAdmin)
                .to_owned(),
        )
        .await?;
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
enum ResetCodes {
    Table,
    Id,
    UserId,
    CodeHash,
    IssuedBy,
    CreatedAt,
    ExpiresAt,
    UsedAt,
}

#[derive(DeriveIden)]
enum TagRequests {
    Table,
    Id,
    UserId,
    StreetId,
    Tag,
    Note,
    Status,
    Reason,
    CreatedAt,
    DecidedAt,
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
    IsStreetAdmin,
}

#[derive(DeriveIden)]
enum Streets {
    Table,
    DisplayName,
    FoundedOn,
    TimeZone,
    MaxActivityPoints,
    DemandResponseHours,
}
