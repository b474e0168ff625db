//! The audit log: who did what to whom, recorded in the transaction of the
//! change, and read back by owners and admins.

pub mod api;
pub mod service;
pub mod ui;

pub use service::record;

use crate::state::AppState;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub fn api_routes(router: OpenApiRouter<AppState>) -> OpenApiRouter<AppState> {
    router.routes(routes!(api::list_audit))
}

pub fn ui_routes(router: axum::Router<AppState>) -> axum::Router<AppState> {
    router.route("/orgs/{org}/audit", axum::routing::get(ui::show))
}
