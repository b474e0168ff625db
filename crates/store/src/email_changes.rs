//! Email changes waiting for confirmation: the SHA-256 of each link's token,
//! its person, the new address and when the link stops working. A person has
//! at most one: a new request replaces it, confirming takes it.

use crate::error::parse_stored;
use crate::time_ms::to_ms;
use crate::{links, Conn, Result, StoreError};
use muster_domain::{Email, UserId};
use time::OffsetDateTime;

const TABLE: &str = "email_changes";

/// Records a request, replacing the person's earlier one.
pub async fn replace(
    conn: &mut Conn,
    token_hash: &str,
    user_id: UserId,
    new_email: &Email,
    now: OffsetDateTime,
    expires_at: OffsetDateTime,
) -> Result<()> {
    delete_for_user(conn, user_id).await?;
    sqlx::query(
        "INSERT INTO email_changes (token_hash, user_id, new_email, created_at, expires_at) \
         VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(token_hash)
    .bind(user_id.to_string())
    .bind(new_email.as_str())
    .bind(to_ms(now))
    .bind(to_ms(expires_at))
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// The person and new address of a live link.
pub async fn find_live(
    conn: &mut Conn,
    token_hash: &str,
    now: OffsetDateTime,
) -> Result<Option<(UserId, Email)>> {
    let row: Option<(String, String)> = sqlx::query_as(
        "SELECT user_id, new_email FROM email_changes WHERE token_hash = $1 AND expires_at > $2",
    )
    .bind(token_hash)
    .bind(to_ms(now))
    .fetch_optional(&mut *conn)
    .await?;
    row.map(|(user, email)| {
        Ok((
            parse_stored("email_changes.user_id", &user)?,
            Email::parse(&email)
                .map_err(|_| StoreError::Corrupt(format!("email_changes.new_email = {email:?}")))?,
        ))
    })
    .transpose()
}

/// Takes a live link (deletes it); `None` if it was used, replaced or ran
/// out. Of two requests with the same link only one takes it.
pub async fn take(
    conn: &mut Conn,
    token_hash: &str,
    now: OffsetDateTime,
) -> Result<Option<(UserId, Email)>> {
    let Some(found) = find_live(conn, token_hash, now).await? else {
        return Ok(None);
    };
    let taken = links::delete(conn, TABLE, token_hash).await?;
    Ok(taken.then_some(found))
}

pub async fn delete_for_user(conn: &mut Conn, user_id: UserId) -> Result<u64> {
    links::delete_for_user(conn, TABLE, user_id).await
}

/// Removes links that ran out before `now`; returns how many.
pub async fn delete_expired(conn: &mut Conn, now: OffsetDateTime) -> Result<u64> {
    links::delete_expired(conn, TABLE, now).await
}
