//! Push notifications: composed in Management (or through the API), fanned out
//! to the recipients' inboxes by a job, handed live to their event streams and
//! pushed to their devices with Web Push.

pub mod api;
pub mod app_api;
pub mod events;
pub mod fanout;
pub mod hub;
pub mod inbox;
pub mod service;
pub mod views;
pub mod webpush;

use crate::state::AppState;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub fn api_routes(router: OpenApiRouter<AppState>) -> OpenApiRouter<AppState> {
    router
        .routes(routes!(api::send_notification, api::list_notifications))
        .routes(routes!(api::get_notification, api::cancel_notification))
        .routes(routes!(api::list_recipients))
        .routes(routes!(app_api::list_inbox))
        .routes(routes!(app_api::read_item))
        .routes(routes!(app_api::read_all))
        .routes(routes!(app_api::delete_item))
        .routes(routes!(app_api::events))
        .routes(routes!(app_api::push_key))
}

pub fn jobs(registry: crate::jobs::Registry) -> crate::jobs::Registry {
    registry
        .kind(|state, id, job: fanout::SendNotification| async move {
            fanout::run(&state, id, job).await
        })
        .kind(|state, id, job: webpush::PushNotification| async move {
            webpush::run(&state, id, job).await
        })
}
