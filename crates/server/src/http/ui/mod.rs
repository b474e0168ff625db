//! The server-rendered web UI (Management): the layout and error pages around
//! the features' pages. Every page works without JavaScript; forms carry a
//! CSRF token.

pub mod assets;
pub mod error;
pub mod flash;
pub mod layout;
pub mod shell;
pub mod templates;
pub mod when;

use crate::features;
use crate::state::AppState;
use axum::routing::get;
use axum::Router;

pub fn router() -> Router<AppState> {
    let router = Router::new()
        .route("/", get(shell::home))
        .route("/no-access", get(shell::no_access))
        .route("/orgs/{org}", get(shell::org_root))
        .route("/static/app.css", get(assets::css))
        .route("/static/app.js", get(assets::js))
        .route("/static/notifications.js", get(assets::notifications_js));
    let router = features::auth::ui_routes(router);
    let router = features::account::ui_routes(router);
    let router = features::two_factor::ui_routes(router);
    let router = features::setup::ui_routes(router);
    let router = features::profile::ui_routes(router);
    let router = features::tokens::ui_routes(router);
    let router = features::members::ui_routes(router);
    let router = features::invitations::ui_routes(router);
    let router = features::orgs::ui_routes(router);
    let router = features::audit_log::ui_routes(router);
    let router = features::notifications::ui_routes(router);
    let router = features::logs::ui_routes(router);
    let router = features::devices::ui_routes(router);
    let router = features::usage::ui_routes(router);
    features::solutions::ui_routes(router)
}
