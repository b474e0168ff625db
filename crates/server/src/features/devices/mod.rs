//! Devices: a member's app installations, their device tokens (`mst_dev_…`)
//! and Web Push subscriptions. My profile lists and revokes them.

pub mod api;
pub mod service;
pub mod ui;

use crate::state::AppState;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub fn api_routes(router: OpenApiRouter<AppState>) -> OpenApiRouter<AppState> {
    router
        .routes(routes!(api::register_device))
        .routes(routes!(api::put_push, api::delete_push))
        .routes(routes!(api::list_devices))
        .routes(routes!(api::delete_device))
}

pub fn ui_routes(router: axum::Router<AppState>) -> axum::Router<AppState> {
    router.route("/me/devices/{id}/revoke", axum::routing::post(ui::revoke))
}
