//! The server-rendered web UI (Management). Every page works without
//! JavaScript; forms carry a CSRF token.

pub mod assets;
pub mod context;
pub mod error;
pub mod profile;
pub mod setup;
pub mod shell;
pub mod signin;
pub mod templates;

use crate::state::AppState;
use axum::routing::{get, post};
use axum::Router;

pub fn router() -> Router<AppState> {
    let mut router = Router::new()
        .route("/", get(shell::home))
        .route("/signin", get(signin::show).post(signin::submit))
        .route("/signout", post(signin::sign_out))
        .route("/setup/{token}", get(setup::show).post(setup::submit))
        .route("/no-access", get(shell::no_access))
        .route("/me", get(profile::show).post(profile::save))
        .route("/me/theme", post(profile::set_theme))
        .route("/orgs/{org}", get(shell::org_root))
        .route("/orgs/{org}/overview", get(shell::overview))
        .route("/static/app.css", get(assets::css))
        .route("/static/app.js", get(assets::js));
    for page in [
        "users",
        "solutions",
        "notifications",
        "usage",
        "troubleshooting",
        "settings",
        "audit",
    ] {
        router = router.route(&format!("/orgs/{{org}}/{page}"), get(shell::placeholder));
    }
    router
}
