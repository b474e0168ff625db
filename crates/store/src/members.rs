//! The member list of an organization: filters, search and keyset pagination by
//! email, served by the `(org_id, …, email)` indexes.

use crate::error::parse_stored;
use crate::time_ms::from_ms_opt;
use crate::{Conn, Result};
use muster_domain::{MembershipStatus, OrgId, OrgRole, UserId};
use time::OffsetDateTime;

#[derive(Debug, Clone, Default)]
pub struct MemberFilter {
    pub role: Option<OrgRole>,
    pub status: Option<MembershipStatus>,
    /// Matches email, first name, last name and the full name, ignoring case.
    pub q: Option<String>,
    /// Only members assigned to this solution.
    pub solution: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Member {
    pub user_id: UserId,
    pub email: String,
    pub first_name: String,
    pub last_name: String,
    pub role: OrgRole,
    pub status: MembershipStatus,
    pub invited_at: Option<OffsetDateTime>,
    pub joined_at: Option<OffsetDateTime>,
}

type Row = (
    String,
    String,
    String,
    String,
    String,
    String,
    Option<i64>,
    Option<i64>,
);

const SELECT: &str = "SELECT m.user_id, m.email, u.first_name, u.last_name, m.role, m.status, m.invited_at, m.joined_at \
                      FROM memberships m JOIN users u ON u.id = m.user_id";

/// Up to `limit` members after the email `after`, by email.
pub async fn list(
    conn: &mut Conn,
    org_id: OrgId,
    filter: &MemberFilter,
    after: Option<&str>,
    limit: i64,
) -> Result<Vec<Member>> {
    let mut sql = format!("{SELECT} WHERE m.org_id = $1");
    let mut binds: Vec<String> = vec![org_id.to_string()];
    let mut bind = |sql: &mut String, condition: &str, value: String| {
        binds.push(value);
        sql.push_str(&condition.replace('?', &format!("${}", binds.len())));
    };
    if let Some(role) = filter.role {
        bind(&mut sql, " AND m.role = ?", role.as_str().to_owned());
    }
    if let Some(status) = filter.status {
        bind(&mut sql, " AND m.status = ?", status.as_str().to_owned());
    }
    if let Some(solution) = &filter.solution {
        bind(
            &mut sql,
            " AND EXISTS (SELECT 1 FROM solution_assignments a \
             WHERE a.solution_id = ? AND a.user_id = m.user_id AND a.org_id = m.org_id)",
            solution.clone(),
        );
    }
    if let Some(after) = after {
        bind(&mut sql, " AND m.email > ?", after.to_owned());
    }
    if let Some(q) = filter.q.as_deref().map(str::trim).filter(|q| !q.is_empty()) {
        let pattern = format!("%{}%", escape_like(&q.to_lowercase()));
        bind(&mut sql, " AND m.search LIKE ? ESCAPE '\\'", pattern);
    }
    let limit_at = binds.len() + 1;
    sql.push_str(&format!(" ORDER BY m.email LIMIT ${limit_at}"));
    let mut query = sqlx::query_as::<_, Row>(&sql);
    for value in &binds {
        query = query.bind(value.as_str());
    }
    let rows = query.bind(limit).fetch_all(&mut *conn).await?;
    rows.into_iter().map(from_row).collect()
}

pub async fn find(conn: &mut Conn, org_id: OrgId, user_id: UserId) -> Result<Option<Member>> {
    let row: Option<Row> =
        sqlx::query_as(&format!("{SELECT} WHERE m.org_id = $1 AND m.user_id = $2"))
            .bind(org_id.to_string())
            .bind(user_id.to_string())
            .fetch_optional(&mut *conn)
            .await?;
    row.map(from_row).transpose()
}

fn from_row(
    (user_id, email, first_name, last_name, role, status, invited, joined): Row,
) -> Result<Member> {
    Ok(Member {
        user_id: parse_stored("memberships.user_id", &user_id)?,
        email,
        first_name,
        last_name,
        role: parse_stored("memberships.role", &role)?,
        status: parse_stored("memberships.status", &status)?,
        invited_at: from_ms_opt(invited),
        joined_at: from_ms_opt(joined),
    })
}

fn escape_like(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for c in value.chars() {
        if matches!(c, '%' | '_' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}
