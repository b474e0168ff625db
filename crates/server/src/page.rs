//! Cursor pagination shared by every list: `?limit=&cursor=` in,
//! `{items, next_cursor}` out. Cursors are opaque to clients.

use crate::error::{AppError, AppResult};
use base64::{engine::general_purpose::URL_SAFE_NO_PAD, Engine};
use serde::{Deserialize, Serialize};

pub const DEFAULT_LIMIT: i64 = 50;
pub const MAX_LIMIT: i64 = 200;

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PageQuery {
    /// How many items to return (1–200, default 50).
    pub limit: Option<i64>,
    /// `next_cursor` of the previous page.
    pub cursor: Option<String>,
}

impl PageQuery {
    pub fn limit(&self) -> AppResult<i64> {
        match self.limit {
            None => Ok(DEFAULT_LIMIT),
            Some(n) if (1..=MAX_LIMIT).contains(&n) => Ok(n),
            Some(_) => Err(AppError::invalid(
                "limit",
                format!("between 1 and {MAX_LIMIT}"),
            )),
        }
    }

    /// The position after which the page starts, as the list encoded it.
    pub fn after(&self) -> AppResult<Option<String>> {
        self.cursor
            .as_deref()
            .filter(|c| !c.is_empty())
            .map(|cursor| {
                URL_SAFE_NO_PAD
                    .decode(cursor)
                    .ok()
                    .and_then(|bytes| String::from_utf8(bytes).ok())
                    // No list writes a NUL into a position, and PostgreSQL
                    // refuses one in text (a 500 instead of a 400).
                    .filter(|position| !position.contains('\0'))
                    .ok_or_else(|| {
                        AppError::Malformed("the cursor is not one this API returned".into())
                    })
            })
            .transpose()
    }
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Page<T> {
    pub items: Vec<T>,
    /// Pass as `cursor` to get the next page; null on the last page.
    pub next_cursor: Option<String>,
}

impl<T> Page<T> {
    /// A page whose list worked out itself where the next one starts.
    pub fn with_cursor(items: Vec<T>, next: Option<String>) -> Self {
        Page {
            items,
            next_cursor: next.map(|position| URL_SAFE_NO_PAD.encode(position)),
        }
    }

    /// Builds a page from up to `limit + 1` fetched rows: the extra row only
    /// tells that there is a next page.
    pub fn from_rows(mut rows: Vec<T>, limit: i64, position: impl Fn(&T) -> String) -> Self {
        let limit = usize::try_from(limit).unwrap_or(0);
        let next_cursor = if rows.len() > limit {
            rows.truncate(limit);
            rows.last()
                .map(|last| URL_SAFE_NO_PAD.encode(position(last)))
        } else {
            None
        };
        Page {
            items: rows,
            next_cursor,
        }
    }
}
