//! What a long job (a bulk import) keeps beside its row in the job table: its
//! input, its progress for the organization that watches it, and the rows it
//! skipped.

use crate::error::parse_stored;
use crate::jobs::JobStatus;
use crate::time_ms::{from_ms, to_ms};
use crate::{Conn, Result, StoreError};
use muster_domain::JobId;
use time::OffsetDateTime;

/// A long job as the organization that started it sees it.
#[derive(Debug, Clone)]
pub struct Progress {
    pub id: JobId,
    pub kind: String,
    pub status: JobStatus,
    pub total: i64,
    pub done: i64,
    pub last_error: Option<String>,
    pub created_at: OffsetDateTime,
    pub updated_at: OffsetDateTime,
}

/// The job if it belongs to `org_id`.
pub async fn progress(
    conn: &mut Conn,
    org_id: muster_domain::OrgId,
    id: JobId,
) -> Result<Option<Progress>> {
    type Row = (String, String, String, i64, i64, Option<String>, i64, i64);
    let row: Option<Row> = sqlx::query_as(
        "SELECT id, kind, status, progress_total, progress_done, last_error, created_at, updated_at \
         FROM jobs WHERE id = $1 AND org_id = $2",
    )
    .bind(id.to_string())
    .bind(org_id.to_string())
    .fetch_optional(&mut *conn)
    .await?;
    row.map(
        |(id, kind, status, total, done, last_error, created, updated)| {
            Ok(Progress {
                id: parse_stored("jobs.id", &id)?,
                kind,
                status: status
                    .parse()
                    .map_err(|_| StoreError::Corrupt(format!("jobs.status = {status:?}")))?,
                total,
                done,
                last_error,
                created_at: from_ms(created),
                updated_at: from_ms(updated),
            })
        },
    )
    .transpose()
}

/// Records progress in the transaction that did the work, and keeps the claim.
pub async fn set_progress(
    conn: &mut Conn,
    id: JobId,
    done: i64,
    locked_until: OffsetDateTime,
    now: OffsetDateTime,
) -> Result<()> {
    sqlx::query(
        "UPDATE jobs SET progress_done = $2, locked_until = $3, updated_at = $4 WHERE id = $1",
    )
    .bind(id.to_string())
    .bind(done)
    .bind(to_ms(locked_until))
    .bind(to_ms(now))
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// How many units a resumed job has done already.
pub async fn resume_point(conn: &mut Conn, id: JobId) -> Result<i64> {
    let (done,): (i64,) = sqlx::query_as("SELECT progress_done FROM jobs WHERE id = $1")
        .bind(id.to_string())
        .fetch_optional(&mut *conn)
        .await?
        .ok_or(StoreError::NotFound)?;
    Ok(done)
}

/// Keeps a job's input (a bulk upload) beside it, in the transaction that
/// queues the job.
pub async fn save_input(conn: &mut Conn, id: JobId, body: &str) -> Result<()> {
    sqlx::query("INSERT INTO job_inputs (job_id, body) VALUES ($1, $2)")
        .bind(id.to_string())
        .bind(body)
        .execute(&mut *conn)
        .await?;
    Ok(())
}

/// A job's input, if it has one.
pub async fn input(conn: &mut Conn, id: JobId) -> Result<Option<String>> {
    let row: Option<(String,)> = sqlx::query_as("SELECT body FROM job_inputs WHERE job_id = $1")
        .bind(id.to_string())
        .fetch_optional(&mut *conn)
        .await?;
    Ok(row.map(|(body,)| body))
}

/// Drops the inputs of jobs that have ended: a finished bulk upload is not
/// needed again, and would otherwise keep its megabytes for good.
pub async fn delete_finished_inputs(conn: &mut Conn) -> Result<u64> {
    let done = sqlx::query(
        "DELETE FROM job_inputs WHERE job_id IN \
         (SELECT id FROM jobs WHERE status IN ('succeeded', 'failed'))",
    )
    .execute(&mut *conn)
    .await?;
    Ok(done.rows_affected())
}

/// A row of a job's input that was skipped, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RowError {
    pub row: i64,
    pub email: String,
    pub message: String,
}

/// Records skipped rows, in the transaction of the batch that skipped them.
pub async fn add_row_errors(conn: &mut Conn, id: JobId, errors: &[RowError]) -> Result<()> {
    use crate::batch::Cell;
    let cells = errors
        .iter()
        .map(|e| {
            vec![
                Cell::Text(id.to_string()),
                Cell::Int(e.row),
                Cell::Text(e.email.clone()),
                Cell::Text(e.message.clone()),
            ]
        })
        .collect();
    crate::batch::insert(
        conn,
        "job_row_errors",
        &["job_id", "source_row", "email", "message"],
        cells,
    )
    .await
}

/// How many rows the job skipped so far.
pub async fn row_error_count(conn: &mut Conn, id: JobId) -> Result<i64> {
    Ok(
        sqlx::query_scalar("SELECT COUNT(*) FROM job_row_errors WHERE job_id = $1")
            .bind(id.to_string())
            .fetch_one(&mut *conn)
            .await?,
    )
}

/// The skipped rows of a job, in input order.
pub async fn row_errors(conn: &mut Conn, id: JobId) -> Result<Vec<RowError>> {
    let rows: Vec<(i64, String, String)> = sqlx::query_as(
        "SELECT source_row, email, message FROM job_row_errors WHERE job_id = $1 ORDER BY source_row",
    )
    .bind(id.to_string())
    .fetch_all(&mut *conn)
    .await?;
    Ok(rows
        .into_iter()
        .map(|(row, email, message)| RowError {
            row,
            email,
            message,
        })
        .collect())
}
