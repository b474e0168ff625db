//! Failure counters for sign-in throttling, per account and per client address,
//! in the database so that all instances count together.

use crate::time_ms::to_ms;
use crate::{Conn, Result};
use time::{Duration, OffsetDateTime};

/// Failures for `key` in the window ending at `now`.
pub async fn failures(
    conn: &mut Conn,
    key: &str,
    now: OffsetDateTime,
    window: Duration,
) -> Result<i64> {
    let row: Option<(i64,)> =
        sqlx::query_as("SELECT failures FROM login_throttle WHERE key = $1 AND window_start > $2")
            .bind(key)
            .bind(to_ms(now - window))
            .fetch_optional(&mut *conn)
            .await?;
    Ok(row.map_or(0, |(n,)| n))
}

/// Counts one more failure; a window older than `window` starts over. The
/// failures of the window, this one included.
pub async fn record_failure(
    conn: &mut Conn,
    key: &str,
    now: OffsetDateTime,
    window: Duration,
) -> Result<i64> {
    let failures = sqlx::query_scalar(
        "INSERT INTO login_throttle (key, window_start, failures) VALUES ($1, $2, 1) \
         ON CONFLICT (key) DO UPDATE SET \
           failures = CASE WHEN login_throttle.window_start <= $3 THEN 1 ELSE login_throttle.failures + 1 END, \
           window_start = CASE WHEN login_throttle.window_start <= $3 THEN $2 ELSE login_throttle.window_start END \
         RETURNING failures",
    )
    .bind(key)
    .bind(to_ms(now))
    .bind(to_ms(now - window))
    .fetch_one(&mut *conn)
    .await?;
    Ok(failures)
}

pub async fn clear(conn: &mut Conn, key: &str) -> Result<()> {
    sqlx::query("DELETE FROM login_throttle WHERE key = $1")
        .bind(key)
        .execute(&mut *conn)
        .await?;
    Ok(())
}
