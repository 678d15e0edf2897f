//! Audience rules: who an offer (and later an activity) is for — residents with any of some
//! verified tags, of a minimum age, living in any of some communities — and the facts about a
//! resident they are checked against. Ages are counted in the street's time zone.

use chrono::{Datelike, NaiveDate};
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter};

use entity::{user, user_tag};

use crate::clock::local_date;
use crate::domain::context::Cx;
use crate::domain::street::time_zone;
use crate::domain::values::bad;
use crate::error::{AppError, AppResult};

pub const MAX_TAGS: usize = 10;
pub const MAX_COMMUNITIES: usize = 50;

/// Who may take part. Empty means anyone.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Audience {
    pub tags: Vec<String>,
    pub min_age: Option<i32>,
    pub community_ids: Vec<i64>,
}

impl Audience {
    /// No rule: everyone may take part, and nobody's profile needs reading.
    pub fn is_everyone(&self) -> bool {
        self.tags.is_empty() && self.min_age.is_none() && self.community_ids.is_empty()
    }
}

/// Which rule excluded a resident.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Exclusion {
    Tag,
    Community,
    /// Too young, or no birth date to tell.
    Age(i32),
}

/// What the rules need to know about a resident.
#[derive(Clone, Debug)]
pub struct Resident {
    pub tags: Vec<String>,
    pub community_id: Option<i64>,
    pub age: Option<i32>,
}

/// Full years of age on `today`.
pub fn age_on(birth: NaiveDate, today: NaiveDate) -> i32 {
    let mut age = today.year() - birth.year();
    if (today.month(), today.day()) < (birth.month(), birth.day()) {
        age -= 1;
    }
    age
}

/// The tag that follows from age.
pub const SENIOR: &str = "SENIOR";
/// From this age (in the street's calendar) a resident is `SENIOR`.
pub const SENIOR_AGE: i32 = 60;

/// The facts about `user_id` as of the command's time.
pub async fn resident(cx: &Cx<'_>, user_id: i64) -> AppResult<Resident> {
    let u = user::Entity::find_by_id(user_id)
        .one(cx)
        .await?
        .ok_or(AppError::Unauthenticated)?;
    // Birthdays come by the calendar of the person's street.
    let today = local_date(cx.now(), time_zone(cx, u.street_id).await?);
    let age = u.birth_date.map(|b| age_on(b, today));
    let mut tags = tags_of(cx, user_id).await?;
    // `SENIOR` follows from the birth date, so it is never stale and never self-declared.
    if age.is_some_and(|a| a >= SENIOR_AGE) && !tags.iter().any(|t| t == SENIOR) {
        tags.push(SENIOR.to_owned());
    }
    Ok(Resident {
        tags,
        community_id: u.community_id,
        age,
    })
}

async fn tags_of(conn: &impl ConnectionTrait, user_id: i64) -> AppResult<Vec<String>> {
    Ok(user_tag::Entity::find()
        .filter(user_tag::Column::UserId.eq(user_id))
        .all(conn)
        .await?
        .into_iter()
        .map(|t| t.tag)
        .collect())
}

/// Checks the rules in Rust (at claim or registration time).
pub fn check(a: &Audience, r: &Resident) -> Result<(), Exclusion> {
    if !a.tags.is_empty() && !r.tags.iter().any(|t| a.tags.contains(t)) {
        return Err(Exclusion::Tag);
    }
    if !a.community_ids.is_empty() && !r.community_id.is_some_and(|c| a.community_ids.contains(&c))
    {
        return Err(Exclusion::Community);
    }
    if let Some(min) = a.min_age
        && r.age.is_none_or(|age| age < min)
    {
        return Err(Exclusion::Age(min));
    }
    Ok(())
}

/// A tag as rules name it: 1 to 32 capital letters or underscores.
pub fn check_tag(field: &'static str, tag: &str) -> AppResult<String> {
    let t = tag.trim().to_ascii_uppercase();
    if (1..=32).contains(&t.len()) && t.chars().all(|c| c.is_ascii_uppercase() || c == '_') {
        Ok(t)
    } else {
        Err(bad(
            field,
            "标签应为 1 到 32 位大写字母或下划线",
            "A tag has 1 to 32 capital letters or underscores",
        ))
    }
}

/// Checks and normalises rules as a client sent them (errors name `audience.*` fields); the
/// communities' street is checked by the caller, which knows it.
pub fn parse(a: &Audience) -> AppResult<Audience> {
    if let Some(age) = a.min_age
        && !(0..=120).contains(&age)
    {
        return Err(bad(
            "audience.minAge",
            "年龄应为 0 到 120",
            "minAge is 0 to 120",
        ));
    }
    if a.tags.len() > MAX_TAGS || a.community_ids.len() > MAX_COMMUNITIES {
        return Err(bad("audience", "受众规则过多", "Too many audience rules"));
    }
    let mut tags = a
        .tags
        .iter()
        .map(|t| check_tag("audience.tags", t))
        .collect::<AppResult<Vec<_>>>()?;
    tags.sort();
    tags.dedup();
    let mut community_ids = a.community_ids.clone();
    community_ids.sort_unstable();
    community_ids.dedup();
    Ok(Audience {
        tags,
        min_age: a.min_age,
        community_ids,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn age_counts_whole_years() {
        let d = |y, m, d| NaiveDate::from_ymd_opt(y, m, d).expect("date");
        assert_eq!(age_on(d(1960, 5, 10), d(2025, 5, 9)), 64);
        assert_eq!(age_on(d(1960, 5, 10), d(2025, 5, 10)), 65);
    }

    #[test]
    fn rules_exclude_by_tag_community_and_age() {
        let a = Audience {
            tags: vec!["SENIOR".into()],
            min_age: Some(60),
            community_ids: vec![7],
        };
        let ok = Resident {
            tags: vec!["SENIOR".into()],
            community_id: Some(7),
            age: Some(61),
        };
        assert_eq!(check(&a, &ok), Ok(()));
        let mut r = ok.clone();
        r.tags.clear();
        assert_eq!(check(&a, &r), Err(Exclusion::Tag));
        let mut r = ok.clone();
        r.community_id = None;
        assert_eq!(check(&a, &r), Err(Exclusion::Community));
        let mut r = ok.clone();
        r.age = None;
        assert_eq!(check(&a, &r), Err(Exclusion::Age(60)));
        assert_eq!(check(&Audience::default(), &r), Ok(()));
    }
}
