//! `/api/v1/orgs/{org}/users`: the member list, one member, and changes to a
//! member (role, disable/enable, remove, re-invite).

use super::views::{detail, with_solutions, MemberDetail, MemberView};
use crate::error::{AppError, AppResult};
use crate::features::invitations::service::{self as invites, InvitedView};
use crate::features::members::service as members;
use crate::http::extract::{AppJson, AppQuery};
use crate::http::problem::Problem;
use crate::page::{Page, PageQuery};
use crate::scope::OrgScope;
use crate::state::AppState;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;
use muster_domain::permission::Capability;
use muster_domain::{names, Invalid, MembershipStatus, OrgId, OrgRole, UserId};
use muster_store::members::MemberFilter;
use muster_store::{orgs, StoreError};
use serde::Deserialize;
use utoipa::{IntoParams, ToSchema};

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct MemberQuery {
    /// owner, admin, creator or user.
    pub role: Option<String>,
    /// invited, active or disabled.
    pub status: Option<String>,
    /// A solution id.
    pub solution: Option<String>,
    /// Matches name and email.
    pub q: Option<String>,
    pub limit: Option<i64>,
    pub cursor: Option<String>,
}

impl MemberQuery {
    pub fn filter(&self) -> Result<MemberFilter, Invalid> {
        let mut invalid = Invalid::default();
        let non_empty = |v: &Option<String>| {
            v.as_deref()
                .map(str::trim)
                .filter(|v| !v.is_empty())
                .map(str::to_owned)
        };
        let role = non_empty(&self.role).and_then(|r| invalid.check("role", r.parse::<OrgRole>()));
        let status = non_empty(&self.status)
            .and_then(|s| invalid.check("status", s.parse::<MembershipStatus>()));
        if let Some(q) = &self.q {
            invalid.check("q", names::optional_text(q, 200));
        }
        invalid.into_result()?;
        Ok(MemberFilter {
            role,
            status,
            q: non_empty(&self.q),
            solution: non_empty(&self.solution),
        })
    }

    pub fn page(&self) -> PageQuery {
        PageQuery {
            limit: self.limit,
            cursor: self.cursor.clone(),
        }
    }
}

/// The organization's members (owners, admins; creators read only).
#[utoipa::path(get, path = "/orgs/{org}/users", tag = "users",
    params(("org" = OrgId, Path, description = "Organization id"), MemberQuery),
    responses((status = 200, body = Page<MemberView>), (status = 400, body = Problem), (status = 401, body = Problem),
              (status = 403, body = Problem), (status = 404, body = Problem), (status = 422, body = Problem)))]
pub async fn list_members(
    State(state): State<AppState>,
    member: OrgScope,
    AppQuery(query): AppQuery<MemberQuery>,
) -> AppResult<Json<Page<MemberView>>> {
    member.require(Capability::ViewMembers)?;
    let filter = query.filter()?;
    let mut conn = state.store.read().await?;
    if let Some(solution) = &filter.solution {
        // Only a solution the caller can see filters the list.
        let actor = member.actor(&mut conn).await?;
        if !members::can_filter_by(&mut conn, &member, &actor, solution).await? {
            return Err(AppError::invalid(
                "solution",
                "no solution of this organization has this id",
            ));
        }
    }
    let page = members::list(&mut conn, member.org_id, &filter, &query.page()).await?;
    let views = page.items.into_iter().map(MemberView::from).collect();
    Ok(Json(Page {
        items: with_solutions(&mut conn, member.org_id, views).await?,
        next_cursor: page.next_cursor,
    }))
}

/// One member.
#[utoipa::path(get, path = "/orgs/{org}/users/{user}", tag = "users",
    params(("org" = OrgId, Path, description = "Organization id"), ("user" = UserId, Path, description = "User id")),
    responses((status = 200, body = MemberDetail), (status = 401, body = Problem), (status = 403, body = Problem),
              (status = 404, body = Problem)))]
pub async fn get_member(
    State(state): State<AppState>,
    member: OrgScope,
    Path(path): Path<(String, String)>,
) -> AppResult<Json<MemberDetail>> {
    let user_id = path.1;
    member.require(Capability::ViewMembers)?;
    let user_id = parse_user(&user_id)?;
    let mut conn = state.store.read().await?;
    Ok(Json(detail(&mut conn, member.org_id, user_id).await?))
}

pub fn parse_user(raw: &str) -> AppResult<UserId> {
    raw.parse().map_err(|_| AppError::NotFound)
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MemberUpdate {
    pub role: OrgRole,
}

/// Change a member's org role.
#[utoipa::path(patch, path = "/orgs/{org}/users/{user}", tag = "users", request_body = MemberUpdate,
    params(("org" = OrgId, Path, description = "Organization id"), ("user" = UserId, Path, description = "User id")),
    responses((status = 200, body = MemberDetail), (status = 401, body = Problem), (status = 403, body = Problem),
              (status = 404, body = Problem), (status = 409, body = Problem), (status = 422, body = Problem)))]
pub async fn patch_member(
    State(state): State<AppState>,
    member: OrgScope,
    Path(path): Path<(String, String)>,
    AppJson(update): AppJson<MemberUpdate>,
) -> AppResult<Json<MemberDetail>> {
    let user_id = path.1;
    member.require(Capability::ChangeMemberRole)?;
    let user_id = parse_user(&user_id)?;
    let mut tx = state.store.begin().await?;
    let actor = member.actor(&mut tx).await?;
    members::change_role(&mut tx, &state, member.org_id, &actor, user_id, update.role).await?;
    let view = detail(&mut tx, member.org_id, user_id).await?;
    tx.commit().await.map_err(StoreError::from)?;
    Ok(Json(view))
}

/// Remove a member from the organization (their account stays); your own id
/// leaves the organization.
#[utoipa::path(delete, path = "/orgs/{org}/users/{user}", tag = "users",
    params(("org" = OrgId, Path, description = "Organization id"), ("user" = UserId, Path, description = "User id")),
    responses((status = 204), (status = 401, body = Problem), (status = 403, body = Problem),
              (status = 404, body = Problem), (status = 409, body = Problem)))]
pub async fn delete_member(
    State(state): State<AppState>,
    member: OrgScope,
    Path(path): Path<(String, String)>,
) -> AppResult<StatusCode> {
    let user_id = path.1;
    let user_id = parse_user(&user_id)?;
    if user_id != member.caller.user_id {
        member.require(Capability::DisableOrRemoveMember)?;
    }
    let mut tx = state.store.begin().await?;
    let actor = member.actor(&mut tx).await?;
    members::remove(&mut tx, &state, member.org_id, &actor, user_id).await?;
    tx.commit().await.map_err(StoreError::from)?;
    Ok(StatusCode::NO_CONTENT)
}

async fn set_disabled(
    state: AppState,
    member: OrgScope,
    user_id: &str,
    disabled: bool,
) -> AppResult<Json<MemberDetail>> {
    member.require(Capability::DisableOrRemoveMember)?;
    let user_id = parse_user(user_id)?;
    let mut tx = state.store.begin().await?;
    let actor = member.actor(&mut tx).await?;
    members::set_disabled(&mut tx, &state, member.org_id, &actor, user_id, disabled).await?;
    let view = detail(&mut tx, member.org_id, user_id).await?;
    tx.commit().await.map_err(StoreError::from)?;
    Ok(Json(view))
}

/// Disable a member: their sessions and tokens stop working here at once.
#[utoipa::path(post, path = "/orgs/{org}/users/{user}/disable", tag = "users",
    params(("org" = OrgId, Path, description = "Organization id"), ("user" = UserId, Path, description = "User id")),
    responses((status = 200, body = MemberDetail), (status = 401, body = Problem), (status = 403, body = Problem),
              (status = 404, body = Problem), (status = 409, body = Problem)))]
pub async fn disable_member(
    State(state): State<AppState>,
    member: OrgScope,
    Path(path): Path<(String, String)>,
) -> AppResult<Json<MemberDetail>> {
    let user_id = path.1;
    set_disabled(state, member, &user_id, true).await
}

/// Enable a disabled member.
#[utoipa::path(post, path = "/orgs/{org}/users/{user}/enable", tag = "users",
    params(("org" = OrgId, Path, description = "Organization id"), ("user" = UserId, Path, description = "User id")),
    responses((status = 200, body = MemberDetail), (status = 401, body = Problem), (status = 403, body = Problem),
              (status = 404, body = Problem), (status = 409, body = Problem)))]
pub async fn enable_member(
    State(state): State<AppState>,
    member: OrgScope,
    Path(path): Path<(String, String)>,
) -> AppResult<Json<MemberDetail>> {
    let user_id = path.1;
    set_disabled(state, member, &user_id, false).await
}

#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReinviteRequest {
    /// Language of the invite mail; default the organization's.
    pub language: Option<String>,
}

/// Send a new invitation (the old link stops working).
#[utoipa::path(post, path = "/orgs/{org}/users/{user}/reinvite", tag = "users", request_body = ReinviteRequest,
    params(("org" = OrgId, Path, description = "Organization id"), ("user" = UserId, Path, description = "User id")),
    responses((status = 200, body = InvitedView), (status = 401, body = Problem), (status = 403, body = Problem),
              (status = 404, body = Problem), (status = 409, body = Problem), (status = 422, body = Problem)))]
pub async fn reinvite_member(
    State(state): State<AppState>,
    member: OrgScope,
    Path(path): Path<(String, String)>,
    AppJson(request): AppJson<ReinviteRequest>,
) -> AppResult<Json<InvitedView>> {
    let user_id = path.1;
    member.require(Capability::ManageInvitations)?;
    let user_id = parse_user(&user_id)?;
    let language = request
        .language
        .as_deref()
        .filter(|l| !l.trim().is_empty())
        .map(|l| names::language_tag(l).map_err(|e| AppError::invalid("language", e)))
        .transpose()?;
    let mut tx = state.store.begin().await?;
    let org = orgs::find(&mut tx, member.org_id).await?;
    let actor = member.actor(&mut tx).await?;
    let invited =
        invites::reinvite(&mut tx, &state, &org, &actor, user_id, language.as_deref()).await?;
    tx.commit().await.map_err(StoreError::from)?;
    Ok(Json(invited.into()))
}
