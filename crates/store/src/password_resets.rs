//! Password reset links: the SHA-256 of each link's token, its person and
//! when it stops working. A link is used once: taking it deletes every link
//! of the person.

use crate::error::parse_stored;
use crate::time_ms::to_ms;
use crate::{links, Conn, Result};
use muster_domain::UserId;
use time::OffsetDateTime;

const TABLE: &str = "password_resets";

pub async fn insert(
    conn: &mut Conn,
    token_hash: &str,
    user_id: UserId,
    now: OffsetDateTime,
    expires_at: OffsetDateTime,
) -> Result<()> {
    sqlx::query(
        "INSERT INTO password_resets (token_hash, user_id, created_at, expires_at) \
         VALUES ($1, $2, $3, $4)",
    )
    .bind(token_hash)
    .bind(user_id.to_string())
    .bind(to_ms(now))
    .bind(to_ms(expires_at))
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// The person of a live link, if the link is live at `now`.
pub async fn find_live(
    conn: &mut Conn,
    token_hash: &str,
    now: OffsetDateTime,
) -> Result<Option<UserId>> {
    let row: Option<(String,)> = sqlx::query_as(
        "SELECT user_id FROM password_resets WHERE token_hash = $1 AND expires_at > $2",
    )
    .bind(token_hash)
    .bind(to_ms(now))
    .fetch_optional(&mut *conn)
    .await?;
    row.map(|(id,)| parse_stored("password_resets.user_id", &id))
        .transpose()
}

/// Takes a live link: deletes it with the person's other links and returns
/// the person; `None` if it was used, replaced or ran out. Two requests with
/// the same link cannot both take it: only one deletes the row.
pub async fn take(
    conn: &mut Conn,
    token_hash: &str,
    now: OffsetDateTime,
) -> Result<Option<UserId>> {
    let Some(user_id) = find_live(conn, token_hash, now).await? else {
        return Ok(None);
    };
    if !links::delete(conn, TABLE, token_hash).await? {
        return Ok(None);
    }
    delete_for_user(conn, user_id).await?;
    Ok(Some(user_id))
}

/// Forgets every link of the person (their password changed another way).
pub async fn delete_for_user(conn: &mut Conn, user_id: UserId) -> Result<u64> {
    links::delete_for_user(conn, TABLE, user_id).await
}

/// Removes links that ran out before `now`; returns how many.
pub async fn delete_expired(conn: &mut Conn, now: OffsetDateTime) -> Result<u64> {
    links::delete_expired(conn, TABLE, now).await
}
