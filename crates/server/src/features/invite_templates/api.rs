//! `/api/v1/orgs/{org}/invite-templates`: invite mail per language.

use crate::error::{AppError, AppResult};
use crate::features::audit_log as audit;
use crate::features::invite_templates::render as invite;
use crate::http::extract::{AppJson, AppQuery};
use crate::http::problem::Problem;
use crate::page::{Page, PageQuery};
use crate::scope::OrgScope;
use crate::state::AppState;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;
use muster_domain::permission::Capability;
use muster_domain::{names, OrgId};
use muster_store::templates::{self, InviteTemplate};
use muster_store::{orgs, StoreError};
use serde::{Deserialize, Serialize};
use serde_json::json;
use time::OffsetDateTime;
use utoipa::ToSchema;

#[derive(Debug, Serialize, ToSchema)]
pub struct TemplateView {
    pub language: String,
    pub subject: String,
    pub body: String,
    #[serde(with = "time::serde::rfc3339")]
    pub updated_at: OffsetDateTime,
}

impl From<InviteTemplate> for TemplateView {
    fn from(t: InviteTemplate) -> Self {
        TemplateView {
            language: t.language,
            subject: t.subject,
            body: t.body,
            updated_at: t.updated_at,
        }
    }
}

/// The organization's invite templates, by language.
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

pub fn parse_language(raw: &str) -> AppResult<String> {
    names::language_tag(raw).map_err(|e| AppError::invalid("language", e))
}

/// Saves a template after checking it renders; returns the view.
pub async fn save(
    state: &AppState,
    member: &OrgScope,
    language: &str,
    subject: &str,
    body: &str,
) -> AppResult<(bool, TemplateView)> {
    let mut tx = state.store.begin().await?;
    let org = orgs::find(&mut tx, member.org_id).await?;
    invite::check(subject, body, &org.name).map_err(|e| AppError::invalid(e.field, e.message))?;
    let before = templates::find(&mut tx, member.org_id, language).await?;
    let now = state.now();
    templates::upsert(&mut tx, member.org_id, language, subject, body, now).await?;
    let actor = member.actor(&mut tx).await?;
    audit::record(
        &mut tx,
        member.org_id,
        &actor,
        "invite_template.saved",
        language,
        before
            .as_ref()
            .map(|t| json!({"subject": t.subject, "body": t.body})),
        Some(json!({"subject": subject, "body": body})),
        now,
    )
    .await?;
    let saved = templates::find(&mut tx, member.org_id, language)
        .await?
        .ok_or(AppError::NotFound)?;
    tx.commit().await.map_err(StoreError::from)?;
    Ok((before.is_none(), saved.into()))
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
    let (created, view) = save(&state, &member, &language, &request.subject, &request.body).await?;
    let status = if created {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    Ok((status, Json(view)))
}

pub async fn remove(state: &AppState, member: &OrgScope, language: &str) -> AppResult<()> {
    let mut tx = state.store.begin().await?;
    let before = templates::find(&mut tx, member.org_id, language)
        .await?
        .ok_or(AppError::NotFound)?;
    templates::delete(&mut tx, member.org_id, language).await?;
    let actor = member.actor(&mut tx).await?;
    audit::record(
        &mut tx,
        member.org_id,
        &actor,
        "invite_template.deleted",
        language,
        Some(json!({"subject": before.subject, "body": before.body})),
        None,
        state.now(),
    )
    .await?;
    tx.commit().await.map_err(StoreError::from)?;
    Ok(())
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
    remove(&state, &member, &language).await?;
    Ok(StatusCode::NO_CONTENT)
}
