//! The Users area in the browser: invite through the panel, onboard from the
//! link in the mail, change a role, disable, and a bulk upload with a bad row.

use crate::{click, expect_text, fill, sign_in, sign_out, text, wait_for_path};
use fantoccini::Locator;
use muster_test_support::{invite_link, outbox, Browser, Db, TestApp};
use std::time::Duration;

#[tokio::test]
async fn invite_onboard_change_role_and_disable() {
    let Some(app) = TestApp::start(Db::Sqlite).await else {
        return;
    };
    let Some(browser) = Browser::start().await else {
        return;
    };
    let (org, _) = app.create_org("Acme", "ada@example.com").await;
    let client = &browser.client;
    sign_in(&app, client, "ada@example.com").await;

    client
        .goto(&app.url(&format!("/orgs/{org}/users")))
        .await
        .expect("users");
    click(client, "invite-user").await;
    wait_for_path(client, "/users/invite").await;
    // A mistake is shown next to its field, and nothing is sent.
    fill(
        client,
        &[
            ("first_name", "Bea"),
            ("last_name", "Brown"),
            ("email", "bea@"),
        ],
    )
    .await;
    click(client, "send-invite").await;
    expect_text(
        client,
        "#email-error",
        "enter an email address like name@example.com",
    )
    .await;
    fill(client, &[("email", "bea@example.com")]).await;
    client
        .find(Locator::Css("select[name=role] option[value=creator]"))
        .await
        .expect("creator option")
        .click()
        .await
        .expect("choose creator");
    click(client, "send-invite").await;
    expect_text(client, "#notice", "The invitation is on its way.").await;
    assert!(text(client, "tr[data-email='bea@example.com']")
        .await
        .contains("Invited"));

    // The mail leaves through the worker; its link onboards Bea.
    app.worker().run_until_idle().await.expect("jobs");
    let mail = outbox(&app)
        .into_iter()
        .find(|m| m.contains("To: bea@example.com"))
        .expect("the invite mail");
    let link = invite_link(&mail).expect("a link in the mail");
    sign_out(client).await;
    client.goto(&link).await.expect("open the invite link");
    expect_text(client, "h1", "Join Acme").await;
    fill(client, &[("password", "a long enough password")]).await;
    click(client, "accept-invite").await;
    wait_for_path(client, "/overview").await;
    expect_text(client, ".user-name", "Bea Brown").await;
    sign_out(client).await;

    sign_in(&app, client, "ada@example.com").await;
    client
        .goto(&app.url(&format!("/orgs/{org}/users?q=bea")))
        .await
        .expect("users");
    assert!(text(client, "tr[data-email='bea@example.com']")
        .await
        .contains("Active"));
    client
        .find(Locator::LinkText("Bea Brown"))
        .await
        .expect("Bea's page")
        .click()
        .await
        .expect("open");
    client
        .find(Locator::Css("#role-select option[value=admin]"))
        .await
        .expect("admin option")
        .click()
        .await
        .expect("choose admin");
    click(client, "change-role").await;
    expect_text(client, "#notice", "The role was changed.").await;
    expect_text(client, "#member-role", "Admin").await;
    click(client, "disable-user").await;
    expect_text(client, "#notice", "The member was disabled.").await;
    expect_text(client, "#member-status", "Disabled").await;

    browser.quit().await;
    app.shutdown().await;
}

#[tokio::test]
async fn bulk_upload_reports_the_bad_row() {
    let Some(app) = TestApp::start(Db::Sqlite).await else {
        return;
    };
    let Some(browser) = Browser::start().await else {
        return;
    };
    let (org, _) = app.create_org("Acme", "ada@example.com").await;
    let client = &browser.client;
    sign_in(&app, client, "ada@example.com").await;
    let file = app.data_dir.join("people.csv");
    std::fs::write(&file, "email,first_name,last_name,language,role\none@example.com,One,A,en,user\nbroken-address,Two,B,en,user\nthree@example.com,Three,C,en,creator\n")
        .expect("write the CSV");

    client
        .goto(&app.url(&format!("/orgs/{org}/users")))
        .await
        .expect("users");
    click(client, "bulk-invite").await;
    wait_for_path(client, "/users/bulk").await;
    client
        .find(Locator::Id("csv-file"))
        .await
        .expect("file input")
        .send_keys(&file.display().to_string())
        .await
        .expect("choose the file");
    click(client, "upload").await;
    expect_text(client, "#job-status", "queued").await;
    assert!(client
        .current_url()
        .await
        .expect("url")
        .path()
        .contains("/jobs/"));

    app.worker().run_until_idle().await.expect("jobs");
    // The page notices by itself (polling) and shows the report.
    let mut summary = String::new();
    for _ in 0..100 {
        if let Ok(element) = client.find(Locator::Id("error-summary")).await {
            summary = element.text().await.expect("text");
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(summary.contains("1 rows were skipped"), "{summary}");
    let report = text(client, "#row-errors tbody").await;
    assert!(
        report.contains("3") && report.contains("broken-address") && report.contains("email"),
        "{report}"
    );
    // The page reloads itself once its script sees the job finished, which may
    // be just after the report was read: find the link again if it went stale.
    let mut href = String::new();
    for _ in 0..50 {
        if let Ok(link) = client.find(Locator::Id("download-errors")).await {
            if let Ok(Some(value)) = link.attr("href").await {
                href = value;
                break;
            }
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(href.ends_with("/errors.csv"));

    client
        .goto(&app.url(&format!("/orgs/{org}/users?status=invited")))
        .await
        .expect("users");
    let table = text(client, "table.members tbody").await;
    assert!(
        table.contains("one@example.com")
            && table.contains("three@example.com")
            && !table.contains("broken"),
        "{table}"
    );
    browser.quit().await;
    app.shutdown().await;
}
