//! Web sessions, kept in the database so that every instance sees them.
//! Only the SHA-256 of the session id is stored; the session's CSRF token is
//! derived from the id by the server and not stored at all.

use crate::error::parse_stored;
use crate::time_ms::{from_ms, to_ms};
use crate::{Conn, Result};
use muster_domain::UserId;
use time::OffsetDateTime;

#[derive(Debug, Clone)]
pub struct Session {
    pub user_id: UserId,
    pub last_seen_at: OffsetDateTime,
    pub expires_at: OffsetDateTime,
}

pub async fn insert(
    conn: &mut Conn,
    id_hash: &str,
    user_id: UserId,
    now: OffsetDateTime,
    expires_at: OffsetDateTime,
) -> Result<()> {
    sqlx::query(
        "INSERT INTO sessions (id_hash, user_id, csrf_token, created_at, last_seen_at, expires_at) \
         VALUES ($1, $2, '', $3, $3, $4)",
    )
    .bind(id_hash)
    .bind(user_id.to_string())
    .bind(to_ms(now))
    .bind(to_ms(expires_at))
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// The session with this id hash, if it has not expired at `now`.
pub async fn find_live(
    conn: &mut Conn,
    id_hash: &str,
    now: OffsetDateTime,
) -> Result<Option<Session>> {
    let row: Option<(String, i64, i64)> = sqlx::query_as(
        "SELECT user_id, last_seen_at, expires_at FROM sessions WHERE id_hash = $1 AND expires_at > $2",
    )
    .bind(id_hash)
    .bind(to_ms(now))
    .fetch_optional(&mut *conn)
    .await?;
    row.map(|(user_id, last_seen, expires)| {
        Ok(Session {
            user_id: parse_stored("sessions.user_id", &user_id)?,
            last_seen_at: from_ms(last_seen),
            expires_at: from_ms(expires),
        })
    })
    .transpose()
}

/// Slides the inactivity expiry forward.
pub async fn touch(
    conn: &mut Conn,
    id_hash: &str,
    now: OffsetDateTime,
    expires_at: OffsetDateTime,
) -> Result<()> {
    sqlx::query("UPDATE sessions SET last_seen_at = $2, expires_at = $3 WHERE id_hash = $1")
        .bind(id_hash)
        .bind(to_ms(now))
        .bind(to_ms(expires_at))
        .execute(&mut *conn)
        .await?;
    Ok(())
}

pub async fn delete(conn: &mut Conn, id_hash: &str) -> Result<()> {
    sqlx::query("DELETE FROM sessions WHERE id_hash = $1")
        .bind(id_hash)
        .execute(&mut *conn)
        .await?;
    Ok(())
}

/// Removes sessions that expired before `now`; returns how many.
pub async fn delete_expired(conn: &mut Conn, now: OffsetDateTime) -> Result<u64> {
    let done = sqlx::query("DELETE FROM sessions WHERE expires_at <= $1")
        .bind(to_ms(now))
        .execute(&mut *conn)
        .await?;
    Ok(done.rows_affected())
}
