//! Invite templates: one subject and body per language, rendered in a sandbox.

pub mod api;
pub mod render;
pub mod service;

use crate::state::AppState;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub fn api_routes(router: OpenApiRouter<AppState>) -> OpenApiRouter<AppState> {
    router
        .routes(routes!(api::list_templates))
        .routes(routes!(api::put_template, api::delete_template))
}
