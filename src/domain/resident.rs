//! Staff find the people of their street (the register behind `addStaff`, `adjustPoints`,
//! `grantTag` and nominations, which take a person's id): by exact phone, part of a name, a
//! tag or a community. Every search is audited, and a page shows phones only to a search by
//! the exact number (which already named it).

use sea_orm::sea_query::Query;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
use serde_json::json;

use entity::audit_entry::AuditAction;
use entity::names::ObjectKind;
use entity::{user, user_tag};

use crate::domain::account::{self, UserView};
use crate::domain::audit::{self, AuditRecord};
use crate::domain::context::Cx;
use crate::domain::page::{self, KeyOf, Order, Page, SortValue, Window};
use crate::domain::policy;
use crate::domain::values::{Phone, keyword_condition, text_field};
use crate::error::AppResult;

#[derive(Default)]
pub struct ResidentFilter {
    /// The whole phone number.
    pub phone: Option<String>,
    /// Part of the display name.
    pub name: Option<String>,
    pub tag: Option<String>,
    pub community_id: Option<i64>,
}

/// What the register can be ordered by (the id breaks ties).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ResidentSort {
    /// When the account was made.
    CreatedAt,
    Name,
}

impl ResidentSort {
    pub fn order(self, descending: bool) -> Order<user::Entity> {
        let (field, column, key): (_, _, KeyOf<user::Model>) = match self {
            ResidentSort::CreatedAt => ("CREATED_AT", user::Column::CreatedAt, |u| {
                (SortValue::Time(u.created_at), u.id)
            }),
            ResidentSort::Name => ("NAME", user::Column::DisplayName, |u| {
                (SortValue::Text(u.display_name.clone()), u.id)
            }),
        };
        Order {
            field,
            column,
            id: user::Column::Id,
            descending,
            key,
        }
    }
}

/// A page of the register, and whether its phones may be shown whole.
pub struct Found {
    pub page: Page<UserView>,
    pub phones_shown: bool,
}

/// Searches the register of the street the viewer is staff of (`FORBIDDEN` for anyone else),
/// and records the search, with what was asked, in the audit log.
pub async fn search(
    cx: &Cx<'_>,
    filter: ResidentFilter,
    order: Order<user::Entity>,
    window: Window,
) -> AppResult<Found> {
    let street = policy::governed_street(cx.viewer()?)?;
    let phone = filter
        .phone
        .as_deref()
        .map(|p| Phone::parse("filter.phone", p))
        .transpose()?;
    let tag = filter
        .tag
        .as_deref()
        .map(|t| text_field("filter.tag", t.trim(), 1, 32, false))
        .transpose()?;
    let mut q = user::Entity::find().filter(policy::listed_residents(street));
    if let Some(p) = &phone {
        q = q.filter(user::Column::Phone.eq(p.as_str()));
    }
    if let Some(found) = keyword_condition(
        "filter.name",
        filter.name.as_deref(),
        &[user::Column::DisplayName],
    )? {
        q = q.filter(found);
    }
    if let Some(t) = &tag {
        q = q.filter(
            user::Column::Id.in_subquery(
                Query::select()
                    .column(user_tag::Column::UserId)
                    .from(user_tag::Entity)
                    .and_where(user_tag::Column::Tag.eq(t.as_str()))
                    .to_owned(),
            ),
        );
    }
    if let Some(c) = filter.community_id {
        q = q.filter(user::Column::CommunityId.eq(c));
    }
    let asked = json!({
        "phone": phone.as_ref().map(Phone::as_str),
        "name": filter.name.as_deref().map(str::trim).filter(|n| !n.is_empty()),
        "tag": tag,
        "communityId": filter.community_id.map(|c| crate::global_id::encode(ObjectKind::Community, c)),
    });
    let tx = cx.write().await?;
    audit::record(
        &tx,
        AuditRecord::of(
            Some(street),
            AuditAction::ResidentSearch,
            ObjectKind::Street,
            street,
        )
        .change(serde_json::Value::Null, asked),
    )
    .await?;
    tx.commit().await?;
    let page = page::fetch(cx, q, order, window).await?;
    let users = page.rows.iter().map(|(_, u)| u.clone()).collect();
    let views = account::load_views(cx, users).await?;
    Ok(Found {
        page: page.with_models(views),
        phones_shown: policy::register_shows_phones(phone.is_some()),
    })
}
