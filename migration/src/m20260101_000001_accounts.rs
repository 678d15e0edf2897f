use sea_orm_migration::{prelude::*, schema::*};

use crate::util::fk;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Streets {
    Table,
    Id,
    Name,
    CreatedAt,
}

#[derive(DeriveIden)]
enum Communities {
    Table,
    Id,
    StreetId,
    Name,
    CreatedAt,
}

#[derive(DeriveIden)]
enum Users {
    Table,
    Id,
    Phone,
    DisplayName,
    PasswordHash,
    StreetId,
    CommunityId,
    Disabled,
    SessionVersion,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum UserRoles {
    Table,
    UserId,
    Role,
}

#[derive(DeriveIden)]
enum UserTags {
    Table,
    UserId,
    Tag,
}

#[derive(DeriveIden)]
enum RefreshTokens {
    Table,
    Id,
    UserId,
    FamilyId,
    TokenHash,
    ExpiresAt,
    UsedAt,
    RevokedAt,
    CreatedAt,
}

#[derive(DeriveIden)]
enum LoginThrottles {
    Table,
    Phone,
    Failures,
    LockedUntil,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum AuditEntries {
    Table,
    Id,
    StreetId,
    ActorUserId,
    Action,
    TargetType,
    TargetId,
    Reason,
    RequestId,
    CreatedAt,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_table(
            Table::create()
                .table(Streets::Table)
                .col(big_pk_auto(Streets::Id))
                .col(string_len_uniq(Streets::Name, 64))
                .col(timestamp_with_time_zone(Streets::CreatedAt))
                .to_owned(),
        )
        .await?;

        m.create_table(
            Table::create()
                .table(Communities::Table)
                .col(big_pk_auto(Communities::Id))
                .col(big_integer(Communities::StreetId))
                .col(string_len(Communities::Name, 64))
                .col(timestamp_with_time_zone(Communities::CreatedAt))
                .foreign_key(&mut fk(
                    "fk_communities_street",
                    (Communities::Table, Communities::StreetId),
                    (Streets::Table, Streets::Id),
                ))
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("ux_communities_street_name")
                .table(Communities::Table)
                .col(Communities::StreetId)
                .col(Communities::Name)
                .unique()
                .to_owned(),
        )
        .await?;

        m.create_table(
            Table::create()
                .table(Users::Table)
                .col(big_pk_auto(Users::Id))
                .col(string_len_uniq(Users::Phone, 16))
                .col(string_len(Users::DisplayName, 64))
                .col(string_len(Users::PasswordHash, 255))
                .col(big_integer_null(Users::StreetId))
                .col(big_integer_null(Users::CommunityId))
                .col(boolean(Users::Disabled).default(false))
                .col(integer(Users::SessionVersion).default(0))
                .col(timestamp_with_time_zone(Users::CreatedAt))
                .col(timestamp_with_time_zone(Users::UpdatedAt))
                .foreign_key(&mut fk(
                    "fk_users_street",
                    (Users::Table, Users::StreetId),
                    (Streets::Table, Streets::Id),
                ))
                .foreign_key(&mut fk(
                    "fk_users_community",
                    (Users::Table, Users::CommunityId),
                    (Communities::Table, Communities::Id),
                ))
                .to_owned(),
        )
        .await?;

        m.create_table(
            Table::create()
                .table(UserRoles::Table)
                .col(big_integer(UserRoles::UserId))
                .col(string_len(UserRoles::Role, 16))
                .primary_key(Index::create().col(UserRoles::UserId).col(UserRoles::Role))
                .foreign_key(&mut fk(
                    "fk_user_roles_user",
                    (UserRoles::Table, UserRoles::UserId),
                    (Users::Table, Users::Id),
                ))
                .to_owned(),
        )
        .await?;

        m.create_table(
            Table::create()
                .table(UserTags::Table)
                .col(big_integer(UserTags::UserId))
                .col(string_len(UserTags::Tag, 32))
                .primary_key(Index::create().col(UserTags::UserId).col(UserTags::Tag))
                .foreign_key(&mut fk(
                    "fk_user_tags_user",
                    (UserTags::Table, UserTags::UserId),
                    (Users::Table, Users::Id),
                ))
                .to_owned(),
        )
        .await?;

        m.create_table(
            Table::create()
                .table(RefreshTokens::Table)
                .col(big_pk_auto(RefreshTokens::Id))
                .col(big_integer(RefreshTokens::UserId))
                .col(string_len(RefreshTokens::FamilyId, 36))
                .col(string_len_uniq(RefreshTokens::TokenHash, 64))
                .col(timestamp_with_time_zone(RefreshTokens::ExpiresAt))
                .col(timestamp_with_time_zone_null(RefreshTokens::UsedAt))
                .col(timestamp_with_time_zone_null(RefreshTokens::RevokedAt))
                .col(timestamp_with_time_zone(RefreshTokens::CreatedAt))
                .foreign_key(&mut fk(
                    "fk_refresh_tokens_user",
                    (RefreshTokens::Table, RefreshTokens::UserId),
                    (Users::Table, Users::Id),
                ))
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("ix_refresh_tokens_family")
                .table(RefreshTokens::Table)
                .col(RefreshTokens::FamilyId)
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("ix_refresh_tokens_user")
                .table(RefreshTokens::Table)
                .col(RefreshTokens::UserId)
                .to_owned(),
        )
        .await?;

        m.create_table(
            Table::create()
                .table(LoginThrottles::Table)
                .col(string_len(LoginThrottles::Phone, 32).primary_key())
                .col(integer(LoginThrottles::Failures))
                .col(timestamp_with_time_zone_null(LoginThrottles::LockedUntil))
                .col(timestamp_with_time_zone(LoginThrottles::UpdatedAt))
                .to_owned(),
        )
        .await?;

        m.create_table(
            Table::create()
                .table(AuditEntries::Table)
                .col(big_pk_auto(AuditEntries::Id))
                .col(big_integer_null(AuditEntries::StreetId))
                .col(big_integer_null(AuditEntries::ActorUserId))
                .col(string_len(AuditEntries::Action, 64))
                .col(string_len(AuditEntries::TargetType, 32))
                .col(big_integer_null(AuditEntries::TargetId))
                .col(text_null(AuditEntries::Reason))
                .col(string_len_null(AuditEntries::RequestId, 64))
                .col(timestamp_with_time_zone(AuditEntries::CreatedAt))
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("ix_audit_entries_street_time")
                .table(AuditEntries::Table)
                .col(AuditEntries::StreetId)
                .col(AuditEntries::CreatedAt)
                .to_owned(),
        )
        .await?;
        Ok(())
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        for table in [
            AuditEntries::Table.into_iden(),
            LoginThrottles::Table.into_iden(),
            RefreshTokens::Table.into_iden(),
            UserTags::Table.into_iden(),
            UserRoles::Table.into_iden(),
            Users::Table.into_iden(),
            Communities::Table.into_iden(),
            Streets::Table.into_iden(),
        ] {
            m.drop_table(Table::drop().table(table).to_owned()).await?;
        }
        Ok(())
    }
}
