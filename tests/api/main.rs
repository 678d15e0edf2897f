//! The one integration-test binary: every test drives the real router against a fresh database
//! built by the real migrations (SQLite by default, PostgreSQL when `TEST_DATABASE_URL` is set).

// In tests an unwrap is an assertion: a panic with the value is the failure report.
#![allow(clippy::unwrap_used)]

mod account;
mod audit;
mod award;
mod builders;
mod cancel;
mod cli;
mod context;
mod coupon;
mod demo;
mod eager;
mod entitlement;
mod events;
mod fakes;
mod grant;
mod honour_roll;
mod hostile;
mod http;
mod idempotency;
mod input;
mod introspection;
mod invitation;
mod lifecycle;
mod merchant;
mod metrics;
mod node;
mod order;
mod package;
mod pagination;
mod persisted;
mod points;
mod policy;
mod privacy;
mod profile;
mod rate_limits;
mod recipe;
mod recovery;
mod resident;
mod schema;
mod slow;
mod sms_code;
mod spec;
mod staff;
mod storage;
mod street;
mod support;
mod tag;
mod tokens;
mod wechat;
