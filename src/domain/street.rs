//! Streets (the tenants) and their communities.

use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, Set,
};

use entity::{community, street};

use crate::domain::context::Cx;
use crate::domain::page::{KeyOf, Order, Page, SortValue, Window};
use crate::error::AppResult;

/// Finds the street of that name, creating it if it is new.
pub async fn find_or_create(conn: &Cx<'_>, name: &str) -> AppResult<street::Model> {
    if let Some(found) = street::Entity::find()
        .filter(street::Column::Name.eq(name))
        .one(conn)
        .await?
    {
        return Ok(found);
    }
    Ok(street::ActiveModel {
        name: Set(name.to_owned()),
        created_at: Set(conn.now()),
        ..Default::default()
    }
    .insert(conn)
    .await?)
}

/// Finds the community of that name in the street, creating it if it is new.
pub async fn find_or_create_community(
    conn: &Cx<'_>,
    street_id: i64,
    name: &str,
) -> AppResult<community::Model> {
    if let Some(found) = community::Entity::find()
        .filter(community::Column::StreetId.eq(street_id))
        .filter(community::Column::Name.eq(name))
        .one(conn)
        .await?
    {
        return Ok(found);
    }
    Ok(community::ActiveModel {
        street_id: Set(street_id),
        name: Set(name.to_owned()),
        created_at: Set(conn.now()),
        ..Default::default()
    }
    .insert(conn)
    .await?)
}

pub async fn get(db: &impl ConnectionTrait, id: i64) -> AppResult<Option<street::Model>> {
    Ok(street::Entity::find_by_id(id).one(db).await?)
}

pub async fn get_community(
    db: &impl ConnectionTrait,
    id: i64,
) -> AppResult<Option<community::Model>> {
    Ok(community::Entity::find_by_id(id).one(db).await?)
}

/// What streets can be ordered by (the id breaks ties).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StreetSort {
    CreatedAt,
    Name,
}

impl StreetSort {
    pub fn order(self, descending: bool) -> Order<street::Entity> {
        let (field, column, key): (_, _, KeyOf<street::Model>) = match self {
            StreetSort::CreatedAt => ("CREATED_AT", street::Column::CreatedAt, |s| {
                (SortValue::Time(s.created_at), s.id)
            }),
            StreetSort::Name => ("NAME", street::Column::Name, |s| {
                (SortValue::Text(s.name.clone()), s.id)
            }),
        };
        Order {
            field,
            column,
            id: street::Column::Id,
            descending,
            key,
        }
    }
}

/// One page of streets.
pub async fn page(
    db: &impl ConnectionTrait,
    order: Order<street::Entity>,
    window: Window,
) -> AppResult<Page<street::Model>> {
    crate::domain::page::fetch(db, street::Entity::find(), order, window).await
}

/// The communities of many streets at once, for a DataLoader.
pub async fn communities_of(
    db: &impl ConnectionTrait,
    street_ids: &[i64],
) -> AppResult<Vec<community::Model>> {
    Ok(community::Entity::find()
        .filter(community::Column::StreetId.is_in(street_ids.iter().copied()))
        .order_by_asc(community::Column::Id)
        .all(db)
        .await?)
}

pub async fn streets_by_ids(
    db: &impl ConnectionTrait,
    ids: &[i64],
) -> AppResult<Vec<street::Model>> {
    Ok(street::Entity::find()
        .filter(street::Column::Id.is_in(ids.iter().copied()))
        .all(db)
        .await?)
}

pub async fn communities_by_ids(
    db: &impl ConnectionTrait,
    ids: &[i64],
) -> AppResult<Vec<community::Model>> {
    Ok(community::Entity::find()
        .filter(community::Column::Id.is_in(ids.iter().copied()))
        .all(db)
        .await?)
}
