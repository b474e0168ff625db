//! The permission matrix, route by route: every API operation in the OpenAPI
//! document is in this table, and each org role (and an outsider, and an
//! anonymous caller) gets exactly what SPEC §2 allows. Each call gets a fresh
//! organization, so what one role changes cannot decide another's answer.

use muster_domain::permission::{can, Capability};
use muster_domain::{MembershipStatus, OrgId, OrgRole};
use muster_server::features::invitations::bulk_job::BulkInvite;
use muster_server::jobs::enqueue_for_org;
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
    /// The fixture's solution: org owners and admins; a creator who is not
    /// assigned to it does not see it (404); `user` members have no rights (403).
    /// Also the fixture's notification, which creators (not its author) do not see.
    OnSolution,
    /// Sending to the fixture's solution: org owners and admins; the
    /// fixture's creator runs no solution and `user` members send nothing (403).
    SendsToSolution,
}

struct Route {
    method: Method,
    path: &'static str,
    body: Option<fn() -> Value>,
    access: Access,
    success: u16,
}

fn route(method: Method, path: &'static str, access: Access, success: u16) -> Route {
    Route {
        method,
        path,
        body: None,
        access,
        success,
    }
}

fn with_body(
    method: Method,
    path: &'static str,
    body: fn() -> Value,
    access: Access,
    success: u16,
) -> Route {
    Route {
        method,
        path,
        body: Some(body),
        access,
        success,
    }
}

fn routes() -> Vec<Route> {
    use Access::*;
    use Capability::*;
    use Method as M;
    vec![
        with_body(
            M::POST,
            "/auth/login",
            || json!({"email": format!("x{}@example.com", OrgId::new()), "password": "x"}),
            Public,
            401,
        ),
        route(M::POST, "/auth/logout", Authenticated, 204),
        with_body(
            M::POST,
            "/auth/password-reset",
            || json!({"email": format!("x{}@example.com", OrgId::new())}),
            Public,
            202,
        ),
        with_body(
            M::POST,
            "/auth/password-reset/{token}",
            || json!({"password": "a long enough password"}),
            Public,
            410,
        ),
        // A wrong current password: a field error for everyone signed in.
        with_body(
            M::POST,
            "/me/password",
            || json!({"current_password": "not it", "new_password": "a long enough password"}),
            Authenticated,
            422,
        ),
        // A wrong password: a field error for everyone signed in.
        with_body(
            M::POST,
            "/me/email",
            || json!({"email": format!("x{}@example.com", OrgId::new()), "password": "not it"}),
            Authenticated,
            422,
        ),
        route(M::POST, "/auth/email-confirm/{token}", Public, 410),
        route(M::GET, "/me/mfa/totp", Authenticated, 200),
        // Turning two-factor sign-in on takes a session: with a token, 403
        // for everyone (tests/api/two_factor.rs signs in for it).
        route(M::POST, "/me/mfa/totp", Authenticated, 403),
        with_body(
            M::POST,
            "/me/mfa/totp/confirm",
            || json!({"code": "000000"}),
            Authenticated,
            403,
        ),
        // A wrong password: a field error for everyone signed in.
        with_body(
            M::DELETE,
            "/me/mfa/totp",
            || json!({"password": "not it"}),
            Authenticated,
            422,
        ),
        route(M::GET, "/me/sessions", Authenticated, 200),
        route(M::DELETE, "/me/sessions/{no_item}", Authenticated, 404),
        route(M::POST, "/me/sessions/sign-out-others", Authenticated, 200),
        route(M::GET, "/me", Authenticated, 200),
        with_body(M::PATCH, "/me", || json!({}), Authenticated, 200),
        route(M::GET, "/me/tokens", Authenticated, 200),
        with_body(
            M::POST,
            "/me/tokens",
            || json!({"name": "another"}),
            Authenticated,
            201,
        ),
        route(M::POST, "/me/tokens/{own_token}/extend", Authenticated, 200),
        route(M::DELETE, "/me/tokens/{own_token}", Authenticated, 204),
        route(M::GET, "/orgs", Authenticated, 200),
        with_body(
            M::POST,
            "/orgs",
            || json!({"name": "Another"}),
            Authenticated,
            201,
        ),
        route(M::GET, "/orgs/{org}", Member, 200),
        with_body(
            M::PATCH,
            "/orgs/{org}",
            || json!({"description": "x"}),
            Needs(ManageOrgSettings),
            200,
        ),
        // Not the name: the owner is told to type it (the deletion itself is
        // tests/api/org_deletion.rs).
        with_body(
            M::DELETE,
            "/orgs/{org}",
            || json!({"confirm": "not the name"}),
            Needs(DeleteOrganization),
            422,
        ),
        route(
            M::GET,
            "/orgs/{org}/invite-templates",
            Needs(ManageOrgSettings),
            200,
        ),
        with_body(
            M::PUT,
            "/orgs/{org}/invite-templates/{lang}",
            || json!({"subject": "Hi", "body": "{{ invite_link }}"}),
            Needs(ManageOrgSettings),
            200,
        ),
        route(
            M::DELETE,
            "/orgs/{org}/invite-templates/{lang}",
            Needs(ManageOrgSettings),
            204,
        ),
        route(M::GET, "/orgs/{org}/users", Needs(ViewMembers), 200),
        route(M::GET, "/orgs/{org}/users/{user}", Needs(ViewMembers), 200),
        with_body(
            M::PATCH,
            "/orgs/{org}/users/{user}",
            || json!({"role": "creator"}),
            Needs(ChangeMemberRole),
            200,
        ),
        route(
            M::DELETE,
            "/orgs/{org}/users/{user}",
            Needs(DisableOrRemoveMember),
            204,
        ),
        route(
            M::POST,
            "/orgs/{org}/users/{user}/disable",
            Needs(DisableOrRemoveMember),
            200,
        ),
        route(
            M::POST,
            "/orgs/{org}/users/{disabled}/enable",
            Needs(DisableOrRemoveMember),
            200,
        ),
        with_body(
            M::POST,
            "/orgs/{org}/users/{invited}/reinvite",
            || json!({}),
            Needs(ManageInvitations),
            200,
        ),
        with_body(
            M::POST,
            "/orgs/{org}/invitations",
            || json!({"email": "new@example.com"}),
            Needs(ManageInvitations),
            201,
        ),
        with_body(
            M::POST,
            "/orgs/{org}/invitations/bulk",
            || json!([{"email": "new@example.com"}]),
            Needs(ManageInvitations),
            202,
        ),
        route(
            M::DELETE,
            "/orgs/{org}/invitations/{invitation}",
            Needs(ManageInvitations),
            204,
        ),
        route(
            M::GET,
            "/orgs/{org}/jobs/{job}",
            Needs(ManageInvitations),
            200,
        ),
        route(M::GET, "/orgs/{org}/audit", Needs(ViewAuditLog), 200),
        route(M::GET, "/orgs/{org}/solutions", Needs(SeeSolutions), 200),
        with_body(
            M::POST,
            "/orgs/{org}/solutions",
            || json!({"name": "Created"}),
            Needs(CreateSolution),
            201,
        ),
        route(M::GET, "/orgs/{org}/solutions/{sol}", OnSolution, 200),
        with_body(
            M::PATCH,
            "/orgs/{org}/solutions/{sol}",
            || json!({"description": "changed"}),
            OnSolution,
            200,
        ),
        route(M::DELETE, "/orgs/{org}/solutions/{sol}", OnSolution, 204),
        route(
            M::GET,
            "/orgs/{org}/solutions/{sol}/versions",
            OnSolution,
            200,
        ),
        with_body(
            M::POST,
            "/orgs/{org}/solutions/{sol}/versions",
            || json!({"version": "1.0.0"}),
            OnSolution,
            201,
        ),
        route(M::GET, "/orgs/{org}/solutions/{sol}/users", OnSolution, 200),
        with_body(
            M::PUT,
            "/orgs/{org}/users/{user}/solutions/{sol}",
            || json!({"role": "editor"}),
            OnSolution,
            200,
        ),
        route(
            M::DELETE,
            "/orgs/{org}/users/{user}/solutions/{sol}",
            OnSolution,
            204,
        ),
        route(
            M::GET,
            "/orgs/{org}/solutions/{sol}/groups",
            OnSolution,
            200,
        ),
        with_body(
            M::POST,
            "/orgs/{org}/solutions/{sol}/groups",
            || json!({"name": "Another"}),
            OnSolution,
            201,
        ),
        route(
            M::DELETE,
            "/orgs/{org}/solutions/{sol}/groups/{group}",
            OnSolution,
            204,
        ),
        route(
            M::PUT,
            "/orgs/{org}/solutions/{sol}/groups/{group}/members/{user}",
            OnSolution,
            200,
        ),
        route(
            M::DELETE,
            "/orgs/{org}/solutions/{sol}/groups/{group}/members/{user}",
            OnSolution,
            204,
        ),
        route(M::GET, "/app/solutions?org={org}", Member, 200),
        with_body(
            M::POST,
            "/orgs/{org}/notifications",
            || json!({"title": "t", "body": "b", "scope": "solutions", "solution_ids": ["{sol}"]}),
            SendsToSolution,
            201,
        ),
        route(
            M::GET,
            "/orgs/{org}/notifications",
            Needs(SendNotifications),
            200,
        ),
        // The fixture's notification was scheduled by the owner: creators see
        // only their own.
        route(
            M::GET,
            "/orgs/{org}/notifications/{notification}",
            OnSolution,
            200,
        ),
        route(
            M::DELETE,
            "/orgs/{org}/notifications/{notification}",
            OnSolution,
            200,
        ),
        route(
            M::GET,
            "/orgs/{org}/notifications/{notification}/recipients",
            OnSolution,
            200,
        ),
        route(M::GET, "/app/notifications?org={org}", Member, 200),
        route(
            M::POST,
            "/app/notifications/read-all?org={org}",
            Member,
            200,
        ),
        route(
            M::POST,
            "/app/notifications/{no_item}/read",
            Authenticated,
            404,
        ),
        route(
            M::DELETE,
            "/app/notifications/{no_item}",
            Authenticated,
            404,
        ),
        route(M::GET, "/app/events?org={org}", Member, 200),
        route(M::GET, "/app/push/key", Authenticated, 200),
        with_body(
            M::POST,
            "/app/devices",
            || json!({"name": "Phone", "platform": "ios"}),
            Authenticated,
            201,
        ),
        // With the device's own token only: a PAT is refused.
        with_body(
            M::PUT,
            "/app/devices/current/push",
            || json!({"endpoint": "https://push.example.com/x", "keys": {"p256dh": "x", "auth": "y"}}),
            Authenticated,
            401,
        ),
        route(M::DELETE, "/app/devices/current/push", Authenticated, 401),
        // Troubleshooting logs: any member sends and reads the level and
        // their own entries; the organization's need ViewUsageAndLogs
        // (creators get their solutions' entries, `user` members 403).
        with_body(
            M::POST,
            "/app/logs?org={org}",
            || json!({"entries": [{"level": "error", "message": "m", "correlation_id": "c"}]}),
            Member,
            202,
        ),
        route(M::GET, "/app/config?org={org}", Member, 200),
        route(M::GET, "/me/logs?org={org}", Member, 200),
        route(M::GET, "/orgs/{org}/logs", Needs(ViewUsageAndLogs), 200),
        route(
            M::GET,
            "/orgs/{org}/logs/correlations",
            Needs(ViewUsageAndLogs),
            200,
        ),
        route(M::GET, "/orgs/{org}/logs.csv", Needs(ViewUsageAndLogs), 200),
        // Usage: any member's app sends events; reading needs ViewUsageAndLogs
        // (a creator gets their solutions' figures, `user` members 403).
        with_body(
            M::POST,
            "/app/usage?org={org}",
            || json!({"events": [{"type": "screen_viewed"}]}),
            Member,
            202,
        ),
        route(M::GET, "/orgs/{org}/usage", Needs(ViewUsageAndLogs), 200),
        route(
            M::GET,
            "/orgs/{org}/usage.csv",
            Needs(ViewUsageAndLogs),
            200,
        ),
        // A member's temporary logging level: owners and admins only (the
        // logging level is an organization setting, SPEC §2).
        route(
            M::GET,
            "/orgs/{org}/users/{user}/log-level",
            Needs(ManageOrgSettings),
            200,
        ),
        with_body(
            M::PUT,
            "/orgs/{org}/users/{user}/log-level",
            || json!({"level": "debug", "hours": 24}),
            Needs(ManageOrgSettings),
            200,
        ),
        // The fixture's `user` member has detailed logging on, to be ended.
        route(
            M::DELETE,
            "/orgs/{org}/users/{user}/log-level",
            Needs(ManageOrgSettings),
            204,
        ),
        route(M::GET, "/me/devices", Authenticated, 200),
        route(M::DELETE, "/me/devices/{no_device}", Authenticated, 404),
        route(M::GET, "/invitations/{token}", Public, 404),
        with_body(
            M::POST,
            "/invitations/{token}/accept",
            || json!({}),
            Public,
            404,
        ),
    ]
}

/// The document's path for a table path (the table names which fixture fills
/// a parameter; the document calls them by their route names).
fn documented_path(path: &str) -> String {
    let path = path.split('?').next().unwrap_or(path);
    path.replace("{disabled}", "{user}")
        .replace("{invited}", "{user}")
        .replace("{invitation}", "{id}")
        .replace("{job}", "{id}")
        .replace("{own_token}", "{id}")
        .replace("{notification}", "{id}")
        .replace("{no_item}", "{id}")
        .replace("{no_device}", "{id}")
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
        .map(|r| format!("{} {}", r.method, documented_path(r.path)))
        .collect();
    assert_eq!(documented, tabled);
}

db_tests!(each_role_gets_what_the_matrix_allows);

/// An organization with one member of every kind a route may be about.
async fn fixture(app: &TestApp) -> (OrgId, muster_domain::UserId, Vec<(&'static str, String)>) {
    let (org, owner) = app
        .create_org("Acme", &format!("owner-{}@example.com", OrgId::new()))
        .await;
    let mut path_values = Vec::new();
    for (key, status) in [
        ("user", MembershipStatus::Active),
        ("disabled", MembershipStatus::Disabled),
    ] {
        let user = app
            .create_user(&format!("{key}-{}@example.com", OrgId::new()))
            .await;
        app.add_member(org, user, OrgRole::User, status).await;
        path_values.push((key, user.to_string()));
    }
    let owner_token = app.token(owner).await;
    let http = reqwest::Client::new();
    let invited: Value = http
        .post(app.url(&format!("/api/v1/orgs/{org}/invitations")))
        .bearer_auth(&owner_token)
        .json(&json!({"email": format!("invited-{}@example.com", OrgId::new())}))
        .send()
        .await
        .expect("invite")
        .json()
        .await
        .expect("json");
    path_values.push((
        "invited",
        invited["user_id"].as_str().unwrap_or_default().to_owned(),
    ));
    path_values.push((
        "invitation",
        invited["id"].as_str().unwrap_or_default().to_owned(),
    ));
    let mut tx = app.store().begin().await.expect("tx");
    let job = BulkInvite {
        org_id: org,
        actor_id: owner,
        actor_role: OrgRole::Owner,
        ip: None,
    };
    let job_id = enqueue_for_org(&mut tx, &job, org, 0, app.clock_now())
        .await
        .expect("a job");
    tx.commit().await.expect("commit");
    path_values.push(("job", job_id.to_string()));
    // A solution the active `user` member is assigned to and in a group of.
    let owner_api = app.api(&owner_token);
    let solution: Value = owner_api
        .post(
            format!("/api/v1/orgs/{org}/solutions"),
            json!({"name": "Fixture"}),
        )
        .await
        .json()
        .await
        .expect("json");
    let sol = solution["id"].as_str().unwrap_or_default().to_owned();
    let user = path_values
        .iter()
        .find(|(key, _)| *key == "user")
        .map(|(_, id)| id.clone())
        .unwrap_or_default();
    owner_api
        .put(
            format!("/api/v1/orgs/{org}/users/{user}/solutions/{sol}"),
            json!({}),
        )
        .await;
    let group: Value = owner_api
        .post(
            format!("/api/v1/orgs/{org}/solutions/{sol}/groups"),
            json!({"name": "Drivers"}),
        )
        .await
        .json()
        .await
        .expect("json");
    let group = group["id"].as_str().unwrap_or_default().to_owned();
    owner_api
        .put(
            format!("/api/v1/orgs/{org}/solutions/{sol}/groups/{group}/members/{user}"),
            json!({}),
        )
        .await;
    let later = (app.clock_now() + time::Duration::days(1))
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default();
    let notification: Value = owner_api
        .post(
            format!("/api/v1/orgs/{org}/notifications"),
            json!({"title": "Later", "body": "b", "scope": "org", "scheduled_at": later}),
        )
        .await
        .json()
        .await
        .expect("json");
    let notification = notification["id"].as_str().unwrap_or_default().to_owned();
    // Detailed logging for the `user` member, for DELETE …/log-level to end.
    owner_api
        .put(
            format!("/api/v1/orgs/{org}/users/{user}/log-level"),
            json!({"level": "debug", "hours": 24}),
        )
        .await;
    path_values.push(("notification", notification));
    path_values.push(("no_item", muster_domain::InboxItemId::new().to_string()));
    path_values.push(("no_device", muster_domain::DeviceId::new().to_string()));
    path_values.push(("sol", sol));
    path_values.push(("group", group));
    path_values.push(("lang", "en".to_owned()));
    path_values.push(("token", "no-such-token".to_owned()));
    path_values.push(("org", org.to_string()));
    (org, owner, path_values)
}

async fn each_role_gets_what_the_matrix_allows(app: TestApp) {
    let http = reqwest::Client::new();
    let (_, outsider) = app.create_org("Elsewhere", "outsider@example.com").await;
    // None: no credentials; Some(None): a member of another organization.
    let callers: [(&str, Option<Option<OrgRole>>); 6] = [
        ("anonymous", None),
        ("outsider", Some(None)),
        ("user", Some(Some(OrgRole::User))),
        ("creator", Some(Some(OrgRole::Creator))),
        ("admin", Some(Some(OrgRole::Admin))),
        ("owner", Some(Some(OrgRole::Owner))),
    ];
    for route in routes() {
        for (label, role) in callers {
            let (org, owner, values) = fixture(&app).await;
            let mut path = format!("/api/v1{}", route.path);
            for (key, value) in &values {
                path = path.replace(&format!("{{{key}}}"), value);
            }
            let token = match role {
                None => None,
                Some(None) => Some(app.token(outsider).await),
                Some(Some(OrgRole::Owner)) => Some(app.token(owner).await),
                Some(Some(role)) => {
                    let user = app
                        .member(org, &format!("{label}-{}@example.com", OrgId::new()), role)
                        .await;
                    Some(app.token(user).await)
                }
            };
            if path.contains("{own_token}") {
                // The caller's own token (the owner's for an anonymous call).
                let bearer = match &token {
                    Some(token) => token.clone(),
                    None => app.token(owner).await,
                };
                let listed: Value = app
                    .api(&bearer)
                    .get("/api/v1/me/tokens")
                    .await
                    .json()
                    .await
                    .expect("json");
                let id = listed["items"][0]["id"].as_str().unwrap_or_default();
                path = path.replace("{own_token}", id);
            }
            let mut request = http.request(route.method.clone(), app.url(&path));
            if let Some(token) = token {
                request = request.bearer_auth(token);
            }
            if let Some(body) = route.body {
                request = request.json(&fill(body(), &values));
            }
            let status = request.send().await.expect("request").status().as_u16();
            let expected = match (route.access, role) {
                (Access::Public, _) => route.success,
                (_, None) => 401,
                (Access::Authenticated, _) => route.success,
                (_, Some(None)) => 404,
                (Access::Member, Some(Some(_))) => route.success,
                (Access::Needs(capability), Some(Some(role))) => {
                    if can(role, capability) {
                        route.success
                    } else {
                        403
                    }
                }
                (Access::OnSolution, Some(Some(OrgRole::Owner | OrgRole::Admin))) => route.success,
                (Access::OnSolution, Some(Some(OrgRole::Creator))) => 404,
                (Access::OnSolution, Some(Some(OrgRole::User))) => 403,
                (Access::SendsToSolution, Some(Some(OrgRole::Owner | OrgRole::Admin))) => {
                    route.success
                }
                (Access::SendsToSolution, Some(Some(_))) => 403,
            };
            assert_eq!(status, expected, "{label} {} {}", route.method, route.path);
        }
    }
}

/// A body with the fixture's ids in place of `"{key}"`.
fn fill(body: Value, values: &[(&'static str, String)]) -> Value {
    let mut text = body.to_string();
    for (key, value) in values {
        text = text.replace(&format!("{{{key}}}"), value);
    }
    serde_json::from_str(&text).unwrap_or(body)
}

db_tests!(ids_of_another_organization_are_not_found);

/// Tenant isolation for every route that names an object: the owner of one
/// organization, in their own organization's path, with the ids of another
/// organization's objects, finds nothing.
async fn ids_of_another_organization_are_not_found(app: TestApp) {
    let (org, owner, _) = fixture(&app).await;
    let (_, _, foreign) = fixture(&app).await;
    let token = app.token(owner).await;
    let http = reqwest::Client::new();
    let objects = [
        "{user}",
        "{disabled}",
        "{invited}",
        "{invitation}",
        "{job}",
        "{sol}",
        "{group}",
        "{notification}",
    ];
    let mut checked = 0;
    for route in routes() {
        if !objects.iter().any(|o| route.path.contains(o)) {
            continue;
        }
        let mut path = format!("/api/v1{}", route.path).replace("{org}", &org.to_string());
        for (key, value) in &foreign {
            path = path.replace(&format!("{{{key}}}"), value);
        }
        let mut request = http
            .request(route.method.clone(), app.url(&path))
            .bearer_auth(&token);
        if let Some(body) = route.body {
            request = request.json(&fill(body(), &foreign));
        }
        let status = request.send().await.expect("request").status().as_u16();
        let status = match (status, route.access) {
            // Naming another organization's solution in a body is a field error.
            (422, Access::SendsToSolution) => 404,
            (status, _) => status,
        };
        assert_eq!(
            status, 404,
            "{} {} with another organization's ids",
            route.method, route.path
        );
        checked += 1;
    }
    assert!(checked >= 20, "only {checked} routes name an object");
}
