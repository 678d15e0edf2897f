//! Relay connections over keyset pages: `first`/`after` forwards, `last`/`before` backwards,
//! opaque cursors that name the sort key and the row, `totalCount` counted only when asked for.

use async_graphql::{Context, Enum, Object};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

use crate::domain::page::{Cursor, Page, Window};
pub use crate::domain::page::{DEFAULT_PAGE, MAX_PAGE};
use crate::error::{AppError, AppResult, Text};
use crate::graphql::loader::selected_columns;
use crate::rows::Columns;

/// The complexity of a list field: what one item costs, times the items asked for, so that
/// nesting lists inside lists multiplies as execution would.
pub fn page_cost(first: Option<i32>, child_complexity: usize) -> usize {
    let n = first.map_or(DEFAULT_PAGE, |f| f.clamp(0, MAX_PAGE as i32) as u64) as usize;
    n.max(1).saturating_mul(child_complexity).saturating_add(1)
}

/// As [`page_cost`], for a connection that also takes `last`.
pub fn connection_cost(first: Option<i32>, last: Option<i32>, child_complexity: usize) -> usize {
    page_cost(first.or(last), child_complexity)
}

/// Which way a list runs.
#[derive(Enum, Copy, Clone, Debug, Default, Eq, PartialEq)]
pub enum OrderDirection {
    /// Smallest (or earliest, or A) first.
    #[default]
    Asc,
    /// Largest (or latest, or Z) first.
    Desc,
}

impl OrderDirection {
    pub fn descending(self) -> bool {
        self == OrderDirection::Desc
    }
}

/// Where a page sits in its list. Cursors are encoded only when a client selects them.
pub struct PageInfo {
    has_next_page: bool,
    has_previous_page: bool,
    start: Option<Cursor>,
    end: Option<Cursor>,
}

/// Where a page sits in its list.
#[Object]
impl PageInfo {
    /// Whether items follow this page (when paginating forwards; with `last`, whether items
    /// follow `before`).
    async fn has_next_page(&self) -> bool {
        self.has_next_page
    }

    /// Whether items precede this page (with `last`; with `first`, whether `after` was given).
    async fn has_previous_page(&self) -> bool {
        self.has_previous_page
    }

    /// The cursor of the first edge, to go back with `before`.
    async fn start_cursor(&self) -> Option<String> {
        self.start.as_ref().map(encode_cursor)
    }

    /// The cursor of the last edge, to go on with `after`.
    async fn end_cursor(&self) -> Option<String> {
        self.end.as_ref().map(encode_cursor)
    }
}

pub fn encode_cursor(c: &Cursor) -> String {
    URL_SAFE_NO_PAD.encode(serde_json::to_vec(c).unwrap_or_default())
}

fn decode_cursor(field: &'static str, raw: &str) -> AppResult<Cursor> {
    URL_SAFE_NO_PAD
        .decode(raw)
        .ok()
        .and_then(|bytes| serde_json::from_slice::<Cursor>(&bytes).ok())
        .ok_or_else(|| AppError::bad_input(field, Text::new("无效的游标", "Not a valid cursor")))
}

/// A page size as a client gives it: 0 to 100, `default` when absent.
pub fn page_size(field: &'static str, n: Option<i32>, default: u64) -> AppResult<u64> {
    match n {
        None => Ok(default),
        Some(n) if (0..=MAX_PAGE as i32).contains(&n) => Ok(n as u64),
        Some(_) => Err(AppError::bad_input(
            field,
            Text::owned(
                format!("{field} 应在 0 到 100 之间"),
                format!("{field} must be between 0 and 100"),
            ),
        )),
    }
}

/// The pagination arguments every connection takes.
pub struct PageArgs {
    pub first: Option<i32>,
    pub after: Option<String>,
    pub last: Option<i32>,
    pub before: Option<String>,
}

impl PageArgs {
    /// Checks the arguments; counts the total only when the selection asks for `totalCount`.
    pub fn window(self, ctx: &Context<'_>) -> AppResult<Window> {
        if self.first.is_some() && self.last.is_some() {
            return Err(AppError::bad_input(
                "last",
                Text::new("first 与 last 不能同时使用", "Use first or last, not both"),
            ));
        }
        Ok(Window {
            first: self
                .first
                .map(|n| page_size("first", Some(n), DEFAULT_PAGE))
                .transpose()?,
            last: self
                .last
                .map(|n| page_size("last", Some(n), DEFAULT_PAGE))
                .transpose()?,
            after: self
                .after
                .as_deref()
                .map(|c| decode_cursor("after", c))
                .transpose()?,
            before: self
                .before
                .as_deref()
                .map(|c| decode_cursor("before", c))
                .transpose()?,
            count_total: ctx.look_ahead().field("totalCount").exists(),
            columns: Columns::ALL,
        })
    }

    /// [`PageArgs::window`] reading only the columns that the nodes' selections (under `edges`
    /// and `nodes`) read, by the node type's `FIELD_COLUMNS`.
    pub fn window_reading(
        self,
        ctx: &Context<'_>,
        field_columns: &[(&str, Columns)],
    ) -> AppResult<Window> {
        let look = ctx.look_ahead();
        let mut nodes = look.field("edges").field("node").selection_fields();
        nodes.extend(look.field("nodes").selection_fields());
        Ok(Window {
            columns: selected_columns(field_columns, &nodes),
            ..self.window(ctx)?
        })
    }
}

/// Fills a [`PageInfo`] from a page.
pub fn page_info<M>(page: &Page<M>) -> PageInfo {
    PageInfo {
        has_next_page: page.has_next,
        has_previous_page: page.has_previous,
        start: page.rows.first().map(|(c, _)| c.clone()),
        end: page.rows.last().map(|(c, _)| c.clone()),
    }
}

/// Declares a connection type and its edge type for a node type, with the descriptions client
/// developers read.
macro_rules! connection {
    ($conn:ident, $edge:ident, $node:ty, $conn_doc:literal, $edge_doc:literal) => {
        #[doc = $conn_doc]
        pub struct $conn {
            edges: Vec<$crate::graphql::eager::Eager<$edge>>,
            page_info: $crate::graphql::pagination::PageInfo,
            total: Option<u64>,
        }

        impl $conn {
            pub fn new<M>(page: $crate::domain::page::Page<M>, node: impl Fn(M) -> $node) -> Self {
                let page_info = $crate::graphql::pagination::page_info(&page);
                let total = page.total;
                $conn {
                    edges: page
                        .rows
                        .into_iter()
                        .map(|(cursor, m)| {
                            $crate::graphql::eager::Eager($edge {
                                cursor,
                                node: node(m),
                            })
                        })
                        .collect(),
                    page_info,
                    total,
                }
            }
        }

        #[doc = $conn_doc]
        #[async_graphql::Object]
        impl $conn {
            /// The items of this page with their cursors, in list order.
            async fn edges(&self) -> &[$crate::graphql::eager::Eager<$edge>] {
                &self.edges
            }

            /// The items of this page, without cursors.
            async fn nodes(&self) -> Vec<$crate::graphql::eager::Eager<&$node>> {
                self.edges
                    .iter()
                    .map(|e| $crate::graphql::eager::Eager(&e.0.node))
                    .collect()
            }

            /// Where this page sits in the list.
            async fn page_info(&self) -> &$crate::graphql::pagination::PageInfo {
                &self.page_info
            }

            /// How many items match, across all pages (counted only when selected).
            async fn total_count(&self) -> $crate::error::AppResult<u64> {
                self.total
                    .ok_or_else(|| $crate::error::AppError::internal("totalCount was not counted"))
            }
        }

        #[doc = $edge_doc]
        pub struct $edge {
            cursor: $crate::domain::page::Cursor,
            node: $node,
        }

        #[doc = $edge_doc]
        #[async_graphql::Object]
        impl $edge {
            /// Opaque; pass it as `after` (or `before`) to continue from this item.
            async fn cursor(&self) -> String {
                $crate::graphql::pagination::encode_cursor(&self.cursor)
            }

            /// The item.
            async fn node(&self) -> $crate::graphql::eager::Eager<&$node> {
                $crate::graphql::eager::Eager(&self.node)
            }
        }

        impl $crate::graphql::eager::EagerObject for $edge {
            const READY: &'static [&'static str] = &["cursor"];
        }
    };
}

pub(crate) use connection;

/// A type's one connection field, with the page arguments every list takes (`first`, `after`,
/// `last`, `before`, their descriptions, and the complexity that multiplies nested lists)
/// written here once. The body gets them as `PageArgs` under the name it gives; its own
/// arguments (`filter`, `orderBy` …) come before them.
///
/// ```text
/// connection_field! {
///     impl AwardListQuery {
///         /// Nominations …
///         async fn awards(&self, ctx, page, filter: Option<AwardFilter>) -> AwardConnection {
///             let window = page.window(ctx)?;
///             …
///         }
///     }
/// }
/// ```
///
/// A root list is a type of its own, `pub(crate)`, merged into `QueryRoot`: one left out is an
/// unused type, which the build refuses.
macro_rules! connection_field {
    (
        impl $ty:ident {
            $(#[$attr:meta])*
            async fn $name:ident(
                &$self:ident, $ctx:ident, $page:ident
                $(, $(#[$arg_attr:meta])* $arg:ident : $arg_ty:ty)* $(,)?
            ) -> $ret:ty $body:block
        }
    ) => {
        #[async_graphql::Object]
        impl $ty {
            $(#[$attr])*
            #[graphql(
                complexity = "crate::graphql::pagination::connection_cost(first, last, child_complexity)"
            )]
            // The page's four arguments and the list's own: the schema's shape, not a smell.
            #[allow(clippy::too_many_arguments)]
            async fn $name(
                &$self,
                $ctx: &async_graphql::Context<'_>,
                $($(#[$arg_attr])* $arg: $arg_ty,)*
                #[graphql(desc = "Forwards: this many items (0 to 100, default 20) …")]
                first: Option<i32>,
                #[graphql(desc = "… after this cursor.")] after: Option<String>,
                #[graphql(desc = "Backwards: this many items (0 to 100) …")] last: Option<i32>,
                #[graphql(desc = "… before this cursor.")] before: Option<String>,
            ) -> $crate::error::AppResult<$ret> {
                let $page = $crate::graphql::pagination::PageArgs {
                    first,
                    after,
                    last,
                    before,
                };
                $body
            }
        }
    };
}

pub(crate) use connection_field;
