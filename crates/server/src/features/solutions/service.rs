//! Solutions as members change them: create, edit, delete, publish versions,
//! assign users with solution roles, and groups. Who may do what is decided by
//! `muster_domain::solution::rights`; every change is audited in its transaction.

use crate::error::{AppError, AppResult};
use crate::features::audit_log::service as audit;
use crate::scope::Actor;
use crate::state::AppState;
use muster_domain::permission::{can, Capability};
use muster_domain::solution::{self, SolutionRights};
use muster_domain::AuditAction;
use muster_domain::{names, Invalid, OrgId, SolutionId, SolutionRole, UserId};
use muster_store::solutions::{self, Removed, Solution, SolutionFields};
use muster_store::{assignments, members, Conn, StoreError};
use serde::Deserialize;
use serde_json::json;
use utoipa::ToSchema;

/// Fields of a solution; on create `name` is required and the rest have
/// defaults, on update absent fields stay as they are.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SolutionInput {
    #[schema(max_length = 100)]
    pub name: Option<String>,
    #[schema(max_length = 1000)]
    pub description: Option<String>,
    /// A slug unique in the organization, e.g. `field-inspections`; made from
    /// the name when absent on create.
    pub identifier: Option<String>,
    /// `#rrggbb`.
    pub icon_color: Option<String>,
    /// One or two letters or digits.
    pub icon_initials: Option<String>,
}

struct Checked {
    name: String,
    description: String,
    identifier: String,
    icon_color: String,
    icon_initials: String,
}

impl Checked {
    fn fields(&self) -> SolutionFields<'_> {
        SolutionFields {
            name: &self.name,
            description: &self.description,
            identifier: &self.identifier,
            icon_color: &self.icon_color,
            icon_initials: &self.icon_initials,
        }
    }
}

fn check(input: &SolutionInput, current: Option<&Solution>) -> Result<Checked, Invalid> {
    let mut invalid = Invalid::default();
    let name = match (&input.name, current) {
        (Some(name), _) => invalid.check("name", names::required_text(name, names::NAME_MAX)),
        (None, Some(current)) => Some(current.name.clone()),
        (None, None) => {
            invalid.push("name", "is required");
            None
        }
    };
    let description = match (&input.description, current) {
        (Some(text), _) => invalid.check(
            "description",
            names::optional_text(text, names::DESCRIPTION_MAX),
        ),
        (None, Some(current)) => Some(current.description.clone()),
        (None, None) => Some(String::new()),
    };
    let identifier = match (&input.identifier, current, &name) {
        (Some(raw), _, _) => invalid.check("identifier", solution::identifier(raw)),
        (None, Some(current), _) => Some(current.identifier.clone()),
        (None, None, Some(name)) => Some(solution::identifier_from_name(name)),
        (None, None, None) => None,
    };
    let icon_color = match (&input.icon_color, current, &identifier) {
        (Some(raw), _, _) if !raw.trim().is_empty() => {
            invalid.check("icon_color", solution::icon_color(raw))
        }
        (_, Some(current), _) => Some(current.icon_color.clone()),
        (_, None, Some(identifier)) => Some(solution::default_icon_color(identifier)),
        _ => None,
    };
    let icon_initials = match (&input.icon_initials, current, &name) {
        (Some(raw), _, _) if !raw.trim().is_empty() => {
            invalid.check("icon_initials", solution::icon_initials(raw))
        }
        (_, Some(current), _) => Some(current.icon_initials.clone()),
        (_, None, Some(name)) => Some(solution::default_initials(name)),
        _ => None,
    };
    match (name, description, identifier, icon_color, icon_initials) {
        (
            Some(name),
            Some(description),
            Some(identifier),
            Some(icon_color),
            Some(icon_initials),
        ) if invalid.is_empty() => Ok(Checked {
            name,
            description,
            identifier,
            icon_color,
            icon_initials,
        }),
        _ => Err(invalid),
    }
}

fn identifier_taken(error: StoreError) -> AppError {
    match error {
        StoreError::Conflict(_) => {
            AppError::Conflict("another solution of this organization has this identifier".into())
        }
        other => other.into(),
    }
}

/// The solution `id` as `actor` may see it; one they may not see is 404.
pub async fn visible(
    conn: &mut Conn,
    org_id: OrgId,
    actor: &Actor,
    id: SolutionId,
) -> AppResult<(Solution, SolutionRights)> {
    let found = solutions::find(conn, org_id, id, actor.user_id)
        .await?
        .ok_or(AppError::NotFound)?;
    let rights = solution::rights(actor.role, found.viewer_role);
    if !rights.see {
        return Err(AppError::NotFound);
    }
    Ok((found, rights))
}

/// A member of the organization (any status); anyone else is 404.
pub(super) async fn member_of(
    conn: &mut Conn,
    org_id: OrgId,
    user: UserId,
) -> AppResult<members::Member> {
    members::find(conn, org_id, user)
        .await?
        .ok_or(AppError::NotFound)
}

pub(super) fn allowed(granted: bool) -> AppResult<()> {
    if granted {
        Ok(())
    } else {
        Err(AppError::Denied(
            "your organization role and solution role do not allow this".into(),
        ))
    }
}

/// Creates a solution; its creator becomes its solution `owner`.
pub async fn create(
    conn: &mut Conn,
    state: &AppState,
    org_id: OrgId,
    actor: &Actor,
    input: &SolutionInput,
) -> AppResult<SolutionId> {
    allowed(can(actor.role, Capability::CreateSolution))?;
    let checked = check(input, None)?;
    let now = state.now();
    let id = solutions::insert(conn, org_id, &checked.fields(), actor.user_id, now)
        .await
        .map_err(identifier_taken)?;
    assignments::upsert(conn, org_id, id, actor.user_id, SolutionRole::Owner, now).await?;
    audit::record(
        conn,
        org_id,
        actor,
        AuditAction::SolutionCreated,
        &checked.identifier,
        None,
        Some(json!({"name": checked.name, "identifier": checked.identifier})),
        now,
    )
    .await?;
    Ok(id)
}

pub async fn update(
    conn: &mut Conn,
    state: &AppState,
    org_id: OrgId,
    actor: &Actor,
    id: SolutionId,
    input: &SolutionInput,
) -> AppResult<()> {
    let (current, rights) = visible(conn, org_id, actor, id).await?;
    allowed(rights.edit)?;
    let checked = check(input, Some(&current))?;
    let now = state.now();
    solutions::update(conn, id, &checked.fields(), now)
        .await
        .map_err(identifier_taken)?;
    audit::record(
        conn,
        org_id,
        actor,
        AuditAction::SolutionUpdated,
        &checked.identifier,
        Some(json!({"name": current.name, "identifier": current.identifier, "description": current.description})),
        Some(json!({"name": checked.name, "identifier": checked.identifier, "description": checked.description})),
        now,
    )
    .await?;
    Ok(())
}

/// Deletes the solution with its assignments, groups and versions; the audit
/// event says how many of each went with it.
pub async fn delete(
    conn: &mut Conn,
    state: &AppState,
    org_id: OrgId,
    actor: &Actor,
    id: SolutionId,
) -> AppResult<Removed> {
    let (current, rights) = visible(conn, org_id, actor, id).await?;
    allowed(rights.delete)?;
    let removed = solutions::delete(conn, id).await?;
    audit::record(
        conn,
        org_id,
        actor,
        AuditAction::SolutionDeleted,
        &current.identifier,
        Some(json!({
            "name": current.name,
            "identifier": current.identifier,
            "latest_version": current.latest_version,
            "assignments": removed.assignments,
            "groups": removed.groups,
            "versions": removed.versions,
        })),
        None,
        state.now(),
    )
    .await?;
    Ok(removed)
}

/// Publishes a version (semantic versioning); the solution's latest version
/// is the highest published.
pub async fn publish(
    conn: &mut Conn,
    state: &AppState,
    org_id: OrgId,
    actor: &Actor,
    id: SolutionId,
    version: &str,
    notes: &str,
) -> AppResult<String> {
    let (current, rights) = visible(conn, org_id, actor, id).await?;
    allowed(rights.publish)?;
    let mut invalid = Invalid::default();
    let parsed = invalid.check("version", solution::version(version));
    let notes = invalid.check("notes", names::optional_text(notes, solution::NOTES_MAX));
    let (Some(parsed), Some(notes)) = (parsed, notes) else {
        return Err(AppError::Invalid(invalid));
    };
    let text = parsed.to_string();
    let now = state.now();
    solutions::insert_version(conn, id, &text, &notes, actor.user_id, now)
        .await
        .map_err(|error| match error {
            StoreError::Conflict(_) => {
                AppError::Conflict(format!("version {text} is already published"))
            }
            other => other.into(),
        })?;
    let newer = current
        .latest_version
        .as_deref()
        .and_then(|latest| semver::Version::parse(latest).ok())
        .is_none_or(|latest| parsed > latest);
    if newer {
        solutions::set_latest_version(conn, id, &text).await?;
    }
    audit::record(
        conn,
        org_id,
        actor,
        AuditAction::SolutionVersionPublished,
        &current.identifier,
        None,
        Some(json!({"version": text})),
        now,
    )
    .await?;
    Ok(text)
}

/// SPEC §2: only org owners and admins and the solution's owners touch the
/// role `owner`, and a solution keeps an owner while it has assignees.
async fn may_reassign(
    conn: &mut Conn,
    rights: SolutionRights,
    id: SolutionId,
    user: UserId,
    before: Option<SolutionRole>,
    after: Option<SolutionRole>,
) -> AppResult<()> {
    if !solution::may_reassign(rights, before, after) {
        return Err(AppError::Denied(
            "only the organization's owners and admins and the solution's owners may grant, \
             change or remove the solution role owner"
                .into(),
        ));
    }
    if before == Some(SolutionRole::Owner) && after != Some(SolutionRole::Owner) {
        let (owners, assigned) = assignments::others(conn, id, user).await?;
        if solution::leaves_no_owner(before, after, owners, assigned) {
            return Err(AppError::Conflict(
                "a solution keeps at least one owner while it has users: make someone else its owner first".into(),
            ));
        }
    }
    Ok(())
}

/// Assigns a member (of any status) to the solution with `role`, or changes
/// their solution role.
pub async fn assign(
    conn: &mut Conn,
    state: &AppState,
    org_id: OrgId,
    actor: &Actor,
    id: SolutionId,
    user: UserId,
    role: SolutionRole,
) -> AppResult<()> {
    let (current, rights) = visible(conn, org_id, actor, id).await?;
    allowed(rights.assign)?;
    let member = member_of(conn, org_id, user).await?;
    let before = assignments::find(conn, id, user).await?;
    may_reassign(conn, rights, id, user, before, Some(role)).await?;
    let now = state.now();
    let before = assignments::upsert(conn, org_id, id, user, role, now).await?;
    if before == Some(role) {
        return Ok(());
    }
    let action = if before.is_some() {
        AuditAction::SolutionRoleChanged
    } else {
        AuditAction::SolutionAssigned
    };
    audit::record(
        conn,
        org_id,
        actor,
        action,
        &member.email,
        before.map(|role| json!({"solution": current.identifier, "role": role})),
        Some(json!({"solution": current.identifier, "role": role})),
        now,
    )
    .await?;
    Ok(())
}

pub async fn unassign(
    conn: &mut Conn,
    state: &AppState,
    org_id: OrgId,
    actor: &Actor,
    id: SolutionId,
    user: UserId,
) -> AppResult<()> {
    let (current, rights) = visible(conn, org_id, actor, id).await?;
    allowed(rights.assign)?;
    let member = member_of(conn, org_id, user).await?;
    let before = assignments::find(conn, id, user).await?;
    may_reassign(conn, rights, id, user, before, None).await?;
    let before = assignments::delete(conn, id, user)
        .await?
        .ok_or(AppError::NotFound)?;
    audit::record(
        conn,
        org_id,
        actor,
        AuditAction::SolutionUnassigned,
        &member.email,
        Some(json!({"solution": current.identifier, "role": before})),
        None,
        state.now(),
    )
    .await?;
    Ok(())
}
