//! `GET /api/v1/orgs/{org}/audit`: who did what, newest first.

use crate::error::AppResult;
use crate::http::extract::AppQuery;
use crate::http::problem::Problem;
use crate::page::Page;
use crate::scope::OrgScope;
use crate::state::AppState;
use axum::extract::State;
use axum::Json;
use muster_domain::permission::Capability;
use muster_domain::{AuditId, OrgId, UserId};
use muster_store::audit::{self, Event, EventFilter};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;
use utoipa::{IntoParams, ToSchema};

#[derive(Debug, Serialize, ToSchema)]
pub struct AuditView {
    pub id: AuditId,
    #[serde(with = "time::serde::rfc3339")]
    pub at: OffsetDateTime,
    pub actor_id: Option<UserId>,
    /// The actor's email.
    pub actor: String,
    pub action: String,
    pub target: String,
    pub before: Option<Value>,
    pub after: Option<Value>,
    pub ip: Option<String>,
}

impl From<Event> for AuditView {
    fn from(e: Event) -> Self {
        AuditView {
            id: e.id,
            at: e.at,
            actor_id: e.actor_id,
            actor: e.actor_email,
            action: e.action,
            target: e.target,
            before: e.before,
            after: e.after,
            ip: e.ip,
        }
    }
}

#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct AuditQuery {
    /// The actor's email.
    pub actor: Option<String>,
    /// An action (`member.role_changed`) or a prefix ending in a dot (`member.`).
    pub action: Option<String>,
    /// RFC 3339 time, inclusive.
    pub from: Option<String>,
    /// RFC 3339 time, exclusive.
    pub to: Option<String>,
    pub limit: Option<i64>,
    pub cursor: Option<String>,
}

impl AuditQuery {
    pub fn filter(&self) -> AppResult<EventFilter> {
        let mut invalid = muster_domain::Invalid::default();
        let time = |invalid: &mut muster_domain::Invalid, field: &str, raw: &Option<String>| {
            raw.as_deref()
                .filter(|v| !v.trim().is_empty())
                .and_then(|v| invalid.check(field, parse_time(v)))
        };
        let from = time(&mut invalid, "from", &self.from);
        let to = time(&mut invalid, "to", &self.to);
        invalid.into_result()?;
        let text = |v: &Option<String>| {
            v.as_deref()
                .map(str::trim)
                .filter(|v| !v.is_empty())
                .map(str::to_owned)
        };
        Ok(EventFilter {
            actor: text(&self.actor),
            action: text(&self.action),
            from,
            to,
        })
    }
}

/// RFC 3339, or a plain date (midnight UTC).
pub fn parse_time(raw: &str) -> Result<OffsetDateTime, String> {
    let raw = raw.trim();
    if let Ok(at) = OffsetDateTime::parse(raw, &Rfc3339) {
        return Ok(at);
    }
    let format = time::macros::format_description!("[year]-[month]-[day]");
    time::Date::parse(raw, &format)
        .map(|date| date.midnight().assume_utc())
        .map_err(|_| "a time like 2026-11-25T14:00:00Z or a date like 2026-11-25".to_owned())
}

pub async fn load(
    state: &AppState,
    member: &OrgScope,
    query: &AuditQuery,
) -> AppResult<Page<AuditView>> {
    member.require(Capability::ViewAuditLog)?;
    let filter = query.filter()?;
    let page = crate::page::PageQuery {
        limit: query.limit,
        cursor: query.cursor.clone(),
    };
    let limit = page.limit()?;
    let before = page.after()?;
    let mut conn = state.store.read().await?;
    let events = audit::list(
        &mut conn,
        member.org_id,
        &filter,
        before.as_deref(),
        limit + 1,
    )
    .await?;
    let views: Vec<AuditView> = events.into_iter().map(AuditView::from).collect();
    Ok(Page::from_rows(views, limit, |e: &AuditView| {
        e.id.to_string()
    }))
}

/// The audit log (owners and admins).
#[utoipa::path(get, path = "/orgs/{org}/audit", tag = "audit",
    params(("org" = OrgId, Path, description = "Organization id"), AuditQuery),
    responses((status = 200, body = Page<AuditView>), (status = 400, body = Problem), (status = 401, body = Problem),
              (status = 403, body = Problem), (status = 404, body = Problem), (status = 422, body = Problem)))]
pub async fn list_audit(
    State(state): State<AppState>,
    member: OrgScope,
    AppQuery(query): AppQuery<AuditQuery>,
) -> AppResult<Json<Page<AuditView>>> {
    Ok(Json(load(&state, &member, &query).await?))
}
