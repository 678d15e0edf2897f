use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;
use sea_orm_migration::sea_orm::{ConnectionTrait, DbBackend};

use crate::util::fk;

#[derive(DeriveMigrationName)]
pub struct Migration;

/// The append-only tables: the database itself refuses to change or remove their rows (and,
/// on PostgreSQL, to truncate them), so no bug or script going through the application's
/// queries can rewrite history; only a role that owns the tables could drop the triggers.
const APPEND_ONLY: [&str; 2] = ["audit_entries", "points_entries"];

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        // An idempotency key is bound to the request it first came with: who sent it, for which
        // command, and a fingerprint of the parameters.
        m.create_table(
            Table::create()
                .table(IdempotencyKeys::Table)
                .col(big_pk_auto(IdempotencyKeys::Id))
                .col(big_integer(IdempotencyKeys::ActorUserId))
                .col(string_len(IdempotencyKeys::Scope, 32))
                .col(string_len(IdempotencyKeys::Key, 64))
                .col(string_len(IdempotencyKeys::Fingerprint, 64))
                .col(big_integer_null(IdempotencyKeys::ResultId))
                .col(timestamp_with_time_zone(IdempotencyKeys::CreatedAt))
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("ux_idempotency_keys")
                .table(IdempotencyKeys::Table)
                .col(IdempotencyKeys::ActorUserId)
                .col(IdempotencyKeys::Scope)
                .col(IdempotencyKeys::Key)
                .unique()
                .to_owned(),
        )
        .await?;
        // Clerks join by invitation, so that adding one reveals nothing about a phone number.
        m.create_table(
            Table::create()
                .table(ClerkInvitations::Table)
                .col(big_pk_auto(ClerkInvitations::Id))
                .col(big_integer(ClerkInvitations::MerchantId))
                .col(big_integer(ClerkInvitations::StreetId))
                .col(string_len(ClerkInvitations::Phone, 16))
                .col(big_integer(ClerkInvitations::InvitedBy))
                .col(string_len(ClerkInvitations::Status, 16))
                .col(timestamp_with_time_zone(ClerkInvitations::CreatedAt))
                .col(timestamp_with_time_zone(ClerkInvitations::ExpiresAt))
                .col(timestamp_with_time_zone_null(ClerkInvitations::DecidedAt))
                .foreign_key(&mut fk(
                    "fk_clerk_invitations_merchant",
                    (ClerkInvitations::Table, ClerkInvitations::MerchantId),
                    (Merchants::Table, Merchants::Id),
                ))
                .to_owned(),
        )
        .await?;
        for (name, col) in [
            ("ix_clerk_invitations_phone", ClerkInvitations::Phone),
            (
                "ix_clerk_invitations_merchant",
                ClerkInvitations::MerchantId,
            ),
        ] {
            m.create_index(
                Index::create()
                    .name(name)
                    .table(ClerkInvitations::Table)
                    .col(col)
                    .col(ClerkInvitations::Status)
                    .to_owned(),
            )
            .await?;
        }
        // SQLite adds one column per statement.
        for col in [AuditEntries::Before, AuditEntries::After] {
            m.alter_table(
                Table::alter()
                    .table(AuditEntries::Table)
                    .add_column(json_null(col))
                    .to_owned(),
            )
            .await?;
        }
        let db = m.get_connection();
        if db.get_database_backend() == DbBackend::Postgres {
            db.execute_unprepared(
                "CREATE FUNCTION refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$ \
                 BEGIN RAISE EXCEPTION '% is append-only', TG_TABLE_NAME; END $$",
            )
            .await?;
        }
        for table in APPEND_ONLY {
            for op in ["UPDATE", "DELETE"] {
                let name = format!("{table}_no_{}", op.to_lowercase());
                let sql = match db.get_database_backend() {
                    DbBackend::Postgres => format!(
                        "CREATE TRIGGER {name} BEFORE {op} ON {table} \
                         FOR EACH ROW EXECUTE FUNCTION refuse_change()"
                    ),
                    _ => format!(
                        "CREATE TRIGGER {name} BEFORE {op} ON {table} \
                         BEGIN SELECT RAISE(ABORT, '{table} is append-only'); END"
                    ),
                };
                db.execute_unprepared(&sql).await?;
            }
            // SQLite has no TRUNCATE: its `DELETE` without `WHERE` fires the trigger above.
            if db.get_database_backend() == DbBackend::Postgres {
                db.execute_unprepared(&format!(
                    "CREATE TRIGGER {table}_no_truncate BEFORE TRUNCATE ON {table} \
                     FOR EACH STATEMENT EXECUTE FUNCTION refuse_change()"
                ))
                .await?;
            }
        }
        Ok(())
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        let db = m.get_connection();
        for table in APPEND_ONLY {
            if db.get_database_backend() == DbBackend::Postgres {
                db.execute_unprepared(&format!("DROP TRIGGER {table}_no_truncate ON {table}"))
                    .await?;
            }
            for op in ["update", "delete"] {
                let sql = match db.get_database_backend() {
                    DbBackend::Postgres => format!("DROP TRIGGER {table}_no_{op} ON {table}"),
                    _ => format!("DROP TRIGGER {table}_no_{op}"),
                };
                db.execute_unprepared(&sql).await?;
            }
        }
        if db.get_database_backend() == DbBackend::Postgres {
            db.execute_unprepared("DROP FUNCTION refuse_change()")
                .await?;
        }
        for col in [AuditEntries::Before, AuditEntries::After] {
            m.alter_table(
                Table::alter()
                    .table(AuditEntries::Table)
                    .drop_column(col)
                    .to_owned(),
            )
            .await?;
        }
        m.drop_table(Table::drop().table(ClerkInvitations::Table).to_owned())
            .await?;
        m.drop_table(Table::drop().table(IdempotencyKeys::Table).to_owned())
            .await
    }
}

#[derive(DeriveIden)]
enum IdempotencyKeys {
    Table,
    Id,
    ActorUserId,
    Scope,
    Key,
    Fingerprint,
    ResultId,
    CreatedAt,
}

#[derive(DeriveIden)]
enum ClerkInvitations {
    Table,
    Id,
    MerchantId,
    StreetId,
    Phone,
    InvitedBy,
    Status,
    CreatedAt,
    ExpiresAt,
    DecidedAt,
}

#[derive(DeriveIden)]
enum Merchants {
    Table,
    Id,
}

#[derive(DeriveIden)]
enum AuditEntries {
    Table,
    Before,
    After,
}
