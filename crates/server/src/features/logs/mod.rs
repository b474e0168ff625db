//! Troubleshooting logs: apps send entries (`POST /app/logs`) at the level the
//! organization (or an administrator, for one member) asks for
//! (`GET /app/config`); Management reads them by time, level, solution, user,
//! text and correlation ID; a job deletes them past the retention.

pub mod api;
pub mod app_api;
pub mod csv;
pub mod partitions;
pub mod reading;
pub mod retention;
pub mod service;
pub mod ui;
pub mod ui_member;
pub mod ui_mine;
pub mod ui_rows;
pub mod views;

use crate::state::AppState;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub fn api_routes(router: OpenApiRouter<AppState>) -> OpenApiRouter<AppState> {
    router
        .routes(routes!(app_api::send_logs))
        .routes(routes!(app_api::app_config))
        .routes(routes!(api::list_logs))
        .routes(routes!(api::list_correlations))
        .routes(routes!(api::logs_csv))
        .routes(routes!(api::my_logs))
        .routes(routes!(
            api::get_member_level,
            api::set_member_level,
            api::clear_member_level
        ))
}

pub fn jobs(registry: crate::jobs::Registry) -> crate::jobs::Registry {
    registry
        .kind(|state, id, job: retention::ApplyRetention| async move {
            retention::run(&state, id, job).await
        })
        .housekeeping("log partitions and retention", retention::chore)
}

pub fn ui_routes(router: axum::Router<AppState>) -> axum::Router<AppState> {
    use axum::routing::{get, post};
    router
        .route("/orgs/{org}/troubleshooting", get(ui::show))
        .route(
            "/orgs/{org}/users/{user}/log-level",
            post(ui_member::set_level),
        )
        .route(
            "/orgs/{org}/users/{user}/log-level/stop",
            post(ui_member::stop),
        )
}
