//! Solutions and organizations in the browser: create a solution, assign two
//! users at once, change a solution role; switch organization, set the
//! default and find it opened after the next sign-in.

use crate::{click, expect_text, fill, sign_in, sign_out, text, wait_for_path};
use fantoccini::Locator;
use muster_domain::{MembershipStatus, OrgRole};
use muster_test_support::{Browser, Db, TestApp};

#[tokio::test]
async fn create_a_solution_assign_two_users_and_change_a_role() {
    let Some(app) = TestApp::start(Db::Sqlite).await else {
        return;
    };
    let Some(browser) = Browser::start().await else {
        return;
    };
    let (org, ada) = app.create_org("Acme", "ada@example.com").await;
    app.member(org, "bob@example.com", OrgRole::User).await;
    app.member(org, "cy@example.com", OrgRole::Creator).await;
    let client = &browser.client;
    sign_in(&app, client, "ada@example.com").await;

    client
        .goto(&app.url(&format!("/orgs/{org}/solutions")))
        .await
        .expect("solutions");
    click(client, "create-solution").await;
    wait_for_path(client, "/solutions/new").await;
    fill(client, &[("name", "Field Inspections")]).await;
    click(client, "save-solution").await;
    expect_text(
        client,
        "#notice",
        "The solution was created. You are its owner.",
    )
    .await;
    expect_text(client, "#latest-version", "none").await;
    // The icon shows in its colour: the CSP blocks inline styles, so the
    // colour is the SVG's fill.
    let icon = client
        .execute(
            "const r = document.querySelector('h1 svg.icon rect'); \
             return [r.getAttribute('fill'), getComputedStyle(r).fill, r.getBoundingClientRect().width];",
            vec![],
        )
        .await
        .expect("the icon");
    let hex = icon[0]
        .as_str()
        .expect("a fill")
        .trim_start_matches('#')
        .to_owned();
    let channel = |i: usize| u8::from_str_radix(&hex[i..i + 2], 16).expect("hex");
    assert_eq!(
        icon[1].as_str(),
        Some(format!("rgb({}, {}, {})", channel(0), channel(2), channel(4)).as_str()),
        "{icon:?}"
    );
    assert!(icon[2].as_f64().is_some_and(|w| w > 20.0), "{icon:?}");

    // Two people ticked, one click.
    for email in ["bob@example.com", "cy@example.com"] {
        client
            .find(Locator::Css(&format!("input[data-email='{email}']")))
            .await
            .expect("a checkbox")
            .click()
            .await
            .expect("tick");
    }
    click(client, "add-users").await;
    expect_text(client, "#notice", "Added 2 people with the role user.").await;
    let rows = text(client, "table.solution-users tbody").await;
    assert!(
        rows.contains("bob@example.com") && rows.contains("cy@example.com"),
        "{rows}"
    );

    // Bob becomes an editor through the role picker of his row.
    let row = client
        .find(Locator::Css("tr[data-email='bob@example.com']"))
        .await
        .expect("bob's row");
    row.find(Locator::Css("select[name=role]"))
        .await
        .expect("the role picker")
        .select_by_value("editor")
        .await
        .expect("choose editor");
    row.find(Locator::Css("form button[type=submit]"))
        .await
        .expect("save")
        .click()
        .await
        .expect("click save");
    expect_text(client, "#notice", "The solution role is now editor.").await;

    let api = app.api(&app.token(ada).await);
    let solutions: serde_json::Value = api
        .get(format!("/api/v1/orgs/{org}/solutions"))
        .await
        .json()
        .await
        .expect("json");
    let sol = solutions["items"][0]["id"]
        .as_str()
        .expect("the solution")
        .to_owned();
    let users: serde_json::Value = api
        .get(format!("/api/v1/orgs/{org}/solutions/{sol}/users"))
        .await
        .json()
        .await
        .expect("json");
    let roles: Vec<(String, String)> = users["items"]
        .as_array()
        .expect("items")
        .iter()
        .map(|u| {
            (
                u["email"].as_str().unwrap_or_default().to_owned(),
                u["role"].as_str().unwrap_or_default().to_owned(),
            )
        })
        .collect();
    assert_eq!(
        roles,
        [
            ("ada@example.com".to_owned(), "owner".to_owned()),
            ("bob@example.com".to_owned(), "editor".to_owned()),
            ("cy@example.com".to_owned(), "user".to_owned()),
        ]
    );

    // The Users list shows the solution, and filters by it.
    client
        .goto(&app.url(&format!("/orgs/{org}/users?solution={sol}")))
        .await
        .expect("users");
    let bob_row = text(client, "tr[data-email='bob@example.com']").await;
    assert!(bob_row.contains("Field Inspections"), "{bob_row}");

    browser.quit().await;
    app.shutdown().await;
}

#[tokio::test]
async fn switch_organization_and_open_the_default_after_sign_in() {
    let Some(app) = TestApp::start(Db::Sqlite).await else {
        return;
    };
    let Some(browser) = Browser::start().await else {
        return;
    };
    let (acme, ada) = app.create_org("Acme", "ada@example.com").await;
    let (globex, _) = app.create_org("Globex", "gus@example.com").await;
    app.add_member(globex, ada, OrgRole::Admin, MembershipStatus::Active)
        .await;
    let client = &browser.client;
    sign_in(&app, client, "ada@example.com").await;
    wait_for_path(client, &format!("/orgs/{acme}/overview")).await;

    // With two organizations, the sidebar has a switcher.
    click(client, "org-switcher").await;
    client
        .find(Locator::Css("a[data-org='Globex']"))
        .await
        .expect("Globex in the switcher")
        .click()
        .await
        .expect("switch");
    wait_for_path(client, &format!("/orgs/{globex}/overview")).await;
    expect_text(client, "#org-switcher", "Globex").await;

    client.goto(&app.url("/me")).await.expect("my profile");
    let orgs = text(client, "#org-list").await;
    assert!(orgs.contains("Acme") && orgs.contains("Globex"), "{orgs}");
    client
        .find(Locator::Css("button[data-set-default='Globex']"))
        .await
        .expect("set Globex as default")
        .click()
        .await
        .expect("click");
    expect_text(
        client,
        "p.notice",
        "Your default organization was changed. It opens after sign-in.",
    )
    .await;
    let globex_row = text(client, "tr[data-org='Globex']").await;
    assert!(globex_row.contains("default"), "{globex_row}");

    sign_out(client).await;
    sign_in(&app, client, "ada@example.com").await;
    wait_for_path(client, &format!("/orgs/{globex}/overview")).await;

    browser.quit().await;
    app.shutdown().await;
}
