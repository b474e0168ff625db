//! The app's side of troubleshooting: sending entries and asking which level
//! to log at.

use super::service;
use super::views::{AppConfig, IngestResult};
use crate::error::AppResult;
use crate::features::auth::caller::Caller;
use crate::http::extract::{AppCaller, AppJson, AppQuery, ClientIp};
use crate::http::problem::Problem;
use crate::scope::OrgScope;
use crate::state::AppState;
use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use serde::Deserialize;
use utoipa::{IntoParams, ToSchema};

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct OrgQuery {
    /// The organization; your default organization when absent.
    pub org: Option<String>,
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct LogBatch {
    /// At most 1,000 entries (and 1 MiB in all).
    #[schema(value_type = Vec<muster_domain::log::EntryInput>)]
    pub entries: Vec<serde_json::Value>,
}

async fn app_scope(
    state: &AppState,
    caller: Caller,
    ip: std::net::IpAddr,
    org: Option<&str>,
) -> AppResult<OrgScope> {
    OrgScope::for_app_call(state, caller, org, ip).await
}

/// Send log entries. Each bad entry is rejected by its index and the others
/// are kept; entries below the level in force are dropped and counted. The
/// user and device are those of the credentials. Over the rate limit (per
/// device, token or session) the call gets 429 and nothing of it is written.
#[utoipa::path(post, path = "/app/logs", tag = "app", params(OrgQuery), request_body = LogBatch,
    responses((status = 202, body = IngestResult), (status = 400, body = Problem), (status = 401, body = Problem),
              (status = 403, body = Problem), (status = 404, body = Problem), (status = 413, body = Problem),
              (status = 415, body = Problem), (status = 422, body = Problem), (status = 429, body = Problem)))]
pub async fn send_logs(
    State(state): State<AppState>,
    AppCaller(caller): AppCaller,
    ClientIp(ip): ClientIp,
    AppQuery(query): AppQuery<OrgQuery>,
    AppJson(batch): AppJson<LogBatch>,
) -> AppResult<(StatusCode, Json<IngestResult>)> {
    let scope = app_scope(&state, caller, ip, query.org.as_deref()).await?;
    let outcome = service::ingest(&state, &scope, batch.entries).await?;
    Ok((StatusCode::ACCEPTED, Json(outcome.into())))
}

/// What the app should do: the logging level in force for you (the
/// organization's, or one an administrator set for you for a while).
#[utoipa::path(get, path = "/app/config", tag = "app", params(OrgQuery),
    responses((status = 200, body = AppConfig), (status = 400, body = Problem), (status = 401, body = Problem),
              (status = 403, body = Problem), (status = 404, body = Problem), (status = 422, body = Problem)))]
pub async fn app_config(
    State(state): State<AppState>,
    AppCaller(caller): AppCaller,
    ClientIp(ip): ClientIp,
    AppQuery(query): AppQuery<OrgQuery>,
) -> AppResult<Json<AppConfig>> {
    let scope = app_scope(&state, caller, ip, query.org.as_deref()).await?;
    Ok(Json(service::app_config(&state, &scope).await?.into()))
}
