//! Changing members: org role, disable/enable, removal (and leaving), with the
//! invariants of SPEC §2 decided by the domain.

use crate::error::{AppError, AppResult};
use crate::features::audit_log::service as audit;
use crate::features::notifications::hub;
use crate::features::solutions::service as solutions;
use crate::page::{Page, PageQuery};
use crate::scope::Actor;
use crate::scope::OrgScope;
use crate::state::AppState;
use muster_domain::permission::{self, check_disable_or_remove, check_role_change};
use muster_domain::AuditAction;
use muster_domain::{InvitationStatus, MembershipStatus, OrgId, OrgRole, UserId};
use muster_store::members::{self, Member, MemberFilter};
use muster_store::{invitations, memberships, Conn};
use serde_json::json;

fn as_member(actor: &Actor) -> permission::Member {
    permission::Member {
        user_id: actor.user_id,
        role: actor.role,
        status: MembershipStatus::Active,
    }
}

async fn target(
    conn: &mut Conn,
    org_id: OrgId,
    user_id: UserId,
) -> AppResult<(Member, permission::Member)> {
    let member = members::find(conn, org_id, user_id)
        .await?
        .ok_or(AppError::NotFound)?;
    let subject = permission::Member {
        user_id,
        role: member.role,
        status: member.status,
    };
    Ok((member, subject))
}

pub async fn change_role(
    conn: &mut Conn,
    state: &AppState,
    org_id: OrgId,
    actor: &Actor,
    user_id: UserId,
    role: OrgRole,
) -> AppResult<()> {
    let (member, subject) = target(conn, org_id, user_id).await?;
    let owners = memberships::count_active_owners(conn, org_id).await?;
    check_role_change(as_member(actor), subject, role, owners)?;
    if member.role == role {
        return Ok(());
    }
    memberships::set_role(conn, org_id, user_id, role).await?;
    audit::record(
        conn,
        org_id,
        actor,
        AuditAction::MemberRoleChanged,
        &member.email,
        Some(json!({"role": member.role})),
        Some(json!({"role": role})),
        state.now(),
    )
    .await
}

/// Disables (`true`) or enables (`false`) an active or disabled member.
pub async fn set_disabled(
    conn: &mut Conn,
    state: &AppState,
    org_id: OrgId,
    actor: &Actor,
    user_id: UserId,
    disabled: bool,
) -> AppResult<()> {
    if actor.user_id == user_id {
        return Err(AppError::Denied(
            "you cannot disable or enable yourself".into(),
        ));
    }
    let (member, subject) = target(conn, org_id, user_id).await?;
    let owners = memberships::count_active_owners(conn, org_id).await?;
    check_disable_or_remove(as_member(actor), subject, owners)?;
    let (from, to, action) = if disabled {
        (
            MembershipStatus::Active,
            MembershipStatus::Disabled,
            AuditAction::MemberDisabled,
        )
    } else {
        (
            MembershipStatus::Disabled,
            MembershipStatus::Active,
            AuditAction::MemberEnabled,
        )
    };
    if member.status == to {
        return Ok(());
    }
    if member.status != from {
        return Err(AppError::Conflict(format!(
            "this member is {}; only {} members can be {}",
            member.status,
            from,
            if disabled {
                "disabled (revoke an invitation instead)"
            } else {
                "enabled"
            }
        )));
    }
    memberships::set_status(conn, org_id, user_id, to).await?;
    if disabled {
        hub::member_left(state, conn, org_id, user_id).await?;
    }
    audit::record(
        conn,
        org_id,
        actor,
        action,
        &member.email,
        Some(json!({"status": from})),
        Some(json!({"status": to})),
        state.now(),
    )
    .await
}

/// Removes a member (or, with their own id, leaves). Their account stays.
pub async fn remove(
    conn: &mut Conn,
    state: &AppState,
    org_id: OrgId,
    actor: &Actor,
    user_id: UserId,
) -> AppResult<()> {
    let (member, subject) = target(conn, org_id, user_id).await?;
    let owners = memberships::count_active_owners(conn, org_id).await?;
    check_disable_or_remove(as_member(actor), subject, owners)?;
    let now = state.now();
    invitations::end_pending(conn, org_id, user_id, InvitationStatus::Revoked, now).await?;
    memberships::delete(conn, org_id, user_id).await?;
    hub::member_left(state, conn, org_id, user_id).await?;
    let action = if actor.user_id == user_id {
        AuditAction::MemberLeft
    } else {
        AuditAction::MemberRemoved
    };
    audit::record(
        conn,
        org_id,
        actor,
        action,
        &member.email,
        Some(json!({"role": member.role, "status": member.status})),
        None,
        now,
    )
    .await
}

/// A page of the organization's members in email order, filtered.
pub async fn list(
    conn: &mut Conn,
    org_id: OrgId,
    filter: &MemberFilter,
    page: &PageQuery,
) -> AppResult<Page<Member>> {
    let limit = page.limit()?;
    let after = page.after()?;
    let rows = members::list(conn, org_id, filter, after.as_deref(), limit + 1).await?;
    Ok(Page::from_rows(rows, limit, |m: &Member| m.email.clone()))
}

/// Whether `solution` (an id as typed) is one `actor` sees, and so may filter
/// the member list by.
pub async fn can_filter_by(
    conn: &mut Conn,
    scope: &OrgScope,
    actor: &Actor,
    solution: &str,
) -> AppResult<bool> {
    let Ok(id) = solution.parse() else {
        return Ok(false);
    };
    match solutions::visible(conn, scope.org_id, actor, id).await {
        Ok(_) => Ok(true),
        Err(AppError::NotFound) => Ok(false),
        Err(other) => Err(other),
    }
}
