//! Invitations: a single-use token (stored hashed) that lets someone join an
//! organization until it expires.

use crate::error::parse_stored;
use crate::time_ms::{from_ms, to_ms};
use crate::{Conn, Result, StoreError};
use muster_domain::{InvitationId, InvitationStatus, OrgId, UserId};
use time::OffsetDateTime;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Invitation {
    pub id: InvitationId,
    pub org_id: OrgId,
    pub user_id: UserId,
    pub language: String,
    pub status: InvitationStatus,
    pub invited_by: Option<UserId>,
    pub created_at: OffsetDateTime,
    pub expires_at: OffsetDateTime,
    pub mail_job_id: Option<muster_domain::JobId>,
}

pub struct NewInvitation<'a> {
    pub org_id: OrgId,
    pub user_id: UserId,
    pub token_hash: &'a str,
    pub language: &'a str,
    pub invited_by: Option<UserId>,
    pub expires_at: OffsetDateTime,
    pub mail_job_id: muster_domain::JobId,
}

type Row = (
    String,
    String,
    String,
    String,
    String,
    Option<String>,
    i64,
    i64,
    Option<String>,
);

const COLUMNS: &str =
    "id, org_id, user_id, language, status, invited_by, created_at, expires_at, mail_job_id";

fn from_row(
    (id, org_id, user_id, language, status, invited_by, created, expires, mail_job_id): Row,
) -> Result<Invitation> {
    Ok(Invitation {
        id: parse_stored("invitations.id", &id)?,
        org_id: parse_stored("invitations.org_id", &org_id)?,
        user_id: parse_stored("invitations.user_id", &user_id)?,
        language,
        status: status
            .parse()
            .map_err(|_| StoreError::Corrupt(format!("invitations.status = {status:?}")))?,
        invited_by: invited_by
            .as_deref()
            .map(|id| parse_stored("invitations.invited_by", id))
            .transpose()?,
        created_at: from_ms(created),
        expires_at: from_ms(expires),
        mail_job_id: mail_job_id.as_deref().and_then(|id| id.parse().ok()),
    })
}

pub async fn insert(
    conn: &mut Conn,
    new: NewInvitation<'_>,
    now: OffsetDateTime,
) -> Result<InvitationId> {
    let id = InvitationId::new();
    sqlx::query(
        "INSERT INTO invitations (id, org_id, user_id, token_hash, language, status, invited_by, created_at, expires_at, \
         mail_job_id) VALUES ($1, $2, $3, $4, $5, 'pending', $6, $7, $8, $9)",
    )
    .bind(id.to_string())
    .bind(new.org_id.to_string())
    .bind(new.user_id.to_string())
    .bind(new.token_hash)
    .bind(new.language)
    .bind(new.invited_by.map(|id| id.to_string()))
    .bind(to_ms(now))
    .bind(to_ms(new.expires_at))
    .bind(new.mail_job_id.to_string())
    .execute(&mut *conn)
    .await?;
    Ok(id)
}

pub async fn find_by_token_hash(conn: &mut Conn, token_hash: &str) -> Result<Option<Invitation>> {
    let row: Option<Row> = sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM invitations WHERE token_hash = $1"
    ))
    .bind(token_hash)
    .fetch_optional(&mut *conn)
    .await?;
    row.map(from_row).transpose()
}

pub async fn find(conn: &mut Conn, org_id: OrgId, id: InvitationId) -> Result<Option<Invitation>> {
    let row: Option<Row> = sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM invitations WHERE org_id = $1 AND id = $2"
    ))
    .bind(org_id.to_string())
    .bind(id.to_string())
    .fetch_optional(&mut *conn)
    .await?;
    row.map(from_row).transpose()
}

/// The newest invitation of a member.
pub async fn latest(conn: &mut Conn, org_id: OrgId, user_id: UserId) -> Result<Option<Invitation>> {
    let row: Option<Row> = sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM invitations WHERE org_id = $1 AND user_id = $2 ORDER BY id DESC LIMIT 1"
    ))
    .bind(org_id.to_string())
    .bind(user_id.to_string())
    .fetch_optional(&mut *conn)
    .await?;
    row.map(from_row).transpose()
}

/// Ends every pending invitation of a member with `status`.
pub async fn end_pending(
    conn: &mut Conn,
    org_id: OrgId,
    user_id: UserId,
    status: InvitationStatus,
    now: OffsetDateTime,
) -> Result<u64> {
    let done = sqlx::query(
        "UPDATE invitations SET status = $3, ended_at = $4 WHERE org_id = $1 AND user_id = $2 AND status = 'pending'",
    )
    .bind(org_id.to_string())
    .bind(user_id.to_string())
    .bind(status.as_str())
    .bind(to_ms(now))
    .execute(&mut *conn)
    .await?;
    Ok(done.rows_affected())
}

/// Marks a pending invitation accepted; `false` if it was no longer pending (a
/// concurrent accept or revoke won).
pub async fn accept(conn: &mut Conn, id: InvitationId, now: OffsetDateTime) -> Result<bool> {
    let done = sqlx::query("UPDATE invitations SET status = 'accepted', ended_at = $2 WHERE id = $1 AND status = 'pending'")
        .bind(id.to_string())
        .bind(to_ms(now))
        .execute(&mut *conn)
        .await?;
    Ok(done.rows_affected() == 1)
}

/// Creates many pending invitations in one statement per few thousand.
pub async fn insert_many(
    conn: &mut Conn,
    rows: &[NewInvitation<'_>],
    now: OffsetDateTime,
) -> Result<Vec<InvitationId>> {
    use crate::batch::Cell;
    let ids: Vec<InvitationId> = rows.iter().map(|_| InvitationId::new()).collect();
    let at = to_ms(now);
    let cells = rows
        .iter()
        .zip(&ids)
        .map(|(new, id)| {
            vec![
                Cell::Text(id.to_string()),
                Cell::Text(new.org_id.to_string()),
                Cell::Text(new.user_id.to_string()),
                Cell::Text(new.token_hash.to_owned()),
                Cell::Text(new.language.to_owned()),
                Cell::Text("pending".into()),
                Cell::MaybeText(new.invited_by.map(|id| id.to_string())),
                Cell::Int(at),
                Cell::Int(to_ms(new.expires_at)),
                Cell::Text(new.mail_job_id.to_string()),
            ]
        })
        .collect();
    crate::batch::insert(
        conn,
        "invitations",
        &[
            "id",
            "org_id",
            "user_id",
            "token_hash",
            "language",
            "status",
            "invited_by",
            "created_at",
            "expires_at",
            "mail_job_id",
        ],
        cells,
    )
    .await?;
    Ok(ids)
}
