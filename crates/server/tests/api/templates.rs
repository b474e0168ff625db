use crate::{json, problem};
use muster_domain::OrgRole;
use muster_test_support::{db_tests, TestApp};
use serde_json::json;

db_tests!(templates_are_listed_checked_and_audited);

async fn templates_are_listed_checked_and_audited(app: TestApp) {
    let (org, owner) = app.create_org("Acme", "ada@example.com").await;
    let creator = app.member(org, "carl@example.com", OrgRole::Creator).await;
    let token = app.token(owner).await;
    let list = json(
        app.api(&token)
            .get(format!("/api/v1/orgs/{org}/invite-templates"))
            .await,
        200,
    )
    .await;
    assert_eq!(
        list["items"][0]["language"], "en",
        "a new organization starts with English"
    );
    assert!(list["items"][0]["body"]
        .as_str()
        .unwrap_or_default()
        .contains("{{ invite_link }}"));
    let api = app.api(&token);
    let put = |lang: &str, subject: &str, body: &str| {
        api.put(
            format!("/api/v1/orgs/{org}/invite-templates/{lang}"),
            json!({"subject": subject, "body": body}),
        )
    };
    let broken = problem(
        put("fr-ca", "Bonjour {{ prenom }}", "{{ invite_link }}").await,
        422,
    )
    .await;
    assert_eq!(broken["errors"][0]["field"], "subject");
    assert!(
        broken["errors"][0]["message"]
            .as_str()
            .unwrap_or_default()
            .contains("undefined"),
        "{broken}"
    );
    let syntax = problem(put("fr-ca", "Bonjour", "{% if %}").await, 422).await;
    assert_eq!(syntax["errors"][0]["field"], "body");
    problem(put("french!", "Bonjour", "{{ invite_link }}").await, 422).await;
    let created = put(
        "fr-ca",
        "Bonjour {{ first_name }}",
        "Rejoignez {{ organization }}: {{ invite_link }}",
    )
    .await;
    assert_eq!(created.status(), 201);
    let saved = json(created, 201).await;
    assert_eq!(saved["language"], "fr-CA");
    let list = json(
        app.api(&token)
            .get(format!("/api/v1/orgs/{org}/invite-templates?limit=1"))
            .await,
        200,
    )
    .await;
    assert_eq!(list["items"][0]["language"], "en");
    assert!(list["next_cursor"].is_string());
    problem(
        app.api(&app.token(creator).await)
            .get(format!("/api/v1/orgs/{org}/invite-templates"))
            .await,
        403,
    )
    .await;
    let audit = json(
        app.api(&token)
            .get(format!("/api/v1/orgs/{org}/audit?action=invite_template."))
            .await,
        200,
    )
    .await;
    assert_eq!(audit["items"][0]["target"], "fr-CA");
    assert_eq!(
        audit["items"][0]["after"]["subject"],
        "Bonjour {{ first_name }}"
    );
    problem(
        app.api(&token)
            .delete(format!("/api/v1/orgs/{org}/invite-templates/de"))
            .await,
        404,
    )
    .await;
}
