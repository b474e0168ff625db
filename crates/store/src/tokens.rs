//! Personal access tokens. Only the SHA-256 of a token is stored.

use crate::error::parse_stored;
use crate::time_ms::{from_ms, from_ms_opt, to_ms};
use crate::{Conn, Result};
use muster_domain::{TokenId, UserId};
use time::OffsetDateTime;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Token {
    pub id: TokenId,
    pub user_id: UserId,
    pub name: String,
    pub prefix: String,
    pub created_at: OffsetDateTime,
    pub last_used_at: Option<OffsetDateTime>,
    pub lease_expires_at: OffsetDateTime,
}

pub struct NewToken<'a> {
    pub user_id: UserId,
    pub name: &'a str,
    pub prefix: &'a str,
    pub token_hash: &'a str,
    pub lease_expires_at: OffsetDateTime,
}

type TokenRow = (String, String, String, String, i64, Option<i64>, i64);

fn from_row((id, user_id, name, prefix, created, last_used, lease): TokenRow) -> Result<Token> {
    Ok(Token {
        id: parse_stored("personal_access_tokens.id", &id)?,
        user_id: parse_stored("personal_access_tokens.user_id", &user_id)?,
        name,
        prefix,
        created_at: from_ms(created),
        last_used_at: from_ms_opt(last_used),
        lease_expires_at: from_ms(lease),
    })
}

const COLUMNS: &str = "id, user_id, name, prefix, created_at, last_used_at, lease_expires_at";

pub async fn insert(conn: &mut Conn, new: NewToken<'_>, now: OffsetDateTime) -> Result<Token> {
    let id = TokenId::new();
    sqlx::query(
        "INSERT INTO personal_access_tokens (id, user_id, name, prefix, token_hash, created_at, lease_expires_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(id.to_string())
    .bind(new.user_id.to_string())
    .bind(new.name)
    .bind(new.prefix)
    .bind(new.token_hash)
    .bind(to_ms(now))
    .bind(to_ms(new.lease_expires_at))
    .execute(&mut *conn)
    .await?;
    Ok(Token {
        id,
        user_id: new.user_id,
        name: new.name.to_owned(),
        prefix: new.prefix.to_owned(),
        created_at: from_ms(to_ms(now)),
        last_used_at: None,
        lease_expires_at: from_ms(to_ms(new.lease_expires_at)),
    })
}

pub async fn find_by_hash(conn: &mut Conn, token_hash: &str) -> Result<Option<Token>> {
    let row: Option<TokenRow> = sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM personal_access_tokens WHERE token_hash = $1"
    ))
    .bind(token_hash)
    .fetch_optional(&mut *conn)
    .await?;
    row.map(from_row).transpose()
}

/// Records a use: `last_used_at` and the lease, unless another request or
/// instance already wrote one since `written_before`. The lease only grows: an
/// extension written meanwhile is kept. Returns whether this call wrote, so
/// exactly one of racing requests does.
pub async fn record_use(
    conn: &mut Conn,
    id: TokenId,
    now: OffsetDateTime,
    lease: OffsetDateTime,
    written_before: OffsetDateTime,
) -> Result<bool> {
    let done = sqlx::query(
        "UPDATE personal_access_tokens SET last_used_at = $2, \
         lease_expires_at = CASE WHEN lease_expires_at < $3 THEN $3 ELSE lease_expires_at END \
         WHERE id = $1 AND (last_used_at IS NULL OR last_used_at <= $4)",
    )
    .bind(id.to_string())
    .bind(to_ms(now))
    .bind(to_ms(lease))
    .bind(to_ms(written_before))
    .execute(&mut *conn)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// A user's tokens, newest first. A user holds a handful, so there is no paging.
pub async fn list_for_user(conn: &mut Conn, user_id: UserId) -> Result<Vec<Token>> {
    let rows: Vec<TokenRow> = sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM personal_access_tokens WHERE user_id = $1 ORDER BY id DESC"
    ))
    .bind(user_id.to_string())
    .fetch_all(&mut *conn)
    .await?;
    rows.into_iter().map(from_row).collect()
}

/// One of `user_id`'s tokens; another user's token is not found.
pub async fn find_for_user(conn: &mut Conn, user_id: UserId, id: TokenId) -> Result<Option<Token>> {
    let row: Option<TokenRow> = sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM personal_access_tokens WHERE id = $1 AND user_id = $2"
    ))
    .bind(id.to_string())
    .bind(user_id.to_string())
    .fetch_optional(&mut *conn)
    .await?;
    row.map(from_row).transpose()
}

pub async fn set_lease(conn: &mut Conn, id: TokenId, lease: OffsetDateTime) -> Result<()> {
    sqlx::query("UPDATE personal_access_tokens SET lease_expires_at = $2 WHERE id = $1")
        .bind(id.to_string())
        .bind(to_ms(lease))
        .execute(&mut *conn)
        .await?;
    Ok(())
}

pub async fn delete(conn: &mut Conn, id: TokenId) -> Result<()> {
    sqlx::query("DELETE FROM personal_access_tokens WHERE id = $1")
        .bind(id.to_string())
        .execute(&mut *conn)
        .await?;
    Ok(())
}

/// Which reminder before a lease ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reminder {
    /// Seven days before.
    Week,
    /// One day before; it stands for the week's too, so a token found late
    /// (after downtime) gets one mail.
    Day,
}

impl Reminder {
    fn columns(self) -> &'static str {
        match self {
            Reminder::Week => "week_reminder_for = lease_expires_at",
            Reminder::Day => {
                "day_reminder_for = lease_expires_at, week_reminder_for = lease_expires_at"
            }
        }
    }

    fn column(self) -> &'static str {
        match self {
            Reminder::Week => "week_reminder_for",
            Reminder::Day => "day_reminder_for",
        }
    }
}

/// A token whose lease ends soon, with what its reminder needs.
#[derive(Debug, Clone)]
pub struct LeaseEnding {
    pub id: TokenId,
    pub name: String,
    pub prefix: String,
    pub lease_expires_at: OffsetDateTime,
    pub email: String,
    pub first_name: String,
}

/// Up to `limit` tokens whose lease ends after `from` and no later than
/// `until`, not yet reminded (`reminder`) of that lease end.
pub async fn leases_ending(
    conn: &mut Conn,
    reminder: Reminder,
    from: OffsetDateTime,
    until: OffsetDateTime,
    limit: i64,
) -> Result<Vec<LeaseEnding>> {
    let column = reminder.column();
    let rows: Vec<(String, String, String, i64, String, String)> = sqlx::query_as(&format!(
        "SELECT t.id, t.name, t.prefix, t.lease_expires_at, u.email, u.first_name \
         FROM personal_access_tokens t JOIN users u ON u.id = t.user_id \
         WHERE t.lease_expires_at > $1 AND t.lease_expires_at <= $2 \
         AND (t.{column} IS NULL OR t.{column} <> t.lease_expires_at) \
         ORDER BY t.lease_expires_at LIMIT $3"
    ))
    .bind(to_ms(from))
    .bind(to_ms(until))
    .bind(limit)
    .fetch_all(&mut *conn)
    .await?;
    rows.into_iter()
        .map(|(id, name, prefix, lease, email, first_name)| {
            Ok(LeaseEnding {
                id: parse_stored("personal_access_tokens.id", &id)?,
                name,
                prefix,
                lease_expires_at: from_ms(lease),
                email,
                first_name,
            })
        })
        .collect()
}

/// Notes `reminder` as sent for the token's lease end `lease`; false when
/// the lease moved meanwhile or another instance sent it.
pub async fn mark_reminded(
    conn: &mut Conn,
    id: TokenId,
    reminder: Reminder,
    lease: OffsetDateTime,
) -> Result<bool> {
    let column = reminder.column();
    let done = sqlx::query(&format!(
        "UPDATE personal_access_tokens SET {} WHERE id = $1 AND lease_expires_at = $2 \
         AND ({column} IS NULL OR {column} <> lease_expires_at)",
        reminder.columns()
    ))
    .bind(id.to_string())
    .bind(to_ms(lease))
    .execute(&mut *conn)
    .await?;
    Ok(done.rows_affected() == 1)
}
