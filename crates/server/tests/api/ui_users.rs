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
    an_expired_invitation_says_so_and_can_be_sent_again,
    revoking_an_invitation_asks_first,
    a_disabled_member_is_told_so_and_whom_to_ask,
);

/// GETs `path` and follows its redirects, as a browser does.
async fn following(
    app: &TestApp,
    client: &reqwest::Client,
    path: &str,
) -> (u16, muster_test_support::Html) {
    let mut path = path.to_owned();
    for _ in 0..5 {
        let response = client.get(app.url(&path)).send().await.expect("a page");
        if response.status() != 303 {
            let status = response.status().as_u16();
            let text = response.text().await.expect("html");
            return (status, muster_test_support::Html::parse(text));
        }
        path = muster_test_support::ui::location(&response);
    }
    panic!("more than 5 redirects from {path}");
}

/// A disabled member's open session, and a fresh sign-in, meet "Your
/// membership in Acme is disabled" with whom to ask, not "Page not found".
async fn a_disabled_member_is_told_so_and_whom_to_ask(app: TestApp) {
    let (org, owner) = app.create_org("Acme", "ada@example.com").await;
    let bob = app.member(org, "bob@example.com", OrgRole::Creator).await;
    let bob_web = app.form_session("bob@example.com").await;
    let (status, _) = html(&bob_web, app.url(&format!("/orgs/{org}/overview"))).await;
    assert_eq!(status, 200);
    let disabled = app
        .api(&app.token(owner).await)
        .post(
            format!("/api/v1/orgs/{org}/users/{bob}/disable"),
            serde_json::json!({}),
        )
        .await;
    assert_eq!(disabled.status(), 200);

    let check = |page: &muster_test_support::Html| {
        assert!(
            page.mentions("Your membership in Acme is disabled")
                && page.mentions("ada@example.com"),
            "{page}"
        );
        assert!(!page.mentions("keep working"), "{page}");
        assert_eq!(page.attr("#open-profile", "href").as_deref(), Some("/me"));
    };
    let (status, page) = following(&app, &bob_web, &format!("/orgs/{org}/overview")).await;
    assert_eq!(status, 403);
    check(&page);
    let fresh = app.form_session("bob@example.com").await;
    let (status, page) = following(&app, &fresh, "/").await;
    assert_eq!(status, 403);
    check(&page);
    // A stranger still finds nothing there.
    app.create_org("Globex", "cy@example.com").await;
    let cy = app.form_session("cy@example.com").await;
    let (status, _) = html(&cy, app.url(&format!("/orgs/{org}/overview"))).await;
    assert_eq!(status, 404);
}

/// A pending invitation reads "Pending until …"; once its time passed,
/// "Expired on …" with the resend action; once accepted, "Accepted".
async fn an_expired_invitation_says_so_and_can_be_sent_again(app: TestApp) {
    let (org, owner) = app.create_org("Acme", "ada@example.com").await;
    let token = app.token(owner).await;
    let invited = app
        .api(&token)
        .post(
            format!("/api/v1/orgs/{org}/invitations"),
            serde_json::json!({"email": "bob@example.com", "first_name": "Bob", "last_name": "B"}),
        )
        .await;
    assert_eq!(invited.status(), 201);
    let body: serde_json::Value = invited.json().await.expect("the invitation");
    let bob = body["user_id"].as_str().expect("a user id").to_owned();
    let detail = format!("/orgs/{org}/users/{bob}");
    let client = app.form_session("ada@example.com").await;
    let (_, page) = html(&client, app.url(&detail)).await;
    assert!(
        page.text_of("#invitation-state")
            .starts_with("Pending until "),
        "{}",
        page.text_of("#invitation-state")
    );

    app.clock.advance(Duration::days(400));
    let client = app.form_session("ada@example.com").await;
    let (_, page) = html(&client, app.url(&detail)).await;
    let state = page.text_of("#invitation-state");
    assert!(state.starts_with("Expired on "), "{state}");
    assert!(!state.contains("until"), "{state}");
    assert!(page.has("#resend-invite"), "the way out is offered");
    let csrf = csrf_field(&page);
    let (status, _) = post(
        &client,
        app.url(&format!("{detail}/reinvite")),
        &[("csrf_token", &csrf), ("language", "en")],
    )
    .await;
    assert_eq!(status, 303);
    let (_, page) = html(&client, app.url(&detail)).await;
    assert!(
        page.text_of("#invitation-state")
            .starts_with("Pending until "),
        "{}: {}",
        page.text_of("#invitation-state"),
        page.text_of("#error")
    );

    app.worker().run_until_idle().await.expect("jobs");
    let link = outbox(&app)
        .iter()
        .rev()
        .find_map(|m| invite_link(m))
        .expect("the new link");
    let path = &link[link.find("/invite/").unwrap_or(0)..];
    let token = path.trim_start_matches("/invite/");
    let accepted = app
        .client()
        .post(app.url(&format!("/api/v1/invitations/{token}/accept")))
        .json(&serde_json::json!({"first_name": "Bob", "last_name": "B", "password": "a long enough password"}))
        .send()
        .await
        .expect("accept");
    assert_eq!(accepted.status(), 200);
    let (_, page) = html(&client, app.url(&detail)).await;
    let state = page.text_of("#invitation-state");
    assert!(state.starts_with("Accepted"), "{state}");
}

/// Revoking an invitation asks first; confirmed, the person is removed.
async fn revoking_an_invitation_asks_first(app: TestApp) {
    let (org, owner) = app.create_org("Acme", "ada@example.com").await;
    let token = app.token(owner).await;
    let invited: serde_json::Value = app
        .api(&token)
        .post(
            format!("/api/v1/orgs/{org}/invitations"),
            serde_json::json!({"email": "bob@example.com", "first_name": "Bob", "last_name": "B"}),
        )
        .await
        .json()
        .await
        .expect("the invitation");
    let bob = invited["user_id"].as_str().expect("a user id").to_owned();
    let detail = format!("/orgs/{org}/users/{bob}");
    let client = app.form_session("ada@example.com").await;
    let (_, page) = html(&client, app.url(&detail)).await;
    assert!(page.has("#confirm-revoke"), "a box to tick");
    let csrf = csrf_field(&page);
    let (_, back) = post(
        &client,
        app.url(&format!("{detail}/revoke")),
        &[("csrf_token", &csrf)],
    )
    .await;
    let (status, page) = html(&client, app.url(&back)).await;
    assert_eq!(status, 200, "still there");
    assert!(page.text_of("#error").contains("tick the box"), "{page}");
    let (_, to) = post(
        &client,
        app.url(&format!("{detail}/revoke")),
        &[("csrf_token", &csrf), ("confirm", "yes")],
    )
    .await;
    assert!(to.ends_with("/users?notice=removed"), "{to}");
    assert_eq!(html(&client, app.url(&detail)).await.0, 404);
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

    // A failed save of a saved template keeps its heading and names the
    // unknown variable.
    let de_url = app.url(&format!("/orgs/{org}/settings/invites/de"));
    let (status, broken) = submit(
        &client,
        &de_url,
        &[
            ("csrf_token", csrf.as_str()),
            ("subject", "Hallo {{ vorname }}"),
            ("body", "Hallo {{ first_name }}: {{ invite_link }}"),
            ("action", "save"),
        ],
    )
    .await;
    assert_eq!(status, 422);
    assert_eq!(broken.text_of("main h1"), "Invite template (de)");
    let error = broken.text_of("#subject-error");
    assert!(
        error.contains("`vorname`") && error.contains("first_name"),
        "{error}"
    );

    // Deleting asks first: without the box ticked the template stays.
    let delete = |confirm: &'static str| {
        [
            ("csrf_token", csrf.as_str()),
            ("subject", "Willkommen bei {{ organization }}"),
            ("body", "Hallo {{ first_name }}: {{ invite_link }}"),
            ("action", "delete"),
            ("confirm_delete", confirm),
        ]
    };
    let (status, asked) = submit(&client, &de_url, &delete("")).await;
    assert_eq!(status, 422);
    assert!(
        asked
            .text_of("#confirm_delete-error")
            .contains("tick the box"),
        "{asked}"
    );
    let (_, page) = html(&client, app.url(&format!("/orgs/{org}/settings"))).await;
    assert!(page
        .rows("h2#invites ~ table tbody tr")
        .iter()
        .any(|c| c[0] == "de"));
    let (status, _) = post(&client, &de_url, &delete("yes")).await;
    assert_eq!(status, 303);
    let (_, page) = html(&client, app.url(&format!("/orgs/{org}/settings"))).await;
    assert!(!page
        .rows("h2#invites ~ table tbody tr")
        .iter()
        .any(|c| c[0] == "de"));
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
    // The message comes with the page, not in the address.
    assert!(!location.contains("error="), "{location}");
    let (_, refused) = html(&client, app.url(&location)).await;
    assert!(!refused.text_of("#error").is_empty(), "{refused}");
    let (_, again) = html(&client, app.url(&location)).await;
    assert!(!again.has("#error"), "shown once");
    let (_, location) = post(
        &client,
        app.url(&format!("/orgs/{org}/users/{user}/remove")),
        &[("csrf_token", &csrf)],
    )
    .await;
    let (_, refused) = html(&client, app.url(&location)).await;
    assert!(
        refused.text_of("#error").contains("confirm"),
        "a removal needs the confirmation box: {refused}"
    );
}
