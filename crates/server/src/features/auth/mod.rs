//! Who is calling: sign-in and sign-out (API and web), sessions with CSRF,
//! passwords and sign-in throttling. Bearer tokens are `features::tokens`.

pub mod api;
pub mod caller;
pub mod password;
pub mod service;
pub mod session;
pub mod throttle;
pub mod ui;

pub use caller::{Caller, Via};

use crate::state::AppState;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub fn api_routes(router: OpenApiRouter<AppState>) -> OpenApiRouter<AppState> {
    router
        .routes(routes!(api::login))
        .routes(routes!(api::logout))
}

pub fn ui_routes(router: axum::Router<AppState>) -> axum::Router<AppState> {
    use axum::routing::{get, post};
    router
        .route("/signin", get(ui::show).post(ui::submit))
        .route("/signin/code", get(ui::show_code).post(ui::submit_code))
        .route("/signout", post(ui::sign_out))
}

/// Expired sessions are deleted.
pub fn jobs(registry: crate::jobs::Registry) -> crate::jobs::Registry {
    registry.housekeeping("expired sessions", |state, now| async move {
        let mut conn = state.store.write().await?;
        muster_store::sessions::delete_expired(&mut conn, now).await?;
        Ok(())
    })
}
