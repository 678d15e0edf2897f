//! Batch loading for nested fields, so a list of N objects costs one query per kind of
//! relation, not one per row.

use std::collections::HashMap;
use std::sync::Arc;

use async_graphql::dataloader::Loader;
use sea_orm::DatabaseConnection;

use entity::{community, street};

use crate::domain;
use crate::domain::context::Cx;
use crate::error::AppError;
use crate::rows::{Columns, Cutoff, Partial};

/// The loader of one request, with a cache that list resolvers prime.
pub type RequestLoader =
    async_graphql::dataloader::DataLoader<DbLoader, async_graphql::dataloader::HashMapCache>;

/// One loader per request for every relation; keys are newtypes so one loader serves many.
pub struct DbLoader {
    pub db: DatabaseConnection,
    /// The request's "now" by the state's clock, for rules that depend on time.
    pub now: chrono::DateTime<chrono::Utc>,
    /// Past it, loads run no statement ([`Cutoff`]).
    pub cutoff: Cutoff,
}

impl DbLoader {
    /// Whether a load may still run: past the request's cutoff nobody waits for it.
    fn running(&self) -> Result<(), LoadError> {
        self.cutoff.check().map_err(|_| LoadError)
    }
}

/// Errors are logged where they arise and reach clients as `INTERNAL_SERVER_ERROR`.
#[derive(Clone, Debug)]
pub struct LoadError;

impl From<LoadError> for AppError {
    fn from(_: LoadError) -> AppError {
        AppError::Internal("batch load failed".into())
    }
}

fn logged(err: AppError) -> LoadError {
    tracing::error!(error = ?err, "batch load failed");
    LoadError
}

/// Generates a loader of rows by id.
macro_rules! by_id_loader {
    ($key:ident, $model:ty, $fetch:path) => {
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
        pub struct $key(pub i64);

        impl Loader<$key> for DbLoader {
            type Value = $model;
            type Error = LoadError;

            async fn load(&self, keys: &[$key]) -> Result<HashMap<$key, $model>, LoadError> {
                self.running()?;
                let ids: Vec<i64> = keys.iter().map(|k| k.0).collect();
                let rows = $fetch(&self.db, &ids).await.map_err(logged)?;
                Ok(rows.into_iter().map(|r| ($key(r.id), r.into())).collect())
            }
        }
    };
}

// Merchants and coupons are shared, not copied, between the loader's cache and the objects
// of the answer: a list hands out the same rows many times.
by_id_loader!(
    MerchantKey,
    Arc<entity::merchant::Model>,
    domain::merchant::by_ids
);
by_id_loader!(StreetKey, street::Model, domain::street::streets_by_ids);
by_id_loader!(
    CommunityKey,
    community::Model,
    domain::street::communities_by_ids
);
by_id_loader!(
    CouponKey,
    Arc<entity::coupon::Model>,
    domain::coupon::query::by_ids
);
by_id_loader!(UserKey, entity::user::Model, domain::account::users_by_ids);
by_id_loader!(
    PackageKey,
    entity::benefit_package::Model,
    domain::package::by_ids
);

/// Groups rows by a parent id, giving every requested key an entry (empty when it has none).
fn group<K: Copy + Eq + std::hash::Hash, V>(
    keys: &[K],
    rows: Vec<V>,
    key_of: impl Fn(&V) -> K,
) -> HashMap<K, Vec<V>> {
    let mut out: HashMap<K, Vec<V>> = keys.iter().map(|k| (*k, Vec::new())).collect();
    for row in rows {
        out.entry(key_of(&row)).or_default().push(row);
    }
    out
}

/// Generates a loader of the rows belonging to a parent, grouped by parent id; every key gets
/// an entry, empty when the parent has none.
macro_rules! grouped_loader {
    ($(#[$doc:meta])* $key:ident, $model:ty, $fetch:path, $parent:ident) => {
        $(#[$doc])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
        pub struct $key(pub i64);

        impl Loader<$key> for DbLoader {
            type Value = Vec<$model>;
            type Error = LoadError;

            async fn load(&self, keys: &[$key]) -> Result<HashMap<$key, Vec<$model>>, LoadError> {
                self.running()?;
                let ids: Vec<i64> = keys.iter().map(|k| k.0).collect();
                let rows = $fetch(&self.db, &ids).await.map_err(logged)?;
                Ok(group(keys, rows, |r| $key(r.$parent)))
            }
        }
    };
}

grouped_loader!(
    /// All communities of a street.
    CommunitiesOfStreet,
    community::Model,
    domain::street::communities_of,
    street_id
);
/// Publicly visible coupons of a merchant, newest first.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct ActiveCouponsOf(pub i64);

/// The coupons of a merchant, read with the same `columns` (a list primed for its selection):
/// a reader that needs more reads them again.
#[derive(Clone)]
pub struct PrimedCoupons {
    pub columns: Columns,
    pub rows: Vec<Partial<Arc<entity::coupon::Model>>>,
}

/// Groups coupons read with `columns` by merchant, as [`group`] does.
fn group_coupons(
    keys: &[ActiveCouponsOf],
    rows: Vec<Partial<Arc<entity::coupon::Model>>>,
    columns: Columns,
) -> Result<HashMap<ActiveCouponsOf, PrimedCoupons>, crate::error::AppError> {
    let merchant = crate::columns![entity::coupon::Column: MerchantId];
    let mut keyed = Vec::with_capacity(rows.len());
    for row in rows {
        keyed.push((ActiveCouponsOf(row.get(merchant, |c| c.merchant_id)?), row));
    }
    Ok(group(keys, keyed, |(k, _)| *k)
        .into_iter()
        .map(|(k, rows)| {
            let rows = rows.into_iter().map(|(_, row)| row).collect();
            (k, PrimedCoupons { columns, rows })
        })
        .collect())
}

impl Loader<ActiveCouponsOf> for DbLoader {
    type Value = PrimedCoupons;
    type Error = LoadError;

    async fn load(
        &self,
        keys: &[ActiveCouponsOf],
    ) -> Result<HashMap<ActiveCouponsOf, Self::Value>, LoadError> {
        self.running()?;
        let ids: Vec<i64> = keys.iter().map(|k| k.0).collect();
        let rows =
            domain::coupon::query::active_of_merchants(&self.db, &ids, self.now, Columns::ALL)
                .await
                .map_err(logged)?;
        let rows = rows.into_iter().map(|c| c.map(Arc::new)).collect();
        group_coupons(keys, rows, Columns::ALL).map_err(logged)
    }
}
grouped_loader!(
    /// The items of a benefit package, in the order they were added.
    ItemsOfPackage,
    entity::package_item::Model,
    domain::package::items_of,
    package_id
);
grouped_loader!(
    /// The owner and clerks of a merchant, with their accounts, oldest first.
    MembersOf,
    domain::merchant::Member,
    domain::merchant::members_of,
    merchant_id
);
grouped_loader!(
    /// The uses of an entitlement, oldest first.
    UsesOf,
    entity::entitlement_use::Model,
    domain::entitlement::uses_of,
    entitlement_id
);
grouped_loader!(
    /// Audience rules of a coupon.
    AudienceOf,
    entity::coupon_audience::Model,
    domain::coupon::query::audiences_of,
    coupon_id
);

/// The merchants a user belongs to (once per request, whatever the number of rows asking).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct MembershipsOf(pub i64);

impl Loader<MembershipsOf> for DbLoader {
    type Value = Vec<entity::merchant_member::Model>;
    type Error = LoadError;

    async fn load(
        &self,
        keys: &[MembershipsOf],
    ) -> Result<HashMap<MembershipsOf, Self::Value>, LoadError> {
        self.running()?;
        let mut out = HashMap::new();
        for k in keys {
            let rows = domain::merchant::memberships_of(&self.db, k.0)
                .await
                .map_err(logged)?;
            out.insert(*k, rows);
        }
        Ok(out)
    }
}

/// The columns that the fields below `selected` (every occurrence of a list field, fragments
/// included) read, by a type's table of the column each field reads (`FIELD_COLUMNS`); a field
/// not in the table reads the whole row.
pub fn selected_columns(
    table: &[(&str, Columns)],
    selected: &[async_graphql::SelectionField<'_>],
) -> Columns {
    selected
        .iter()
        .flat_map(|list| list.selection_set())
        .fold(Columns::NONE, |set, field| {
            set.with(column_of(table, field.name()))
        })
}

/// [`selected_columns`] of the field being resolved, read from the document itself: a list
/// field of every row of a page asks, and this allocates nothing.
pub fn columns_below(ctx: &async_graphql::Context<'_>, table: &[(&str, Columns)]) -> Columns {
    use async_graphql::parser::types::{Selection, SelectionSet};
    fn walk(
        ctx: &async_graphql::Context<'_>,
        table: &[(&str, Columns)],
        set: &SelectionSet,
    ) -> Columns {
        set.items
            .iter()
            .fold(Columns::NONE, |columns, selection| match &selection.node {
                Selection::Field(field) => {
                    columns.with(column_of(table, field.node.name.node.as_str()))
                }
                Selection::FragmentSpread(spread) => {
                    match ctx.query_env.fragments.get(&spread.node.fragment_name.node) {
                        Some(fragment) => {
                            columns.with(walk(ctx, table, &fragment.node.selection_set.node))
                        }
                        None => Columns::ALL,
                    }
                }
                Selection::InlineFragment(fragment) => {
                    columns.with(walk(ctx, table, &fragment.node.selection_set.node))
                }
            })
    }
    walk(ctx, table, &ctx.item.node.selection_set.node)
}

fn column_of(table: &[(&str, Columns)], field: &str) -> Columns {
    table
        .iter()
        .find(|(name, _)| *name == field)
        .map_or(Columns::ALL, |(_, columns)| *columns)
}

/// Loads what the selection below a list of merchants will ask for, one statement per
/// relation, and feeds it to the request's loader. Time-based batching alone splits batches
/// when resolving a long list takes longer than the loader's delay; priming makes the number
/// of statements independent of the number of rows.
pub fn prime_merchants<'a>(
    ctx: &'a async_graphql::Context<'_>,
    cx: &'a Cx<'a>,
    rows: &'a [Partial<Arc<entity::merchant::Model>>],
    node: async_graphql::Lookahead<'a>,
) -> futures::future::BoxFuture<'a, crate::error::AppResult<()>> {
    use entity::merchant::Column as M;
    Box::pin(async move {
        use crate::graphql::ContextExt;
        let loader = ctx.loader()?;
        if rows.is_empty() {
            return Ok(());
        }
        // Whoever loads a merchant by id reads any of its fields: only whole rows.
        loader
            .feed_many(
                rows.iter()
                    .filter_map(|m| m.whole_row())
                    .map(|m| (MerchantKey(m.id), m.clone())),
            )
            .await;
        let each = |need, f: fn(&entity::merchant::Model) -> Option<i64>| {
            rows.iter()
                .map(|m| m.get(need, |m| f(m)))
                .filter_map(Result::transpose)
                .collect::<Result<Vec<i64>, _>>()
        };
        if node.field("community").exists() {
            let ids = each(crate::columns![M: CommunityId], |m| m.community_id)?;
            let found = domain::street::communities_by_ids(cx, &ids).await?;
            loader
                .feed_many(found.into_iter().map(|c| (CommunityKey(c.id), c)))
                .await;
        }
        if node.field("street").exists() {
            let ids = each(crate::columns![M: StreetId], |m| Some(m.street_id))?;
            let found = domain::street::streets_by_ids(cx, &ids).await?;
            loader
                .feed_many(found.into_iter().map(|s| (StreetKey(s.id), s)))
                .await;
        }
        let coupons = node.field("coupons");
        if coupons.exists() {
            let ids: Vec<i64> = rows.iter().map(|m| m.key(|m| m.id)).collect();
            let keys: Vec<ActiveCouponsOf> = ids.iter().map(|id| ActiveCouponsOf(*id)).collect();
            // Only the columns the selection reads: a card of three fields is a fifth of a row.
            let columns = selected_columns(
                crate::graphql::coupon::FIELD_COLUMNS,
                &coupons.selection_fields(),
            );
            let found: Vec<Partial<Arc<entity::coupon::Model>>> =
                domain::coupon::query::active_of_merchants(cx, &ids, cx.now(), columns)
                    .await?
                    .into_iter()
                    .map(|c| c.map(Arc::new))
                    .collect();
            prime_coupons(ctx, cx, &found, coupons).await?;
            loader
                .feed_many(group_coupons(&keys, found, columns)?)
                .await;
        }
        Ok(())
    })
}

/// As [`prime_merchants`], for a list of coupons read with `columns`.
pub fn prime_coupons<'a>(
    ctx: &'a async_graphql::Context<'_>,
    cx: &'a Cx<'a>,
    rows: &'a [Partial<Arc<entity::coupon::Model>>],
    node: async_graphql::Lookahead<'a>,
) -> futures::future::BoxFuture<'a, crate::error::AppResult<()>> {
    use entity::coupon::Column as C;
    Box::pin(async move {
        use crate::graphql::ContextExt;
        let loader = ctx.loader()?;
        if rows.is_empty() {
            return Ok(());
        }
        // Whoever loads a coupon by id reads any of its fields: only whole rows.
        loader
            .feed_many(
                rows.iter()
                    .filter_map(|c| c.whole_row())
                    .map(|c| (CouponKey(c.id), c.clone())),
            )
            .await;
        let each = |need, f: fn(&entity::coupon::Model) -> i64| {
            rows.iter()
                .map(|c| c.get(need, |c| f(c)))
                .collect::<Result<Vec<i64>, _>>()
        };
        let audience = node.field("audience");
        if audience.exists() {
            let ids: Vec<i64> = rows.iter().map(|c| c.key(|c| c.id)).collect();
            let keys: Vec<AudienceOf> = ids.iter().map(|id| AudienceOf(*id)).collect();
            let found = domain::coupon::query::audiences_of(cx, &ids).await?;
            if audience.field("communities").exists() {
                let ids = domain::coupon::query::community_ids(&found)?;
                let communities = domain::street::communities_by_ids(cx, &ids).await?;
                loader
                    .feed_many(communities.into_iter().map(|c| (CommunityKey(c.id), c)))
                    .await;
            }
            loader
                .feed_many(group(&keys, found, |a| AudienceOf(a.coupon_id)))
                .await;
        }
        let merchant = node.field("merchant");
        if merchant.exists() {
            let mut ids = each(crate::columns![C: MerchantId], |c| c.merchant_id)?;
            ids.sort_unstable();
            ids.dedup();
            let found: Vec<Partial<Arc<entity::merchant::Model>>> =
                domain::merchant::by_ids(cx, &ids)
                    .await?
                    .into_iter()
                    .map(|m| Partial::all(Arc::new(m)))
                    .collect();
            prime_merchants(ctx, cx, &found, merchant).await?;
        }
        Ok(())
    })
}
