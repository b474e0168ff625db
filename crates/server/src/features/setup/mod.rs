//! First-run setup: the one-time link that creates the first organization.

pub mod service;
pub mod ui;

use crate::state::AppState;

pub fn ui_routes(router: axum::Router<AppState>) -> axum::Router<AppState> {
    use axum::routing::get;
    router.route("/setup/{token}", get(ui::show).post(ui::submit))
}
