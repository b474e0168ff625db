//! Solutions of an organization and their published versions.

use crate::error::parse_stored;
use crate::time_ms::{from_ms, to_ms};
use crate::{Conn, Result, StoreError};
use muster_domain::{OrgId, SolutionId, SolutionRole, UserId};
use time::OffsetDateTime;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Solution {
    pub id: SolutionId,
    pub org_id: OrgId,
    pub name: String,
    pub description: String,
    pub identifier: String,
    pub icon_color: String,
    pub icon_initials: String,
    pub latest_version: Option<String>,
    pub created_by: Option<UserId>,
    pub created_at: OffsetDateTime,
    pub updated_at: OffsetDateTime,
    /// Users assigned to it, whatever their solution role.
    pub user_count: i64,
    /// The viewer's own solution role on it, if any.
    pub viewer_role: Option<SolutionRole>,
}

/// The editable fields.
pub struct SolutionFields<'a> {
    pub name: &'a str,
    pub description: &'a str,
    pub identifier: &'a str,
    pub icon_color: &'a str,
    pub icon_initials: &'a str,
}

type Row = (
    String,
    String,
    String,
    String,
    String,
    String,
    String,
    Option<String>,
    Option<String>,
    i64,
    i64,
    i64,
    Option<String>,
);

/// `$1` is the viewer's user id.
const SELECT: &str = "SELECT s.id, s.org_id, s.name, s.description, s.identifier, s.icon_color, \
     s.icon_initials, s.latest_version, s.created_by, s.created_at, s.updated_at, \
     (SELECT COUNT(*) FROM solution_assignments c WHERE c.solution_id = s.id), \
     (SELECT v.role FROM solution_assignments v WHERE v.solution_id = s.id AND v.user_id = $1) \
     FROM solutions s";

fn from_row(row: Row) -> Result<Solution> {
    let (
        id,
        org_id,
        name,
        description,
        identifier,
        icon_color,
        icon_initials,
        latest,
        created_by,
        created,
        updated,
        user_count,
        viewer_role,
    ) = row;
    Ok(Solution {
        id: parse_stored("solutions.id", &id)?,
        org_id: parse_stored("solutions.org_id", &org_id)?,
        name,
        description,
        identifier,
        icon_color,
        icon_initials,
        latest_version: latest,
        created_by: created_by
            .map(|id| parse_stored("solutions.created_by", &id))
            .transpose()?,
        created_at: from_ms(created),
        updated_at: from_ms(updated),
        user_count,
        viewer_role: viewer_role
            .map(|role| parse_stored("solution_assignments.role", &role))
            .transpose()?,
    })
}

/// Creates a solution; an identifier already used in the organization is a
/// `Conflict`.
pub async fn insert(
    conn: &mut Conn,
    org_id: OrgId,
    fields: &SolutionFields<'_>,
    created_by: UserId,
    now: OffsetDateTime,
) -> Result<SolutionId> {
    let id = SolutionId::new();
    sqlx::query(
        "INSERT INTO solutions (id, org_id, name, description, identifier, icon_color, icon_initials, \
         created_by, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $9)",
    )
    .bind(id.to_string())
    .bind(org_id.to_string())
    .bind(fields.name)
    .bind(fields.description)
    .bind(fields.identifier)
    .bind(fields.icon_color)
    .bind(fields.icon_initials)
    .bind(created_by.to_string())
    .bind(to_ms(now))
    .execute(&mut *conn)
    .await?;
    Ok(id)
}

/// The solution `id` of `org_id` (another organization's is not found), as
/// `viewer` sees it.
pub async fn find(
    conn: &mut Conn,
    org_id: OrgId,
    id: SolutionId,
    viewer: UserId,
) -> Result<Option<Solution>> {
    let row: Option<Row> = sqlx::query_as(&format!("{SELECT} WHERE s.id = $2 AND s.org_id = $3"))
        .bind(viewer.to_string())
        .bind(id.to_string())
        .bind(org_id.to_string())
        .fetch_optional(&mut *conn)
        .await?;
    row.map(from_row).transpose()
}

/// Up to `limit` solutions after the identifier `after`, by identifier. With
/// `only_assigned`, just those where `viewer` holds a role other than `deny`.
pub async fn list(
    conn: &mut Conn,
    org_id: OrgId,
    viewer: UserId,
    only_assigned: bool,
    after: Option<&str>,
    limit: i64,
) -> Result<Vec<Solution>> {
    let mut sql = format!("{SELECT} WHERE s.org_id = $2 AND s.identifier > $3");
    if only_assigned {
        sql.push_str(
            " AND EXISTS (SELECT 1 FROM solution_assignments a \
             WHERE a.solution_id = s.id AND a.user_id = $1 AND a.role <> 'deny')",
        );
    }
    sql.push_str(" ORDER BY s.identifier LIMIT $4");
    let rows: Vec<Row> = sqlx::query_as(&sql)
        .bind(viewer.to_string())
        .bind(org_id.to_string())
        .bind(after.unwrap_or(""))
        .bind(limit)
        .fetch_all(&mut *conn)
        .await?;
    rows.into_iter().map(from_row).collect()
}

pub async fn update(
    conn: &mut Conn,
    id: SolutionId,
    fields: &SolutionFields<'_>,
    now: OffsetDateTime,
) -> Result<()> {
    sqlx::query(
        "UPDATE solutions SET name = $2, description = $3, identifier = $4, icon_color = $5, \
         icon_initials = $6, updated_at = $7 WHERE id = $1",
    )
    .bind(id.to_string())
    .bind(fields.name)
    .bind(fields.description)
    .bind(fields.identifier)
    .bind(fields.icon_color)
    .bind(fields.icon_initials)
    .bind(to_ms(now))
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// What deleting a solution took with it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Removed {
    pub assignments: i64,
    pub groups: i64,
    pub versions: i64,
}

/// Deletes the solution with its assignments, groups and versions.
pub async fn delete(conn: &mut Conn, id: SolutionId) -> Result<Removed> {
    let count =
        |table: &'static str| format!("SELECT COUNT(*) FROM {table} WHERE solution_id = $1");
    let mut removed = Removed {
        assignments: 0,
        groups: 0,
        versions: 0,
    };
    for (table, slot) in [
        ("solution_assignments", &mut removed.assignments),
        ("solution_groups", &mut removed.groups),
        ("solution_versions", &mut removed.versions),
    ] {
        let (n,): (i64,) = sqlx::query_as(&count(table))
            .bind(id.to_string())
            .fetch_one(&mut *conn)
            .await?;
        *slot = n;
    }
    // The foreign keys cascade to assignments, groups, group members, versions.
    let done = sqlx::query("DELETE FROM solutions WHERE id = $1")
        .bind(id.to_string())
        .execute(&mut *conn)
        .await?;
    if done.rows_affected() == 0 {
        return Err(StoreError::NotFound);
    }
    Ok(removed)
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Version {
    pub version: String,
    pub notes: String,
    pub published_by: Option<String>,
    pub published_at: OffsetDateTime,
}

/// Publishes `version`; publishing the same version twice is a `Conflict`.
pub async fn insert_version(
    conn: &mut Conn,
    solution: SolutionId,
    version: &str,
    notes: &str,
    published_by: UserId,
    now: OffsetDateTime,
) -> Result<()> {
    sqlx::query(
        "INSERT INTO solution_versions (solution_id, version, notes, published_by, published_at) \
         VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(solution.to_string())
    .bind(version)
    .bind(notes)
    .bind(published_by.to_string())
    .bind(to_ms(now))
    .execute(&mut *conn)
    .await?;
    Ok(())
}

pub async fn set_latest_version(
    conn: &mut Conn,
    solution: SolutionId,
    version: &str,
) -> Result<()> {
    sqlx::query("UPDATE solutions SET latest_version = $2 WHERE id = $1")
        .bind(solution.to_string())
        .bind(version)
        .execute(&mut *conn)
        .await?;
    Ok(())
}

/// Every version, newest published first, with the publisher's email.
pub async fn versions(conn: &mut Conn, solution: SolutionId) -> Result<Vec<Version>> {
    let rows: Vec<(String, String, Option<String>, i64)> = sqlx::query_as(
        "SELECT v.version, v.notes, u.email, v.published_at FROM solution_versions v \
         LEFT JOIN users u ON u.id = v.published_by WHERE v.solution_id = $1 \
         ORDER BY v.published_at DESC, v.version DESC",
    )
    .bind(solution.to_string())
    .fetch_all(&mut *conn)
    .await?;
    Ok(rows
        .into_iter()
        .map(|(version, notes, published_by, at)| Version {
            version,
            notes,
            published_by,
            published_at: from_ms(at),
        })
        .collect())
}
