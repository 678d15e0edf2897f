//! Database migrations, written with the portable `schema::*` helpers so that one set runs on
//! SQLite and PostgreSQL.

// `MigrationTrait` is an `async_trait` whose `&SchemaManager` argument cannot take a named
// lifetime in implementations (the lifetimes must stay late-bound).
#![allow(elided_lifetimes_in_paths)]

pub use sea_orm_migration::MigrationStatus;
pub use sea_orm_migration::prelude::*;

mod m20260101_000001_accounts;
mod m20260102_000001_merchants_coupons;
mod m20260103_000001_points;
mod m20260104_000001_events;
mod m20260105_000001_list_orders;
mod m20260106_000001_hardening;
mod m20260107_000001_street_setup;
mod m20260108_000001_sign_in_codes;
mod m20260109_000001_benefit_packages;
mod m20260110_000001_awards;
mod m20260111_000001_entitlements;
mod m20260112_000001_honour_roll;
mod m20260113_000001_lifecycle_history;
mod m20260114_000001_resident_register;
mod util;

pub struct Migrator;

#[async_trait::async_trait]
impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![
            Box::new(m20260101_000001_accounts::Migration),
            Box::new(m20260102_000001_merchants_coupons::Migration),
            Box::new(m20260103_000001_points::Migration),
            Box::new(m20260104_000001_events::Migration),
            Box::new(m20260105_000001_list_orders::Migration),
            Box::new(m20260106_000001_hardening::Migration),
            Box::new(m20260107_000001_street_setup::Migration),
            Box::new(m20260108_000001_sign_in_codes::Migration),
            Box::new(m20260109_000001_benefit_packages::Migration),
            Box::new(m20260110_000001_awards::Migration),
            Box::new(m20260111_000001_entitlements::Migration),
            Box::new(m20260112_000001_honour_roll::Migration),
            Box::new(m20260113_000001_lifecycle_history::Migration),
            Box::new(m20260114_000001_resident_register::Migration),
        ]
    }
}
