use sea_orm::entity::prelude::*;

use crate::names::ObjectKind;

/// Something that happened that a person may want to hear about. Stored as the stable strings
/// below; the notifications issue delivers them.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::N(64))")]
pub enum EventKind {
    #[sea_orm(string_value = "merchant.approved")]
    MerchantApproved,
    #[sea_orm(string_value = "merchant.rejected")]
    MerchantRejected,
    #[sea_orm(string_value = "merchant.suspended")]
    MerchantSuspended,
    #[sea_orm(string_value = "merchant.reinstated")]
    MerchantReinstated,
    #[sea_orm(string_value = "coupon.taken_down")]
    CouponTakenDown,
    #[sea_orm(string_value = "coupon_claim.redeemed")]
    CouponClaimRedeemed,
    #[sea_orm(string_value = "coupon_claim.voided")]
    CouponClaimVoided,
    #[sea_orm(string_value = "points.posted")]
    PointsPosted,
    #[sea_orm(string_value = "clerk_invitation.created")]
    ClerkInvited,
    #[sea_orm(string_value = "clerk_invitation.accepted")]
    ClerkInvitationAccepted,
    #[sea_orm(string_value = "clerk_invitation.declined")]
    ClerkInvitationDeclined,
    #[sea_orm(string_value = "clerk_invitation.revoked")]
    ClerkInvitationRevoked,
    #[sea_orm(string_value = "tag_request.granted")]
    TagRequestGranted,
    #[sea_orm(string_value = "tag_request.refused")]
    TagRequestRefused,
    #[sea_orm(string_value = "package_item.requested")]
    PackageItemRequested,
    #[sea_orm(string_value = "package_item.confirmed")]
    PackageItemConfirmed,
    #[sea_orm(string_value = "package_item.declined")]
    PackageItemDeclined,
    #[sea_orm(string_value = "package_item.removed")]
    PackageItemRemoved,
    #[sea_orm(string_value = "award.approved")]
    AwardApproved,
    #[sea_orm(string_value = "award.rejected")]
    AwardRejected,
    #[sea_orm(string_value = "award.granted")]
    AwardGranted,
    #[sea_orm(string_value = "award.claimed")]
    AwardClaimed,
    #[sea_orm(string_value = "entitlement.voided")]
    EntitlementVoided,
    #[sea_orm(string_value = "package.ready")]
    PackageReady,
    #[sea_orm(string_value = "package.withdrawn")]
    PackageWithdrawn,
    #[sea_orm(string_value = "package.reopened")]
    PackageReopened,
    #[sea_orm(string_value = "merchant.applied")]
    MerchantApplied,
    #[sea_orm(string_value = "merchant.clerk_removed")]
    ClerkRemoved,
    #[sea_orm(string_value = "award.nominated")]
    AwardNominated,
    #[sea_orm(string_value = "tag_request.submitted")]
    TagRequestSubmitted,
    #[sea_orm(string_value = "tag.granted")]
    TagGranted,
    #[sea_orm(string_value = "tag.revoked")]
    TagRevoked,
    #[sea_orm(string_value = "staff.added")]
    StaffAdded,
    #[sea_orm(string_value = "staff.removed")]
    StaffRemoved,
    #[sea_orm(string_value = "entitlement.redeemed")]
    EntitlementRedeemed,
    #[sea_orm(string_value = "account.password_changed")]
    PasswordChanged,
    #[sea_orm(string_value = "account.password_reset")]
    PasswordReset,
}

/// The outbox: one row per event, written in the transaction of the change it describes, so a
/// rolled-back change leaves none.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "events")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub kind: EventKind,
    pub street_id: Option<i64>,
    pub actor_user_id: Option<i64>,
    pub object_type: ObjectKind,
    pub object_id: i64,
    /// The users the event concerns (a JSON array of ids), e.g. the merchant's owner.
    pub concerned_user_ids: Json,
    /// A small JSON object with what a message about the event needs.
    pub payload: Json,
    pub request_id: Option<String>,
    pub created_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
