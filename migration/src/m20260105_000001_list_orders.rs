use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

/// One index per sort key a list offers (`orderBy`), with the id that breaks ties, so every
/// keyset page is an index range scan. Lists filtered by an owner (a user's claims and points)
/// lead with it.
const INDEXES: &[(&str, &str, &[&str])] = &[
    ("ix_merchants_created", "merchants", &["created_at", "id"]),
    ("ix_merchants_name", "merchants", &["name", "id"]),
    ("ix_coupons_created", "coupons", &["created_at", "id"]),
    ("ix_coupons_valid_until", "coupons", &["valid_until", "id"]),
    (
        "ix_coupon_claims_user_claimed",
        "coupon_claims",
        &["user_id", "claimed_at", "id"],
    ),
    (
        "ix_coupon_claims_user_expires",
        "coupon_claims",
        &["user_id", "expires_at", "id"],
    ),
    (
        "ix_coupon_claims_merchant_claimed",
        "coupon_claims",
        &["merchant_id", "claimed_at", "id"],
    ),
    (
        "ix_coupon_claims_merchant_expires",
        "coupon_claims",
        &["merchant_id", "expires_at", "id"],
    ),
    (
        "ix_points_entries_user_created",
        "points_entries",
        &["user_id", "created_at", "id"],
    ),
    ("ix_streets_created", "streets", &["created_at", "id"]),
    ("ix_streets_name", "streets", &["name", "id"]),
];

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        for (name, table, columns) in INDEXES {
            let mut index = Index::create();
            index.name(*name).table(Alias::new(*table));
            for c in *columns {
                index.col(Alias::new(*c));
            }
            m.create_index(index.to_owned()).await?;
        }
        Ok(())
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        for (name, table, _) in INDEXES {
            m.drop_index(
                Index::drop()
                    .name(*name)
                    .table(Alias::new(*table))
                    .to_owned(),
            )
            .await?;
        }
        Ok(())
    }
}
