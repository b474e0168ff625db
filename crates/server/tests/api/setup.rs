use muster_server::startup::setup_link;
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
    let page = client.get(app.url(&path)).send().await.expect("setup page");
    assert_eq!(page.status(), 200);
    let html = page.text().await.expect("html");
    assert!(html.contains("Set up Muster"));
    let csrf = csrf_field(&html);

    // Without the form token the post is refused.
    let forged = client
        .post(app.url(&path))
        .form(&[("csrf_token", "forged"), ("org_name", "Acme")])
        .send()
        .await
        .expect("post");
    assert_eq!(forged.status(), 403);

    // Invalid fields are shown next to the fields, and what was typed is kept.
    let invalid = client
        .post(app.url(&path))
        .form(&[
            ("csrf_token", csrf.as_str()),
            ("org_name", "Acme"),
            ("first_name", "Ada"),
            ("last_name", "Lovelace"),
            ("email", "not-an-email"),
            ("password", "short"),
        ])
        .send()
        .await
        .expect("post");
    assert_eq!(invalid.status(), 422);
    let html = invalid.text().await.expect("html");
    assert!(
        html.contains("enter an email address like name@example.com"),
        "{html}"
    );
    assert!(html.contains("use at least 10 characters"));
    assert!(html.contains("value=\"Lovelace\""));

    let done = client
        .post(app.url(&path))
        .form(&[
            ("csrf_token", csrf.as_str()),
            ("org_name", "Acme"),
            ("first_name", "Ada"),
            ("last_name", "Lovelace"),
            ("email", "ada@example.com"),
            ("password", "a long enough password"),
        ])
        .send()
        .await
        .expect("post");
    assert_eq!(done.status(), 303);
    let target = done.headers()["location"]
        .to_str()
        .expect("a location")
        .to_owned();
    assert!(
        target.starts_with("/orgs/") && target.ends_with("/overview"),
        "{target}"
    );
    let overview = client.get(app.url(&target)).send().await.expect("overview");
    assert_eq!(overview.status(), 200);
    let html = overview.text().await.expect("html");
    assert!(
        html.contains("Acme") && html.contains("Ada Lovelace"),
        "{html}"
    );

    // Used once: the link now explains itself and creates nothing.
    let again = client.get(app.url(&path)).send().await.expect("setup page");
    assert_eq!(again.status(), 404);
    assert!(again
        .text()
        .await
        .expect("html")
        .contains("no longer valid"));
    assert!(
        setup_link(&app.state).await.expect("query").is_none(),
        "no new link once an organization exists"
    );
}
