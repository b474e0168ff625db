//! Where a long job of the organization (a bulk invite) stands: status,
//! progress and the rows it skipped.

use crate::error::{AppError, AppResult};
use crate::features::invitations::bulk_job::RowError;
use crate::scope::OrgScope;
use crate::state::AppState;
use muster_domain::permission::Capability;
use muster_domain::JobId;
use muster_store::job_progress::{self, Progress};
use muster_store::jobs::JobStatus;
use serde::Serialize;
use utoipa::ToSchema;

#[derive(Debug, Serialize, ToSchema)]
pub struct JobView {
    pub id: JobId,
    pub kind: String,
    /// queued, running, succeeded or failed.
    pub status: String,
    pub total: i64,
    pub processed: i64,
    /// Rows that were skipped, with the reason.
    pub errors: Vec<RowError>,
    /// Why the last attempt failed, if it did.
    pub last_error: Option<String>,
}

impl JobView {
    fn new(p: Progress, errors: Vec<job_progress::RowError>) -> Self {
        JobView {
            id: p.id,
            kind: p.kind,
            status: p.status.as_str().to_owned(),
            total: p.total,
            processed: p.done,
            errors: errors
                .into_iter()
                .map(|e| RowError {
                    row: usize::try_from(e.row).unwrap_or_default(),
                    email: e.email,
                    message: e.message,
                })
                .collect(),
            last_error: if p.status == JobStatus::Succeeded {
                None
            } else {
                p.last_error
            },
        }
    }
}

/// The job `id` of the member's organization; any other is 404.
pub async fn load(state: &AppState, member: &OrgScope, id: &str) -> AppResult<JobView> {
    member.require(Capability::ManageInvitations)?;
    let id: JobId = id.parse().map_err(|_| AppError::NotFound)?;
    let mut conn = state.store.read().await?;
    let progress = job_progress::progress(&mut conn, member.org_id, id)
        .await?
        .ok_or(AppError::NotFound)?;
    let errors = job_progress::row_errors(&mut conn, id).await?;
    Ok(JobView::new(progress, errors))
}
