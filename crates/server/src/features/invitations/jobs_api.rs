//! `GET /api/v1/orgs/{org}/jobs/{id}`: progress of a long job (bulk invites).

use super::progress::{self, JobView};
use crate::error::AppResult;
use crate::http::problem::Problem;
use crate::scope::OrgScope;
use crate::state::AppState;
use axum::extract::{Path, State};
use axum::Json;
use muster_domain::{JobId, OrgId};

/// A job's status, progress and per-row errors.
#[utoipa::path(get, path = "/orgs/{org}/jobs/{id}", tag = "invitations",
    params(("org" = OrgId, Path, description = "Organization id"), ("id" = JobId, Path, description = "Job id")),
    responses((status = 200, body = JobView), (status = 401, body = Problem), (status = 403, body = Problem),
              (status = 404, body = Problem)))]
pub async fn get_job(
    State(state): State<AppState>,
    member: OrgScope,
    Path(path): Path<(String, String)>,
) -> AppResult<Json<JobView>> {
    let id = path.1;
    Ok(Json(progress::load(&state, &member, &id).await?))
}
