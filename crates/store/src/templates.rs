//! Invite templates: per organization and language, a subject and a body.

use crate::time_ms::{from_ms, to_ms};
use crate::{Conn, Result, StoreError};
use muster_domain::OrgId;
use time::OffsetDateTime;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InviteTemplate {
    pub language: String,
    pub subject: String,
    pub body: String,
    pub updated_at: OffsetDateTime,
}

type Row = (String, String, String, i64);

fn from_row((language, subject, body, updated): Row) -> InviteTemplate {
    InviteTemplate {
        language,
        subject,
        body,
        updated_at: from_ms(updated),
    }
}

/// Templates by language, after `after`.
pub async fn list(
    conn: &mut Conn,
    org_id: OrgId,
    after: Option<&str>,
    limit: i64,
) -> Result<Vec<InviteTemplate>> {
    let rows: Vec<Row> = sqlx::query_as(
        "SELECT language, subject, body, updated_at FROM invite_templates \
         WHERE org_id = $1 AND language > $2 ORDER BY language LIMIT $3",
    )
    .bind(org_id.to_string())
    .bind(after.unwrap_or(""))
    .bind(limit)
    .fetch_all(&mut *conn)
    .await?;
    Ok(rows.into_iter().map(from_row).collect())
}

pub async fn find(
    conn: &mut Conn,
    org_id: OrgId,
    language: &str,
) -> Result<Option<InviteTemplate>> {
    let row: Option<Row> = sqlx::query_as(
        "SELECT language, subject, body, updated_at FROM invite_templates WHERE org_id = $1 AND language = $2",
    )
    .bind(org_id.to_string())
    .bind(language)
    .fetch_optional(&mut *conn)
    .await?;
    Ok(row.map(from_row))
}

/// The template for `language`, else the one for `fallback`, else the first one.
pub async fn pick(
    conn: &mut Conn,
    org_id: OrgId,
    language: &str,
    fallback: &str,
) -> Result<Option<InviteTemplate>> {
    if let Some(found) = find(conn, org_id, language).await? {
        return Ok(Some(found));
    }
    if let Some(found) = find(conn, org_id, fallback).await? {
        return Ok(Some(found));
    }
    Ok(list(conn, org_id, None, 1).await?.into_iter().next())
}

pub async fn upsert(
    conn: &mut Conn,
    org_id: OrgId,
    language: &str,
    subject: &str,
    body: &str,
    now: OffsetDateTime,
) -> Result<()> {
    sqlx::query(
        "INSERT INTO invite_templates (org_id, language, subject, body, updated_at) VALUES ($1, $2, $3, $4, $5) \
         ON CONFLICT (org_id, language) DO UPDATE SET subject = $3, body = $4, updated_at = $5",
    )
    .bind(org_id.to_string())
    .bind(language)
    .bind(subject)
    .bind(body)
    .bind(to_ms(now))
    .execute(&mut *conn)
    .await?;
    Ok(())
}

pub async fn delete(conn: &mut Conn, org_id: OrgId, language: &str) -> Result<()> {
    let done = sqlx::query("DELETE FROM invite_templates WHERE org_id = $1 AND language = $2")
        .bind(org_id.to_string())
        .bind(language)
        .execute(&mut *conn)
        .await?;
    if done.rows_affected() == 0 {
        return Err(StoreError::NotFound);
    }
    Ok(())
}
