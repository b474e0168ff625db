//! Deleting an organization in bounded steps: first it is marked (no
//! membership of it counts from then on, see `memberships::admission`), then
//! its rows go table by table, a batch per statement and transaction, and
//! the organization's own row last. Every step can run again: a batch that
//! finds nothing left moves on to the next table.

use crate::dialect::Dialect;
use crate::time_ms::to_ms;
use crate::{Conn, Result};
use muster_domain::OrgId;
use time::OffsetDateTime;

/// The tables that hold an organization's rows, in the order they are
/// emptied, with the rows per batch. Children go before the rows whose
/// deletion would cascade to them, so that no statement deletes more than
/// its batch and what hangs on it: items (and their push deliveries) before
/// notifications (and their few targets); assignments (and group members)
/// before solutions (and their groups and versions); memberships remove
/// their search entries by trigger. A feature that adds a table with an
/// `org_id` adds it here (`tests/api/org_deletion.rs` fails until it does).
pub const TABLES: &[(&str, i64)] = &[
    ("inbox_items", 1000),
    ("notifications", 100),
    ("solution_assignments", 1000),
    ("solutions", 100),
    ("invitations", 1000),
    ("memberships", 1000),
    ("invite_templates", 1000),
    ("log_entries", 2000),
    ("log_level_overrides", 1000),
    ("usage_events", 2000),
    ("usage_daily", 2000),
    ("usage_custom_daily", 2000),
    ("usage_late_days", 2000),
    ("audit_events", 2000),
];

/// Marks the organization as being deleted; false if it is gone or marked
/// already (another request got there first).
pub async fn mark(conn: &mut Conn, org_id: OrgId, now: OffsetDateTime) -> Result<bool> {
    let done = sqlx::query(
        "UPDATE organizations SET deleting_at = $2 WHERE id = $1 AND deleting_at IS NULL",
    )
    .bind(org_id.to_string())
    .bind(to_ms(now))
    .execute(&mut *conn)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Whether the organization's row is still there (marked or not).
pub async fn exists(conn: &mut Conn, org_id: OrgId) -> Result<bool> {
    let row: Option<(String,)> = sqlx::query_as("SELECT id FROM organizations WHERE id = $1")
        .bind(org_id.to_string())
        .fetch_optional(&mut *conn)
        .await?;
    Ok(row.is_some())
}

/// Deletes up to `limit` of the organization's rows in `table` (one of
/// [`TABLES`]); returns how many went.
pub async fn delete_batch(conn: &mut Conn, table: &str, org_id: OrgId, limit: i64) -> Result<u64> {
    debug_assert!(TABLES.iter().any(|(t, _)| *t == table));
    let row = Dialect::of(conn).row_address();
    let sql = format!(
        "DELETE FROM {table} WHERE {row} IN (SELECT {row} FROM {table} WHERE org_id = $1 LIMIT $2)"
    );
    let done = sqlx::query(&sql)
        .bind(org_id.to_string())
        .bind(limit)
        .execute(&mut *conn)
        .await?;
    Ok(done.rows_affected())
}

/// Clears the organization as the default of up to `limit` people; returns
/// how many.
pub async fn clear_defaults(conn: &mut Conn, org_id: OrgId, limit: i64) -> Result<u64> {
    let done = sqlx::query(
        "UPDATE users SET default_org_id = NULL WHERE id IN \
         (SELECT id FROM users WHERE default_org_id = $1 LIMIT $2)",
    )
    .bind(org_id.to_string())
    .bind(limit)
    .execute(&mut *conn)
    .await?;
    Ok(done.rows_affected())
}

/// Deletes up to `limit` of the organization's jobs that are not running
/// (a bulk import's, with its input and row errors); returns how many.
pub async fn delete_jobs(conn: &mut Conn, org_id: OrgId, limit: i64) -> Result<u64> {
    let done = sqlx::query(
        "DELETE FROM jobs WHERE id IN (SELECT id FROM jobs WHERE org_id = $1 \
         AND status <> 'running' LIMIT $2)",
    )
    .bind(org_id.to_string())
    .bind(limit)
    .execute(&mut *conn)
    .await?;
    Ok(done.rows_affected())
}

/// Deletes the organization's row, once its tables are empty (what is left
/// cascades with it).
pub async fn delete_row(conn: &mut Conn, org_id: OrgId) -> Result<bool> {
    let done = sqlx::query("DELETE FROM organizations WHERE id = $1 AND deleting_at IS NOT NULL")
        .bind(org_id.to_string())
        .execute(&mut *conn)
        .await?;
    Ok(done.rows_affected() == 1)
}

/// How many rows the organization still has in each of [`TABLES`] (for
/// tests and the job's log line).
pub async fn remaining(conn: &mut Conn, org_id: OrgId) -> Result<Vec<(&'static str, i64)>> {
    let mut counts = Vec::with_capacity(TABLES.len());
    for (table, _) in TABLES {
        let (count,): (i64,) =
            sqlx::query_as(&format!("SELECT COUNT(*) FROM {table} WHERE org_id = $1"))
                .bind(org_id.to_string())
                .fetch_one(&mut *conn)
                .await?;
        counts.push((*table, count));
    }
    Ok(counts)
}
