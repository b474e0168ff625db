//! My profile → Personal access tokens through plain HTML forms.

use crate::json;
use muster_domain::OrgRole;
use muster_test_support::{csrf_field, db_tests, TestApp};
use time::Duration;

db_tests!(
    a_token_is_added_shown_once_extended_and_deleted,
    tokens_close_to_expiry_are_highlighted,
    token_pages_refuse_strangers_and_forged_forms,
);

async fn page(client: &reqwest::Client, url: String) -> (u16, String) {
    let response = client.get(url).send().await.expect("page");
    let status = response.status().as_u16();
    (status, response.text().await.expect("html"))
}

async fn submit(client: &reqwest::Client, url: String, form: &[(&str, &str)]) -> (u16, String) {
    let response = client.post(url).form(form).send().await.expect("submit");
    let status = response.status().as_u16();
    (status, response.text().await.expect("html"))
}

/// Follows the redirect after a form, as a browser does.
async fn follow(app: &TestApp, client: &reqwest::Client, response: reqwest::Response) -> String {
    assert_eq!(response.status(), 303);
    let to = response
        .headers()
        .get("location")
        .and_then(|v| v.to_str().ok())
        .expect("a Location")
        .to_owned();
    page(client, app.url(&to)).await.1
}

/// The text between `<code id="token-secret" class="secret">` and `</code>`.
fn secret_in(html: &str) -> String {
    html.split("id=\"token-secret\" class=\"secret\">")
        .nth(1)
        .and_then(|rest| rest.split("</code>").next())
        .expect("the secret is on the page")
        .to_owned()
}

async fn a_token_is_added_shown_once_extended_and_deleted(app: TestApp) {
    app.create_org("Acme", "ada@example.com").await;
    let client = app.form_session("ada@example.com").await;
    let (status, profile) = page(&client, app.url("/me")).await;
    assert_eq!(status, 200);
    assert!(profile.contains("You have no tokens."));

    let (_, form) = page(&client, app.url("/me/tokens/new")).await;
    let csrf = csrf_field(&form);
    let (status, refused) = submit(
        &client,
        app.url("/me/tokens"),
        &[("csrf_token", &csrf), ("name", "  ")],
    )
    .await;
    assert_eq!(status, 422);
    assert!(refused.contains("id=\"name-error\""), "{refused}");

    let (status, created) = submit(
        &client,
        app.url("/me/tokens"),
        &[("csrf_token", &csrf), ("name", "Nightly export")],
    )
    .await;
    assert_eq!(status, 201);
    assert!(created.contains("shown only this once"));
    let secret = secret_in(&created);
    assert!(created.contains(&format!("data-copy=\"{secret}\"")));
    let me = json(app.api(&secret).get("/api/v1/me").await, 200).await;
    assert_eq!(me["email"], "ada@example.com");

    // The profile lists it by name and prefix, never with the secret.
    let (_, profile) = page(&client, app.url("/me")).await;
    assert!(profile.contains("Nightly export"));
    assert!(profile.contains(&format!("<code>{}…</code>", &secret[..12])));
    assert!(!profile.contains(&secret));
    let detail = profile
        .split("href=\"")
        .find(|part| part.starts_with("/me/tokens/0"))
        .and_then(|part| part.split('"').next())
        .expect("a link to the token");

    let (_, panel) = page(&client, app.url(detail)).await;
    assert!(!panel.contains(&secret));
    let lease_before = panel
        .split("id=\"token-lease\">")
        .nth(1)
        .and_then(|rest| rest.split(' ').next())
        .expect("the lease date")
        .to_owned();
    let response = client
        .post(app.url(&format!("{detail}/extend")))
        .form(&[("csrf_token", csrf.as_str())])
        .send()
        .await
        .expect("extend");
    let text = follow(&app, &client, response).await;
    assert!(text.contains("extended by 14 days"));
    let (_, panel) = page(&client, app.url(detail)).await;
    let lease_after = panel
        .split("id=\"token-lease\">")
        .nth(1)
        .and_then(|rest| rest.split(' ').next())
        .expect("the lease date")
        .to_owned();
    let parse = |s: &str| {
        time::Date::parse(s, time::macros::format_description!("[year]-[month]-[day]"))
            .expect("a date")
    };
    assert_eq!(
        parse(&lease_after) - parse(&lease_before),
        Duration::days(14)
    );

    // Deleting needs the box ticked.
    let (status, unconfirmed) = submit(
        &client,
        app.url(&format!("{detail}/delete")),
        &[("csrf_token", &csrf)],
    )
    .await;
    assert_eq!(status, 422);
    assert!(unconfirmed.contains("id=\"confirm-error\""));
    json(app.api(&secret).get("/api/v1/me").await, 200).await;
    let response = client
        .post(app.url(&format!("{detail}/delete")))
        .form(&[("csrf_token", csrf.as_str()), ("confirm", "yes")])
        .send()
        .await
        .expect("delete");
    let after = follow(&app, &client, response).await;
    assert!(after.contains("no longer works"));
    assert!(after.contains("You have no tokens."));
    assert_eq!(
        app.api(&secret).get("/api/v1/me").await.status(),
        401,
        "a deleted token stops at once"
    );
}

async fn tokens_close_to_expiry_are_highlighted(app: TestApp) {
    let (_, ada) = app.create_org("Acme", "ada@example.com").await;
    app.token(ada).await;
    let client = app.form_session("ada@example.com").await;
    let (_, fresh) = page(&client, app.url("/me")).await;
    assert!(!fresh.contains("class=\"warn\""));
    assert!(
        fresh.contains("in 6 months") || fresh.contains("in 5 months"),
        "{fresh}"
    );
    // Six months less three days later, unused: three days of lease left.
    app.clock.advance(Duration::days(178));
    let client = app.form_session("ada@example.com").await;
    let (_, soon) = page(&client, app.url("/me")).await;
    assert!(soon.contains("<tr class=\"warn\">"), "{soon}");
    assert!(soon.contains("expires soon"));
    app.clock.advance(Duration::days(10));
    let client = app.form_session("ada@example.com").await;
    let (_, gone) = page(&client, app.url("/me")).await;
    assert!(gone.contains("<strong>expired</strong>"));
}

async fn token_pages_refuse_strangers_and_forged_forms(app: TestApp) {
    let (org, ada) = app.create_org("Acme", "ada@example.com").await;
    app.member(org, "bob@example.com", OrgRole::Admin).await;
    let ada_token = app.token(ada).await;
    let listed = json(app.api(&ada_token).get("/api/v1/me/tokens").await, 200).await;
    let id = listed["items"][0]["id"].as_str().expect("id").to_owned();

    let bob = app.form_session("bob@example.com").await;
    let (status, _) = page(&bob, app.url(&format!("/me/tokens/{id}"))).await;
    assert_eq!(status, 404);
    let (_, form) = page(&bob, app.url("/me/tokens/new")).await;
    let csrf = csrf_field(&form);
    let (status, _) = submit(
        &bob,
        app.url(&format!("/me/tokens/{id}/delete")),
        &[("csrf_token", &csrf), ("confirm", "yes")],
    )
    .await;
    assert_eq!(status, 404);
    json(app.api(&ada_token).get("/api/v1/me").await, 200).await;

    // A form without this session's CSRF token changes nothing.
    let (status, _) = submit(
        &bob,
        app.url("/me/tokens"),
        &[("csrf_token", "forged"), ("name", "sneaky")],
    )
    .await;
    assert_eq!(status, 403);
    let ada_session = app.form_session("ada@example.com").await;
    let (status, _) = submit(
        &ada_session,
        app.url(&format!("/me/tokens/{id}/delete")),
        &[("csrf_token", "forged"), ("confirm", "yes")],
    )
    .await;
    assert_eq!(status, 403);
    json(app.api(&ada_token).get("/api/v1/me").await, 200).await;
}
