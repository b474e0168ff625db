//! `GET /api/v1/orgs/{org}/audit`: who did what, newest first.

use super::service::{self, AuditQuery, AuditView};
use crate::error::AppResult;
use crate::http::extract::AppQuery;
use crate::http::problem::Problem;
use crate::page::Page;
use crate::scope::OrgScope;
use crate::state::AppState;
use axum::extract::State;
use axum::Json;
use muster_domain::OrgId;

/// The audit log (owners and admins).
#[utoipa::path(get, path = "/orgs/{org}/audit", tag = "audit",
    params(("org" = OrgId, Path, description = "Organization id"), AuditQuery),
    responses((status = 200, body = Page<AuditView>), (status = 400, body = Problem), (status = 401, body = Problem),
              (status = 403, body = Problem), (status = 404, body = Problem), (status = 422, body = Problem)))]
pub async fn list_audit(
    State(state): State<AppState>,
    member: OrgScope,
    AppQuery(query): AppQuery<AuditQuery>,
) -> AppResult<Json<Page<AuditView>>> {
    Ok(Json(service::list(&state, &member, &query).await?))
}
