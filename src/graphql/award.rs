//! Awards for good deeds: `nominateAward`, `reviewAward`, `grantAward`, `claimAwardGrant`,
//! `awards`, `award`, and the public `honorRoll`.

use async_graphql::{Context, Enum, ID, InputObject, Object};

use entity::award::Model;
use entity::names::ObjectKind;

use crate::domain::award::{self as domain, AwardAction, Nomination, Nominee, RollEntry};
use crate::domain::codes::display_code;
use crate::domain::policy::AwardRights;
use crate::domain::values::{mask_name, mask_phone};
use crate::error::{AppError, AppResult, Text};
use crate::graphql::entitlement::Entitlement;
use crate::graphql::loader::{CommunityKey, ItemsOfPackage, MerchantKey, PackageKey};
use crate::graphql::merchant::Merchant;
use crate::graphql::pagination::{OrderDirection, connection, connection_field};
use crate::graphql::scalars::{Date, DateTime};
use crate::graphql::street::Community;
use crate::graphql::{ContextExt, id};

/// Where a nomination stands.
#[derive(Enum, Copy, Clone, Eq, PartialEq)]
#[graphql(remote = "entity::award::AwardStatus")]
pub enum AwardStatus {
    /// Waiting for staff of the street.
    Nominated,
    /// Found worthy: it may be granted.
    Approved,
    /// Not found worthy; `statusReason` says why.
    Rejected,
    /// Granted with a package and points; on the honour roll.
    Granted,
}

/// What staff decide on a nomination.
#[derive(Enum, Copy, Clone, Eq, PartialEq)]
pub enum AwardDecision {
    /// The deed is worthy (a note may be given).
    Approve,
    /// It is not (a reason is required).
    Reject,
}

/// Which awards to list.
#[derive(InputObject, Default)]
pub struct AwardFilter {
    /// Only awards in this state.
    pub status: Option<AwardStatus>,
    /// Only deeds in this community.
    pub community_id: Option<ID>,
    /// Only the viewer's own nominations (staff see their street's otherwise).
    #[graphql(default)]
    pub nominated_by_me: bool,
}

/// What awards can be ordered by; the ID breaks ties.
#[derive(Enum, Copy, Clone, Debug, Default, Eq, PartialEq)]
pub enum AwardOrderField {
    /// When it was nominated.
    #[default]
    CreatedAt,
}

/// How to order awards.
#[derive(InputObject, Default)]
pub struct AwardOrder {
    /// The sort key.
    #[graphql(default)]
    pub field: AwardOrderField,
    /// Which way.
    #[graphql(default)]
    pub direction: OrderDirection,
}

/// What the honour roll can be ordered by; the ID breaks ties.
#[derive(Enum, Copy, Clone, Debug, Default, Eq, PartialEq)]
pub enum HonorRollOrderField {
    /// When the street granted it.
    #[default]
    GrantedAt,
}

/// How to order the honour roll.
#[derive(InputObject, Default)]
pub struct HonorRollOrder {
    /// The sort key.
    #[graphql(default)]
    pub field: HonorRollOrderField,
    /// Which way.
    #[graphql(default)]
    pub direction: OrderDirection,
}

/// A nomination: the nominee is an account (`nomineeId`) or a person who may have none
/// (`nomineeName` and `nomineePhone`), never oneself.
#[derive(InputObject)]
pub struct NominateAwardInput {
    /// The nominee's account.
    pub nominee_id: Option<ID>,
    /// The nominee's name, for someone named by phone (1 to 32 characters).
    pub nominee_name: Option<String>,
    /// The nominee's mainland mobile number: the grant is held for it.
    pub nominee_phone: Option<String>,
    /// 1 to 64 characters, e.g. 燃气泄漏挨家敲门.
    pub title: String,
    /// What happened, 1 to 2,000 characters.
    pub deed: String,
    /// When it happened (not in the future).
    pub happened_on: Date,
    /// Where: an active community; its street's staff review the nomination.
    pub community_id: ID,
    /// What shows it: witnesses, a news report (up to 2,000 characters).
    pub evidence: Option<String>,
}

pub struct Award(pub Model);

impl Award {
    /// The viewer's rights over it, by its nominee as recorded.
    fn rights(&self, ctx: &Context<'_>) -> AwardRights {
        let a = &self.0;
        AwardRights::of(
            ctx.auth().viewer_opt(),
            a.street_id,
            a.nominator_id,
            a.nominee_user_id,
        )
    }
}

/// A good deed put forward for recognition (表彰). Seen by staff of its street and by who
/// nominated it.
#[Object]
impl Award {
    /// Opaque ID.
    pub async fn id(&self) -> ID {
        id::encode(ObjectKind::Award, self.0.id)
    }

    /// What it is for.
    async fn title(&self) -> &str {
        &self.0.title
    }

    /// What happened.
    async fn deed(&self) -> &str {
        &self.0.deed
    }

    /// When it happened.
    async fn happened_on(&self) -> Date {
        Date(self.0.happened_on)
    }

    /// Where it happened.
    async fn community(&self, ctx: &Context<'_>) -> AppResult<Option<Community>> {
        Ok(ctx
            .loader()?
            .load_one(CommunityKey(self.0.community_id))
            .await?
            .map(Community))
    }

    /// What shows it.
    async fn evidence(&self) -> Option<&str> {
        self.0.evidence.as_deref()
    }

    /// Where it stands.
    async fn status(&self) -> AwardStatus {
        self.0.status.into()
    }

    /// Why staff rejected it, or what they noted approving it.
    async fn status_reason(&self) -> Option<&str> {
        self.0.status_reason.as_deref()
    }

    /// The nominee's name: whole for staff of the street and for a nominator who typed it
    /// (a nominee named by phone); masked (`陈*林`) for a nominator who picked an account, so
    /// that nominating is no way to read others' names.
    async fn nominee_name(&self, ctx: &Context<'_>) -> String {
        let a = &self.0;
        if self
            .rights(ctx)
            .sees_nominee_name(a.nominee_phone.is_some())
        {
            a.nominee_name.clone()
        } else {
            mask_name(&a.nominee_name)
        }
    }

    /// The number given for a nominee named by phone: whole for staff of the street, masked
    /// (`138****5678`) for the nominator.
    async fn nominee_phone(&self, ctx: &Context<'_>) -> Option<String> {
        let a = &self.0;
        let whole = self.rights(ctx).personal;
        a.nominee_phone
            .as_deref()
            .map(|p| if whole { p.to_owned() } else { mask_phone(p) })
    }

    /// Whether the signed-in viewer made this nomination.
    async fn nominated_by_me(&self, ctx: &Context<'_>) -> bool {
        ctx.auth()
            .viewer_opt()
            .is_some_and(|v| v.user_id == self.0.nominator_id)
    }

    /// Whether the signed-in viewer may approve or reject it (staff of the street who are no
    /// party to it, while it is nominated).
    async fn can_review(&self, ctx: &Context<'_>) -> bool {
        crate::domain::lifecycle::can::<entity::award::Entity>(
            &self.rights(ctx),
            self.0.status,
            crate::domain::award::AwardAction::Approve,
        )
    }

    /// The steps you may take on it now (`APPROVE`, `REJECT`, `GRANT`), by its status and your
    /// rights: offer only these buttons. Its `history` names steps the same way.
    async fn available_actions(&self, ctx: &Context<'_>) -> Vec<String> {
        crate::domain::lifecycle::available::<entity::award::Entity>(
            &self.rights(ctx),
            self.0.status,
        )
    }

    /// The points it was granted with.
    async fn bonus_points(&self) -> Option<i32> {
        self.0.bonus_points
    }

    /// When it was granted.
    async fn granted_at(&self) -> Option<DateTime> {
        self.0.granted_at.map(Into::into)
    }

    /// Whether it is granted and held for a nominee without an account, waiting for them to
    /// `claimAwardGrant` with the certificate's code.
    async fn awaiting_claim(&self) -> bool {
        let a = &self.0;
        a.claim_code_digest.is_some() && a.claimed_at.is_none()
    }

    /// When its nominee claimed a held grant.
    async fn claimed_at(&self) -> Option<DateTime> {
        self.0.claimed_at.map(Into::into)
    }

    /// When it was nominated.
    async fn created_at(&self) -> DateTime {
        self.0.created_at.into()
    }
}

impl crate::graphql::eager::EagerObject for Award {
    const READY: &'static [&'static str] = &[
        "id",
        "title",
        "deed",
        "happenedOn",
        "evidence",
        "status",
        "statusReason",
        "bonusPoints",
        "grantedAt",
        "awaitingClaim",
        "claimedAt",
        "createdAt",
    ];
}

/// What `grantAward` answers.
pub struct GrantAwardPayload(domain::Granted);

/// A granted award and, for a nominee without an account, the code for their certificate.
#[Object]
impl GrantAwardPayload {
    /// The award, now `GRANTED`.
    async fn award(&self) -> Award {
        Award(self.0.award.clone())
    }

    /// For a nominee named by a number that has no account: the one-time claim code
    /// (`XXXX-XXXX-XXXX`) to print on the certificate handed over in person; with it, signed
    /// in with that number, they `claimAwardGrant`. Shown this once; null when the grant went
    /// straight to an account.
    async fn claim_code(&self) -> Option<String> {
        self.0.claim_code.as_deref().map(display_code)
    }
}

/// What `claimAwardGrant` answers.
pub struct ClaimAwardGrantPayload(domain::Claimed);

/// A held grant, now the claimant's.
#[Object]
impl ClaimAwardGrantPayload {
    /// What the award was for.
    async fn title(&self) -> &str {
        &self.0.award.title
    }

    /// The points now in the claimant's balance.
    async fn bonus_points(&self) -> i32 {
        self.0.award.bonus_points.unwrap_or(0)
    }

    /// The entitlements now the claimant's (also in `myEntitlements`).
    async fn entitlements(&self) -> Vec<Entitlement> {
        self.0
            .entitlements
            .iter()
            .cloned()
            .map(Entitlement)
            .collect()
    }
}

pub struct HonorRollEntry(RollEntry);

/// A granted award on a street's public honour roll (光荣榜): what was done, when and where,
/// and what the alliance gave. The nominee's name is masked (`陈*林`) unless they chose
/// `showMyNameOnHonorRoll`; no phone number is ever shown.
#[Object]
impl HonorRollEntry {
    /// What it is for.
    async fn title(&self) -> &str {
        &self.0.award.title
    }

    /// What happened.
    async fn deed(&self) -> &str {
        &self.0.award.deed
    }

    /// When it happened.
    async fn happened_on(&self) -> Date {
        Date(self.0.award.happened_on)
    }

    /// When the street granted it.
    async fn granted_at(&self) -> Option<DateTime> {
        self.0.award.granted_at.map(Into::into)
    }

    /// Where it happened.
    async fn community(&self, ctx: &Context<'_>) -> AppResult<Option<Community>> {
        Ok(ctx
            .loader()?
            .load_one(CommunityKey(self.0.award.community_id))
            .await?
            .map(Community))
    }

    /// Who did it: the name whole with their consent, else masked (`陈*林`).
    async fn nominee_name(&self) -> String {
        self.0.public_name()
    }

    /// Whether the name is shown whole.
    async fn named(&self) -> bool {
        self.0.consented_name.is_some()
    }

    /// The title of the package granted.
    async fn package_title(&self, ctx: &Context<'_>) -> AppResult<Option<String>> {
        let Some(p) = self.0.award.package_id else {
            return Ok(None);
        };
        Ok(ctx
            .loader()?
            .load_one(PackageKey(p))
            .await?
            .map(|p| p.title))
    }

    /// The members who give its items, each once, in the package's order (active members
    /// only).
    async fn providers(&self, ctx: &Context<'_>) -> AppResult<Vec<Merchant>> {
        let Some(p) = self.0.award.package_id else {
            return Ok(Vec::new());
        };
        let loader = ctx.loader()?;
        let items = loader
            .load_one(ItemsOfPackage(p))
            .await?
            .unwrap_or_default();
        let mut ids: Vec<i64> = Vec::with_capacity(items.len());
        for i in items.iter() {
            if !ids.contains(&i.merchant_id) {
                ids.push(i.merchant_id);
            }
        }
        let found = loader
            .load_many(ids.iter().copied().map(MerchantKey))
            .await?;
        Ok(ids
            .into_iter()
            .filter_map(|id| found.get(&MerchantKey(id)).cloned())
            .filter(|m| m.status == entity::merchant::MerchantStatus::Active)
            .map(Merchant::from)
            .collect())
    }
}

impl crate::graphql::eager::EagerObject for HonorRollEntry {
    const READY: &'static [&'static str] = &[
        "title",
        "deed",
        "happenedOn",
        "grantedAt",
        "nomineeName",
        "named",
    ];
}

connection!(
    HonorRollConnection,
    HonorRollEdge,
    HonorRollEntry,
    "A page of the honour roll.",
    "An entry of the honour roll and its cursor."
);

connection!(
    AwardConnection,
    AwardEdge,
    Award,
    "A page of awards.",
    "An award and its cursor."
);

#[derive(Default)]
pub(crate) struct AwardQuery;

#[Object]
impl AwardQuery {
    /// An award, for staff of its street and its nominator.
    async fn award(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The award.")] id: ID,
    ) -> AppResult<Award> {
        let n = id::decode(ObjectKind::Award, "id", &id)?;
        Ok(Award(domain::get(&ctx.cx()?, n).await?))
    }
}

#[derive(Default)]
pub(crate) struct AwardMutation;

#[Object]
impl AwardMutation {
    /// Anyone signed in nominates someone else for a good deed in a community: an account, or
    /// a name and phone of someone who may have no account (`FORBIDDEN` for oneself, by
    /// account or by number).
    async fn nominate_award(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Who, what, when and where.")] input: NominateAwardInput,
    ) -> AppResult<Award> {
        ctx.viewer()?;
        let nominee = match (input.nominee_id, input.nominee_name, input.nominee_phone) {
            (Some(u), None, None) => Nominee::User(id::decode(ObjectKind::User, "nomineeId", &u)?),
            (None, Some(name), Some(phone)) => Nominee::Person { name, phone },
            _ => {
                return Err(AppError::bad_input(
                    "nomineeId",
                    Text::new(
                        "请给出被提名人的账号，或姓名和手机号",
                        "Give the nominee's account, or their name and phone",
                    ),
                ));
            }
        };
        let community_id = id::decode(ObjectKind::Community, "communityId", &input.community_id)?;
        let award = domain::nominate(
            &ctx.cx()?,
            Nomination {
                nominee,
                title: input.title,
                deed: input.deed,
                happened_on: input.happened_on.0,
                community_id,
                evidence: input.evidence,
            },
        )
        .await?;
        Ok(Award(award))
    }

    /// Staff of the street (no party to it) grant an approved award with a `READY` package of
    /// the street that has a copy left, and bonus points (0 to 10,000), in one transaction: a
    /// copy is used, the award goes on the honour roll, the nominee gets one entitlement per
    /// item (`myEntitlements`) and the points. For a nominee named by a number that has no
    /// account they are held, and `claimCode` is the code for their certificate. A racing or
    /// retried grant is `INVALID_STATE` and changes nothing. Audited.
    async fn grant_award(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The award.")] id: ID,
        #[graphql(desc = "The package.")] package_id: ID,
        #[graphql(desc = "Bonus points, 0 to 10,000 (none when left out).")] bonus_points: Option<
            i32,
        >,
    ) -> AppResult<GrantAwardPayload> {
        ctx.viewer()?;
        let n = id::decode(ObjectKind::Award, "id", &id)?;
        let p = id::decode(ObjectKind::BenefitPackage, "packageId", &package_id)?;
        Ok(GrantAwardPayload(
            domain::grant(&ctx.cx()?, n, p, bonus_points.unwrap_or(0)).await?,
        ))
    }

    /// Staff of the street (no party to it) replace the claim code of a grant still held for
    /// its nominee (a lost certificate, an answer that never arrived): the old code stops
    /// working, `claimCode` is the new one. `INVALID_STATE` when nothing is held. Audited.
    async fn reissue_award_claim_code(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The award.")] id: ID,
    ) -> AppResult<GrantAwardPayload> {
        ctx.viewer()?;
        let n = id::decode(ObjectKind::Award, "id", &id)?;
        Ok(GrantAwardPayload(
            domain::reissue_claim_code(&ctx.cx()?, n).await?,
        ))
    }

    /// The nominee of a grant held for their number, signed in with that number, claims it
    /// with the code on their certificate: its entitlements and points become theirs. A
    /// code nobody was given is `BAD_USER_INPUT`, another number `FORBIDDEN`, a used code
    /// `INVALID_STATE`; none changes anything. Audited.
    async fn claim_award_grant(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The code on the certificate, `XXXX-XXXX-XXXX` (any case).")] code: String,
    ) -> AppResult<ClaimAwardGrantPayload> {
        ctx.viewer()?;
        Ok(ClaimAwardGrantPayload(
            domain::claim(&ctx.cx()?, &code).await?,
        ))
    }

    /// Staff of the award's street approve or reject (with a reason) a nomination they did not
    /// make and are not named in. Audited; the nominator hears of it.
    async fn review_award(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The award.")] id: ID,
        #[graphql(desc = "Approve or reject.")] decision: AwardDecision,
        #[graphql(desc = "Why; required to reject.")] reason: Option<String>,
    ) -> AppResult<Award> {
        ctx.viewer()?;
        let n = id::decode(ObjectKind::Award, "id", &id)?;
        let action = match decision {
            AwardDecision::Approve => AwardAction::Approve,
            AwardDecision::Reject => AwardAction::Reject,
        };
        Ok(Award(
            domain::review(&ctx.cx()?, n, action, reason.as_deref()).await?,
        ))
    }
}

#[derive(Default)]
pub(crate) struct AwardsQuery;

connection_field! {
    impl AwardsQuery {
        /// Staff: the awards of their street, in every state; anyone else: their own
        /// nominations. Newest first by default.
        async fn awards(
            &self,
            ctx,
            page,
            #[graphql(desc = "Which awards.")] filter: Option<AwardFilter>,
            #[graphql(desc = "Default: `CREATED_AT` descending.")] order_by: Option<AwardOrder>,
        ) -> AwardConnection {
            ctx.viewer()?;
            let window = page.window(ctx)?;
            let f = filter.unwrap_or_default();
            let community_id = f
                .community_id
                .as_ref()
                .map(|c| id::decode(ObjectKind::Community, "filter.communityId", c))
                .transpose()?;
            let o = order_by.unwrap_or(AwardOrder {
                field: AwardOrderField::CreatedAt,
                direction: OrderDirection::Desc,
            });
            let filter = domain::AwardFilter {
                status: f.status.map(Into::into),
                community_id,
                nominated_by_me: f.nominated_by_me,
            };
            let page = domain::list(&ctx.cx()?, filter, o.direction.descending(), window).await?;
            Ok(AwardConnection::new(page, Award))
        }
    }
}

#[derive(Default)]
pub(crate) struct HonorRollQuery;

connection_field! {
    impl HonorRollQuery {
        /// The public honour roll (光荣榜) of a street: its granted awards, newest grant first,
        /// with names masked unless their holders agreed. No sign-in needed.
        async fn honor_roll(
            &self,
            ctx,
            page,
            #[graphql(desc = "The street.")] street_id: ID,
            #[graphql(desc = "Default: `GRANTED_AT` descending.")] order_by: Option<HonorRollOrder>,
        ) -> HonorRollConnection {
            let street = id::decode(ObjectKind::Street, "streetId", &street_id)?;
            let window = page.window(ctx)?;
            let descending = order_by.is_none_or(|o| o.direction.descending());
            let page = domain::honour_roll(&ctx.cx()?, street, descending, window).await?;
            Ok(HonorRollConnection::new(page, HonorRollEntry))
        }
    }
}
