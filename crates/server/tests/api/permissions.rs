//! The permission matrix, route by route: every API operation in the OpenAPI
//! document is in this table, and each org role (and an outsider, and an
//! anonymous caller) gets exactly what SPEC §2 allows.

use muster_domain::permission::{can, Capability};
use muster_domain::{OrgId, OrgRole};
use muster_test_support::{db_tests, TestApp};
use reqwest::Method;
use serde_json::{json, Value};
use std::collections::BTreeSet;

/// Who may call a route.
#[derive(Clone, Copy)]
enum Access {
    /// No authentication.
    Public,
    /// Any signed-in user; not about one organization.
    Authenticated,
    /// Any active member of the organization in the path.
    Member,
    /// Members whose role has this capability.
    Needs(Capability),
}

struct Route {
    method: Method,
    path: &'static str,
    body: Option<fn() -> Value>,
    access: Access,
    success: u16,
}

fn routes() -> Vec<Route> {
    use Access::*;
    vec![
        Route {
            method: Method::POST,
            path: "/auth/login",
            body: Some(|| json!({"email": "x@example.com", "password": "x"})),
            access: Public,
            success: 401,
        },
        Route {
            method: Method::POST,
            path: "/auth/logout",
            body: None,
            access: Authenticated,
            success: 204,
        },
        Route {
            method: Method::GET,
            path: "/me",
            body: None,
            access: Authenticated,
            success: 200,
        },
        Route {
            method: Method::PATCH,
            path: "/me",
            body: Some(|| json!({})),
            access: Authenticated,
            success: 200,
        },
        Route {
            method: Method::GET,
            path: "/orgs",
            body: None,
            access: Authenticated,
            success: 200,
        },
        Route {
            method: Method::POST,
            path: "/orgs",
            body: Some(|| json!({"name": "Another"})),
            access: Authenticated,
            success: 201,
        },
        Route {
            method: Method::GET,
            path: "/orgs/{org}",
            body: None,
            access: Member,
            success: 200,
        },
        Route {
            method: Method::PATCH,
            path: "/orgs/{org}",
            body: Some(|| json!({"description": "x"})),
            access: Needs(Capability::ManageOrgSettings),
            success: 200,
        },
        Route {
            method: Method::DELETE,
            path: "/orgs/{org}",
            body: None,
            access: Needs(Capability::DeleteOrganization),
            success: 204,
        },
    ]
}

#[tokio::test]
async fn the_table_covers_every_documented_operation() {
    let (_, document) = muster_server::http::api::router();
    let document: Value = serde_json::to_value(&document).expect("the document serializes");
    let mut documented = BTreeSet::new();
    for (path, item) in document["paths"].as_object().expect("paths") {
        for method in item.as_object().expect("operations").keys() {
            documented.insert(format!("{} {path}", method.to_uppercase()));
        }
    }
    let tabled: BTreeSet<String> = routes()
        .iter()
        .map(|r| format!("{} {}", r.method, r.path))
        .collect();
    assert_eq!(documented, tabled);
}

db_tests!(each_role_gets_what_the_matrix_allows);

async fn each_role_gets_what_the_matrix_allows(app: TestApp) {
    let http = reqwest::Client::new();
    // Outsider first and owner last: a successful DELETE removes the organization.
    let callers: [(&str, Option<OrgRole>); 5] = [
        ("outsider", None),
        ("user", Some(OrgRole::User)),
        ("creator", Some(OrgRole::Creator)),
        ("admin", Some(OrgRole::Admin)),
        ("owner", Some(OrgRole::Owner)),
    ];
    for route in routes() {
        let (org, owner) = app
            .create_org("Acme", &format!("owner-{}@example.com", OrgId::new()))
            .await;
        let (_, outsider) = app
            .create_org(
                "Elsewhere",
                &format!("outsider-{}@example.com", OrgId::new()),
            )
            .await;
        let path = format!("/api/v1{}", route.path.replace("{org}", &org.to_string()));
        let send = |token: Option<String>| {
            let mut request = http.request(route.method.clone(), app.url(&path));
            if let Some(token) = token {
                request = request.bearer_auth(token);
            }
            if let Some(body) = route.body {
                request = request.json(&body());
            }
            request.send()
        };
        let anonymous = send(None).await.expect("request").status().as_u16();
        let expected_anonymous = if matches!(route.access, Access::Public) {
            route.success
        } else {
            401
        };
        assert_eq!(
            anonymous, expected_anonymous,
            "anonymous {} {}",
            route.method, route.path
        );
        if matches!(route.access, Access::Public) {
            continue;
        }
        for (label, role) in callers {
            let user = match role {
                None => outsider,
                Some(OrgRole::Owner) => owner,
                Some(role) => {
                    app.member(org, &format!("{label}-{}@example.com", OrgId::new()), role)
                        .await
                }
            };
            let expected = match (route.access, role) {
                (Access::Public | Access::Authenticated, _) => route.success,
                (_, None) => 404,
                (Access::Member, Some(_)) => route.success,
                (Access::Needs(capability), Some(role)) => {
                    if can(role, capability) {
                        route.success
                    } else {
                        403
                    }
                }
            };
            let status = send(Some(app.token(user).await))
                .await
                .expect("request")
                .status()
                .as_u16();
            assert_eq!(status, expected, "{label} {} {}", route.method, route.path);
        }
    }
}
