//! The app-facing API: what a mobile app of any active member calls.

use crate::error::AppResult;
use crate::http::extract::{AppCaller, AppQuery, ClientIp};
use crate::http::problem::Problem;
use crate::scope::OrgScope;
use crate::state::AppState;
use axum::extract::State;
use axum::Json;
use muster_domain::solution::usable_in_app;
use muster_domain::{OrgId, SolutionId, SolutionRole};
use muster_store::assignments;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct AppQueryParams {
    /// The organization; your default organization when absent.
    pub org: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct AppSolution {
    pub id: SolutionId,
    pub name: String,
    pub identifier: String,
    /// Your solution role: owner or user.
    pub role: SolutionRole,
    pub latest_version: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct AppSolutionList {
    pub org_id: OrgId,
    pub items: Vec<AppSolution>,
    /// Always null: all of your solutions come in this one answer.
    pub next_cursor: Option<String>,
}

/// Your solutions in the organization: those where your solution role is
/// owner or user, with their latest version.
#[utoipa::path(get, path = "/app/solutions", tag = "app", params(AppQueryParams),
    responses((status = 200, body = AppSolutionList), (status = 403, body = Problem),
              (status = 404, body = Problem), (status = 422, body = Problem)))]
pub async fn my_solutions(
    State(state): State<AppState>,
    AppCaller(caller): AppCaller,
    ClientIp(ip): ClientIp,
    AppQuery(query): AppQuery<AppQueryParams>,
) -> AppResult<Json<AppSolutionList>> {
    let mut conn = state.store.read().await?;
    let scope = OrgScope::for_app(&mut conn, caller, query.org.as_deref(), ip, state.now()).await?;
    state.api_calls.count(&scope);
    let org_id = scope.org_id;
    let items = assignments::for_member(&mut conn, org_id, scope.user_id())
        .await?
        .into_iter()
        .filter(|a| usable_in_app(a.role))
        .map(|a| AppSolution {
            id: a.solution_id,
            name: a.name,
            identifier: a.identifier,
            role: a.role,
            latest_version: a.latest_version,
        })
        .collect();
    Ok(Json(AppSolutionList {
        org_id,
        items,
        next_cursor: None,
    }))
}
