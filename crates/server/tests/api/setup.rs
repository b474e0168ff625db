use muster_server::startup::setup_link;
use muster_test_support::ui::{page, post, submit};
use muster_test_support::{csrf_field, db_tests, TestApp};

db_tests!(the_setup_link_creates_the_first_organization_once);

async fn the_setup_link_creates_the_first_organization_once(app: TestApp) {
    let link = setup_link(&app.state)
        .await
        .expect("a link")
        .expect("no organization yet");
    let path = link
        .strip_prefix(&app.base)
        .expect("a link to this server")
        .to_owned();
    assert!(path.starts_with("/setup/"));
    let client = app.client();
    let (status, form) = page(&client, app.url(&path)).await;
    assert_eq!(status, 200);
    assert_eq!(form.text_of("h1"), "Set up Muster");
    let csrf = csrf_field(&form);

    // Without the form token the post is refused.
    let (status, _) = post(
        &client,
        app.url(&path),
        &[("csrf_token", "forged"), ("org_name", "Acme")],
    )
    .await;
    assert_eq!(status, 403);

    // Invalid fields are shown next to the fields, and what was typed is kept.
    let (status, invalid) = submit(
        &client,
        app.url(&path),
        &[
            ("csrf_token", &csrf),
            ("org_name", "Acme"),
            ("first_name", "Ada"),
            ("last_name", "Lovelace"),
            ("email", "not-an-email"),
            ("password", "short"),
        ],
    )
    .await;
    assert_eq!(status, 422);
    let error = |field: &str| {
        invalid
            .field_error(field)
            .unwrap_or_else(|| panic!("an error next to {field}: {invalid}"))
    };
    assert!(
        error("email").contains("enter an email address like name@example.com"),
        "{invalid}"
    );
    assert!(
        error("password").contains("use at least 10 characters"),
        "{invalid}"
    );
    assert_eq!(
        invalid.attr("input[name=last_name]", "value").as_deref(),
        Some("Lovelace")
    );

    let (status, target) = post(
        &client,
        app.url(&path),
        &[
            ("csrf_token", &csrf),
            ("org_name", "Acme"),
            ("first_name", "Ada"),
            ("last_name", "Lovelace"),
            ("email", "ada@example.com"),
            ("password", "a long enough password"),
        ],
    )
    .await;
    assert_eq!(status, 303);
    assert!(
        target.starts_with("/orgs/") && target.ends_with("/overview"),
        "{target}"
    );
    let (status, overview) = page(&client, app.url(&target)).await;
    assert_eq!(status, 200);
    assert_eq!(overview.text_of("nav.sidebar .org-name"), "Acme");
    assert_eq!(overview.text_of(".user-menu .user-name"), "Ada Lovelace");

    // Used once: the link now explains itself and creates nothing.
    let (status, again) = page(&client, app.url(&path)).await;
    assert_eq!(status, 404);
    assert_eq!(again.text_of("h1"), "This setup link is no longer valid");
    assert!(
        setup_link(&app.state).await.expect("query").is_none(),
        "no new link once an organization exists"
    );
    // The organization's audit log starts with its creation by its first owner.
    let org = target
        .trim_start_matches("/orgs/")
        .trim_end_matches("/overview");
    let audit: serde_json::Value = client
        .get(app.url(&format!("/api/v1/orgs/{org}/audit")))
        .send()
        .await
        .expect("the audit log")
        .json()
        .await
        .expect("JSON");
    let first = &audit["items"][0];
    assert_eq!(
        (first["action"].as_str(), first["actor"].as_str()),
        (Some("organization.created"), Some("ada@example.com")),
        "{audit}"
    );
    assert_eq!(first["target"], "Acme");
}
