use crate::{json, problem};
use muster_domain::{MembershipStatus, OrgRole};
use muster_test_support::{db_tests, TestApp};
use serde_json::json;

db_tests!(
    the_member_list_filters_searches_and_pages,
    role_changes_follow_the_rules,
    disabling_stops_access_at_once_and_enabling_restores_it,
    removing_and_leaving_keep_the_account,
    creators_read_and_users_are_refused,
);

async fn the_member_list_filters_searches_and_pages(app: TestApp) {
    let (org, owner) = app.create_org("Acme", "ada@example.com").await;
    for (email, role) in [
        ("carl@example.com", OrgRole::Creator),
        ("dora@example.com", OrgRole::Admin),
        ("erin@example.com", OrgRole::User),
        ("fred_x@example.com", OrgRole::User),
        ("gina@example.com", OrgRole::User),
    ] {
        app.member(org, email, role).await;
    }
    let hal = app.create_user("hal@example.com").await;
    app.add_member(org, hal, OrgRole::User, MembershipStatus::Disabled)
        .await;
    app.create_org("Other", "zed@example.com").await;
    let token = app.token(owner).await;
    let http = reqwest::Client::new();
    let get = |query: &str| {
        http.get(app.url(&format!("/api/v1/orgs/{org}/users{query}")))
            .bearer_auth(&token)
            .send()
    };
    let emails = |page: &serde_json::Value| -> Vec<String> {
        page["items"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|m| m["email"].as_str().map(str::to_owned))
            .collect()
    };

    let all = json(get("").await.expect("list"), 200).await;
    assert_eq!(emails(&all).len(), 7, "only this organization's members");
    assert_eq!(emails(&all)[0], "ada@example.com", "by email");
    let first = json(get("?limit=3").await.expect("list"), 200).await;
    assert_eq!(
        emails(&first),
        vec!["ada@example.com", "carl@example.com", "dora@example.com"]
    );
    // A member added while paging does not shift the next page.
    app.member(org, "bea@example.com", OrgRole::User).await;
    let cursor = first["next_cursor"].as_str().expect("more").to_owned();
    let second = json(
        get(&format!("?limit=3&cursor={cursor}"))
            .await
            .expect("list"),
        200,
    )
    .await;
    assert_eq!(
        emails(&second),
        vec!["erin@example.com", "fred_x@example.com", "gina@example.com"]
    );

    let users = json(get("?role=user&status=active").await.expect("list"), 200).await;
    assert_eq!(
        emails(&users),
        vec![
            "bea@example.com",
            "erin@example.com",
            "fred_x@example.com",
            "gina@example.com"
        ]
    );
    let disabled = json(get("?status=disabled").await.expect("list"), 200).await;
    assert_eq!(emails(&disabled), vec!["hal@example.com"]);
    // `_` is a character, not a wildcard; names match too, in any case.
    let search = json(get("?q=D_X").await.expect("list"), 200).await;
    assert_eq!(emails(&search), vec!["fred_x@example.com"]);
    let by_name = json(get("?q=TEST%20gina").await.expect("list"), 200).await;
    assert_eq!(emails(&by_name), vec!["gina@example.com"]);
    let by_solution = json(
        get(&format!("?solution={}", muster_domain::OrgId::new()))
            .await
            .expect("list"),
        200,
    )
    .await;
    assert!(emails(&by_solution).is_empty());
    assert_eq!(all["items"][0]["solutions"], json!([]));
    let body = problem(get("?role=boss&status=gone").await.expect("list"), 422).await;
    assert_eq!(body["errors"].as_array().map(Vec::len), Some(2));
}

async fn role_changes_follow_the_rules(app: TestApp) {
    let (org, owner) = app.create_org("Acme", "ada@example.com").await;
    let admin = app.member(org, "admin@example.com", OrgRole::Admin).await;
    let user = app.member(org, "user@example.com", OrgRole::User).await;
    let http = reqwest::Client::new();
    let patch = |token: String, target: muster_domain::UserId, role: &'static str| {
        http.patch(app.url(&format!("/api/v1/orgs/{org}/users/{target}")))
            .bearer_auth(token)
            .json(&json!({"role": role}))
            .send()
    };
    let owner_token = app.token(owner).await;
    let admin_token = app.token(admin).await;
    let changed = json(
        patch(admin_token.clone(), user, "creator")
            .await
            .expect("patch"),
        200,
    )
    .await;
    assert_eq!(changed["role"], "creator");
    problem(
        patch(admin_token.clone(), user, "owner")
            .await
            .expect("patch"),
        403,
    )
    .await;
    problem(
        patch(admin_token.clone(), owner, "admin")
            .await
            .expect("patch"),
        403,
    )
    .await;
    problem(
        patch(admin_token.clone(), admin, "user")
            .await
            .expect("patch"),
        403,
    )
    .await;
    problem(
        patch(owner_token.clone(), owner, "admin")
            .await
            .expect("patch"),
        403,
    )
    .await;
    problem(
        patch(owner_token.clone(), user, "emperor")
            .await
            .expect("patch"),
        422,
    )
    .await;
    json(
        patch(owner_token.clone(), user, "owner")
            .await
            .expect("patch"),
        200,
    )
    .await;
    // Two owners now: one can step the other down, but not the last one.
    let new_owner_token = app.token(user).await;
    json(
        patch(new_owner_token.clone(), owner, "admin")
            .await
            .expect("patch"),
        200,
    )
    .await;
    let audit = json(
        http.get(app.url(&format!(
            "/api/v1/orgs/{org}/audit?action=member.role_changed"
        )))
        .bearer_auth(&new_owner_token)
        .send()
        .await
        .expect("audit"),
        200,
    )
    .await;
    let latest = &audit["items"][0];
    assert_eq!(latest["actor"], "user@example.com");
    assert_eq!(latest["target"], "ada@example.com");
    assert_eq!(latest["before"], json!({"role": "owner"}));
    assert_eq!(latest["after"], json!({"role": "admin"}));
    assert_eq!(audit["items"].as_array().map(Vec::len), Some(3));
}

async fn disabling_stops_access_at_once_and_enabling_restores_it(app: TestApp) {
    let (org, owner) = app.create_org("Acme", "ada@example.com").await;
    let bob = app.member(org, "bob@example.com", OrgRole::Admin).await;
    let bob_token = app.token(bob).await;
    let owner_token = app.token(owner).await;
    let http = reqwest::Client::new();
    json(
        http.get(app.url(&format!("/api/v1/orgs/{org}/users")))
            .bearer_auth(&bob_token)
            .send()
            .await
            .expect("list"),
        200,
    )
    .await;
    let disabled = json(
        http.post(app.url(&format!("/api/v1/orgs/{org}/users/{bob}/disable")))
            .bearer_auth(&owner_token)
            .send()
            .await
            .expect("disable"),
        200,
    )
    .await;
    assert_eq!(disabled["status"], "disabled");
    problem(
        http.get(app.url(&format!("/api/v1/orgs/{org}/users")))
            .bearer_auth(&bob_token)
            .send()
            .await
            .expect("list"),
        403,
    )
    .await;
    // Admins cannot disable owners, nobody disables themselves, the last owner stays.
    problem(
        http.post(app.url(&format!("/api/v1/orgs/{org}/users/{owner}/disable")))
            .bearer_auth(&owner_token)
            .send()
            .await
            .expect("disable"),
        403,
    )
    .await;
    let enabled = json(
        http.post(app.url(&format!("/api/v1/orgs/{org}/users/{bob}/enable")))
            .bearer_auth(&owner_token)
            .send()
            .await
            .expect("enable"),
        200,
    )
    .await;
    assert_eq!(enabled["status"], "active");
    json(
        http.get(app.url(&format!("/api/v1/orgs/{org}/users")))
            .bearer_auth(&bob_token)
            .send()
            .await
            .expect("list"),
        200,
    )
    .await;
    problem(
        http.post(app.url(&format!("/api/v1/orgs/{org}/users/{owner}/disable")))
            .bearer_auth(&bob_token)
            .send()
            .await
            .expect("disable"),
        403,
    )
    .await;
}

async fn removing_and_leaving_keep_the_account(app: TestApp) {
    let (org, owner) = app.create_org("Acme", "ada@example.com").await;
    let bob = app.member(org, "bob@example.com", OrgRole::User).await;
    let carl = app.member(org, "carl@example.com", OrgRole::Creator).await;
    let owner_token = app.token(owner).await;
    let http = reqwest::Client::new();
    let removed = http
        .delete(app.url(&format!("/api/v1/orgs/{org}/users/{bob}")))
        .bearer_auth(&owner_token)
        .send()
        .await
        .expect("remove");
    assert_eq!(removed.status(), 204);
    problem(
        http.get(app.url(&format!("/api/v1/orgs/{org}/users/{bob}")))
            .bearer_auth(&owner_token)
            .send()
            .await
            .expect("get"),
        404,
    )
    .await;
    // Bob can still sign in; he just has no organization.
    app.login(&app.client(), "bob@example.com").await;
    // Carl leaves on his own.
    let carl_token = app.token(carl).await;
    let left = http
        .delete(app.url(&format!("/api/v1/orgs/{org}/users/{carl}")))
        .bearer_auth(&carl_token)
        .send()
        .await
        .expect("leave");
    assert_eq!(left.status(), 204);
    // The last owner cannot leave.
    let body = problem(
        http.delete(app.url(&format!("/api/v1/orgs/{org}/users/{owner}")))
            .bearer_auth(&owner_token)
            .send()
            .await
            .expect("leave"),
        409,
    )
    .await;
    assert!(body["detail"]
        .as_str()
        .unwrap_or_default()
        .contains("at least one active owner"));
    let audit = json(
        http.get(app.url(&format!("/api/v1/orgs/{org}/audit?action=member.")))
            .bearer_auth(&owner_token)
            .send()
            .await
            .expect("audit"),
        200,
    )
    .await;
    let actions: Vec<&str> = audit["items"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|e| e["action"].as_str())
        .collect();
    assert_eq!(actions, vec!["member.left", "member.removed"]);
}

async fn creators_read_and_users_are_refused(app: TestApp) {
    let (org, _) = app.create_org("Acme", "ada@example.com").await;
    let carl = app.member(org, "carl@example.com", OrgRole::Creator).await;
    let uma = app.member(org, "uma@example.com", OrgRole::User).await;
    let http = reqwest::Client::new();
    let carl_token = app.token(carl).await;
    json(
        http.get(app.url(&format!("/api/v1/orgs/{org}/users")))
            .bearer_auth(&carl_token)
            .send()
            .await
            .expect("list"),
        200,
    )
    .await;
    problem(
        http.patch(app.url(&format!("/api/v1/orgs/{org}/users/{uma}")))
            .bearer_auth(&carl_token)
            .json(&json!({"role": "admin"}))
            .send()
            .await
            .expect("patch"),
        403,
    )
    .await;
    problem(
        http.get(app.url(&format!("/api/v1/orgs/{org}/users")))
            .bearer_auth(app.token(uma).await)
            .send()
            .await
            .expect("list"),
        403,
    )
    .await;
}
