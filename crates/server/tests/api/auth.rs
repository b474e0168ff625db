use crate::{json, problem};
use muster_domain::{MembershipStatus, OrgRole};
use muster_test_support::{db_tests, TestApp, PASSWORD};
use serde_json::json;
use time::Duration;

db_tests!(
    login_starts_a_session,
    wrong_password_and_unknown_email_look_the_same,
    repeated_failures_are_throttled,
    cookie_requests_that_change_state_need_the_csrf_header,
    sign_in_rotates_the_session,
    logout_ends_the_session,
    sessions_expire_after_inactivity,
    a_token_authenticates_as_its_user,
    a_disabled_membership_stops_token_and_session_at_once,
    the_scheme_is_any_case_and_secrets_are_never_cached,
);

/// `Authorization: bearer …` works as `Bearer …` does; an answer that shows
/// a secret (a new token) is `Cache-Control: no-store`, and so is every page
/// and API answer; static files stay cacheable.
async fn the_scheme_is_any_case_and_secrets_are_never_cached(app: TestApp) {
    let (_, owner) = app.create_org("Acme", "ada@example.com").await;
    let token = app.token(owner).await;
    let http = reqwest::Client::new();
    for scheme in ["bearer", "BEARER", "Bearer"] {
        let me = http
            .get(app.url("/api/v1/me"))
            .header("authorization", format!("{scheme} {token}"))
            .send()
            .await
            .expect("me");
        assert_eq!(me.status(), 200, "{scheme}");
    }
    let basic = http
        .get(app.url("/api/v1/me"))
        .header("authorization", "Basic YWRhOnB3")
        .send()
        .await
        .expect("me");
    assert_eq!(basic.status(), 401);

    let created = app
        .api(&token)
        .post("/api/v1/me/tokens", json!({"name": "ci"}))
        .await;
    assert_eq!(created.status(), 201);
    assert_eq!(created.headers()["cache-control"], "no-store");
    let page = http.get(app.url("/signin")).send().await.expect("page");
    assert_eq!(page.headers()["cache-control"], "no-store");
    assert!(
        page.headers().get("strict-transport-security").is_none(),
        "not over http"
    );
    let css = http
        .get(app.url("/static/app.css"))
        .send()
        .await
        .expect("css");
    assert_ne!(css.headers()["cache-control"], "no-store");

    // Reached over https (as its public URL says), browsers are told to keep to it.
    let db = app.db;
    app.shutdown().await;
    let Some(app) = TestApp::start_custom(db, false, |s| {
        s.public_url = Some("https://muster.example.com".into())
    })
    .await
    else {
        return;
    };
    let page = http.get(app.url("/signin")).send().await.expect("page");
    assert_eq!(
        page.headers()["strict-transport-security"],
        "max-age=31536000"
    );
}

async fn login_starts_a_session(app: TestApp) {
    app.create_org("Acme", "ada@example.com").await;
    let client = app.client();
    let response = client
        .post(app.url("/api/v1/auth/login"))
        .json(&json!({"email": "ADA@example.com", "password": PASSWORD}))
        .send()
        .await
        .expect("login");
    let cookie = response
        .headers()
        .get("set-cookie")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    assert!(cookie.starts_with("muster_session="), "{cookie}");
    assert!(
        cookie.contains("HttpOnly") && cookie.contains("SameSite=Lax"),
        "{cookie}"
    );
    assert!(
        !cookie.contains("Secure"),
        "no Secure flag over plain http: {cookie}"
    );
    let body = json(response, 200).await;
    assert_eq!(body["user"]["email"], "ada@example.com");
    assert_eq!(body["user"]["memberships"][0]["role"], "owner");
    let csrf = body["csrf_token"].as_str().unwrap_or_default().to_owned();
    assert!(csrf.len() > 20, "{body}");
    let me = json(
        client.get(app.url("/api/v1/me")).send().await.expect("me"),
        200,
    )
    .await;
    assert_eq!(me["email"], "ada@example.com");
    // Neither the session id nor its CSRF token rests in the database.
    let session_id = cookie
        .trim_start_matches("muster_session=")
        .split(';')
        .next()
        .unwrap_or_default()
        .to_owned();
    let mut conn = app.store().read().await.expect("conn");
    let rows: Vec<(String, String)> = sqlx::query_as("SELECT id_hash, csrf_token FROM sessions")
        .fetch_all(&mut *conn)
        .await
        .expect("sessions");
    assert_eq!(rows.len(), 1);
    for (id_hash, stored_csrf) in rows {
        assert!(!id_hash.contains(&session_id) && !stored_csrf.contains(&csrf));
        assert!(stored_csrf.is_empty());
    }
}

async fn wrong_password_and_unknown_email_look_the_same(app: TestApp) {
    app.create_user("ada@example.com").await;
    let client = app.client();
    let attempt = |email: &'static str, password: &'static str| {
        client
            .post(app.url("/api/v1/auth/login"))
            .json(&json!({"email": email, "password": password}))
            .send()
    };
    let wrong_password = problem(
        attempt("ada@example.com", "not the password")
            .await
            .expect("login"),
        401,
    )
    .await;
    let unknown = problem(
        attempt("nobody@example.com", "not the password")
            .await
            .expect("login"),
        401,
    )
    .await;
    assert_eq!(wrong_password, unknown);
}

async fn repeated_failures_are_throttled(app: TestApp) {
    let (org, ada) = app.create_org("Acme", "ada@example.com").await;
    let client = app.client();
    let login = |password: &'static str| {
        client
            .post(app.url("/api/v1/auth/login"))
            .json(&json!({"email": "ada@example.com", "password": password}))
            .send()
    };
    for _ in 0..5 {
        problem(login("wrong password").await.expect("login"), 401).await;
    }
    let throttled = login(PASSWORD).await.expect("login");
    assert!(throttled.headers().contains_key("retry-after"));
    let body = problem(throttled, 429).await;
    assert!(
        body["detail"]
            .as_str()
            .unwrap_or_default()
            .contains("try again"),
        "{body}"
    );
    // Each failure and the lockout are in Ada's organization's audit log;
    // the attempt refused while locked adds nothing.
    let token = app.token(ada).await;
    let audit = json(
        app.api(&token)
            .get(format!("/api/v1/orgs/{org}/audit?action=account."))
            .await,
        200,
    )
    .await;
    let events: Vec<(String, String)> = audit["items"]
        .as_array()
        .expect("items")
        .iter()
        .map(|e| {
            (
                e["action"].as_str().unwrap_or_default().to_owned(),
                e["after"].to_string(),
            )
        })
        .collect();
    let actions: Vec<&str> = events.iter().map(|(a, _)| a.as_str()).collect();
    assert_eq!(
        actions
            .iter()
            .filter(|a| **a == "account.sign_in_failed")
            .count(),
        5,
        "{events:?}"
    );
    assert_eq!(
        actions.first(),
        Some(&"account.locked"),
        "newest first: {events:?}"
    );
    assert!(events[0].1.contains("locked_until"), "{events:?}");
    assert!(events[1].1.contains("\"failures\":5"), "{events:?}");
    // Another account from the same address is not locked by Ada's failures.
    app.create_user("bob@example.com").await;
    app.login(&app.client(), "bob@example.com").await;
    app.clock.advance(Duration::minutes(16));
    json(login(PASSWORD).await.expect("login"), 200).await;
}

async fn cookie_requests_that_change_state_need_the_csrf_header(app: TestApp) {
    app.create_user("ada@example.com").await;
    let client = app.client();
    let csrf = app.login(&client, "ada@example.com").await;
    let patch = || {
        client
            .patch(app.url("/api/v1/me"))
            .json(&json!({"first_name": "Ada"}))
    };
    problem(patch().send().await.expect("patch"), 403).await;
    problem(
        patch()
            .header("x-csrf-token", "forged")
            .send()
            .await
            .expect("patch"),
        403,
    )
    .await;
    let me = json(
        patch()
            .header("x-csrf-token", &csrf)
            .send()
            .await
            .expect("patch"),
        200,
    )
    .await;
    assert_eq!(me["first_name"], "Ada");
}

fn session_cookie(response: &reqwest::Response) -> String {
    response
        .headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find_map(|c| c.strip_prefix("muster_session="))
        .and_then(|c| c.split(';').next())
        .expect("a session cookie")
        .to_owned()
}

async fn sign_in_rotates_the_session(app: TestApp) {
    app.create_user("ada@example.com").await;
    let client = app.client();
    let body = json!({"email": "ada@example.com", "password": PASSWORD});
    let first = client
        .post(app.url("/api/v1/auth/login"))
        .json(&body)
        .send()
        .await
        .expect("login");
    let first_id = session_cookie(&first);
    let second = client
        .post(app.url("/api/v1/auth/login"))
        .json(&body)
        .send()
        .await
        .expect("login");
    let second_id = session_cookie(&second);
    assert_ne!(first_id, second_id);
    let with_old = reqwest::Client::new()
        .get(app.url("/api/v1/me"))
        .header("cookie", format!("muster_session={first_id}"))
        .send()
        .await
        .expect("me");
    problem(with_old, 401).await;
    json(
        client.get(app.url("/api/v1/me")).send().await.expect("me"),
        200,
    )
    .await;
}

async fn logout_ends_the_session(app: TestApp) {
    app.create_user("ada@example.com").await;
    let client = app.client();
    let csrf = app.login(&client, "ada@example.com").await;
    let out = client
        .post(app.url("/api/v1/auth/logout"))
        .header("x-csrf-token", &csrf)
        .send()
        .await
        .expect("logout");
    assert_eq!(out.status(), 204);
    problem(
        client.get(app.url("/api/v1/me")).send().await.expect("me"),
        401,
    )
    .await;
}

async fn sessions_expire_after_inactivity(app: TestApp) {
    app.create_user("ada@example.com").await;
    let client = app.client();
    app.login(&client, "ada@example.com").await;
    // Activity keeps the session alive past the original 12 h.
    app.clock.advance(Duration::hours(11));
    json(
        client.get(app.url("/api/v1/me")).send().await.expect("me"),
        200,
    )
    .await;
    app.clock.advance(Duration::hours(11));
    json(
        client.get(app.url("/api/v1/me")).send().await.expect("me"),
        200,
    )
    .await;
    // Then 12 h of silence ends it.
    app.clock
        .advance(Duration::hours(12) + Duration::minutes(1));
    problem(
        client.get(app.url("/api/v1/me")).send().await.expect("me"),
        401,
    )
    .await;
}

async fn a_token_authenticates_as_its_user(app: TestApp) {
    let (_, owner) = app.create_org("Acme", "ada@example.com").await;
    let token = app.token(owner).await;
    assert!(
        token.starts_with("mst_pat_") && token.len() == 54,
        "{token}"
    );
    let me = json(app.api(&token).get("/api/v1/me").await, 200).await;
    assert_eq!(me["email"], "ada@example.com");
    // A token changes state without CSRF: it is not ambient like a cookie.
    json(
        app.api(&token)
            .patch("/api/v1/me", json!({"last_name": "Lovelace"}))
            .await,
        200,
    )
    .await;
    // One mistyped character fails the checksum.
    let mut typo: Vec<char> = token.chars().collect();
    typo[10] = if typo[10] == 'x' { 'y' } else { 'x' };
    let typo: String = typo.into_iter().collect();
    let body = problem(app.api(&typo).get("/api/v1/me").await, 401).await;
    assert!(
        body["detail"]
            .as_str()
            .unwrap_or_default()
            .contains("checksum"),
        "{body}"
    );
    // After the six-month lease (with no use to extend it), the token is refused.
    app.clock.advance(Duration::days(200));
    let body = problem(app.api(&token).get("/api/v1/me").await, 401).await;
    assert!(
        body["detail"]
            .as_str()
            .unwrap_or_default()
            .contains("expired"),
        "{body}"
    );
}

async fn a_disabled_membership_stops_token_and_session_at_once(app: TestApp) {
    let (org, _) = app.create_org("Acme", "ada@example.com").await;
    let bob = app.member(org, "bob@example.com", OrgRole::Admin).await;
    let token = app.token(bob).await;
    let client = app.client();
    app.login(&client, "bob@example.com").await;
    json(
        app.api(&token).get(format!("/api/v1/orgs/{org}")).await,
        200,
    )
    .await;
    let mut conn = app.store().write().await.expect("a connection");
    sqlx::query("UPDATE memberships SET status = $1 WHERE user_id = $2")
        .bind(MembershipStatus::Disabled.as_str())
        .bind(bob.to_string())
        .execute(&mut *conn)
        .await
        .expect("disable");
    drop(conn);
    problem(
        app.api(&token).get(format!("/api/v1/orgs/{org}")).await,
        403,
    )
    .await;
    problem(
        client
            .get(app.url(&format!("/api/v1/orgs/{org}")))
            .send()
            .await
            .expect("org"),
        403,
    )
    .await;
}
