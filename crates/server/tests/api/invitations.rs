use crate::{json, problem};
use muster_domain::OrgRole;
use muster_test_support::{db_tests, invite_link, outbox, TestApp, PASSWORD};
use serde_json::json;
use time::Duration;

db_tests!(
    an_invite_mails_a_link_that_onboards_a_new_person,
    an_existing_user_joins_after_signing_in,
    invites_are_refused_for_members_and_without_templates,
    links_explain_when_expired_used_or_revoked,
    a_reinvite_replaces_the_old_link,
);

async fn invite(
    app: &TestApp,
    token: &str,
    org: muster_domain::OrgId,
    body: serde_json::Value,
) -> reqwest::Response {
    app.api(token)
        .post(format!("/api/v1/orgs/{org}/invitations"), body)
        .await
}

async fn an_invite_mails_a_link_that_onboards_a_new_person(app: TestApp) {
    let (org, owner) = app.create_org("Acme", "ada@example.com").await;
    let token = app.token(owner).await;
    let created = json(
        invite(
            &app,
            &token,
            org,
            json!({"email": " Bob@Example.com ", "first_name": "Bob", "last_name": "Builder"}),
        )
        .await,
        201,
    )
    .await;
    assert_eq!(created["email"], "bob@example.com");
    assert_eq!(created["status"], "invited");
    let expires = time::OffsetDateTime::parse(
        created["expires_at"].as_str().unwrap_or_default(),
        &time::format_description::well_known::Rfc3339,
    )
    .expect("a time");
    assert_eq!((expires - app.clock_now()).whole_days(), 7);

    // The mail goes out through the job table.
    assert!(outbox(&app).is_empty());
    assert_eq!(app.worker().run_until_idle().await.expect("jobs"), 1);
    let mails = outbox(&app);
    assert_eq!(mails.len(), 1);
    assert!(mails[0].contains("To: bob@example.com"));
    assert!(
        mails[0].contains("Subject: Ada example invited you to Acme")
            || mails[0].contains("invited you to Acme"),
        "{}",
        mails[0]
    );
    let link = invite_link(&mails[0]).expect("an invite link");
    assert!(link.starts_with(&format!("{}/invite/", app.base)), "{link}");
    let secret = link.rsplit('/').next().unwrap_or_default().to_owned();

    let landing = json(
        reqwest::get(app.url(&format!("/api/v1/invitations/{secret}")))
            .await
            .expect("landing"),
        200,
    )
    .await;
    assert_eq!(landing["organization"], "Acme");
    assert_eq!(landing["email"], "bob@example.com");
    assert_eq!(landing["new_account"], true);

    let client = app.client();
    let accept = |body: serde_json::Value| {
        client
            .post(app.url(&format!("/api/v1/invitations/{secret}/accept")))
            .json(&body)
            .send()
    };
    let invalid = problem(
        accept(json!({"first_name": "Bob", "last_name": "Builder", "password": "short"}))
            .await
            .expect("accept"),
        422,
    )
    .await;
    assert_eq!(invalid["errors"][0]["field"], "password");
    let accepted = json(
        accept(json!({"first_name": "Bob", "last_name": "Builder", "password": PASSWORD}))
            .await
            .expect("accept"),
        200,
    )
    .await;
    assert_eq!(accepted["org_id"], org.to_string());
    assert_eq!(accepted["user"]["memberships"][0]["status"], "active");
    // Signed in by accepting, with the new password working too.
    json(
        client.get(app.url("/api/v1/me")).send().await.expect("me"),
        200,
    )
    .await;
    app.login(&app.client(), "bob@example.com").await;

    let list = json(
        app.api(&token)
            .get(format!("/api/v1/orgs/{org}/users?q=bob"))
            .await,
        200,
    )
    .await;
    assert_eq!(list["items"][0]["status"], "active");
    assert_eq!(list["items"][0]["role"], "user");
    assert!(list["items"][0]["joined_at"].is_string());
    // Single use.
    let reuse = reqwest::Client::new()
        .post(app.url(&format!("/api/v1/invitations/{secret}/accept")))
        .json(&json!({"first_name": "Eve", "last_name": "X", "password": PASSWORD}))
        .send()
        .await
        .expect("accept");
    let body = problem(reuse, 410).await;
    assert!(
        body["detail"]
            .as_str()
            .unwrap_or_default()
            .contains("already been accepted"),
        "{body}"
    );
}

async fn an_existing_user_joins_after_signing_in(app: TestApp) {
    let (org, owner) = app.create_org("Acme", "ada@example.com").await;
    let (_, grace) = app.create_org("Globex", "grace@example.com").await;
    let token = app.token(owner).await;
    json(
        invite(
            &app,
            &token,
            org,
            json!({"email": "grace@example.com", "role": "creator"}),
        )
        .await,
        201,
    )
    .await;
    app.worker().run_until_idle().await.expect("jobs");
    let link = invite_link(&outbox(&app)[0]).expect("a link");
    let secret = link.rsplit('/').next().unwrap_or_default().to_owned();
    let landing = json(
        reqwest::get(app.url(&format!("/api/v1/invitations/{secret}")))
            .await
            .expect("landing"),
        200,
    )
    .await;
    assert_eq!(landing["new_account"], false);
    // Without signing in, nobody can take over the account by setting a password.
    let anonymous = reqwest::Client::new()
        .post(app.url(&format!("/api/v1/invitations/{secret}/accept")))
        .json(&json!({"first_name": "Mallory", "last_name": "X", "password": "a new password!"}))
        .send()
        .await
        .expect("accept");
    problem(anonymous, 401).await;
    // Signed in as someone else: refused.
    let other = app.token(owner).await;
    let wrong = app
        .api(&other)
        .post(format!("/api/v1/invitations/{secret}/accept"), json!({}))
        .await;
    problem(wrong, 403).await;
    let grace_token = app.token(grace).await;
    let accepted = json(
        app.api(&grace_token)
            .post(format!("/api/v1/invitations/{secret}/accept"), json!({}))
            .await,
        200,
    )
    .await;
    let memberships = accepted["user"]["memberships"]
        .as_array()
        .expect("memberships");
    assert_eq!(memberships.len(), 2);
    assert!(memberships
        .iter()
        .any(|m| m["org_name"] == "Acme" && m["role"] == "creator" && m["status"] == "active"));
    // Her password did not change.
    app.login(&app.client(), "grace@example.com").await;
}

async fn invites_are_refused_for_members_and_without_templates(app: TestApp) {
    let (org, owner) = app.create_org("Acme", "ada@example.com").await;
    let admin = app.member(org, "admin@example.com", OrgRole::Admin).await;
    let creator = app
        .member(org, "creator@example.com", OrgRole::Creator)
        .await;
    let token = app.token(owner).await;
    let body = problem(
        invite(&app, &token, org, json!({"email": "ADMIN@example.com"})).await,
        409,
    )
    .await;
    assert!(
        body["detail"]
            .as_str()
            .unwrap_or_default()
            .contains("status: active"),
        "{body}"
    );
    json(
        invite(&app, &token, org, json!({"email": "bob@example.com"})).await,
        201,
    )
    .await;
    let body = problem(
        invite(&app, &token, org, json!({"email": "bob@example.com"})).await,
        409,
    )
    .await;
    assert!(
        body["detail"]
            .as_str()
            .unwrap_or_default()
            .contains("status: invited"),
        "{body}"
    );
    let body = problem(
        invite(
            &app,
            &token,
            org,
            json!({"email": "nope", "role": "boss", "language": "!!"}),
        )
        .await,
        422,
    )
    .await;
    assert_eq!(body["errors"].as_array().map(Vec::len), Some(3));
    problem(
        invite(
            &app,
            &app.token(creator).await,
            org,
            json!({"email": "c@example.com"}),
        )
        .await,
        403,
    )
    .await;
    // Admins do not make owners.
    problem(
        invite(
            &app,
            &app.token(admin).await,
            org,
            json!({"email": "o@example.com", "role": "owner"}),
        )
        .await,
        403,
    )
    .await;
    json(
        invite(
            &app,
            &token,
            org,
            json!({"email": "o@example.com", "role": "owner"}),
        )
        .await,
        201,
    )
    .await;
    let deleted = app
        .api(&token)
        .delete(format!("/api/v1/orgs/{org}/invite-templates/en"))
        .await;
    assert_eq!(deleted.status(), 204);
    let body = problem(
        invite(&app, &token, org, json!({"email": "carl@example.com"})).await,
        409,
    )
    .await;
    assert!(
        body["detail"]
            .as_str()
            .unwrap_or_default()
            .contains("Organization settings"),
        "{body}"
    );
}

async fn links_explain_when_expired_used_or_revoked(app: TestApp) {
    let (org, owner) = app.create_org("Acme", "ada@example.com").await;
    let token = app.token(owner).await;
    let first = json(
        invite(&app, &token, org, json!({"email": "late@example.com"})).await,
        201,
    )
    .await;
    let second = json(
        invite(&app, &token, org, json!({"email": "gone@example.com"})).await,
        201,
    )
    .await;
    app.worker().run_until_idle().await.expect("jobs");
    let links: Vec<String> = outbox(&app).iter().filter_map(|m| invite_link(m)).collect();
    assert_eq!(links.len(), 2);
    let secret_of = |email: &str| {
        outbox(&app)
            .iter()
            .find(|m| m.contains(&format!("To: {email}")))
            .and_then(|m| invite_link(m))
            .and_then(|l| l.rsplit('/').next().map(str::to_owned))
            .expect("a link")
    };
    let late = secret_of("late@example.com");
    let gone = secret_of("gone@example.com");
    let revoked = app
        .api(&token)
        .delete(format!(
            "/api/v1/orgs/{org}/invitations/{}",
            second["id"].as_str().unwrap_or_default()
        ))
        .await;
    assert_eq!(revoked.status(), 204);
    let body = problem(
        reqwest::get(app.url(&format!("/api/v1/invitations/{gone}")))
            .await
            .expect("landing"),
        410,
    )
    .await;
    assert!(
        body["detail"]
            .as_str()
            .unwrap_or_default()
            .contains("withdrawn"),
        "{body}"
    );
    // The revoked person is no longer listed.
    let list = json(
        app.api(&token)
            .get(format!("/api/v1/orgs/{org}/users?q=gone"))
            .await,
        200,
    )
    .await;
    assert_eq!(list["items"].as_array().map(Vec::len), Some(0));
    problem(
        app.api(&token)
            .delete(format!(
                "/api/v1/orgs/{org}/invitations/{}",
                second["id"].as_str().unwrap_or_default()
            ))
            .await,
        409,
    )
    .await;
    app.clock.advance(Duration::days(7) + Duration::minutes(1));
    let body = problem(
        reqwest::get(app.url(&format!("/api/v1/invitations/{late}")))
            .await
            .expect("landing"),
        410,
    )
    .await;
    assert!(
        body["detail"]
            .as_str()
            .unwrap_or_default()
            .contains("expired"),
        "{body}"
    );
    problem(
        reqwest::get(app.url("/api/v1/invitations/not-a-token"))
            .await
            .expect("landing"),
        404,
    )
    .await;
    let _ = first;
}

async fn a_reinvite_replaces_the_old_link(app: TestApp) {
    let (org, owner) = app.create_org("Acme", "ada@example.com").await;
    let token = app.token(owner).await;
    let put = app.api(&token).put(format!("/api/v1/orgs/{org}/invite-templates/de"), json!({"subject": "Einladung zu {{ organization }}", "body": "Hallo {{ first_name }}, {{ invite_link }}"})).await;
    assert_eq!(put.status(), 201);
    let created = json(
        invite(
            &app,
            &token,
            org,
            json!({"email": "bob@example.com", "first_name": "Bob"}),
        )
        .await,
        201,
    )
    .await;
    let user = created["user_id"].as_str().unwrap_or_default().to_owned();
    app.worker().run_until_idle().await.expect("jobs");
    let old = invite_link(&outbox(&app)[0]).expect("a link");
    let again = json(
        app.api(&token)
            .post(
                format!("/api/v1/orgs/{org}/users/{user}/reinvite"),
                json!({"language": "de"}),
            )
            .await,
        200,
    )
    .await;
    assert_ne!(again["id"], created["id"]);
    app.worker().run_until_idle().await.expect("jobs");
    let mails = outbox(&app);
    assert_eq!(mails.len(), 2);
    let german = mails
        .iter()
        .find(|m| m.contains("Einladung zu Acme"))
        .expect("the German mail");
    assert!(german.contains("Hallo Bob"));
    let old_secret = old.rsplit('/').next().unwrap_or_default();
    let body = problem(
        reqwest::get(app.url(&format!("/api/v1/invitations/{old_secret}")))
            .await
            .expect("landing"),
        410,
    )
    .await;
    assert!(
        body["detail"]
            .as_str()
            .unwrap_or_default()
            .contains("newer invitation"),
        "{body}"
    );
    let detail = json(
        app.api(&token)
            .get(format!("/api/v1/orgs/{org}/users/{user}"))
            .await,
        200,
    )
    .await;
    assert_eq!(detail["invitation"]["language"], "de");
    assert_eq!(detail["invitation"]["status"], "pending");
}
