//! The job table: background work written in the same transaction as the change
//! that caused it, claimed by one worker at a time, retried with backoff.

use crate::dialect::Dialect;
use crate::error::parse_stored;
use crate::time_ms::{from_ms, to_ms};
use crate::{Conn, Result, Store, StoreError};
use muster_domain::JobId;
use time::{Duration, OffsetDateTime};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JobStatus {
    Queued,
    Running,
    Succeeded,
    Failed,
}

impl JobStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            JobStatus::Queued => "queued",
            JobStatus::Running => "running",
            JobStatus::Succeeded => "succeeded",
            JobStatus::Failed => "failed",
        }
    }
}

impl std::str::FromStr for JobStatus {
    type Err = ();
    fn from_str(s: &str) -> Result<Self, ()> {
        Ok(match s {
            "queued" => JobStatus::Queued,
            "running" => JobStatus::Running,
            "succeeded" => JobStatus::Succeeded,
            "failed" => JobStatus::Failed,
            _ => return Err(()),
        })
    }
}

/// A job handed to a worker.
#[derive(Debug, Clone)]
pub struct ClaimedJob {
    pub id: JobId,
    pub kind: String,
    pub payload: String,
    /// Including this one.
    pub attempts: i64,
    pub max_attempts: i64,
}

/// A job as shown to people.
#[derive(Debug, Clone)]
pub struct Job {
    pub id: JobId,
    pub kind: String,
    pub status: JobStatus,
    pub attempts: i64,
    pub max_attempts: i64,
    pub run_at: OffsetDateTime,
    pub last_error: Option<String>,
    pub created_at: OffsetDateTime,
    pub updated_at: OffsetDateTime,
}

pub struct NewJob<'a> {
    pub kind: &'a str,
    pub payload: &'a str,
    pub run_at: OffsetDateTime,
    pub max_attempts: i64,
    /// The organization that may watch the job's progress, if any.
    pub org_id: Option<muster_domain::OrgId>,
    /// Units of work, for progress (0 when not counted).
    pub total: i64,
}

/// Queues a job; it runs only if the surrounding transaction commits.
pub async fn enqueue(conn: &mut Conn, job: NewJob<'_>, now: OffsetDateTime) -> Result<JobId> {
    let id = JobId::new();
    sqlx::query(
        "INSERT INTO jobs (id, kind, payload, status, attempts, max_attempts, run_at, created_at, updated_at, \
         org_id, progress_total) VALUES ($1, $2, $3, 'queued', 0, $4, $5, $6, $6, $7, $8)",
    )
    .bind(id.to_string())
    .bind(job.kind)
    .bind(job.payload)
    .bind(job.max_attempts)
    .bind(to_ms(job.run_at))
    .bind(to_ms(now))
    .bind(job.org_id.map(|id| id.to_string()))
    .bind(job.total)
    .execute(&mut *conn)
    .await?;
    notify(conn, job.kind).await?;
    Ok(id)
}

/// The channel on which PostgreSQL announces newly queued jobs (the payload is
/// their kind), at the commit of the transaction that queued them.
pub const NOTIFY_CHANNEL: &str = "muster_jobs";

async fn notify(conn: &mut Conn, kind: &str) -> Result<()> {
    if Dialect::of(conn).has_notify() {
        sqlx::query("SELECT pg_notify($1, $2)")
            .bind(NOTIFY_CHANNEL)
            .bind(kind)
            .execute(&mut *conn)
            .await?;
    }
    Ok(())
}

impl Store {
    /// Claims the next due job for `lease`: queued jobs whose time has come, and
    /// running jobs whose worker died (lease over) with attempts left.
    pub async fn claim_job(
        &self,
        instance: &str,
        now: OffsetDateTime,
        lease: Duration,
    ) -> Result<Option<ClaimedJob>> {
        let lock = self.backend().skip_locked();
        let due = "((status = 'queued' AND run_at <= $2) \
                    OR (status = 'running' AND locked_until <= $2 AND attempts < max_attempts))";
        let sql = format!(
            "UPDATE jobs SET status = 'running', attempts = attempts + 1, locked_until = $1, updated_at = $2, \
             claimed_by = $3 \
             WHERE id = (SELECT id FROM jobs WHERE {due} ORDER BY run_at, id LIMIT 1 {lock}) AND {due} \
             RETURNING id, kind, payload, attempts, max_attempts"
        );
        let mut conn = self.write().await?;
        let row: Option<(String, String, String, i64, i64)> = sqlx::query_as(&sql)
            .bind(to_ms(now + lease))
            .bind(to_ms(now))
            .bind(instance)
            .fetch_optional(&mut *conn)
            .await?;
        row.map(|(id, kind, payload, attempts, max_attempts)| {
            Ok(ClaimedJob {
                id: parse_stored("jobs.id", &id)?,
                kind,
                payload,
                attempts,
                max_attempts,
            })
        })
        .transpose()
    }

    /// Claims up to `limit` due jobs of `kind` for `lease` in two statements:
    /// first running ones whose worker died (lease over) with attempts left,
    /// then queued ones whose time has come, oldest first. Concurrent claimers
    /// (here or in other instances) never get the same job.
    pub async fn claim_jobs(
        &self,
        instance: &str,
        kind: &str,
        limit: usize,
        now: OffsetDateTime,
        lease: Duration,
    ) -> Result<Vec<ClaimedJob>> {
        let lock = self.backend().skip_locked();
        let abandoned =
            "kind = $1 AND status = 'running' AND locked_until <= $2 AND attempts < max_attempts \
                         ORDER BY locked_until, id";
        let queued = "kind = $1 AND status = 'queued' AND run_at <= $2 ORDER BY run_at, id";
        // One transaction: the picked rows stay locked (PostgreSQL) or the
        // database does (SQLite's one writer) until they are marked running.
        let mut tx = self.begin().await?;
        let mut ids: Vec<String> = Vec::new();
        for due in [abandoned, queued] {
            let left = limit.saturating_sub(ids.len());
            if left == 0 {
                break;
            }
            let sql = format!("SELECT id FROM jobs WHERE {due} LIMIT $3 {lock}");
            let picked: Vec<(String,)> = sqlx::query_as(&sql)
                .bind(kind)
                .bind(to_ms(now))
                .bind(i64::try_from(left).unwrap_or(i64::MAX))
                .fetch_all(&mut *tx)
                .await?;
            ids.extend(picked.into_iter().map(|(id,)| id));
        }
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let sql = format!(
            "UPDATE jobs SET status = 'running', attempts = attempts + 1, locked_until = $1, updated_at = $2, \
             claimed_by = $3 WHERE id IN ({}) RETURNING id, kind, payload, attempts, max_attempts",
            crate::batch::placeholders(4, ids.len())
        );
        let mut query = sqlx::query_as(&sql)
            .bind(to_ms(now + lease))
            .bind(to_ms(now))
            .bind(instance);
        for id in &ids {
            query = query.bind(id.as_str());
        }
        let rows: Vec<(String, String, String, i64, i64)> = query.fetch_all(&mut *tx).await?;
        tx.commit().await?;
        rows.into_iter()
            .map(|(id, kind, payload, attempts, max_attempts)| {
                Ok(ClaimedJob {
                    id: parse_stored("jobs.id", &id)?,
                    kind,
                    payload,
                    attempts,
                    max_attempts,
                })
            })
            .collect()
    }

    /// At the start of `instance`: the jobs it had claimed when it stopped (it
    /// was killed, or its host restarted) are due again now, instead of after
    /// their lease. Returns how many.
    pub async fn take_back_claims(&self, instance: &str, now: OffsetDateTime) -> Result<u64> {
        let mut conn = self.write().await?;
        let done = sqlx::query(
            "UPDATE jobs SET locked_until = $2, updated_at = $2 \
             WHERE status = 'running' AND claimed_by = $1 AND locked_until > $2",
        )
        .bind(instance)
        .bind(to_ms(now))
        .execute(&mut *conn)
        .await?;
        Ok(done.rows_affected())
    }

    /// Jobs whose worker died on their last attempt are failed, not retried forever.
    pub async fn fail_abandoned_jobs(&self, now: OffsetDateTime) -> Result<u64> {
        let mut conn = self.write().await?;
        let done = sqlx::query(
            "UPDATE jobs SET status = 'failed', locked_until = NULL, updated_at = $1, \
             last_error = COALESCE(last_error, 'the worker stopped during the last attempt') \
             WHERE status = 'running' AND locked_until <= $1 AND attempts >= max_attempts",
        )
        .bind(to_ms(now))
        .execute(&mut *conn)
        .await?;
        Ok(done.rows_affected())
    }
}

/// The outcome writes below change a job only while it is still the claim that
/// ran it (`running`, with the attempt number it was claimed with): if its lease
/// ran out and another worker claimed it again, the late word of the first run
/// changes nothing.
pub async fn succeed(conn: &mut Conn, id: JobId, attempt: i64, now: OffsetDateTime) -> Result<()> {
    succeed_many(conn, &[(id, attempt)], now).await
}

/// Marks many jobs done, `(id, attempt)` each, in one statement per attempt
/// number and few hundred jobs (a busy lane finishes jobs faster than one
/// commit each would allow). A done job's payload is emptied (it may have held
/// a sealed secret, or a whole uploaded file) and an earlier attempt's error
/// no longer shown.
pub async fn succeed_many(
    conn: &mut Conn,
    done: &[(JobId, i64)],
    now: OffsetDateTime,
) -> Result<()> {
    let mut attempts: Vec<i64> = done.iter().map(|(_, attempt)| *attempt).collect();
    attempts.sort_unstable();
    attempts.dedup();
    for attempt in attempts {
        let ids: Vec<JobId> = done
            .iter()
            .filter(|(_, a)| *a == attempt)
            .map(|(id, _)| *id)
            .collect();
        for chunk in ids.chunks(500) {
            let sql = format!(
                "UPDATE jobs SET status = 'succeeded', run_at = $1, locked_until = NULL, updated_at = $1, \
                 payload = '{{}}', last_error = NULL \
                 WHERE status = 'running' AND attempts = $2 AND id IN ({})",
                crate::batch::placeholders(3, chunk.len())
            );
            let mut query = sqlx::query(&sql).bind(to_ms(now)).bind(attempt);
            for id in chunk {
                query = query.bind(id.to_string());
            }
            query.execute(&mut *conn).await?;
        }
    }
    Ok(())
}

/// Puts the job back in the queue for `run_at`, keeping the error for people to see.
pub async fn retry_at(
    conn: &mut Conn,
    id: JobId,
    attempt: i64,
    error: &str,
    run_at: OffsetDateTime,
    now: OffsetDateTime,
) -> Result<()> {
    finish(
        conn,
        id,
        attempt,
        JobStatus::Queued,
        Some(error),
        run_at,
        now,
    )
    .await
}

pub async fn fail(
    conn: &mut Conn,
    id: JobId,
    attempt: i64,
    error: &str,
    now: OffsetDateTime,
) -> Result<()> {
    finish(conn, id, attempt, JobStatus::Failed, Some(error), now, now).await
}

async fn finish(
    conn: &mut Conn,
    id: JobId,
    attempt: i64,
    status: JobStatus,
    error: Option<&str>,
    run_at: OffsetDateTime,
    now: OffsetDateTime,
) -> Result<()> {
    sqlx::query(
        "UPDATE jobs SET status = $2, last_error = COALESCE($3, last_error), run_at = $4, locked_until = NULL, \
         updated_at = $5 WHERE id = $1 AND status = 'running' AND attempts = $6",
    )
    .bind(id.to_string())
    .bind(status.as_str())
    .bind(error)
    .bind(to_ms(run_at))
    .bind(to_ms(now))
    .bind(attempt)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

pub async fn find(conn: &mut Conn, id: JobId) -> Result<Job> {
    let row: (String, String, String, i64, i64, i64, Option<String>, i64, i64) = sqlx::query_as(
        "SELECT id, kind, status, attempts, max_attempts, run_at, last_error, created_at, updated_at \
         FROM jobs WHERE id = $1",
    )
    .bind(id.to_string())
    .fetch_optional(&mut *conn)
    .await?
    .ok_or(StoreError::NotFound)?;
    let (id, kind, status, attempts, max_attempts, run_at, last_error, created, updated) = row;
    Ok(Job {
        id: parse_stored("jobs.id", &id)?,
        kind,
        status: parse_stored::<JobStatus>("jobs.status", &status)
            .map_err(|_| StoreError::Corrupt(format!("jobs.status = {status:?}")))?,
        attempts,
        max_attempts,
        run_at: from_ms(run_at),
        last_error,
        created_at: from_ms(created),
        updated_at: from_ms(updated),
    })
}

/// How many jobs are in each state; for the readiness page and tests.
pub async fn count_by_status(conn: &mut Conn, status: JobStatus) -> Result<i64> {
    let (count,): (i64,) = sqlx::query_as("SELECT COUNT(*) FROM jobs WHERE status = $1")
        .bind(status.as_str())
        .fetch_one(&mut *conn)
        .await?;
    Ok(count)
}

/// Queues many jobs at once (e.g. the invite mails of a bulk batch); returns
/// their ids in order. They run only if the surrounding transaction commits.
pub async fn enqueue_many(
    conn: &mut Conn,
    jobs: &[NewJob<'_>],
    now: OffsetDateTime,
) -> Result<Vec<JobId>> {
    use crate::batch::Cell;
    let ids: Vec<JobId> = jobs.iter().map(|_| JobId::new()).collect();
    let at = to_ms(now);
    let cells = jobs
        .iter()
        .zip(&ids)
        .map(|(job, id)| {
            vec![
                Cell::Text(id.to_string()),
                Cell::Text(job.kind.to_owned()),
                Cell::Text(job.payload.to_owned()),
                Cell::Text("queued".into()),
                Cell::Int(0),
                Cell::Int(job.max_attempts),
                Cell::Int(to_ms(job.run_at)),
                Cell::Int(at),
                Cell::Int(at),
                Cell::MaybeText(job.org_id.map(|id| id.to_string())),
                Cell::Int(job.total),
            ]
        })
        .collect();
    crate::batch::insert(
        conn,
        "jobs",
        &[
            "id",
            "kind",
            "payload",
            "status",
            "attempts",
            "max_attempts",
            "run_at",
            "created_at",
            "updated_at",
            "org_id",
            "progress_total",
        ],
        cells,
    )
    .await?;
    let mut kinds: Vec<&str> = jobs.iter().map(|job| job.kind).collect();
    kinds.sort_unstable();
    kinds.dedup();
    for kind in kinds {
        notify(conn, kind).await?;
    }
    Ok(ids)
}

/// A connection that hears of newly queued jobs on PostgreSQL: each
/// notification's payload is a job kind. It reconnects by itself when the
/// connection drops.
pub async fn listen(url: &str) -> Result<sqlx::postgres::PgListener> {
    listen_on(url, &[NOTIFY_CHANNEL]).await
}

/// `NOTIFY channel, payload` in the caller's transaction (heard at commit by
/// every instance); false where the database has no such thing (SQLite).
pub async fn notify_channel(conn: &mut Conn, channel: &str, payload: &str) -> Result<bool> {
    if !Dialect::of(conn).has_notify() {
        return Ok(false);
    }
    sqlx::query("SELECT pg_notify($1, $2)")
        .bind(channel)
        .bind(payload)
        .execute(&mut *conn)
        .await?;
    Ok(true)
}

/// A connection that hears `NOTIFY` on `channels` (PostgreSQL only).
pub async fn listen_on(url: &str, channels: &[&str]) -> Result<sqlx::postgres::PgListener> {
    let mut listener = sqlx::postgres::PgListener::connect(url).await?;
    listener.listen_all(channels.iter().copied()).await?;
    Ok(listener)
}

/// Forgets the jobs of `kind` that succeeded before `before` (a recurring job
/// would otherwise leave a row behind every time it runs).
pub async fn forget_succeeded(conn: &mut Conn, kind: &str, before: OffsetDateTime) -> Result<u64> {
    let done = sqlx::query(
        "DELETE FROM jobs WHERE kind = $1 AND status = 'succeeded' AND updated_at < $2",
    )
    .bind(kind)
    .bind(to_ms(before))
    .execute(&mut *conn)
    .await?;
    Ok(done.rows_affected())
}

/// Whether a job of `kind` is queued or running (so a recurring chore queues
/// it once).
pub async fn has_pending(conn: &mut Conn, kind: &str) -> Result<bool> {
    let row: Option<(String,)> = sqlx::query_as(
        "SELECT id FROM jobs WHERE kind = $1 AND status IN ('queued', 'running') LIMIT 1",
    )
    .bind(kind)
    .fetch_optional(&mut *conn)
    .await?;
    Ok(row.is_some())
}
