use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

use crate::util::fk;

#[derive(DeriveMigrationName)]
pub struct Migration;

/// Awards for good deeds: anyone signed in nominates a person (who may have no account yet),
/// staff of the street where it happened review.
#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_table(
            Table::create()
                .table(Awards::Table)
                .col(big_pk_auto(Awards::Id))
                .col(big_integer(Awards::StreetId))
                .col(big_integer(Awards::CommunityId))
                .col(big_integer(Awards::NominatorId))
                .col(big_integer_null(Awards::NomineeUserId))
                .col(string_len(Awards::NomineeName, 64))
                .col(string_len_null(Awards::NomineePhone, 32))
                .col(string_len(Awards::Title, 64))
                .col(text(Awards::Deed))
                .col(date(Awards::HappenedOn))
                .col(text_null(Awards::Evidence))
                .col(string_len(Awards::Status, 16))
                .col(text_null(Awards::StatusReason))
                .col(timestamp_with_time_zone(Awards::CreatedAt))
                .col(timestamp_with_time_zone(Awards::UpdatedAt))
                .foreign_key(&mut fk(
                    "fk_awards_street",
                    (Awards::Table, Awards::StreetId),
                    (Streets::Table, Streets::Id),
                ))
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("ix_awards_street")
                .table(Awards::Table)
                .col(Awards::StreetId)
                .col(Awards::Id)
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("ix_awards_nominator")
                .table(Awards::Table)
                .col(Awards::NominatorId)
                .col(Awards::Id)
                .to_owned(),
        )
        .await
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.drop_table(Table::drop().table(Awards::Table).to_owned())
            .await
    }
}

#[derive(DeriveIden)]
enum Awards {
    Table,
    Id,
    StreetId,
    CommunityId,
    NominatorId,
    NomineeUserId,
    NomineeName,
    NomineePhone,
    Title,
    Deed,
    HappenedOn,
    Evidence,
    Status,
    StatusReason,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum Streets {
    Table,
    Id,
}
