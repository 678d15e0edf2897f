//! Names stored as stable strings and shared by several tables: the kinds of object an audit
//! entry, an event, a history row or an opaque ID points at. An unknown stored value fails to
//! load (and is logged as an internal error); it never falls back to a default.

use sea_orm::entity::prelude::*;

/// Declares the kinds once: each is stored, and prefixes its IDs, as its own name.
macro_rules! object_kinds {
    ($($kind:ident),* $(,)?) => {
        /// A kind of object that has an id of its own.
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum)]
        #[sea_orm(
            rs_type = "String",
            db_type = "String(StringLen::N(32))",
            rename_all = "PascalCase"
        )]
        pub enum ObjectKind {
            $($kind,)*
        }

        impl ObjectKind {
            /// The stored (and ID-prefix) spelling.
            pub fn as_str(self) -> &'static str {
                match self {
                    $(ObjectKind::$kind => stringify!($kind),)*
                }
            }
        }
    };
}

object_kinds!(
    User,
    Street,
    Community,
    Merchant,
    Coupon,
    CouponClaim,
    ClerkInvitation,
    TagRequest,
    PointsEntry,
    BenefitPackage,
    PackageItem,
    Award,
    Entitlement,
);

#[cfg(test)]
mod tests {
    use super::*;
    use sea_orm::{ActiveEnum, Iterable};

    /// What is stored is what IDs are prefixed with: the kind's own name.
    #[test]
    fn each_kind_is_stored_as_its_name() {
        for kind in ObjectKind::iter() {
            assert_eq!(kind.to_value(), kind.as_str());
            assert_eq!(format!("{kind:?}"), kind.as_str());
        }
    }
}
