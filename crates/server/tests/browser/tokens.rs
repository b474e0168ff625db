//! My profile → Personal access tokens in the browser: add one, copy the
//! secret shown once, extend its lease, delete it.

use crate::{click, expect_text, fill, sign_in, text, wait_for_path};
use fantoccini::key::Key;
use fantoccini::Locator;
use muster_test_support::{Browser, Db, TestApp};

#[tokio::test]
async fn add_copy_extend_and_delete_a_token() {
    let Some(app) = TestApp::start(Db::Sqlite).await else {
        return;
    };
    let Some(browser) = Browser::start().await else {
        return;
    };
    app.create_org("Acme", "ada@example.com").await;
    let client = &browser.client;
    sign_in(&app, client, "ada@example.com").await;

    client.goto(&app.url("/me")).await.expect("my profile");
    expect_text(client, "#no-tokens", "You have no tokens.").await;
    click(client, "add-token").await;
    wait_for_path(client, "/me/tokens/new").await;
    fill(client, &[("name", "Release script")]).await;
    click(client, "create-token").await;
    expect_text(client, "#token-heading", "Token \"Release script\" created").await;
    let secret = text(client, "#token-secret").await;
    assert!(
        secret.starts_with("mst_pat_") && secret.len() == 54,
        "{secret}"
    );
    click(client, "copy-token").await;
    expect_text(client, "#copy-token", "Copied").await;
    // Paste it into a scratch field, as a person would with Ctrl+V.
    client
        .execute(
            "const f = document.createElement('textarea'); f.id = 'paste-here'; document.body.append(f);",
            vec![],
        )
        .await
        .expect("a scratch field");
    let paste = client
        .find(Locator::Id("paste-here"))
        .await
        .expect("the scratch field");
    paste.click().await.expect("focus");
    paste
        .send_keys(&format!("{}v", char::from(Key::Control)))
        .await
        .expect("paste");
    let pasted = paste.prop("value").await.expect("its value");
    assert_eq!(
        pasted.as_deref(),
        Some(secret.as_str()),
        "the secret is on the clipboard"
    );
    let me = app.api(&secret).get("/api/v1/me").await;
    assert_eq!(me.status(), 200, "the copied secret works");

    click(client, "token-done").await;
    wait_for_path(client, "/me").await;
    let row = text(client, "#token-list tbody tr").await;
    assert!(
        row.contains("Release script") && row.contains(&secret[..12]),
        "{row}"
    );
    assert!(!row.contains(&secret), "the list never shows the secret");
    let lease_before = text(client, "#token-list td.lease").await;

    client
        .find(Locator::LinkText("Release script"))
        .await
        .expect("the token's link")
        .click()
        .await
        .expect("open the token");
    click(client, "extend-token").await;
    expect_text(
        client,
        "p.notice",
        "The token's lease was extended by 14 days.",
    )
    .await;
    let lease_after = text(client, "#token-list td.lease").await;
    assert_ne!(lease_before, lease_after, "the list shows the new lease");

    client
        .find(Locator::LinkText("Release script"))
        .await
        .expect("the token's link")
        .click()
        .await
        .expect("open the token");
    click(client, "confirm-delete").await;
    click(client, "delete-token").await;
    expect_text(
        client,
        "p.notice",
        "The token was deleted. It no longer works.",
    )
    .await;
    expect_text(client, "#no-tokens", "You have no tokens.").await;
    assert_eq!(app.api(&secret).get("/api/v1/me").await.status(), 401);

    browser.quit().await;
    app.shutdown().await;
}
