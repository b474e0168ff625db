//! Reading troubleshooting logs: a selection from query parameters, checked
//! field by field and narrowed to what SPEC §2 lets the member read, and its
//! pages of entries and of correlation IDs.

use crate::error::{AppError, AppResult};
use crate::page::{Page, PageQuery};
use crate::scope::OrgScope;
use crate::state::AppState;
use muster_domain::log::{self, Level};
use muster_domain::permission::{Capability, Grant};
use muster_domain::{Email, OrgId, SolutionId, UserId};
use muster_store::logs::{self, CorrelationPosition, EntryPosition, Filter};
use muster_store::{memberships, users, Conn};
use time::Duration;

/// A reader's selection as it came in (query parameters), unchecked.
#[derive(Debug, Clone, Default)]
pub struct Asked {
    pub range: Option<String>,
    pub from: Option<String>,
    pub to: Option<String>,
    pub level: Option<String>,
    pub solution: Option<String>,
    pub user: Option<String>,
    pub correlation_id: Option<String>,
    pub category: Option<String>,
    pub q: Option<String>,
}

/// Characters of `q=`.
pub const TEXT_MAX: usize = 200;

/// A query parameter that says something: trimmed, and none when blank.
pub fn given(value: &Option<String>) -> Option<&str> {
    value.as_deref().map(str::trim).filter(|v| !v.is_empty())
}

/// The filter `asked` names, checked field by field (422 naming each).
pub async fn selection(conn: &mut Conn, scope: &OrgScope, asked: &Asked) -> AppResult<Filter> {
    let now = scope.now;
    let mut invalid = muster_domain::Invalid::default();
    let mut filter = Filter::default();
    let time = |field: &str, value: Option<&str>, invalid: &mut muster_domain::Invalid| {
        value.and_then(|v| {
            let parsed = log::parse_time(v);
            if parsed.is_none() {
                invalid.push(field, "an RFC 3339 time, e.g. 2026-12-04T09:30:00Z");
            }
            parsed
        })
    };
    let from = time("from", given(&asked.from), &mut invalid);
    let to = time("to", given(&asked.to), &mut invalid);
    match (given(&asked.range), from, to) {
        (Some(range), _, _) => match log::named_range(range) {
            Some(length) => {
                filter.from = Some(now - length);
                filter.to = None;
            }
            None => invalid.push("range", format!("one of: {}", log::RANGES.join(", "))),
        },
        // A correlation ID from a support ticket is looked for in everything
        // kept (its index finds it at any age); anything else in the last day.
        (None, None, None) if given(&asked.correlation_id).is_some() => filter.from = None,
        (None, None, None) => filter.from = Some(now - Duration::DAY),
        (None, from, to) => {
            let to_or_now = to.unwrap_or(now);
            filter.from = Some(from.unwrap_or(to_or_now - Duration::DAY));
            filter.to = to;
            if filter.from >= Some(to_or_now) {
                invalid.push("from", "must be before to (and before now)");
            }
        }
    }
    if let Some(level) = given(&asked.level) {
        filter.min_level = invalid.check(
            "level",
            Level::parse(level)
                .map(Level::rank)
                .ok_or_else(Level::choices),
        );
    }
    if let Some(solution) = given(&asked.solution) {
        filter.solution = invalid.check(
            "solution",
            solution.parse::<SolutionId>().map_err(|_| "a solution id"),
        );
    }
    if let Some(user) = given(&asked.user) {
        filter.user = match user.parse::<UserId>() {
            Ok(id) => Some(id),
            Err(_) => match Email::parse(user) {
                // Looked up among this organization's members only: whether an
                // address has an account elsewhere is nobody's business here.
                Ok(email) => match users::find_by_email(conn, &email).await? {
                    Some(found)
                        if memberships::find(conn, scope.org_id, found.id)
                            .await?
                            .is_some() =>
                    {
                        Some(found.id)
                    }
                    _ => {
                        filter.nothing = true;
                        None
                    }
                },
                Err(_) => {
                    invalid.push("user", "a user id or an email address");
                    None
                }
            },
        };
    }
    let bounded =
        |field: &str, value: Option<&str>, max: usize, invalid: &mut muster_domain::Invalid| {
            value.and_then(|v| {
                if v.chars().count() > max {
                    invalid.push(field, format!("at most {max} characters"));
                    None
                } else if v.chars().any(char::is_control) {
                    invalid.push(field, "must not contain control characters");
                    None
                } else {
                    Some(v.to_owned())
                }
            })
        };
    filter.correlation_id = bounded(
        "correlation_id",
        given(&asked.correlation_id),
        log::CORRELATION_MAX,
        &mut invalid,
    );
    filter.category = bounded(
        "category",
        given(&asked.category),
        log::CATEGORY_MAX,
        &mut invalid,
    );
    filter.text = bounded("q", given(&asked.q), TEXT_MAX, &mut invalid);
    if invalid.0.is_empty() {
        Ok(filter)
    } else {
        Err(invalid.into())
    }
}

/// The filter `asked` names, narrowed to what the scope's member may read.
pub async fn visible(conn: &mut Conn, scope: &OrgScope, asked: &Asked) -> AppResult<Filter> {
    let mut filter = selection(conn, scope, asked).await?;
    restrict(conn, scope, &mut filter).await?;
    Ok(filter)
}

/// Narrows `filter` to what the scope's member may read in the organization:
/// everything for owners and admins; for a creator the solutions where they are
/// solution owner, admin or editor; nothing for `user` members (403).
pub async fn restrict(conn: &mut Conn, scope: &OrgScope, filter: &mut Filter) -> AppResult<()> {
    match scope.require(Capability::ViewUsageAndLogs)? {
        Grant::All => Ok(()),
        _ => {
            let visible = logs::solutions_with_roles(
                conn,
                scope.org_id,
                scope.user_id(),
                &["owner", "admin", "editor"],
            )
            .await?;
            if let Some(asked) = filter.solution {
                if !visible.contains(&asked) {
                    return Err(AppError::Denied(format!(
                        "you are not owner, admin or editor of solution {asked}, so you cannot read its logs"
                    )));
                }
            }
            filter.visible_solutions = Some(visible);
            Ok(())
        }
    }
}

/// The organization's entries the scope may read, newest first.
pub async fn entries(
    state: &AppState,
    scope: &OrgScope,
    asked: &Asked,
    page: &PageQuery,
) -> AppResult<Page<logs::Entry>> {
    let mut conn = state.store.read().await?;
    let filter = visible(&mut conn, scope, asked).await?;
    entries_page(&mut conn, scope.org_id, &filter, page).await
}

/// The caller's own entries in the organization (any active member).
pub async fn my_entries(
    state: &AppState,
    scope: &OrgScope,
    asked: &Asked,
    page: &PageQuery,
) -> AppResult<Page<logs::Entry>> {
    let mut conn = state.store.read().await?;
    let asked = Asked {
        user: None,
        ..asked.clone()
    };
    let mut filter = selection(&mut conn, scope, &asked).await?;
    filter.user = Some(scope.user_id());
    entries_page(&mut conn, scope.org_id, &filter, page).await
}

pub async fn entries_page(
    conn: &mut Conn,
    org_id: OrgId,
    filter: &Filter,
    page: &PageQuery,
) -> AppResult<Page<logs::Entry>> {
    let limit = page.limit()?;
    let after = page.after()?.map(|c| entry_position(&c)).transpose()?;
    let rows = logs::page(conn, org_id, filter, after, limit + 1).await?;
    Ok(Page::from_rows(rows, limit, |e| {
        format!("{}:{}", muster_store::time_ms::to_ms(e.time), e.id)
    }))
}

pub fn entry_position(cursor: &str) -> AppResult<EntryPosition> {
    cursor
        .split_once(':')
        .and_then(|(t, i)| {
            Some(EntryPosition {
                time_ms: t.parse().ok()?,
                id: i.parse().ok()?,
            })
        })
        .ok_or_else(|| AppError::Malformed("the cursor is not one this API returned".into()))
}

/// The organization's correlation IDs the scope may read, most recent first.
pub async fn correlations(
    state: &AppState,
    scope: &OrgScope,
    asked: &Asked,
    page: &PageQuery,
) -> AppResult<Page<logs::Correlation>> {
    let mut conn = state.store.read().await?;
    let filter = visible(&mut conn, scope, asked).await?;
    correlations_page(&mut conn, scope.org_id, &filter, page).await
}

pub async fn correlations_page(
    conn: &mut Conn,
    org_id: OrgId,
    filter: &Filter,
    page: &PageQuery,
) -> AppResult<Page<logs::Correlation>> {
    let limit = page.limit()?;
    let after = page
        .after()?
        .map(|cursor| {
            let mut parts = cursor.splitn(3, ':');
            let position = (|| {
                let last_ms = parts.next()?.parse().ok()?;
                let scan_before_ms = match parts.next()? {
                    "" => None,
                    ms => Some(ms.parse().ok()?),
                };
                Some(CorrelationPosition {
                    last_ms,
                    scan_before_ms,
                    correlation_id: parts.next()?.to_owned(),
                })
            })();
            position.ok_or_else(|| {
                AppError::Malformed("the cursor is not one this API returned".into())
            })
        })
        .transpose()?;
    let found = logs::correlations(conn, org_id, filter, after, limit).await?;
    let next = found.next.map(|p| {
        let scan = p
            .scan_before_ms
            .map(|ms| ms.to_string())
            .unwrap_or_default();
        format!("{}:{scan}:{}", p.last_ms, p.correlation_id)
    });
    Ok(Page::with_cursor(found.items, next))
}
