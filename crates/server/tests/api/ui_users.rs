//! The Users area, settings and audit pages through plain HTTP (forms, no
//! JavaScript), on both databases.

use muster_domain::OrgRole;
use muster_test_support::ui::{page as html, post, submit};
use muster_test_support::{csrf_field, db_tests, invite_link, outbox, TestApp};
use time::Duration;

db_tests!(
    the_users_page_filters_and_pages_in_the_url,
    invite_links_explain_themselves_and_existing_users_join_after_signing_in,
    settings_and_templates_show_errors_next_to_fields,
    the_audit_page_and_the_error_report,
    admins_do_not_get_owner_actions,
);

async fn the_users_page_filters_and_pages_in_the_url(app: TestApp) {
    let (org, _) = app.create_org("Acme", "ada@example.com").await;
    for n in 0..55 {
        app.member(
            org,
            &format!("m{n:02}@example.com"),
            if n % 2 == 0 {
                OrgRole::User
            } else {
                OrgRole::Creator
            },
        )
        .await;
    }
    let client = app.form_session("ada@example.com").await;
    let (status, page) = html(&client, app.url(&format!("/orgs/{org}/users"))).await;
    assert_eq!(status, 200);
    let rows = "table.members tbody tr[data-email]";
    assert_eq!(page.count(rows), 50);
    let next = page
        .attr("nav.pager a#next-page", "href")
        .expect("a next-page link");
    assert!(next.contains("cursor="), "{next}");
    let (_, second) = html(&client, app.url(&next)).await;
    assert_eq!(second.count(rows), 6);
    let (_, creators) = html(
        &client,
        app.url(&format!("/orgs/{org}/users?role=creator&q=m1")),
    )
    .await;
    // m11, m13, m15, m17, m19
    assert_eq!(creators.count(rows), 5, "{creators}");
    assert_eq!(
        creators
            .attr("form.filters input[name=q]", "value")
            .as_deref(),
        Some("m1"),
        "the search stays in the form"
    );
    let (_, bad) = html(&client, app.url(&format!("/orgs/{org}/users?role=boss"))).await;
    assert!(
        bad.select("p.form-error[role=alert]")
            .iter()
            .any(|e| e.starts_with("Filter ignored")),
        "{bad}"
    );
}

async fn invite_links_explain_themselves_and_existing_users_join_after_signing_in(app: TestApp) {
    let (org, _) = app.create_org("Acme", "ada@example.com").await;
    app.create_org("Globex", "grace@example.com").await;
    let admin = app.form_session("ada@example.com").await;
    let (_, page) = html(&admin, app.url(&format!("/orgs/{org}/users/invite"))).await;
    let csrf = csrf_field(&page);
    for email in ["grace@example.com", "late@example.com"] {
        let (status, _) = post(
            &admin,
            app.url(&format!("/orgs/{org}/users/invite")),
            &[
                ("csrf_token", &csrf),
                ("email", email),
                ("role", "creator"),
                ("language", "en"),
            ],
        )
        .await;
        assert_eq!(status, 303);
    }
    // Inviting a member again says why not, next to the form.
    let (status, again) = submit(
        &admin,
        app.url(&format!("/orgs/{org}/users/invite")),
        &[
            ("csrf_token", &csrf),
            ("email", "grace@example.com"),
            ("role", "user"),
        ],
    )
    .await;
    assert_eq!(status, 409);
    assert_eq!(
        again.text_of("#form-error"),
        "grace@example.com is already in this organization (status: invited)"
    );
    app.worker().run_until_idle().await.expect("jobs");
    let link_for = |email: &str| {
        outbox(&app)
            .into_iter()
            .find(|m| m.contains(&format!("To: {email}")))
            .and_then(|m| invite_link(&m))
            .expect("a link")
    };
    let path = link_for("grace@example.com").replace(&app.base, "");
    let anonymous = app.client();
    let (status, page) = html(&anonymous, app.url(&path)).await;
    assert_eq!(status, 200);
    assert_eq!(
        page.text_of("a#sign-in-to-accept"),
        "Sign in as grace@example.com"
    );
    let grace = app.form_session("grace@example.com").await;
    let (_, page) = html(&grace, app.url(&path)).await;
    assert_eq!(page.text_of("button#accept-invite"), "Join Acme");
    let (status, _) = post(
        &grace,
        app.url(&path),
        &[("csrf_token", &csrf_field(&page))],
    )
    .await;
    assert_eq!(status, 303);
    let (status, page) = html(&grace, app.url(&path)).await;
    assert_eq!(status, 410);
    assert!(
        page.text_of("main.card h1 + p")
            .contains("already been accepted"),
        "{page}"
    );
    app.clock.advance(Duration::days(8));
    let late = link_for("late@example.com").replace(&app.base, "");
    let (status, page) = html(&anonymous, app.url(&late)).await;
    assert_eq!(status, 410);
    assert!(
        page.text_of("main.card h1 + p").contains("expired"),
        "{page}"
    );
    let (status, _) = html(&anonymous, app.url("/invite/nonsense")).await;
    assert_eq!(status, 404);
}

async fn settings_and_templates_show_errors_next_to_fields(app: TestApp) {
    let (org, _) = app.create_org("Acme", "ada@example.com").await;
    let client = app.form_session("ada@example.com").await;
    let (_, page) = html(&client, app.url(&format!("/orgs/{org}/settings"))).await;
    assert_eq!(page.text_of("code#org-id"), org.to_string());
    assert_eq!(
        page.attr("code#org-id + button", "data-copy"),
        Some(org.to_string()),
        "the organization id with a copy button"
    );
    let csrf = csrf_field(&page);
    let settings_url = app.url(&format!("/orgs/{org}/settings"));
    let form = |lifetime: &'static str| {
        [
            ("csrf_token", csrf.as_str()),
            ("name", "Acme Field"),
            ("description", ""),
            ("public_url", ""),
            ("default_language", "en"),
            ("invite_lifetime_days", lifetime),
            ("log_retention_days", "30"),
            ("logging_level", "info"),
        ]
    };
    let (status, bad) = submit(&client, &settings_url, &form("45")).await;
    assert_eq!(status, 422);
    let error = bad
        .field_error("invite_lifetime_days")
        .expect("an error next to the invite lifetime");
    assert!(error.starts_with("between 1 and 30 days"), "{error}");
    assert_eq!(bad.text_of("#invite_lifetime_days-error"), error);
    let (status, _) = post(&client, &settings_url, &form("14")).await;
    assert_eq!(status, 303);
    let (_, page) = html(&client, app.url(&format!("/orgs/{org}/settings"))).await;
    let settings = format!("form[action=\"/orgs/{org}/settings\"]");
    assert_eq!(
        page.attr(&format!("{settings} input[name=name]"), "value")
            .as_deref(),
        Some("Acme Field")
    );
    assert_eq!(
        page.attr(
            &format!("{settings} input[name=invite_lifetime_days]"),
            "value"
        )
        .as_deref(),
        Some("14")
    );

    let (_, editor) = html(
        &client,
        app.url(&format!("/orgs/{org}/settings/invites/new?language=de")),
    )
    .await;
    assert!(
        !editor.text_of("pre#preview").is_empty(),
        "a preview of the default text"
    );
    let template_url = app.url(&format!("/orgs/{org}/settings/invites/new"));
    let template = |action: &'static str, subject: &'static str| {
        [
            ("csrf_token", csrf.as_str()),
            ("language", "de"),
            ("subject", subject),
            ("body", "Hallo {{ first_name }}: {{ invite_link }}"),
            ("action", action),
        ]
    };
    let (_, preview) = submit(
        &client,
        &template_url,
        &template("preview", "Willkommen bei {{ organization }}"),
    )
    .await;
    assert!(
        preview
            .text_of("pre#preview")
            .starts_with("Subject: Willkommen bei Acme Field"),
        "{preview}"
    );
    let (status, broken) = submit(
        &client,
        &template_url,
        &template("save", "Hallo {{ vorname }}"),
    )
    .await;
    assert_eq!(status, 422);
    let error = broken
        .field_error("subject")
        .expect("an error next to the subject");
    assert_eq!(broken.text_of("#subject-error"), error);
    let (status, _) = post(
        &client,
        &template_url,
        &template("save", "Willkommen bei {{ organization }}"),
    )
    .await;
    assert_eq!(status, 303);
    let (_, page) = html(&client, app.url(&format!("/orgs/{org}/settings"))).await;
    let templates = page.rows("h2#invites ~ table tbody tr");
    assert!(
        templates
            .iter()
            .any(|cells| cells[0] == "de" && cells[1] == "Willkommen bei {{ organization }}"),
        "{templates:?}"
    );
}

async fn the_audit_page_and_the_error_report(app: TestApp) {
    let (org, owner) = app.create_org("Acme", "ada@example.com").await;
    let token = app.token(owner).await;
    let accepted: serde_json::Value = reqwest::Client::new()
        .post(app.url(&format!("/api/v1/orgs/{org}/invitations/bulk")))
        .bearer_auth(&token)
        .header("content-type", "text/csv")
        .body("email,role\nok@example.com,user\nbad,user\n")
        .send()
        .await
        .expect("upload")
        .json()
        .await
        .expect("json");
    let job = accepted["job_id"].as_str().expect("a job").to_owned();
    let client = app.form_session("ada@example.com").await;
    let (_, running) = html(&client, app.url(&format!("/orgs/{org}/jobs/{job}"))).await;
    assert!(
        running.has("head noscript meta[http-equiv=refresh]"),
        "refreshes itself without JavaScript"
    );
    app.worker().run_until_idle().await.expect("jobs");
    let (_, done) = html(&client, app.url(&format!("/orgs/{org}/jobs/{job}"))).await;
    assert!(!done.has("meta[http-equiv=refresh]"), "{done}");
    assert!(
        done.text_of("#error-summary")
            .starts_with("1 rows were skipped"),
        "{done}"
    );
    let csv = client
        .get(app.url(&format!("/orgs/{org}/jobs/{job}/errors.csv")))
        .send()
        .await
        .expect("csv");
    assert_eq!(csv.headers()["content-type"], "text/csv; charset=utf-8");
    let csv = csv.text().await.expect("csv");
    assert!(csv.starts_with("row,email,message\n3,bad,"), "{csv}");
    let (status, audit) = html(
        &client,
        app.url(&format!("/orgs/{org}/audit?action=invitation.")),
    )
    .await;
    assert_eq!(status, 200);
    let events = audit.rows("table#audit tbody tr");
    let action = |row: &Vec<String>| row[2].clone();
    assert!(
        events.iter().any(|row| action(row) == "invitation.created"
            && row.iter().any(|cell| cell.contains("ok@example.com"))),
        "{events:?}"
    );
    assert!(
        events
            .iter()
            .any(|row| action(row) == "invitation.bulk_started"),
        "{events:?}"
    );
    let (_, filtered) = html(
        &client,
        app.url(&format!("/orgs/{org}/audit?actor=nobody@example.com")),
    )
    .await;
    assert!(
        filtered
            .text_of("table#audit td.muted")
            .starts_with("Nothing recorded"),
        "{filtered}"
    );
}

async fn admins_do_not_get_owner_actions(app: TestApp) {
    let (org, owner) = app.create_org("Acme", "ada@example.com").await;
    app.member(org, "admin@example.com", OrgRole::Admin).await;
    let user = app.member(org, "user@example.com", OrgRole::User).await;
    let client = app.form_session("admin@example.com").await;
    let (_, owner_page) = html(&client, app.url(&format!("/orgs/{org}/users/{owner}"))).await;
    assert!(
        !owner_page.has("#disable-user") && !owner_page.has("#change-role"),
        "{owner_page}"
    );
    let (_, user_page) = html(&client, app.url(&format!("/orgs/{org}/users/{user}"))).await;
    assert!(
        user_page.has("#disable-user") && user_page.has("#change-role"),
        "{user_page}"
    );
    assert!(!user_page.has("[value=owner]"), "admins cannot grant owner");
    // Forcing it through the form is refused with a message, and nothing changes.
    let csrf = csrf_field(&user_page);
    let (_, location) = post(
        &client,
        app.url(&format!("/orgs/{org}/users/{owner}/disable")),
        &[("csrf_token", &csrf)],
    )
    .await;
    assert!(location.contains("error="), "{location}");
    let (_, location) = post(
        &client,
        app.url(&format!("/orgs/{org}/users/{user}/remove")),
        &[("csrf_token", &csrf)],
    )
    .await;
    assert!(
        location.contains("confirm"),
        "a removal needs the confirmation box: {location}"
    );
}
