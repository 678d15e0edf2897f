//! Names stored as stable strings and shared by several tables: the kinds of object an audit
//! entry, an event or an opaque ID points at. An unknown stored value fails to load (and is
//! logged as an internal error); it never falls back to a default.

use sea_orm::entity::prelude::*;

/// A kind of object that has an id of its own.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::N(32))")]
pub enum ObjectKind {
    #[sea_orm(string_value = "User")]
    User,
    #[sea_orm(string_value = "Street")]
    Street,
    #[sea_orm(string_value = "Community")]
    Community,
    #[sea_orm(string_value = "Merchant")]
    Merchant,
    #[sea_orm(string_value = "Coupon")]
    Coupon,
    #[sea_orm(string_value = "CouponClaim")]
    CouponClaim,
    #[sea_orm(string_value = "ClerkInvitation")]
    ClerkInvitation,
    #[sea_orm(string_value = "TagRequest")]
    TagRequest,
    #[sea_orm(string_value = "PointsEntry")]
    PointsEntry,
    #[sea_orm(string_value = "BenefitPackage")]
    BenefitPackage,
    #[sea_orm(string_value = "PackageItem")]
    PackageItem,
    #[sea_orm(string_value = "Award")]
    Award,
    #[sea_orm(string_value = "Entitlement")]
    Entitlement,
}

impl ObjectKind {
    /// The stored (and ID-prefix) spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            ObjectKind::User => "User",
            ObjectKind::Street => "Street",
            ObjectKind::Community => "Community",
            ObjectKind::Merchant => "Merchant",
            ObjectKind::Coupon => "Coupon",
            ObjectKind::CouponClaim => "CouponClaim",
            ObjectKind::ClerkInvitation => "ClerkInvitation",
            ObjectKind::TagRequest => "TagRequest",
            ObjectKind::PointsEntry => "PointsEntry",
            ObjectKind::BenefitPackage => "BenefitPackage",
            ObjectKind::PackageItem => "PackageItem",
            ObjectKind::Award => "Award",
            ObjectKind::Entitlement => "Entitlement",
        }
    }
}
