//! My profile → Personal access tokens through plain HTML forms.

use crate::json;
use muster_domain::OrgRole;
use muster_test_support::ui::{follow, page, submit};
use muster_test_support::{csrf_field, db_tests, Html, TestApp};
use time::Duration;

db_tests!(
    a_token_is_added_shown_once_extended_and_deleted,
    tokens_close_to_expiry_are_highlighted,
    token_pages_refuse_strangers_and_forged_forms,
);

async fn a_token_is_added_shown_once_extended_and_deleted(app: TestApp) {
    app.create_org("Acme", "ada@example.com").await;
    let client = app.form_session("ada@example.com").await;
    let (status, profile) = page(&client, app.url("/me")).await;
    assert_eq!(status, 200);
    assert_eq!(profile.text_of("#no-tokens"), "You have no tokens.");

    let (_, form) = page(&client, app.url("/me/tokens/new")).await;
    let csrf = csrf_field(&form);
    let (status, refused) = submit(
        &client,
        app.url("/me/tokens"),
        &[("csrf_token", &csrf), ("name", "  ")],
    )
    .await;
    assert_eq!(status, 422);
    let error = refused
        .field_error("name")
        .expect("an error next to the name");
    assert_eq!(refused.text_of("#name-error"), error);

    let (status, created) = submit(
        &client,
        app.url("/me/tokens"),
        &[("csrf_token", &csrf), ("name", "Nightly export")],
    )
    .await;
    assert_eq!(status, 201);
    assert!(
        created
            .text_of(".notice[role=alert]")
            .contains("shown only this once"),
        "{created}"
    );
    let secret = created.text_of("code#token-secret");
    assert!(secret.starts_with("mst_pat_"), "{secret}");
    assert_eq!(
        created.attr("#copy-token", "data-copy").as_deref(),
        Some(secret.as_str()),
        "the copy button copies the secret"
    );
    let me = json(app.api(&secret).get("/api/v1/me").await, 200).await;
    assert_eq!(me["email"], "ada@example.com");

    // The profile lists it by name and prefix, never with the secret.
    let (_, profile) = page(&client, app.url("/me")).await;
    let rows = profile.rows("#token-list tbody tr");
    assert_eq!(rows.len(), 1, "{profile}");
    assert_eq!(rows[0][0], "Nightly export");
    assert_eq!(rows[0][1], format!("{}…", &secret[..12]));
    assert!(!profile.mentions(&secret), "the secret is not shown again");
    let detail = profile
        .attr("#token-list tbody a", "href")
        .expect("a link to the token");
    assert!(detail.starts_with("/me/tokens/"), "{detail}");
    let detail = detail.as_str();

    let (_, panel) = page(&client, app.url(detail)).await;
    assert!(!panel.mentions(&secret));
    let lease_of = |panel: &Html| {
        panel
            .text_of("#token-lease")
            .split(' ')
            .next()
            .expect("the lease date")
            .to_owned()
    };
    let lease_before = lease_of(&panel);
    let response = client
        .post(app.url(&format!("{detail}/extend")))
        .form(&[("csrf_token", csrf.as_str())])
        .send()
        .await
        .expect("extend");
    let extended = follow(&app, &client, response).await;
    assert_eq!(
        extended.text_of(".notice[role=status]"),
        "The token's lease was extended by 14 days."
    );
    let (_, panel) = page(&client, app.url(detail)).await;
    let lease_after = lease_of(&panel);
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
    let error = unconfirmed
        .field_error("confirm")
        .expect("an error next to the box");
    assert_eq!(unconfirmed.text_of("#confirm-error"), error);
    json(app.api(&secret).get("/api/v1/me").await, 200).await;
    let response = client
        .post(app.url(&format!("{detail}/delete")))
        .form(&[("csrf_token", csrf.as_str()), ("confirm", "yes")])
        .send()
        .await
        .expect("delete");
    let after = follow(&app, &client, response).await;
    assert_eq!(
        after.text_of(".notice[role=status]"),
        "The token was deleted. It no longer works."
    );
    assert_eq!(after.text_of("#no-tokens"), "You have no tokens.");
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
    assert!(!fresh.has("tr.warn"), "{fresh}");
    let lease = fresh.text_of("#token-list td.lease");
    assert!(
        lease.starts_with("in 6 months") || lease.starts_with("in 5 months"),
        "{lease}"
    );
    // Six months less three days later, unused: three days of lease left.
    app.clock.advance(Duration::days(178));
    let client = app.form_session("ada@example.com").await;
    let (_, soon) = page(&client, app.url("/me")).await;
    assert!(soon.has("#token-list tbody tr.warn"), "{soon}");
    assert_eq!(
        soon.text_of("#token-list tr.warn td.lease strong"),
        "expires soon"
    );
    app.clock.advance(Duration::days(10));
    let client = app.form_session("ada@example.com").await;
    let (_, gone) = page(&client, app.url("/me")).await;
    assert_eq!(
        gone.text_of("#token-list tr.warn td.lease strong"),
        "expired"
    );
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
