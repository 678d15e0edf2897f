use sea_orm::entity::prelude::*;

use crate::names::ObjectKind;

/// What an audited action was. Stored as the stable strings below.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::N(64))")]
pub enum AuditAction {
    #[sea_orm(string_value = "staff.create")]
    StaffCreate,
    #[sea_orm(string_value = "merchant.approve")]
    MerchantApprove,
    #[sea_orm(string_value = "merchant.reject")]
    MerchantReject,
    #[sea_orm(string_value = "merchant.suspend")]
    MerchantSuspend,
    #[sea_orm(string_value = "merchant.reinstate")]
    MerchantReinstate,
    #[sea_orm(string_value = "coupon.take_down")]
    CouponTakeDown,
    #[sea_orm(string_value = "coupon.redeem")]
    CouponRedeem,
    #[sea_orm(string_value = "coupon_claim.void")]
    CouponClaimVoid,
    #[sea_orm(string_value = "points.adjust")]
    PointsAdjust,
    #[sea_orm(string_value = "community.create")]
    CommunityCreate,
    #[sea_orm(string_value = "community.rename")]
    CommunityRename,
    #[sea_orm(string_value = "community.archive")]
    CommunityArchive,
    #[sea_orm(string_value = "account.delete")]
    AccountDelete,
    #[sea_orm(string_value = "account.export")]
    PersonalDataExport,
    #[sea_orm(string_value = "account.reset_code")]
    ResetCodeIssue,
    #[sea_orm(string_value = "account.password_reset")]
    PasswordReset,
    #[sea_orm(string_value = "account.wechat_link")]
    WeChatLink,
    #[sea_orm(string_value = "staff.add")]
    StaffAdd,
    #[sea_orm(string_value = "staff.remove")]
    StaffRemove,
    #[sea_orm(string_value = "merchant.clerk_remove")]
    ClerkRemove,
    #[sea_orm(string_value = "street.settings")]
    StreetSettings,
    #[sea_orm(string_value = "street.create")]
    StreetCreate,
    #[sea_orm(string_value = "tag.grant")]
    TagGrant,
    #[sea_orm(string_value = "tag.refuse")]
    TagRefuse,
    #[sea_orm(string_value = "tag.revoke")]
    TagRevoke,
    #[sea_orm(string_value = "package.create")]
    PackageCreate,
    #[sea_orm(string_value = "package.send")]
    PackageSend,
    #[sea_orm(string_value = "package.withdraw")]
    PackageWithdraw,
    #[sea_orm(string_value = "package_item.change")]
    PackageItemChange,
    #[sea_orm(string_value = "package_item.confirm")]
    PackageItemConfirm,
    #[sea_orm(string_value = "package_item.decline")]
    PackageItemDecline,
    #[sea_orm(string_value = "award.approve")]
    AwardApprove,
    #[sea_orm(string_value = "award.reject")]
    AwardReject,
    #[sea_orm(string_value = "award.grant")]
    AwardGrant,
    #[sea_orm(string_value = "award.claim")]
    AwardClaim,
    #[sea_orm(string_value = "award.reissue_code")]
    AwardReissueCode,
    #[sea_orm(string_value = "entitlement.redeem")]
    EntitlementRedeem,
    #[sea_orm(string_value = "entitlement.void")]
    EntitlementVoid,
    /// Staff looked people up in their street's register (`residents`).
    #[sea_orm(string_value = "resident.search")]
    ResidentSearch,
}

/// Who did what, when and why. Written in the same transaction as the change it records.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "audit_entries")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub street_id: Option<i64>,
    pub actor_user_id: Option<i64>,
    pub action: AuditAction,
    pub target_type: ObjectKind,
    pub target_id: Option<i64>,
    pub reason: Option<String>,
    /// The server's id of the request (never one a client chose).
    pub request_id: Option<String>,
    /// For a change of state: the decision-bearing fields before and after it.
    pub before: Option<Json>,
    pub after: Option<Json>,
    pub created_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
