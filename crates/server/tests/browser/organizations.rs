//! Deleting an organization in the browser: the owner types its name on the
//! settings page and lands on My profile, where it is no longer listed.

use crate::{click, expect_text, fill, sign_in, text, wait_for_path};
use muster_domain::{MembershipStatus, OrgRole};
use muster_test_support::{Browser, Db, TestApp};

#[tokio::test]
async fn an_owner_deletes_an_organization_by_typing_its_name() {
    let Some(app) = TestApp::start(Db::Sqlite).await else {
        return;
    };
    let Some(browser) = Browser::start().await else {
        return;
    };
    let (org, ada) = app.create_org("Acme", "ada@example.com").await;
    let (lab, _) = app.create_org("Ada's lab", "eve@example.com").await;
    app.add_member(lab, ada, OrgRole::Admin, MembershipStatus::Active)
        .await;
    let client = &browser.client;
    sign_in(&app, client, "ada@example.com").await;
    client
        .goto(&app.url(&format!("/orgs/{org}/settings")))
        .await
        .expect("settings");
    fill(client, &[("confirm", "Acme Inc")]).await;
    click(client, "delete-org").await;
    expect_text(
        client,
        "#confirm-error",
        "type the organization's name, Acme, to confirm",
    )
    .await;
    fill(client, &[("confirm", "Acme")]).await;
    click(client, "delete-org").await;
    wait_for_path(client, "/me").await;
    expect_text(
        client,
        "p.notice",
        "Acme was deleted. Nobody can reach it any more; its data is being removed.",
    )
    .await;
    let listed = text(client, "#org-list").await;
    assert!(listed.contains("Ada's lab"), "{listed}");
    assert!(!listed.contains("Acme"), "{listed}");
    app.shutdown().await;
}
