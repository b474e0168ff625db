//! Two-factor sign-in in the browser: an owner who wants to require it of
//! owners and admins is told to turn it on first, sets it up from the QR
//! page with a code of the app (computed here on the app's clock), then
//! signs in on two steps; an admin without it is sent to set it up.

use crate::{click, expect_text, fill, sign_in, sign_out, text, wait_for_path};
use fantoccini::Locator;
use muster_domain::OrgRole;
use muster_test_support::{Browser, Db, TestApp, PASSWORD};
use time::Duration;

fn code_now(app: &TestApp, secret: &str) -> String {
    let bytes = totp_rs::Secret::try_from_base32(secret)
        .expect("a base32 secret")
        .as_ref()
        .to_vec();
    let at = u64::try_from(app.clock_now().unix_timestamp()).expect("after 1970");
    totp_rs::Builder::new()
        .with_secret(bytes)
        .build()
        .expect("a TOTP")
        .generate(at)
        .to_string()
}

#[tokio::test]
async fn an_owner_turns_it_on_requires_it_and_signs_in_with_a_code() {
    let Some(app) = TestApp::start(Db::Sqlite).await else {
        return;
    };
    let Some(browser) = Browser::start().await else {
        return;
    };
    let (org, _) = app.create_org("Acme", "ada@example.com").await;
    app.member(org, "bob@example.com", OrgRole::Admin).await;
    let client = &browser.client;
    sign_in(&app, client, "ada@example.com").await;

    // Requiring it before having it is refused next to the box.
    let settings = app.url(&format!("/orgs/{org}/settings"));
    client.goto(&settings).await.expect("settings");
    click(client, "require-two-factor").await;
    click(client, "save-settings").await;
    expect_text(
        client,
        "#require_two_factor-error",
        "turn two-factor sign-in on for yourself first (My profile → Password and sessions), or this setting would keep you out of Management",
    )
    .await;

    client
        .goto(&app.url("/me/security"))
        .await
        .expect("security");
    expect_text(client, "#two-factor-status", "Off. With it on, signing in also takes a code from an authenticator app on your phone, so a password that leaked is not enough to get in.").await;
    click(client, "two-factor-on").await;
    wait_for_path(client, "/me/two-factor/setup").await;
    let qr = client
        .find(Locator::Css("#qr-code svg"))
        .await
        .expect("the QR code");
    let (_, _, width, height) = qr.rectangle().await.expect("its size");
    assert!(
        width >= 150.0 && height >= 150.0,
        "a QR code {width}×{height} is too small to scan"
    );
    let secret = text(client, "#totp-secret").await;
    fill(client, &[("code", &code_now(&app, &secret))]).await;
    click(client, "confirm-two-factor").await;
    let codes = client
        .find_all(Locator::Css("#recovery-codes li"))
        .await
        .expect("the recovery codes");
    assert_eq!(codes.len(), 10);
    click(client, "codes-done").await;
    wait_for_path(client, "/me/security").await;
    let status = text(client, "#two-factor-status").await;
    assert!(status.starts_with("On since"), "{status}");

    client.goto(&settings).await.expect("settings");
    click(client, "require-two-factor").await;
    click(client, "save-settings").await;
    expect_text(client, "#notice", "The settings were saved.").await;
    sign_out(client).await;

    // The next sign-in takes a code on a second step.
    app.clock.advance(Duration::seconds(30));
    client.goto(&app.url("/signin")).await.expect("sign-in");
    fill(
        client,
        &[("email", "ada@example.com"), ("password", PASSWORD)],
    )
    .await;
    click(client, "sign-in").await;
    wait_for_path(client, "/signin/code").await;
    fill(client, &[("code", &code_now(&app, &secret))]).await;
    click(client, "verify-code").await;
    wait_for_path(client, "/overview").await;
    sign_out(client).await;

    // An admin without it is sent to turn it on.
    sign_in(&app, client, "bob@example.com").await;
    client
        .goto(&app.url(&format!("/orgs/{org}/users")))
        .await
        .expect("users");
    wait_for_path(client, "/me/security").await;
    expect_text(
        client,
        "#two-factor-required",
        "Acme requires its owners and admins to sign in with two factors. Turn two-factor sign-in on to open Management there.",
    )
    .await;
    app.shutdown().await;
}
