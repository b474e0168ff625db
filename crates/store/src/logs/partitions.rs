//! PostgreSQL's partitions of `log_entries`, one per day of `time`: made
//! ahead and on demand, dropped past every retention, their statistics kept
//! fresh.

use crate::dialect::Dialect;
use crate::time_ms::to_ms;
use crate::{Conn, Result};
use time::OffsetDateTime;

/// The day (days since the Unix epoch, UTC) of a time: the partition it goes to.
pub fn day_of(at: OffsetDateTime) -> i64 {
    to_ms(at).div_euclid(86_400_000)
}

fn partition_name(day: i64) -> String {
    format!("log_entries_d{day}")
}

/// PostgreSQL: makes sure the partitions of `days` exist. Instances may do this
/// at once: a transaction-scoped advisory lock lets one create each day (and
/// goes with the transaction, however it ends), the others find it made. A day
/// is made as a table of its own and then attached, which locks the parent
/// only against other schema changes, so reads and inserts go on meanwhile.
pub async fn ensure_partitions(conn: &mut Conn, days: &[i64]) -> Result<()> {
    use sqlx::Connection;
    if Dialect::of(conn) != Dialect::Postgres || days.is_empty() {
        return Ok(());
    }
    let mut tx = conn.begin().await?;
    // 0x6c6f6773 = "logs": one lock for every partition change.
    sqlx::query("SELECT pg_advisory_xact_lock(1819240307)")
        .execute(&mut *tx)
        .await?;
    sqlx::query("SET LOCAL lock_timeout = '10s'")
        .execute(&mut *tx)
        .await?;
    for &day in days {
        let name = partition_name(day);
        let (attached,): (i64,) = sqlx::query_as(
            "SELECT COUNT(*) FROM pg_inherits \
             WHERE inhparent = 'log_entries'::regclass AND inhrelid = to_regclass($1)",
        )
        .bind(&name)
        .fetch_one(&mut *tx)
        .await?;
        if attached > 0 {
            continue;
        }
        sqlx::query(&format!(
            "CREATE TABLE IF NOT EXISTS {name} (LIKE log_entries INCLUDING DEFAULTS INCLUDING CONSTRAINTS)"
        ))
        .execute(&mut *tx)
        .await?;
        sqlx::query(&format!(
            "ALTER TABLE log_entries ATTACH PARTITION {name} FOR VALUES FROM ({}) TO ({})",
            day * 86_400_000,
            (day + 1) * 86_400_000
        ))
        .execute(&mut *tx)
        .await?;
    }
    tx.commit().await?;
    Ok(())
}

/// PostgreSQL: drops the partitions of days wholly before `before`; returns
/// the days dropped. Each is detached concurrently first (reads and inserts
/// of other days go on), then dropped on its own.
pub async fn drop_partitions_before(conn: &mut Conn, before: OffsetDateTime) -> Result<Vec<i64>> {
    if Dialect::of(conn) != Dialect::Postgres {
        return Ok(Vec::new());
    }
    let parts: Vec<(String, bool)> = sqlx::query_as(
        "SELECT c.relname::text, i.inhdetachpending FROM pg_inherits i \
         JOIN pg_class c ON c.oid = i.inhrelid WHERE i.inhparent = 'log_entries'::regclass",
    )
    .fetch_all(&mut *conn)
    .await?;
    let last = day_of(before);
    let mut dropped = Vec::new();
    for (name, pending) in parts {
        let Some(day) = name
            .strip_prefix("log_entries_d")
            .and_then(|d| d.parse::<i64>().ok())
        else {
            continue;
        };
        // The partition of `day` ends at the start of `day + 1`.
        if day >= last {
            continue;
        }
        // A detach cut short (a crash) is finished instead of begun again.
        let detach = if pending { "FINALIZE" } else { "CONCURRENTLY" };
        sqlx::query(&format!(
            "ALTER TABLE log_entries DETACH PARTITION {name} {detach}"
        ))
        .execute(&mut *conn)
        .await?;
        sqlx::query(&format!("DROP TABLE IF EXISTS {name}"))
            .execute(&mut *conn)
            .await?;
        dropped.push(day);
    }
    Ok(dropped)
}

/// PostgreSQL: makes the planner's statistics of a day's partition anew.
pub async fn refresh_statistics(conn: &mut Conn, day: i64) -> Result<()> {
    sqlx::query(&format!("ANALYZE {}", partition_name(day)))
        .execute(&mut *conn)
        .await?;
    Ok(())
}

/// Whether a write failed because its day has no partition (dropped by
/// another instance after this one remembered it).
pub fn is_missing_partition(error: &crate::StoreError) -> bool {
    error.to_string().contains("no partition of relation")
}
