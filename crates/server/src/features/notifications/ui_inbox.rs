//! The member's inbox on the web (`/orgs/{org}/inbox`), for every active
//! member whatever their role: newest first, mark read, mark all read,
//! delete. `static/notifications.js` adds what arrives on the event stream
//! while the page is open; without it a reload shows them.

use super::inbox;
use super::views::InboxItemView;
use crate::features::invitations::service::format_time;
use crate::http::ui::error::{page, urlencode, UiError, UiResult};
use crate::http::ui::layout::{layout, MemberPage, UiForm};
use crate::page::PageQuery;
use crate::state::AppState;
use axum::extract::{Path, Query, State};
use axum::http::Uri;
use axum::response::{IntoResponse, Redirect};
use minijinja::{context, Value};
use muster_domain::InboxItemId;
use serde::Deserialize;

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct InboxQuery {
    unread: String,
    cursor: String,
    /// What was just done (`read`, `all_read`, `nothing_unread`, `deleted`):
    /// the page says it in its own words, never text from the URL.
    done: String,
}

fn notice(done: &str) -> Option<&'static str> {
    Some(match done {
        "read" => "Marked as read.",
        "all_read" => "Every notification is marked as read.",
        "nothing_unread" => "Nothing was unread.",
        "deleted" => "The notification was deleted from your inbox.",
        _ => return None,
    })
}

/// `GET /orgs/{org}/inbox`.
pub async fn show(
    State(state): State<AppState>,
    view: MemberPage,
    uri: Uri,
    Query(query): Query<InboxQuery>,
) -> UiResult {
    let unread = !query.unread.is_empty();
    let paging = PageQuery {
        limit: None,
        cursor: Some(query.cursor.clone()).filter(|c| !c.is_empty()),
    };
    let found = inbox::page(&state, &view.scope, unread, &paging).await?;
    let items: Vec<Value> = found
        .items
        .into_iter()
        .map(|i| item_row(i.into()))
        .collect();
    let path = uri.path();
    let flag = if unread { "unread=1&" } else { "" };
    let values = context! {
        items,
        unread,
        notice => notice(&query.done),
        stream_url => format!("/api/v1/app/events?org={}", view.org.id),
        next_url => found.next_cursor.map(|c| format!("{path}?{flag}cursor={}", urlencode(&c))),
        first_url => paging.cursor.is_some().then(|| format!("{path}?{flag}")),
    };
    page(
        "inbox.html",
        layout(
            &view.viewer,
            Some((&view.org, view.scope.role)),
            "inbox",
            path,
            values,
        ),
    )
}

fn item_row(i: InboxItemView) -> Value {
    let web_link = i
        .link
        .as_deref()
        .filter(|l| l.starts_with("https://") || l.starts_with("http://"))
        .map(str::to_owned);
    context! {
        id => i.id.to_string(),
        title => i.title,
        body => i.body,
        link => i.link,
        web_link,
        created_at => format_time(i.created_at),
        read => i.read_at.is_some(),
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct InboxForm {
    csrf_token: String,
}

fn back(view: &MemberPage, done: &str) -> axum::response::Response {
    Redirect::to(&format!("/orgs/{}/inbox?done={done}", view.org.id)).into_response()
}

fn item_id(raw: &str) -> Result<InboxItemId, UiError> {
    raw.parse().map_err(|_| UiError::not_found())
}

/// `POST /orgs/{org}/inbox/{id}/read`.
pub async fn read(
    State(state): State<AppState>,
    view: MemberPage,
    Path((_, raw)): Path<(String, String)>,
    UiForm(form): UiForm<InboxForm>,
) -> UiResult {
    view.viewer.check_csrf(&form.csrf_token)?;
    inbox::read(&state, &view.viewer.caller, item_id(&raw)?, view.scope.ip).await?;
    Ok(back(&view, "read"))
}

/// `POST /orgs/{org}/inbox/read-all`.
pub async fn read_all(
    State(state): State<AppState>,
    view: MemberPage,
    UiForm(form): UiForm<InboxForm>,
) -> UiResult {
    view.viewer.check_csrf(&form.csrf_token)?;
    let count = inbox::read_all(&state, &view.scope).await?;
    Ok(back(
        &view,
        if count == 0 {
            "nothing_unread"
        } else {
            "all_read"
        },
    ))
}

/// `POST /orgs/{org}/inbox/{id}/delete`.
pub async fn delete(
    State(state): State<AppState>,
    view: MemberPage,
    Path((_, raw)): Path<(String, String)>,
    UiForm(form): UiForm<InboxForm>,
) -> UiResult {
    view.viewer.check_csrf(&form.csrf_token)?;
    inbox::delete(&state, &view.viewer.caller, item_id(&raw)?, view.scope.ip).await?;
    Ok(back(&view, "deleted"))
}
