//! Two-factor sign-in with an authenticator app (TOTP) and recovery codes:
//! turning it on and off (API and My profile), and the second factor a
//! sign-in then needs (`auth` asks `service::second_factor`). An
//! organization may require it of its owners and admins before Management
//! opens to them (`scope::OrgScope::resolve_for_management`, `OrgPage`).

pub mod api;
pub mod service;
pub mod ui;

use crate::state::AppState;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub fn api_routes(router: OpenApiRouter<AppState>) -> OpenApiRouter<AppState> {
    router
        .routes(routes!(api::status, api::start, api::turn_off))
        .routes(routes!(api::confirm))
}

pub fn ui_routes(router: axum::Router<AppState>) -> axum::Router<AppState> {
    use axum::routing::{get, post};
    router
        .route("/me/two-factor", post(ui::start))
        .route("/me/two-factor/setup", get(ui::show_setup))
        .route("/me/two-factor/confirm", post(ui::confirm))
        .route("/me/two-factor/off", post(ui::turn_off))
}
