//! Keyset pages. A list is ordered by one sort key and the id as tie-breaker; a page starts
//! after (or ends before) a cursor that names the key and id of a row, so an item inserted or
//! removed between two page loads never makes a page repeat or skip another.

use chrono::{DateTime, Utc};
use sea_orm::{
    ColumnTrait, Condition, EntityTrait, FromQueryResult, Order as SqlOrder, PaginatorTrait,
    QueryFilter, QueryOrder, QuerySelect, Select,
};
use serde::{Deserialize, Serialize};

use crate::error::{AppError, AppResult, Text};
use crate::rows::{ByName, ByPosition, Columns, Partial, Positional, Reader, Reads};

pub const DEFAULT_PAGE: u64 = 20;
pub const MAX_PAGE: u64 = 100;

/// The value of a row's sort key.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum SortValue {
    #[serde(rename = "i")]
    Int(i64),
    #[serde(rename = "s")]
    Text(String),
    #[serde(rename = "t")]
    Time(DateTime<Utc>),
}

impl From<SortValue> for sea_orm::Value {
    fn from(v: SortValue) -> sea_orm::Value {
        match v {
            SortValue::Int(i) => i.into(),
            SortValue::Text(s) => s.into(),
            SortValue::Time(t) => t.into(),
        }
    }
}

/// Where a row stands in a list: its sort field, the key's value and its id.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Cursor {
    #[serde(rename = "f")]
    pub field: String,
    #[serde(rename = "v")]
    pub value: SortValue,
    #[serde(rename = "i")]
    pub id: i64,
}

/// Reads a row's sort key and id.
pub type KeyOf<M> = fn(&M) -> (SortValue, i64);

/// How a list is ordered: the sort key (named `field` in cursors), the id, the direction, and
/// how to read a row's key and id.
pub struct Order<E: EntityTrait> {
    pub field: &'static str,
    pub column: E::Column,
    pub id: E::Column,
    pub descending: bool,
    pub key: KeyOf<E::Model>,
}

/// The slice a client asked for: the first `first` after `after`, or the last `last` before
/// `before`; `count_total` when it wants the total; the `columns` its rows need (all by
/// default; the order's are always read).
#[derive(Clone, Debug, Default)]
pub struct Window {
    pub first: Option<u64>,
    pub last: Option<u64>,
    pub after: Option<Cursor>,
    pub before: Option<Cursor>,
    pub count_total: bool,
    pub columns: Columns,
}

/// One page: rows with their cursors, in list order.
#[derive(Debug)]
pub struct Page<M> {
    pub rows: Vec<(Cursor, M)>,
    pub has_next: bool,
    pub has_previous: bool,
    /// Only when the window asked for it.
    pub total: Option<u64>,
}

impl<M> Page<M> {
    /// The same page with its rows, in order, swapped for `models` (one for each row), such
    /// as what a batch load made of them.
    pub fn with_models<N>(self, models: Vec<N>) -> Page<N> {
        Page {
            rows: self
                .rows
                .into_iter()
                .zip(models)
                .map(|((cursor, _), n)| (cursor, n))
                .collect(),
            has_next: self.has_next,
            has_previous: self.has_previous,
            total: self.total,
        }
    }

    /// The same page with each row turned into something else.
    pub fn map<N>(self, mut f: impl FnMut(M) -> N) -> Page<N> {
        Page {
            rows: self.rows.into_iter().map(|(c, m)| (c, f(m))).collect(),
            has_next: self.has_next,
            has_previous: self.has_previous,
            total: self.total,
        }
    }
}

fn bad_cursor(field: &'static str) -> AppError {
    AppError::bad_input(
        field,
        Text::new(
            "无效的游标（或与排序方式不符）",
            "Not a valid cursor for this order",
        ),
    )
}

/// Whether a cursor's value can be compared with the sort column on both engines: a crafted
/// cursor must not reach the database as a value its column refuses.
fn fits(value: &SortValue, column: &impl ColumnTrait) -> bool {
    use sea_orm::ColumnType as T;
    match (value, column.def().get_column_type()) {
        (SortValue::Int(_), T::Integer | T::BigInteger | T::SmallInteger) => true,
        (SortValue::Text(s), T::String(_) | T::Text | T::Char(_)) => {
            s.len() <= 1024 && !s.chars().any(char::is_control)
        }
        // Within what both engines store (PostgreSQL starts at 4713 BC) and any row holds.
        (SortValue::Time(t), T::TimestampWithTimeZone | T::Timestamp | T::DateTime) => {
            (1..=9999).contains(&chrono::Datelike::year(t))
        }
        _ => false,
    }
}

/// Rows strictly beyond `c` in the direction the list runs (`forward`), or before it.
fn beyond<E: EntityTrait>(order: &Order<E>, c: Cursor, forward: bool) -> Condition {
    let greater = forward != order.descending;
    let value: sea_orm::Value = c.value.into();
    let (key, id) = if greater {
        (order.column.gt(value.clone()), order.id.gt(c.id))
    } else {
        (order.column.lt(value.clone()), order.id.lt(c.id))
    };
    Condition::any()
        .add(key)
        .add(Condition::all().add(order.column.eq(value)).add(id))
}

/// Runs `query` (already filtered) for one window of `order`, reading rows as sea-orm does:
/// the standard tier, and every list's default.
pub async fn fetch<E, C>(
    conn: &C,
    query: Select<E>,
    order: Order<E>,
    window: Window,
) -> AppResult<Page<E::Model>>
where
    E: EntityTrait,
    E::Model: FromQueryResult + Send + Sync,
    C: Reads,
{
    fetch_with::<ByName, E, C>(conn, query, order, window).await
}

/// [`fetch`] for the hot tier: rows read by position, only the window's columns. Only for a
/// list the benchmark shows on a hot path.
pub async fn fetch_positional<E, C>(
    conn: &C,
    query: Select<E>,
    order: Order<E>,
    window: Window,
) -> AppResult<Page<Partial<E::Model>>>
where
    E: EntityTrait,
    E::Model: Positional<Entity = E> + FromQueryResult + Send + Sync,
    C: Reads,
{
    fetch_with::<ByPosition, E, C>(conn, query, order, window).await
}

async fn fetch_with<R, E, C>(
    conn: &C,
    query: Select<E>,
    order: Order<E>,
    window: Window,
) -> AppResult<Page<R::Row>>
where
    R: Reader<E>,
    E: EntityTrait,
    E::Model: FromQueryResult + Send + Sync,
    C: Reads,
{
    for (c, name) in [(&window.after, "after"), (&window.before, "before")] {
        if c.as_ref()
            .is_some_and(|c| c.field != order.field || !fits(&c.value, &order.column))
        {
            return Err(bad_cursor(name));
        }
    }
    let total = if window.count_total {
        Some(query.clone().count(conn).await?)
    } else {
        None
    };
    let mut q = query;
    let backwards = window.last.is_some() && window.first.is_none();
    if let Some(c) = window.after.clone() {
        q = q.filter(beyond(&order, c, true));
    }
    if let Some(c) = window.before.clone() {
        q = q.filter(beyond(&order, c, false));
    }
    let limit = if backwards {
        window.last.unwrap_or(DEFAULT_PAGE)
    } else {
        window.first.unwrap_or(DEFAULT_PAGE)
    };
    let runs_desc = order.descending != backwards;
    let dir = if runs_desc {
        SqlOrder::Desc
    } else {
        SqlOrder::Asc
    };
    let columns = window
        .columns
        .with(Columns::column(order.column))
        .with(Columns::column(order.id));
    let mut rows = R::read_all(
        conn,
        q.order_by(order.column, dir.clone())
            .order_by(order.id, dir)
            .limit(limit + 1),
        columns,
    )
    .await?;
    let more = rows.len() as u64 > limit;
    rows.truncate(limit as usize);
    if backwards {
        rows.reverse();
    }
    let rows = rows
        .into_iter()
        .map(|m| {
            let (value, id) = (order.key)(R::model(&m));
            let cursor = Cursor {
                field: order.field.to_owned(),
                value,
                id,
            };
            (cursor, m)
        })
        .collect();
    let (has_next, has_previous) = if backwards {
        (window.before.is_some(), more)
    } else {
        (more, window.after.is_some())
    };
    Ok(Page {
        rows,
        has_next,
        has_previous,
        total,
    })
}
