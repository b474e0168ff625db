//! The web UI in a real browser: headless Chromium over WebDriver.

use fantoccini::{Client, Locator};
use muster_test_support::{Browser, Db, TestApp, PASSWORD};
use std::time::Duration;

async fn theme(client: &Client) -> String {
    client
        .find(Locator::Css("html"))
        .await
        .expect("the html element")
        .attr("data-theme")
        .await
        .expect("an attribute")
        .unwrap_or_default()
}

async fn wait_for_path(client: &Client, path_end: &str) -> String {
    for _ in 0..100 {
        let url = client.current_url().await.expect("a url");
        if url.path().ends_with(path_end) {
            return url.path().to_owned();
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("the browser did not reach …{path_end}");
}

#[tokio::test]
async fn sign_in_toggle_dark_mode_and_sign_out() {
    let Some(app) = TestApp::start(Db::Sqlite).await else {
        return;
    };
    let Some(browser) = Browser::start().await else {
        return;
    };
    let (org, _) = app
        .create_org("Acme Field Services", "ada@example.com")
        .await;
    let client = &browser.client;

    client
        .goto(&app.url(&format!("/orgs/{org}/overview")))
        .await
        .expect("open overview");
    wait_for_path(client, "/signin").await;
    client
        .find(Locator::Css("input[name=email]"))
        .await
        .expect("email")
        .send_keys("ada@example.com")
        .await
        .expect("type");
    client
        .find(Locator::Css("input[name=password]"))
        .await
        .expect("password")
        .send_keys("wrong password")
        .await
        .expect("type");
    client
        .find(Locator::Id("sign-in"))
        .await
        .expect("button")
        .click()
        .await
        .expect("click");
    let error = client
        .find(Locator::Id("form-error"))
        .await
        .expect("an error next to the form");
    assert_eq!(
        error.text().await.expect("text"),
        "the email or password is not correct"
    );

    client
        .find(Locator::Css("input[name=password]"))
        .await
        .expect("password")
        .send_keys(PASSWORD)
        .await
        .expect("type");
    client
        .find(Locator::Id("sign-in"))
        .await
        .expect("button")
        .click()
        .await
        .expect("click");
    // Back where the visit started.
    wait_for_path(client, "/overview").await;
    let heading = client
        .find(Locator::Css("main h1"))
        .await
        .expect("heading")
        .text()
        .await
        .expect("text");
    assert_eq!(heading, "Overview");
    let nav = client
        .find(Locator::Css("nav.sidebar"))
        .await
        .expect("navigation")
        .text()
        .await
        .expect("text");
    assert!(
        nav.contains("Acme Field Services") && nav.contains("Users") && nav.contains("Audit log"),
        "{nav}"
    );
    assert_eq!(theme(client).await, "system");

    // The user menu at the bottom left: dark mode, kept after a reload.
    client
        .find(Locator::Css(".user-menu summary"))
        .await
        .expect("user menu")
        .click()
        .await
        .expect("open menu");
    client
        .find(Locator::Css("button[data-theme-choice=dark]"))
        .await
        .expect("dark")
        .click()
        .await
        .expect("click");
    wait_for_path(client, "/overview").await;
    assert_eq!(theme(client).await, "dark");
    client.refresh().await.expect("reload");
    assert_eq!(theme(client).await, "dark");
    let background = client
        .execute(
            "return getComputedStyle(document.body).backgroundColor",
            vec![],
        )
        .await
        .expect("a colour");
    assert_eq!(
        background.as_str(),
        Some("rgb(18, 21, 27)"),
        "dark colours are applied"
    );

    client
        .find(Locator::Css(".user-menu summary"))
        .await
        .expect("user menu")
        .click()
        .await
        .expect("open menu");
    client
        .find(Locator::Id("sign-out"))
        .await
        .expect("logout")
        .click()
        .await
        .expect("click");
    wait_for_path(client, "/signin").await;
    let notice = client
        .find(Locator::Css("p.notice"))
        .await
        .expect("notice")
        .text()
        .await
        .expect("text");
    assert_eq!(notice, "You have been signed out.");
    client
        .goto(&app.url(&format!("/orgs/{org}/overview")))
        .await
        .expect("open overview");
    wait_for_path(client, "/signin").await;

    browser.quit().await;
    app.shutdown().await;
}

#[tokio::test]
async fn first_run_setup_in_the_browser() {
    let Some(app) = TestApp::start(Db::Sqlite).await else {
        return;
    };
    let Some(browser) = Browser::start().await else {
        return;
    };
    let link = muster_server::startup::setup_link(&app.state)
        .await
        .expect("a link")
        .expect("no organization yet");
    let client = &browser.client;
    client.goto(&link).await.expect("open the setup link");
    for (field, value) in [
        ("org_name", "Acme"),
        ("first_name", "Ada"),
        ("last_name", "Lovelace"),
        ("email", "ada@example.com"),
        ("password", "a long enough password"),
    ] {
        client
            .find(Locator::Css(&format!("input[name={field}]")))
            .await
            .expect("a field")
            .send_keys(value)
            .await
            .expect("type");
    }
    client
        .find(Locator::Id("create-org"))
        .await
        .expect("button")
        .click()
        .await
        .expect("click");
    wait_for_path(client, "/overview").await;
    let name = client
        .find(Locator::Css(".user-name"))
        .await
        .expect("the user menu")
        .text()
        .await
        .expect("text");
    assert_eq!(name, "Ada Lovelace");
    client.goto(&link).await.expect("open the link again");
    let heading = client
        .find(Locator::Css("h1"))
        .await
        .expect("heading")
        .text()
        .await
        .expect("text");
    assert_eq!(heading, "This setup link is no longer valid");
    browser.quit().await;
    app.shutdown().await;
}
