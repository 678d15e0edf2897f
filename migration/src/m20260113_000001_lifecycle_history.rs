use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum LifecycleHistory {
    Table,
    Id,
    ObjectType,
    ObjectId,
    StreetId,
    Action,
    FromState,
    ToState,
    ActorUserId,
    Note,
    RequestId,
    CreatedAt,
}

/// The history of every lifecycle: one row per step (object, action, from, to, actor, note,
/// request, time), written in the step's transaction, so an object's timeline is read from one
/// table whatever its kind.
#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_table(
            Table::create()
                .table(LifecycleHistory::Table)
                .col(big_pk_auto(LifecycleHistory::Id))
                .col(string_len(LifecycleHistory::ObjectType, 32))
                .col(big_integer(LifecycleHistory::ObjectId))
                .col(big_integer_null(LifecycleHistory::StreetId))
                .col(string_len(LifecycleHistory::Action, 32))
                .col(string_len(LifecycleHistory::FromState, 32))
                .col(string_len(LifecycleHistory::ToState, 32))
                .col(big_integer_null(LifecycleHistory::ActorUserId))
                .col(text_null(LifecycleHistory::Note))
                .col(string_len_null(LifecycleHistory::RequestId, 64))
                .col(timestamp_with_time_zone(LifecycleHistory::CreatedAt))
                .to_owned(),
        )
        .await?;
        // An object's timeline, in order of its steps.
        m.create_index(
            Index::create()
                .name("ix_lifecycle_history_object")
                .table(LifecycleHistory::Table)
                .col(LifecycleHistory::ObjectType)
                .col(LifecycleHistory::ObjectId)
                .col(LifecycleHistory::Id)
                .to_owned(),
        )
        .await
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.drop_table(Table::drop().table(LifecycleHistory::Table).to_owned())
            .await
    }
}
