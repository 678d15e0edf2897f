//! Streets (the tenants) and their communities, which the street's staff create, rename and
//! archive.

use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder,
    QuerySelect, Set,
};

use entity::community::CommunityStatus;
use entity::names::ObjectKind;
use entity::{community, street};

use chrono_tz::Tz;

use crate::clock::DEFAULT_TIME_ZONE;
use crate::db::OrConflict;
use crate::domain::audit::{self, AuditAction, AuditRecord, Change};
use crate::domain::context::Cx;
use crate::domain::lifecycle::{self, Grants, Lifecycle, NoteRule, Rule, Step};
use crate::domain::page::{KeyOf, Order, Page, SortValue, Window};
use crate::domain::policy::{self, StreetRights, Who};
use crate::domain::values::text_field;
use crate::error::{AppError, AppResult, Text};

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
        status: Set(CommunityStatus::Active),
        ..Default::default()
    }
    .insert(conn)
    .await?)
}

/// A step of a community's lifecycle.
#[derive(Clone, Copy, Debug, PartialEq, Eq, sea_orm::EnumIter)]
pub enum CommunityAction {
    Archive,
}

impl Lifecycle for community::Entity {
    type State = CommunityStatus;
    type Action = CommunityAction;
    const KIND: ObjectKind = ObjectKind::Community;

    fn rules() -> &'static [Rule<CommunityStatus, CommunityAction>] {
        &[Rule {
            action: CommunityAction::Archive,
            from: &[CommunityStatus::Active],
            to: CommunityStatus::Archived,
            who: Who::StreetStaff,
            note: NoteRule::None,
            audit: Some(AuditAction::CommunityArchive),
            event: None,
        }]
    }

    fn id_column() -> community::Column {
        community::Column::Id
    }

    fn state_column() -> community::Column {
        community::Column::Status
    }

    fn reason_column() -> Option<community::Column> {
        None
    }

    fn updated_at_column() -> Option<community::Column> {
        None
    }
}

/// A community's name: 1 to 32 characters, unique in its street.
fn community_name(raw: &str) -> AppResult<String> {
    text_field("name", raw, 1, 32, false)
}

/// A taken name, as the unique index (street and name, or a street's name) reports it: one
/// check whether the other request came before or at the same moment.
fn name_taken(text: Text) -> impl FnOnce() -> AppError {
    move || AppError::Conflict {
        field: "name".into(),
        text,
    }
}

fn community_name_taken() -> Text {
    Text::new(
        "本街道已有同名社区",
        "The street already has a community of that name",
    )
}

/// Staff add a community to their street.
pub async fn create_community(cx: &Cx<'_>, name: &str) -> AppResult<community::Model> {
    let viewer = cx.viewer()?;
    let street_id = policy::governed_street(viewer)?;
    let name = community_name(name)?;
    let tx = cx.write().await?;
    let c = community::ActiveModel {
        street_id: Set(street_id),
        name: Set(name),
        created_at: Set(tx.now()),
        status: Set(CommunityStatus::Active),
        ..Default::default()
    }
    .insert(&tx)
    .await
    .or_conflict(name_taken(Text::new(
        "已有同名街道",
        "A street of that name exists",
    )))?;
    let entry = AuditRecord::of(
        Some(street_id),
        AuditAction::CommunityCreate,
        ObjectKind::Community,
        c.id,
    );
    audit::record(&tx, entry).await?;
    tx.commit().await?;
    Ok(c)
}

/// A community of the viewer's street, with the viewer's rights over it.
async fn governed_community(cx: &Cx<'_>, id: i64) -> AppResult<(community::Model, StreetRights)> {
    let c = get_community(cx, id)
        .await?
        .ok_or(AppError::NotFound("community"))?;
    let rights = StreetRights::of(cx.viewer_opt(), c.street_id);
    rights.require(Who::StreetStaff)?;
    Ok((c, rights))
}

/// Staff rename a community of their street; the old and new names are audited.
pub async fn rename_community(cx: &Cx<'_>, id: i64, name: &str) -> AppResult<community::Model> {
    cx.viewer()?;
    let name = community_name(name)?;
    let tx = cx.write().await?;
    let (c, _) = governed_community(&tx, id).await?;
    let before = serde_json::json!({ "name": c.name });
    let mut am: community::ActiveModel = c.into();
    am.name = Set(name.clone());
    let c = am
        .update(&tx)
        .await
        .or_conflict(name_taken(community_name_taken()))?;
    audit::record(
        &tx,
        AuditRecord {
            street_id: Some(c.street_id),
            action: AuditAction::CommunityRename,
            target_type: ObjectKind::Community,
            target_id: Some(c.id),
            reason: None,
            change: Some(Change {
                before,
                after: serde_json::json!({ "name": name }),
            }),
        },
    )
    .await?;
    tx.commit().await?;
    Ok(c)
}

/// Staff archive a community: it keeps its residents, merchants and history, and takes no new
/// members.
pub async fn archive_community(cx: &Cx<'_>, id: i64) -> AppResult<community::Model> {
    cx.viewer()?;
    let tx = cx.write().await?;
    let (c, rights) = governed_community(&tx, id).await?;
    let step = Step::<community::Entity>::new(c.id, CommunityAction::Archive).street(c.street_id);
    let archived = lifecycle::apply(&tx, &rights, step).await?;
    tx.commit().await?;
    Ok(archived)
}

/// A change of a street's settings; `None` leaves a setting as it is.
#[derive(Debug, Default)]
pub struct SettingsChange {
    pub display_name: Option<String>,
    pub founded_on: Option<chrono::NaiveDate>,
    pub time_zone: Option<String>,
    pub max_activity_points: Option<i32>,
    pub demand_response_hours: Option<i32>,
}

fn within(field: &'static str, n: i32, max: i32) -> AppResult<i32> {
    if (1..=max).contains(&n) {
        Ok(n)
    } else {
        Err(AppError::bad_input(
            field,
            Text::owned(
                format!("{field} 应在 1 到 {max} 之间"),
                format!("{field} must be from 1 to {max}"),
            ),
        ))
    }
}

/// An administrator of the street changes its settings (audited, before and after).
pub async fn update_settings(cx: &Cx<'_>, change: SettingsChange) -> AppResult<street::Model> {
    let viewer = cx.viewer()?;
    let street_id = viewer.street_id.ok_or(AppError::Forbidden)?;
    StreetRights::of(Some(viewer), street_id).require(Who::StreetAdmin)?;
    let display_name = change
        .display_name
        .as_deref()
        .map(|n| text_field("displayName", n, 1, 64, false))
        .transpose()?;
    if let Some(d) = change.founded_on
        && (d > crate::clock::local_date(cx.now(), time_zone(cx, Some(street_id)).await?)
            || chrono::Datelike::year(&d) < 1900)
    {
        return Err(AppError::bad_input(
            "foundedOn",
            Text::new(
                "成立日期应在 1900 年到今天之间",
                "The founding date is from 1900 to today",
            ),
        ));
    }
    let time_zone = change
        .time_zone
        .as_deref()
        .map(|z| {
            z.trim()
                .parse::<chrono_tz::Tz>()
                .map(|tz| tz.name().to_owned())
                .map_err(|_| {
                    AppError::bad_input(
                        "timeZone",
                        Text::new(
                            "不是有效的时区，例如 Asia/Shanghai",
                            "Not a time zone such as Asia/Shanghai",
                        ),
                    )
                })
        })
        .transpose()?;
    let max_points = change
        .max_activity_points
        .map(|n| within("maxActivityPoints", n, 10_000))
        .transpose()?;
    let response_hours = change
        .demand_response_hours
        .map(|n| within("demandResponseHours", n, 24 * 30))
        .transpose()?;
    let tx = cx.write().await?;
    let s = street::Entity::find_by_id(street_id)
        .one(&tx)
        .await?
        .ok_or(AppError::NotFound("street"))?;
    let snapshot = |s: &street::Model| {
        serde_json::json!({
            "displayName": s.display_name, "foundedOn": s.founded_on, "timeZone": s.time_zone,
            "maxActivityPoints": s.max_activity_points, "demandResponseHours": s.demand_response_hours,
        })
    };
    let before = snapshot(&s);
    let mut am: street::ActiveModel = s.into();
    if let Some(v) = display_name {
        am.display_name = Set(Some(v));
    }
    if let Some(v) = change.founded_on {
        am.founded_on = Set(Some(v));
    }
    if let Some(v) = time_zone {
        am.time_zone = Set(v);
    }
    if let Some(v) = max_points {
        am.max_activity_points = Set(Some(v));
    }
    if let Some(v) = response_hours {
        am.demand_response_hours = Set(Some(v));
    }
    let s = am.update(&tx).await?;
    audit::record(
        &tx,
        AuditRecord {
            street_id: Some(s.id),
            action: AuditAction::StreetSettings,
            target_type: ObjectKind::Street,
            target_id: Some(s.id),
            reason: None,
            change: Some(Change {
                before,
                after: snapshot(&s),
            }),
        },
    )
    .await?;
    tx.commit().await?;
    Ok(s)
}

/// A district operator creates a street (`shangju create-street`); its first administrator
/// comes from `create-staff`. `CONFLICT` if the name is taken.
pub async fn create(cx: &Cx<'_>, name: &str) -> AppResult<street::Model> {
    let name = text_field("name", name, 1, 32, false)?;
    let tx = cx.write().await?;
    let s = street::ActiveModel {
        name: Set(name),
        created_at: Set(tx.now()),
        ..Default::default()
    }
    .insert(&tx)
    .await
    .or_conflict(name_taken(Text::new(
        "已有同名街道",
        "A street of that name exists",
    )))?;
    let entry = AuditRecord::of(
        Some(s.id),
        AuditAction::StreetCreate,
        ObjectKind::Street,
        s.id,
    )
    .reason(Some("create-street command".to_owned()));
    audit::record(&tx, entry).await?;
    tx.commit().await?;
    Ok(s)
}

/// The time zone of a street's calendar (days, weeks, birthdays); the default for no street.
pub async fn time_zone(conn: &impl ConnectionTrait, street_id: Option<i64>) -> AppResult<Tz> {
    let Some(id) = street_id else {
        return Ok(DEFAULT_TIME_ZONE);
    };
    let zone: Option<String> = street::Entity::find_by_id(id)
        .select_only()
        .column(street::Column::TimeZone)
        .into_tuple()
        .one(conn)
        .await?;
    Ok(zone
        .and_then(|z| z.parse().ok())
        .unwrap_or(DEFAULT_TIME_ZONE))
}

/// The time zone of the street a community belongs to.
pub async fn time_zone_of_community(
    conn: &impl ConnectionTrait,
    community_id: i64,
) -> AppResult<Tz> {
    let street_id: Option<i64> = community::Entity::find_by_id(community_id)
        .select_only()
        .column(community::Column::StreetId)
        .into_tuple()
        .one(conn)
        .await?;
    time_zone(conn, street_id).await
}

/// A community someone may join (as a resident or a merchant): it exists and is not archived.
pub async fn joinable_community(
    conn: &impl ConnectionTrait,
    field: &'static str,
    id: i64,
) -> AppResult<community::Model> {
    match get_community(conn, id).await? {
        Some(c) if c.status == CommunityStatus::Active => Ok(c),
        Some(_) => Err(AppError::InvalidState(Text::new(
            "该社区已归档，不再接受新成员",
            "This community is archived and takes no new members",
        ))),
        None => Err(AppError::bad_input(
            field,
            Text::new("社区不存在", "No such community"),
        )),
    }
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
    db: &impl crate::rows::Reads,
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_community_step_has_one_rule() {
        lifecycle::check_table::<community::Entity>();
    }
}
