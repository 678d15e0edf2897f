//! Relay connections over offset pages: `first` (default 20, at most 100) and an opaque `after`.

use async_graphql::connection::{Connection, Edge};
use async_graphql::{OutputType, SimpleObject};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

use crate::error::{AppError, AppResult, Text};

pub const DEFAULT_PAGE: u64 = 20;
pub const MAX_PAGE: u64 = 100;

/// The complexity of a list field: what one item costs, times the items asked for, so that
/// nesting lists inside lists multiplies as execution would.
pub fn page_cost(first: Option<i32>, child_complexity: usize) -> usize {
    let n = first.map_or(DEFAULT_PAGE, |f| f.clamp(0, MAX_PAGE as i32) as u64) as usize;
    n.max(1).saturating_mul(child_complexity).saturating_add(1)
}

/// Fields every connection carries besides its edges.
#[derive(SimpleObject)]
pub struct ConnectionFields {
    /// How many items match, across all pages.
    pub total_count: u64,
}

pub type Page<T> = Connection<String, T, ConnectionFields>;

/// The slice a client asked for.
#[derive(Clone, Copy, Debug)]
pub struct PageRequest {
    pub offset: u64,
    pub limit: u64,
}

impl PageRequest {
    pub fn parse(first: Option<i32>, after: Option<&str>) -> AppResult<PageRequest> {
        let limit = match first {
            None => DEFAULT_PAGE,
            Some(n) if (0..=MAX_PAGE as i32).contains(&n) => n as u64,
            Some(_) => {
                return Err(AppError::bad_input(
                    "first",
                    Text::new(
                        "first 应在 0 到 100 之间",
                        "first must be between 0 and 100",
                    ),
                ));
            }
        };
        let offset = match after {
            None => 0,
            Some(cursor) => decode_cursor(cursor)
                .ok_or_else(|| {
                    AppError::bad_input("after", Text::new("无效的游标", "Not a valid cursor"))
                })?
                .saturating_add(1),
        };
        Ok(PageRequest { offset, limit })
    }

    /// Wraps one page of `rows` (at most `limit`, starting at `offset`) in a connection.
    pub fn connection<T: OutputType>(&self, rows: Vec<T>, total: u64) -> Page<T> {
        let has_next = self.offset + (rows.len() as u64) < total;
        let mut conn = Connection::with_additional_fields(
            self.offset > 0,
            has_next,
            ConnectionFields { total_count: total },
        );
        conn.edges.extend(
            rows.into_iter()
                .enumerate()
                .map(|(i, node)| Edge::new(encode_cursor(self.offset + i as u64), node)),
        );
        conn
    }
}

fn encode_cursor(offset: u64) -> String {
    URL_SAFE_NO_PAD.encode(format!("o:{offset}"))
}

fn decode_cursor(cursor: &str) -> Option<u64> {
    let bytes = URL_SAFE_NO_PAD.decode(cursor).ok()?;
    let text = String::from_utf8(bytes).ok()?;
    text.strip_prefix("o:")?.parse().ok()
}
