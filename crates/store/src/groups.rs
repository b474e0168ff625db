//! Groups inside a solution; only users assigned to the solution are members.

use crate::error::parse_stored;
use crate::time_ms::{from_ms, to_ms};
use crate::{Conn, Result};
use muster_domain::{GroupId, OrgId, SolutionId, UserId};
use time::OffsetDateTime;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Group {
    pub id: GroupId,
    pub solution_id: SolutionId,
    pub name: String,
    pub created_at: OffsetDateTime,
    pub members: Vec<GroupMember>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GroupMember {
    pub user_id: UserId,
    pub email: String,
}

/// Creates a group; a name already used in the solution is a `Conflict`.
pub async fn insert(
    conn: &mut Conn,
    solution: SolutionId,
    name: &str,
    now: OffsetDateTime,
) -> Result<GroupId> {
    let id = GroupId::new();
    sqlx::query(
        "INSERT INTO solution_groups (id, solution_id, name, created_at) VALUES ($1, $2, $3, $4)",
    )
    .bind(id.to_string())
    .bind(solution.to_string())
    .bind(name)
    .bind(to_ms(now))
    .execute(&mut *conn)
    .await?;
    Ok(id)
}

/// The solution's groups by name, each with its members by email.
pub async fn list(conn: &mut Conn, solution: SolutionId) -> Result<Vec<Group>> {
    list_page(conn, solution, None, i64::MAX).await
}

/// Up to `limit` of the solution's groups by name after the name `after`, each
/// with its members by email. Names are unique within a solution.
pub async fn list_page(
    conn: &mut Conn,
    solution: SolutionId,
    after: Option<&str>,
    limit: i64,
) -> Result<Vec<Group>> {
    let page = "SELECT id FROM solution_groups WHERE solution_id = $1 AND name > $2 ORDER BY name LIMIT $3";
    let rows: Vec<(String, String, i64)> = sqlx::query_as(&format!(
        "SELECT id, name, created_at FROM solution_groups WHERE id IN ({page}) ORDER BY name, id"
    ))
    .bind(solution.to_string())
    .bind(after.unwrap_or(""))
    .bind(limit)
    .fetch_all(&mut *conn)
    .await?;
    let members: Vec<(String, String, String)> = sqlx::query_as(&format!(
        "SELECT g.group_id, g.user_id, u.email FROM solution_group_members g \
         JOIN users u ON u.id = g.user_id WHERE g.group_id IN ({page}) ORDER BY u.email"
    ))
    .bind(solution.to_string())
    .bind(after.unwrap_or(""))
    .bind(limit)
    .fetch_all(&mut *conn)
    .await?;
    let mut groups = Vec::with_capacity(rows.len());
    for (id, name, created) in rows {
        let mut group_members = Vec::new();
        for (group_id, user_id, email) in &members {
            if *group_id == id {
                group_members.push(GroupMember {
                    user_id: parse_stored("solution_group_members.user_id", user_id)?,
                    email: email.clone(),
                });
            }
        }
        groups.push(Group {
            id: parse_stored("solution_groups.id", &id)?,
            solution_id: solution,
            name,
            created_at: from_ms(created),
            members: group_members,
        });
    }
    Ok(groups)
}

pub async fn find(conn: &mut Conn, solution: SolutionId, id: GroupId) -> Result<Option<Group>> {
    Ok(list(conn, solution)
        .await?
        .into_iter()
        .find(|group| group.id == id))
}

/// A group of any solution of `org_id`.
pub async fn find_in_org(conn: &mut Conn, org_id: OrgId, id: GroupId) -> Result<Option<Group>> {
    let row: Option<(String,)> = sqlx::query_as(
        "SELECT g.solution_id FROM solution_groups g JOIN solutions s ON s.id = g.solution_id \
         WHERE g.id = $1 AND s.org_id = $2",
    )
    .bind(id.to_string())
    .bind(org_id.to_string())
    .fetch_optional(&mut *conn)
    .await?;
    match row {
        Some((solution,)) => {
            find(
                conn,
                parse_stored("solution_groups.solution_id", &solution)?,
                id,
            )
            .await
        }
        None => Ok(None),
    }
}

pub async fn delete(conn: &mut Conn, id: GroupId) -> Result<()> {
    sqlx::query("DELETE FROM solution_groups WHERE id = $1")
        .bind(id.to_string())
        .execute(&mut *conn)
        .await?;
    Ok(())
}

/// Adds an assigned user to the group; adding twice changes nothing.
pub async fn add_member(
    conn: &mut Conn,
    solution: SolutionId,
    id: GroupId,
    user: UserId,
    now: OffsetDateTime,
) -> Result<bool> {
    let (exists,): (i64,) = sqlx::query_as(
        "SELECT COUNT(*) FROM solution_group_members WHERE group_id = $1 AND user_id = $2",
    )
    .bind(id.to_string())
    .bind(user.to_string())
    .fetch_one(&mut *conn)
    .await?;
    if exists > 0 {
        return Ok(false);
    }
    sqlx::query(
        "INSERT INTO solution_group_members (group_id, solution_id, user_id, added_at) VALUES ($1, $2, $3, $4)",
    )
    .bind(id.to_string())
    .bind(solution.to_string())
    .bind(user.to_string())
    .bind(to_ms(now))
    .execute(&mut *conn)
    .await?;
    Ok(true)
}

pub async fn remove_member(conn: &mut Conn, id: GroupId, user: UserId) -> Result<bool> {
    let done =
        sqlx::query("DELETE FROM solution_group_members WHERE group_id = $1 AND user_id = $2")
            .bind(id.to_string())
            .bind(user.to_string())
            .execute(&mut *conn)
            .await?;
    Ok(done.rows_affected() > 0)
}
