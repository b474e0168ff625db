//! `/api/v1/orgs`: the caller's organizations and their settings.

use super::deletion;
use super::service::{self, OrgUpdate};
use crate::error::{AppError, AppResult};
use crate::features::auth::caller::Caller;
use crate::features::profile::views::OrgView;
use crate::http::extract::{AppJson, AppQuery, ClientIp};
use crate::http::problem::Problem;
use crate::page::{Page, PageQuery};
use crate::scope::OrgScope;
use crate::state::AppState;
use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use muster_domain::{Capability, JobId, OrgRole};
use muster_store::{orgs, StoreError};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use utoipa::ToSchema;

/// Organizations where you are an active member.
#[utoipa::path(get, path = "/orgs", tag = "orgs", params(PageQuery),
    responses((status = 200, body = Page<OrgView>), (status = 401, body = Problem)))]
pub async fn list_orgs(
    State(state): State<AppState>,
    caller: Caller,
    AppQuery(page): AppQuery<PageQuery>,
) -> AppResult<Json<Page<OrgView>>> {
    let limit = page.limit()?;
    let after = page
        .after()?
        .map(|raw| {
            raw.parse()
                .map_err(|_| AppError::Malformed("the cursor is not one this API returned".into()))
        })
        .transpose()?;
    let mut conn = state.store.read().await?;
    let rows = orgs::list_for_member(&mut conn, caller.user_id, after, limit + 1).await?;
    let views = rows
        .into_iter()
        .map(|(org, role)| OrgView::new(org, role))
        .collect();
    Ok(Json(Page::from_rows(views, limit, |view: &OrgView| {
        view.id.to_string()
    })))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewOrg {
    pub name: String,
    pub description: Option<String>,
    /// BCP 47 tag; default `en`.
    pub default_language: Option<String>,
}

/// Create an organization; you become its owner.
#[utoipa::path(post, path = "/orgs", tag = "orgs", request_body = NewOrg,
    responses((status = 201, body = OrgView), (status = 401, body = Problem), (status = 422, body = Problem)))]
pub async fn create_org(
    State(state): State<AppState>,
    caller: Caller,
    ClientIp(ip): ClientIp,
    AppJson(new): AppJson<NewOrg>,
) -> AppResult<(StatusCode, Json<OrgView>)> {
    let now = state.now();
    let mut tx = state.store.begin().await?;
    let new = service::NewOrg {
        name: &new.name,
        description: new.description.as_deref().unwrap_or(""),
        default_language: new.default_language.as_deref().unwrap_or(""),
    };
    let org_id = service::create(&mut tx, caller.user_id, &new, Some(ip.to_string()), now).await?;
    let org = orgs::find(&mut tx, org_id).await?;
    tx.commit().await.map_err(StoreError::from)?;
    Ok((StatusCode::CREATED, Json(OrgView::new(org, OrgRole::Owner))))
}

/// One organization (any active member).
#[utoipa::path(get, path = "/orgs/{org}", tag = "orgs",
    params(("org" = muster_domain::OrgId, Path, description = "Organization id")),
    responses((status = 200, body = OrgView), (status = 401, body = Problem), (status = 404, body = Problem)))]
pub async fn get_org(State(state): State<AppState>, member: OrgScope) -> AppResult<Json<OrgView>> {
    let mut conn = state.store.read().await?;
    let org = orgs::find(&mut conn, member.org_id).await?;
    Ok(Json(OrgView::new(org, member.role)))
}

#[utoipa::path(patch, path = "/orgs/{org}", tag = "orgs", request_body = OrgUpdate,
    params(("org" = muster_domain::OrgId, Path, description = "Organization id")),
    responses((status = 200, body = OrgView), (status = 401, body = Problem), (status = 403, body = Problem),
              (status = 404, body = Problem), (status = 422, body = Problem)))]
pub async fn patch_org(
    State(state): State<AppState>,
    member: OrgScope,
    AppJson(update): AppJson<OrgUpdate>,
) -> AppResult<Json<OrgView>> {
    member.require(Capability::ManageOrgSettings)?;
    let mut tx = state.store.begin().await?;
    let actor = member.actor(&mut tx).await?;
    let org = service::apply_update(&mut tx, &state, member.org_id, &actor, &update).await?;
    tx.commit().await.map_err(StoreError::from)?;
    Ok(Json(OrgView::new(org, member.role)))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct OrgDeletion {
    /// The organization's name, exactly, to confirm.
    pub confirm: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct DeletionStarted {
    /// The job that removes the organization's data in batches.
    pub job_id: JobId,
    /// From then on the organization is in no list and its data cannot be
    /// reached.
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub deleted_at: OffsetDateTime,
}

/// Delete the organization with everything in it (owners only; `confirm` is
/// its name). It is gone from every list and unreachable at once; a job
/// removes its data in batches. Members keep their accounts and other
/// organizations.
#[utoipa::path(delete, path = "/orgs/{org}", tag = "orgs", request_body = OrgDeletion,
    params(("org" = muster_domain::OrgId, Path, description = "Organization id")),
    responses((status = 202, body = DeletionStarted), (status = 401, body = Problem), (status = 403, body = Problem),
              (status = 404, body = Problem), (status = 422, body = Problem)))]
pub async fn delete_org(
    State(state): State<AppState>,
    member: OrgScope,
    AppJson(request): AppJson<OrgDeletion>,
) -> AppResult<(StatusCode, Json<DeletionStarted>)> {
    let started = deletion::start(&state, &member, &request.confirm).await?;
    Ok((
        StatusCode::ACCEPTED,
        Json(DeletionStarted {
            job_id: started.job_id,
            deleted_at: started.since,
        }),
    ))
}
