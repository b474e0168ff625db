//! Troubleshooting over the API: the organization's entries, its correlation
//! IDs, the CSV export, one's own entries, and a member's temporary level.

use super::reading::{self, Asked};
use super::service;
use super::views::{CorrelationList, CorrelationView, EntryList, EntryView, MemberLevel};
use crate::error::{AppError, AppResult};
use crate::features::auth::caller::Caller;
use crate::http::extract::{AppJson, AppQuery, ClientIp};
use crate::http::problem::Problem;
use crate::page::PageQuery;
use crate::scope::OrgScope;
use crate::state::AppState;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::Json;
use muster_domain::UserId;
use serde::Deserialize;
use utoipa::{IntoParams, ToSchema};

#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct LogQuery {
    /// hour, day, week or month (30 days), ending now; instead of from/to.
    pub range: Option<String>,
    /// RFC 3339; with neither range nor from/to, the last day.
    pub from: Option<String>,
    /// RFC 3339 (exclusive); now when absent.
    pub to: Option<String>,
    /// This level and above: trace, debug, info, warn, error or fatal.
    pub level: Option<String>,
    /// A solution id.
    pub solution: Option<String>,
    /// A user id or email address.
    pub user: Option<String>,
    pub correlation_id: Option<String>,
    pub category: Option<String>,
    /// Text in the message, ignoring case (at most 200 characters).
    pub q: Option<String>,
    /// How many items to return (1–200, default 50).
    pub limit: Option<i64>,
    /// `next_cursor` of the previous page.
    pub cursor: Option<String>,
}

impl LogQuery {
    pub fn split(self) -> (Asked, PageQuery) {
        (
            Asked {
                range: self.range,
                from: self.from,
                to: self.to,
                level: self.level,
                solution: self.solution,
                user: self.user,
                correlation_id: self.correlation_id,
                category: self.category,
                q: self.q,
            },
            PageQuery {
                limit: self.limit,
                cursor: self.cursor,
            },
        )
    }
}

/// The organization's log entries, newest first. Creators read those of
/// solutions where they are solution owner, admin or editor.
#[utoipa::path(get, path = "/orgs/{org}/logs", tag = "logs",
    params(("org" = muster_domain::OrgId, Path, description = "Organization id"), LogQuery),
    responses((status = 200, body = EntryList), (status = 400, body = Problem), (status = 401, body = Problem),
              (status = 403, body = Problem), (status = 404, body = Problem), (status = 422, body = Problem)))]
pub async fn list_logs(
    State(state): State<AppState>,
    scope: OrgScope,
    AppQuery(query): AppQuery<LogQuery>,
) -> AppResult<Json<EntryList>> {
    let (asked, page) = query.split();
    let found = reading::entries(&state, &scope, &asked, &page).await?;
    Ok(Json(EntryList {
        items: found.items.into_iter().map(EntryView::from).collect(),
        next_cursor: found.next_cursor,
    }))
}

/// The selection grouped by correlation ID, the most recently active first.
#[utoipa::path(get, path = "/orgs/{org}/logs/correlations", tag = "logs",
    params(("org" = muster_domain::OrgId, Path, description = "Organization id"), LogQuery),
    responses((status = 200, body = CorrelationList), (status = 400, body = Problem), (status = 401, body = Problem),
              (status = 403, body = Problem), (status = 404, body = Problem), (status = 422, body = Problem)))]
pub async fn list_correlations(
    State(state): State<AppState>,
    scope: OrgScope,
    AppQuery(query): AppQuery<LogQuery>,
) -> AppResult<Json<CorrelationList>> {
    let (asked, page) = query.split();
    let found = reading::correlations(&state, &scope, &asked, &page).await?;
    Ok(Json(CorrelationList {
        items: found.items.into_iter().map(CorrelationView::from).collect(),
        next_cursor: found.next_cursor,
    }))
}

/// The selection as CSV, newest first (at most 1,000,000 rows), streamed.
#[utoipa::path(get, path = "/orgs/{org}/logs.csv", tag = "logs",
    params(("org" = muster_domain::OrgId, Path, description = "Organization id"), LogQuery),
    responses((status = 200, content_type = "text/csv", body = String), (status = 400, body = Problem),
              (status = 401, body = Problem), (status = 403, body = Problem), (status = 404, body = Problem),
              (status = 422, body = Problem)))]
pub async fn logs_csv(
    State(state): State<AppState>,
    scope: OrgScope,
    AppQuery(query): AppQuery<LogQuery>,
) -> AppResult<Response> {
    let (asked, _) = query.split();
    let filter = {
        let mut conn = state.store.read().await?;
        let filter = reading::visible(&mut conn, &scope, &asked).await?;
        filter
    };
    Ok(super::csv::response(state, scope.org_id, filter))
}

#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct MyLogQuery {
    /// The organization; your default organization when absent.
    pub org: Option<String>,
    /// hour, day, week or month (30 days), ending now; instead of from/to.
    pub range: Option<String>,
    pub from: Option<String>,
    pub to: Option<String>,
    pub level: Option<String>,
    pub solution: Option<String>,
    pub correlation_id: Option<String>,
    pub category: Option<String>,
    pub q: Option<String>,
    pub limit: Option<i64>,
    pub cursor: Option<String>,
}

/// Your own log entries in an organization (any member).
#[utoipa::path(get, path = "/me/logs", tag = "me",
    params(MyLogQuery),
    responses((status = 200, body = EntryList), (status = 400, body = Problem), (status = 401, body = Problem),
              (status = 403, body = Problem), (status = 404, body = Problem), (status = 422, body = Problem)))]
pub async fn my_logs(
    State(state): State<AppState>,
    caller: Caller,
    ClientIp(ip): ClientIp,
    AppQuery(query): AppQuery<MyLogQuery>,
) -> AppResult<Json<EntryList>> {
    let scope = OrgScope::for_app_call(&state, caller, query.org.as_deref(), ip).await?;
    let (asked, page) = LogQuery {
        range: query.range,
        from: query.from,
        to: query.to,
        level: query.level,
        solution: query.solution,
        user: None,
        correlation_id: query.correlation_id,
        category: query.category,
        q: query.q,
        limit: query.limit,
        cursor: query.cursor,
    }
    .split();
    let found = reading::my_entries(&state, &scope, &asked, &page).await?;
    Ok(Json(EntryList {
        items: found.items.into_iter().map(EntryView::from).collect(),
        next_cursor: found.next_cursor,
    }))
}

type OrgAndUser = Path<(String, String)>;

fn parse_user(raw: &str) -> AppResult<UserId> {
    raw.parse().map_err(|_| AppError::NotFound)
}

/// A member's temporary logging level (null when the organization's applies).
#[utoipa::path(get, path = "/orgs/{org}/users/{user}/log-level", tag = "logs",
    params(("org" = muster_domain::OrgId, Path, description = "Organization id"),
           ("user" = UserId, Path, description = "User id")),
    responses((status = 200, body = MemberLevel), (status = 401, body = Problem),
              (status = 403, body = Problem), (status = 404, body = Problem)))]
pub async fn get_member_level(
    State(state): State<AppState>,
    scope: OrgScope,
    Path(path): OrgAndUser,
) -> AppResult<Json<MemberLevel>> {
    let found = service::member_level(&state, &scope, parse_user(&path.1)?).await?;
    Ok(Json(found.into()))
}

#[derive(Debug, Default, Deserialize, ToSchema)]
pub struct MemberLevelInput {
    /// trace, debug, info, warn, error or fatal (default debug).
    pub level: Option<String>,
    /// How long, 1–168 hours (default 24).
    pub hours: Option<i64>,
}

/// Detailed logging for one member for a while: their apps log at `level`
/// until then, whatever the organization's level. Owners and admins.
#[utoipa::path(put, path = "/orgs/{org}/users/{user}/log-level", tag = "logs",
    params(("org" = muster_domain::OrgId, Path, description = "Organization id"),
           ("user" = UserId, Path, description = "User id")),
    request_body = MemberLevelInput,
    responses((status = 200, body = MemberLevel), (status = 401, body = Problem),
              (status = 403, body = Problem), (status = 404, body = Problem), (status = 422, body = Problem)))]
pub async fn set_member_level(
    State(state): State<AppState>,
    scope: OrgScope,
    Path(path): OrgAndUser,
    AppJson(input): AppJson<MemberLevelInput>,
) -> AppResult<Json<MemberLevel>> {
    let set = service::set_member_level(
        &state,
        &scope,
        parse_user(&path.1)?,
        input.level.as_deref(),
        input.hours,
    )
    .await?;
    Ok(Json(Some(set).into()))
}

/// Ends a member's temporary level (404 when none is set).
#[utoipa::path(delete, path = "/orgs/{org}/users/{user}/log-level", tag = "logs",
    params(("org" = muster_domain::OrgId, Path, description = "Organization id"),
           ("user" = UserId, Path, description = "User id")),
    responses((status = 204), (status = 401, body = Problem),
              (status = 403, body = Problem), (status = 404, body = Problem)))]
pub async fn clear_member_level(
    State(state): State<AppState>,
    scope: OrgScope,
    Path(path): OrgAndUser,
) -> AppResult<StatusCode> {
    service::clear_member_level(&state, &scope, parse_user(&path.1)?).await?;
    Ok(StatusCode::NO_CONTENT)
}
