//! The rules of the alliance, one module per domain area. Nothing here knows about GraphQL or
//! HTTP: functions take checked values and the viewer, and return domain results or `AppError`.

pub mod account;
pub mod audience;
pub mod audit;
pub mod award;
pub mod codes;
pub mod context;
pub mod coupon;
pub mod entitlement;
pub mod events;
pub mod idempotency;
pub mod invitation;
pub mod lifecycle;
pub mod merchant;
pub mod package;
pub mod page;
pub mod points;
pub mod policy;
pub mod privacy;
pub mod recovery;
pub mod resident;
pub mod sms_code;
pub mod staff;
pub mod street;
pub mod tag;
pub mod values;
pub mod wechat;
