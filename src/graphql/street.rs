//! Streets and communities as clients see them.

use async_graphql::{Context, Enum, ID, InputObject, Object};
use entity::names::ObjectKind;

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

    /// The neighbourhoods (社区) of the street, by creation order. A street has a handful, so
    /// this is a plain list.
    async fn communities(&self, ctx: &Context<'_>) -> AppResult<Vec<Community>> {
        Ok(ctx
            .loader()?
            .load_one(CommunitiesOfStreet(self.0.id))
            .await?
            .unwrap_or_default()
            .into_iter()
            .map(Community)
            .collect())
    }
}

pub struct Community(pub community::Model);

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
