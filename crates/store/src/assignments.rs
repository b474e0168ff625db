//! Solution assignments: a member's solution role on one solution.

use crate::error::parse_stored;
use crate::time_ms::to_ms;
use crate::{Conn, Result};
use muster_domain::{MembershipStatus, OrgId, OrgRole, SolutionId, SolutionRole, UserId};
use time::OffsetDateTime;

/// Assigns `user` to `solution` with `role`, or changes the role. Returns the
/// role before, if there was an assignment.
pub async fn upsert(
    conn: &mut Conn,
    org_id: OrgId,
    solution: SolutionId,
    user: UserId,
    role: SolutionRole,
    now: OffsetDateTime,
) -> Result<Option<SolutionRole>> {
    let before = find(conn, solution, user).await?;
    if before.is_some() {
        sqlx::query(
            "UPDATE solution_assignments SET role = $3 WHERE solution_id = $1 AND user_id = $2",
        )
        .bind(solution.to_string())
        .bind(user.to_string())
        .bind(role.as_str())
        .execute(&mut *conn)
        .await?;
    } else {
        sqlx::query(
            "INSERT INTO solution_assignments (solution_id, user_id, org_id, role, assigned_at, email) \
             VALUES ($1, $2, $3, $4, $5, (SELECT email FROM users WHERE id = $2))",
        )
        .bind(solution.to_string())
        .bind(user.to_string())
        .bind(org_id.to_string())
        .bind(role.as_str())
        .bind(to_ms(now))
        .execute(&mut *conn)
        .await?;
    }
    Ok(before)
}

pub async fn find(
    conn: &mut Conn,
    solution: SolutionId,
    user: UserId,
) -> Result<Option<SolutionRole>> {
    let row: Option<(String,)> = sqlx::query_as(
        "SELECT role FROM solution_assignments WHERE solution_id = $1 AND user_id = $2",
    )
    .bind(solution.to_string())
    .bind(user.to_string())
    .fetch_optional(&mut *conn)
    .await?;
    row.map(|(role,)| parse_stored("solution_assignments.role", &role))
        .transpose()
}

/// The owners and the assignees of `solution` other than `user`.
pub async fn others(conn: &mut Conn, solution: SolutionId, user: UserId) -> Result<(i64, i64)> {
    let row: (i64, i64) = sqlx::query_as(
        "SELECT COALESCE(SUM(CASE WHEN role = 'owner' THEN 1 ELSE 0 END), 0), COUNT(*) \
         FROM solution_assignments WHERE solution_id = $1 AND user_id <> $2",
    )
    .bind(solution.to_string())
    .bind(user.to_string())
    .fetch_one(&mut *conn)
    .await?;
    Ok(row)
}

/// Ends the assignment (and so the user's place in the solution's groups).
/// Returns the role it had, or `None` if there was none.
pub async fn delete(
    conn: &mut Conn,
    solution: SolutionId,
    user: UserId,
) -> Result<Option<SolutionRole>> {
    let before = find(conn, solution, user).await?;
    if before.is_some() {
        sqlx::query("DELETE FROM solution_assignments WHERE solution_id = $1 AND user_id = $2")
            .bind(solution.to_string())
            .bind(user.to_string())
            .execute(&mut *conn)
            .await?;
    }
    Ok(before)
}

/// A member as a solution's user list shows them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Assignee {
    pub user_id: UserId,
    pub email: String,
    pub first_name: String,
    pub last_name: String,
    pub org_role: OrgRole,
    pub status: MembershipStatus,
    pub role: SolutionRole,
}

/// Up to `limit` users of the solution after the email `after`, by email.
pub async fn list_for_solution(
    conn: &mut Conn,
    solution: SolutionId,
    after: Option<&str>,
    limit: i64,
) -> Result<Vec<Assignee>> {
    let rows: Vec<(String, String, String, String, String, String, String)> = sqlx::query_as(
        "SELECT a.user_id, m.email, u.first_name, u.last_name, m.role, m.status, a.role \
         FROM solution_assignments a \
         JOIN memberships m ON m.org_id = a.org_id AND m.user_id = a.user_id \
         JOIN users u ON u.id = a.user_id \
         WHERE a.solution_id = $1 AND a.email > $2 ORDER BY a.email LIMIT $3",
    )
    .bind(solution.to_string())
    .bind(after.unwrap_or(""))
    .bind(limit)
    .fetch_all(&mut *conn)
    .await?;
    rows.into_iter()
        .map(
            |(user_id, email, first_name, last_name, org_role, status, role)| {
                Ok(Assignee {
                    user_id: parse_stored("solution_assignments.user_id", &user_id)?,
                    email,
                    first_name,
                    last_name,
                    org_role: parse_stored("memberships.role", &org_role)?,
                    status: parse_stored("memberships.status", &status)?,
                    role: parse_stored("solution_assignments.role", &role)?,
                })
            },
        )
        .collect()
}

/// One of a member's solutions.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Assigned {
    pub user_id: UserId,
    pub solution_id: SolutionId,
    pub name: String,
    pub identifier: String,
    pub latest_version: Option<String>,
    pub role: SolutionRole,
}

const ASSIGNED: &str = "SELECT a.user_id, s.id, s.name, s.identifier, s.latest_version, a.role \
     FROM solution_assignments a JOIN solutions s ON s.id = a.solution_id";

type AssignedRow = (String, String, String, String, Option<String>, String);

fn assigned(rows: Vec<AssignedRow>) -> Result<Vec<Assigned>> {
    rows.into_iter()
        .map(
            |(user_id, solution_id, name, identifier, latest_version, role)| {
                Ok(Assigned {
                    user_id: parse_stored("solution_assignments.user_id", &user_id)?,
                    solution_id: parse_stored("solutions.id", &solution_id)?,
                    name,
                    identifier,
                    latest_version,
                    role: parse_stored("solution_assignments.role", &role)?,
                })
            },
        )
        .collect()
}

/// The solutions of each of `users` in the organization (one query for a page
/// of the member list).
pub async fn for_members(
    conn: &mut Conn,
    org_id: OrgId,
    users: &[UserId],
) -> Result<Vec<Assigned>> {
    if users.is_empty() {
        return Ok(Vec::new());
    }
    let placeholders: Vec<String> = (0..users.len()).map(|i| format!("${}", i + 2)).collect();
    let sql = format!(
        "{ASSIGNED} WHERE a.org_id = $1 AND a.user_id IN ({}) ORDER BY s.name, s.id",
        placeholders.join(", ")
    );
    let mut query = sqlx::query_as::<_, AssignedRow>(&sql).bind(org_id.to_string());
    for user in users {
        query = query.bind(user.to_string());
    }
    assigned(query.fetch_all(&mut *conn).await?)
}

/// A member's solutions in one organization, by name.
pub async fn for_member(conn: &mut Conn, org_id: OrgId, user: UserId) -> Result<Vec<Assigned>> {
    for_members(conn, org_id, &[user]).await
}

/// A user's solutions with `roles`, with the organization's name, across
/// every organization where the membership is active ("My solutions").
pub async fn of_user_with_roles(
    conn: &mut Conn,
    user: UserId,
    roles: &[SolutionRole],
) -> Result<Vec<(OrgId, String, Assigned)>> {
    let wanted: Vec<String> = roles.iter().map(|r| format!("'{}'", r.as_str())).collect();
    let sql = format!(
        "SELECT o.id, o.name, a.user_id, s.id, s.name, s.identifier, s.latest_version, a.role \
         FROM solution_assignments a JOIN solutions s ON s.id = a.solution_id \
         JOIN organizations o ON o.id = a.org_id \
         JOIN memberships m ON m.org_id = a.org_id AND m.user_id = a.user_id \
         WHERE a.user_id = $1 AND m.status = 'active' AND a.role IN ({}) ORDER BY o.name, s.name",
        wanted.join(", ")
    );
    type Row = (
        String,
        String,
        String,
        String,
        String,
        String,
        Option<String>,
        String,
    );
    let rows: Vec<Row> = sqlx::query_as(&sql)
        .bind(user.to_string())
        .fetch_all(&mut *conn)
        .await?;
    rows.into_iter()
        .map(
            |(org_id, org_name, user_id, solution_id, name, identifier, latest, role)| {
                let mut one =
                    assigned(vec![(user_id, solution_id, name, identifier, latest, role)])?;
                let item = one.pop().ok_or(crate::StoreError::NotFound)?;
                Ok((parse_stored("organizations.id", &org_id)?, org_name, item))
            },
        )
        .collect()
}
