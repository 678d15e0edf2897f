use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

/// The honour roll and grants held for nominees without an account: the one-time claim code
/// printed on a certificate (kept as a keyed digest) and when it was claimed; and a name
/// shown on the roll only with its holder's consent, which nobody has given yet.
#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        // SQLite adds one column per statement.
        for col in [
            string_len_null(Awards::ClaimCodeDigest, 64),
            timestamp_with_time_zone_null(Awards::ClaimedAt),
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
        m.create_index(
            Index::create()
                .name("ux_awards_claim_code")
                .table(Awards::Table)
                .col(Awards::ClaimCodeDigest)
                .unique()
                .to_owned(),
        )
        .await?;
        // The public roll of a street, newest grant first.
        m.create_index(
            Index::create()
                .name("ix_awards_roll")
                .table(Awards::Table)
                .col(Awards::StreetId)
                .col(Awards::Status)
                .col(Awards::GrantedAt)
                .col(Awards::Id)
                .to_owned(),
        )
        .await?;
        // Opting out becomes opting in: a name shown by default was never consented to.
        m.alter_table(
            Table::alter()
                .table(Users::Table)
                .add_column(boolean(Users::HonourRollConsent).default(false))
                .to_owned(),
        )
        .await?;
        m.alter_table(
            Table::alter()
                .table(Users::Table)
                .drop_column(Users::HonourRollOptOut)
                .to_owned(),
        )
        .await
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.alter_table(
            Table::alter()
                .table(Users::Table)
                .add_column(boolean(Users::HonourRollOptOut).default(false))
                .to_owned(),
        )
        .await?;
        m.alter_table(
            Table::alter()
                .table(Users::Table)
                .drop_column(Users::HonourRollConsent)
                .to_owned(),
        )
        .await?;
        for name in ["ix_awards_roll", "ux_awards_claim_code"] {
            m.drop_index(Index::drop().name(name).table(Awards::Table).to_owned())
                .await?;
        }
        for col in [Awards::ClaimedAt, Awards::ClaimCodeDigest] {
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
    StreetId,
    Status,
    GrantedAt,
    Id,
    ClaimCodeDigest,
    ClaimedAt,
}

#[derive(DeriveIden)]
enum Users {
    Table,
    HonourRollOptOut,
    HonourRollConsent,
}
