//! Solutions: the apps of an organization, their versions, the members assigned
//! to them with solution roles, their groups, and the app-facing list.

pub mod api;
pub mod app_api;
pub mod assignments_api;
pub mod groups;
pub mod groups_api;
pub mod service;
pub mod ui;
pub mod ui_actions;

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
    // The forms of a solution's page, one path each; any other is the 404 page.
    let form = |name: &str| format!("/orgs/{{org}}/solutions/{{sol}}/{name}");
    router
        .route("/orgs/{org}/solutions", get(ui::list).post(ui::create))
        .route("/orgs/{org}/solutions/new", get(ui::new_form))
        .route("/orgs/{org}/solutions/{sol}", get(ui::detail))
        .route(&form("assign"), post(ui_actions::assign))
        .route(&form("role"), post(ui_actions::role))
        .route(&form("unassign"), post(ui_actions::unassign))
        .route(&form("group-create"), post(ui_actions::group_create))
        .route(&form("group-delete"), post(ui_actions::group_delete))
        .route(&form("group-add"), post(ui_actions::group_add))
        .route(&form("group-remove"), post(ui_actions::group_remove))
        .route(&form("publish"), post(ui_actions::publish))
        .route(&form("edit"), post(ui_actions::edit))
        .route(&form("delete"), post(ui_actions::delete))
}
