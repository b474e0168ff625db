//! `/api/v1/orgs/{org}/notifications`: send, schedule, cancel, history,
//! detail and recipients.

use super::service;
use super::views::{NotificationList, NotificationView, RecipientList, RecipientView};
use crate::error::{AppError, AppResult};
use crate::http::extract::{AppJson, AppQuery};
use crate::http::problem::Problem;
use crate::page::PageQuery;
use crate::scope::OrgScope;
use crate::state::AppState;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::Json;
use muster_domain::notification::{Draft, Scope, Status};
use muster_domain::{GroupId, NotificationId, SolutionId};
use muster_store::recipients::RecipientFilter;
use serde::Deserialize;
use time::OffsetDateTime;
use utoipa::{IntoParams, ToSchema};

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NotificationInput {
    /// At most 100 characters.
    pub title: String,
    /// At most 1,000 characters.
    pub body: String,
    /// An http(s) URL or an app deep link (`app://solution/{id}/screen/{name}?k=v`).
    pub link: Option<String>,
    /// A JSON object of at most 4 KB, handed to the app as is.
    #[schema(value_type = Option<Object>)]
    pub data: Option<serde_json::Value>,
    pub scope: Scope,
    #[serde(default)]
    pub solution_ids: Vec<SolutionId>,
    #[serde(default)]
    pub group_ids: Vec<GroupId>,
    #[serde(default)]
    pub emails: Vec<String>,
    /// Send at this time instead of now (RFC 3339).
    #[serde(default, with = "time::serde::rfc3339::option")]
    pub scheduled_at: Option<OffsetDateTime>,
}

impl From<NotificationInput> for Draft {
    fn from(input: NotificationInput) -> Self {
        Draft {
            title: input.title,
            body: input.body,
            link: input.link,
            data: input.data,
            scope: Some(input.scope),
            solution_ids: input.solution_ids,
            group_ids: input.group_ids,
            emails: input.emails,
            scheduled_at: input.scheduled_at,
        }
    }
}

type OrgAndId = Path<(String, String)>;

fn parse_id(raw: &str) -> AppResult<NotificationId> {
    raw.parse().map_err(|_| AppError::NotFound)
}

/// Send a notification now, or schedule it (`scheduled_at`). With an
/// `Idempotency-Key` header, a retried request returns the notification of
/// the first one instead of sending it twice.
#[utoipa::path(post, path = "/orgs/{org}/notifications", tag = "notifications",
    params(("org" = muster_domain::OrgId, Path, description = "Organization id"),
           ("Idempotency-Key" = Option<String>, Header, description = "Any unique string (≤ 200 characters) per intended notification")),
    request_body = NotificationInput,
    responses((status = 201, body = NotificationView), (status = 401, body = Problem),
              (status = 403, body = Problem), (status = 404, body = Problem), (status = 422, body = Problem)))]
pub async fn send_notification(
    State(state): State<AppState>,
    scope: OrgScope,
    headers: HeaderMap,
    AppJson(input): AppJson<NotificationInput>,
) -> AppResult<(StatusCode, Json<NotificationView>)> {
    let key =
        match headers.get("idempotency-key") {
            Some(value) => Some(value.to_str().map_err(|_| {
                AppError::invalid("Idempotency-Key", "use visible ASCII characters")
            })?),
            None => None,
        };
    let (n, _new) = service::send(&state, &scope, input.into(), key).await?;
    Ok((StatusCode::CREATED, Json(NotificationView::new(n))))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct HistoryQuery {
    /// scheduled, sending, sent or canceled (blank: all).
    pub status: Option<String>,
    pub limit: Option<i64>,
    pub cursor: Option<String>,
}

/// The history, newest first (creators see the ones they sent).
#[utoipa::path(get, path = "/orgs/{org}/notifications", tag = "notifications",
    params(("org" = muster_domain::OrgId, Path, description = "Organization id"), HistoryQuery),
    responses((status = 200, body = NotificationList), (status = 401, body = Problem),
              (status = 403, body = Problem), (status = 404, body = Problem), (status = 422, body = Problem)))]
pub async fn list_notifications(
    State(state): State<AppState>,
    scope: OrgScope,
    AppQuery(query): AppQuery<HistoryQuery>,
) -> AppResult<Json<NotificationList>> {
    let page = PageQuery {
        limit: query.limit,
        cursor: query.cursor,
    };
    let status = match query
        .status
        .as_deref()
        .map(str::trim)
        .filter(|s| !s.is_empty())
    {
        Some(raw) => Some(
            raw.parse::<Status>()
                .map_err(|e| AppError::invalid("status", e))?,
        ),
        None => None,
    };
    let found = service::list(&state, &scope, status, &page).await?;
    Ok(Json(NotificationList {
        items: found.items.into_iter().map(NotificationView::new).collect(),
        next_cursor: found.next_cursor,
    }))
}

/// One notification with its delivery counts.
#[utoipa::path(get, path = "/orgs/{org}/notifications/{id}", tag = "notifications",
    params(("org" = muster_domain::OrgId, Path, description = "Organization id"),
           ("id" = NotificationId, Path, description = "Notification id")),
    responses((status = 200, body = NotificationView), (status = 401, body = Problem),
              (status = 403, body = Problem), (status = 404, body = Problem)))]
pub async fn get_notification(
    State(state): State<AppState>,
    scope: OrgScope,
    Path(path): OrgAndId,
) -> AppResult<Json<NotificationView>> {
    let n = service::detail(&state, &scope, parse_id(&path.1)?).await?;
    Ok(Json(NotificationView::new(n)))
}

/// Cancel a scheduled notification (409 once it is being sent).
#[utoipa::path(delete, path = "/orgs/{org}/notifications/{id}", tag = "notifications",
    params(("org" = muster_domain::OrgId, Path, description = "Organization id"),
           ("id" = NotificationId, Path, description = "Notification id")),
    responses((status = 200, body = NotificationView), (status = 401, body = Problem),
              (status = 403, body = Problem), (status = 404, body = Problem), (status = 409, body = Problem)))]
pub async fn cancel_notification(
    State(state): State<AppState>,
    scope: OrgScope,
    Path(path): OrgAndId,
) -> AppResult<Json<NotificationView>> {
    let n = service::cancel(&state, &scope, parse_id(&path.1)?).await?;
    Ok(Json(NotificationView::new(n)))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct RecipientQuery {
    /// queued, delivered, opened or failed (blank: all).
    pub status: Option<String>,
    pub limit: Option<i64>,
    pub cursor: Option<String>,
}

/// The filter `?status=` names; blank is all, anything else unknown is 422.
fn recipient_filter(status: Option<&str>) -> AppResult<RecipientFilter> {
    let status = status.unwrap_or_default();
    RecipientFilter::named(status).ok_or_else(|| {
        AppError::invalid(
            "status",
            format!("unknown status `{status}`: queued, delivered, opened or failed"),
        )
    })
}

/// Each recipient with what became of their copy, in the order they were written.
#[utoipa::path(get, path = "/orgs/{org}/notifications/{id}/recipients", tag = "notifications",
    params(("org" = muster_domain::OrgId, Path, description = "Organization id"),
           ("id" = NotificationId, Path, description = "Notification id"), RecipientQuery),
    responses((status = 200, body = RecipientList), (status = 401, body = Problem),
              (status = 403, body = Problem), (status = 404, body = Problem), (status = 422, body = Problem)))]
pub async fn list_recipients(
    State(state): State<AppState>,
    scope: OrgScope,
    Path(path): OrgAndId,
    AppQuery(query): AppQuery<RecipientQuery>,
) -> AppResult<Json<RecipientList>> {
    let page = PageQuery {
        limit: query.limit,
        cursor: query.cursor,
    };
    let filter = recipient_filter(query.status.as_deref())?;
    let found = service::recipients(&state, &scope, parse_id(&path.1)?, filter, &page).await?;
    Ok(Json(RecipientList {
        items: found.items.into_iter().map(RecipientView::from).collect(),
        next_cursor: found.next_cursor,
    }))
}
