//! One-time first-run setup links. A link is valid while no organization exists;
//! the first organization's creation deletes them all.

use crate::time_ms::to_ms;
use crate::{Conn, Result};
use time::OffsetDateTime;

pub async fn insert(conn: &mut Conn, token_hash: &str, now: OffsetDateTime) -> Result<()> {
    sqlx::query("INSERT INTO setup_tokens (token_hash, created_at) VALUES ($1, $2)")
        .bind(token_hash)
        .bind(to_ms(now))
        .execute(&mut *conn)
        .await?;
    Ok(())
}

/// Whether this link still sets up Muster.
pub async fn is_valid(conn: &mut Conn, token_hash: &str) -> Result<bool> {
    let row: Option<(String,)> = sqlx::query_as(
        "SELECT token_hash FROM setup_tokens WHERE token_hash = $1 AND NOT EXISTS (SELECT 1 FROM organizations)",
    )
    .bind(token_hash)
    .fetch_optional(&mut *conn)
    .await?;
    Ok(row.is_some())
}

/// Uses up every setup link; returns whether `token_hash` was one of them.
pub async fn consume(conn: &mut Conn, token_hash: &str) -> Result<bool> {
    let valid = is_valid(conn, token_hash).await?;
    sqlx::query("DELETE FROM setup_tokens")
        .execute(&mut *conn)
        .await?;
    Ok(valid)
}
