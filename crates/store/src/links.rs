//! What the tables of one-time links (`password_resets`, `email_changes`)
//! share: each row is the SHA-256 of a link's token, its person and when it
//! stops working; a link is used by deleting its row.

use crate::time_ms::to_ms;
use crate::{Conn, Result};
use muster_domain::UserId;
use time::OffsetDateTime;

/// Deletes the link; true for the one caller whose statement deleted it, so
/// two requests with the same link cannot both use it.
pub(crate) async fn delete(conn: &mut Conn, table: &str, token_hash: &str) -> Result<bool> {
    let done = sqlx::query(&format!("DELETE FROM {table} WHERE token_hash = $1"))
        .bind(token_hash)
        .execute(&mut *conn)
        .await?;
    Ok(done.rows_affected() == 1)
}

/// Deletes every link of the person; returns how many.
pub(crate) async fn delete_for_user(conn: &mut Conn, table: &str, user_id: UserId) -> Result<u64> {
    let done = sqlx::query(&format!("DELETE FROM {table} WHERE user_id = $1"))
        .bind(user_id.to_string())
        .execute(&mut *conn)
        .await?;
    Ok(done.rows_affected())
}

/// Deletes the links that ran out before `now`; returns how many.
pub(crate) async fn delete_expired(
    conn: &mut Conn,
    table: &str,
    now: OffsetDateTime,
) -> Result<u64> {
    let done = sqlx::query(&format!("DELETE FROM {table} WHERE expires_at <= $1"))
        .bind(to_ms(now))
        .execute(&mut *conn)
        .await?;
    Ok(done.rows_affected())
}
