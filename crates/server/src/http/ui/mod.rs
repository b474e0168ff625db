//! The server-rendered web UI (Management). Every page works without
//! JavaScript; forms carry a CSRF token.

pub mod assets;
pub mod audit;
pub mod bulk;
pub mod context;
pub mod error;
pub mod invite;
pub mod profile;
pub mod settings;
pub mod setup;
pub mod shell;
pub mod signin;
pub mod solutions;
pub mod templates;
pub mod tokens;
pub mod users;
pub mod when;

use crate::jobs::bulk_invite;
use crate::state::AppState;
use axum::extract::DefaultBodyLimit;
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
        .route("/me/orgs/{org}/{action}", post(profile::membership_action))
        .route("/me/tokens", post(tokens::create))
        .route("/me/tokens/new", get(tokens::new_form))
        .route("/me/tokens/{id}", get(tokens::detail))
        .route("/me/tokens/{id}/{action}", post(tokens::action))
        .route("/orgs/{org}", get(shell::org_root))
        .route("/orgs/{org}/overview", get(shell::overview))
        .route("/orgs/{org}/users", get(users::list))
        .route(
            "/orgs/{org}/users/invite",
            get(users::invite_form).post(users::invite_submit),
        )
        .route(
            "/orgs/{org}/users/bulk",
            get(bulk::form)
                .post(bulk::upload)
                .layer(DefaultBodyLimit::max(bulk_invite::MAX_BYTES + 64 * 1024)),
        )
        .route("/orgs/{org}/users/{user}", get(users::detail))
        .route("/orgs/{org}/users/{user}/{action}", post(users::action))
        .route("/orgs/{org}/jobs/{id}", get(bulk::job))
        .route("/orgs/{org}/jobs/{id}/errors.csv", get(bulk::errors_csv))
        .route(
            "/orgs/{org}/settings",
            get(settings::show).post(settings::save),
        )
        .route(
            "/orgs/{org}/settings/invites/{lang}",
            get(settings::edit_template).post(settings::submit_template),
        )
        .route("/orgs/{org}/audit", get(audit::show))
        .route(
            "/orgs/{org}/solutions",
            get(solutions::list).post(solutions::create),
        )
        .route("/orgs/{org}/solutions/new", get(solutions::new_form))
        .route("/orgs/{org}/solutions/{sol}", get(solutions::detail))
        .route(
            "/orgs/{org}/solutions/{sol}/{action}",
            post(solutions::action),
        )
        .route(
            "/orgs/{org}/users/{user}/solutions",
            get(users::solutions_form).post(users::add_solutions),
        )
        .route("/invite/{token}", get(invite::show).post(invite::accept))
        .route("/static/app.css", get(assets::css))
        .route("/static/app.js", get(assets::js));
    for page in ["notifications", "usage", "troubleshooting"] {
        router = router.route(&format!("/orgs/{{org}}/{page}"), get(shell::placeholder));
    }
    router
}
