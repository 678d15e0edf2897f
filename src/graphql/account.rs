//! Accounts and sessions: `register`, `login`, `refreshToken`, `logout`, `changePassword`, `me`.

use crate::graphql::scalars::{Date, DateTime};
use async_graphql::{Context, Enum, ID, InputObject, Object, SimpleObject};
use entity::names::ObjectKind;

use crate::domain::account::{self, ProfileChange, RegisterCommand, Session, UserView};
use crate::domain::policy::PersonRights;
use crate::domain::values::mask_phone;
use crate::error::AppResult;
use crate::graphql::loader::{CommunityKey, StreetKey};
use crate::graphql::street::{Community, Street};
use crate::graphql::{ContextExt, id};

/// What a user may act as. One user may hold several; a token carries all of them.
#[derive(Enum, Copy, Clone, Eq, PartialEq)]
#[graphql(remote = "entity::user_role::Role")]
pub enum Role {
    /// 居民: claims coupons, joins activities, earns points, raises needs.
    Resident,
    /// 商户账号: acts for one merchant.
    Merchant,
    /// 工作人员: staff of one street.
    Staff,
}

pub struct User {
    view: UserView,
    /// Set when the object is the requester's own account, e.g. in an `AuthPayload` of a
    /// request that was anonymous until it signed in.
    own: bool,
    /// The phone is masked whoever looks: a page of a register search that did not name it.
    phone_masked: bool,
}

impl User {
    pub fn new(view: UserView) -> User {
        User {
            view,
            own: false,
            phone_masked: false,
        }
    }

    pub fn own(view: UserView) -> User {
        User {
            view,
            own: true,
            phone_masked: false,
        }
    }

    /// As listed by a search of the register: the phone whole only if `phone_shown`.
    pub fn listed(view: UserView, phone_shown: bool) -> User {
        User {
            view,
            own: false,
            phone_masked: !phone_shown,
        }
    }
}

/// A person with an account.
#[Object]
impl User {
    /// Opaque ID.
    pub async fn id(&self) -> ID {
        id::encode(ObjectKind::User, self.view.user.id)
    }

    /// Mainland mobile number. Masked (`138****5678`) to anyone but the user and staff of the
    /// user's street, and in `residents` unless the search named the number.
    async fn phone(&self, ctx: &Context<'_>) -> String {
        let u = &self.view.user;
        if self.phone_masked {
            mask_phone(&u.phone)
        } else if self.own || PersonRights::of(ctx.auth().viewer_opt(), u.id, u.street_id).personal
        {
            self.view.user.phone.clone()
        } else {
            mask_phone(&self.view.user.phone)
        }
    }

    /// The name shown to others.
    async fn display_name(&self) -> &str {
        &self.view.user.display_name
    }

    /// Every role the user holds.
    async fn roles(&self) -> Vec<Role> {
        self.view.roles.iter().map(|r| (*r).into()).collect()
    }

    /// Labels that offers and activities target, such as `SENIOR`, `COURIER`, `VOLUNTEER`.
    async fn tags(&self) -> &[String] {
        &self.view.tags
    }

    /// For staff, the street they work for; for residents, the street of their community.
    async fn street(&self, ctx: &Context<'_>) -> AppResult<Option<Street>> {
        let Some(id) = self.view.user.street_id else {
            return Ok(None);
        };
        Ok(ctx.loader()?.load_one(StreetKey(id)).await?.map(Street))
    }

    /// The community the user lives in, if they said.
    async fn community(&self, ctx: &Context<'_>) -> AppResult<Option<Community>> {
        let Some(id) = self.view.user.community_id else {
            return Ok(None);
        };
        Ok(ctx
            .loader()?
            .load_one(CommunityKey(id))
            .await?
            .map(Community))
    }

    /// Birth date, for offers and activities with an age rule. The user and staff of their
    /// street only (`null` for others).
    async fn birth_date(&self, ctx: &Context<'_>) -> Option<Date> {
        let u = &self.view.user;
        let personal =
            self.own || PersonRights::of(ctx.auth().viewer_opt(), u.id, u.street_id).personal;
        u.birth_date.filter(|_| personal).map(Date)
    }

    /// Whether the user, as staff, administers their street's staff.
    async fn is_street_admin(&self) -> bool {
        self.view.user.is_street_admin
    }

    /// Whether the user appears on public points leaderboards.
    async fn show_on_leaderboards(&self) -> bool {
        !self.view.user.leaderboard_opt_out
    }

    /// Whether the user has agreed to their name showing on the public honour roll
    /// (`honorRoll`); without it an award of theirs shows there with the name masked.
    async fn show_my_name_on_honor_roll(&self) -> bool {
        self.view.user.honour_roll_consent
    }

    /// When the account was created.
    async fn created_at(&self) -> DateTime {
        self.view.user.created_at.into()
    }
}

impl crate::graphql::eager::EagerObject for User {
    const READY: &'static [&'static str] = &[
        "id",
        "phone",
        "displayName",
        "roles",
        "tags",
        "birthDate",
        "isStreetAdmin",
        "showOnLeaderboards",
        "showMyNameOnHonorRoll",
        "createdAt",
    ];
}

/// A signed-in session: send `accessToken` as `Authorization: Bearer …`; before it expires,
/// trade `refreshToken` for a new pair with `refreshToken`.
#[derive(SimpleObject)]
pub struct AuthPayload {
    /// Short-lived bearer token for the `Authorization` header.
    pub access_token: String,
    /// When `accessToken` stops working.
    pub expires_at: DateTime,
    /// Single-use token for `refreshToken`. Keep it secret; using it twice ends the session.
    pub refresh_token: String,
    /// When `refreshToken` stops working.
    pub refresh_expires_at: DateTime,
    /// The signed-in user.
    pub user: User,
}

impl From<Session> for AuthPayload {
    fn from(s: Session) -> Self {
        AuthPayload {
            access_token: s.access_token,
            expires_at: s.access_expires_at.into(),
            refresh_token: s.refresh_token,
            refresh_expires_at: s.refresh_expires_at.into(),
            user: User::own(s.user),
        }
    }
}

/// A new resident account.
#[derive(InputObject)]
pub struct RegisterInput {
    /// Mainland mobile number, e.g. `13812345678` (a `+86` prefix is accepted).
    pub phone: String,
    /// 8 to 128 characters.
    pub password: String,
    /// 1 to 32 characters, shown to others.
    pub display_name: String,
    /// The community the resident lives in.
    pub community_id: Option<ID>,
    /// The 6 digits `sendLoginCode` sent to the phone: required where the server sends SMS
    /// codes, so that only the number's holder registers it.
    pub code: Option<String>,
}

/// Phone and password.
#[derive(InputObject)]
pub struct LoginInput {
    /// The phone number registered with.
    pub phone: String,
    /// The password.
    pub password: String,
}

/// A password change; every earlier token stops working.
#[derive(InputObject)]
pub struct ChangePasswordInput {
    /// The password now in use.
    pub current_password: String,
    /// 8 to 128 characters.
    pub new_password: String,
}

/// What a person changes about themselves; fields left out stay as they are.
#[derive(InputObject)]
pub struct UpdateProfileInput {
    /// 1 to 32 characters, shown to others.
    pub display_name: Option<String>,
    /// The community the person lives in (of any street; it becomes their street too). Staff
    /// can only pick one of the street they work for.
    pub community_id: Option<ID>,
    /// For offers and activities with an age rule (`SENIOR` follows from it at 60).
    pub birth_date: Option<Date>,
    /// Appear on public points leaderboards.
    pub show_on_leaderboards: Option<bool>,
    /// Agree (or no longer agree) to one's name showing on the public honour roll; off
    /// until one agrees.
    pub show_my_name_on_honor_roll: Option<bool>,
}

/// A one-time password reset code, handed to the person in person.
#[derive(SimpleObject)]
pub struct ResetCode {
    /// `XXXX-XXXX-XXXX`; shown this once.
    pub code: String,
    /// Until when it works (24 hours).
    pub expires_at: DateTime,
}

/// A new password set with a reset code.
#[derive(InputObject)]
pub struct ResetPasswordInput {
    /// The account's mobile number.
    pub phone: String,
    /// The code staff handed over, as printed (dashes and case do not matter), or the 6 digits
    /// `sendLoginCode` sent to the phone.
    pub code: String,
    /// 8 to 128 characters, not a common or guessable one.
    pub new_password: String,
}

#[derive(Default)]
pub(crate) struct AccountQuery;

#[Object]
impl AccountQuery {
    /// The signed-in user, or null for an anonymous request.
    async fn me(&self, ctx: &Context<'_>) -> AppResult<Option<User>> {
        let Some(viewer) = ctx.auth().viewer_opt() else {
            return Ok(None);
        };
        Ok(account::get_view(&ctx.state()?.db, viewer.user_id)
            .await?
            .map(User::own))
    }
}

#[derive(Default)]
pub(crate) struct AccountMutation;

#[Object]
impl AccountMutation {
    /// Creates a resident account and signs it in. Where the server sends SMS codes, `code`
    /// proves the phone first (`BAD_USER_INPUT` without it, `UNAUTHENTICATED` for a wrong one).
    /// `CONFLICT` if the phone is registered: sign in with `loginWithCode` instead.
    async fn register(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The new account: phone, password, name and, optionally, community.")]
        input: RegisterInput,
    ) -> AppResult<AuthPayload> {
        let community_id = input
            .community_id
            .as_ref()
            .map(|c| id::decode(ObjectKind::Community, "communityId", c))
            .transpose()?;
        let session = account::register(
            &ctx.cx()?,
            RegisterCommand {
                phone: input.phone,
                password: input.password,
                display_name: input.display_name,
                community_id,
                code: input.code,
            },
        )
        .await?;
        Ok(session.into())
    }

    /// Staff of a person's street issue a one-time reset code, to hand over in person (for a
    /// resident who forgot their password and has no phone at hand, or staff added without
    /// one). An earlier unused code stops working. Audited; never for oneself.
    async fn issue_reset_code(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The person.")] user_id: ID,
    ) -> AppResult<ResetCode> {
        ctx.viewer()?;
        let u = id::decode(ObjectKind::User, "userId", &user_id)?;
        let issued = crate::domain::recovery::issue_reset_code(&ctx.cx()?, u).await?;
        Ok(ResetCode {
            code: issued.code,
            expires_at: issued.expires_at.into(),
        })
    }

    /// Sets a new password with a reset code from staff or an SMS code (not for staff), and
    /// signs in; every earlier session ends, a WeChat link included. A wrong, used or expired
    /// code and an unknown phone all answer `UNAUTHENTICATED`; guesses at a staff code count
    /// against the phone's sign-in lock, an SMS code has its own 5 tries.
    async fn reset_password_with_code(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Phone, code and the new password.")] input: ResetPasswordInput,
    ) -> AppResult<AuthPayload> {
        let session = crate::domain::recovery::reset_with_code(
            &ctx.cx()?,
            &input.phone,
            &input.code,
            input.new_password,
        )
        .await?;
        Ok(session.into())
    }

    /// The signed-in person deletes their account, confirming with their password or with a
    /// code `sendLoginCode` sent to their phone (exactly one of the two). Their name,
    /// phone, birth date, tags and memberships are erased; their points, claims and the
    /// street's records keep a pseudonymous reference, so settlements and figures stay true.
    /// They cannot sign in again; the phone can register afresh. A merchant owner hands over
    /// or closes the merchant first, and staff are removed from the staff first
    /// (`INVALID_STATE`).
    async fn delete_my_account(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The account's password.")] password: Option<String>,
        #[graphql(desc = "A code sent by SMS to the account's phone.")] code: Option<String>,
    ) -> AppResult<bool> {
        use crate::domain::privacy::Confirmation;
        ctx.viewer()?;
        let confirmation = match (password, code) {
            (Some(p), None) => Confirmation::Password(p),
            (None, Some(c)) => Confirmation::Code(c),
            _ => {
                return Err(crate::error::AppError::bad_input(
                    "password",
                    crate::error::Text::new(
                        "请提供密码或短信验证码之一",
                        "Give either the password or an SMS code",
                    ),
                ));
            }
        };
        crate::domain::privacy::delete_my_account(&ctx.cx()?, confirmation).await?;
        Ok(true)
    }

    /// The signed-in person takes a copy of everything stored about them (the right of access
    /// and copy, PIPL): the same JSON staff would hand over, with the API's opaque IDs. Once an
    /// hour at most (`RATE_LIMITED` with `retryAfter` before that). Audited.
    async fn export_my_data(
        &self,
        ctx: &Context<'_>,
    ) -> AppResult<async_graphql::Json<serde_json::Value>> {
        Ok(async_graphql::Json(
            crate::domain::privacy::export_my_data(&ctx.cx()?).await?,
        ))
    }

    /// Staff of a person's street (never for themselves: `exportMyData` is for that) export
    /// everything stored about the person, as JSON with the API's opaque IDs, to hand over on
    /// request (PIPL). Audited.
    async fn export_personal_data(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The person.")] user_id: ID,
    ) -> AppResult<async_graphql::Json<serde_json::Value>> {
        ctx.viewer()?;
        let u = id::decode(ObjectKind::User, "userId", &user_id)?;
        Ok(async_graphql::Json(
            crate::domain::privacy::export_personal_data(&ctx.cx()?, u).await?,
        ))
    }

    /// The signed-in person changes their profile; `me` shows the result.
    async fn update_profile(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The fields to change.")] input: UpdateProfileInput,
    ) -> AppResult<User> {
        ctx.viewer()?;
        let community_id = input
            .community_id
            .as_ref()
            .map(|c| id::decode(ObjectKind::Community, "communityId", c))
            .transpose()?;
        let view = account::update_profile(
            &ctx.cx()?,
            ProfileChange {
                display_name: input.display_name,
                community_id,
                birth_date: input.birth_date.map(|d| d.0),
                show_on_leaderboards: input.show_on_leaderboards,
                honour_roll_consent: input.show_my_name_on_honor_roll,
            },
        )
        .await?;
        Ok(User::own(view))
    }

    /// Signs in. A wrong password and an unknown phone give the same `UNAUTHENTICATED`; after
    /// repeated failures the phone is locked for a while (`RATE_LIMITED`, `retryAfter` seconds).
    async fn login(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Phone and password.")] input: LoginInput,
    ) -> AppResult<AuthPayload> {
        Ok(account::login(&ctx.cx()?, &input.phone, input.password)
            .await?
            .into())
    }

    /// Trades a refresh token for a new pair. Each refresh token works once: presented again
    /// within 10 seconds (several pages refreshing at once) it answers with the same new pair;
    /// later, it ends every session descended from the same login.
    async fn refresh_token(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The refresh token of the session (single use).")] refresh_token: String,
    ) -> AppResult<AuthPayload> {
        Ok(account::refresh(&ctx.cx()?, &refresh_token).await?.into())
    }

    /// Ends every session of the signed-in user on every device: access tokens stop working at
    /// once, refresh tokens are revoked, and the WeChat link ends (bind it again with an SMS
    /// code). Always true.
    async fn logout_everywhere(&self, ctx: &Context<'_>) -> AppResult<bool> {
        ctx.viewer()?;
        account::logout_everywhere(&ctx.cx()?).await?;
        Ok(true)
    }

    /// Ends the session of this refresh token, its access tokens included. Always true, also
    /// for unknown tokens.
    async fn logout(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The refresh token of the session to end.")] refresh_token: String,
    ) -> AppResult<bool> {
        account::logout(&ctx.cx()?, &refresh_token).await?;
        Ok(true)
    }

    /// Changes the signed-in user's password and returns a new session; every token issued
    /// before stops working at once.
    async fn change_password(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The current password and the new one.")] input: ChangePasswordInput,
    ) -> AppResult<AuthPayload> {
        ctx.viewer()?;
        Ok(
            account::change_password(&ctx.cx()?, input.current_password, input.new_password)
                .await?
                .into(),
        )
    }
}
