//! 商居同盟 (shangju): the GraphQL API server of a sub-district's merchant–resident alliance.

pub mod app;
pub mod auth;
pub mod clock;
pub mod config;
pub mod db;
pub mod demo;
pub mod domain;
pub mod error;
pub mod gateway;
pub mod global_id;
pub mod graphql;
pub mod http;
pub mod logging;
pub mod metrics;
pub mod net;
pub mod rows;
pub mod state;
