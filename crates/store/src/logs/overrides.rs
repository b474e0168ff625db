//! "Detailed logging for this member until …": a temporary level per member.

use crate::time_ms::{from_ms, to_ms};
use crate::{Conn, Result};
use muster_domain::{OrgId, UserId};
use time::OffsetDateTime;

/// A temporary logging level for one member.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Override {
    pub level: String,
    pub until: OffsetDateTime,
}

pub async fn set_override(
    conn: &mut Conn,
    org_id: OrgId,
    user_id: UserId,
    level: &str,
    until: OffsetDateTime,
) -> Result<()> {
    sqlx::query(
        "INSERT INTO log_level_overrides (org_id, user_id, level, until) VALUES ($1, $2, $3, $4) \
         ON CONFLICT (org_id, user_id) DO UPDATE SET level = $3, until = $4",
    )
    .bind(org_id.to_string())
    .bind(user_id.to_string())
    .bind(level)
    .bind(to_ms(until))
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// Ends a member's override; whether there was one.
pub async fn clear_override(conn: &mut Conn, org_id: OrgId, user_id: UserId) -> Result<bool> {
    let done = sqlx::query("DELETE FROM log_level_overrides WHERE org_id = $1 AND user_id = $2")
        .bind(org_id.to_string())
        .bind(user_id.to_string())
        .execute(&mut *conn)
        .await?;
    Ok(done.rows_affected() > 0)
}

/// The member's override still in force at `now`.
pub async fn find_override(
    conn: &mut Conn,
    org_id: OrgId,
    user_id: UserId,
    now: OffsetDateTime,
) -> Result<Option<Override>> {
    let row: Option<(String, i64)> = sqlx::query_as(
        "SELECT level, until FROM log_level_overrides WHERE org_id = $1 AND user_id = $2 AND until > $3",
    )
    .bind(org_id.to_string())
    .bind(user_id.to_string())
    .bind(to_ms(now))
    .fetch_optional(&mut *conn)
    .await?;
    Ok(row.map(|(level, until)| Override {
        level,
        until: from_ms(until),
    }))
}

pub async fn delete_expired_overrides(conn: &mut Conn, now: OffsetDateTime) -> Result<u64> {
    let done = sqlx::query("DELETE FROM log_level_overrides WHERE until <= $1")
        .bind(to_ms(now))
        .execute(&mut *conn)
        .await?;
    Ok(done.rows_affected())
}
