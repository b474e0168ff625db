//! Members of an organization: the list, one member, org role, disable/enable
//! and removal, under the rules of SPEC §2.

pub mod api;
pub mod service;
pub mod ui;
pub mod views;

use crate::state::AppState;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub fn api_routes(router: OpenApiRouter<AppState>) -> OpenApiRouter<AppState> {
    router
        .routes(routes!(api::list_members))
        .routes(routes!(
            api::get_member,
            api::patch_member,
            api::delete_member
        ))
        .routes(routes!(api::disable_member))
        .routes(routes!(api::enable_member))
        .routes(routes!(api::reinvite_member))
}

pub fn ui_routes(router: axum::Router<AppState>) -> axum::Router<AppState> {
    use axum::routing::{get, post};
    router
        .route("/orgs/{org}/users", get(ui::list))
        .route(
            "/orgs/{org}/users/invite",
            get(ui::invite_form).post(ui::invite_submit),
        )
        .route("/orgs/{org}/users/{user}", get(ui::detail))
        .route("/orgs/{org}/users/{user}/{action}", post(ui::action))
        .route(
            "/orgs/{org}/users/{user}/solutions",
            get(ui::solutions_form).post(ui::add_solutions),
        )
}
