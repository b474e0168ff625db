//! The web UI in a real browser: headless Chromium over WebDriver.

mod accessibility;
mod account;
mod notifications;
mod organizations;
mod solutions;
mod tokens;
mod troubleshooting;
mod two_factor;
mod usage;
mod users;

use fantoccini::{Client, Locator};
use muster_test_support::{Browser, Db, TestApp, PASSWORD};
use std::time::Duration;

/// The page's theme once it equals `expected` (navigation may be under way),
/// or what it is after a few seconds.
pub async fn theme(client: &Client, expected: &str) -> String {
    let mut seen = String::new();
    for _ in 0..100 {
        if let Ok(html) = client.find(Locator::Css("html")).await {
            if let Ok(Some(value)) = html.attr("data-theme").await {
                if value == expected {
                    return value;
                }
                seen = value;
            }
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    seen
}

/// Chooses a theme in the user menu (the page reloads with it).
pub async fn choose_theme(client: &Client, choice: &str) {
    client
        .find(Locator::Css(".user-menu summary"))
        .await
        .expect("user menu")
        .click()
        .await
        .expect("open menu");
    client
        .find(Locator::Css(&format!("button[data-theme-choice={choice}]")))
        .await
        .unwrap_or_else(|_| panic!("a {choice} button"))
        .click()
        .await
        .expect("click");
}

pub async fn wait_for_path(client: &Client, path_end: &str) -> String {
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
    expect_text(
        client,
        "#form-error",
        "the email or password is not correct",
    )
    .await;

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
    expect_text(client, "main h1", "Overview").await;
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
    assert_eq!(theme(client, "system").await, "system");

    // The user menu at the bottom left: dark mode, kept after a reload.
    choose_theme(client, "dark").await;
    wait_for_path(client, "/overview").await;
    assert_eq!(theme(client, "dark").await, "dark");
    client.refresh().await.expect("reload");
    assert_eq!(theme(client, "dark").await, "dark");
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
    expect_text(client, "p.notice", "You have been signed out.").await;
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
    expect_text(client, ".user-name", "Ada Lovelace").await;
    client.goto(&link).await.expect("open the link again");
    expect_text(client, "h1", "This setup link is no longer valid").await;
    browser.quit().await;
    app.shutdown().await;
}

/// Fills the named inputs of the current page.
pub async fn fill(client: &Client, fields: &[(&str, &str)]) {
    for (name, value) in fields {
        let input = client
            .find(Locator::Css(&format!("[name={name}]")))
            .await
            .unwrap_or_else(|_| panic!("a field named {name}"));
        input.clear().await.expect("clear");
        input.send_keys(value).await.expect("type");
    }
}

pub async fn click(client: &Client, id: &str) {
    client
        .find(Locator::Id(id))
        .await
        .unwrap_or_else(|_| panic!("an element #{id}"))
        .click()
        .await
        .expect("click");
}

pub async fn text(client: &Client, css: &str) -> String {
    client
        .find(Locator::Css(css))
        .await
        .unwrap_or_else(|_| panic!("an element {css}"))
        .text()
        .await
        .expect("text")
}

pub async fn sign_in(app: &TestApp, client: &Client, email: &str) {
    client
        .goto(&app.url("/signin"))
        .await
        .expect("open sign-in");
    fill(client, &[("email", email), ("password", PASSWORD)]).await;
    click(client, "sign-in").await;
    for _ in 0..100 {
        if !client
            .current_url()
            .await
            .expect("url")
            .path()
            .ends_with("/signin")
        {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("{email} could not sign in");
}

/// Signs out through the user menu of any page behind the sign-in.
pub async fn sign_out_if_signed_in(client: &Client, app: &TestApp) {
    client.goto(&app.url("/me")).await.expect("My profile");
    if !client
        .current_url()
        .await
        .expect("url")
        .path()
        .ends_with("/signin")
    {
        sign_out(client).await;
    }
}

pub async fn sign_out(client: &Client) {
    client
        .find(Locator::Css(".user-menu summary"))
        .await
        .expect("user menu")
        .click()
        .await
        .expect("open menu");
    click(client, "sign-out").await;
    wait_for_path(client, "/signin").await;
}

/// Waits until the element `css` shows `expected` (pages change under a test
/// after a click), and fails with what it showed otherwise.
pub async fn expect_text(client: &Client, css: &str, expected: &str) {
    let mut seen = String::from("(no such element)");
    for _ in 0..100 {
        if let Ok(element) = client.find(Locator::Css(css)).await {
            if let Ok(value) = element.text().await {
                if value == expected {
                    return;
                }
                seen = value;
            }
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("{css} shows {seen:?}, not {expected:?}");
}
