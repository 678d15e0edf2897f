//! How a claim reads now, in Rust and in SQL: shared by the claim's commands and the lists,
//! so neither imports the other.

use chrono::{DateTime, Utc};
use sea_orm::{ColumnTrait, Condition};

use entity::coupon_claim::{self, ClaimStatus};

/// How a claim reads now: an unredeemed claim past its coupon's validity is expired.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ClaimState {
    Claimed,
    Redeemed,
    Expired,
    Voided,
}

pub fn claim_state(c: &coupon_claim::Model, now: DateTime<Utc>) -> ClaimState {
    match c.status {
        ClaimStatus::Claimed if now >= c.expires_at => ClaimState::Expired,
        ClaimStatus::Claimed => ClaimState::Claimed,
        ClaimStatus::Redeemed => ClaimState::Redeemed,
        ClaimStatus::Voided => ClaimState::Voided,
    }
}

/// The SQL side of [`claim_state`].
pub fn state_condition(state: ClaimState, now: DateTime<Utc>) -> Condition {
    match state {
        ClaimState::Claimed => Condition::all()
            .add(coupon_claim::Column::Status.eq(ClaimStatus::Claimed))
            .add(coupon_claim::Column::ExpiresAt.gt(now)),
        ClaimState::Expired => Condition::all()
            .add(coupon_claim::Column::Status.eq(ClaimStatus::Claimed))
            .add(coupon_claim::Column::ExpiresAt.lte(now)),
        ClaimState::Redeemed => {
            Condition::all().add(coupon_claim::Column::Status.eq(ClaimStatus::Redeemed))
        }
        ClaimState::Voided => {
            Condition::all().add(coupon_claim::Column::Status.eq(ClaimStatus::Voided))
        }
    }
}
