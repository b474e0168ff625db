//! `/orgs/{org}/solutions`: solutions and their versions.

use crate::error::{AppError, AppResult};
use crate::features::solutions::service::{self as solutions, SolutionInput};
use crate::http::extract::{AppJson, AppQuery};
use crate::http::problem::Problem;
use crate::page::{Page, PageQuery};
use crate::scope::OrgScope;
use crate::state::AppState;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;
use muster_domain::permission::Capability;
use muster_domain::solution::{rights, SolutionRights};
use muster_domain::{OrgId, SolutionId, SolutionRole, UserId};
use muster_store::solutions::{Solution, Version};
use muster_store::{Conn, StoreError};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use utoipa::ToSchema;

/// A solution as the caller sees it.
#[derive(Debug, Serialize, ToSchema)]
pub struct SolutionView {
    pub id: SolutionId,
    pub name: String,
    pub description: String,
    pub identifier: String,
    pub icon_color: String,
    pub icon_initials: String,
    /// The highest published version, if any.
    pub latest_version: Option<String>,
    pub created_by: Option<UserId>,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    pub updated_at: OffsetDateTime,
    /// Users assigned to it.
    pub user_count: i64,
    /// Your own solution role on it, if you are assigned.
    pub your_role: Option<SolutionRole>,
    /// What you may do on it.
    pub can: RightsView,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct RightsView {
    pub edit: bool,
    pub assign: bool,
    pub publish: bool,
    pub delete: bool,
}

impl From<SolutionRights> for RightsView {
    fn from(r: SolutionRights) -> Self {
        RightsView {
            edit: r.edit,
            assign: r.assign,
            publish: r.publish,
            delete: r.delete,
        }
    }
}

impl SolutionView {
    pub fn new(s: Solution, rights: SolutionRights) -> Self {
        SolutionView {
            id: s.id,
            name: s.name,
            description: s.description,
            identifier: s.identifier,
            icon_color: s.icon_color,
            icon_initials: s.icon_initials,
            latest_version: s.latest_version,
            created_by: s.created_by,
            created_at: s.created_at,
            updated_at: s.updated_at,
            user_count: s.user_count,
            your_role: s.viewer_role,
            can: rights.into(),
        }
    }
}

pub fn parse_solution(raw: &str) -> AppResult<SolutionId> {
    raw.parse().map_err(|_| AppError::NotFound)
}

async fn view(conn: &mut Conn, member: &OrgScope, id: SolutionId) -> AppResult<SolutionView> {
    let actor = member.actor(conn).await?;
    let (found, rights) = solutions::visible(conn, member.org_id, &actor, id).await?;
    Ok(SolutionView::new(found, rights))
}

/// Solutions you can see: all for owners and admins, assigned ones for creators.
#[utoipa::path(get, path = "/orgs/{org}/solutions", tag = "solutions",
    params(("org" = OrgId, Path, description = "Organization id"), PageQuery),
    responses((status = 200, body = Page<SolutionView>), (status = 403, body = Problem)))]
pub async fn list_solutions(
    State(state): State<AppState>,
    member: OrgScope,
    AppQuery(query): AppQuery<PageQuery>,
) -> AppResult<Json<Page<SolutionView>>> {
    let grant = member.require(Capability::SeeSolutions)?;
    let limit = query.limit()?;
    let after = query.after()?;
    let mut conn = state.store.read().await?;
    let rows = muster_store::solutions::list(
        &mut conn,
        member.org_id,
        member.caller.user_id,
        grant != muster_domain::permission::Grant::All,
        after.as_deref(),
        limit + 1,
    )
    .await?;
    let views = rows
        .into_iter()
        .map(|s| {
            let r = rights(member.role, s.viewer_role);
            SolutionView::new(s, r)
        })
        .collect();
    Ok(Json(Page::from_rows(views, limit, |s: &SolutionView| {
        s.identifier.clone()
    })))
}

/// Create a solution; you become its solution owner.
#[utoipa::path(post, path = "/orgs/{org}/solutions", tag = "solutions", request_body = SolutionInput,
    params(("org" = OrgId, Path, description = "Organization id")),
    responses((status = 201, body = SolutionView), (status = 403, body = Problem),
              (status = 409, body = Problem, description = "The identifier is taken")))]
pub async fn create_solution(
    State(state): State<AppState>,
    member: OrgScope,
    AppJson(input): AppJson<SolutionInput>,
) -> AppResult<(StatusCode, Json<SolutionView>)> {
    member.require(Capability::CreateSolution)?;
    let mut tx = state.store.begin().await?;
    let actor = member.actor(&mut tx).await?;
    let id = solutions::create(&mut tx, &state, member.org_id, &actor, &input).await?;
    let created = view(&mut tx, &member, id).await?;
    tx.commit().await.map_err(StoreError::from)?;
    Ok((StatusCode::CREATED, Json(created)))
}

/// One solution.
#[utoipa::path(get, path = "/orgs/{org}/solutions/{sol}", tag = "solutions",
    params(("org" = OrgId, Path, description = "Organization id"), ("sol" = SolutionId, Path, description = "Solution id")),
    responses((status = 200, body = SolutionView), (status = 403, body = Problem)))]
pub async fn get_solution(
    State(state): State<AppState>,
    member: OrgScope,
    Path(path): Path<(String, String)>,
) -> AppResult<Json<SolutionView>> {
    member.require(Capability::SeeSolutions)?;
    let id = parse_solution(&path.1)?;
    let mut conn = state.store.read().await?;
    Ok(Json(view(&mut conn, &member, id).await?))
}

/// Change name, description, identifier or icon.
#[utoipa::path(patch, path = "/orgs/{org}/solutions/{sol}", tag = "solutions", request_body = SolutionInput,
    params(("org" = OrgId, Path, description = "Organization id"), ("sol" = SolutionId, Path, description = "Solution id")),
    responses((status = 200, body = SolutionView), (status = 403, body = Problem), (status = 409, body = Problem)))]
pub async fn patch_solution(
    State(state): State<AppState>,
    member: OrgScope,
    Path(path): Path<(String, String)>,
    AppJson(input): AppJson<SolutionInput>,
) -> AppResult<Json<SolutionView>> {
    member.require(Capability::SeeSolutions)?;
    let id = parse_solution(&path.1)?;
    let mut tx = state.store.begin().await?;
    let actor = member.actor(&mut tx).await?;
    solutions::update(&mut tx, &state, member.org_id, &actor, id, &input).await?;
    let updated = view(&mut tx, &member, id).await?;
    tx.commit().await.map_err(StoreError::from)?;
    Ok(Json(updated))
}

/// Delete the solution with its assignments, groups and versions.
#[utoipa::path(delete, path = "/orgs/{org}/solutions/{sol}", tag = "solutions",
    params(("org" = OrgId, Path, description = "Organization id"), ("sol" = SolutionId, Path, description = "Solution id")),
    responses((status = 204), (status = 403, body = Problem)))]
pub async fn delete_solution(
    State(state): State<AppState>,
    member: OrgScope,
    Path(path): Path<(String, String)>,
) -> AppResult<StatusCode> {
    member.require(Capability::SeeSolutions)?;
    let id = parse_solution(&path.1)?;
    let mut tx = state.store.begin().await?;
    let actor = member.actor(&mut tx).await?;
    solutions::delete(&mut tx, &state, member.org_id, &actor, id).await?;
    tx.commit().await.map_err(StoreError::from)?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Debug, Serialize, ToSchema)]
pub struct VersionView {
    pub version: String,
    pub notes: String,
    /// The publisher's email.
    pub published_by: Option<String>,
    #[serde(with = "time::serde::rfc3339")]
    pub published_at: OffsetDateTime,
}

impl From<Version> for VersionView {
    fn from(v: Version) -> Self {
        VersionView {
            version: v.version,
            notes: v.notes,
            published_by: v.published_by,
            published_at: v.published_at,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct VersionList {
    pub items: Vec<VersionView>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewVersion {
    /// A semantic version such as `1.4.0`.
    pub version: String,
    #[serde(default)]
    pub notes: String,
}

/// Published versions, newest first.
#[utoipa::path(get, path = "/orgs/{org}/solutions/{sol}/versions", tag = "solutions",
    params(("org" = OrgId, Path, description = "Organization id"), ("sol" = SolutionId, Path, description = "Solution id")),
    responses((status = 200, body = VersionList), (status = 403, body = Problem)))]
pub async fn list_versions(
    State(state): State<AppState>,
    member: OrgScope,
    Path(path): Path<(String, String)>,
) -> AppResult<Json<VersionList>> {
    member.require(Capability::SeeSolutions)?;
    let id = parse_solution(&path.1)?;
    let mut conn = state.store.read().await?;
    view(&mut conn, &member, id).await?;
    let items = muster_store::solutions::versions(&mut conn, id).await?;
    Ok(Json(VersionList {
        items: items.into_iter().map(VersionView::from).collect(),
    }))
}

/// Publish a version (solution owners and editors, org owners and admins).
#[utoipa::path(post, path = "/orgs/{org}/solutions/{sol}/versions", tag = "solutions", request_body = NewVersion,
    params(("org" = OrgId, Path, description = "Organization id"), ("sol" = SolutionId, Path, description = "Solution id")),
    responses((status = 201, body = VersionView), (status = 403, body = Problem),
              (status = 409, body = Problem, description = "This version is already published")))]
pub async fn publish_version(
    State(state): State<AppState>,
    member: OrgScope,
    Path(path): Path<(String, String)>,
    AppJson(input): AppJson<NewVersion>,
) -> AppResult<(StatusCode, Json<VersionView>)> {
    member.require(Capability::SeeSolutions)?;
    let id = parse_solution(&path.1)?;
    let mut tx = state.store.begin().await?;
    let actor = member.actor(&mut tx).await?;
    let version = solutions::publish(
        &mut tx,
        &state,
        member.org_id,
        &actor,
        id,
        &input.version,
        &input.notes,
    )
    .await?;
    let published = muster_store::solutions::versions(&mut tx, id)
        .await?
        .into_iter()
        .find(|v| v.version == version)
        .ok_or(AppError::NotFound)?;
    tx.commit().await.map_err(StoreError::from)?;
    Ok((StatusCode::CREATED, Json(published.into())))
}
