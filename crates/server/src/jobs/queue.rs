//! Typed jobs over the job table: queued in the caller's transaction.

use muster_domain::JobId;
use muster_store::{jobs, Conn, StoreError};
use serde::{de::DeserializeOwned, Serialize};
use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};
use time::OffsetDateTime;
use tokio::sync::Notify;

/// A kind of background work and its payload.
pub trait JobKind: Serialize + DeserializeOwned {
    const KIND: &'static str;
    const MAX_ATTEMPTS: i64 = 8;
    /// How many jobs of this kind one worker runs at once.
    const CONCURRENCY: usize = 1;
    /// Work nobody watches (mail): it waits while this worker runs work
    /// somebody does (a bulk import), so that one gets the machine.
    const BACKGROUND: bool = false;
}

/// In-process wake-ups, one per kind: queuing a job rings its kind's, and that
/// kind's lane claims at once instead of at its next poll. They are hints (a
/// spurious one costs a claim that finds nothing; a missed one, the wait until
/// the next poll), so one table serves the whole process. On SQLite the lane's
/// claim waits for the one write connection, so it runs after the commit of the
/// transaction that queued the job; on PostgreSQL the database's own
/// notification at commit (see `Worker`) wakes every instance.
pub fn waker(kind: &str) -> Arc<Notify> {
    static WAKERS: OnceLock<Mutex<HashMap<String, Arc<Notify>>>> = OnceLock::new();
    let wakers = WAKERS.get_or_init(Default::default);
    let mut wakers = wakers
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    wakers.entry(kind.to_owned()).or_default().clone()
}

pub fn wake(kind: &str) {
    waker(kind).notify_waiters();
}

/// Queues `job` in the caller's transaction: it runs only if that commits.
pub async fn enqueue<J: JobKind>(
    conn: &mut Conn,
    job: &J,
    now: OffsetDateTime,
) -> Result<JobId, StoreError> {
    insert(conn, job, None, 0, now, now).await
}

/// Like [`enqueue`], due at `run_at` (a scheduled job, or a retry planned by
/// the job itself).
pub async fn enqueue_at<J: JobKind>(
    conn: &mut Conn,
    job: &J,
    run_at: OffsetDateTime,
    now: OffsetDateTime,
) -> Result<JobId, StoreError> {
    insert(conn, job, None, 0, run_at, now).await
}

/// Like [`enqueue`], with progress (of `total` units) visible to `org_id`.
pub async fn enqueue_for_org<J: JobKind>(
    conn: &mut Conn,
    job: &J,
    org_id: muster_domain::OrgId,
    total: i64,
    now: OffsetDateTime,
) -> Result<JobId, StoreError> {
    insert(conn, job, Some(org_id), total, now, now).await
}

async fn insert<J: JobKind>(
    conn: &mut Conn,
    job: &J,
    org_id: Option<muster_domain::OrgId>,
    total: i64,
    run_at: OffsetDateTime,
    now: OffsetDateTime,
) -> Result<JobId, StoreError> {
    let payload = serde_json::to_string(job).map_err(|e| StoreError::Corrupt(e.to_string()))?;
    let new = jobs::NewJob {
        kind: J::KIND,
        payload: &payload,
        run_at,
        max_attempts: J::MAX_ATTEMPTS,
        org_id,
        total,
    };
    let id = jobs::enqueue(conn, new, now).await?;
    wake(J::KIND);
    Ok(id)
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
    let ids = jobs::enqueue_many(conn, &new, now).await?;
    wake(J::KIND);
    Ok(ids)
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

impl From<StoreError> for JobError {
    /// A database that failed is worth another try.
    fn from(error: StoreError) -> Self {
        JobError::Retry(error.to_string())
    }
}
