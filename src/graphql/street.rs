//! Streets and communities as clients see them.

use async_graphql::{Context, Enum, ID, InputObject, Object};
use entity::names::ObjectKind;

use entity::community::CommunityStatus;
use entity::{community, street};

use crate::domain;
use crate::domain::policy::StreetRights;
use crate::error::{AppError, AppResult};
use crate::graphql::account::User;
use crate::graphql::loader::{CommunitiesOfStreet, StreetKey};
use crate::graphql::pagination::{OrderDirection, connection, connection_field};
use crate::graphql::scalars::Date;
use crate::graphql::{ContextExt, id};

pub struct Street(pub street::Model);

/// A sub-district (街道): the tenant that runs one merchant–resident alliance.
#[Object]
impl Street {
    /// Opaque ID.
    pub async fn id(&self) -> ID {
        id::encode(ObjectKind::Street, self.0.id)
    }

    /// Name, e.g. 九棵树街道.
    async fn name(&self) -> &str {
        &self.0.name
    }

    /// The name shown to people (the registered `name` unless the street set another).
    async fn display_name(&self) -> &str {
        self.0.display_name.as_deref().unwrap_or(&self.0.name)
    }

    /// The day the alliance started.
    async fn founded_on(&self) -> Option<Date> {
        self.0.founded_on.map(Date)
    }

    /// The street's IANA time zone, `Asia/Shanghai` by default.
    async fn time_zone(&self) -> &str {
        &self.0.time_zone
    }

    /// The most points one activity may award, when the street set a limit.
    async fn max_activity_points(&self) -> Option<i32> {
        self.0.max_activity_points
    }

    /// How many hours a raised need may wait for a first answer, when the street set a target.
    async fn demand_response_hours(&self) -> Option<i32> {
        self.0.demand_response_hours
    }

    /// The neighbourhoods (社区) of the street, by creation order; archived ones only when
    /// asked. A street has a handful, so this is a plain list.
    async fn communities(
        &self,
        ctx: &Context<'_>,
        #[graphql(
            default = false,
            desc = "Also the archived communities (which keep their history)."
        )]
        include_archived: bool,
    ) -> AppResult<Vec<Community>> {
        Ok(ctx
            .loader()?
            .load_one(CommunitiesOfStreet(self.0.id))
            .await?
            .unwrap_or_default()
            .into_iter()
            .filter(|c| include_archived || c.status == CommunityStatus::Active)
            .map(Community)
            .collect())
    }
}

impl crate::graphql::eager::EagerObject for Street {
    const READY: &'static [&'static str] = &[
        "id",
        "name",
        "displayName",
        "foundedOn",
        "timeZone",
        "maxActivityPoints",
        "demandResponseHours",
    ];
}

pub struct Community(pub community::Model);

/// Whether a community takes new members.
#[derive(Enum, Copy, Clone, Eq, PartialEq)]
#[graphql(
    name = "CommunityStatus",
    remote = "entity::community::CommunityStatus"
)]
pub enum CommunityState {
    /// Takes new residents and merchants.
    Active,
    /// Keeps its history; takes no new members.
    Archived,
}

/// A neighbourhood (社区) inside a street, such as 新城嘉园.
#[Object]
impl Community {
    /// Opaque ID.
    pub async fn id(&self) -> ID {
        id::encode(ObjectKind::Community, self.0.id)
    }

    /// Name, e.g. 新城嘉园.
    async fn name(&self) -> &str {
        &self.0.name
    }

    /// `ACTIVE`, or `ARCHIVED`: kept with its history, taking no new residents or merchants.
    async fn status(&self) -> CommunityState {
        self.0.status.into()
    }

    /// The steps you may take on it now (`ARCHIVE`), by its state and your rights: offer only
    /// these buttons. Its `history` names steps the same way.
    async fn available_actions(&self, ctx: &Context<'_>) -> Vec<String> {
        let rights = StreetRights::of(ctx.auth().viewer_opt(), self.0.street_id);
        crate::domain::lifecycle::available::<entity::community::Entity>(&rights, self.0.status)
    }

    /// The street the community belongs to.
    async fn street(&self, ctx: &Context<'_>) -> AppResult<Street> {
        ctx.loader()?
            .load_one(StreetKey(self.0.street_id))
            .await?
            .map(Street)
            .ok_or(AppError::NotFound("street"))
    }
}

connection!(
    StreetConnection,
    StreetEdge,
    Street,
    "A page of streets.",
    "A street and its cursor."
);

/// What streets can be ordered by; the ID breaks ties.
#[derive(Enum, Copy, Clone, Debug, Default, Eq, PartialEq)]
#[graphql(remote = "crate::domain::street::StreetSort")]
pub enum StreetOrderField {
    /// When the street was set up.
    #[default]
    CreatedAt,
    /// By name.
    Name,
}

/// How to order streets.
#[derive(InputObject, Default)]
pub struct StreetOrder {
    /// The sort key.
    #[graphql(default)]
    pub field: StreetOrderField,
    /// Which way.
    #[graphql(default)]
    pub direction: OrderDirection,
}

#[derive(Default)]
pub(crate) struct StreetQuery;

#[Object]
impl StreetQuery {
    /// One street by ID, or null. Public.
    async fn street(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The street.")] id: ID,
    ) -> AppResult<Option<Street>> {
        let id = id::decode(ObjectKind::Street, "id", &id)?;
        Ok(domain::street::get(&ctx.state()?.db, id).await?.map(Street))
    }
}

/// A change of the street's settings; settings left out stay as they are.
#[derive(InputObject)]
pub struct StreetSettingsInput {
    /// The name shown to people, 1 to 64 characters.
    pub display_name: Option<String>,
    /// The day the alliance started (not in the future).
    pub founded_on: Option<Date>,
    /// An IANA time zone such as `Asia/Shanghai`.
    pub time_zone: Option<String>,
    /// The most points one activity may award, 1 to 10000.
    pub max_activity_points: Option<i32>,
    /// Hours a raised need may wait for a first answer, 1 to 720.
    pub demand_response_hours: Option<i32>,
}

#[derive(Default)]
pub(crate) struct StreetMutation;

fn community_id(raw: &ID) -> AppResult<i64> {
    id::decode(ObjectKind::Community, "id", raw)
}

#[Object]
impl StreetMutation {
    /// Staff add a community to their street. `CONFLICT` if the street has one of that name.
    async fn create_community(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "1 to 32 characters, e.g. 新城嘉园.")] name: String,
    ) -> AppResult<Community> {
        ctx.viewer()?;
        Ok(Community(
            domain::street::create_community(&ctx.cx()?, &name).await?,
        ))
    }

    /// Staff rename a community of their street (audited with the old and new names).
    async fn rename_community(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The community.")] id: ID,
        #[graphql(desc = "1 to 32 characters, unique in the street.")] name: String,
    ) -> AppResult<Community> {
        ctx.viewer()?;
        let id = community_id(&id)?;
        Ok(Community(
            domain::street::rename_community(&ctx.cx()?, id, &name).await?,
        ))
    }

    /// A street administrator changes the street's settings (audited, before and after).
    async fn update_street_settings(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The settings to change.")] input: StreetSettingsInput,
    ) -> AppResult<Street> {
        ctx.viewer()?;
        let change = domain::street::SettingsChange {
            display_name: input.display_name,
            founded_on: input.founded_on.map(|d| d.0),
            time_zone: input.time_zone,
            max_activity_points: input.max_activity_points,
            demand_response_hours: input.demand_response_hours,
        };
        Ok(Street(
            domain::street::update_settings(&ctx.cx()?, change).await?,
        ))
    }

    /// A street administrator makes staff of the street (and an administrator with `admin`): a
    /// resident of the street, or a new account for a number not yet registered, made without a
    /// password, which its holder sets with a reset code (`issueResetCode`). Anyone else, and
    /// staff already, are `CONFLICT`.
    async fn add_staff(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Mainland mobile number.")] phone: String,
        #[graphql(desc = "Display name for a new account, 1 to 32 characters.")] name: String,
        #[graphql(desc = "Also an administrator.", default = false)] admin: bool,
    ) -> AppResult<User> {
        ctx.viewer()?;
        let view = domain::staff::add(&ctx.cx()?, &phone, &name, admin).await?;
        Ok(User::new(view))
    }

    /// A street administrator removes a staff member of the street, who stays a resident.
    /// Never oneself, never the last administrator (`INVALID_STATE`).
    async fn remove_staff(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The staff member.")] user_id: ID,
    ) -> AppResult<User> {
        ctx.viewer()?;
        let u = id::decode(ObjectKind::User, "userId", &user_id)?;
        let view = domain::staff::remove(&ctx.cx()?, u).await?;
        Ok(User::new(view))
    }

    /// Staff archive a community of their street: its residents, merchants and history stay;
    /// it takes no new members (`INVALID_STATE` for those who try).
    async fn archive_community(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The community.")] id: ID,
    ) -> AppResult<Community> {
        ctx.viewer()?;
        let id = community_id(&id)?;
        Ok(Community(
            domain::street::archive_community(&ctx.cx()?, id).await?,
        ))
    }
}

#[derive(Default)]
pub(crate) struct StreetsQuery;

connection_field! {
    impl StreetsQuery {
        /// Every street served by this deployment. Public. Default order: as created.
        async fn streets(
            &self,
            ctx,
            page,
            #[graphql(desc = "Default: `CREATED_AT` ascending.")] order_by: Option<StreetOrder>,
        ) -> StreetConnection {
            let window = page.window(ctx)?;
            let o = order_by.unwrap_or_default();
            let order = domain::street::StreetSort::from(o.field).order(o.direction.descending());
            let page = domain::street::page(&ctx.state()?.db, order, window).await?;
            Ok(StreetConnection::new(page, Street))
        }
    }
}
