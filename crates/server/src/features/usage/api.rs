//! Usage over the API: the figures of a window, as JSON or CSV.

use super::reading::{self, Asked};
use super::views::UsageView;
use crate::error::AppResult;
use crate::http::extract::AppQuery;
use crate::http::problem::Problem;
use crate::scope::OrgScope;
use crate::state::AppState;
use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Deserialize;
use utoipa::IntoParams;

#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct UsageQuery {
    /// First day (`2026-11-05`, UTC); when absent, the 30 days up to `to`.
    pub from: Option<String>,
    /// Last day, included; today when absent. At most 731 days from `from`.
    pub to: Option<String>,
    /// A solution id: its figures only.
    pub solution: Option<String>,
    /// day (the default), week or month.
    pub interval: Option<String>,
}

impl UsageQuery {
    fn asked(self) -> Asked {
        Asked {
            from: self.from,
            to: self.to,
            days: None,
            solution: self.solution,
            interval: self.interval,
        }
    }
}

/// The organization's usage per period of the window, with totals: active
/// users are the distinct people of each period (daily, weekly, monthly
/// active users), never sums of days. A creator gets their solutions' figures.
/// Today's figures are at most a rollup interval (a minute) old.
#[utoipa::path(get, path = "/orgs/{org}/usage", tag = "usage",
    params(("org" = muster_domain::OrgId, Path, description = "Organization id"), UsageQuery),
    responses((status = 200, body = UsageView), (status = 400, body = Problem), (status = 401, body = Problem),
              (status = 403, body = Problem), (status = 404, body = Problem), (status = 422, body = Problem)))]
pub async fn get_usage(
    State(state): State<AppState>,
    scope: OrgScope,
    AppQuery(query): AppQuery<UsageQuery>,
) -> AppResult<Json<UsageView>> {
    let usage = reading::usage(&state, &scope, &query.asked()).await?;
    Ok(Json(UsageView::new(scope.org_id, usage)))
}

/// The same figures as CSV: a row per period and a `total` row.
#[utoipa::path(get, path = "/orgs/{org}/usage.csv", tag = "usage",
    params(("org" = muster_domain::OrgId, Path, description = "Organization id"), UsageQuery),
    responses((status = 200, content_type = "text/csv", body = String), (status = 400, body = Problem),
              (status = 401, body = Problem), (status = 403, body = Problem), (status = 404, body = Problem),
              (status = 422, body = Problem)))]
pub async fn usage_csv(
    State(state): State<AppState>,
    scope: OrgScope,
    AppQuery(query): AppQuery<UsageQuery>,
) -> AppResult<Response> {
    let usage = reading::usage(&state, &scope, &query.asked()).await?;
    let name = format!(
        "attachment; filename=\"usage-{}-{}.csv\"",
        muster_domain::usage::format_day(usage.selection.window.from),
        muster_domain::usage::format_day(usage.selection.window.to)
    );
    Ok((
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8".to_owned()),
            (header::CONTENT_DISPOSITION, name),
        ],
        super::csv::render(&usage),
    )
        .into_response())
}
