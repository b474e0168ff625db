//! Two-factor sign-in: each person's TOTP secret (sealed by the caller; this
//! module never sees it in clear), whether it is confirmed, the last time step
//! a code was accepted for, and the SHA-256 of their recovery codes.

use crate::time_ms::{from_ms, to_ms};
use crate::{Conn, Result};
use muster_domain::UserId;
use time::OffsetDateTime;

/// A person's TOTP secret as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Totp {
    pub secret_sealed: String,
    /// `None` while the setup waits for its first code.
    pub confirmed_at: Option<OffsetDateTime>,
    pub last_step: i64,
}

pub async fn find(conn: &mut Conn, user_id: UserId) -> Result<Option<Totp>> {
    let row: Option<(String, Option<i64>, i64)> = sqlx::query_as(
        "SELECT secret_sealed, confirmed_at, last_step FROM totp_secrets WHERE user_id = $1",
    )
    .bind(user_id.to_string())
    .fetch_optional(&mut *conn)
    .await?;
    Ok(row.map(|(secret_sealed, confirmed_at, last_step)| Totp {
        secret_sealed,
        confirmed_at: confirmed_at.map(from_ms),
        last_step,
    }))
}

/// Whether the person signs in with a second factor.
pub async fn enabled(conn: &mut Conn, user_id: UserId) -> Result<bool> {
    Ok(find(conn, user_id)
        .await?
        .is_some_and(|t| t.confirmed_at.is_some()))
}

/// Starts a setup: a new pending secret, replacing an earlier pending one.
/// Returns false, changing nothing, when two-factor sign-in is already on.
pub async fn start(
    conn: &mut Conn,
    user_id: UserId,
    secret_sealed: &str,
    now: OffsetDateTime,
) -> Result<bool> {
    sqlx::query("DELETE FROM totp_secrets WHERE user_id = $1 AND confirmed_at IS NULL")
        .bind(user_id.to_string())
        .execute(&mut *conn)
        .await?;
    if find(conn, user_id).await?.is_some() {
        return Ok(false);
    }
    sqlx::query(
        "INSERT INTO totp_secrets (user_id, secret_sealed, created_at) VALUES ($1, $2, $3)",
    )
    .bind(user_id.to_string())
    .bind(secret_sealed)
    .bind(to_ms(now))
    .execute(&mut *conn)
    .await?;
    Ok(true)
}

/// Confirms a pending setup with the step of its first code and stores the
/// recovery codes' hashes (replacing any earlier ones). False when there was
/// no pending setup (another request confirmed it first).
pub async fn confirm(
    conn: &mut Conn,
    user_id: UserId,
    step: i64,
    recovery_hashes: &[String],
    now: OffsetDateTime,
) -> Result<bool> {
    let done = sqlx::query(
        "UPDATE totp_secrets SET confirmed_at = $2, last_step = $3 \
         WHERE user_id = $1 AND confirmed_at IS NULL",
    )
    .bind(user_id.to_string())
    .bind(to_ms(now))
    .bind(step)
    .execute(&mut *conn)
    .await?;
    if done.rows_affected() != 1 {
        return Ok(false);
    }
    sqlx::query("DELETE FROM recovery_codes WHERE user_id = $1")
        .bind(user_id.to_string())
        .execute(&mut *conn)
        .await?;
    for hash in recovery_hashes {
        sqlx::query("INSERT INTO recovery_codes (user_id, code_hash) VALUES ($1, $2)")
            .bind(user_id.to_string())
            .bind(hash)
            .execute(&mut *conn)
            .await?;
    }
    Ok(true)
}

/// Accepts a code of time step `step` if no code of that step or a later one
/// was accepted before: true once per step, even for racing requests.
pub async fn take_step(conn: &mut Conn, user_id: UserId, step: i64) -> Result<bool> {
    let done = sqlx::query(
        "UPDATE totp_secrets SET last_step = $2 \
         WHERE user_id = $1 AND confirmed_at IS NOT NULL AND last_step < $2",
    )
    .bind(user_id.to_string())
    .bind(step)
    .execute(&mut *conn)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Uses up an unused recovery code; false if there is none with that hash.
pub async fn take_recovery_code(
    conn: &mut Conn,
    user_id: UserId,
    code_hash: &str,
    now: OffsetDateTime,
) -> Result<bool> {
    let done = sqlx::query(
        "UPDATE recovery_codes SET used_at = $3 \
         WHERE user_id = $1 AND code_hash = $2 AND used_at IS NULL",
    )
    .bind(user_id.to_string())
    .bind(code_hash)
    .bind(to_ms(now))
    .execute(&mut *conn)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// How many recovery codes the person has not used.
pub async fn recovery_codes_left(conn: &mut Conn, user_id: UserId) -> Result<i64> {
    let (left,): (i64,) = sqlx::query_as(
        "SELECT COUNT(*) FROM recovery_codes WHERE user_id = $1 AND used_at IS NULL",
    )
    .bind(user_id.to_string())
    .fetch_one(&mut *conn)
    .await?;
    Ok(left)
}

/// Turns two-factor sign-in off: the secret and the recovery codes go.
/// False if it was neither on nor being set up.
pub async fn remove(conn: &mut Conn, user_id: UserId) -> Result<bool> {
    sqlx::query("DELETE FROM recovery_codes WHERE user_id = $1")
        .bind(user_id.to_string())
        .execute(&mut *conn)
        .await?;
    let done = sqlx::query("DELETE FROM totp_secrets WHERE user_id = $1")
        .bind(user_id.to_string())
        .execute(&mut *conn)
        .await?;
    Ok(done.rows_affected() == 1)
}
