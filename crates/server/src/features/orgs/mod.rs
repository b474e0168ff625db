//! Organizations and their settings.

pub mod api;
pub mod deletion;
pub mod service;
pub mod ui;
pub mod ui_new;

use crate::state::AppState;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub fn api_routes(router: OpenApiRouter<AppState>) -> OpenApiRouter<AppState> {
    router
        .routes(routes!(api::list_orgs, api::create_org))
        .routes(routes!(api::get_org, api::patch_org, api::delete_org))
}

pub fn ui_routes(router: axum::Router<AppState>) -> axum::Router<AppState> {
    use axum::routing::{get, post};
    router
        .route("/orgs/new", get(ui_new::new_form).post(ui_new::create))
        .route("/orgs/{org}/settings", get(ui::show).post(ui::save))
        .route("/orgs/{org}/delete", post(ui::delete))
        .route(
            "/orgs/{org}/settings/invites/{lang}",
            get(ui::edit_template).post(ui::submit_template),
        )
}

/// The job that deletes an organization's data.
pub fn jobs(registry: crate::jobs::Registry) -> crate::jobs::Registry {
    registry.kind(|state, _id, job: deletion::DeleteOrganization| async move {
        deletion::run(&state, job).await
    })
}
