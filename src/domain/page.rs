//! One page of any query, with the total across pages.

use sea_orm::{ConnectionTrait, EntityTrait, FromQueryResult, PaginatorTrait, QuerySelect, Select};

use crate::error::AppResult;

/// Runs `query` (already filtered and ordered) for `limit` rows from `offset`, and counts all.
pub async fn fetch<E, C>(
    db: &C,
    query: Select<E>,
    offset: u64,
    limit: u64,
) -> AppResult<(Vec<E::Model>, u64)>
where
    E: EntityTrait,
    E::Model: FromQueryResult + Send + Sync,
    C: ConnectionTrait,
{
    let total = query.clone().count(db).await?;
    let rows = query.offset(offset).limit(limit).all(db).await?;
    Ok((rows, total))
}
