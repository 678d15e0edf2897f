use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

/// Staff's register of the people of their street (`residents`), in either order it offers:
/// newest account first, or by name.
#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        for (name, sort) in [
            ("ix_users_street_created", Users::CreatedAt),
            ("ix_users_street_name", Users::DisplayName),
        ] {
            m.create_index(
                Index::create()
                    .name(name)
                    .table(Users::Table)
                    .col(Users::StreetId)
                    .col(sort)
                    .col(Users::Id)
                    .to_owned(),
            )
            .await?;
        }
        Ok(())
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        for name in ["ix_users_street_created", "ix_users_street_name"] {
            m.drop_index(Index::drop().name(name).table(Users::Table).to_owned())
                .await?;
        }
        Ok(())
    }
}

#[derive(DeriveIden)]
enum Users {
    Table,
    Id,
    StreetId,
    CreatedAt,
    DisplayName,
}
