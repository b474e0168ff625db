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
pub mod ui;
mod ui_compose;
pub mod ui_inbox;
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

/// How long a push's outcome is kept after it was settled.
const PUSH_RECORDS_KEPT: time::Duration = time::Duration::days(30);
/// How long an inbox item is kept (its notification's counts stay).
const INBOX_KEPT: time::Duration = time::Duration::days(365);

pub fn jobs(registry: crate::jobs::Registry) -> crate::jobs::Registry {
    registry
        .kind(|state, id, job: fanout::SendNotification| async move {
            fanout::run(&state, id, job).await
        })
        .kind(|state, id, job: webpush::PushNotification| async move {
            webpush::run(&state, id, job).await
        })
        .housekeeping("old inbox items and pushes", |state, now| async move {
            let mut conn = state.store.write().await?;
            muster_store::push::delete_finished(&mut conn, now - PUSH_RECORDS_KEPT).await?;
            muster_store::inbox::delete_older_than(&mut conn, now - INBOX_KEPT).await?;
            Ok(())
        })
}

pub fn ui_routes(router: axum::Router<AppState>) -> axum::Router<AppState> {
    use axum::routing::{get, post};
    router
        .route("/orgs/{org}/notifications", get(ui::list).post(ui::create))
        .route("/orgs/{org}/notifications/{id}", get(ui::detail))
        .route("/orgs/{org}/notifications/{id}/cancel", post(ui::cancel))
        .route("/orgs/{org}/inbox", get(ui_inbox::show))
        .route("/orgs/{org}/inbox/read-all", post(ui_inbox::read_all))
        .route("/orgs/{org}/inbox/{id}/read", post(ui_inbox::read))
        .route("/orgs/{org}/inbox/{id}/delete", post(ui_inbox::delete))
}
