//! Who may do what, in one place. The rights of a viewer over an object are computed once from
//! facts (the viewer's roles and street, their membership of the merchant), and each rule's
//! Rust check stands beside the SQL filter that selects the same rows for lists. Domain modules
//! gather the facts and ask this module; none spells a rule of its own.
//!
//! The parties a lifecycle table names ([`Who`]) are resolved here too, so a state change can
//! only be made by whom its table says.

use sea_orm::sea_query::Query;
use sea_orm::{ColumnTrait, Condition};

use chrono::{DateTime, Utc};
use entity::coupon::{self, CouponStatus};
use entity::merchant::{self, MerchantStatus};
use entity::merchant_member::{self, MemberRole};
use entity::user_role::Role;
use entity::{award, benefit_package, entitlement};

use crate::auth::Viewer;
use crate::error::{AppError, AppResult};

/// A party a lifecycle rule allows to act.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Who {
    /// The merchant's owner (holding `MERCHANT`).
    Owner,
    /// The owner or a clerk (holding `MERCHANT`).
    Member,
    /// Staff of the object's street.
    StreetStaff,
    /// A member of the merchant or staff of its street.
    MemberOrStreetStaff,
    /// The merchant's owner or staff of its street.
    OwnerOrStreetStaff,
    /// The person a clerk invitation names (by their phone number).
    Invitee,
    /// A street administrator: staff of the street with the administrator flag.
    StreetAdmin,
    /// The person an award is for, who claims a grant held for their number: whoever has
    /// proven they hold that number.
    Nominee,
    /// Nobody asks for it: the server takes the step as the consequence of one a party was
    /// allowed (a package is ready when its last item is confirmed).
    System,
}

/// Rights that can answer whether they include a [`Who`]: what a lifecycle step asks of them.
pub trait Grants {
    fn require(&self, who: Who) -> AppResult<()>;
}

/// Staff of `street_id`: the `STAFF` role and that street.
pub fn is_staff_of(viewer: &Viewer, street_id: i64) -> bool {
    viewer.has(Role::Staff) && viewer.street_id == Some(street_id)
}

/// Whether the viewer decides as the street on an object of `street_id`: its staff, unless they
/// are a party to it. Separation of duties: nobody reviews their own application or moves their
/// own points, so every right to govern is computed here, and later decisions (activities,
/// awards) inherit the rule by naming their parties.
pub fn governs(viewer: &Viewer, street_id: i64, is_party: bool) -> bool {
    is_staff_of(viewer, street_id) && !is_party
}

/// Anonymous viewers are asked to sign in; signed-in ones are refused.
fn refuse(signed_in: bool) -> AppError {
    if signed_in {
        AppError::Forbidden
    } else {
        AppError::Unauthenticated
    }
}

/// What a viewer may do with a merchant's affairs: the merchant, its coupons and their claims.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct MerchantRights {
    signed_in: bool,
    /// Sees private fields and non-public rows: staff of the street, and anyone who belongs
    /// to the merchant — an applicant follows their own pending application.
    pub read: bool,
    /// Serves at the counter (redeems, voids): the owner or a clerk, holding `MERCHANT`.
    pub serve: bool,
    /// Manages the profile, clerks and offers: the owner, holding `MERCHANT`.
    pub manage: bool,
    /// Decides as the street (reviews, suspends, takes down, voids): staff of its street who
    /// do not belong to the merchant ([`governs`]).
    pub govern: bool,
    /// Oversees as the street (reads its records, decides nothing): staff of its street.
    pub oversee: bool,
}

impl MerchantRights {
    /// From the facts: the merchant's street and the viewer's membership of it.
    pub fn of(
        viewer: Option<&Viewer>,
        street_id: i64,
        membership: Option<MemberRole>,
    ) -> MerchantRights {
        let Some(v) = viewer else {
            return MerchantRights::default();
        };
        // A member of the merchant (its applicant included) is a party to its affairs.
        let govern = governs(v, street_id, membership.is_some());
        let oversee = is_staff_of(v, street_id);
        let acting = v.has(Role::Merchant) && membership.is_some();
        MerchantRights {
            signed_in: true,
            read: oversee || membership.is_some(),
            serve: acting,
            manage: acting && membership == Some(MemberRole::Owner),
            govern,
            oversee,
        }
    }

    pub fn grants(&self, who: Who) -> bool {
        match who {
            Who::Owner => self.manage,
            Who::Member => self.serve,
            Who::StreetStaff => self.govern,
            Who::MemberOrStreetStaff => self.serve || self.govern,
            Who::OwnerOrStreetStaff => self.manage || self.govern,
            Who::Invitee | Who::StreetAdmin | Who::Nominee | Who::System => false,
        }
    }

    /// The rights over something the viewer is a party to, such as their own claim: they
    /// neither serve nor govern it (separation of duties), and still see it.
    pub fn as_party(self, is_party: bool) -> MerchantRights {
        if !is_party {
            return self;
        }
        MerchantRights {
            serve: false,
            manage: false,
            govern: false,
            ..self
        }
    }

    /// Passes when the rights include `who`'s.
    pub fn require(&self, who: Who) -> AppResult<()> {
        self.require_any(self.grants(who))
    }

    /// The merchant's claims and their reports: who serves at its counter, and staff of its
    /// street.
    pub fn require_claim_records(&self) -> AppResult<()> {
        self.require_any(self.serve || self.oversee)
    }

    /// The list of its owner and clerks: the owner, and staff of its street.
    pub fn require_member_list(&self) -> AppResult<()> {
        self.require_any(self.manage || self.oversee)
    }

    fn require_any(&self, allowed: bool) -> AppResult<()> {
        if allowed {
            Ok(())
        } else {
            Err(refuse(self.signed_in))
        }
    }

    /// Private fields of the merchant's affairs (licence, counts, reasons): `FORBIDDEN` to
    /// anyone without [`MerchantRights::read`], signed in or not, since the object itself is
    /// public and only the field is refused.
    pub fn require_private_fields(&self) -> AppResult<()> {
        if self.read {
            Ok(())
        } else {
            Err(AppError::Forbidden)
        }
    }
}

impl Grants for MerchantRights {
    fn require(&self, who: Who) -> AppResult<()> {
        MerchantRights::require(self, who)
    }
}

/// What a viewer may do with a clerk invitation: its merchant's rights, and whether the
/// invitation names them.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct InvitationRights {
    pub merchant: MerchantRights,
    /// The invitation is for the viewer's phone number.
    pub invitee: bool,
}

impl InvitationRights {
    /// From the facts: the merchant's rights, and the viewer's phone against the one invited.
    pub fn of(merchant: MerchantRights, viewer_phone: Option<&str>, invited: &str) -> Self {
        InvitationRights {
            merchant,
            invitee: viewer_phone == Some(invited),
        }
    }

    /// Sees the invitation: the person it names, and who sees the merchant's members.
    pub fn require_read(&self) -> AppResult<()> {
        if self.invitee {
            Ok(())
        } else {
            self.merchant.require_member_list()
        }
    }
}

impl Grants for InvitationRights {
    fn require(&self, who: Who) -> AppResult<()> {
        match who {
            Who::Invitee if self.invitee => Ok(()),
            Who::Invitee => Err(refuse(self.merchant.signed_in)),
            other => self.merchant.require(other),
        }
    }
}

/// What a viewer may do with an item of a benefit package: ask its provider for it as the
/// street, and answer for the provider as its owner.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct PackageItemRights {
    pub street: StreetRights,
    pub provider: MerchantRights,
}

impl Grants for PackageItemRights {
    fn require(&self, who: Who) -> AppResult<()> {
        match who {
            Who::StreetStaff | Who::StreetAdmin => Grants::require(&self.street, who),
            other => self.provider.require(other),
        }
    }
}

/// The SQL side of [`MerchantRights::read`]: rows of a staff member's street, and rows of the
/// merchants the viewer belongs to. Merchants, coupons and claims share it.
pub fn merchant_readable_rows(
    viewer: &Viewer,
    street_col: impl ColumnTrait,
    merchant_col: impl ColumnTrait,
) -> Condition {
    let mut cond = Condition::any();
    if viewer.has(Role::Staff)
        && let Some(street) = viewer.street_id
    {
        cond = cond.add(street_col.eq(street));
    }
    cond.add(
        merchant_col.in_subquery(
            Query::select()
                .column(merchant_member::Column::MerchantId)
                .from(merchant_member::Entity)
                .and_where(merchant_member::Column::UserId.eq(viewer.user_id))
                .to_owned(),
        ),
    )
}

/// Whether the viewer sees the merchant at all: active merchants are public; others need
/// [`MerchantRights::read`].
pub fn merchant_visible(status: MerchantStatus, rights: &MerchantRights) -> bool {
    status == MerchantStatus::Active || rights.read
}

/// The SQL side of [`merchant_visible`].
pub fn visible_merchants(viewer: Option<&Viewer>) -> Condition {
    let public = Condition::any().add(merchant::Column::Status.eq(MerchantStatus::Active));
    match viewer {
        Some(v) => public.add(merchant_readable_rows(
            v,
            merchant::Column::StreetId,
            merchant::Column::Id,
        )),
        None => public,
    }
}

/// Coupons anyone sees: active, within their validity, of active merchants; the merchant's
/// insiders see the rest ([`MerchantRights::read`]).
pub fn visible_coupons(viewer: Option<&Viewer>, now: DateTime<Utc>) -> Condition {
    let public = Condition::all()
        .add(coupon::Column::Status.eq(CouponStatus::Active))
        .add(coupon::Column::ValidUntil.gt(now))
        .add(
            coupon::Column::MerchantId.in_subquery(
                Query::select()
                    .column(merchant::Column::Id)
                    .from(merchant::Entity)
                    .and_where(merchant::Column::Status.eq(MerchantStatus::Active))
                    .to_owned(),
            ),
        );
    let cond = Condition::any().add(public);
    match viewer {
        Some(v) => cond.add(merchant_readable_rows(
            v,
            coupon::Column::StreetId,
            coupon::Column::MerchantId,
        )),
        None => cond,
    }
}

/// What a viewer may do with a person's data.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct PersonRights {
    signed_in: bool,
    /// Sees personal data unmasked (phone, ledger): the person, or staff of their street.
    pub personal: bool,
    /// Acts on the person as the street (points adjustments): staff of their street, never on
    /// themselves ([`governs`]).
    pub govern: bool,
}

impl PersonRights {
    pub fn of(viewer: Option<&Viewer>, user_id: i64, user_street: Option<i64>) -> PersonRights {
        let Some(v) = viewer else {
            return PersonRights::default();
        };
        let govern = user_street.is_some_and(|s| governs(v, s, v.user_id == user_id));
        PersonRights {
            signed_in: true,
            personal: v.user_id == user_id || govern,
            govern,
        }
    }

    pub fn require_personal(&self) -> AppResult<()> {
        if self.personal {
            Ok(())
        } else {
            Err(refuse(self.signed_in))
        }
    }

    pub fn require_govern(&self) -> AppResult<()> {
        if self.govern {
            Ok(())
        } else {
            Err(refuse(self.signed_in))
        }
    }
}

/// What a viewer may do with a street's own affairs (its communities, its settings).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct StreetRights {
    signed_in: bool,
    /// Decides for the street: its staff.
    pub govern: bool,
    /// Changes its settings and its staff: its administrators.
    pub administer: bool,
}

impl StreetRights {
    pub fn of(viewer: Option<&Viewer>, street_id: i64) -> StreetRights {
        let govern = viewer.is_some_and(|v| is_staff_of(v, street_id));
        StreetRights {
            signed_in: viewer.is_some(),
            govern,
            administer: govern && viewer.is_some_and(|v| v.street_admin),
        }
    }
}

impl Grants for StreetRights {
    fn require(&self, who: Who) -> AppResult<()> {
        match who {
            Who::StreetStaff if self.govern => Ok(()),
            Who::StreetAdmin if self.administer => Ok(()),
            _ => Err(refuse(self.signed_in)),
        }
    }
}

impl Grants for PersonRights {
    fn require(&self, who: Who) -> AppResult<()> {
        match who {
            Who::StreetStaff => self.require_govern(),
            _ => Err(refuse(self.signed_in)),
        }
    }
}

/// What a viewer may do with an award (a nomination for a good deed).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct AwardRights {
    signed_in: bool,
    /// Sees it: staff of its street, and who nominated it.
    pub read: bool,
    /// Decides on it as the street: its staff, unless they nominated it or are its nominee
    /// ([`governs`]).
    pub govern: bool,
    /// Sees the nominee's number whole: staff of its street (others masked).
    pub personal: bool,
    /// Claims a grant held for the nominee's number: the signed-in holder of that number
    /// ([`AwardRights::holding`]).
    pub nominee: bool,
}

impl AwardRights {
    pub fn of(
        viewer: Option<&Viewer>,
        street_id: i64,
        nominator_id: i64,
        nominee_user_id: Option<i64>,
    ) -> AwardRights {
        let Some(v) = viewer else {
            return AwardRights::default();
        };
        let party = v.user_id == nominator_id || nominee_user_id == Some(v.user_id);
        AwardRights {
            signed_in: true,
            read: is_staff_of(v, street_id) || v.user_id == nominator_id,
            govern: governs(v, street_id, party),
            personal: is_staff_of(v, street_id),
            nominee: false,
        }
    }

    /// With the number a grant is held for: the viewer, signed in with `viewer_phone`, is its
    /// nominee when it is theirs.
    pub fn holding(self, held_for: Option<&str>, viewer_phone: &str) -> AwardRights {
        AwardRights {
            nominee: self.signed_in && held_for == Some(viewer_phone),
            ..self
        }
    }

    /// Whether the nominee's name shows whole: to staff of the street, and to a nominator who
    /// typed it (a nominee named by phone). A nominator who picked an account sees it masked,
    /// so that nominating is no way to read names.
    pub fn sees_nominee_name(&self, typed_by_nominator: bool) -> bool {
        self.personal || typed_by_nominator
    }

    pub fn require_read(&self) -> AppResult<()> {
        if self.read {
            Ok(())
        } else {
            Err(refuse(self.signed_in))
        }
    }
}

impl Grants for AwardRights {
    fn require(&self, who: Who) -> AppResult<()> {
        match who {
            Who::StreetStaff if self.govern => Ok(()),
            Who::Nominee if self.nominee => Ok(()),
            _ => Err(refuse(self.signed_in)),
        }
    }
}

/// Nobody nominates themselves: by their account or by their own number.
pub fn may_nominate(
    viewer: &Viewer,
    viewer_phone: &str,
    nominee: Option<i64>,
    phone: Option<&str>,
) -> AppResult<()> {
    if nominee == Some(viewer.user_id) || phone == Some(viewer_phone) {
        Err(AppError::Forbidden)
    } else {
        Ok(())
    }
}

/// How much of a benefit package a viewer sees.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PackageSight {
    /// Staff of its street: everything.
    Whole,
    /// Members of these of its providers: its title and their own items.
    Provider(Vec<i64>),
}

impl PackageSight {
    /// Whether an item of the package, given by `merchant_id`, is in sight.
    pub fn sees(&self, merchant_id: i64) -> bool {
        match self {
            PackageSight::Whole => true,
            PackageSight::Provider(ms) => ms.contains(&merchant_id),
        }
    }
}

/// What a viewer sees of a package of `street_id` whose items come from `providers`: staff of
/// the street all of it; once it is sent (a draft asks nobody yet), the owner and clerks of a
/// provider its title and their own items; nobody else anything (`FORBIDDEN`).
pub fn package_sight(
    viewer: &Viewer,
    street_id: i64,
    sent: bool,
    memberships: &[merchant_member::Model],
    providers: &[i64],
) -> AppResult<PackageSight> {
    if is_staff_of(viewer, street_id) {
        return Ok(PackageSight::Whole);
    }
    let mine: Vec<i64> = memberships
        .iter()
        .map(|m| m.merchant_id)
        .filter(|m| providers.contains(m))
        .collect();
    if sent && !mine.is_empty() {
        Ok(PackageSight::Provider(mine))
    } else {
        Err(AppError::Forbidden)
    }
}

/// The merchants whose package items the viewer confirms or declines: those they own, holding
/// `MERCHANT` (as [`Who::Owner`] has it).
pub fn confirming_for(viewer: &Viewer, memberships: &[merchant_member::Model]) -> Vec<i64> {
    if !viewer.has(Role::Merchant) {
        return Vec::new();
    }
    memberships
        .iter()
        .filter(|m| m.role == MemberRole::Owner)
        .map(|m| m.merchant_id)
        .collect()
}

/// Where a person may move their home: any street, except that staff stay in the street they
/// work for (their street is their staff street).
pub fn may_move_to(viewer: &Viewer, own_street: Option<i64>, to_street: i64) -> bool {
    !viewer.has(Role::Staff) || own_street == Some(to_street)
}

/// Who an administrator may make staff of their street: its own residents (and new accounts),
/// never someone of another street, whom that would move without asking.
pub fn may_become_staff_of(person_street: Option<i64>, street: i64) -> bool {
    person_street == Some(street)
}

/// Who may hand someone a password reset code (which signs in as them): staff of their street,
/// never for themselves; for a staff member, only an administrator of the street.
pub fn require_reset_issuer(
    viewer: &Viewer,
    person: &PersonRights,
    person_is_staff: bool,
) -> AppResult<()> {
    person.require_govern()?;
    if person_is_staff && !viewer.street_admin {
        return Err(AppError::Forbidden);
    }
    Ok(())
}

/// The street a viewer governs as staff, for street-wide reports; `FORBIDDEN` for others.
pub fn governed_street(viewer: &Viewer) -> AppResult<i64> {
    match viewer.street_id {
        Some(s) if is_staff_of(viewer, s) => Ok(s),
        _ => Err(AppError::Forbidden),
    }
}

/// Whether a person may sign in, or set a new password, with a code sent to their phone. Staff
/// may not: a phone alone is too weak a key to a staff account, so staff sign in with their
/// password and recover with a code an administrator hands them ([`require_reset_issuer`]).
/// Callers answer a refusal as a wrong code, so that the answer does not tell who is staff.
pub fn may_use_sms_codes(person_is_staff: bool) -> bool {
    !person_is_staff
}

/// Whether anyone may register here: where SMS codes prove phones, or where the operator chose
/// to let unproven phones register (the default in development). Otherwise anyone could
/// register another's number and learn which numbers are registered.
pub fn may_register(sms_proves_phones: bool, unverified_registration: bool) -> bool {
    sms_proves_phones || unverified_registration
}

/// Whether a person may close their own account: not while they are staff, whom an
/// administrator first removes from the street's staff.
pub fn may_close_own_account(person_is_staff: bool) -> bool {
    !person_is_staff
}

/// Whether a person may close their own account while they own a merchant (an application
/// still open, or a member): not until they hand it over or close it.
pub fn may_close_owning_a_merchant(owns_merchant: bool) -> bool {
    !owns_merchant
}

/// Who an administrator of `street` may remove from its staff: staff of that street
/// (`NOT_FOUND` for anyone else, as if there were no such staff member), never themselves.
pub fn require_staff_removal(
    viewer: &Viewer,
    street: i64,
    person_id: i64,
    person_street: Option<i64>,
    person_is_staff: bool,
) -> AppResult<()> {
    if !person_is_staff || person_street != Some(street) {
        return Err(AppError::NotFound("staff member"));
    }
    // Separation of duties: an administrator does not remove themselves either.
    if !governs(viewer, street, person_id == viewer.user_id) {
        return Err(AppError::Forbidden);
    }
    Ok(())
}

/// Whether a street keeps an administrator when one of its `administrators` (counted under a
/// lock) leaves the staff: it must keep at least one.
pub fn keeps_an_administrator(administrators: usize) -> bool {
    administrators > 1
}

/// The awards a viewer lists, within [`AwardRights::read`]: staff the awards of their street
/// (their review queue); anyone else, and staff asking with `nominated_by_me`, the ones they
/// nominated.
pub fn listed_awards(viewer: &Viewer, nominated_by_me: bool) -> Condition {
    let cond = Condition::all();
    match viewer.street_id.filter(|s| is_staff_of(viewer, *s)) {
        Some(street) if !nominated_by_me => cond.add(award::Column::StreetId.eq(street)),
        _ => cond.add(award::Column::NominatorId.eq(viewer.user_id)),
    }
}

/// The people in the register of `street` that its staff search ([`governed_street`]): the
/// open accounts of those who live or work there.
pub fn listed_residents(street: i64) -> Condition {
    Condition::all()
        .add(entity::user::Column::StreetId.eq(street))
        .add(entity::user::Column::Disabled.eq(false))
}

/// Whether a page of the register shows phones whole: only to a search by the exact number,
/// which already named it; names, tags and communities list people with their phones masked,
/// so browsing the register gathers no numbers.
pub fn register_shows_phones(searched_exact_phone: bool) -> bool {
    searched_exact_phone
}

/// The benefit packages a viewer lists: those of the street they are staff of (providers see
/// the items asked of them instead, [`confirming_for`]); `FORBIDDEN` for anyone else.
pub fn listed_packages(viewer: &Viewer) -> AppResult<Condition> {
    let street = governed_street(viewer)?;
    Ok(Condition::all().add(benefit_package::Column::StreetId.eq(street)))
}

/// The entitlements a viewer lists as theirs: those they hold. (A provider's are listed by
/// [`MerchantRights::require_claim_records`].)
pub fn held_entitlements(viewer: &Viewer) -> Condition {
    Condition::all().add(entitlement::Column::HolderUserId.eq(viewer.user_id))
}

/// A claim's code is the holder's alone: whoever shows it at a counter can spend it.
pub fn require_holder(viewer: Option<&Viewer>, holder_id: i64) -> AppResult<()> {
    match viewer {
        Some(v) if v.user_id == holder_id => Ok(()),
        _ => Err(AppError::Forbidden),
    }
}

/// Claiming offers is for residents.
pub fn require_resident(viewer: &Viewer) -> AppResult<()> {
    viewer.require_any(&[Role::Resident])
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use super::*;

    const HERE: i64 = 1;
    const ELSEWHERE: i64 = 2;
    const PERSON: i64 = 500;

    fn viewer(id: i64, roles: &[Role], street: Option<i64>) -> Viewer {
        Viewer {
            user_id: id,
            roles: roles.iter().copied().collect::<BTreeSet<_>>(),
            street_id: street,
            community_id: None,
            street_admin: false,
        }
    }

    fn code(r: AppResult<()>) -> &'static str {
        match r {
            Ok(()) => "ok",
            Err(e) => e.code(),
        }
    }

    /// Every party × every right so far → allowed, or which error.
    #[test]
    fn rights_table() {
        use Role::{Merchant, Resident, Staff};
        // (who, viewer, membership of the merchant in street HERE)
        let parties: Vec<(&str, Option<Viewer>, Option<MemberRole>)> = vec![
            ("anonymous", None, None),
            ("resident", Some(viewer(10, &[Resident], Some(HERE))), None),
            (
                "applicant (owner, not yet approved)",
                Some(viewer(11, &[Resident], Some(HERE))),
                Some(MemberRole::Owner),
            ),
            (
                "clerk",
                Some(viewer(12, &[Resident, Merchant], None)),
                Some(MemberRole::Clerk),
            ),
            (
                "owner",
                Some(viewer(13, &[Resident, Merchant], None)),
                Some(MemberRole::Owner),
            ),
            (
                "owner of another merchant",
                Some(viewer(14, &[Resident, Merchant], None)),
                None,
            ),
            (
                "staff of the street",
                Some(viewer(15, &[Staff], Some(HERE))),
                None,
            ),
            (
                "staff of another street",
                Some(viewer(16, &[Staff], Some(ELSEWHERE))),
                None,
            ),
            (
                "staff of the street who owns the merchant",
                Some(viewer(17, &[Staff, Merchant, Resident], Some(HERE))),
                Some(MemberRole::Owner),
            ),
            (
                "the person",
                Some(viewer(PERSON, &[Resident], Some(HERE))),
                None,
            ),
            (
                "the person, who is staff of the street",
                Some(viewer(PERSON, &[Staff, Resident], Some(HERE))),
                None,
            ),
        ];
        // Columns: merchant private fields, serve (redeem), manage (publish), govern (review),
        // member-or-staff (void), owner-or-staff (members), person's data, govern the person
        // (adjust points), street-wide report.
        const U: &str = "UNAUTHENTICATED";
        const F: &str = "FORBIDDEN";
        const OK: &str = "ok";
        #[rustfmt::skip]
        let expected: [[&str; 9]; 11] = [
            [F, U, U, U, U, U, U, U, U],
            [F; 9],
            [OK, F, F, F, F, F, F, F, F],
            [OK, OK, F, F, OK, F, F, F, F],
            [OK, OK, OK, F, OK, OK, F, F, F],
            [F; 9],
            [OK, F, F, OK, OK, OK, OK, OK, OK],
            [F; 9],
            // Separation of duties: no review of their own merchant, no points for themselves.
            [OK, OK, OK, F, OK, OK, OK, OK, OK],
            [F, F, F, F, F, F, OK, F, F],
            [OK, F, F, OK, OK, OK, OK, F, OK],
        ];
        for ((who, v, membership), want) in parties.iter().zip(expected) {
            let v = v.as_ref();
            let m = MerchantRights::of(v, HERE, *membership);
            let p = PersonRights::of(v, PERSON, Some(HERE));
            let street = match v {
                None => Err(AppError::Unauthenticated),
                Some(v) => governed_street(v).and_then(|s| {
                    if s == HERE {
                        Ok(())
                    } else {
                        Err(AppError::Forbidden)
                    }
                }),
            };
            let got = [
                code(m.require_private_fields()),
                code(m.require(Who::Member)),
                code(m.require(Who::Owner)),
                code(m.require(Who::StreetStaff)),
                code(m.require(Who::MemberOrStreetStaff)),
                code(m.require(Who::OwnerOrStreetStaff)),
                code(p.require_personal()),
                code(p.require_govern()),
                code(street),
            ];
            assert_eq!(got, want, "{who}");
        }
    }

    #[test]
    fn only_active_merchants_are_public() {
        let nobody = MerchantRights::default();
        assert!(merchant_visible(MerchantStatus::Active, &nobody));
        for s in [
            MerchantStatus::Pending,
            MerchantStatus::Rejected,
            MerchantStatus::Suspended,
        ] {
            assert!(!merchant_visible(s, &nobody));
            let insider = MerchantRights::of(
                Some(&viewer(1, &[Role::Resident], None)),
                HERE,
                Some(MemberRole::Owner),
            );
            assert!(merchant_visible(s, &insider));
        }
    }

    #[test]
    fn a_person_without_a_street_is_governed_by_nobody() {
        let staff = viewer(1, &[Role::Staff], Some(HERE));
        let p = PersonRights::of(Some(&staff), PERSON, None);
        assert_eq!(code(p.require_personal()), "FORBIDDEN");
        assert_eq!(code(p.require_govern()), "FORBIDDEN");
    }
}
