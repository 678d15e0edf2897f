//! `residents`: staff's register of the people of their street.

use async_graphql::{Enum, ID, InputObject};

use entity::names::ObjectKind;

use crate::domain::resident::{self as domain, ResidentFilter};
use crate::graphql::account::User;
use crate::graphql::pagination::{OrderDirection, connection, connection_field};
use crate::graphql::{ContextExt, id};

connection!(
    UserConnection,
    UserEdge,
    User,
    "A page of people.",
    "A person and their cursor."
);

/// Whom to find; the conditions add up. Leave it out to page through the whole register.
#[derive(InputObject, Default)]
pub struct ResidentFilterInput {
    /// The whole mobile number (a `+86` prefix is accepted). Only a search by the exact number
    /// shows phones whole.
    pub phone: Option<String>,
    /// Part of the display name (1 to 32 characters).
    pub name: Option<String>,
    /// Holding this tag, e.g. `SENIOR`, `VOLUNTEER`.
    pub tag: Option<String>,
    /// Living in this community.
    pub community_id: Option<ID>,
}

/// What the register can be ordered by; the ID breaks ties.
#[derive(Enum, Copy, Clone, Debug, Default, Eq, PartialEq)]
#[graphql(remote = "crate::domain::resident::ResidentSort")]
pub enum ResidentOrderField {
    /// When the account was made.
    #[default]
    CreatedAt,
    /// By display name.
    Name,
}

/// How to order the register.
#[derive(InputObject, Default)]
pub struct ResidentOrder {
    /// The sort key.
    #[graphql(default)]
    pub field: ResidentOrderField,
    /// Which way.
    #[graphql(default)]
    pub direction: OrderDirection,
}

#[derive(Default)]
pub(crate) struct ResidentsQuery;

connection_field! {
    impl ResidentsQuery {
        /// Staff: the people of their street (open accounts), to find the person a staff
        /// action needs (`addStaff`, `adjustPoints`, `grantTag`, `nominateAward`). Phones are
        /// masked unless the search named the exact number. Every search is audited.
        /// `FORBIDDEN` for anyone but staff.
        async fn residents(
            &self,
            ctx,
            page,
            #[graphql(desc = "Whom to find.")] filter: Option<ResidentFilterInput>,
            #[graphql(desc = "Default: `CREATED_AT` ascending.")] order_by: Option<ResidentOrder>,
        ) -> UserConnection {
            ctx.viewer()?;
            let window = page.window(ctx)?;
            let f = filter.unwrap_or_default();
            let filter = ResidentFilter {
                phone: f.phone,
                name: f.name,
                tag: f.tag,
                community_id: f
                    .community_id
                    .as_ref()
                    .map(|c| id::decode(ObjectKind::Community, "filter.communityId", c))
                    .transpose()?,
            };
            let o = order_by.unwrap_or_default();
            let order = domain::ResidentSort::from(o.field).order(o.direction.descending());
            let found = domain::search(&ctx.cx()?, filter, order, window).await?;
            let shown = found.phones_shown;
            Ok(UserConnection::new(found.page, |v| User::listed(v, shown)))
        }
    }
}
