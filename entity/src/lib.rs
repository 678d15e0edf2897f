//! SeaORM entities of the alliance: one module per table.

pub mod audit_entry;
pub mod benefit_package;
pub mod clerk_invitation;
pub mod community;
pub mod coupon;
pub mod coupon_audience;
pub mod coupon_claim;
pub mod event;
pub mod idempotency_key;
pub mod login_throttle;
pub mod merchant;
pub mod merchant_member;
pub mod names;
pub mod package_item;
pub mod points_account;
pub mod points_entry;
pub mod refresh_token;
pub mod reset_code;
pub mod sms_code;
pub mod sms_quota;
pub mod street;
pub mod tag_request;
pub mod user;
pub mod user_role;
pub mod user_tag;
pub mod wechat_account;
pub mod wechat_binding;

pub mod prelude {
    pub use super::audit_entry::Entity as AuditEntry;
    pub use super::benefit_package::Entity as BenefitPackage;
    pub use super::clerk_invitation::Entity as ClerkInvitation;
    pub use super::community::Entity as Community;
    pub use super::coupon::Entity as Coupon;
    pub use super::coupon_audience::Entity as CouponAudience;
    pub use super::coupon_claim::Entity as CouponClaim;
    pub use super::event::Entity as Event;
    pub use super::idempotency_key::Entity as IdempotencyKey;
    pub use super::login_throttle::Entity as LoginThrottle;
    pub use super::merchant::Entity as Merchant;
    pub use super::merchant_member::Entity as MerchantMember;
    pub use super::package_item::Entity as PackageItem;
    pub use super::points_account::Entity as PointsAccount;
    pub use super::points_entry::Entity as PointsEntry;
    pub use super::refresh_token::Entity as RefreshToken;
    pub use super::reset_code::Entity as ResetCode;
    pub use super::sms_code::Entity as SmsCode;
    pub use super::sms_quota::Entity as SmsQuota;
    pub use super::street::Entity as Street;
    pub use super::tag_request::Entity as TagRequest;
    pub use super::user::Entity as User;
    pub use super::user_role::Entity as UserRole;
    pub use super::user_tag::Entity as UserTag;
    pub use super::wechat_account::Entity as WechatAccount;
    pub use super::wechat_binding::Entity as WechatBinding;
}
