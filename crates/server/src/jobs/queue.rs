//! Typed jobs over the job table: queued in the caller's transaction.

use muster_domain::JobId;
use muster_store::{jobs, Conn, StoreError};
use serde::{de::DeserializeOwned, Serialize};
use time::OffsetDateTime;

/// A kind of background work and its payload.
pub trait JobKind: Serialize + DeserializeOwned {
    const KIND: &'static str;
    const MAX_ATTEMPTS: i64 = 8;
}

/// Queues `job` in the caller's transaction: it runs only if that commits.
pub async fn enqueue<J: JobKind>(
    conn: &mut Conn,
    job: &J,
    now: OffsetDateTime,
) -> Result<JobId, StoreError> {
    insert(conn, job, None, 0, now).await
}

/// Like [`enqueue`], with progress (of `total` units) visible to `org_id`.
pub async fn enqueue_for_org<J: JobKind>(
    conn: &mut Conn,
    job: &J,
    org_id: muster_domain::OrgId,
    total: i64,
    now: OffsetDateTime,
) -> Result<JobId, StoreError> {
    insert(conn, job, Some(org_id), total, now).await
}

async fn insert<J: JobKind>(
    conn: &mut Conn,
    job: &J,
    org_id: Option<muster_domain::OrgId>,
    total: i64,
    now: OffsetDateTime,
) -> Result<JobId, StoreError> {
    let payload = serde_json::to_string(job).map_err(|e| StoreError::Corrupt(e.to_string()))?;
    let new = jobs::NewJob {
        kind: J::KIND,
        payload: &payload,
        run_at: now,
        max_attempts: J::MAX_ATTEMPTS,
        org_id,
        total,
    };
    jobs::enqueue(conn, new, now).await
}

/// Queues many jobs of one kind in one statement (per few thousand); returns
/// their ids in order.
pub async fn enqueue_all<J: JobKind>(
    conn: &mut Conn,
    jobs: &[J],
    now: OffsetDateTime,
) -> Result<Vec<JobId>, StoreError> {
    let payloads = jobs
        .iter()
        .map(serde_json::to_string)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| StoreError::Corrupt(e.to_string()))?;
    let new: Vec<jobs::NewJob<'_>> = payloads
        .iter()
        .map(|payload| jobs::NewJob {
            kind: J::KIND,
            payload,
            run_at: now,
            max_attempts: J::MAX_ATTEMPTS,
            org_id: None,
            total: 0,
        })
        .collect();
    jobs::enqueue_many(conn, &new, now).await
}

/// How a job attempt ended badly.
#[derive(Debug, thiserror::Error)]
pub enum JobError {
    /// Worth another try later (a mail server down, a full disk).
    #[error("{0}")]
    Retry(String),
    /// Will never work (a payload that does not parse).
    #[error("{0}")]
    Permanent(String),
}
