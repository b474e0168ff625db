//! Usage metrics: events the server records as things happen and events apps
//! send (`POST /app/usage`), rolled up per UTC day by a job every minute, and
//! read as figures per day, week or month (API, CSV, the Usage page, the
//! solution page and the Overview).

pub mod api;
pub mod api_calls;
pub mod app_api;
pub mod chart;
pub mod csv;
pub mod overview;
pub mod reading;
pub mod rollup;
pub mod service;
pub mod ui;
pub mod views;

use crate::state::AppState;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub fn api_routes(router: OpenApiRouter<AppState>) -> OpenApiRouter<AppState> {
    router
        .routes(routes!(app_api::send_usage))
        .routes(routes!(api::get_usage))
        .routes(routes!(api::usage_csv))
}

pub fn jobs(registry: crate::jobs::Registry) -> crate::jobs::Registry {
    registry
        .kind(|state, id, job: rollup::RollUp| async move { rollup::run(&state, id, job).await })
        // Each runs on its own timer; in `Worker::tick` (tests, the
        // benchmark) the counts are written before the rollup is queued.
        .every(
            "API call counts",
            |_| std::time::Duration::from_secs(60),
            api_calls::flush,
        )
        .every("usage rollup", |s| s.rollup_interval, rollup::queue)
}

pub fn ui_routes(router: axum::Router<AppState>) -> axum::Router<AppState> {
    use axum::routing::get;
    router
        .route("/orgs/{org}/usage", get(ui::show))
        .route("/orgs/{org}/overview", get(overview::show))
}
