//! Memberships: a user in an organization, with a role and a status.

use crate::error::parse_stored;
use crate::time_ms::{from_ms_opt, to_ms};
use crate::{Conn, Result, StoreError};
use muster_domain::{MembershipStatus, OrgId, OrgRole, UserId};
use time::OffsetDateTime;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Membership {
    pub org_id: OrgId,
    pub user_id: UserId,
    pub role: OrgRole,
    pub status: MembershipStatus,
    pub invited_by: Option<UserId>,
    pub invited_at: Option<OffsetDateTime>,
    pub joined_at: Option<OffsetDateTime>,
}

/// A membership as its user sees it in their profile.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MembershipSummary {
    pub org_id: OrgId,
    pub org_name: String,
    pub role: OrgRole,
    pub status: MembershipStatus,
    pub solution_count: i64,
}

#[derive(sqlx::FromRow)]
struct MembershipRow {
    org_id: String,
    user_id: String,
    role: String,
    status: String,
    invited_by: Option<String>,
    invited_at: Option<i64>,
    joined_at: Option<i64>,
}

impl TryFrom<MembershipRow> for Membership {
    type Error = StoreError;
    fn try_from(row: MembershipRow) -> Result<Self> {
        Ok(Membership {
            org_id: parse_stored("memberships.org_id", &row.org_id)?,
            user_id: parse_stored("memberships.user_id", &row.user_id)?,
            role: parse_stored("memberships.role", &row.role)?,
            status: parse_stored("memberships.status", &row.status)?,
            invited_by: row
                .invited_by
                .as_deref()
                .map(|id| parse_stored("memberships.invited_by", id))
                .transpose()?,
            invited_at: from_ms_opt(row.invited_at),
            joined_at: from_ms_opt(row.joined_at),
        })
    }
}

pub async fn insert(conn: &mut Conn, membership: &Membership, now: OffsetDateTime) -> Result<()> {
    sqlx::query(
        "INSERT INTO memberships (org_id, user_id, role, status, invited_by, invited_at, joined_at, created_at, email, search) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, (SELECT email FROM users WHERE id = $2), \
         (SELECT LOWER(email || ' ' || first_name || ' ' || last_name) FROM users WHERE id = $2))",
    )
    .bind(membership.org_id.to_string())
    .bind(membership.user_id.to_string())
    .bind(membership.role.as_str())
    .bind(membership.status.as_str())
    .bind(membership.invited_by.map(|id| id.to_string()))
    .bind(membership.invited_at.map(to_ms))
    .bind(membership.joined_at.map(to_ms))
    .bind(to_ms(now))
    .execute(&mut *conn)
    .await?;
    Ok(())
}

pub async fn find(conn: &mut Conn, org_id: OrgId, user_id: UserId) -> Result<Option<Membership>> {
    let row: Option<MembershipRow> = sqlx::query_as(
        "SELECT org_id, user_id, role, status, invited_by, invited_at, joined_at FROM memberships \
         WHERE org_id = $1 AND user_id = $2",
    )
    .bind(org_id.to_string())
    .bind(user_id.to_string())
    .fetch_optional(&mut *conn)
    .await?;
    row.map(Membership::try_from).transpose()
}

/// What decides a caller's way into an organization's Management: their
/// role and status there, and whether the organization wants two-factor
/// sign-in of its owners and admins while they have none. One query, read
/// by every organization-scoped API call. An organization being deleted has
/// no members.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Admission {
    pub role: OrgRole,
    pub status: MembershipStatus,
    pub lacks_required_two_factor: bool,
}

pub async fn admission(
    conn: &mut Conn,
    org_id: OrgId,
    user_id: UserId,
) -> Result<Option<Admission>> {
    let row: Option<(String, String, i64, Option<i64>)> = sqlx::query_as(
        "SELECT m.role, m.status, o.require_two_factor, t.confirmed_at \
         FROM memberships m JOIN organizations o ON o.id = m.org_id \
         LEFT JOIN totp_secrets t ON t.user_id = m.user_id \
         WHERE m.org_id = $1 AND m.user_id = $2 AND o.deleting_at IS NULL",
    )
    .bind(org_id.to_string())
    .bind(user_id.to_string())
    .fetch_optional(&mut *conn)
    .await?;
    row.map(|(role, status, required, confirmed)| {
        Ok(Admission {
            role: parse_stored("memberships.role", &role)?,
            status: parse_stored("memberships.status", &status)?,
            lacks_required_two_factor: required != 0 && confirmed.is_none(),
        })
    })
    .transpose()
}

/// A user and every membership of theirs, with the organization's name, by
/// name, in one query: every page of the web UI and every `GET /me` reads it.
pub async fn user_with_summaries(
    conn: &mut Conn,
    user_id: UserId,
) -> Result<(crate::users::User, Vec<MembershipSummary>)> {
    #[derive(sqlx::FromRow)]
    struct Row {
        #[sqlx(flatten)]
        user: crate::users::UserRow,
        org_id: Option<String>,
        org_name: Option<String>,
        role: Option<String>,
        status: Option<String>,
        solution_count: i64,
    }
    let rows: Vec<Row> = sqlx::query_as(
        "SELECT u.id, u.email, u.first_name, u.last_name, u.language, u.theme, u.default_org_id, u.created_at, \
         m.org_id, o.name AS org_name, m.role, m.status, \
         (SELECT COUNT(*) FROM solution_assignments a WHERE a.org_id = m.org_id AND a.user_id = m.user_id) AS solution_count \
         FROM users u LEFT JOIN memberships m ON m.user_id = u.id \
         LEFT JOIN organizations o ON o.id = m.org_id AND o.deleting_at IS NULL \
         WHERE u.id = $1 ORDER BY o.name, o.id",
    )
    .bind(user_id.to_string())
    .fetch_all(&mut *conn)
    .await?;
    let mut user = None;
    let mut summaries = Vec::with_capacity(rows.len());
    for row in rows {
        if user.is_none() {
            user = Some(crate::users::User::try_from(row.user)?);
        }
        if let (Some(org_id), Some(org_name), Some(role), Some(status)) =
            (row.org_id, row.org_name, row.role, row.status)
        {
            summaries.push(MembershipSummary {
                org_id: parse_stored("memberships.org_id", &org_id)?,
                org_name,
                role: parse_stored("memberships.role", &role)?,
                status: parse_stored("memberships.status", &status)?,
                solution_count: row.solution_count,
            });
        }
    }
    let user = user.ok_or(StoreError::NotFound)?;
    Ok((user, summaries))
}

pub async fn count_active_owners(conn: &mut Conn, org_id: OrgId) -> Result<u64> {
    let (count,): (i64,) = sqlx::query_as(
        "SELECT COUNT(*) FROM memberships WHERE org_id = $1 AND role = 'owner' AND status = 'active'",
    )
    .bind(org_id.to_string())
    .fetch_one(&mut *conn)
    .await?;
    Ok(u64::try_from(count).unwrap_or(0))
}

/// Up to `limit` active owners and admins of the organization, owners first,
/// as (name, email): whom a member asks for access.
pub async fn contacts(conn: &mut Conn, org_id: OrgId, limit: i64) -> Result<Vec<(String, String)>> {
    let rows: Vec<(String, String, String)> = sqlx::query_as(
        "SELECT u.first_name, u.last_name, u.email FROM memberships m JOIN users u ON u.id = m.user_id \
         WHERE m.org_id = $1 AND m.status = 'active' AND m.role IN ('owner', 'admin') \
         ORDER BY CASE m.role WHEN 'owner' THEN 0 ELSE 1 END, u.email LIMIT $2",
    )
    .bind(org_id.to_string())
    .bind(limit)
    .fetch_all(&mut *conn)
    .await?;
    Ok(rows
        .into_iter()
        .map(|(first, last, email)| (format!("{first} {last}").trim().to_owned(), email))
        .collect())
}

/// A new organization's first member: its owner, active from now.
pub fn founding_owner(org_id: OrgId, user_id: UserId, now: OffsetDateTime) -> Membership {
    Membership {
        org_id,
        user_id,
        role: OrgRole::Owner,
        status: MembershipStatus::Active,
        invited_by: None,
        invited_at: None,
        joined_at: Some(now),
    }
}

/// How many members an organization has in each status.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct StatusCounts {
    pub active: i64,
    pub invited: i64,
    pub disabled: i64,
}

pub async fn count_by_status(conn: &mut Conn, org_id: OrgId) -> Result<StatusCounts> {
    let rows: Vec<(String, i64)> = sqlx::query_as(
        "SELECT status, COUNT(*) FROM memberships WHERE org_id = $1 GROUP BY status",
    )
    .bind(org_id.to_string())
    .fetch_all(&mut *conn)
    .await?;
    let mut counts = StatusCounts::default();
    for (status, count) in rows {
        match status.parse::<MembershipStatus>() {
            Ok(MembershipStatus::Active) => counts.active = count,
            Ok(MembershipStatus::Invited) => counts.invited = count,
            Ok(MembershipStatus::Disabled) => counts.disabled = count,
            Err(_) => {
                return Err(StoreError::Corrupt(format!(
                    "memberships.status = {status:?}"
                )))
            }
        }
    }
    Ok(counts)
}

pub async fn set_role(
    conn: &mut Conn,
    org_id: OrgId,
    user_id: UserId,
    role: OrgRole,
) -> Result<()> {
    update(
        conn,
        "UPDATE memberships SET role = $3 WHERE org_id = $1 AND user_id = $2",
        org_id,
        user_id,
        role.as_str(),
    )
    .await
}

pub async fn set_status(
    conn: &mut Conn,
    org_id: OrgId,
    user_id: UserId,
    status: MembershipStatus,
) -> Result<()> {
    update(
        conn,
        "UPDATE memberships SET status = $3 WHERE org_id = $1 AND user_id = $2",
        org_id,
        user_id,
        status.as_str(),
    )
    .await
}

/// An accepted invitation: the membership becomes active from `now`.
pub async fn activate(
    conn: &mut Conn,
    org_id: OrgId,
    user_id: UserId,
    now: OffsetDateTime,
) -> Result<()> {
    let done = sqlx::query("UPDATE memberships SET status = 'active', joined_at = $3 WHERE org_id = $1 AND user_id = $2")
        .bind(org_id.to_string())
        .bind(user_id.to_string())
        .bind(to_ms(now))
        .execute(&mut *conn)
        .await?;
    if done.rows_affected() == 0 {
        return Err(StoreError::NotFound);
    }
    Ok(())
}

/// Ends a membership; the user account stays.
pub async fn delete(conn: &mut Conn, org_id: OrgId, user_id: UserId) -> Result<()> {
    let done = sqlx::query("DELETE FROM memberships WHERE org_id = $1 AND user_id = $2")
        .bind(org_id.to_string())
        .bind(user_id.to_string())
        .execute(&mut *conn)
        .await?;
    if done.rows_affected() == 0 {
        return Err(StoreError::NotFound);
    }
    // Their solution roles (and so their groups) in this organization end with it.
    sqlx::query("DELETE FROM solution_assignments WHERE org_id = $1 AND user_id = $2")
        .bind(org_id.to_string())
        .bind(user_id.to_string())
        .execute(&mut *conn)
        .await?;
    sqlx::query("UPDATE users SET default_org_id = NULL WHERE id = $1 AND default_org_id = $2")
        .bind(user_id.to_string())
        .bind(org_id.to_string())
        .execute(&mut *conn)
        .await?;
    Ok(())
}

async fn update(
    conn: &mut Conn,
    sql: &str,
    org_id: OrgId,
    user_id: UserId,
    value: &str,
) -> Result<()> {
    let done = sqlx::query(sql)
        .bind(org_id.to_string())
        .bind(user_id.to_string())
        .bind(value)
        .execute(&mut *conn)
        .await?;
    if done.rows_affected() == 0 {
        return Err(StoreError::NotFound);
    }
    Ok(())
}

/// A membership to create in a batch, with the user's email and name for the
/// member list's columns.
pub struct NewMembershipRow {
    pub membership: Membership,
    pub email: String,
    pub first_name: String,
    pub last_name: String,
}

pub async fn insert_many(
    conn: &mut Conn,
    rows: &[NewMembershipRow],
    now: OffsetDateTime,
) -> Result<()> {
    use crate::batch::Cell;
    let at = to_ms(now);
    let cells = rows
        .iter()
        .map(|r| {
            let m = &r.membership;
            let search = format!("{} {} {}", r.email, r.first_name, r.last_name).to_lowercase();
            vec![
                Cell::Text(m.org_id.to_string()),
                Cell::Text(m.user_id.to_string()),
                Cell::Text(m.role.as_str().to_owned()),
                Cell::Text(m.status.as_str().to_owned()),
                Cell::MaybeText(m.invited_by.map(|id| id.to_string())),
                Cell::MaybeInt(m.invited_at.map(to_ms)),
                Cell::MaybeInt(m.joined_at.map(to_ms)),
                Cell::Int(at),
                Cell::Text(r.email.clone()),
                Cell::Text(search),
            ]
        })
        .collect();
    crate::batch::insert(
        conn,
        "memberships",
        &[
            "org_id",
            "user_id",
            "role",
            "status",
            "invited_by",
            "invited_at",
            "joined_at",
            "created_at",
            "email",
            "search",
        ],
        cells,
    )
    .await
}

/// The statuses of those of `users` who already have a membership in `org_id`.
pub async fn statuses(
    conn: &mut Conn,
    org_id: OrgId,
    users: &[UserId],
) -> Result<Vec<(UserId, MembershipStatus)>> {
    if users.is_empty() {
        return Ok(Vec::new());
    }
    let sql = format!(
        "SELECT user_id, status FROM memberships WHERE org_id = $1 AND user_id IN ({})",
        crate::batch::placeholders(2, users.len())
    );
    let mut query = sqlx::query_as::<_, (String, String)>(&sql).bind(org_id.to_string());
    for user in users {
        query = query.bind(user.to_string());
    }
    query
        .fetch_all(&mut *conn)
        .await?
        .into_iter()
        .map(|(user, status)| {
            Ok((
                parse_stored("memberships.user_id", &user)?,
                parse_stored("memberships.status", &status)?,
            ))
        })
        .collect()
}
