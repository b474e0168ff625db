//! One's account in the browser: "Forgot your password?" from the sign-in
//! page to the mailed link and back, then Password and sessions.

use crate::{click, expect_text, fill, wait_for_path};
use fantoccini::Locator;
use muster_test_support::{link_in, outbox, Browser, Db, TestApp};

const NEW_PASSWORD: &str = "a brand new passphrase";

#[tokio::test]
async fn forgot_password_by_mail_then_change_it_and_end_other_sessions() {
    let Some(app) = TestApp::start(Db::Sqlite).await else {
        return;
    };
    let Some(browser) = Browser::start().await else {
        return;
    };
    app.create_org("Acme", "ada@example.com").await;
    let client = &browser.client;

    client
        .goto(&app.url("/signin"))
        .await
        .expect("sign-in page");
    click(client, "forgot-password").await;
    wait_for_path(client, "/reset").await;
    fill(client, &[("email", "ada@example.com")]).await;
    click(client, "send-reset").await;
    expect_text(
        client,
        "#reset-sent",
        "If ada@example.com belongs to a Muster account, a mail with a link to choose a new password is on its way. The link works once, for an hour.",
    )
    .await;

    app.worker().run_until_idle().await.expect("jobs");
    let mail = outbox(&app)
        .into_iter()
        .find(|m| m.contains("Reset your Muster password"))
        .expect("the reset mail");
    let link = link_in(&mail, "/reset/").expect("a link in the mail");
    client.goto(&link).await.expect("open the link");
    fill(client, &[("password", "short")]).await;
    click(client, "set-password").await;
    expect_text(client, "#password-error", "use at least 10 characters").await;
    let described = client
        .find(Locator::Id("new-password"))
        .await
        .expect("the field")
        .attr("aria-describedby")
        .await
        .expect("an attribute");
    assert_eq!(described.as_deref(), Some("password-error"));
    fill(client, &[("password", NEW_PASSWORD)]).await;
    click(client, "set-password").await;
    wait_for_path(client, "/signin").await;
    expect_text(
        client,
        "p.notice",
        "Your password was changed. Sign in with the new one.",
    )
    .await;

    // Signed in elsewhere with the new password, then here.
    let elsewhere = app.client();
    let login = elsewhere
        .post(app.url("/api/v1/auth/login"))
        .json(&serde_json::json!({"email": "ada@example.com", "password": NEW_PASSWORD}))
        .send()
        .await
        .expect("login");
    assert_eq!(login.status(), 200);
    fill(
        client,
        &[("email", "ada@example.com"), ("password", NEW_PASSWORD)],
    )
    .await;
    click(client, "sign-in").await;
    wait_for_path(client, "/overview").await;

    client.goto(&app.url("/me")).await.expect("my profile");
    click(client, "password-and-sessions").await;
    wait_for_path(client, "/me/security").await;
    expect_text(client, "#this-session", "this browser").await;
    let rows = client
        .find_all(Locator::Css("#session-list tbody tr"))
        .await
        .expect("rows");
    assert_eq!(rows.len(), 2);
    fill(
        client,
        &[
            ("current_password", NEW_PASSWORD),
            ("new_password", "the third passphrase"),
        ],
    )
    .await;
    click(client, "change-password").await;
    expect_text(
        client,
        "#security-notice",
        "Your password was changed. Your other sessions were signed out.",
    )
    .await;
    let rows = client
        .find_all(Locator::Css("#session-list tbody tr"))
        .await
        .expect("rows");
    assert_eq!(rows.len(), 1, "the other session ended");
    let me = elsewhere
        .get(app.url("/api/v1/me"))
        .send()
        .await
        .expect("me");
    assert_eq!(me.status(), 401);
    browser.quit().await;
    app.shutdown().await;
}

/// A new email from Password and sessions, confirmed through the link mailed
/// to it, then used to sign in.
#[tokio::test]
async fn change_the_email_confirm_it_by_mail_and_sign_in_with_it() {
    let Some(app) = TestApp::start(Db::Sqlite).await else {
        return;
    };
    let Some(browser) = Browser::start().await else {
        return;
    };
    app.create_org("Acme", "ada@example.com").await;
    let client = &browser.client;
    crate::sign_in(&app, client, "ada@example.com").await;
    client
        .goto(&app.url("/me/security"))
        .await
        .expect("the security page");
    fill(
        client,
        &[
            ("email", "ada.lovelace@example.com"),
            ("password", muster_test_support::PASSWORD),
        ],
    )
    .await;
    click(client, "change-email").await;
    expect_text(
        client,
        "#security-notice",
        "We mailed a link to ada.lovelace@example.com. Your email changes once you open it (within 24 hours).",
    )
    .await;
    expect_text(client, "#current-email", "ada@example.com").await;

    app.worker().run_until_idle().await.expect("jobs");
    let mail = outbox(&app)
        .into_iter()
        .find(|m| m.contains("To: ada.lovelace@example.com"))
        .expect("the confirmation mail");
    let link = link_in(&mail, "/email-confirm/").expect("a link in the mail");
    client.goto(&link).await.expect("open the link");
    expect_text(client, "#new-email", "ada.lovelace@example.com").await;
    click(client, "confirm-email").await;
    expect_text(client, "main h1", "Email changed").await;

    crate::sign_out_if_signed_in(client, &app).await;
    crate::sign_in(&app, client, "ada.lovelace@example.com").await;
    client
        .goto(&app.url("/me/security"))
        .await
        .expect("the security page");
    expect_text(client, "#current-email", "ada.lovelace@example.com").await;

    browser.quit().await;
    app.shutdown().await;
}

/// "New organization" from My profile as a member whose only role is `user`:
/// a field error first, then the new organization opens with its creator as
/// owner and appears in the switcher beside the first.
#[tokio::test]
async fn a_user_only_member_creates_an_organization_and_manages_it() {
    let Some(app) = TestApp::start(Db::Sqlite).await else {
        return;
    };
    let Some(browser) = Browser::start().await else {
        return;
    };
    let (org, _) = app.create_org("Acme", "ada@example.com").await;
    app.member(org, "bob@example.com", muster_domain::OrgRole::User)
        .await;
    let client = &browser.client;
    crate::sign_in(&app, client, "bob@example.com").await;
    client.goto(&app.url("/me")).await.expect("My profile");
    click(client, "new-org").await;
    wait_for_path(client, "/orgs/new").await;
    fill(client, &[("name", "  "), ("default_language", "zz")]).await;
    click(client, "create-org").await;
    expect_text(
        client,
        "#default_language-error",
        "not a language ISO 639 knows; use a tag such as en, de or fr-CA",
    )
    .await;
    let invalid = client
        .find(Locator::Css("input[name=name]"))
        .await
        .expect("the name field")
        .attr("aria-invalid")
        .await
        .expect("an attribute");
    assert_eq!(invalid.as_deref(), Some("true"));
    fill(client, &[("name", "Bob's Lab"), ("default_language", "de")]).await;
    click(client, "create-org").await;
    wait_for_path(client, "/overview").await;
    expect_text(
        client,
        "#notice",
        "Bob's Lab was created. You are its owner.",
    )
    .await;
    expect_text(client, "nav.sidebar .org-name", "Bob's Lab").await;
    // Management is open to its owner: the Users page lists Bob.
    let users = client
        .find(Locator::Css("nav.sidebar .nav a[href$='/users']"))
        .await
        .expect("the Users link");
    users.click().await.expect("open Users");
    wait_for_path(client, "/users").await;
    let list = crate::text(client, "main table").await;
    assert!(list.contains("bob@example.com"), "{list}");

    browser.quit().await;
    app.shutdown().await;
}
