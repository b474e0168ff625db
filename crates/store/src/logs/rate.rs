//! Log entries sent per credential and minute, for the ingest's rate limit.

use crate::time_ms::to_ms;
use crate::{Conn, Result};
use time::{Duration, OffsetDateTime};

/// Counts `entries` more for `key` in the minute of `now` and returns the
/// minute's total so far (this call included). The caller refuses the call
/// when it is over the limit and rolls back, so a refused call counts nothing.
pub async fn count_sent(
    conn: &mut Conn,
    key: &str,
    entries: i64,
    now: OffsetDateTime,
) -> Result<i64> {
    let window = to_ms(now).div_euclid(60_000) * 60_000;
    let (total,): (i64,) = sqlx::query_as(
        "INSERT INTO log_rate (key, window_start, entries) VALUES ($1, $2, $3) \
         ON CONFLICT (key) DO UPDATE SET \
           entries = CASE WHEN log_rate.window_start < $2 THEN $3 ELSE log_rate.entries + $3 END, \
           window_start = CASE WHEN log_rate.window_start < $2 THEN $2 ELSE log_rate.window_start END \
         RETURNING entries",
    )
    .bind(key)
    .bind(window)
    .bind(entries)
    .fetch_one(&mut *conn)
    .await?;
    Ok(total)
}

/// Seconds from `now` until the rate window of `now` ends.
pub fn rate_window_left(now: OffsetDateTime) -> u64 {
    let ms = to_ms(now).rem_euclid(60_000);
    u64::try_from((60_000 - ms + 999) / 1000).unwrap_or(60)
}

pub async fn delete_old_rates(conn: &mut Conn, now: OffsetDateTime) -> Result<u64> {
    let done = sqlx::query("DELETE FROM log_rate WHERE window_start < $1")
        .bind(to_ms(now - Duration::minutes(2)))
        .execute(&mut *conn)
        .await?;
    Ok(done.rows_affected())
}
