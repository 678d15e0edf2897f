use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Events {
    Table,
    Id,
    Kind,
    StreetId,
    ActorUserId,
    ObjectType,
    ObjectId,
    ConcernedUserIds,
    Payload,
    RequestId,
    CreatedAt,
}

/// The events outbox: every change a person should hear about writes a row here in its own
/// transaction; the notifications capability reads it in order of id.
#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_table(
            Table::create()
                .table(Events::Table)
                .col(big_pk_auto(Events::Id))
                .col(string_len(Events::Kind, 64))
                .col(big_integer_null(Events::StreetId))
                .col(big_integer_null(Events::ActorUserId))
                .col(string_len(Events::ObjectType, 32))
                .col(big_integer(Events::ObjectId))
                .col(json(Events::ConcernedUserIds))
                .col(json(Events::Payload))
                .col(string_len_null(Events::RequestId, 64))
                .col(timestamp_with_time_zone(Events::CreatedAt))
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("ix_events_object")
                .table(Events::Table)
                .col(Events::ObjectType)
                .col(Events::ObjectId)
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("ix_events_street_time")
                .table(Events::Table)
                .col(Events::StreetId)
                .col(Events::CreatedAt)
                .to_owned(),
        )
        .await
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.drop_table(Table::drop().table(Events::Table).to_owned())
            .await
    }
}
