//! Who uses a solution: `GET …/solutions/{sol}/users` and
//! `PUT/DELETE /orgs/{org}/users/{user}/solutions/{sol}`.

use crate::error::AppResult;
use crate::features::members::api::parse_user;
use crate::features::solutions::api::parse_solution;
use crate::features::solutions::service as solutions;
use crate::http::extract::{AppJson, AppQuery};
use crate::http::problem::Problem;
use crate::page::{Page, PageQuery};
use crate::scope::OrgScope;
use crate::state::AppState;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;
use muster_domain::permission::Capability;
use muster_domain::{MembershipStatus, OrgId, OrgRole, SolutionId, SolutionRole, UserId};
use muster_store::assignments::{self, Assignee};
use muster_store::StoreError;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

#[derive(Debug, Serialize, ToSchema)]
pub struct AssigneeView {
    pub user_id: UserId,
    pub email: String,
    pub first_name: String,
    pub last_name: String,
    pub org_role: OrgRole,
    pub status: MembershipStatus,
    /// The solution role.
    pub role: SolutionRole,
}

impl From<Assignee> for AssigneeView {
    fn from(a: Assignee) -> Self {
        AssigneeView {
            user_id: a.user_id,
            email: a.email,
            first_name: a.first_name,
            last_name: a.last_name,
            org_role: a.org_role,
            status: a.status,
            role: a.role,
        }
    }
}

/// The solution's users with their solution roles, by email.
#[utoipa::path(get, path = "/orgs/{org}/solutions/{sol}/users", tag = "solutions",
    params(("org" = OrgId, Path, description = "Organization id"), ("sol" = SolutionId, Path, description = "Solution id"), PageQuery),
    responses((status = 200, body = Page<AssigneeView>), (status = 403, body = Problem)))]
pub async fn list_solution_users(
    State(state): State<AppState>,
    member: OrgScope,
    Path(path): Path<(String, String)>,
    AppQuery(query): AppQuery<PageQuery>,
) -> AppResult<Json<Page<AssigneeView>>> {
    member.require(Capability::SeeSolutions)?;
    let id = parse_solution(&path.1)?;
    let limit = query.limit()?;
    let after = query.after()?;
    let mut conn = state.store.read().await?;
    let actor = member.actor(&mut conn).await?;
    solutions::visible(&mut conn, member.org_id, &actor, id).await?;
    let rows = assignments::list_for_solution(&mut conn, id, after.as_deref(), limit + 1).await?;
    let views = rows.into_iter().map(AssigneeView::from).collect();
    Ok(Json(Page::from_rows(views, limit, |a: &AssigneeView| {
        a.email.clone()
    })))
}

#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AssignmentRequest {
    /// owner, admin, editor, user (the default) or deny.
    pub role: Option<SolutionRole>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct AssignmentView {
    pub user_id: UserId,
    pub solution_id: SolutionId,
    pub role: SolutionRole,
}

/// Assign the member to the solution, or change their solution role.
#[utoipa::path(put, path = "/orgs/{org}/users/{user}/solutions/{sol}", tag = "solutions",
    request_body = AssignmentRequest,
    params(("org" = OrgId, Path, description = "Organization id"), ("user" = UserId, Path, description = "User id"),
           ("sol" = SolutionId, Path, description = "Solution id")),
    responses((status = 200, body = AssignmentView), (status = 403, body = Problem),
              (status = 409, description = "The solution's last owner would step down", body = Problem)))]
pub async fn put_assignment(
    State(state): State<AppState>,
    member: OrgScope,
    Path(path): Path<(String, String, String)>,
    AppJson(request): AppJson<AssignmentRequest>,
) -> AppResult<Json<AssignmentView>> {
    member.require(Capability::AssignSolutions)?;
    let user = parse_user(&path.1)?;
    let id = parse_solution(&path.2)?;
    let role = request.role.unwrap_or(SolutionRole::User);
    let mut tx = state.store.begin().await?;
    let actor = member.actor(&mut tx).await?;
    solutions::assign(&mut tx, &state, member.org_id, &actor, id, user, role).await?;
    tx.commit().await.map_err(StoreError::from)?;
    Ok(Json(AssignmentView {
        user_id: user,
        solution_id: id,
        role,
    }))
}

/// End the member's assignment (and their place in the solution's groups).
#[utoipa::path(delete, path = "/orgs/{org}/users/{user}/solutions/{sol}", tag = "solutions",
    params(("org" = OrgId, Path, description = "Organization id"), ("user" = UserId, Path, description = "User id"),
           ("sol" = SolutionId, Path, description = "Solution id")),
    responses((status = 204), (status = 403, body = Problem),
              (status = 409, description = "The solution's last owner would leave", body = Problem)))]
pub async fn delete_assignment(
    State(state): State<AppState>,
    member: OrgScope,
    Path(path): Path<(String, String, String)>,
) -> AppResult<StatusCode> {
    member.require(Capability::AssignSolutions)?;
    let user = parse_user(&path.1)?;
    let id = parse_solution(&path.2)?;
    let mut tx = state.store.begin().await?;
    let actor = member.actor(&mut tx).await?;
    solutions::unassign(&mut tx, &state, member.org_id, &actor, id, user).await?;
    tx.commit().await.map_err(StoreError::from)?;
    Ok(StatusCode::NO_CONTENT)
}
