//! Troubleshooting in the browser: the range buttons, a correlation ID typed
//! into the filters, an entry's side panel and its copy buttons, the CSV
//! link; a member's Logs section with the detailed-logging switch; My
//! troubleshooting. With `MUSTER_SCREENSHOTS=dir` the pages are saved there
//! as PNGs, light and dark.

use crate::{click, expect_text, fill, sign_in, text};
use fantoccini::key::Key;
use fantoccini::{Client, Locator};
use muster_domain::{OrgId, OrgRole};
use muster_test_support::{Api, Browser, Db, TestApp};
use serde_json::{json, Value};
use std::time::Duration;
use time::format_description::well_known::Rfc3339;

/// Saves the page as `name.png` in `MUSTER_SCREENSHOTS`, when it is set.
async fn shot(client: &Client, name: &str) {
    let Ok(dir) = std::env::var("MUSTER_SCREENSHOTS") else {
        return;
    };
    let png = client.screenshot().await.expect("a screenshot");
    std::fs::create_dir_all(&dir).expect("the screenshot directory");
    std::fs::write(format!("{dir}/{name}.png"), png).expect("the screenshot is written");
}

async fn displayed(client: &Client, css: &str) -> bool {
    match client.find(Locator::Css(css)).await {
        Ok(element) => element.is_displayed().await.unwrap_or(false),
        Err(_) => false,
    }
}

/// Waits until `css` is shown (or, with `shown == false`, hidden).
async fn wait_displayed(client: &Client, css: &str, shown: bool) {
    for _ in 0..100 {
        if displayed(client, css).await == shown {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("{css} is not {}", if shown { "shown" } else { "hidden" });
}

/// Waits until the element `css` shows a text starting with `start`.
async fn wait_starting(client: &Client, css: &str, start: &str) {
    let mut seen = String::from("(no such element)");
    for _ in 0..100 {
        if let Ok(element) = client.find(Locator::Css(css)).await {
            if let Ok(value) = element.text().await {
                if value.starts_with(start) {
                    return;
                }
                seen = value;
            }
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("{css} shows {seen:?}, not {start:?}…");
}

/// Waits until the URL's query holds `part`.
async fn wait_for_query(client: &Client, part: &str) {
    for _ in 0..100 {
        let url = client.current_url().await.expect("a url");
        if url.query().unwrap_or_default().contains(part) {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("the URL never held {part}");
}

/// What a person pastes after the copy button: pasted into a scratch field.
async fn pasted(client: &Client) -> String {
    client
        .execute(
            "let f = document.getElementById('paste-here');
             if (!f) { f = document.createElement('textarea'); f.id = 'paste-here'; document.body.append(f); }
             f.value = '';",
            vec![],
        )
        .await
        .expect("a scratch field");
    let field = client
        .find(Locator::Id("paste-here"))
        .await
        .expect("the scratch field");
    field.click().await.expect("focus");
    field
        .send_keys(&format!("{}v", char::from(Key::Control)))
        .await
        .expect("paste");
    field
        .prop("value")
        .await
        .expect("its value")
        .unwrap_or_default()
}

fn ago(app: &TestApp, minutes: i64) -> String {
    (app.clock_now() - time::Duration::minutes(minutes))
        .format(&Rfc3339)
        .expect("a time")
}

async fn send(api: &Api, org: OrgId, entries: Value) {
    let response = api
        .post(
            format!("/api/v1/app/logs?org={org}"),
            json!({ "entries": entries }),
        )
        .await;
    assert_eq!(response.status(), 202);
}

async fn set_theme(api: &Api, theme: &str) {
    let response = api.patch("/api/v1/me", json!({ "theme": theme })).await;
    assert_eq!(response.status(), 200);
}

#[tokio::test]
async fn find_a_problem_by_correlation_id_and_copy_it() {
    let Some(app) = TestApp::start(Db::Sqlite).await else {
        return;
    };
    let Some(browser) = Browser::start().await else {
        return;
    };
    let (org, ada) = app
        .create_org("Acme Field Services", "ada@example.com")
        .await;
    let bob = app.member(org, "bob@example.com", OrgRole::User).await;
    let owner = app.api(&app.token(ada).await);
    let level = owner
        .patch(
            format!("/api/v1/orgs/{org}"),
            json!({"logging_level": "trace"}),
        )
        .await;
    assert_eq!(level.status(), 200);
    let created = owner
        .post(
            format!("/api/v1/orgs/{org}/solutions"),
            json!({"name": "Field inspections"}),
        )
        .await;
    let solution: Value = created.json().await.expect("a solution");
    let solution = solution["id"].as_str().expect("an id").to_owned();
    let bob_api = app.api(&app.token(bob).await);
    let device: Value = bob_api
        .post(
            "/api/v1/app/devices",
            json!({"name": "Bob's Pixel 8", "platform": "android"}),
        )
        .await
        .json()
        .await
        .expect("a device");
    let device_api = app.api(device["token"].as_str().expect("a device token"));
    send(
        &device_api,
        org,
        json!([
            {"time": ago(&app, 14), "level": "info", "category": "sync", "solution_id": solution,
             "message": "Sync started for 12 inspections", "correlation_id": "order-42",
             "context": {"screen": "inspections", "pending": 12, "network": "lte"}},
            {"time": ago(&app, 12), "level": "warn", "category": "sync", "solution_id": solution,
             "message": "Upload of photo 3 is slow (9.8 s)", "correlation_id": "order-42"},
            {"time": ago(&app, 10), "level": "error", "category": "sync", "solution_id": solution,
             "message": "Upload failed: 503 Service Unavailable", "correlation_id": "order-42",
             "context": {"status": 503, "url": "https://files.example.com/upload", "attempt": 3}},
            {"time": ago(&app, 40), "level": "debug", "category": "ui", "solution_id": solution,
             "message": "Tapped \"New inspection\"", "correlation_id": "tap-7f3a"},
            {"time": ago(&app, 200), "level": "info", "category": "auth",
             "message": "Signed in", "correlation_id": "login-0193"},
            {"time": ago(&app, 60 * 24 * 3), "level": "fatal", "category": "app", "solution_id": solution,
             "message": "Crash on start: out of memory", "correlation_id": "crash-1b"},
        ]),
    )
    .await;
    send(
        &owner,
        org,
        json!([{"time": ago(&app, 5), "level": "error", "category": "admin",
                "message": "Report export timed out", "correlation_id": "export-9"}]),
    )
    .await;

    let client = &browser.client;
    sign_in(&app, client, "ada@example.com").await;
    client
        .goto(&app.url(&format!("/orgs/{org}/troubleshooting")))
        .await
        .expect("troubleshooting");
    expect_text(client, "main h1", "Troubleshooting").await;
    let rows = client
        .find_all(Locator::Css("table#correlations tbody tr"))
        .await
        .expect("rows");
    assert_eq!(rows.len(), 4, "the last day's correlation IDs");
    shot(client, "troubleshooting-correlations").await;

    // The range buttons.
    client
        .find(Locator::Css("#ranges a[data-range=hour]"))
        .await
        .expect("the hour button")
        .click()
        .await
        .expect("click");
    wait_for_query(client, "range=hour").await;
    let hour = client
        .find_all(Locator::Css("table#correlations tbody tr"))
        .await
        .expect("rows");
    assert_eq!(hour.len(), 3, "order-42, tap-7f3a and export-9");
    expect_text(client, "#ranges a[aria-current]", "Last hour").await;
    client
        .find(Locator::Css("#ranges a[data-range=week]"))
        .await
        .expect("the week button")
        .click()
        .await
        .expect("click");
    wait_for_query(client, "range=week").await;
    let week = client
        .find_all(Locator::Css("table#correlations tbody tr"))
        .await
        .expect("rows");
    assert_eq!(week.len(), 5, "the crash three days ago too");
    client
        .find(Locator::Css("#ranges a[data-range=custom]"))
        .await
        .expect("the custom button")
        .click()
        .await
        .expect("click");
    wait_for_query(client, "range=custom").await;
    wait_displayed(client, "input[name=from]", true).await;
    shot(client, "troubleshooting-custom-range").await;

    // A correlation ID typed into the filters: its entries in time order.
    client
        .find(Locator::Css("#ranges a[data-range=day]"))
        .await
        .expect("the day button")
        .click()
        .await
        .expect("click");
    wait_for_query(client, "range=day").await;
    fill(client, &[("correlation_id", "order-42")]).await;
    click(client, "apply-filters").await;
    expect_text(client, "#correlation-id", "order-42").await;
    let messages = client
        .find_all(Locator::Css("table#log-entries td.log-message"))
        .await
        .expect("entries");
    let mut shown = Vec::new();
    for m in &messages {
        shown.push(m.text().await.expect("text"));
    }
    assert_eq!(
        shown,
        [
            "Sync started for 12 inspections",
            "Upload of photo 3 is slow (9.8 s)",
            "Upload failed: 503 Service Unavailable"
        ]
    );
    let csv = client
        .find(Locator::Id("download-csv"))
        .await
        .expect("the CSV link")
        .attr("href")
        .await
        .expect("href")
        .expect("a link");
    assert!(
        csv.contains("/logs.csv?") && csv.contains("correlation_id=order-42"),
        "{csv}"
    );
    let fetched = client
        .execute(
            "return fetch(arguments[0]).then(r => r.text().then(t => [r.status, r.headers.get('content-type'), t.split('\\n').filter(l => l).length]));",
            vec![json!(csv)],
        )
        .await
        .expect("the CSV downloads");
    assert_eq!(fetched[0], 200);
    assert!(
        fetched[1]
            .as_str()
            .unwrap_or_default()
            .starts_with("text/csv"),
        "{fetched}"
    );
    assert_eq!(fetched[2], 4, "a header and three rows");

    // The side panel of the failed upload, with every field.
    let failed = client
        .find(Locator::Css(
            "table#log-entries tr[data-level=error] a.entry-link",
        ))
        .await
        .expect("the failed upload");
    let panel = failed
        .attr("href")
        .await
        .expect("href")
        .expect("a link to its panel");
    assert!(!displayed(client, &format!("aside{panel}")).await);
    failed.click().await.expect("open the panel");
    wait_displayed(client, &format!("aside{panel}"), true).await;
    let field = |name: &str| format!("aside{panel} dd[data-field={name}]");
    assert_eq!(
        text(client, &field("message")).await,
        "Upload failed: 503 Service Unavailable"
    );
    assert!(text(client, &field("device"))
        .await
        .starts_with("Bob's Pixel 8"));
    assert!(text(client, &field("user"))
        .await
        .starts_with("bob@example.com"));
    assert!(text(client, &field("context"))
        .await
        .contains("\"status\": 503"));
    shot(client, "troubleshooting-entry-panel").await;

    // Copy the correlation ID, then the whole entry.
    client
        .find(Locator::Css(&format!(
            "aside{panel} button[data-copy-what=correlation_id]"
        )))
        .await
        .expect("the copy button")
        .click()
        .await
        .expect("copy");
    expect_text(
        client,
        &format!("aside{panel} button[data-copy-what=correlation_id]"),
        "Copied",
    )
    .await;
    assert_eq!(pasted(client).await, "order-42");
    // The panel follows the URL's fragment: pasting elsewhere leaves it open.
    wait_displayed(client, &format!("aside{panel}"), true).await;
    client
        .find(Locator::Css(&format!(
            "aside{panel} button[data-copy-what=entry]"
        )))
        .await
        .expect("the copy-entry button")
        .click()
        .await
        .expect("copy");
    let entry: Value = serde_json::from_str(&pasted(client).await).expect("the entry as JSON");
    assert_eq!(entry["correlation_id"], "order-42");
    assert_eq!(entry["level"], "error");
    assert_eq!(entry["context"]["status"], 503);
    assert_eq!(entry["device"]["name"], "Bob's Pixel 8");
    client
        .find(Locator::Css(&format!("aside{panel} a.close-panel")))
        .await
        .expect("the close link")
        .click()
        .await
        .expect("close");
    wait_displayed(client, &format!("aside{panel}"), false).await;

    // The entries view, then dark mode.
    client
        .goto(&app.url(&format!(
            "/orgs/{org}/troubleshooting?view=entries&range=week"
        )))
        .await
        .expect("entries");
    let entries = client
        .find_all(Locator::Css("table#log-entries tbody tr"))
        .await
        .expect("rows");
    assert_eq!(entries.len(), 7);
    shot(client, "troubleshooting-entries").await;
    set_theme(&owner, "dark").await;
    client.refresh().await.expect("reload");
    shot(client, "troubleshooting-entries-dark").await;
    let first = client
        .find(Locator::Css(
            "table#log-entries tr[data-level=error] a.entry-link",
        ))
        .await
        .expect("an entry");
    first.click().await.expect("open");
    shot(client, "troubleshooting-entry-panel-dark").await;
    client
        .goto(&app.url(&format!("/orgs/{org}/troubleshooting")))
        .await
        .expect("troubleshooting");
    shot(client, "troubleshooting-correlations-dark").await;

    // A member's Logs section: turn on detailed logging for them.
    client
        .goto(&app.url(&format!("/orgs/{org}/users/{bob}")))
        .await
        .expect("bob's page");
    let section = client
        .find(Locator::Id("logs"))
        .await
        .expect("the Logs section");
    section
        .find(Locator::Css("#start-detailed-logging"))
        .await
        .expect("the switch");
    client
        .execute("document.getElementById('logs').scrollIntoView()", vec![])
        .await
        .expect("scroll");
    shot(client, "member-logs-dark").await;
    click(client, "start-detailed-logging").await;
    wait_starting(client, "#notice", "Detailed logging is on").await;
    wait_starting(
        client,
        "#detailed-logging-status",
        "Detailed logging (debug) until",
    )
    .await;
    let config: Value = bob_api
        .get(format!("/api/v1/app/config?org={org}"))
        .await
        .json()
        .await
        .expect("the config");
    assert_eq!(config["log_level"], "debug");
    set_theme(&owner, "light").await;
    client.refresh().await.expect("reload");
    client
        .execute("document.getElementById('logs').scrollIntoView()", vec![])
        .await
        .expect("scroll");
    shot(client, "member-logs").await;
    click(client, "stop-detailed-logging").await;
    wait_starting(client, "#notice", "Detailed logging is off").await;

    // My troubleshooting, as Bob.
    crate::sign_out(client).await;
    sign_in(&app, client, "bob@example.com").await;
    client
        .goto(&app.url("/me?logs_range=week#my-troubleshooting"))
        .await
        .expect("my profile");
    let mine = client
        .find_all(Locator::Css("table#my-log-entries tbody tr"))
        .await
        .expect("rows");
    assert_eq!(mine.len(), 6, "Bob's own entries, not Ada's");
    shot(client, "my-troubleshooting").await;

    browser.quit().await;
    app.shutdown().await;
}
