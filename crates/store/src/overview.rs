//! The Overview's counts: each one reads an index range of one organization,
//! never a whole table.

use crate::time_ms::to_ms;
use crate::{Conn, Result};
use muster_domain::OrgId;
use time::OffsetDateTime;

/// The Quick start steps an organization has done.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Checklist {
    /// An invite template changed or added after the organization began, or
    /// the one it began with sent (an invitation went out with it as it is).
    pub template: bool,
    pub invitation: bool,
    pub solution: bool,
    /// An active member holds a personal access token.
    pub token: bool,
    pub notification: bool,
}

async fn exists(conn: &mut Conn, sql: &str, org_id: OrgId) -> Result<bool> {
    let found: Option<(i64,)> = sqlx::query_as(sql)
        .bind(org_id.to_string())
        .fetch_optional(&mut *conn)
        .await?;
    Ok(found.is_some())
}

pub async fn checklist(conn: &mut Conn, org_id: OrgId) -> Result<Checklist> {
    let invitation = exists(
        conn,
        "SELECT 1 FROM invitations WHERE org_id = $1 LIMIT 1",
        org_id,
    )
    .await?;
    Ok(Checklist {
        template: invitation
            || exists(
                conn,
                "SELECT 1 FROM invite_templates t JOIN organizations o ON o.id = t.org_id \
                 WHERE t.org_id = $1 AND t.updated_at > o.created_at LIMIT 1",
                org_id,
            )
            .await?,
        invitation,
        solution: exists(
            conn,
            "SELECT 1 FROM solutions WHERE org_id = $1 LIMIT 1",
            org_id,
        )
        .await?,
        token: exists(
            conn,
            // From the tokens (few) to a membership each: from the members
            // it walked 100,000 of them when only the owner held a token.
            "SELECT 1 FROM personal_access_tokens t WHERE EXISTS (SELECT 1 FROM memberships m \
             WHERE m.org_id = $1 AND m.user_id = t.user_id AND m.status = 'active') LIMIT 1",
            org_id,
        )
        .await?,
        notification: exists(
            conn,
            "SELECT 1 FROM notifications WHERE org_id = $1 LIMIT 1",
            org_id,
        )
        .await?,
    })
}

/// Members still invited whose last invitation went out before `before` (a
/// member invited again since is not waiting that long).
pub async fn invited_before(conn: &mut Conn, org_id: OrgId, before: OffsetDateTime) -> Result<i64> {
    let (count,): (i64,) = sqlx::query_as(
        "SELECT COUNT(*) FROM memberships m WHERE m.org_id = $1 AND m.status = 'invited' \
         AND m.invited_at < $2 AND NOT EXISTS (SELECT 1 FROM invitations i \
         WHERE i.org_id = m.org_id AND i.user_id = m.user_id AND i.created_at >= $2)",
    )
    .bind(org_id.to_string())
    .bind(to_ms(before))
    .fetch_one(&mut *conn)
    .await?;
    Ok(count)
}

/// The organization's solutions.
pub async fn solutions(conn: &mut Conn, org_id: OrgId) -> Result<i64> {
    let (count,): (i64,) = sqlx::query_as("SELECT COUNT(*) FROM solutions WHERE org_id = $1")
        .bind(org_id.to_string())
        .fetch_one(&mut *conn)
        .await?;
    Ok(count)
}
