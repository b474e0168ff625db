//! Who acts in an organization, and recording what they did in the audit log
//! (always inside the transaction of the change).

use crate::error::AppResult;
use crate::page::Page;
use crate::scope::{Actor, OrgScope};
use crate::state::AppState;
use muster_domain::permission::Capability;
use muster_domain::AuditId;
use muster_domain::{AuditAction, JobId, OrgId, UserId};
use muster_store::audit::{Event, EventFilter};
use muster_store::{audit, Conn};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;
use utoipa::{IntoParams, ToSchema};

/// What `actor` did (`action` on `target`) in `org_id`, before its before
/// and after are filled in.
pub fn event_by<'a>(
    actor: &'a Actor,
    org_id: OrgId,
    action: AuditAction,
    target: &'a str,
) -> audit::NewEvent<'a> {
    audit::NewEvent {
        org_id,
        actor_id: Some(actor.user_id),
        actor_email: &actor.email,
        action: action.as_str(),
        target,
        before: None,
        after: None,
        ip: actor.ip.clone(),
        job_id: None,
    }
}

#[allow(clippy::too_many_arguments)]
pub async fn record(
    conn: &mut Conn,
    org_id: OrgId,
    actor: &Actor,
    action: AuditAction,
    target: &str,
    before: Option<Value>,
    after: Option<Value>,
    now: OffsetDateTime,
) -> AppResult<()> {
    let event = audit::NewEvent {
        before,
        after,
        ..event_by(actor, org_id, action, target)
    };
    audit::record(conn, event, now).await?;
    Ok(())
}

/// An event about a job as a whole (a bulk invite started, finished), with
/// the job as its target and its `job_id`, beside the events the job wrote.
pub async fn record_job(
    conn: &mut Conn,
    org_id: OrgId,
    actor: &Actor,
    action: AuditAction,
    job_id: JobId,
    after: Value,
    now: OffsetDateTime,
) -> AppResult<()> {
    let target = job_id.to_string();
    let event = audit::NewEvent {
        after: Some(after),
        job_id: Some(job_id),
        ..event_by(actor, org_id, action, &target)
    };
    audit::record(conn, event, now).await?;
    Ok(())
}

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
    /// The job that wrote the event (each invitation of a bulk invite, and
    /// its summary); `?job=` lists them.
    pub job_id: Option<JobId>,
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
            job_id: e.job_id,
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
    /// Only the events a job wrote (a bulk invite's summary and invitations).
    pub job: Option<String>,
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
        let job = self
            .job
            .as_deref()
            .map(str::trim)
            .filter(|v| !v.is_empty())
            .and_then(|v| invalid.check("job", v.parse::<JobId>().map_err(|_| "not a job id")));
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
            job,
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

/// A page of the audit log, newest first.
pub async fn list(
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

/// A change to something a person holds for every organization they are in
/// (a token, a device): written to the audit log of each, with their role
/// there.
pub async fn record_everywhere(
    conn: &mut Conn,
    user_id: muster_domain::UserId,
    action: AuditAction,
    target: &str,
    after: Value,
    ip: Option<String>,
    now: OffsetDateTime,
) -> AppResult<()> {
    let (owner, memberships) =
        muster_store::memberships::user_with_summaries(conn, user_id).await?;
    let Some(first) = memberships.first() else {
        return Ok(());
    };
    // Only the role differs between organizations.
    let mut actor = Actor::of(&owner, first.role, ip);
    for membership in &memberships {
        actor.role = membership.role;
        let after = Some(after.clone());
        record(
            conn,
            membership.org_id,
            &actor,
            action,
            target,
            None,
            after,
            now,
        )
        .await?;
    }
    Ok(())
}
