//! Notifications in the browser: compose and send one, schedule one and
//! cancel it, and a member's inbox that shows a new notification without a
//! reload. With `MUSTER_SCREENSHOTS=dir` the pages are saved there as PNGs.

use crate::{click, expect_text, fill, sign_in, wait_for_path};
use fantoccini::{Client, Locator};
use muster_domain::OrgRole;
use muster_test_support::{Browser, Db, TestApp};
use serde_json::json;
use std::time::Duration;

/// Saves the page as `name.png` in `MUSTER_SCREENSHOTS`, when it is set.
async fn shot(client: &Client, name: &str) {
    let Ok(dir) = std::env::var("MUSTER_SCREENSHOTS") else {
        return;
    };
    let png = client.screenshot().await.expect("a screenshot");
    std::fs::create_dir_all(&dir).expect("the screenshot directory");
    std::fs::write(format!("{dir}/{name}.png"), png).expect("the screenshot is written");
}

/// Waits until `css` matches an element.
async fn wait_for(client: &Client, css: &str) {
    for _ in 0..100 {
        if client.find(Locator::Css(css)).await.is_ok() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("nothing matches {css}");
}

#[tokio::test]
async fn compose_and_send_then_schedule_and_cancel() {
    let Some(app) = TestApp::start_with_worker(Db::Sqlite).await else {
        return;
    };
    let Some(browser) = Browser::start().await else {
        return;
    };
    let (org, ada) = app.create_org("Acme", "ada@example.com").await;
    app.member(org, "bob@example.com", OrgRole::User).await;
    let client = &browser.client;
    sign_in(&app, client, "ada@example.com").await;
    let list = app.url(&format!("/orgs/{org}/notifications"));
    client.goto(&list).await.expect("notifications");
    // The panel opens from the page's head.
    click(client, "compose-notification").await;
    // Only the chosen audience's choices show.
    let solutions = client
        .find(Locator::Css("[data-audience=solutions]"))
        .await
        .expect("the solutions");
    assert!(!solutions.is_displayed().await.expect("displayed?"));
    fill(
        client,
        &[
            ("title", "Storm warning"),
            ("body", "Stay off the roads after 6 pm."),
        ],
    )
    .await;
    shot(client, "notifications-compose").await;
    click(client, "send-notification").await;
    expect_text(client, "#notice", "The notification is being sent.").await;
    // The worker sends it; a reload shows the counts.
    for _ in 0..100 {
        client.refresh().await.expect("reload");
        let status = client
            .find(Locator::Id("notification-status"))
            .await
            .expect("the status")
            .text()
            .await
            .expect("text");
        if status == "Sent" {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    expect_text(client, "#counts [data-count=recipients] .value", "2").await;
    shot(client, "notification-detail").await;

    // Scheduled in two days, in the browser's time zone, then canceled.
    client.goto(&list).await.expect("notifications");
    click(client, "compose-notification").await;
    fill(
        client,
        &[("title", "Inspection day"), ("body", "Bring your badge.")],
    )
    .await;
    let local = client
        .execute(
            "const at = new Date(Date.now() + 2 * 86400000); at.setSeconds(0, 0);
             const input = document.querySelector('input[name=scheduled_at]');
             const pad = (n) => String(n).padStart(2, '0');
             input.value = at.getFullYear() + '-' + pad(at.getMonth() + 1) + '-' + pad(at.getDate())
               + 'T' + pad(at.getHours()) + ':' + pad(at.getMinutes());
             input.dispatchEvent(new Event('input'));
             return at.toISOString().slice(0, 16).replace('T', ' ') + ' UTC';",
            vec![],
        )
        .await
        .expect("a time is chosen");
    let expected = local.as_str().unwrap_or_default().to_owned();
    let schedule = client
        .find(Locator::Css("input[name=when][value=schedule]"))
        .await
        .expect("the schedule choice");
    assert!(
        schedule.is_selected().await.expect("selected?"),
        "choosing a time picks Schedule"
    );
    click(client, "send-notification").await;
    expect_text(
        client,
        "#notice",
        &format!("The notification is scheduled for {expected}."),
    )
    .await;
    expect_text(client, "#notification-status", "Scheduled").await;
    shot(client, "notification-scheduled").await;
    click(client, "cancel-notification").await;
    expect_text(
        client,
        "#notice",
        "The notification was canceled. Nobody receives it.",
    )
    .await;
    expect_text(client, "#notification-status", "Canceled").await;

    // The history in dark mode.
    let api = app.api(&app.token(ada).await);
    let dark = api.patch("/api/v1/me", json!({"theme": "dark"})).await;
    assert_eq!(dark.status(), 200);
    client.goto(&list).await.expect("notifications");
    let rows = client
        .find_all(Locator::Css("table.notifications tbody tr"))
        .await
        .expect("rows");
    assert_eq!(rows.len(), 2);
    shot(client, "notifications-dark").await;
    click(client, "compose-notification").await;
    client
        .find(Locator::Css("input[name=scope][value=groups]"))
        .await
        .expect("the groups audience")
        .click()
        .await
        .expect("choose groups");
    shot(client, "notifications-compose-dark").await;

    browser.quit().await;
    app.shutdown().await;
}

#[tokio::test]
async fn the_inbox_shows_a_new_notification_without_a_reload() {
    let Some(app) = TestApp::start_with_worker(Db::Sqlite).await else {
        return;
    };
    let Some(browser) = Browser::start().await else {
        return;
    };
    let (org, ada) = app.create_org("Acme", "ada@example.com").await;
    app.member(org, "bob@example.com", OrgRole::User).await;
    let client = &browser.client;
    // Bob has only the user role: signing in opens his inbox.
    sign_in(&app, client, "bob@example.com").await;
    wait_for_path(client, "/inbox").await;
    wait_for(client, "#inbox-empty").await;
    wait_for(client, "#inbox-items[data-live=open]").await;

    let api = app.api(&app.token(ada).await);
    let sent = api
        .post(
            format!("/api/v1/orgs/{org}/notifications"),
            json!({
                "title": "<b>Gate</b> & code",
                "body": "The new code is 4711.",
                "link": "https://example.com/gate",
                "scope": "org"
            }),
        )
        .await;
    assert_eq!(sent.status(), 201);
    expect_text(
        client,
        "#inbox-items tr.inbox-item .item-title",
        "<b>Gate</b> & code",
    )
    .await;
    expect_text(
        client,
        "#inbox-items tr.inbox-item .item-body",
        "The new code is 4711.",
    )
    .await;
    assert!(
        client.find(Locator::Css("#inbox-empty")).await.is_err(),
        "the empty row is gone"
    );
    assert!(
        client.find(Locator::Css(".item-title b")).await.is_err(),
        "the title is text, not markup"
    );
    shot(client, "inbox-live").await;

    // Its Mark read form works like the server-rendered ones.
    client
        .find(Locator::Css("#inbox-items tr.inbox-item button.mark-read"))
        .await
        .expect("mark read")
        .click()
        .await
        .expect("click");
    expect_text(client, "#notice", "Marked as read.").await;
    expect_text(client, "#inbox-items tr.inbox-item .item-state", "Read").await;

    browser.quit().await;
    app.shutdown().await;
}
