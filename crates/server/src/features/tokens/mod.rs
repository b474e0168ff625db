//! Personal access tokens: issuing, extending and deleting them, and
//! authenticating `Authorization: Bearer` with them.

pub mod api;
pub mod bearer;
pub mod cache;
pub mod reminders;
pub mod service;
pub mod ui;

use crate::state::AppState;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub fn api_routes(router: OpenApiRouter<AppState>) -> OpenApiRouter<AppState> {
    router
        .routes(routes!(api::list_tokens, api::create_token))
        .routes(routes!(api::extend_token))
        .routes(routes!(api::delete_token))
}

/// Reminder mails before leases end.
pub fn jobs(registry: crate::jobs::Registry) -> crate::jobs::Registry {
    registry.housekeeping("token lease reminders", reminders::chore)
}

pub fn ui_routes(router: axum::Router<AppState>) -> axum::Router<AppState> {
    use axum::routing::{get, post};
    router
        .route(
            "/me/tokens",
            get(|| async { axum::response::Redirect::to("/me#tokens") }).post(ui::create),
        )
        .route("/me/tokens/new", get(ui::new_form))
        .route("/me/tokens/{id}", get(ui::detail))
        .route("/me/tokens/{id}/{action}", post(ui::action))
}
