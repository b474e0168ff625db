//! Groups inside a solution: `…/solutions/{sol}/groups[/{group}[/members/{user}]]`.

use crate::error::{AppError, AppResult};
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
use muster_domain::{GroupId, OrgId, SolutionId, UserId};
use muster_store::groups::{self, Group};
use muster_store::{Conn, StoreError};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use utoipa::ToSchema;

#[derive(Debug, Serialize, ToSchema)]
pub struct GroupView {
    pub id: GroupId,
    pub name: String,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    pub members: Vec<GroupMemberView>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct GroupMemberView {
    pub user_id: UserId,
    pub email: String,
}

impl From<Group> for GroupView {
    fn from(g: Group) -> Self {
        GroupView {
            id: g.id,
            name: g.name,
            created_at: g.created_at,
            members: g
                .members
                .into_iter()
                .map(|m| GroupMemberView {
                    user_id: m.user_id,
                    email: m.email,
                })
                .collect(),
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct GroupList {
    pub items: Vec<GroupView>,
    /// Pass as `cursor` to get the next page; null on the last page.
    pub next_cursor: Option<String>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewGroup {
    /// e.g. "Drivers"; unique in the solution.
    #[schema(min_length = 1, max_length = 100)]
    pub name: String,
}

fn parse_group(raw: &str) -> AppResult<GroupId> {
    raw.parse().map_err(|_| AppError::NotFound)
}

async fn one(conn: &mut Conn, solution: SolutionId, group: GroupId) -> AppResult<GroupView> {
    Ok(groups::find(conn, solution, group)
        .await?
        .ok_or(AppError::NotFound)?
        .into())
}

/// The solution's groups with their members.
#[utoipa::path(get, path = "/orgs/{org}/solutions/{sol}/groups", tag = "solutions",
    params(("org" = OrgId, Path, description = "Organization id"), ("sol" = SolutionId, Path, description = "Solution id"), PageQuery),
    responses((status = 200, body = GroupList), (status = 400, body = Problem), (status = 403, body = Problem),
              (status = 422, body = Problem)))]
pub async fn list_groups(
    State(state): State<AppState>,
    member: OrgScope,
    Path(path): Path<(String, String)>,
    AppQuery(paging): AppQuery<PageQuery>,
) -> AppResult<Json<GroupList>> {
    member.require(Capability::SeeSolutions)?;
    let id = parse_solution(&path.1)?;
    let mut conn = state.store.read().await?;
    let actor = member.actor(&mut conn).await?;
    solutions::visible(&mut conn, member.org_id, &actor, id).await?;
    let limit = paging.limit()?;
    let after = paging.after()?;
    let rows = groups::list_page(&mut conn, id, after.as_deref(), limit + 1).await?;
    let views = rows.into_iter().map(GroupView::from).collect();
    let page = Page::from_rows(views, limit, |g: &GroupView| g.name.clone());
    Ok(Json(GroupList {
        items: page.items,
        next_cursor: page.next_cursor,
    }))
}

/// Create a group.
#[utoipa::path(post, path = "/orgs/{org}/solutions/{sol}/groups", tag = "solutions", request_body = NewGroup,
    params(("org" = OrgId, Path, description = "Organization id"), ("sol" = SolutionId, Path, description = "Solution id")),
    responses((status = 201, body = GroupView), (status = 403, body = Problem),
              (status = 409, body = Problem, description = "The name is taken")))]
pub async fn create_group(
    State(state): State<AppState>,
    member: OrgScope,
    Path(path): Path<(String, String)>,
    AppJson(input): AppJson<NewGroup>,
) -> AppResult<(StatusCode, Json<GroupView>)> {
    member.require(Capability::AssignSolutions)?;
    let id = parse_solution(&path.1)?;
    let mut tx = state.store.begin().await?;
    let actor = member.actor(&mut tx).await?;
    let group = crate::features::solutions::groups::create_group(
        &mut tx,
        &state,
        member.org_id,
        &actor,
        id,
        &input.name,
    )
    .await?;
    let created = one(&mut tx, id, group).await?;
    tx.commit().await.map_err(StoreError::from)?;
    Ok((StatusCode::CREATED, Json(created)))
}

/// Delete a group (its members stay assigned to the solution).
#[utoipa::path(delete, path = "/orgs/{org}/solutions/{sol}/groups/{group}", tag = "solutions",
    params(("org" = OrgId, Path, description = "Organization id"), ("sol" = SolutionId, Path, description = "Solution id"),
           ("group" = GroupId, Path, description = "Group id")),
    responses((status = 204), (status = 403, body = Problem)))]
pub async fn delete_group(
    State(state): State<AppState>,
    member: OrgScope,
    Path(path): Path<(String, String, String)>,
) -> AppResult<StatusCode> {
    member.require(Capability::AssignSolutions)?;
    let id = parse_solution(&path.1)?;
    let group = parse_group(&path.2)?;
    let mut tx = state.store.begin().await?;
    let actor = member.actor(&mut tx).await?;
    crate::features::solutions::groups::delete_group(
        &mut tx,
        &state,
        member.org_id,
        &actor,
        id,
        group,
    )
    .await?;
    tx.commit().await.map_err(StoreError::from)?;
    Ok(StatusCode::NO_CONTENT)
}

/// Put a user assigned to the solution into the group.
#[utoipa::path(put, path = "/orgs/{org}/solutions/{sol}/groups/{group}/members/{user}", tag = "solutions",
    params(("org" = OrgId, Path, description = "Organization id"), ("sol" = SolutionId, Path, description = "Solution id"),
           ("group" = GroupId, Path, description = "Group id"), ("user" = UserId, Path, description = "User id")),
    responses((status = 200, body = GroupView), (status = 403, body = Problem),
              (status = 422, body = Problem, description = "The user is not assigned to the solution")))]
pub async fn put_group_member(
    State(state): State<AppState>,
    member: OrgScope,
    Path(path): Path<(String, String, String, String)>,
) -> AppResult<Json<GroupView>> {
    member.require(Capability::AssignSolutions)?;
    let id = parse_solution(&path.1)?;
    let group = parse_group(&path.2)?;
    let user = parse_user(&path.3)?;
    let mut tx = state.store.begin().await?;
    let actor = member.actor(&mut tx).await?;
    crate::features::solutions::groups::add_to_group(
        &mut tx,
        &state,
        member.org_id,
        &actor,
        id,
        group,
        user,
    )
    .await?;
    let updated = one(&mut tx, id, group).await?;
    tx.commit().await.map_err(StoreError::from)?;
    Ok(Json(updated))
}

/// Take a user out of the group.
#[utoipa::path(delete, path = "/orgs/{org}/solutions/{sol}/groups/{group}/members/{user}", tag = "solutions",
    params(("org" = OrgId, Path, description = "Organization id"), ("sol" = SolutionId, Path, description = "Solution id"),
           ("group" = GroupId, Path, description = "Group id"), ("user" = UserId, Path, description = "User id")),
    responses((status = 204), (status = 403, body = Problem)))]
pub async fn delete_group_member(
    State(state): State<AppState>,
    member: OrgScope,
    Path(path): Path<(String, String, String, String)>,
) -> AppResult<StatusCode> {
    member.require(Capability::AssignSolutions)?;
    let id = parse_solution(&path.1)?;
    let group = parse_group(&path.2)?;
    let user = parse_user(&path.3)?;
    let mut tx = state.store.begin().await?;
    let actor = member.actor(&mut tx).await?;
    crate::features::solutions::groups::remove_from_group(
        &mut tx,
        &state,
        member.org_id,
        &actor,
        id,
        group,
        user,
    )
    .await?;
    tx.commit().await.map_err(StoreError::from)?;
    Ok(StatusCode::NO_CONTENT)
}
