use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

use crate::util::fk;

#[derive(DeriveMigrationName)]
pub struct Migration;

/// Signing in as users here do: one-time codes sent by SMS (with the daily counts that cap
/// them), and WeChat mini-program accounts linked to ours.
#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        // Codes sent to a phone; only an HMAC of each is kept.
        m.create_table(
            Table::create()
                .table(SmsCodes::Table)
                .col(big_pk_auto(SmsCodes::Id))
                .col(string_len(SmsCodes::Phone, 32))
                .col(string_len(SmsCodes::CodeHash, 64))
                .col(integer(SmsCodes::Tries).default(0))
                .col(string_len_null(SmsCodes::Address, 64))
                .col(timestamp_with_time_zone(SmsCodes::CreatedAt))
                .col(timestamp_with_time_zone(SmsCodes::ExpiresAt))
                .col(timestamp_with_time_zone_null(SmsCodes::UsedAt))
                .col(timestamp_with_time_zone_null(SmsCodes::FailedAt))
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("ix_sms_codes_phone")
                .table(SmsCodes::Table)
                .col(SmsCodes::Phone)
                .col(SmsCodes::Id)
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("ix_sms_codes_created")
                .table(SmsCodes::Table)
                .col(SmsCodes::CreatedAt)
                .to_owned(),
        )
        .await?;
        // Codes sent to a phone, and for a client address, on the local day of the last one:
        // one row each, which is also what requests for one phone queue on.
        m.create_table(
            Table::create()
                .table(SmsQuotas::Table)
                .col(string_len(SmsQuotas::Scope, 8))
                .col(string_len(SmsQuotas::Subject, 64))
                .col(date(SmsQuotas::Day))
                .col(integer(SmsQuotas::Sent))
                .primary_key(
                    Index::create()
                        .col(SmsQuotas::Scope)
                        .col(SmsQuotas::Subject),
                )
                .to_owned(),
        )
        .await?;
        // When an SMS code last proved the phone: an account registered without one is not
        // its holder's until then.
        m.alter_table(
            Table::alter()
                .table(Users::Table)
                .add_column(timestamp_with_time_zone_null(Users::PhoneVerifiedAt))
                .to_owned(),
        )
        .await?;
        // One WeChat account (of the configured mini-program) per user, and the other way round.
        m.create_table(
            Table::create()
                .table(WechatAccounts::Table)
                .col(big_pk_auto(WechatAccounts::Id))
                .col(big_integer_uniq(WechatAccounts::UserId))
                .col(string_len_uniq(WechatAccounts::Openid, 128))
                .col(string_len_null(WechatAccounts::Unionid, 128))
                .col(timestamp_with_time_zone(WechatAccounts::CreatedAt))
                .foreign_key(&mut fk(
                    "fk_wechat_accounts_user",
                    (WechatAccounts::Table, WechatAccounts::UserId),
                    (Users::Table, Users::Id),
                ))
                .to_owned(),
        )
        .await?;
        // A WeChat user not linked yet, until they prove a phone with an SMS code.
        m.create_table(
            Table::create()
                .table(WechatBindings::Table)
                .col(big_pk_auto(WechatBindings::Id))
                .col(string_len_uniq(WechatBindings::TicketHash, 64))
                .col(string_len(WechatBindings::Openid, 128))
                .col(string_len_null(WechatBindings::Unionid, 128))
                .col(timestamp_with_time_zone(WechatBindings::CreatedAt))
                .col(timestamp_with_time_zone(WechatBindings::ExpiresAt))
                .col(timestamp_with_time_zone_null(WechatBindings::UsedAt))
                .to_owned(),
        )
        .await?;
        Ok(())
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        for table in [
            WechatBindings::Table.into_iden(),
            WechatAccounts::Table.into_iden(),
            SmsQuotas::Table.into_iden(),
            SmsCodes::Table.into_iden(),
        ] {
            m.drop_table(Table::drop().table(table).to_owned()).await?;
        }
        m.alter_table(
            Table::alter()
                .table(Users::Table)
                .drop_column(Users::PhoneVerifiedAt)
                .to_owned(),
        )
        .await
    }
}

#[derive(DeriveIden)]
enum SmsCodes {
    Table,
    Id,
    Phone,
    CodeHash,
    Tries,
    Address,
    CreatedAt,
    ExpiresAt,
    UsedAt,
    FailedAt,
}

#[derive(DeriveIden)]
enum SmsQuotas {
    Table,
    Scope,
    Subject,
    Day,
    Sent,
}

#[derive(DeriveIden)]
enum WechatAccounts {
    Table,
    Id,
    UserId,
    Openid,
    Unionid,
    CreatedAt,
}

#[derive(DeriveIden)]
enum WechatBindings {
    Table,
    Id,
    TicketHash,
    Openid,
    Unionid,
    CreatedAt,
    ExpiresAt,
    UsedAt,
}

#[derive(DeriveIden)]
enum Users {
    Table,
    Id,
    PhoneVerifiedAt,
}
