//! The Users area, settings and audit pages through plain HTTP (forms, no
//! JavaScript), on both databases.

use muster_domain::OrgRole;
use muster_test_support::{csrf_field, db_tests, invite_link, outbox, TestApp};
use time::Duration;

db_tests!(
    the_users_page_filters_and_pages_in_the_url,
    invite_links_explain_themselves_and_existing_users_join_after_signing_in,
    settings_and_templates_show_errors_next_to_fields,
    the_audit_page_and_the_error_report,
    admins_do_not_get_owner_actions,
);

async fn html(client: &reqwest::Client, url: String) -> (u16, String) {
    let response = client.get(url).send().await.expect("page");
    let status = response.status().as_u16();
    (status, response.text().await.expect("html"))
}

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
    assert_eq!(page.matches("<tr data-email=").count(), 50);
    let next = page
        .split("href=\"")
        .find(|part| part.contains("cursor="))
        .and_then(|p| p.split('"').next())
        .expect("a next-page link");
    // Attribute values are HTML-escaped.
    let next = next.replace("&#x2f;", "/").replace("&amp;", "&");
    let (_, second) = html(&client, app.url(&next)).await;
    assert_eq!(second.matches("<tr data-email=").count(), 6);
    let (_, creators) = html(
        &client,
        app.url(&format!("/orgs/{org}/users?role=creator&q=m1")),
    )
    .await;
    // m11, m13, m15, m17, m19
    assert_eq!(creators.matches("<tr data-email=").count(), 5, "{creators}");
    assert!(
        creators.contains("value=\"m1\""),
        "the search stays in the form"
    );
    let (_, bad) = html(&client, app.url(&format!("/orgs/{org}/users?role=boss"))).await;
    assert!(bad.contains("Filter ignored"));
}

async fn invite_links_explain_themselves_and_existing_users_join_after_signing_in(app: TestApp) {
    let (org, _) = app.create_org("Acme", "ada@example.com").await;
    app.create_org("Globex", "grace@example.com").await;
    let admin = app.form_session("ada@example.com").await;
    let (_, page) = html(&admin, app.url(&format!("/orgs/{org}/users/invite"))).await;
    let csrf = csrf_field(&page);
    for email in ["grace@example.com", "late@example.com"] {
        let sent = admin
            .post(app.url(&format!("/orgs/{org}/users/invite")))
            .form(&[
                ("csrf_token", csrf.as_str()),
                ("email", email),
                ("role", "creator"),
                ("language", "en"),
            ])
            .send()
            .await
            .expect("invite");
        assert_eq!(sent.status(), 303);
    }
    // Inviting a member again says why not, next to the form.
    let again = admin
        .post(app.url(&format!("/orgs/{org}/users/invite")))
        .form(&[
            ("csrf_token", csrf.as_str()),
            ("email", "grace@example.com"),
            ("role", "user"),
        ])
        .send()
        .await
        .expect("invite");
    assert_eq!(again.status(), 409);
    assert!(again
        .text()
        .await
        .expect("html")
        .contains("already in this organization (status: invited)"));
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
    assert!(page.contains("Sign in as grace@example.com"), "{page}");
    let grace = app.form_session("grace@example.com").await;
    let (_, page) = html(&grace, app.url(&path)).await;
    assert!(page.contains("Join Acme"));
    let joined = grace
        .post(app.url(&path))
        .form(&[("csrf_token", csrf_field(&page).as_str())])
        .send()
        .await
        .expect("join");
    assert_eq!(joined.status(), 303);
    let (status, page) = html(&grace, app.url(&path)).await;
    assert_eq!(status, 410);
    assert!(page.contains("already been accepted"));
    app.clock.advance(Duration::days(8));
    let late = link_for("late@example.com").replace(&app.base, "");
    let (status, page) = html(&anonymous, app.url(&late)).await;
    assert_eq!(status, 410);
    assert!(page.contains("expired"));
    let (status, _) = html(&anonymous, app.url("/invite/nonsense")).await;
    assert_eq!(status, 404);
}

async fn settings_and_templates_show_errors_next_to_fields(app: TestApp) {
    let (org, _) = app.create_org("Acme", "ada@example.com").await;
    let client = app.form_session("ada@example.com").await;
    let (_, page) = html(&client, app.url(&format!("/orgs/{org}/settings"))).await;
    assert!(
        page.contains(&org.to_string()) && page.contains("data-copy"),
        "the organization id with a copy button"
    );
    let csrf = csrf_field(&page);
    let form = |lifetime: &'static str| {
        vec![
            ("csrf_token", csrf.clone()),
            ("name", "Acme Field".into()),
            ("description", String::new()),
            ("public_url", String::new()),
            ("default_language", "en".into()),
            ("invite_lifetime_days", lifetime.into()),
            ("log_retention_days", "30".into()),
            ("logging_level", "info".into()),
        ]
    };
    let bad = client
        .post(app.url(&format!("/orgs/{org}/settings")))
        .form(&form("45"))
        .send()
        .await
        .expect("save");
    assert_eq!(bad.status(), 422);
    assert!(bad
        .text()
        .await
        .expect("html")
        .contains("id=\"invite_lifetime_days-error\">between 1 and 30 days"));
    let good = client
        .post(app.url(&format!("/orgs/{org}/settings")))
        .form(&form("14"))
        .send()
        .await
        .expect("save");
    assert_eq!(good.status(), 303);
    let (_, page) = html(&client, app.url(&format!("/orgs/{org}/settings"))).await;
    assert!(page.contains("value=\"Acme Field\"") && page.contains("value=\"14\""));

    let (_, editor) = html(
        &client,
        app.url(&format!("/orgs/{org}/settings/invites/new?language=de")),
    )
    .await;
    assert!(
        editor.contains("id=\"preview\""),
        "a preview of the default text"
    );
    let submit = |action: &'static str, subject: &'static str| {
        client
            .post(app.url(&format!("/orgs/{org}/settings/invites/new")))
            .form(&[
                ("csrf_token", csrf.as_str()),
                ("language", "de"),
                ("subject", subject),
                ("body", "Hallo {{ first_name }}: {{ invite_link }}"),
                ("action", action),
            ])
            .send()
    };
    let preview = submit("preview", "Willkommen bei {{ organization }}")
        .await
        .expect("preview");
    assert!(preview
        .text()
        .await
        .expect("html")
        .contains("Subject: Willkommen bei Acme Field"));
    let broken = submit("save", "Hallo {{ vorname }}").await.expect("save");
    assert_eq!(broken.status(), 422);
    assert!(broken
        .text()
        .await
        .expect("html")
        .contains("id=\"subject-error\""));
    let saved = submit("save", "Willkommen bei {{ organization }}")
        .await
        .expect("save");
    assert_eq!(saved.status(), 303);
    let (_, page) = html(&client, app.url(&format!("/orgs/{org}/settings"))).await;
    assert!(page.contains("Willkommen bei {{ organization }}"));
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
        running.contains("http-equiv=\"refresh\""),
        "refreshes itself without JavaScript"
    );
    app.worker().run_until_idle().await.expect("jobs");
    let (_, done) = html(&client, app.url(&format!("/orgs/{org}/jobs/{job}"))).await;
    assert!(!done.contains("http-equiv=\"refresh\""));
    assert!(done.contains("1 rows were skipped"));
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
    assert!(
        audit.contains("invitation.created")
            && audit.contains("ok@example.com")
            && audit.contains("invitation.bulk_started")
    );
    let (_, filtered) = html(
        &client,
        app.url(&format!("/orgs/{org}/audit?actor=nobody@example.com")),
    )
    .await;
    assert!(filtered.contains("Nothing recorded"));
}

async fn admins_do_not_get_owner_actions(app: TestApp) {
    let (org, owner) = app.create_org("Acme", "ada@example.com").await;
    app.member(org, "admin@example.com", OrgRole::Admin).await;
    let user = app.member(org, "user@example.com", OrgRole::User).await;
    let client = app.form_session("admin@example.com").await;
    let (_, owner_page) = html(&client, app.url(&format!("/orgs/{org}/users/{owner}"))).await;
    assert!(
        !owner_page.contains("id=\"disable-user\"") && !owner_page.contains("id=\"change-role\"")
    );
    let (_, user_page) = html(&client, app.url(&format!("/orgs/{org}/users/{user}"))).await;
    assert!(user_page.contains("id=\"disable-user\"") && user_page.contains("id=\"change-role\""));
    assert!(
        !user_page.contains("value=\"owner\""),
        "admins cannot grant owner"
    );
    // Forcing it through the form is refused with a message, and nothing changes.
    let forced = client
        .post(app.url(&format!("/orgs/{org}/users/{owner}/disable")))
        .form(&[("csrf_token", csrf_field(&user_page).as_str())])
        .send()
        .await
        .expect("disable");
    let location = forced.headers()["location"]
        .to_str()
        .expect("a location")
        .to_owned();
    assert!(location.contains("error="), "{location}");
    let removal = client
        .post(app.url(&format!("/orgs/{org}/users/{user}/remove")))
        .form(&[("csrf_token", csrf_field(&user_page).as_str())])
        .send()
        .await
        .expect("remove");
    assert!(
        removal.headers()["location"]
            .to_str()
            .unwrap_or_default()
            .contains("confirm"),
        "a removal needs the confirmation box"
    );
}
