//! Sending push notifications: who may send to whom, the notification and its
//! fan-out job written in one transaction, cancelling, and the history.

use super::fanout::SendNotification;
use crate::error::{AppError, AppResult};
use crate::features::audit_log::service as audit;
use crate::jobs;
use crate::page::{Page, PageQuery};
use crate::scope::OrgScope;
use crate::state::AppState;
use muster_domain::notification::{self, Checked, Draft, Scope, Status};
use muster_domain::permission::{Capability, Grant};
use muster_domain::solution;
use muster_domain::{AuditAction, Invalid, NotificationId, SolutionId};
use muster_store::notifications::{self, NewNotification, Notification};
use muster_store::recipients::{self, Recipient, RecipientFilter};
use muster_store::{assignments, groups, memberships, solutions, users, Conn, StoreError};
use serde_json::json;
use time::format_description::well_known::Rfc3339;

/// The longest `Idempotency-Key` kept.
pub const IDEMPOTENCY_KEY_MAX: usize = 200;

/// Sends (or schedules) a notification. With an idempotency key the caller
/// used before, the notification of that first call comes back instead
/// (`false`: nothing new was sent).
pub async fn send(
    state: &AppState,
    scope: &OrgScope,
    draft: Draft,
    idempotency_key: Option<&str>,
) -> AppResult<(Notification, bool)> {
    let grant = scope.require(Capability::SendNotifications)?;
    if let Some(key) = idempotency_key {
        if key.is_empty() || key.len() > IDEMPOTENCY_KEY_MAX {
            return Err(AppError::invalid(
                "Idempotency-Key",
                format!("1 to {IDEMPOTENCY_KEY_MAX} characters"),
            ));
        }
        if let Some(first) = earlier(state, scope, key).await? {
            return Ok((first, false));
        }
    }
    let checked = draft.check(scope.now)?;
    let mut tx = state.store.begin().await?;
    let targets = resolve_targets(&mut tx, scope, &checked).await?;
    if grant != Grant::All {
        check_creator_reach(&mut tx, scope, &checked).await?;
    }
    let status = match checked.scheduled_at {
        Some(_) => Status::Scheduled,
        None => Status::Sending,
    };
    let new = NewNotification {
        org_id: scope.org_id,
        title: &checked.title,
        body: &checked.body,
        link: checked.link.as_deref(),
        data: checked.data.as_deref(),
        scope: checked.scope,
        status,
        scheduled_at: checked.scheduled_at,
        created_by: scope.user_id(),
        idempotency_key,
        targets: &targets,
    };
    let id = match notifications::insert(&mut tx, new, scope.now).await {
        Err(StoreError::Conflict(_)) if idempotency_key.is_some() => {
            // A retry that raced the first call: that one's answer stands.
            drop(tx);
            let key = idempotency_key.unwrap_or_default();
            let first = earlier(state, scope, key)
                .await?
                .ok_or(AppError::NotFound)?;
            return Ok((first, false));
        }
        other => other?,
    };
    let job = SendNotification {
        notification_id: id,
    };
    let run_at = checked.scheduled_at.unwrap_or(scope.now);
    jobs::enqueue_at(&mut tx, &job, run_at, scope.now).await?;
    let action = match status {
        Status::Scheduled => AuditAction::NotificationScheduled,
        _ => AuditAction::NotificationSent,
    };
    record(&mut tx, scope, action, id, &checked).await?;
    let created = notifications::find(&mut tx, scope.org_id, id)
        .await?
        .ok_or(AppError::NotFound)?;
    tx.commit().await.map_err(StoreError::from)?;
    Ok((created, true))
}

async fn earlier(state: &AppState, scope: &OrgScope, key: &str) -> AppResult<Option<Notification>> {
    let mut conn = state.store.read().await?;
    Ok(
        notifications::find_by_idempotency_key(&mut conn, scope.org_id, scope.user_id(), key)
            .await?,
    )
}

async fn record(
    conn: &mut Conn,
    scope: &OrgScope,
    action: AuditAction,
    id: NotificationId,
    checked: &Checked,
) -> AppResult<()> {
    let actor = scope.actor(conn).await?;
    let after = json!({
        "title": checked.title,
        "scope": checked.scope.as_str(),
        "solution_ids": checked.solution_ids,
        "group_ids": checked.group_ids,
        "emails": checked.emails.iter().map(|e| e.as_str()).collect::<Vec<_>>(),
        "scheduled_at": checked.scheduled_at.and_then(|at| at.format(&Rfc3339).ok()),
    });
    let target = format!("notification \"{}\" ({id})", checked.title);
    audit::record(
        conn,
        scope.org_id,
        &actor,
        action,
        &target,
        None,
        Some(after),
        scope.now,
    )
    .await
}

/// The ids the scope names, each checked to exist in this organization; the
/// unknown ones are listed in one 422.
async fn resolve_targets(
    conn: &mut Conn,
    scope: &OrgScope,
    checked: &Checked,
) -> AppResult<Vec<String>> {
    let mut invalid = Invalid::default();
    if let Some(Err(message)) = checked
        .link
        .as_deref()
        .and_then(notification::linked_solution)
    {
        invalid.push("link", message);
    } else if let Some(Ok(id)) = checked
        .link
        .as_deref()
        .and_then(notification::linked_solution)
    {
        if solutions::find(conn, scope.org_id, id, scope.user_id())
            .await?
            .is_none()
        {
            invalid.push("link", format!("no solution {id} in this organization"));
        }
    }
    let mut targets = Vec::new();
    let mut unknown = Vec::new();
    match checked.scope {
        Scope::Org => {}
        Scope::Solutions => {
            for id in &checked.solution_ids {
                match solutions::find(conn, scope.org_id, *id, scope.user_id()).await? {
                    Some(_) => targets.push(id.to_string()),
                    None => unknown.push(id.to_string()),
                }
            }
        }
        Scope::Groups => {
            for id in &checked.group_ids {
                match groups::find_in_org(conn, scope.org_id, *id).await? {
                    Some(_) => targets.push(id.to_string()),
                    None => unknown.push(id.to_string()),
                }
            }
        }
        Scope::Users => {
            let emails: Vec<String> = checked.emails.iter().map(|e| e.to_string()).collect();
            let found = users::find_many_by_email(conn, &emails).await?;
            let ids: Vec<_> = found.iter().map(|u| u.id).collect();
            let members: Vec<_> = memberships::statuses(conn, scope.org_id, &ids)
                .await?
                .into_iter()
                .map(|(id, _)| id)
                .collect();
            for email in &checked.emails {
                let user = found.iter().find(|u| u.email == email.as_str());
                match user.filter(|u| members.contains(&u.id)) {
                    Some(user) => targets.push(user.id.to_string()),
                    None => unknown.push(email.to_string()),
                }
            }
        }
    }
    if !unknown.is_empty() {
        let (field, what) = match checked.scope {
            Scope::Solutions => ("solution_ids", "no such solutions here"),
            Scope::Groups => ("group_ids", "no such groups here"),
            _ => ("emails", "not members of this organization"),
        };
        invalid.push(field, format!("{what}: {}", unknown.join(", ")));
    }
    invalid.into_result()?;
    Ok(targets)
}

/// A creator sends only to solutions (or their groups) where their solution
/// role is owner or admin (SPEC §2).
async fn check_creator_reach(
    conn: &mut Conn,
    scope: &OrgScope,
    checked: &Checked,
) -> AppResult<()> {
    let solutions: Vec<SolutionId> = match checked.scope {
        Scope::Solutions => checked.solution_ids.clone(),
        Scope::Groups => {
            let mut ids = Vec::new();
            for group in &checked.group_ids {
                if let Some(found) = groups::find_in_org(conn, scope.org_id, *group).await? {
                    ids.push(found.solution_id);
                }
            }
            ids
        }
        Scope::Org | Scope::Users => return Err(AppError::Denied(
            "your role sends only to solutions and groups of solutions you are owner or admin of"
                .into(),
        )),
    };
    for id in solutions {
        let role = assignments::find(conn, id, scope.user_id()).await?;
        if !solution::rights(scope.role, role).notify {
            return Err(AppError::Denied(format!(
                "you are not owner or admin of solution {id}, so you cannot notify its users"
            )));
        }
    }
    Ok(())
}

/// Cancels a scheduled notification; once it is being sent it is too late (409).
pub async fn cancel(
    state: &AppState,
    scope: &OrgScope,
    id: NotificationId,
) -> AppResult<Notification> {
    let mut tx = state.store.begin().await?;
    let found = visible(&mut tx, scope, id).await?;
    if !notifications::transition(&mut tx, id, Status::Scheduled, Status::Canceled, scope.now)
        .await?
    {
        return Err(AppError::Conflict(format!(
            "this notification is {}; only a scheduled one can be canceled",
            found.status.as_str()
        )));
    }
    let actor = scope.actor(&mut tx).await?;
    let target = format!("notification \"{}\" ({id})", found.title);
    let before = json!({ "status": "scheduled" });
    let after = json!({ "status": "canceled" });
    let action = AuditAction::NotificationCanceled;
    audit::record(
        &mut tx,
        scope.org_id,
        &actor,
        action,
        &target,
        Some(before),
        Some(after),
        scope.now,
    )
    .await?;
    let canceled = notifications::find(&mut tx, scope.org_id, id)
        .await?
        .ok_or(AppError::NotFound)?;
    tx.commit().await.map_err(StoreError::from)?;
    Ok(canceled)
}

/// A notification the member may see: any in the organization for owners and
/// admins, their own for creators.
async fn visible(conn: &mut Conn, scope: &OrgScope, id: NotificationId) -> AppResult<Notification> {
    let grant = scope.require(Capability::SendNotifications)?;
    let found = notifications::find(conn, scope.org_id, id)
        .await?
        .ok_or(AppError::NotFound)?;
    if grant != Grant::All && found.created_by != Some(scope.user_id()) {
        return Err(AppError::NotFound);
    }
    Ok(found)
}

pub async fn detail(
    state: &AppState,
    scope: &OrgScope,
    id: NotificationId,
) -> AppResult<Notification> {
    let mut conn = state.store.read().await?;
    visible(&mut conn, scope, id).await
}

/// The history, newest first; creators see the ones they sent.
pub async fn list(
    state: &AppState,
    scope: &OrgScope,
    status: Option<Status>,
    page: &PageQuery,
) -> AppResult<Page<Notification>> {
    let grant = scope.require(Capability::SendNotifications)?;
    let limit = page.limit()?;
    let before = page.after()?;
    let mut conn = state.store.read().await?;
    let author = (grant != Grant::All).then(|| scope.user_id());
    let filter = notifications::ListFilter { status, author };
    let rows =
        notifications::list_page(&mut conn, scope.org_id, filter, before.as_deref(), limit).await?;
    Ok(Page::from_rows(rows, limit, |n| n.id.to_string()))
}

/// Who received it, in the order they were written, with what became of it.
pub async fn recipients(
    state: &AppState,
    scope: &OrgScope,
    id: NotificationId,
    filter: RecipientFilter,
    page: &PageQuery,
) -> AppResult<Page<Recipient>> {
    let limit = page.limit()?;
    let after = page.after()?;
    let mut conn = state.store.read().await?;
    visible(&mut conn, scope, id).await?;
    let rows = recipients::page(&mut conn, id, filter, after.as_deref(), limit).await?;
    Ok(Page::from_rows(rows, limit, |r| r.item_id.to_string()))
}
