//! The app's side of usage: sending events.

use super::service;
use super::views::UsageIngestResult;
use crate::error::AppResult;
use crate::features::logs::app_api::OrgQuery;
use crate::http::extract::{AppCaller, AppJson, AppQuery, ClientIp};
use crate::http::problem::Problem;
use crate::scope::OrgScope;
use crate::state::AppState;
use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use serde::Deserialize;
use utoipa::ToSchema;

#[derive(Debug, Deserialize, ToSchema)]
pub struct UsageBatch {
    /// At most 1,000 events.
    #[schema(value_type = Vec<muster_domain::usage::EventInput>)]
    pub events: Vec<serde_json::Value>,
}

/// Send usage events (`solution_opened`, `screen_viewed` or names of your
/// own). Each bad event is rejected by its index and the others are kept; the
/// user is the caller. Events older than the organization's usage retention
/// are refused; a time ahead of the server's is taken as the time received.
/// Over the rate limit (per device, token or session) the call gets 429 and
/// nothing of it is written.
#[utoipa::path(post, path = "/app/usage", tag = "app", params(OrgQuery), request_body = UsageBatch,
    responses((status = 202, body = UsageIngestResult), (status = 400, body = Problem), (status = 401, body = Problem),
              (status = 403, body = Problem), (status = 404, body = Problem), (status = 413, body = Problem),
              (status = 415, body = Problem), (status = 422, body = Problem), (status = 429, body = Problem)))]
pub async fn send_usage(
    State(state): State<AppState>,
    AppCaller(caller): AppCaller,
    ClientIp(ip): ClientIp,
    AppQuery(query): AppQuery<OrgQuery>,
    AppJson(batch): AppJson<UsageBatch>,
) -> AppResult<(StatusCode, Json<UsageIngestResult>)> {
    let scope = OrgScope::for_app_call(&state, caller, query.org.as_deref(), ip).await?;
    let outcome = service::ingest(&state, &scope, batch.events).await?;
    Ok((StatusCode::ACCEPTED, Json(outcome.into())))
}
