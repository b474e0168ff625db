//! Notifications in Management: the history with the "Send notification"
//! panel, and a notification's page with its recipients. The member's inbox
//! is in `ui_inbox`. The rules live in `service`; this file reads forms and
//! renders pages.

use super::service;
use super::ui_compose::{Audience, ComposeForm};
use super::views::{NotificationView, RecipientView};
use crate::error::AppError;
use crate::features::invitations::service::format_time;
use crate::http::ui::error::{page, urlencode, UiError, UiResult};
use crate::http::ui::layout::{field_errors, OrgPage, UiForm};
use crate::page::PageQuery;
use crate::state::AppState;
use axum::extract::{Path, Query, State};
use axum::http::{StatusCode, Uri};
use axum::response::{IntoResponse, Redirect, Response};
use minijinja::{context, Value};
use muster_domain::notification::Status;
use muster_domain::permission::Capability;
use muster_domain::{Invalid, NotificationId};
use muster_store::notifications::Notification;
use muster_store::recipients::RecipientFilter;
use serde::Deserialize;

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct HistoryQuery {
    status: String,
    cursor: String,
}

const STATUSES: [&str; 4] = ["scheduled", "sending", "sent", "canceled"];

/// `GET /orgs/{org}/notifications`.
pub async fn list(
    State(state): State<AppState>,
    view: OrgPage,
    uri: Uri,
    Query(query): Query<HistoryQuery>,
) -> UiResult {
    view.require(Capability::SendNotifications)?;
    let audience = Audience::read(&state, &view).await?;
    let form = ComposeForm::fresh(audience.everyone);
    history_page(
        &state,
        &view,
        uri.path(),
        &query,
        &audience,
        &form,
        context! {},
    )
    .await
}

async fn history_page(
    state: &AppState,
    view: &OrgPage,
    path: &str,
    query: &HistoryQuery,
    audience: &Audience,
    form: &ComposeForm,
    errors: Value,
) -> UiResult {
    let status = query.status.parse::<Status>().ok();
    let paging = PageQuery {
        limit: None,
        cursor: Some(query.cursor.clone()).filter(|c| !c.is_empty()),
    };
    let found = service::list(state, &view.scope, status, &paging).await?;
    let rows: Vec<Value> = found
        .items
        .into_iter()
        .map(|n| history_row(audience, n))
        .collect();
    let filter = status.map(|s| s.as_str()).unwrap_or_default();
    let next_url = found
        .next_cursor
        .map(|c| format!("{path}?status={filter}&cursor={}", urlencode(&c)));
    let first_url = paging
        .cursor
        .is_some()
        .then(|| format!("{path}?status={filter}"));
    page(
        "notifications.html",
        view.context(
            "notifications",
            path,
            context! {
                notifications => rows,
                statuses => STATUSES,
                filter,
                next_url,
                first_url,
                audience => audience.context(),
                form,
                errors,
                open_panel => !errors.is_undefined() && errors.len().unwrap_or(0) > 0,
            },
        ),
    )
}

fn history_row(audience: &Audience, n: Notification) -> Value {
    let summary = audience.summary(n.scope, &n.targets);
    let v = NotificationView::new(n);
    context! {
        id => v.id.to_string(),
        title => v.title,
        audience => summary,
        status => v.status.as_str(),
        when => time_of(&v),
        counts => context! {
            recipients => v.counts.recipients,
            delivered => v.counts.delivered,
            opened => v.counts.opened,
            failed => v.counts.failed,
        },
    }
}

/// When it went out, or is to go out.
fn time_of(v: &NotificationView) -> String {
    match (v.status, v.sent_at, v.scheduled_at) {
        (_, Some(at), _) => format_time(at),
        (Status::Scheduled | Status::Canceled, _, Some(at)) => {
            format!("{} (scheduled)", format_time(at))
        }
        _ => format_time(v.created_at),
    }
}

/// `POST /orgs/{org}/notifications`: sends or schedules, then shows it.
pub async fn create(
    State(state): State<AppState>,
    view: OrgPage,
    uri: Uri,
    UiForm(form): UiForm<ComposeForm>,
) -> UiResult {
    view.viewer.check_csrf(&form.csrf_token)?;
    view.require(Capability::SendNotifications)?;
    let (draft, mut invalid) = form.draft();
    let key = Some(form.idempotency_key.as_str()).filter(|k| !k.is_empty());
    let refused = if invalid.is_empty() {
        match service::send(&state, &view.scope, draft, key).await {
            Ok((sent, new)) => return Ok(sent_redirect(&view, &sent, new)),
            Err(AppError::Invalid(found)) => (StatusCode::UNPROCESSABLE_ENTITY, found),
            Err(AppError::Denied(message)) => {
                (StatusCode::FORBIDDEN, Invalid::field("scope", message))
            }
            Err(other) => return Err(other.into()),
        }
    } else {
        // Everything else the form got wrong, shown at once.
        if let Err(more) = draft.check(view.scope.now) {
            invalid.0.extend(more.0);
        }
        (StatusCode::UNPROCESSABLE_ENTITY, invalid)
    };
    let (status, invalid) = refused;
    let audience = Audience::read(&state, &view).await?;
    let query = HistoryQuery::default();
    let errors = field_errors(&invalid);
    let response =
        history_page(&state, &view, uri.path(), &query, &audience, &form, errors).await?;
    Ok((status, response).into_response())
}

fn sent_redirect(view: &OrgPage, n: &Notification, new: bool) -> Response {
    let done = match (new, n.status) {
        (false, _) => "again",
        (true, Status::Scheduled) => "scheduled",
        _ => "sent",
    };
    Redirect::to(&format!(
        "/orgs/{}/notifications/{}?done={done}",
        view.org.id, n.id
    ))
    .into_response()
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct DetailQuery {
    status: String,
    cursor: String,
    /// What was just done (`sent`, `scheduled`, `again`, `canceled`) or
    /// refused (`not_scheduled`): the page words it, never the URL.
    done: String,
}

fn notice(done: &str, v: &NotificationView) -> Option<String> {
    Some(match done {
        "sent" => "The notification is being sent.".to_owned(),
        "scheduled" => match v.scheduled_at {
            Some(at) => format!("The notification is scheduled for {}.", format_time(at)),
            None => "The notification is scheduled.".to_owned(),
        },
        "again" => "This form was sent before; here is that notification.".to_owned(),
        "canceled" => "The notification was canceled. Nobody receives it.".to_owned(),
        _ => return None,
    })
}

fn refusal(done: &str, v: &NotificationView) -> Option<String> {
    (done == "not_scheduled").then(|| {
        format!(
            "This notification is {}; only a scheduled one can be canceled.",
            v.status.as_str()
        )
    })
}

const RECIPIENT_STATUSES: [&str; 4] = ["queued", "delivered", "opened", "failed"];

/// `GET /orgs/{org}/notifications/{id}`.
pub async fn detail(
    State(state): State<AppState>,
    view: OrgPage,
    uri: Uri,
    Path((_, raw)): Path<(String, String)>,
    Query(query): Query<DetailQuery>,
) -> UiResult {
    view.require(Capability::SendNotifications)?;
    let id: NotificationId = raw.parse().map_err(|_| UiError::not_found())?;
    let n = service::detail(&state, &view.scope, id).await?;
    let filter = Some(query.status.as_str()).filter(|s| RECIPIENT_STATUSES.contains(s));
    let paging = PageQuery {
        limit: None,
        cursor: Some(query.cursor.clone()).filter(|c| !c.is_empty()),
    };
    let found = service::recipients(
        &state,
        &view.scope,
        id,
        RecipientFilter::named(&query.status).unwrap_or(RecipientFilter::All),
        &paging,
    )
    .await?;
    let audience = Audience::read(&state, &view).await?;
    let summary = audience.summary(n.scope, &n.targets);
    let v = NotificationView::new(n);
    let path = uri.path();
    let filter = filter.unwrap_or_default();
    let recipients: Vec<Value> = found
        .items
        .into_iter()
        .map(|r| recipient_row(r.into()))
        .collect();
    let values = context! {
        n => notification_context(&v, summary),
        recipients,
        recipient_statuses => RECIPIENT_STATUSES,
        filter,
        next_url => found.next_cursor.map(|c| format!("{path}?status={filter}&cursor={}", urlencode(&c))),
        first_url => paging.cursor.is_some().then(|| format!("{path}?status={filter}")),
        notice => notice(&query.done, &v),
        error => refusal(&query.done, &v),
    };
    page(
        "notification_detail.html",
        view.context("notifications", path, values),
    )
}

fn notification_context(v: &NotificationView, audience: String) -> Value {
    context! {
        id => v.id.to_string(),
        title => v.title,
        body => v.body,
        link => v.link,
        data => v.data.as_ref().map(|d| d.to_string()),
        audience,
        status => v.status.as_str(),
        scheduled => v.status == Status::Scheduled,
        scheduled_at => v.scheduled_at.map(format_time),
        sent_at => v.sent_at.map(format_time),
        created_at => format_time(v.created_at),
        created_by => v.created_by.as_ref().map(|a| format!("{} <{}>", a.name, a.email)),
        counts => context! {
            recipients => v.counts.recipients,
            delivered => v.counts.delivered,
            opened => v.counts.opened,
            failed => v.counts.failed,
        },
    }
}

fn recipient_row(r: RecipientView) -> Value {
    context! {
        user_id => r.user_id.to_string(),
        name => r.name,
        email => r.email,
        status => r.status,
        delivered_at => r.delivered_at.map(format_time),
        opened_at => r.opened_at.map(format_time),
        failed_at => r.failed_at.map(format_time),
        last_error => r.last_error,
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct CancelForm {
    csrf_token: String,
}

/// `POST /orgs/{org}/notifications/{id}/cancel`.
pub async fn cancel(
    State(state): State<AppState>,
    view: OrgPage,
    Path((_, raw)): Path<(String, String)>,
    UiForm(form): UiForm<CancelForm>,
) -> UiResult {
    view.viewer.check_csrf(&form.csrf_token)?;
    view.require(Capability::SendNotifications)?;
    let id: NotificationId = raw.parse().map_err(|_| UiError::not_found())?;
    let back = format!("/orgs/{}/notifications/{id}", view.org.id);
    let to = match service::cancel(&state, &view.scope, id).await {
        Ok(_) => format!("{back}?done=canceled"),
        Err(AppError::Conflict(_)) => format!("{back}?done=not_scheduled"),
        Err(other) => return Err(other.into()),
    };
    Ok(Redirect::to(&to).into_response())
}
