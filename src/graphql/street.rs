//! Streets and communities as clients see them.

use async_graphql::{Context, ID, Object};
use entity::names::ObjectKind;

use entity::{community, street};

use crate::domain;
use crate::error::{AppError, AppResult};
use crate::graphql::loader::{CommunitiesOfStreet, StreetKey};
use crate::graphql::pagination::{Page, PageRequest};
use crate::graphql::{ContextExt, id};

pub struct Street(pub street::Model);

/// A sub-district (街道): the tenant that runs one merchant–resident alliance.
#[Object]
impl Street {
    /// Opaque ID.
    async fn id(&self) -> ID {
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
    async fn id(&self) -> ID {
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

#[derive(Default)]
pub struct StreetQuery;

#[Object]
impl StreetQuery {
    /// Every street served by this deployment. Public.
    #[graphql(complexity = "crate::graphql::pagination::page_cost(first, child_complexity)")]
    async fn streets(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Page size, 0 to 100 (default 20).")] first: Option<i32>,
        #[graphql(desc = "Cursor of the last edge of the previous page.")] after: Option<String>,
    ) -> AppResult<Page<Street>> {
        let page = PageRequest::parse(first, after.as_deref())?;
        let (rows, total) = domain::street::page(&ctx.state()?.db, page.offset, page.limit).await?;
        Ok(page.connection(rows.into_iter().map(Street).collect(), total))
    }

    /// One street by ID, or null. Public.
    async fn street(&self, ctx: &Context<'_>, id: ID) -> AppResult<Option<Street>> {
        let id = id::decode(ObjectKind::Street, "id", &id)?;
        Ok(domain::street::get(&ctx.state()?.db, id).await?.map(Street))
    }
}
