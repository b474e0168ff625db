//! A solution's groups: creating and deleting them, and who is in them.

//! `muster_domain::solution::rights`; every change is audited in its transaction.

use super::service::{allowed, member_of, visible};
use crate::error::{AppError, AppResult};
use crate::features::audit_log::service as audit;
use crate::scope::Actor;
use crate::state::AppState;
use muster_domain::solution::{self};
use muster_domain::AuditAction;
use muster_domain::{GroupId, OrgId, SolutionId, UserId};
use muster_store::solutions::Solution;
use muster_store::{assignments, groups, Conn, StoreError};
use serde_json::json;

pub async fn create_group(
    conn: &mut Conn,
    state: &AppState,
    org_id: OrgId,
    actor: &Actor,
    id: SolutionId,
    name: &str,
) -> AppResult<GroupId> {
    let (current, rights) = visible(conn, org_id, actor, id).await?;
    allowed(rights.assign)?;
    let name = solution::group_name(name).map_err(|e| AppError::invalid("name", e.to_string()))?;
    let now = state.now();
    let group = groups::insert(conn, id, &name, now)
        .await
        .map_err(|error| match error {
            StoreError::Conflict(_) => {
                AppError::Conflict(format!("this solution already has a group called {name:?}"))
            }
            other => other.into(),
        })?;
    audit::record(
        conn,
        org_id,
        actor,
        AuditAction::SolutionGroupCreated,
        &current.identifier,
        None,
        Some(json!({"group": name})),
        now,
    )
    .await?;
    Ok(group)
}

async fn group_of(
    conn: &mut Conn,
    org_id: OrgId,
    actor: &Actor,
    id: SolutionId,
    group: GroupId,
) -> AppResult<(Solution, groups::Group)> {
    let (current, rights) = visible(conn, org_id, actor, id).await?;
    let found = groups::find(conn, id, group)
        .await?
        .ok_or(AppError::NotFound)?;
    allowed(rights.assign)?;
    Ok((current, found))
}

pub async fn delete_group(
    conn: &mut Conn,
    state: &AppState,
    org_id: OrgId,
    actor: &Actor,
    id: SolutionId,
    group: GroupId,
) -> AppResult<()> {
    let (current, found) = group_of(conn, org_id, actor, id, group).await?;
    groups::delete(conn, group).await?;
    audit::record(
        conn,
        org_id,
        actor,
        AuditAction::SolutionGroupDeleted,
        &current.identifier,
        Some(json!({"group": found.name, "members": found.members.len()})),
        None,
        state.now(),
    )
    .await?;
    Ok(())
}

/// Puts an assigned user in the group; someone not assigned to the solution is
/// refused (422).
pub async fn add_to_group(
    conn: &mut Conn,
    state: &AppState,
    org_id: OrgId,
    actor: &Actor,
    id: SolutionId,
    group: GroupId,
    user: UserId,
) -> AppResult<()> {
    let (current, found) = group_of(conn, org_id, actor, id, group).await?;
    let member = member_of(conn, org_id, user).await?;
    if assignments::find(conn, id, user).await?.is_none() {
        return Err(AppError::invalid(
            "user",
            format!(
                "{} is not assigned to this solution; assign them first",
                member.email
            ),
        ));
    }
    let now = state.now();
    if groups::add_member(conn, id, group, user, now).await? {
        audit::record(
            conn,
            org_id,
            actor,
            AuditAction::SolutionGroupMemberAdded,
            &member.email,
            None,
            Some(json!({"solution": current.identifier, "group": found.name})),
            now,
        )
        .await?;
    }
    Ok(())
}

pub async fn remove_from_group(
    conn: &mut Conn,
    state: &AppState,
    org_id: OrgId,
    actor: &Actor,
    id: SolutionId,
    group: GroupId,
    user: UserId,
) -> AppResult<()> {
    let (current, found) = group_of(conn, org_id, actor, id, group).await?;
    let member = member_of(conn, org_id, user).await?;
    if !groups::remove_member(conn, group, user).await? {
        return Err(AppError::NotFound);
    }
    audit::record(
        conn,
        org_id,
        actor,
        AuditAction::SolutionGroupMemberRemoved,
        &member.email,
        Some(json!({"solution": current.identifier, "group": found.name})),
        None,
        state.now(),
    )
    .await?;
    Ok(())
}
