use sea_orm_migration::{prelude::*, schema::*};

use crate::util::fk;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Users {
    Table,
    Id,
    BirthDate,
}

#[derive(DeriveIden)]
enum Streets {
    Table,
    Id,
}

#[derive(DeriveIden)]
enum Merchants {
    Table,
    Id,
    StreetId,
    CommunityId,
    OwnerUserId,
    Name,
    Category,
    Address,
    ContactPhone,
    LicenceNo,
    Description,
    Status,
    StatusReason,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum MerchantMembers {
    Table,
    MerchantId,
    UserId,
    Role,
    CreatedAt,
}

#[derive(DeriveIden)]
enum Coupons {
    Table,
    Id,
    MerchantId,
    StreetId,
    Title,
    Description,
    Kind,
    AmountFen,
    MinSpendFen,
    PercentOff,
    ItemName,
    TotalStock,
    RemainingStock,
    PerUserLimit,
    ValidFrom,
    ValidUntil,
    MinAge,
    Status,
    StatusReason,
    ClaimedCount,
    RedeemedCount,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum CouponAudiences {
    Table,
    CouponId,
    Rule,
    Value,
}

#[derive(DeriveIden)]
enum CouponClaims {
    Table,
    Id,
    CouponId,
    MerchantId,
    UserId,
    Code,
    Status,
    ClaimedAt,
    ExpiresAt,
    RedeemedAt,
    RedeemedBy,
    RedeemKey,
    VoidedAt,
    VoidedBy,
    VoidReason,
}

fn index(name: &str, table: impl IntoIden, cols: Vec<impl IntoIden>) -> IndexCreateStatement {
    let mut idx = Index::create().name(name).table(table).to_owned();
    for c in cols {
        idx.col(c);
    }
    idx
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.alter_table(
            Table::alter()
                .table(Users::Table)
                .add_column(date_null(Users::BirthDate))
                .to_owned(),
        )
        .await?;

        m.create_table(
            Table::create()
                .table(Merchants::Table)
                .col(big_pk_auto(Merchants::Id))
                .col(big_integer(Merchants::StreetId))
                .col(big_integer_null(Merchants::CommunityId))
                .col(big_integer(Merchants::OwnerUserId))
                .col(string_len(Merchants::Name, 64))
                .col(string_len(Merchants::Category, 32))
                .col(string_len(Merchants::Address, 200))
                .col(string_len(Merchants::ContactPhone, 16))
                .col(string_len(Merchants::LicenceNo, 64))
                .col(text(Merchants::Description))
                .col(string_len(Merchants::Status, 16))
                .col(text_null(Merchants::StatusReason))
                .col(timestamp_with_time_zone(Merchants::CreatedAt))
                .col(timestamp_with_time_zone(Merchants::UpdatedAt))
                .foreign_key(&mut fk(
                    "fk_merchants_street",
                    (Merchants::Table, Merchants::StreetId),
                    (Streets::Table, Streets::Id),
                ))
                .foreign_key(&mut fk(
                    "fk_merchants_owner",
                    (Merchants::Table, Merchants::OwnerUserId),
                    (Users::Table, Users::Id),
                ))
                .to_owned(),
        )
        .await?;
        m.create_index(index(
            "ix_merchants_street_status",
            Merchants::Table,
            vec![Merchants::StreetId, Merchants::Status],
        ))
        .await?;
        m.create_index(
            index(
                "ux_merchants_street_licence",
                Merchants::Table,
                vec![Merchants::StreetId, Merchants::LicenceNo],
            )
            .unique()
            .to_owned(),
        )
        .await?;
        m.create_index(index(
            "ix_merchants_status_category",
            Merchants::Table,
            vec![Merchants::Status, Merchants::Category],
        ))
        .await?;

        m.create_table(
            Table::create()
                .table(MerchantMembers::Table)
                .col(big_integer(MerchantMembers::MerchantId))
                .col(big_integer(MerchantMembers::UserId))
                .col(string_len(MerchantMembers::Role, 16))
                .col(timestamp_with_time_zone(MerchantMembers::CreatedAt))
                .primary_key(
                    Index::create()
                        .col(MerchantMembers::MerchantId)
                        .col(MerchantMembers::UserId),
                )
                .foreign_key(&mut fk(
                    "fk_merchant_members_merchant",
                    (MerchantMembers::Table, MerchantMembers::MerchantId),
                    (Merchants::Table, Merchants::Id),
                ))
                .foreign_key(&mut fk(
                    "fk_merchant_members_user",
                    (MerchantMembers::Table, MerchantMembers::UserId),
                    (Users::Table, Users::Id),
                ))
                .to_owned(),
        )
        .await?;
        m.create_index(index(
            "ix_merchant_members_user",
            MerchantMembers::Table,
            vec![MerchantMembers::UserId],
        ))
        .await?;

        m.create_table(
            Table::create()
                .table(Coupons::Table)
                .col(big_pk_auto(Coupons::Id))
                .col(big_integer(Coupons::MerchantId))
                .col(big_integer(Coupons::StreetId))
                .col(string_len(Coupons::Title, 64))
                .col(text(Coupons::Description))
                .col(string_len(Coupons::Kind, 16))
                .col(big_integer_null(Coupons::AmountFen))
                .col(big_integer_null(Coupons::MinSpendFen))
                .col(integer_null(Coupons::PercentOff))
                .col(string_len_null(Coupons::ItemName, 64))
                .col(integer_null(Coupons::TotalStock))
                .col(integer_null(Coupons::RemainingStock))
                .col(integer(Coupons::PerUserLimit))
                .col(timestamp_with_time_zone(Coupons::ValidFrom))
                .col(timestamp_with_time_zone(Coupons::ValidUntil))
                .col(integer_null(Coupons::MinAge))
                .col(string_len(Coupons::Status, 16))
                .col(text_null(Coupons::StatusReason))
                .col(integer(Coupons::ClaimedCount).default(0))
                .col(integer(Coupons::RedeemedCount).default(0))
                .col(timestamp_with_time_zone(Coupons::CreatedAt))
                .col(timestamp_with_time_zone(Coupons::UpdatedAt))
                .foreign_key(&mut fk(
                    "fk_coupons_merchant",
                    (Coupons::Table, Coupons::MerchantId),
                    (Merchants::Table, Merchants::Id),
                ))
                .check(Expr::cust(
                    "remaining_stock IS NULL OR remaining_stock >= 0",
                ))
                .to_owned(),
        )
        .await?;
        m.create_index(index(
            "ix_coupons_merchant_status",
            Coupons::Table,
            vec![Coupons::MerchantId, Coupons::Status],
        ))
        .await?;
        m.create_index(index(
            "ix_coupons_status_until",
            Coupons::Table,
            vec![Coupons::Status, Coupons::ValidUntil],
        ))
        .await?;

        m.create_table(
            Table::create()
                .table(CouponAudiences::Table)
                .col(big_integer(CouponAudiences::CouponId))
                .col(string_len(CouponAudiences::Rule, 16))
                .col(string_len(CouponAudiences::Value, 32))
                .primary_key(
                    Index::create()
                        .col(CouponAudiences::CouponId)
                        .col(CouponAudiences::Rule)
                        .col(CouponAudiences::Value),
                )
                .foreign_key(&mut fk(
                    "fk_coupon_audiences_coupon",
                    (CouponAudiences::Table, CouponAudiences::CouponId),
                    (Coupons::Table, Coupons::Id),
                ))
                .to_owned(),
        )
        .await?;

        m.create_table(
            Table::create()
                .table(CouponClaims::Table)
                .col(big_pk_auto(CouponClaims::Id))
                .col(big_integer(CouponClaims::CouponId))
                .col(big_integer(CouponClaims::MerchantId))
                .col(big_integer(CouponClaims::UserId))
                .col(string_len_uniq(CouponClaims::Code, 16))
                .col(string_len(CouponClaims::Status, 16))
                .col(timestamp_with_time_zone(CouponClaims::ClaimedAt))
                .col(timestamp_with_time_zone(CouponClaims::ExpiresAt))
                .col(timestamp_with_time_zone_null(CouponClaims::RedeemedAt))
                .col(big_integer_null(CouponClaims::RedeemedBy))
                .col(string_len_null(CouponClaims::RedeemKey, 64))
                .col(timestamp_with_time_zone_null(CouponClaims::VoidedAt))
                .col(big_integer_null(CouponClaims::VoidedBy))
                .col(text_null(CouponClaims::VoidReason))
                .foreign_key(&mut fk(
                    "fk_coupon_claims_coupon",
                    (CouponClaims::Table, CouponClaims::CouponId),
                    (Coupons::Table, Coupons::Id),
                ))
                .foreign_key(&mut fk(
                    "fk_coupon_claims_user",
                    (CouponClaims::Table, CouponClaims::UserId),
                    (Users::Table, Users::Id),
                ))
                .to_owned(),
        )
        .await?;
        m.create_index(index(
            "ix_coupon_claims_user_coupon",
            CouponClaims::Table,
            vec![CouponClaims::UserId, CouponClaims::CouponId],
        ))
        .await?;
        m.create_index(index(
            "ix_coupon_claims_coupon_status",
            CouponClaims::Table,
            vec![CouponClaims::CouponId, CouponClaims::Status],
        ))
        .await?;
        m.create_index(index(
            "ix_coupon_claims_merchant",
            CouponClaims::Table,
            vec![CouponClaims::MerchantId],
        ))
        .await?;
        Ok(())
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        for table in [
            CouponClaims::Table.into_iden(),
            CouponAudiences::Table.into_iden(),
            Coupons::Table.into_iden(),
            MerchantMembers::Table.into_iden(),
            Merchants::Table.into_iden(),
        ] {
            m.drop_table(Table::drop().table(table).to_owned()).await?;
        }
        m.alter_table(
            Table::alter()
                .table(Users::Table)
                .drop_column(Users::BirthDate)
                .to_owned(),
        )
        .await
    }
}
