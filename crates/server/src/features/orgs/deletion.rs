//! Deleting an organization: its owner types its name to confirm; in one
//! transaction it is marked (from then on it is in no list and none of its
//! data can be reached), the job that deletes its data is queued, the actor's
//! other organizations record it and its owners and admins are told by mail.
//! The job then deletes its rows table by table in bounded batches, and the
//! organization's own row last. People keep their accounts and their other
//! organizations. No HTTP here.

use crate::error::{AppError, AppResult};
use crate::features::audit_log::service as audit;
use crate::features::invitations::service::format_time;
use crate::jobs::{enqueue, JobError, JobKind};
use crate::mail::job::queue;
use crate::mail::{greeting, Mail};
use crate::scope::OrgScope;
use crate::state::AppState;
use muster_domain::{AuditAction, Capability, JobId, OrgId};
use muster_store::{memberships, org_deletion, orgs, StoreError};
use serde::{Deserialize, Serialize};
use serde_json::json;
use time::OffsetDateTime;

#[derive(Debug, Serialize, Deserialize)]
pub struct DeleteOrganization {
    pub org_id: OrgId,
}

impl JobKind for DeleteOrganization {
    const KIND: &'static str = "organization.delete";
    /// Each attempt picks up where the last stopped.
    const MAX_ATTEMPTS: i64 = 20;
    /// Nobody waits for it: the organization is gone for everyone already.
    const BACKGROUND: bool = true;
}

/// People whose default organization is cleared per statement.
const DEFAULTS_BATCH: i64 = 1000;
/// Jobs of the organization deleted per statement (each with its input).
const JOBS_BATCH: i64 = 20;
/// Owners and admins told by mail, at most.
const TOLD_AT_MOST: i64 = 50;

/// A deletion under way.
#[derive(Debug, Clone, Copy)]
pub struct Started {
    pub job_id: JobId,
    pub since: OffsetDateTime,
}

/// Starts deleting the organization of `scope` (owners only) once `confirm`
/// is its name.
pub async fn start(state: &AppState, scope: &OrgScope, confirm: &str) -> AppResult<Started> {
    scope.require(Capability::DeleteOrganization)?;
    let now = state.now();
    let mut tx = state.store.begin().await?;
    let org = orgs::find(&mut tx, scope.org_id).await?;
    if confirm.trim() != org.name {
        return Err(AppError::invalid(
            "confirm",
            format!("type the organization's name, {}, to confirm", org.name),
        ));
    }
    let actor = scope.actor(&mut tx).await?;
    let told = memberships::contacts(&mut tx, org.id, TOLD_AT_MOST).await?;
    if !org_deletion::mark(&mut tx, org.id, now).await? {
        return Err(AppError::NotFound);
    }
    let job_id = enqueue(&mut tx, &DeleteOrganization { org_id: org.id }, now).await?;
    // The organization's own log goes with it; the actor's other
    // organizations keep the record.
    audit::record_everywhere(
        &mut tx,
        actor.user_id,
        AuditAction::OrganizationDeleted,
        &org.name,
        json!({"organization": org.name, "organization_id": org.id, "job": job_id}),
        actor.ip.clone(),
        now,
    )
    .await?;
    for (name, email) in told {
        let notice = deleted_mail(&org.name, &name, &email, &actor.name, now);
        queue(&mut tx, &state.key, &notice, now).await?;
    }
    tx.commit().await.map_err(StoreError::from)?;
    tracing::info!(org = %org.id, job = %job_id, actor = %actor.user_id, "organization deletion started");
    Ok(Started { job_id, since: now })
}

/// The job: every table in batches, then the organization's row. Safe to run
/// again after any batch.
pub async fn run(state: &AppState, job: DeleteOrganization) -> Result<(), JobError> {
    let org_id = job.org_id;
    {
        let mut conn = state.store.read().await?;
        if !org_deletion::exists(&mut conn, org_id).await? {
            return Ok(());
        }
    }
    let mut deleted: u64 = 0;
    deleted += repeat(state, DEFAULTS_BATCH, |conn| {
        Box::pin(org_deletion::clear_defaults(conn, org_id, DEFAULTS_BATCH))
    })
    .await?;
    for &(table, batch) in org_deletion::TABLES {
        deleted += repeat(state, batch, |conn| {
            Box::pin(org_deletion::delete_batch(conn, table, org_id, batch))
        })
        .await?;
    }
    deleted += repeat(state, JOBS_BATCH, |conn| {
        Box::pin(org_deletion::delete_jobs(conn, org_id, JOBS_BATCH))
    })
    .await?;
    let mut conn = state.store.write().await?;
    org_deletion::delete_row(&mut conn, org_id).await?;
    tracing::info!(org = %org_id, rows = deleted, "organization deleted");
    Ok(())
}

type Step<'c> =
    std::pin::Pin<Box<dyn std::future::Future<Output = muster_store::Result<u64>> + Send + 'c>>;

/// Runs `step` (one statement of at most `batch` rows, on a write connection
/// of its own so other writers get their turn between batches) until it
/// finds fewer than `batch` rows; returns how many it touched.
async fn repeat<F>(state: &AppState, batch: i64, step: F) -> Result<u64, JobError>
where
    F: for<'c> Fn(&'c mut muster_store::Conn) -> Step<'c>,
{
    let full = u64::try_from(batch).unwrap_or(u64::MAX);
    let mut total = 0;
    loop {
        let done = {
            let mut conn = state.store.write().await?;
            step(&mut conn).await?
        };
        total += done;
        if done < full {
            return Ok(total);
        }
        tokio::task::yield_now().await;
    }
}

fn deleted_mail(org: &str, name: &str, email: &str, actor: &str, now: OffsetDateTime) -> Mail {
    let greeting = greeting(name);
    Mail {
        to: email.to_owned(),
        subject: format!("The organization {org} was deleted from Muster")
            .replace(['\r', '\n'], " "),
        text: format!(
            "{greeting}\n\n{actor} deleted the organization {org} on {}. Its members, \
             invitations, solutions, notifications, logs and usage figures are being \
             removed; nobody can reach them any more. Everyone keeps their Muster \
             account and their other organizations.\n",
            format_time(now)
        ),
        html: None,
    }
}
