//! Streets and communities as clients see them.

use async_graphql::{Context, Enum, ID, InputObject, Object};
use entity::names::ObjectKind;

use entity::community::CommunityStatus;
use entity::{community, street};

use crate::domain;
use crate::error::{AppError, AppResult};
use crate::graphql::loader::{CommunitiesOfStreet, StreetKey};
use crate::graphql::pagination::{OrderDirection, PageArgs, connection};
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
pub struct StreetQuery;

#[Object]
impl StreetQuery {
    /// Every street served by this deployment. Public. Default order: as created.
    #[graphql(
        complexity = "crate::graphql::pagination::connection_cost(first, last, child_complexity)"
    )]
    async fn streets(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Default: `CREATED_AT` ascending.")] order_by: Option<StreetOrder>,
        #[graphql(desc = "Forwards: this many items (0 to 100, default 20) …")] first: Option<i32>,
        #[graphql(desc = "… after this cursor.")] after: Option<String>,
        #[graphql(desc = "Backwards: this many items (0 to 100) …")] last: Option<i32>,
        #[graphql(desc = "… before this cursor.")] before: Option<String>,
    ) -> AppResult<StreetConnection> {
        let window = PageArgs {
            first,
            after,
            last,
            before,
        }
        .window(ctx)?;
        let o = order_by.unwrap_or_default();
        let order = domain::street::StreetSort::from(o.field).order(o.direction.descending());
        let page = domain::street::page(&ctx.state()?.db, order, window).await?;
        Ok(StreetConnection::new(page, Street))
    }

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

#[derive(Default)]
pub struct StreetMutation;

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
