//! Usage and the Overview in the browser: the range buttons and the interval
//! form, a chart's "Numbers" opened and read, the bars' tooltips and heights,
//! the axis labels apart from each other; the Overview's error count followed
//! to Troubleshooting. With `MUSTER_SCREENSHOTS=dir` the pages are saved
//! there whole, light and dark (usage-light.png, usage-dark.png,
//! overview-light.png, overview-dark.png).

use crate::{expect_text, sign_in, theme, wait_for_path};
use fantoccini::{Client, Locator};
use muster_domain::{OrgId, OrgRole, UserId};
use muster_test_support::{Api, Browser, Db, TestApp};
use serde_json::{json, Value};
use std::time::Duration;
use time::format_description::well_known::Rfc3339;
use time::Date;

/// Saves the whole page (not only the window) as `name.png` in
/// `MUSTER_SCREENSHOTS`, when it is set.
async fn shot(client: &Client, name: &str) {
    let Ok(dir) = std::env::var("MUSTER_SCREENSHOTS") else {
        return;
    };
    let height = client
        .execute(
            "return Math.max(document.documentElement.scrollHeight, document.body.scrollHeight)
                 + (window.outerHeight - window.innerHeight)",
            vec![],
        )
        .await
        .expect("the page height")
        .as_u64()
        .unwrap_or(900)
        .clamp(900, 6000);
    let height = u32::try_from(height).unwrap_or(900);
    client
        .set_window_size(1280, height)
        .await
        .expect("a taller window");
    client
        .execute("window.scrollTo(0, 0)", vec![])
        .await
        .expect("scroll to the top");
    tokio::time::sleep(Duration::from_millis(200)).await;
    let png = client.screenshot().await.expect("a screenshot");
    client
        .set_window_size(1280, 900)
        .await
        .expect("the window back");
    std::fs::create_dir_all(&dir).expect("the screenshot directory");
    std::fs::write(format!("{dir}/{name}.png"), png).expect("the screenshot is written");
}

/// Saves one element as `name.png` in `MUSTER_SCREENSHOTS`, when it is set:
/// a close-up of a chart, to judge its labels.
async fn shot_of(client: &Client, css: &str, name: &str) {
    let Ok(dir) = std::env::var("MUSTER_SCREENSHOTS") else {
        return;
    };
    let element = client
        .find(Locator::Css(css))
        .await
        .unwrap_or_else(|_| panic!("an element {css}"));
    let png = element.screenshot().await.expect("a screenshot");
    std::fs::create_dir_all(&dir).expect("the screenshot directory");
    std::fs::write(format!("{dir}/{name}.png"), png).expect("the screenshot is written");
}

fn ymd(date: Date) -> String {
    format!(
        "{:04}-{:02}-{:02}",
        date.year(),
        u8::from(date.month()),
        date.day()
    )
}

fn day(app: &TestApp, days: i64) -> Date {
    (app.clock_now() - time::Duration::days(days)).date()
}

fn ago(app: &TestApp, days: i64) -> String {
    (app.clock_now() - time::Duration::days(days))
        .format(&Rfc3339)
        .expect("a time")
}

/// A phone of `user`: its device token's client.
async fn phone(app: &TestApp, user: UserId) -> Api {
    let pat = app.api(&app.token(user).await);
    let created: Value = pat
        .post(
            "/api/v1/app/devices",
            json!({"name": "Pixel 8", "platform": "android"}),
        )
        .await
        .json()
        .await
        .expect("a device");
    app.api(created["token"].as_str().expect("a device token"))
}

async fn send_usage(api: &Api, org: OrgId, events: Value) {
    let response = api
        .post(
            format!("/api/v1/app/usage?org={org}"),
            json!({ "events": events }),
        )
        .await;
    assert_eq!(response.status(), 202);
}

async fn roll_up(app: &TestApp) {
    let worker = app.worker();
    worker.tick(app.clock_now()).await;
    worker.run_until_idle().await.expect("the jobs run");
}

async fn set_theme(api: &Api, theme: &str) {
    let response = api.patch("/api/v1/me", json!({ "theme": theme })).await;
    assert_eq!(response.status(), 200);
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

/// How many elements match `css` once there are `expected` (the page may
/// still be loading), or what there are after a few seconds.
async fn count(client: &Client, css: &str, expected: usize) -> usize {
    let mut seen = 0;
    for _ in 0..100 {
        seen = client
            .find_all(Locator::Css(css))
            .await
            .map(|all| all.len())
            .unwrap_or(0);
        if seen == expected {
            return seen;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    seen
}

async fn displayed(client: &Client, css: &str) -> bool {
    match client.find(Locator::Css(css)).await {
        Ok(element) => element.is_displayed().await.unwrap_or(false),
        Err(_) => false,
    }
}

/// The Monday-to-Sunday weeks `from..=to` touches.
fn weeks(from: Date, to: Date) -> usize {
    let mut n = 0;
    let mut start = from;
    while start <= to {
        n += 1;
        start =
            start + time::Duration::days(7 - i64::from(start.weekday().number_days_from_monday()));
    }
    n
}

/// The texts of `selector`'s elements, through the page's own DOM.
async fn texts(client: &Client, selector: &str) -> Vec<String> {
    let value = client
        .execute(
            "return Array.from(document.querySelectorAll(arguments[0])).map(e => e.textContent.trim().replace(/\\s+/g, ' '));",
            vec![json!(selector)],
        )
        .await
        .expect("texts");
    serde_json::from_value(value).expect("a list of texts")
}

/// Pairs of x-axis labels of the chart whose boxes overlap on screen.
async fn overlapping_labels(client: &Client, metric: &str) -> Value {
    client
        .execute(
            "const labels = Array.from(document.querySelectorAll(
                 `figure[data-metric=${arguments[0]}] svg.chart text.chart-label[text-anchor=middle]`));
             const boxes = labels.map(l => [l.textContent, l.getBoundingClientRect()]);
             const out = [];
             for (let i = 1; i < boxes.length; i++) {
               if (boxes[i][1].left < boxes[i - 1][1].right) out.push([boxes[i - 1][0], boxes[i][0]]);
             }
             return out;",
            vec![json!(metric)],
        )
        .await
        .expect("the labels' boxes")
}

#[tokio::test]
async fn read_usage_by_range_and_interval_and_open_a_charts_numbers() {
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
    let cy = app.member(org, "cy@example.com", OrgRole::User).await;
    let owner = app.api(&app.token(ada).await);
    let mut solutions = Vec::new();
    for name in ["Field inspections", "Yard checks"] {
        let created: Value = owner
            .post(
                format!("/api/v1/orgs/{org}/solutions"),
                json!({ "name": name }),
            )
            .await
            .json()
            .await
            .expect("a solution");
        solutions.push(created["id"].as_str().expect("an id").to_owned());
    }
    let (field, yard) = (&solutions[0], &solutions[1]);
    // A month of use: Bob most days, Cy now and then, more on weekdays.
    let (bob_phone, cy_phone) = (phone(&app, bob).await, phone(&app, cy).await);
    let mut bob_events = Vec::new();
    let mut cy_events = Vec::new();
    // Bob's opens `d` days ago: 3 to 6 on a weekday, 1 at the weekend.
    let bob_opens = |d: i64| {
        if day(&app, d).weekday().number_days_from_monday() < 5 {
            3 + d % 4
        } else {
            1
        }
    };
    for d in 0..30 {
        for _ in 0..bob_opens(d) {
            bob_events.push(
                json!({"type": "solution_opened", "solution_id": field, "time": ago(&app, d)}),
            );
            bob_events
                .push(json!({"type": "screen_viewed", "solution_id": field, "time": ago(&app, d)}));
        }
        if d % 3 == 0 {
            cy_events.push(
                json!({"type": "solution_opened", "solution_id": yard, "time": ago(&app, d)}),
            );
            cy_events
                .push(json!({"type": "order.placed", "solution_id": yard, "time": ago(&app, d)}));
        }
    }
    send_usage(&bob_phone, org, Value::Array(bob_events)).await;
    send_usage(&cy_phone, org, Value::Array(cy_events)).await;
    // Three days ago: an extra 12 opens, so that day stands out.
    send_usage(
        &bob_phone,
        org,
        Value::Array(
            (0..12)
                .map(|_| json!({"type": "solution_opened", "solution_id": field, "time": ago(&app, 3)}))
                .collect(),
        ),
    )
    .await;
    roll_up(&app).await;

    let client = &browser.client;
    sign_in(&app, client, "ada@example.com").await;
    roll_up(&app).await;
    client
        .goto(&app.url(&format!("/orgs/{org}/overview")))
        .await
        .expect("overview");
    client
        .find(Locator::Css("nav.sidebar a[href$='/usage']"))
        .await
        .expect("Usage in the menu")
        .click()
        .await
        .expect("open Usage");
    wait_for_path(client, "/usage").await;
    expect_text(client, "main h1", "Usage").await;
    expect_text(client, "#ranges a[aria-current]", "Last 30 days").await;
    let bars = "figure[data-metric=solution_opens] svg.chart rect.chart-bar";
    assert_eq!(count(client, bars, 30).await, 30, "a bar per day");

    // Each bar's tooltip, and the busy day's bar is the tallest.
    let tips = texts(client, &format!("{bars} > title")).await;
    let three = day(&app, 3);
    // Bob's opens that day, his 12 extra, and Cy's (every third day).
    let busy_opens = bob_opens(3) + 12 + 1;
    assert_eq!(
        tips[26],
        format!("{}: {busy_opens} solution opens", ymd(three))
    );
    let heights: Vec<f64> = serde_json::from_value(
        client
            .execute(
                "return Array.from(document.querySelectorAll(arguments[0])).map(r => r.getBoundingClientRect().height);",
                vec![json!(bars)],
            )
            .await
            .expect("heights"),
    )
    .expect("numbers");
    let tallest = heights
        .iter()
        .enumerate()
        .max_by(|a, b| a.1.total_cmp(b.1))
        .map(|(i, _)| i);
    assert_eq!(tallest, Some(26), "{heights:?}");
    assert!(
        heights.iter().all(|h| *h > 0.0),
        "every bar can be pointed at"
    );
    assert_eq!(
        overlapping_labels(client, "solution_opens").await,
        json!([]),
        "the day labels under the bars do not run into each other"
    );

    // "Numbers" opens the chart's table.
    let table = "figure[data-metric=solution_opens] details.chart-numbers table";
    assert!(!displayed(client, table).await, "closed at first");
    client
        .find(Locator::Css(
            "figure[data-metric=solution_opens] details.chart-numbers summary",
        ))
        .await
        .expect("the Numbers toggle")
        .click()
        .await
        .expect("open Numbers");
    for _ in 0..50 {
        if displayed(client, table).await {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(displayed(client, table).await, "the numbers are shown");
    let rows = client
        .find_all(Locator::Css(&format!("{table} tbody tr")))
        .await
        .expect("rows");
    assert_eq!(rows.len(), 30);
    assert_eq!(
        rows[26].text().await.expect("a row"),
        format!("{} {busy_opens}", ymd(three))
    );
    shot(client, "usage-light").await;
    shot_of(
        client,
        "figure[data-metric=active_users]",
        "usage-chart-light",
    )
    .await;

    // The 7-day button, then By week through the form.
    client
        .find(Locator::Css("#ranges a[data-range='7']"))
        .await
        .expect("the 7-day button")
        .click()
        .await
        .expect("click");
    wait_for_query(client, "range=7").await;
    expect_text(client, "#ranges a[aria-current]", "Last 7 days").await;
    assert_eq!(count(client, bars, 7).await, 7);
    client
        .find(Locator::Id("interval-filter"))
        .await
        .expect("the interval")
        .select_by_value("week")
        .await
        .expect("By week");
    client
        .find(Locator::Id("apply-filters"))
        .await
        .expect("Show")
        .click()
        .await
        .expect("click");
    wait_for_query(client, "interval=week").await;
    let n = weeks(day(&app, 6), day(&app, 0));
    assert_eq!(count(client, bars, n).await, n, "a bar per week");
    expect_text(client, "#ranges a[aria-current]", "Last 7 days").await;
    let week_rows = texts(
        client,
        "figure[data-metric=solution_opens] details.chart-numbers tbody th",
    )
    .await;
    assert_eq!(week_rows.len(), n);
    assert!(
        week_rows[0].starts_with(&format!("{} to ", ymd(day(&app, 6)))),
        "{week_rows:?}"
    );

    // One solution: Yard checks, Cy's.
    client
        .find(Locator::Id("solution-filter"))
        .await
        .expect("the solution filter")
        .select_by_value(yard)
        .await
        .expect("Yard checks");
    client
        .find(Locator::Id("apply-filters"))
        .await
        .expect("Show")
        .click()
        .await
        .expect("click");
    wait_for_query(client, &format!("solution={yard}")).await;
    let yard_opens = (0..7).filter(|d| d % 3 == 0).count();
    expect_text(
        client,
        "figure[data-metric=solution_opens] .chart-total",
        &format!("{yard_opens} in all"),
    )
    .await;
    expect_text(client, "#wau", "1").await;

    // Dark mode, the 30 days again.
    client
        .goto(&app.url(&format!("/orgs/{org}/usage?range=30")))
        .await
        .expect("usage");
    set_theme(&owner, "dark").await;
    client.refresh().await.expect("reload");
    assert_eq!(theme(client, "dark").await, "dark");
    let colours = client
        .execute(
            "const bar = document.querySelector('figure[data-metric=solution_opens] rect.chart-bar');
             const card = document.querySelector('figure[data-metric=solution_opens]');
             const label = document.querySelector('figure[data-metric=solution_opens] text.chart-label');
             return [getComputedStyle(bar).fill, getComputedStyle(card).backgroundColor, getComputedStyle(label).fill];",
            vec![],
        )
        .await
        .expect("colours");
    assert_ne!(
        colours[0], colours[1],
        "bars stand out from the card: {colours}"
    );
    assert_ne!(
        colours[2], colours[1],
        "labels stand out from the card: {colours}"
    );
    client
        .find(Locator::Css(
            "figure[data-metric=solution_opens] details.chart-numbers summary",
        ))
        .await
        .expect("the Numbers toggle")
        .click()
        .await
        .expect("open Numbers");
    shot(client, "usage-dark").await;
    shot_of(
        client,
        "figure[data-metric=active_users]",
        "usage-chart-dark",
    )
    .await;
    shot_of(client, "nav#ranges", "usage-ranges-dark").await;
    shot_of(client, "form#usage-filters", "usage-filters-dark").await;

    browser.quit().await;
    app.shutdown().await;
}

#[tokio::test]
async fn the_overview_error_count_leads_to_troubleshooting() {
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
    let created: Value = owner
        .post(
            format!("/api/v1/orgs/{org}/solutions"),
            json!({"name": "Field inspections"}),
        )
        .await
        .json()
        .await
        .expect("a solution");
    let field = created["id"].as_str().expect("an id").to_owned();
    let invited = owner
        .post(
            format!("/api/v1/orgs/{org}/invitations"),
            json!({"email": "walt@example.com", "first_name": "Walt"}),
        )
        .await;
    assert_eq!(invited.status(), 201);
    let bob_phone = phone(&app, bob).await;
    let at = |minutes: i64| {
        (app.clock_now() - time::Duration::minutes(minutes))
            .format(&Rfc3339)
            .expect("a time")
    };
    let logged = bob_phone
        .post(
            format!("/api/v1/app/logs?org={org}"),
            json!({"entries": [
                {"time": at(30), "level": "error", "category": "sync", "solution_id": field,
                 "message": "Upload failed: 503 Service Unavailable", "correlation_id": "order-42"},
                {"time": at(20), "level": "fatal", "category": "app", "solution_id": field,
                 "message": "Crash on start: out of memory", "correlation_id": "crash-1b"},
            ]}),
        )
        .await;
    assert_eq!(logged.status(), 202);
    send_usage(
        &bob_phone,
        org,
        json!([
            {"type": "solution_opened", "solution_id": field, "time": ago(&app, 9)},
            {"type": "solution_opened", "solution_id": field, "time": ago(&app, 1)},
        ]),
    )
    .await;

    let client = &browser.client;
    sign_in(&app, client, "ada@example.com").await;
    roll_up(&app).await;
    client
        .goto(&app.url(&format!("/orgs/{org}/overview")))
        .await
        .expect("overview");
    expect_text(client, "main h1", "Overview").await;
    expect_text(client, "#error-logs", "2").await;
    expect_text(client, "#active-week", "2").await;
    expect_text(client, "#active-change", "+100%").await;
    // A solution, a token, an invitation, and with it the template it went
    // out with.
    expect_text(client, "#steps-done", "4 of 5 done").await;
    shot(client, "overview-light").await;
    set_theme(&owner, "dark").await;
    client.refresh().await.expect("reload");
    assert_eq!(theme(client, "dark").await, "dark");
    shot(client, "overview-dark").await;

    client
        .find(Locator::Id("errors-link"))
        .await
        .expect("the error count")
        .click()
        .await
        .expect("follow it");
    wait_for_path(client, "/troubleshooting").await;
    wait_for_query(client, "level=error").await;
    expect_text(client, "main h1", "Troubleshooting").await;
    expect_text(client, "#ranges a[aria-current]", "Last day").await;
    let shown = texts(client, "table#correlations tbody tr[data-correlation]").await;
    assert_eq!(
        count(client, "table#correlations tbody tr[data-correlation]", 2).await,
        2,
        "{shown:?}"
    );
    let ids: Value = client
        .execute(
            "return Array.from(document.querySelectorAll('table#correlations tbody tr[data-correlation]')).map(r => r.dataset.correlation).sort();",
            vec![],
        )
        .await
        .expect("the correlation IDs");
    assert_eq!(ids, json!(["crash-1b", "order-42"]));

    browser.quit().await;
    app.shutdown().await;
}
