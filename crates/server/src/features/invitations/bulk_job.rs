//! Bulk invites: an upload of up to 100,000 people becomes one job that invites
//! them in batches, each batch one transaction that also records progress, so a
//! restarted job resumes where it stopped and never invites anyone twice. Bad
//! rows are reported by row number and skipped.
//!
//! The upload is kept beside the job (one JSON row per line) and read a batch
//! at a time, so neither the request nor the job holds every row parsed.

use crate::error::{AppError, AppResult};
use crate::features::audit_log::service as audit;
use crate::features::invitations::service as invites;
use crate::jobs::{enqueue_for_org, JobError, JobKind};
use crate::scope::Actor;
use crate::scope::OrgScope;
use crate::state::AppState;
use muster_domain::AuditAction;
use muster_domain::{Invitee, JobId, OrgId, OrgRole, UserId};
use muster_store::{job_progress, orgs, StoreError};
use serde::{Deserialize, Serialize};
use serde_json::json;
use std::collections::HashMap;

pub const MAX_BYTES: usize = 10_000_000;
pub const MAX_ROWS: usize = 100_000;
const BATCH: usize = 500;
pub const COLUMNS: &str = "email,first_name,last_name,language,role";

/// One line of the upload, as written.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct BulkRow {
    /// The line in the file (the header is line 1), or the position in a JSON array.
    pub row: usize,
    pub email: String,
    pub first_name: String,
    pub last_name: String,
    pub language: String,
    pub role: String,
    /// Why the row cannot be taken as it was read (more fields than the
    /// header names), reported as its error.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub problem: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq, utoipa::ToSchema)]
pub struct RowError {
    pub row: usize,
    pub email: String,
    pub message: String,
}

/// The job's payload; its rows are the job's input ([`Upload`]).
#[derive(Debug, Serialize, Deserialize)]
pub struct BulkInvite {
    pub org_id: OrgId,
    pub actor_id: UserId,
    pub actor_role: OrgRole,
    pub ip: Option<String>,
}

/// The rows of an upload as the job keeps them: one JSON object per line.
#[derive(Debug, Default)]
pub struct Upload {
    lines: String,
    rows: usize,
}

impl Upload {
    /// Adds a row; refused past [`MAX_ROWS`].
    pub fn push(&mut self, row: &BulkRow) -> AppResult<()> {
        if self.rows == MAX_ROWS {
            return Err(AppError::TooLarge(format!(
                "at most {MAX_ROWS} people per upload; split the file"
            )));
        }
        let line = serde_json::to_string(row)
            .map_err(|e| AppError::Malformed(format!("a row cannot be kept: {e}")))?;
        self.lines.push_str(&line);
        self.lines.push('\n');
        self.rows += 1;
        Ok(())
    }

    pub fn len(&self) -> usize {
        self.rows
    }

    pub fn is_empty(&self) -> bool {
        self.rows == 0
    }
}

/// The rows of a kept upload, parsed one at a time.
fn rows_of(lines: &str) -> impl Iterator<Item = Result<BulkRow, JobError>> + '_ {
    lines.lines().map(|line| {
        serde_json::from_str(line)
            .map_err(|e| JobError::Permanent(format!("a kept row does not parse: {e}")))
    })
}

impl JobKind for BulkInvite {
    const KIND: &'static str = "bulk_invite";
    const MAX_ATTEMPTS: i64 = 5;
}

/// Reads a CSV upload (streaming, record by record) into an [`Upload`].
pub fn parse_csv(bytes: &[u8]) -> AppResult<Upload> {
    let mut reader = csv::ReaderBuilder::new()
        .flexible(true)
        .trim(csv::Trim::All)
        .from_reader(bytes);
    let headers = reader
        .headers()
        .map_err(|e| AppError::Malformed(format!("the CSV header cannot be read: {e}")))?
        .iter()
        .map(|h| h.trim_start_matches('\u{feff}').to_ascii_lowercase())
        .collect::<Vec<_>>();
    let column = |name: &str| headers.iter().position(|h| h == name);
    let Some(email_at) = column("email") else {
        return Err(AppError::invalid(
            "file",
            format!("the first line must name the columns: {COLUMNS}"),
        ));
    };
    // A misspelt column (`langauge`) would otherwise be dropped without a
    // word, and everyone invited in the default language.
    let unknown: Vec<&str> = headers
        .iter()
        .map(String::as_str)
        .filter(|h| !h.is_empty() && !COLUMNS.split(',').any(|known| known == *h))
        .collect();
    if !unknown.is_empty() {
        return Err(AppError::invalid(
            "file",
            format!(
                "the column{} {} {} not one Muster reads; the columns are {COLUMNS}",
                if unknown.len() == 1 { "" } else { "s" },
                unknown.join(", "),
                if unknown.len() == 1 { "is" } else { "are" },
            ),
        ));
    }
    let [first_at, last_at, language_at, role_at] =
        ["first_name", "last_name", "language", "role"].map(column);
    let mut rows = Upload::default();
    let mut record = csv::StringRecord::new();
    let mut last_line = 1;
    loop {
        match reader.read_record(&mut record) {
            Ok(false) => break,
            Ok(true) => {}
            Err(e) => {
                return Err(AppError::Malformed(format!(
                    "the CSV file is malformed: {e}"
                )))
            }
        }
        if record.iter().all(str::is_empty) {
            continue;
        }
        let field = |at: Option<usize>| {
            at.and_then(|i| record.get(i))
                .unwrap_or_default()
                .to_owned()
        };
        // The reader counts lines by `\n` only: rows ended by a lone `\r`
        // share a line number, and each row's errors are kept under its own.
        let line = record
            .position()
            .map_or(rows.len() + 2, |p| p.line() as usize)
            .max(last_line + 1);
        last_line = line;
        // A field past the header's names is likely a comma that was meant
        // to be in a name: taking the row would invite someone half-read.
        let problem = (record.len() > headers.len()).then(|| {
            format!(
                "this row has {} fields but the header names {}: quote a field that holds a comma",
                record.len(),
                headers.len()
            )
        });
        rows.push(&BulkRow {
            row: line,
            email: field(Some(email_at)),
            first_name: field(first_at),
            last_name: field(last_at),
            language: field(language_at),
            role: field(role_at),
            problem,
        })?;
    }
    if rows.is_empty() {
        return Err(AppError::invalid("file", "the file has no one to invite"));
    }
    Ok(rows)
}

/// Queues the job (refused at once when the organization has no invite
/// template, or the upload is too large).
pub async fn start(state: &AppState, member: &OrgScope, rows: Upload) -> AppResult<(JobId, usize)> {
    if rows.is_empty() {
        return Err(AppError::invalid("file", "the upload has no one to invite"));
    }
    let total = rows.len();
    let now = state.now();
    let mut tx = state.store.begin().await?;
    let org = orgs::find(&mut tx, member.org_id).await?;
    invites::template_for(&mut tx, &org, None).await?;
    let actor = member.actor(&mut tx).await?;
    let job = BulkInvite {
        org_id: member.org_id,
        actor_id: actor.user_id,
        actor_role: actor.role,
        ip: actor.ip.clone(),
    };
    let job_id = enqueue_for_org(&mut tx, &job, member.org_id, total as i64, now).await?;
    job_progress::save_input(&mut tx, job_id, &rows.lines).await?;
    audit::record_job(
        &mut tx,
        member.org_id,
        &actor,
        AuditAction::InvitationBulkStarted,
        job_id,
        json!({"rows": total}),
        now,
    )
    .await?;
    tx.commit().await.map_err(StoreError::from)?;
    Ok((job_id, total))
}

/// Runs (or resumes) a bulk invite.
pub async fn run(state: &AppState, job_id: JobId, job: BulkInvite) -> Result<(), JobError> {
    let retry = |e: &dyn std::fmt::Display| JobError::Retry(e.to_string());
    let (done, input) = {
        let mut conn = state.store.read().await.map_err(|e| retry(&e))?;
        let done = job_progress::resume_point(&mut conn, job_id)
            .await
            .map_err(|e| retry(&e))?;
        let input = job_progress::input(&mut conn, job_id)
            .await
            .map_err(|e| retry(&e))?
            .ok_or_else(|| JobError::Permanent("the upload of this job is missing".into()))?;
        (usize::try_from(done).unwrap_or(0), input)
    };
    let total = input.lines().count();
    let mut rows = rows_of(&input);
    // Duplicates inside the file count from the first row, also across a resume.
    let mut seen: HashMap<String, usize> = HashMap::new();
    for row in rows.by_ref().take(done) {
        let row = row?;
        seen.entry(row.email.trim().to_lowercase())
            .or_insert(row.row);
    }
    let mut processed = done;
    loop {
        let batch = rows
            .by_ref()
            .take(BATCH)
            .collect::<Result<Vec<BulkRow>, JobError>>()?;
        if batch.is_empty() {
            if processed - done >= REFRESH_STATISTICS_AFTER {
                refresh_statistics(state);
            }
            return Ok(());
        }
        let now = state.now();
        let mut tx = state.store.begin().await.map_err(|e| retry(&e))?;
        let org = match orgs::find(&mut tx, job.org_id).await {
            Ok(org) => org,
            Err(StoreError::NotFound) => {
                return Err(JobError::Permanent(
                    "the organization no longer exists".into(),
                ))
            }
            Err(e) => return Err(retry(&e)),
        };
        let actor = Actor::load(&mut tx, job.actor_id, job.actor_role, job.ip.clone())
            .await
            .map_err(|e| retry(&e))?;
        let mut errors: Vec<job_progress::RowError> = Vec::new();
        let skip = |row: &BulkRow, message: String| job_progress::RowError {
            row: i64::try_from(row.row).unwrap_or(i64::MAX),
            email: row.email.clone(),
            message,
        };
        // The rows that pass the checks here, and who they invite, in order.
        let mut accepted: Vec<&BulkRow> = Vec::with_capacity(batch.len());
        let mut invitees: Vec<Invitee> = Vec::with_capacity(batch.len());
        for row in &batch {
            if let Some(problem) = &row.problem {
                errors.push(skip(row, problem.clone()));
                continue;
            }
            let invitee = match Invitee::parse(
                &row.email,
                &row.first_name,
                &row.last_name,
                &row.language,
                &row.role,
            ) {
                Ok(invitee) => invitee,
                Err(invalid) => {
                    let message = invalid
                        .0
                        .iter()
                        .map(|e| format!("{}: {}", e.field, e.message))
                        .collect::<Vec<_>>()
                        .join("; ");
                    errors.push(skip(row, message));
                    continue;
                }
            };
            if let Some(first) = seen.get(invitee.email.as_str()) {
                errors.push(skip(
                    row,
                    format!("this email is already on row {first} of the file"),
                ));
                continue;
            }
            seen.insert(invitee.email.as_str().to_owned(), row.row);
            accepted.push(row);
            invitees.push(invitee);
        }
        let outcomes = crate::features::invitations::bulk::invite_many(
            &mut tx, state, &org, &actor, &invitees, job_id,
        )
        .await
        .map_err(|e| retry(&e))?;
        for (row, outcome) in accepted.into_iter().zip(outcomes) {
            match outcome {
                Ok(()) => {}
                Err(AppError::Conflict(message) | AppError::Denied(message)) => {
                    errors.push(skip(row, message))
                }
                Err(other) => return Err(retry(&other)),
            }
        }
        processed += batch.len();
        job_progress::add_row_errors(&mut tx, job_id, &errors)
            .await
            .map_err(|e| retry(&e))?;
        if processed == total {
            // With the last batch, so that a resumed job never writes it twice.
            summarize(&mut tx, &org, &actor, job_id, total, now)
                .await
                .map_err(|e| retry(&e))?;
        }
        job_progress::set_progress(
            &mut tx,
            job_id,
            processed as i64,
            now + crate::jobs::worker::lease(state),
            now,
        )
        .await
        .map_err(|e| retry(&e))?;
        tx.commit().await.map_err(|e| retry(&e))?;
    }
}

/// The audit log's one event for the whole import: how many rows, invited
/// and skipped; the invitations it made name the same job (`?job=`).
async fn summarize(
    conn: &mut muster_store::Conn,
    org: &orgs::Org,
    actor: &Actor,
    job_id: JobId,
    total: usize,
    now: time::OffsetDateTime,
) -> AppResult<()> {
    let skipped = job_progress::row_error_count(conn, job_id).await?;
    let total = i64::try_from(total).unwrap_or(i64::MAX);
    audit::record_job(
        conn,
        org.id,
        actor,
        AuditAction::InvitationBulkFinished,
        job_id,
        json!({"rows": total, "invited": total - skipped, "skipped": skipped}),
        now,
    )
    .await?;
    Ok(())
}

/// An import of at least this many rows refreshes the planner's statistics.
const REFRESH_STATISTICS_AFTER: usize = 1_000;

/// Refreshes the planner's statistics beside the next jobs (at most once at a
/// time): until then PostgreSQL plans the member list for the table it knew.
fn refresh_statistics(state: &AppState) {
    static RUNNING: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);
    if RUNNING.swap(true, std::sync::atomic::Ordering::SeqCst) {
        return;
    }
    let store = state.store.clone();
    tokio::spawn(async move {
        if let Err(error) = store.refresh_statistics().await {
            tracing::warn!(%error, "could not refresh the planner's statistics after a bulk invite");
        }
        RUNNING.store(false, std::sync::atomic::Ordering::SeqCst);
    });
}
