//! Management → Troubleshooting (`/orgs/{org}/troubleshooting`): the range
//! buttons and filters, all kept in the URL; the correlation IDs of the
//! selection, its entries newest first, or one correlation's entries oldest
//! first; each entry's side panel (`:target`, no script needed); and the CSV
//! of the same selection. Owners and admins read the organization's logs,
//! creators those of their solutions (`reading::restrict`).

use super::reading::{self, Asked};
use super::ui_rows::{
    correlation_row, entry_row, input_value, level_options, local_input, query_string, url, Links,
    Range, RANGE_BUTTONS,
};
use crate::error::{AppError, AppResult};
use crate::http::ui::error::{page, UiResult};
use crate::http::ui::layout::{field_errors, OrgPage};
use crate::page::{PageQuery, MAX_LIMIT};
use crate::scope::OrgScope;
use crate::state::AppState;
use axum::extract::{Query, State};
use axum::http::{StatusCode, Uri};
use axum::response::IntoResponse;
use minijinja::{context, Value};
use muster_domain::permission::{grant, Capability, Grant};
use muster_domain::solution::rights;
use muster_domain::{Invalid, UserId};
use muster_store::logs::{Correlation, Entry};
use serde::Deserialize;
use time::Duration;

/// Rows of one page of correlations or entries.
const PAGE_SIZE: i64 = 50;
/// One correlation's entries shown at most (oldest first); the CSV has all.
const CORRELATION_SHOWN: usize = 600;

/// The page's query: the filters as typed, which list, and where it starts.
#[derive(Debug, Default, Clone, Deserialize)]
#[serde(default)]
pub struct TroubleshootingQuery {
    /// `hour`, `day`, `week`, `month` or `custom` (then `from` and `to`).
    pub range: String,
    pub from: String,
    pub to: String,
    pub level: String,
    pub solution: String,
    /// An email address (or a user id).
    pub user: String,
    pub correlation_id: String,
    pub category: String,
    pub q: String,
    /// `entries`; anything else is the correlation list.
    pub view: String,
    pub cursor: String,
}

fn given(value: &str) -> Option<String> {
    Some(value.trim().to_owned()).filter(|v| !v.is_empty())
}

impl TroubleshootingQuery {
    fn range(&self) -> Range {
        Range::read(&self.range, &self.from, &self.to)
    }

    /// What the service is asked, the custom times read as UTC.
    fn asked(&self, range: &Range) -> Asked {
        Asked {
            range: range.range.clone(),
            from: range.from.clone(),
            to: range.to.clone(),
            level: given(&self.level),
            solution: given(&self.solution),
            user: given(&self.user),
            correlation_id: given(&self.correlation_id),
            category: given(&self.category),
            q: given(&self.q),
        }
    }

    /// Whether a filter besides the time range is set.
    fn filtered(&self) -> bool {
        [
            &self.level,
            &self.solution,
            &self.user,
            &self.correlation_id,
            &self.category,
            &self.q,
        ]
        .iter()
        .any(|v| !v.trim().is_empty())
    }

    /// This page's address after `change` (from the first page): a named
    /// range drops the custom times.
    fn link(&self, path: &str, change: impl FnOnce(&mut TroubleshootingQuery)) -> String {
        let mut q = self.clone();
        q.cursor.clear();
        change(&mut q);
        let named = muster_domain::log::named_range(&q.range).is_some();
        let (from, to) = if named {
            ("", "")
        } else {
            (q.from.as_str(), q.to.as_str())
        };
        url(
            path,
            &[
                ("range", &q.range),
                ("from", from),
                ("to", to),
                ("level", &q.level),
                ("solution", &q.solution),
                ("user", &q.user),
                ("correlation_id", &q.correlation_id),
                ("category", &q.category),
                ("q", &q.q),
                ("view", &q.view),
                ("cursor", &q.cursor),
            ],
        )
    }
}

/// The logs.csv address of the same selection (times as RFC 3339).
pub fn csv_url(org: &str, asked: &Asked) -> String {
    let value = |v: &Option<String>| v.clone().unwrap_or_default();
    let query = query_string(&[
        ("range", &value(&asked.range)),
        ("from", &value(&asked.from)),
        ("to", &value(&asked.to)),
        ("level", &value(&asked.level)),
        ("solution", &value(&asked.solution)),
        ("user", &value(&asked.user)),
        ("correlation_id", &value(&asked.correlation_id)),
        ("category", &value(&asked.category)),
        ("q", &value(&asked.q)),
    ]);
    format!("/api/v1/orgs/{org}/logs.csv?{query}")
}

/// What the page lists.
enum Shown {
    Correlations {
        rows: Vec<Correlation>,
        next: Option<String>,
    },
    Entries {
        rows: Vec<Entry>,
        next: Option<String>,
    },
    /// One correlation ID: its sum and its entries, oldest first.
    Correlation {
        summary: Option<Correlation>,
        rows: Vec<Entry>,
    },
}

/// `GET /orgs/{org}/troubleshooting`.
pub async fn show(
    State(state): State<AppState>,
    view: OrgPage,
    uri: Uri,
    Query(query): Query<TroubleshootingQuery>,
) -> UiResult {
    view.require(Capability::ViewUsageAndLogs)?;
    let solutions = readable_solutions(&state, &view).await?;
    let without_solutions =
        solutions.is_empty() && grant(view.scope.role, Capability::ViewUsageAndLogs) != Grant::All;
    let range = query.range();
    let asked = query.asked(&range);
    let (status, shown, invalid) = match read(&state, &view.scope, &query, &asked).await {
        Ok(shown) => (StatusCode::OK, Some(shown), Invalid::default()),
        Err(AppError::Invalid(invalid)) => (StatusCode::UNPROCESSABLE_ENTITY, None, invalid),
        Err(AppError::Denied(message)) => (
            StatusCode::FORBIDDEN,
            None,
            Invalid::field("solution", message),
        ),
        Err(AppError::Malformed(message)) => (
            StatusCode::BAD_REQUEST,
            None,
            Invalid::field("cursor", message),
        ),
        Err(other) => return Err(other.into()),
    };
    let path = uri.path();
    let org = view.org.id;
    let base = context! {
        filters => filter_values(&query, &range, view.scope.now),
        range_mode => range.mode,
        range_words => range.words(),
        range_value => if range.mode == "custom" { "custom".to_owned() } else { query.range.trim().to_owned() },
        ranges => RANGE_BUTTONS.iter().map(|(value, label)| context! {
            value, label,
            current => range.mode == *value,
            url => query.link(path, |q| {
                q.range = (*value).to_owned();
            }),
        }).collect::<Vec<_>>(),
        levels => level_options(),
        solutions,
        errors => field_errors(&invalid),
        invalid => !invalid.is_empty(),
        filtered => query.filtered(),
        clear_url => query.link(path, |q| {
            *q = TroubleshootingQuery { range: q.range.clone(), from: q.from.clone(), to: q.to.clone(), view: q.view.clone(), ..TroubleshootingQuery::default() };
        }),
        correlations_url => query.link(path, |q| q.view.clear()),
        entries_url => query.link(path, |q| q.view = "entries".into()),
        csv_url => csv_url(&org.to_string(), &asked),
        without_solutions,
    };
    let listed = listed(&view, path, &query, shown);
    let values = context! { ..listed, ..base };
    let response = page(
        "troubleshooting.html",
        view.context("troubleshooting", path, values),
    )?;
    Ok((status, response).into_response())
}

/// The values the filter form shows; a custom range starts from the
/// window in force (the last day) for the viewer to change.
fn filter_values(query: &TroubleshootingQuery, range: &Range, now: time::OffsetDateTime) -> Value {
    let from = match (range.mode.as_str(), query.from.trim()) {
        ("custom", "") if query.to.trim().is_empty() => local_input(now - Duration::DAY),
        _ => input_value(&query.from),
    };
    context! {
        from,
        to => input_value(&query.to),
        level => query.level.trim(),
        solution => query.solution.trim(),
        user => query.user.trim(),
        correlation_id => query.correlation_id.trim(),
        category => query.category.trim(),
        q => query.q.trim(),
    }
}

/// The rows of the list the page shows, with its paging links.
fn listed(view: &OrgPage, path: &str, query: &TroubleshootingQuery, shown: Option<Shown>) -> Value {
    let org = view.org.id;
    let correlation = |c: &str| {
        query.link(path, |q| {
            q.correlation_id = c.to_owned();
            q.view.clear();
        })
    };
    let user = |u: UserId| format!("/orgs/{org}/users/{u}");
    let links = Links {
        correlation: &correlation,
        user: Some(&user),
    };
    let next_url =
        |next: Option<String>| next.map(|cursor| query.link(path, |q| q.cursor = cursor));
    let first_url = (!query.cursor.is_empty()).then(|| query.link(path, |_| {}));
    let tab = if !query.correlation_id.trim().is_empty() {
        "correlation"
    } else if query.view == "entries" {
        "entries"
    } else {
        "correlations"
    };
    match shown {
        None => context! { tab },
        Some(Shown::Correlations { rows, next }) => context! {
            tab,
            correlations => rows.into_iter().map(|c| correlation_row(c, &links)).collect::<Vec<_>>(),
            next_url => next_url(next),
            first_url,
        },
        Some(Shown::Entries { rows, next }) => context! {
            tab,
            entries => rows.into_iter().map(|e| entry_row(e, &links)).collect::<Vec<_>>(),
            next_url => next_url(next),
            first_url,
        },
        Some(Shown::Correlation { summary, rows }) => {
            let shown = rows.len();
            let total = summary.as_ref().map(|s| s.entries).unwrap_or(0);
            context! {
                tab,
                correlation => summary.map(|s| correlation_row(s, &links)),
                entries => rows.into_iter().map(|e| entry_row(e, &links)).collect::<Vec<_>>(),
                more_than_shown => i64::try_from(shown).unwrap_or(i64::MAX) < total,
                shown_count => shown,
                all_correlations_url => query.link(path, |q| q.correlation_id.clear()),
            }
        }
    }
}

/// The selection, narrowed to what the member may read, as the page lists it.
async fn read(
    state: &AppState,
    scope: &OrgScope,
    query: &TroubleshootingQuery,
    asked: &Asked,
) -> AppResult<Shown> {
    let mut conn = state.store.read().await?;
    let filter = reading::visible(&mut conn, scope, asked).await?;
    let paging = PageQuery {
        limit: Some(PAGE_SIZE),
        cursor: Some(query.cursor.clone()).filter(|c| !c.is_empty()),
    };
    if filter.correlation_id.is_some() {
        let one = PageQuery {
            limit: Some(1),
            cursor: None,
        };
        let summary = reading::correlations_page(&mut conn, scope.org_id, &filter, &one)
            .await?
            .items
            .into_iter()
            .next();
        // Read newest first, as the store pages them, then shown oldest first.
        let mut rows = Vec::new();
        let mut cursor = None;
        loop {
            let page = PageQuery {
                limit: Some(MAX_LIMIT),
                cursor,
            };
            let found = reading::entries_page(&mut conn, scope.org_id, &filter, &page).await?;
            rows.extend(found.items);
            match found.next_cursor {
                Some(next) if rows.len() < CORRELATION_SHOWN => cursor = Some(next),
                _ => break,
            }
        }
        rows.truncate(CORRELATION_SHOWN);
        rows.reverse();
        return Ok(Shown::Correlation { summary, rows });
    }
    if query.view == "entries" {
        let found = reading::entries_page(&mut conn, scope.org_id, &filter, &paging).await?;
        return Ok(Shown::Entries {
            rows: found.items,
            next: found.next_cursor,
        });
    }
    let found = reading::correlations_page(&mut conn, scope.org_id, &filter, &paging).await?;
    Ok(Shown::Correlations {
        rows: found.items,
        next: found.next_cursor,
    })
}

/// The solutions whose logs the viewer may read, for the solution filter.
pub async fn readable_solutions(state: &AppState, view: &OrgPage) -> UiResult<Vec<Value>> {
    let visible = crate::features::solutions::ui::visible_solutions(state, view).await?;
    Ok(visible
        .iter()
        .filter(|s| rights(view.scope.role, s.viewer_role).logs)
        .map(|s| context! { id => s.id.to_string(), name => s.name })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn links_keep_the_filters_and_drop_the_page() {
        let query = TroubleshootingQuery {
            range: "week".into(),
            from: "2026-12-01T00:00".into(),
            level: "warn".into(),
            q: "upload failed".into(),
            cursor: "abc".into(),
            ..TroubleshootingQuery::default()
        };
        assert_eq!(
            query.link("/t", |q| q.correlation_id = "c-1".into()),
            "/t?range=week&level=warn&correlation_id=c-1&q=upload%20failed"
        );
        assert_eq!(
            query.link("/t", |q| q.range = "custom".into()),
            "/t?range=custom&from=2026-12-01T00%3A00&level=warn&q=upload%20failed"
        );
    }
}
