//! Members of an organization: the list, one member, org role, disable/enable
//! and removal, under the rules of SPEC §2.

pub mod api;
pub mod service;
pub mod ui;
pub mod ui_actions;
pub mod ui_solutions;
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
        .route("/orgs/{org}/users/{user}", get(ui::detail))
        .route(
            "/orgs/{org}/users/{user}/role",
            post(ui_actions::change_role),
        )
        .route(
            "/orgs/{org}/users/{user}/disable",
            post(ui_actions::disable),
        )
        .route("/orgs/{org}/users/{user}/enable", post(ui_actions::enable))
        .route("/orgs/{org}/users/{user}/remove", post(ui_actions::remove))
        .route(
            "/orgs/{org}/users/{user}/reinvite",
            post(ui_actions::reinvite),
        )
        .route("/orgs/{org}/users/{user}/revoke", post(ui_actions::revoke))
        .route(
            "/orgs/{org}/users/{user}/solutions",
            get(ui_solutions::solutions_form).post(ui_solutions::add_solutions),
        )
}
