//! The app's side: the inbox, the live event stream and the Web Push key.

use super::inbox;
use super::views::{InboxItemView, InboxList};
use crate::error::{AppError, AppResult};
use crate::http::extract::{AppCaller, AppQuery, ClientIp};
use crate::http::problem::Problem;
use crate::page::PageQuery;
use crate::scope::OrgScope;
use crate::state::AppState;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::sse::{Event, Sse};
use axum::Json;
use futures_util::Stream;
use serde::{Deserialize, Serialize};
use std::convert::Infallible;
use utoipa::{IntoParams, ToSchema};

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct InboxQuery {
    /// The organization; your default organization when absent.
    pub org: Option<String>,
    /// `true`: only unread items (blank or `false`: all).
    pub unread: Option<String>,
    pub limit: Option<i64>,
    pub cursor: Option<String>,
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct OrgQuery {
    /// The organization; your default organization when absent.
    pub org: Option<String>,
}

async fn app_scope(
    state: &AppState,
    caller: crate::features::auth::caller::Caller,
    ip: std::net::IpAddr,
    org: Option<&str>,
) -> AppResult<OrgScope> {
    OrgScope::for_app_call(state, caller, org, ip).await
}

/// Your inbox in the organization, newest first. Fetching counts the items
/// as delivered.
#[utoipa::path(get, path = "/app/notifications", tag = "app", params(InboxQuery),
    responses((status = 200, body = InboxList), (status = 401, body = Problem),
              (status = 403, body = Problem), (status = 404, body = Problem), (status = 422, body = Problem)))]
pub async fn list_inbox(
    State(state): State<AppState>,
    AppCaller(caller): AppCaller,
    ClientIp(ip): ClientIp,
    AppQuery(query): AppQuery<InboxQuery>,
) -> AppResult<Json<InboxList>> {
    let scope = app_scope(&state, caller, ip, query.org.as_deref()).await?;
    let page = PageQuery {
        limit: query.limit,
        cursor: query.cursor,
    };
    let unread = match query.unread.as_deref().map(str::trim) {
        None | Some("" | "false" | "0") => false,
        Some("true" | "1") => true,
        Some(_) => return Err(AppError::invalid("unread", "true or false")),
    };
    let found = inbox::page(&state, &scope, unread, &page).await?;
    Ok(Json(InboxList {
        items: found.items.into_iter().map(InboxItemView::from).collect(),
        next_cursor: found.next_cursor,
    }))
}

/// Mark an item read (it counts as opened).
#[utoipa::path(post, path = "/app/notifications/{id}/read", tag = "app",
    params(("id" = muster_domain::InboxItemId, Path, description = "Inbox item id")),
    responses((status = 204), (status = 401, body = Problem), (status = 404, body = Problem)))]
pub async fn read_item(
    State(state): State<AppState>,
    AppCaller(caller): AppCaller,
    ClientIp(ip): ClientIp,
    Path(id): Path<String>,
) -> AppResult<StatusCode> {
    let id = id.parse().map_err(|_| AppError::NotFound)?;
    inbox::read(&state, &caller, id, ip).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ReadAll {
    /// Items newly marked read.
    pub read: u64,
}

/// Mark every item of your inbox in the organization read.
#[utoipa::path(post, path = "/app/notifications/read-all", tag = "app", params(OrgQuery),
    responses((status = 200, body = ReadAll), (status = 401, body = Problem),
              (status = 403, body = Problem), (status = 404, body = Problem), (status = 422, body = Problem)))]
pub async fn read_all(
    State(state): State<AppState>,
    AppCaller(caller): AppCaller,
    ClientIp(ip): ClientIp,
    AppQuery(query): AppQuery<OrgQuery>,
) -> AppResult<Json<ReadAll>> {
    let scope = app_scope(&state, caller, ip, query.org.as_deref()).await?;
    let read = inbox::read_all(&state, &scope).await?;
    Ok(Json(ReadAll { read }))
}

/// Take an item out of your inbox.
#[utoipa::path(delete, path = "/app/notifications/{id}", tag = "app",
    params(("id" = muster_domain::InboxItemId, Path, description = "Inbox item id")),
    responses((status = 204), (status = 401, body = Problem), (status = 404, body = Problem)))]
pub async fn delete_item(
    State(state): State<AppState>,
    AppCaller(caller): AppCaller,
    ClientIp(ip): ClientIp,
    Path(id): Path<String>,
) -> AppResult<StatusCode> {
    let id = id.parse().map_err(|_| AppError::NotFound)?;
    inbox::delete(&state, &caller, id, ip).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// New inbox items as they arrive: a Server-Sent Events stream of
/// `event: notification` (data: the inbox item as JSON, `id:` its id), with a
/// comment every 15 s. Send `Last-Event-ID` to receive what you missed first.
#[utoipa::path(get, path = "/app/events", tag = "app", params(OrgQuery,
        ("Last-Event-ID" = Option<String>, Header, description = "The id of the last event received")),
    responses((status = 200, description = "An event stream", content_type = "text/event-stream", body = String),
              (status = 401, body = Problem), (status = 403, body = Problem), (status = 404, body = Problem),
              (status = 422, body = Problem), (status = 429, body = Problem)))]
pub async fn events(
    State(state): State<AppState>,
    AppCaller(caller): AppCaller,
    ClientIp(ip): ClientIp,
    headers: HeaderMap,
    AppQuery(query): AppQuery<OrgQuery>,
) -> AppResult<Sse<impl Stream<Item = Result<Event, Infallible>>>> {
    let scope = app_scope(&state, caller, ip, query.org.as_deref()).await?;
    let last = headers
        .get("last-event-id")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse().ok());
    let stream = super::events::open(state, scope, last).await?;
    Ok(Sse::new(stream))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct PushKey {
    /// The VAPID public key (`applicationServerKey` of `pushManager.subscribe`):
    /// an uncompressed P-256 point, base64url.
    pub public_key: String,
}

/// The key push subscriptions are made with.
#[utoipa::path(get, path = "/app/push/key", tag = "app",
    responses((status = 200, body = PushKey), (status = 401, body = Problem)))]
pub async fn push_key(
    State(state): State<AppState>,
    AppCaller(_caller): AppCaller,
) -> AppResult<Json<PushKey>> {
    let vapid = state.push.vapid(&state.store, state.now()).await?;
    Ok(Json(PushKey {
        public_key: vapid.public_key.clone(),
    }))
}
