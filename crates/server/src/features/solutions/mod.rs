//! Solutions: the apps of an organization, their versions, the members assigned
//! to them with solution roles, their groups, and the app-facing list.

pub mod api;
pub mod app_api;
pub mod assignments_api;
pub mod groups_api;
pub mod service;
pub mod ui;

use crate::state::AppState;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub fn api_routes(router: OpenApiRouter<AppState>) -> OpenApiRouter<AppState> {
    router
        .routes(routes!(api::list_solutions, api::create_solution))
        .routes(routes!(
            api::get_solution,
            api::patch_solution,
            api::delete_solution
        ))
        .routes(routes!(api::list_versions, api::publish_version))
        .routes(routes!(assignments_api::list_solution_users))
        .routes(routes!(
            assignments_api::put_assignment,
            assignments_api::delete_assignment
        ))
        .routes(routes!(groups_api::list_groups, groups_api::create_group))
        .routes(routes!(groups_api::delete_group))
        .routes(routes!(
            groups_api::put_group_member,
            groups_api::delete_group_member
        ))
        .routes(routes!(app_api::my_solutions))
}

pub fn ui_routes(router: axum::Router<AppState>) -> axum::Router<AppState> {
    use axum::routing::{get, post};
    router
        .route("/orgs/{org}/solutions", get(ui::list).post(ui::create))
        .route("/orgs/{org}/solutions/new", get(ui::new_form))
        .route("/orgs/{org}/solutions/{sol}", get(ui::detail))
        .route("/orgs/{org}/solutions/{sol}/{action}", post(ui::action))
}
