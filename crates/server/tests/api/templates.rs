use crate::{json, problem};
use muster_domain::OrgRole;
use muster_test_support::{db_tests, TestApp};
use serde_json::json;

db_tests!(templates_are_listed_checked_and_audited);

async fn templates_are_listed_checked_and_audited(app: TestApp) {
    let (org, owner) = app.create_org("Acme", "ada@example.com").await;
    let creator = app.member(org, "carl@example.com", OrgRole::Creator).await;
    let token = app.token(owner).await;
    let http = reqwest::Client::new();
    let list = json(
        http.get(app.url(&format!("/api/v1/orgs/{org}/invite-templates")))
            .bearer_auth(&token)
            .send()
            .await
            .expect("list"),
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
    let put = |lang: &str, subject: &str, body: &str| {
        http.put(app.url(&format!("/api/v1/orgs/{org}/invite-templates/{lang}")))
            .bearer_auth(&token)
            .json(&json!({"subject": subject, "body": body}))
            .send()
    };
    let broken = problem(
        put("fr-ca", "Bonjour {{ prenom }}", "{{ invite_link }}")
            .await
            .expect("put"),
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
    let syntax = problem(put("fr-ca", "Bonjour", "{% if %}").await.expect("put"), 422).await;
    assert_eq!(syntax["errors"][0]["field"], "body");
    problem(
        put("french!", "Bonjour", "{{ invite_link }}")
            .await
            .expect("put"),
        422,
    )
    .await;
    let created = put(
        "fr-ca",
        "Bonjour {{ first_name }}",
        "Rejoignez {{ organization }}: {{ invite_link }}",
    )
    .await
    .expect("put");
    assert_eq!(created.status(), 201);
    let saved = json(created, 201).await;
    assert_eq!(saved["language"], "fr-CA");
    let list = json(
        http.get(app.url(&format!("/api/v1/orgs/{org}/invite-templates?limit=1")))
            .bearer_auth(&token)
            .send()
            .await
            .expect("list"),
        200,
    )
    .await;
    assert_eq!(list["items"][0]["language"], "en");
    assert!(list["next_cursor"].is_string());
    problem(
        http.get(app.url(&format!("/api/v1/orgs/{org}/invite-templates")))
            .bearer_auth(app.token(creator).await)
            .send()
            .await
            .expect("list"),
        403,
    )
    .await;
    let audit = json(
        http.get(app.url(&format!("/api/v1/orgs/{org}/audit?action=invite_template.")))
            .bearer_auth(&token)
            .send()
            .await
            .expect("audit"),
        200,
    )
    .await;
    assert_eq!(audit["items"][0]["target"], "fr-CA");
    assert_eq!(
        audit["items"][0]["after"]["subject"],
        "Bonjour {{ first_name }}"
    );
    problem(
        http.delete(app.url(&format!("/api/v1/orgs/{org}/invite-templates/de")))
            .bearer_auth(&token)
            .send()
            .await
            .expect("delete"),
        404,
    )
    .await;
}
