//! `/api/v1/orgs/{org}/invite-templates`: invite mail per language.

use super::service::{self, parse_language, TemplateView};
use crate::error::{AppError, AppResult};
use crate::http::extract::{AppJson, AppQuery};
use crate::http::problem::Problem;
use crate::page::{Page, PageQuery};
use crate::scope::OrgScope;
use crate::state::AppState;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;
use muster_domain::permission::Capability;
use muster_domain::OrgId;
use muster_store::templates::{self};
use serde::Deserialize;
use utoipa::ToSchema;

#[utoipa::path(get, path = "/orgs/{org}/invite-templates", tag = "settings",
    params(("org" = OrgId, Path, description = "Organization id"), PageQuery),
    responses((status = 200, body = Page<TemplateView>), (status = 401, body = Problem), (status = 403, body = Problem),
              (status = 404, body = Problem)))]
pub async fn list_templates(
    State(state): State<AppState>,
    member: OrgScope,
    AppQuery(page): AppQuery<PageQuery>,
) -> AppResult<Json<Page<TemplateView>>> {
    member.require(Capability::ManageOrgSettings)?;
    let limit = page.limit()?;
    let after = page.after()?;
    let mut conn = state.store.read().await?;
    let rows = templates::list(&mut conn, member.org_id, after.as_deref(), limit + 1).await?;
    let views: Vec<TemplateView> = rows.into_iter().map(TemplateView::from).collect();
    Ok(Json(Page::from_rows(views, limit, |t: &TemplateView| {
        t.language.clone()
    })))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TemplateRequest {
    /// May use `{{ first_name }}`, `{{ organization }}`, `{{ inviter }}`, …
    pub subject: String,
    /// Must contain `{{ invite_link }}`.
    pub body: String,
}

/// Create or replace the template for a language. A template that does not
/// render is refused with 422 naming the problem.
#[utoipa::path(put, path = "/orgs/{org}/invite-templates/{lang}", tag = "settings", request_body = TemplateRequest,
    params(("org" = OrgId, Path, description = "Organization id"), ("lang" = String, Path, description = "BCP 47 tag")),
    responses((status = 200, body = TemplateView), (status = 201, body = TemplateView), (status = 401, body = Problem),
              (status = 403, body = Problem), (status = 404, body = Problem), (status = 422, body = Problem)))]
pub async fn put_template(
    State(state): State<AppState>,
    member: OrgScope,
    Path(path): Path<(String, String)>,
    AppJson(request): AppJson<TemplateRequest>,
) -> AppResult<(StatusCode, Json<TemplateView>)> {
    let language = path.1;
    member.require(Capability::ManageOrgSettings)?;
    let language = parse_language(&language)?;
    let (created, view) =
        service::save(&state, &member, &language, &request.subject, &request.body).await?;
    let status = if created {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    Ok((status, Json(view)))
}

/// Delete the template for a language.
#[utoipa::path(delete, path = "/orgs/{org}/invite-templates/{lang}", tag = "settings",
    params(("org" = OrgId, Path, description = "Organization id"), ("lang" = String, Path, description = "BCP 47 tag")),
    responses((status = 204), (status = 401, body = Problem), (status = 403, body = Problem), (status = 404, body = Problem)))]
pub async fn delete_template(
    State(state): State<AppState>,
    member: OrgScope,
    Path(path): Path<(String, String)>,
) -> AppResult<StatusCode> {
    let language = path.1;
    member.require(Capability::ManageOrgSettings)?;
    let language = parse_language(&language).map_err(|_| AppError::NotFound)?;
    service::remove(&state, &member, &language).await?;
    Ok(StatusCode::NO_CONTENT)
}
