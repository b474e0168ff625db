//! One's own account: a forgotten password reset through a link by mail, a
//! new password, a new email confirmed by mail, and the sessions signed in as
//! oneself.

pub mod api;
pub mod email;
pub mod service;
pub mod ui;

use crate::state::AppState;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub fn api_routes(router: OpenApiRouter<AppState>) -> OpenApiRouter<AppState> {
    router
        .routes(routes!(api::request_reset))
        .routes(routes!(api::complete_reset))
        .routes(routes!(api::change_password))
        .routes(routes!(api::change_email))
        .routes(routes!(api::confirm_email))
        .routes(routes!(api::list_sessions))
        .routes(routes!(api::end_session))
        .routes(routes!(api::sign_out_others))
}

pub fn ui_routes(router: axum::Router<AppState>) -> axum::Router<AppState> {
    use axum::routing::{get, post};
    router
        .route("/reset", get(ui::show_request).post(ui::submit_request))
        .route("/reset/{token}", get(ui::show_reset).post(ui::submit_reset))
        .route("/me/security", get(ui::show_security))
        .route("/me/password", post(ui::change_password))
        .route("/me/email", post(ui::change_email))
        .route(
            "/email-confirm/{token}",
            get(ui::show_email_confirm).post(ui::submit_email_confirm),
        )
        .route("/me/sessions/{id}/sign-out", post(ui::end_session))
        .route("/me/sessions/sign-out-others", post(ui::sign_out_others))
}

/// Reset and email confirmation links that ran out are deleted.
pub fn jobs(registry: crate::jobs::Registry) -> crate::jobs::Registry {
    registry.housekeeping("expired account links", |state, now| async move {
        let mut conn = state.store.write().await?;
        muster_store::password_resets::delete_expired(&mut conn, now).await?;
        muster_store::email_changes::delete_expired(&mut conn, now).await?;
        Ok(())
    })
}
