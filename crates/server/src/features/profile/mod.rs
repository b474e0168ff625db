//! My profile: one's own details, theme, organizations and solutions.

pub mod api;
pub mod service;
pub mod ui;
pub mod views;

use crate::state::AppState;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub fn api_routes(router: OpenApiRouter<AppState>) -> OpenApiRouter<AppState> {
    router.routes(routes!(api::get_me, api::patch_me))
}

pub fn ui_routes(router: axum::Router<AppState>) -> axum::Router<AppState> {
    use axum::routing::{get, post};
    router
        .route("/me", get(ui::show).post(ui::save))
        .route("/me/theme", post(ui::set_theme))
        .route("/me/orgs/{org}/{action}", post(ui::membership_action))
}
