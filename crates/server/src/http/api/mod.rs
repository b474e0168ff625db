//! The REST API under `/api/v1`, with its OpenAPI document generated from the
//! same route declarations.

pub mod app;
pub mod assignments;
pub mod audit;
pub mod auth;
pub mod contract;
pub mod groups;
pub mod invitations;
pub mod invite_templates;
pub mod jobs;
pub mod me;
pub mod members;
pub mod orgs;
pub mod page;
pub mod solutions;
pub mod tokens;
pub mod views;

use crate::state::AppState;
use axum::Json;
use utoipa::openapi::security::{ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

#[derive(OpenApi)]
#[openapi(
    info(title = "Muster API", description = "Manage an organization's users, solutions and tokens."),
    modifiers(&Security),
    security(("bearer" = []), ("session" = [])),
    tags((name = "auth"), (name = "me"), (name = "orgs"), (name = "settings"), (name = "users"),
         (name = "invitations"), (name = "solutions"), (name = "audit"), (name = "app"))
)]
struct ApiDoc;

struct Security;

impl Modify for Security {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("mst_pat_…")
                    .description(Some("A personal access token"))
                    .build(),
            ),
        );
        components.add_security_scheme(
            "session",
            SecurityScheme::ApiKey(ApiKey::Cookie(ApiKeyValue::with_description(
                crate::auth::session::COOKIE,
                "The web session; state-changing requests also need X-CSRF-Token",
            ))),
        );
    }
}

/// The API routes (relative to `/api/v1`) and the OpenAPI document describing them.
pub fn router() -> (axum::Router<AppState>, utoipa::openapi::OpenApi) {
    let (router, mut openapi) = OpenApiRouter::with_openapi(ApiDoc::openapi())
        .routes(routes!(auth::login))
        .routes(routes!(auth::logout))
        .routes(routes!(me::get_me, me::patch_me))
        .routes(routes!(tokens::list_tokens, tokens::create_token))
        .routes(routes!(tokens::extend_token))
        .routes(routes!(tokens::delete_token))
        .routes(routes!(orgs::list_orgs, orgs::create_org))
        .routes(routes!(orgs::get_org, orgs::patch_org, orgs::delete_org))
        .routes(routes!(invite_templates::list_templates))
        .routes(routes!(
            invite_templates::put_template,
            invite_templates::delete_template
        ))
        .routes(routes!(members::list_members))
        .routes(routes!(
            members::get_member,
            members::patch_member,
            members::delete_member
        ))
        .routes(routes!(members::disable_member))
        .routes(routes!(members::enable_member))
        .routes(routes!(members::reinvite_member))
        .routes(routes!(invitations::create_invitation))
        .routes(routes!(invitations::bulk_invite))
        .routes(routes!(invitations::revoke_invitation))
        .routes(routes!(invitations::get_invitation))
        .routes(routes!(invitations::accept_invitation))
        .routes(routes!(
            solutions::list_solutions,
            solutions::create_solution
        ))
        .routes(routes!(
            solutions::get_solution,
            solutions::patch_solution,
            solutions::delete_solution
        ))
        .routes(routes!(
            solutions::list_versions,
            solutions::publish_version
        ))
        .routes(routes!(assignments::list_solution_users))
        .routes(routes!(
            assignments::put_assignment,
            assignments::delete_assignment
        ))
        .routes(routes!(groups::list_groups, groups::create_group))
        .routes(routes!(groups::delete_group))
        .routes(routes!(
            groups::put_group_member,
            groups::delete_group_member
        ))
        .routes(routes!(app::my_solutions))
        .routes(routes!(jobs::get_job))
        .routes(routes!(audit::list_audit))
        .split_for_parts();
    // After the routes are in: the modifiers of `ApiDoc` run before them.
    contract::ProblemResponses.modify(&mut openapi);
    openapi.servers = Some(vec![utoipa::openapi::Server::new("/api/v1")]);
    let document = openapi.clone();
    let router = router.route(
        "/openapi.json",
        axum::routing::get(move || {
            let document = document.clone();
            async move { Json(document) }
        }),
    );
    (router, openapi)
}
