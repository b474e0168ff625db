//! What a keyboard user, a screen reader user and a phone meet (issue 16,
//! defect 10): the skip link, field errors tied to their fields, check boxes
//! before their text, the status badges' contrast in both themes, and the
//! users page at 420 px.

use crate::{choose_theme, click, fill, sign_in, theme, wait_for_path};
use fantoccini::{Client, Locator};
use muster_domain::OrgRole;
use muster_test_support::{Browser, Db, TestApp};
use serde_json::Value;

async fn run(client: &Client, script: &str) -> Value {
    client
        .execute(script, vec![])
        .await
        .unwrap_or_else(|e| panic!("the script failed ({e}): {script}"))
}

/// The contrast ratio (WCAG 2) of the first `css` element's text on its
/// background.
async fn contrast(client: &Client, css: &str) -> f64 {
    let script = format!(
        "const el = document.querySelector({css:?});
         const rgb = c => c.match(/[\\d.]+/g).slice(0, 3).map(Number);
         const lum = ([r, g, b]) => {{
           const f = v => {{ v /= 255; return v <= 0.03928 ? v / 12.92 : Math.pow((v + 0.055) / 1.055, 2.4); }};
           return 0.2126 * f(r) + 0.7152 * f(g) + 0.0722 * f(b);
         }};
         const style = getComputedStyle(el);
         const a = lum(rgb(style.color)), b = lum(rgb(style.backgroundColor));
         return (Math.max(a, b) + 0.05) / (Math.min(a, b) + 0.05);"
    );
    run(client, &script)
        .await
        .as_f64()
        .unwrap_or_else(|| panic!("a ratio for {css}"))
}

async fn press_tab(client: &Client) {
    client
        .find(Locator::Css("body"))
        .await
        .expect("the body")
        .send_keys("\u{E004}")
        .await
        .expect("Tab");
}

#[tokio::test]
async fn keyboard_screen_reader_and_phone_users_get_through() {
    let Some(app) = TestApp::start(Db::Sqlite).await else {
        return;
    };
    let Some(browser) = Browser::start().await else {
        return;
    };
    let (org, _) = app.create_org("Acme", "ada@example.com").await;
    app.member(
        org,
        "bob.with.a.rather.long.address@example.com",
        OrgRole::User,
    )
    .await;
    let client = &browser.client;
    sign_in(&app, client, "ada@example.com").await;
    let users = app.url(&format!("/orgs/{org}/users"));

    // The first Tab reaches "Skip to content", shown; Enter moves to the page.
    client.goto(&users).await.expect("users");
    press_tab(client).await;
    let focused = run(
        client,
        "const a = document.activeElement; \
         return [a.className, a.textContent, a.getBoundingClientRect().top >= 0];",
    )
    .await;
    assert_eq!(
        focused,
        serde_json::json!(["skip-link", "Skip to content", true])
    );
    client
        .active_element()
        .await
        .expect("the focus")
        .send_keys("\u{E007}")
        .await
        .expect("Enter");
    let target = run(client, "return document.activeElement.id;").await;
    assert_eq!(target, "main", "the focus moved to the content");

    // A field error is tied to its field for a screen reader.
    client
        .goto(&app.url(&format!("/orgs/{org}/users/invite")))
        .await
        .expect("the invite form");
    fill(client, &[("email", "not-an-email")]).await;
    click(client, "send-invite").await;
    wait_for_path(client, "/users/invite").await;
    let tied = run(
        client,
        "const input = document.querySelector('input[name=email]'); \
         const id = input.getAttribute('aria-describedby'); \
         return [input.getAttribute('aria-invalid'), id, \
                 (document.getElementById(id) || {}).textContent || null];",
    )
    .await;
    assert_eq!(tied[0], "true", "{tied}");
    assert_eq!(tied[1], "email-error", "{tied}");
    assert!(
        tied[2].as_str().is_some_and(|t| t.contains("email")),
        "{tied}"
    );

    // A check box stands before its text, on the same line.
    client
        .goto(&app.url(&format!("/orgs/{org}/settings/invites/en")))
        .await
        .expect("the template");
    let layout = run(
        client,
        "const box = document.querySelector('input[name=confirm_delete]'); \
         const label = box.closest('label'); \
         const range = document.createRange(); \
         range.selectNodeContents(label); \
         const text = [...range.getClientRects()].pop(); \
         const b = box.getBoundingClientRect(); \
         return [b.right <= text.right, Math.abs((b.top + b.bottom) / 2 - (text.top + text.bottom) / 2), \
                 label.getBoundingClientRect().height, parseFloat(getComputedStyle(label).lineHeight)];",
    )
    .await;
    let number = |i: usize| layout[i].as_f64().unwrap_or(f64::MAX);
    assert_eq!(layout[0], true, "{layout}");
    assert!(
        number(1) < 6.0,
        "the box and its text share a line: {layout}"
    );
    assert!(number(2) < 2.0 * number(3), "one line: {layout}");

    // The status badge reads at 4.5:1 or better, light and dark.
    client.goto(&users).await.expect("users");
    let light = contrast(client, ".status-active").await;
    assert!(light >= 4.5, "light: {light:.2}:1");
    choose_theme(client, "dark").await;
    assert_eq!(theme(client, "dark").await, "dark");
    let dark = contrast(client, ".status-active").await;
    assert!(dark >= 4.5, "dark: {dark:.2}:1");
    println!("Active badge contrast: light {light:.2}:1, dark {dark:.2}:1");

    // 420 px wide: nothing runs off the side of the users page.
    client
        .set_window_size(420, 900)
        .await
        .expect("a narrow window");
    client.goto(&users).await.expect("users");
    let widths = run(
        client,
        "return [document.documentElement.scrollWidth, window.innerWidth];",
    )
    .await;
    let (page, window) = (
        widths[0].as_i64().unwrap_or(i64::MAX),
        widths[1].as_i64().unwrap_or(0),
    );
    assert!(window <= 440, "the window is narrow: {widths}");
    assert!(page <= window, "the page fits the screen: {widths}");
    let table = run(
        client,
        "const t = document.querySelector('main table'); \
         return t.getBoundingClientRect().right <= window.innerWidth;",
    )
    .await;
    assert_eq!(table, true, "the table scrolls inside the page");

    browser.quit().await;
    app.shutdown().await;
}
