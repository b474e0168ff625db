use crate::{json, problem};
use muster_domain::OrgRole;
use muster_test_support::{db_tests, TestApp};
use serde_json::json;

db_tests!(
    templates_are_listed_checked_and_audited,
    templates_that_fill_memory_or_hide_the_link_are_refused,
);

/// The probe's templates: each saved with 200 before, each a 422 with the
/// reason now; and one that hides the link from one person only is refused
/// when that person is invited, with nothing sent and nobody added.
async fn templates_that_fill_memory_or_hide_the_link_are_refused(app: TestApp) {
    let (org, owner) = app.create_org("Acme", "ada@example.com").await;
    let token = app.token(owner).await;
    let api = app.api(&token);
    let put = |body: &str| {
        api.put(
            format!("/api/v1/orgs/{org}/invite-templates/en"),
            json!({"subject": "Welcome", "body": body}),
        )
    };
    let refused = [
        ("{% set ns = namespace(x=\"x\") %}{% for i in range(26) %}{% set ns.x = ns.x ~ ns.x %}{% endfor %}{{ ns.x }}{{ invite_link }}", "not allowed"),
        ("{{ \"x\" * 100000000 }}{{ invite_link }}", "`*`"),
        ("Welcome.{% if first_name == \"Alex\" %} {{ invite_link }}{% endif %}", "every invitee"),
        ("Welcome: https://muster.example.com/invite/sample-token", "every invitee"),
    ];
    for (body, reason) in refused {
        let problem = problem(put(body).await, 422).await;
        assert_eq!(problem["errors"][0]["field"], "body", "{body}");
        let message = problem["errors"][0]["message"].as_str().unwrap_or_default();
        assert!(message.contains(reason), "{body}: {message}");
    }

    // Passes the check (Alex and Kim both get the link), but not for Bob.
    let saved =
        put("Hi.{% if first_name == \"Bob\" %}{% else %} {{ invite_link }}{% endif %}").await;
    assert_eq!(
        saved.status(),
        200,
        "{}",
        saved.text().await.unwrap_or_default()
    );
    let bob = api
        .post(
            format!("/api/v1/orgs/{org}/invitations"),
            json!({"email": "bob@example.com", "first_name": "Bob", "language": "en", "role": "user"}),
        )
        .await;
    let refused = problem(bob, 409).await;
    assert!(
        refused["detail"]
            .as_str()
            .unwrap_or_default()
            .contains("no invite link"),
        "{refused}"
    );
    let members = json(
        api.get(format!("/api/v1/orgs/{org}/users?q=bob")).await,
        200,
    )
    .await;
    assert_eq!(
        members["items"].as_array().map(Vec::len),
        Some(0),
        "{members}"
    );
    assert_eq!(
        app.worker().run_until_idle().await.expect("jobs"),
        0,
        "no mail queued"
    );
    assert!(muster_test_support::outbox(&app).is_empty());
}

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
            .starts_with("there is no variable `prenom`"),
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
