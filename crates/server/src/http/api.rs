//! The REST API under `/api/v1`, with its OpenAPI document generated from the
//! same route declarations.

use crate::features;
use crate::state::AppState;
use axum::Json;
use utoipa::openapi::security::{ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};
use utoipa_axum::router::OpenApiRouter;

#[derive(OpenApi)]
#[openapi(
    info(title = "Muster API", description = "Manage an organization's users, solutions, tokens and notifications; the app-facing API (`/app/…`) takes device tokens (`mst_dev_…`) too."),
    modifiers(&Security),
    security(("bearer" = []), ("session" = [])),
    tags((name = "auth"), (name = "me"), (name = "orgs"), (name = "settings"), (name = "users"),
         (name = "invitations"), (name = "solutions"), (name = "audit"), (name = "notifications"), (name = "app"))
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
                crate::features::auth::session::COOKIE,
                "The web session; state-changing requests also need X-CSRF-Token",
            ))),
        );
    }
}

/// The API routes (relative to `/api/v1`) and the OpenAPI document describing them.
pub fn router() -> (axum::Router<AppState>, utoipa::openapi::OpenApi) {
    let router = OpenApiRouter::with_openapi(ApiDoc::openapi());
    let router = features::auth::api_routes(router);
    let router = features::account::api_routes(router);
    let router = features::two_factor::api_routes(router);
    let router = features::profile::api_routes(router);
    let router = features::tokens::api_routes(router);
    let router = features::orgs::api_routes(router);
    let router = features::invite_templates::api_routes(router);
    let router = features::members::api_routes(router);
    let router = features::invitations::api_routes(router);
    let router = features::solutions::api_routes(router);
    let router = features::audit_log::api_routes(router);
    let router = features::devices::api_routes(router);
    let router = features::notifications::api_routes(router);
    let router = features::logs::api_routes(router);
    let router = features::usage::api_routes(router);
    let (router, mut openapi) = router.split_for_parts();
    // After the routes are in: the modifiers of `ApiDoc` run before them.
    super::contract::ProblemResponses.modify(&mut openapi);
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
