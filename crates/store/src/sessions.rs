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

/// Where and how a session was started, as its owner sees it in their list.
#[derive(Debug, Clone, Default)]
pub struct Origin {
    /// A public handle (not the id's hash), to name the session in the API.
    pub public_id: String,
    pub user_agent: String,
    pub ip: String,
}

pub async fn insert(
    conn: &mut Conn,
    id_hash: &str,
    user_id: UserId,
    origin: &Origin,
    now: OffsetDateTime,
    expires_at: OffsetDateTime,
) -> Result<()> {
    sqlx::query(
        "INSERT INTO sessions (id_hash, user_id, csrf_token, created_at, last_seen_at, expires_at, \
         public_id, user_agent, ip) VALUES ($1, $2, '', $3, $3, $4, $5, $6, $7)",
    )
    .bind(id_hash)
    .bind(user_id.to_string())
    .bind(to_ms(now))
    .bind(to_ms(expires_at))
    .bind(&origin.public_id)
    .bind(&origin.user_agent)
    .bind(&origin.ip)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// One of a person's live sessions, as their list shows it.
#[derive(Debug, Clone)]
pub struct Listed {
    pub origin: Origin,
    pub id_hash: String,
    pub created_at: OffsetDateTime,
    pub last_seen_at: OffsetDateTime,
}

/// The person's live sessions, most recently seen first (at most 200: a
/// person signs in from a handful of browsers, not hundreds).
pub async fn list_for_user(
    conn: &mut Conn,
    user_id: UserId,
    now: OffsetDateTime,
) -> Result<Vec<Listed>> {
    let rows: Vec<(String, String, String, String, i64, i64)> = sqlx::query_as(
        "SELECT public_id, user_agent, ip, id_hash, created_at, last_seen_at FROM sessions \
         WHERE user_id = $1 AND expires_at > $2 ORDER BY last_seen_at DESC, public_id LIMIT 200",
    )
    .bind(user_id.to_string())
    .bind(to_ms(now))
    .fetch_all(&mut *conn)
    .await?;
    Ok(rows
        .into_iter()
        .map(
            |(public_id, user_agent, ip, id_hash, created, last_seen)| Listed {
                origin: Origin {
                    public_id,
                    user_agent,
                    ip,
                },
                id_hash,
                created_at: from_ms(created),
                last_seen_at: from_ms(last_seen),
            },
        )
        .collect())
}

/// Ends the person's session with this public id; whether there was one.
pub async fn delete_by_public_id(
    conn: &mut Conn,
    user_id: UserId,
    public_id: &str,
) -> Result<bool> {
    let done = sqlx::query("DELETE FROM sessions WHERE user_id = $1 AND public_id = $2")
        .bind(user_id.to_string())
        .bind(public_id)
        .execute(&mut *conn)
        .await?;
    Ok(done.rows_affected() > 0)
}

/// Ends every session of the person but `keep` (the hash of the one in use,
/// if any); returns how many ended.
pub async fn delete_all_but(conn: &mut Conn, user_id: UserId, keep: Option<&str>) -> Result<u64> {
    let done = sqlx::query("DELETE FROM sessions WHERE user_id = $1 AND id_hash <> $2")
        .bind(user_id.to_string())
        .bind(keep.unwrap_or(""))
        .execute(&mut *conn)
        .await?;
    Ok(done.rows_affected())
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
