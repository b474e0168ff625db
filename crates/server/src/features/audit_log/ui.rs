//! The audit log page, with the filters of the API.

use crate::error::AppError;
use crate::features::audit_log::service::{self as audit_log, AuditQuery, AuditView};
use crate::http::ui::error::{page, urlencode, UiError, UiResult};
use crate::http::ui::layout::OrgPage;
use crate::state::AppState;
use axum::extract::{Query, State};
use axum::http::Uri;
use minijinja::{context, Value};
use muster_domain::permission::Capability;
use muster_domain::Invalid;
use serde::{Deserialize, Serialize};

#[derive(Debug, Default, Deserialize, Serialize)]
#[serde(default)]
pub struct AuditFilters {
    actor: String,
    action: String,
    from: String,
    to: String,
    job: String,
    cursor: String,
}

pub async fn show(
    State(state): State<AppState>,
    view: OrgPage,
    uri: Uri,
    Query(filters): Query<AuditFilters>,
) -> UiResult {
    view.require(Capability::ViewAuditLog)?;
    let member = view.scope.clone();
    let query = audit_query(&filters);
    let (events, next, error) = match audit_log::list(&state, &member, &query).await {
        Ok(page) => (page.items, page.next_cursor, None),
        Err(AppError::Invalid(invalid)) => (Vec::new(), None, Some(invalid_message(&invalid))),
        Err(AppError::Malformed(message)) => (Vec::new(), None, Some(message)),
        Err(other) => return Err(UiError::from(other)),
    };
    let next_url = next.map(|cursor| next_page_url(uri.path(), &filters, &cursor));
    let org_id = view.org.id;
    let rows: Vec<_> = events.iter().map(|e| row(org_id, e)).collect();
    page(
        "audit.html",
        view.context(
            "audit",
            uri.path(),
            context! { rows, filters, next_url, error },
        ),
    )
}

/// The service's query for the page's filters; blank filters are left out.
fn audit_query(filters: &AuditFilters) -> AuditQuery {
    let text = |v: &str| Some(v.to_owned()).filter(|v| !v.trim().is_empty());
    AuditQuery {
        actor: text(&filters.actor),
        action: text(&filters.action),
        from: text(&filters.from),
        to: text(&filters.to),
        job: text(&filters.job),
        limit: Some(50),
        cursor: text(&filters.cursor),
    }
}

/// The filters' problems in one line, shown above the table.
fn invalid_message(invalid: &Invalid) -> String {
    invalid
        .0
        .iter()
        .map(|e| format!("{}: {}", e.field, e.message))
        .collect::<Vec<_>>()
        .join("; ")
}

/// The link to the next page: the same filters with the next cursor.
fn next_page_url(path: &str, filters: &AuditFilters, cursor: &str) -> String {
    let mut parts: Vec<String> = [
        ("actor", &filters.actor),
        ("action", &filters.action),
        ("from", &filters.from),
        ("to", &filters.to),
        ("job", &filters.job),
    ]
    .iter()
    .filter(|(_, v)| !v.is_empty())
    .map(|(k, v)| format!("{k}={}", urlencode(v)))
    .collect();
    parts.push(format!("cursor={}", urlencode(cursor)));
    format!("{}?{}", path, parts.join("&"))
}

/// One row of the table; a job's event links to everything the job wrote.
fn row(org_id: muster_domain::OrgId, e: &AuditView) -> Value {
    let job_url = e
        .job_id
        .as_ref()
        .filter(|job| e.target == job.to_string())
        .map(|job| format!("/orgs/{org_id}/audit?job={job}"));
    context! {
        job_url,
        at => crate::features::invitations::service::format_time(e.at),
        actor => e.actor,
        action => e.action,
        target => e.target,
        before => e.before.as_ref().map(|v| v.to_string()),
        after => e.after.as_ref().map(|v| v.to_string()),
        ip => e.ip,
    }
}
