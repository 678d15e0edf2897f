//! Batch loading for nested fields, so a list of N objects costs one query per kind of
//! relation, not one per row.

use std::collections::HashMap;

use async_graphql::dataloader::Loader;
use sea_orm::DatabaseConnection;

use entity::{community, street};

use crate::domain;
use crate::error::AppError;

/// One loader per request for every relation; keys are newtypes so one loader serves many.
pub struct DbLoader {
    pub db: DatabaseConnection,
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

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct StreetKey(pub i64);

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct CommunityKey(pub i64);

/// All communities of a street.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct CommunitiesOfStreet(pub i64);

impl Loader<StreetKey> for DbLoader {
    type Value = street::Model;
    type Error = LoadError;

    async fn load(&self, keys: &[StreetKey]) -> Result<HashMap<StreetKey, Self::Value>, LoadError> {
        let ids: Vec<i64> = keys.iter().map(|k| k.0).collect();
        let rows = domain::street::streets_by_ids(&self.db, &ids)
            .await
            .map_err(logged)?;
        Ok(rows.into_iter().map(|s| (StreetKey(s.id), s)).collect())
    }
}

impl Loader<CommunityKey> for DbLoader {
    type Value = community::Model;
    type Error = LoadError;

    async fn load(
        &self,
        keys: &[CommunityKey],
    ) -> Result<HashMap<CommunityKey, Self::Value>, LoadError> {
        let ids: Vec<i64> = keys.iter().map(|k| k.0).collect();
        let rows = domain::street::communities_by_ids(&self.db, &ids)
            .await
            .map_err(logged)?;
        Ok(rows.into_iter().map(|c| (CommunityKey(c.id), c)).collect())
    }
}

impl Loader<CommunitiesOfStreet> for DbLoader {
    type Value = Vec<community::Model>;
    type Error = LoadError;

    async fn load(
        &self,
        keys: &[CommunitiesOfStreet],
    ) -> Result<HashMap<CommunitiesOfStreet, Self::Value>, LoadError> {
        let ids: Vec<i64> = keys.iter().map(|k| k.0).collect();
        let rows = domain::street::communities_of(&self.db, &ids)
            .await
            .map_err(logged)?;
        let mut out: HashMap<CommunitiesOfStreet, Vec<community::Model>> =
            keys.iter().map(|k| (*k, Vec::new())).collect();
        for row in rows {
            out.entry(CommunitiesOfStreet(row.street_id))
                .or_default()
                .push(row);
        }
        Ok(out)
    }
}
