//! A new email for one's account: asked for with the password, in effect once
//! the link mailed to the new address is used (API on both databases, and the
//! pages as a browser without JavaScript uses them).

use crate::{json, problem};
use muster_test_support::ui::{csrf_field, page, post, submit};
use muster_test_support::{db_tests, link_in, outbox, TestApp, PASSWORD};
use serde_json::json;

db_tests!(
    a_new_email_takes_effect_once_the_new_address_confirms,
    the_email_form_and_the_confirmation_page_work_without_javascript,
);

/// The newest mail to `to` whose subject is `subject`, its soft line breaks
/// (quoted-printable) undone.
fn mail_to(app: &TestApp, to: &str, subject: &str) -> Option<String> {
    outbox(app)
        .into_iter()
        .rev()
        .find(|m| m.contains(&format!("To: {to}")) && m.contains(subject))
        .map(|m| m.replace("=\r\n", "").replace("=\n", ""))
}

/// The path of the newest confirmation link mailed to `to`.
fn confirm_path(app: &TestApp, to: &str) -> String {
    let mail = mail_to(app, to, "Confirm your new email for Muster")
        .unwrap_or_else(|| panic!("a confirmation mail to {to}"));
    let link = link_in(&mail, "/email-confirm/").expect("a link in the mail");
    link[link.find("/email-confirm/").unwrap_or(0)..].to_owned()
}

async fn login_status(app: &TestApp, email: &str) -> u16 {
    app.client()
        .post(app.url("/api/v1/auth/login"))
        .json(&json!({"email": email, "password": PASSWORD}))
        .send()
        .await
        .expect("login")
        .status()
        .as_u16()
}

async fn confirm(app: &TestApp, path: &str) -> reqwest::Response {
    let token = path.trim_start_matches("/email-confirm/");
    app.client()
        .post(app.url(&format!("/api/v1/auth/email-confirm/{token}")))
        .send()
        .await
        .expect("a confirmation")
}

async fn a_new_email_takes_effect_once_the_new_address_confirms(app: TestApp) {
    let (org, ada) = app.create_org("Acme", "ada@example.com").await;
    app.create_org("Other", "bob@example.com").await;
    let token = app.token(ada).await;
    let api = app.api(&token);
    let ask = |email: &str, password: &str| {
        api.post(
            "/api/v1/me/email",
            json!({"email": email, "password": password}),
        )
    };

    let solution = json(
        api.post(
            format!("/api/v1/orgs/{org}/solutions"),
            json!({"name": "Field app"}),
        )
        .await,
        201,
    )
    .await;
    let sol = solution["id"].as_str().expect("an id").to_owned();
    // Ada made it, so she is on its users list (as its owner).
    let taken = problem(ask("Bob@Example.com", PASSWORD).await, 409).await;
    assert!(taken["detail"]
        .as_str()
        .unwrap_or_default()
        .contains("another account"));
    let wrong = problem(ask("ada.new@example.com", "not my password").await, 422).await;
    assert_eq!(wrong["errors"][0]["field"], "password", "{wrong}");
    let bad = problem(ask("not an email", PASSWORD).await, 422).await;
    assert_eq!(bad["errors"][0]["field"], "email", "{bad}");
    let same = problem(ask("ada@example.com", PASSWORD).await, 422).await;
    assert_eq!(same["errors"][0]["field"], "email", "{same}");

    assert_eq!(
        ask("ada.old.idea@example.com", PASSWORD).await.status(),
        202
    );
    assert_eq!(ask("ada.new@example.com", PASSWORD).await.status(), 202);
    app.worker().run_until_idle().await.expect("jobs");
    let replaced = confirm_path(&app, "ada.old.idea@example.com");
    let link = confirm_path(&app, "ada.new@example.com");
    assert!(
        mail_to(
            &app,
            "ada@example.com",
            "Your Muster email is about to change"
        )
        .is_some_and(|m| m.contains("ada.new@example.com")),
        "the current address is told"
    );
    // Nothing changes before the new address confirms.
    assert_eq!(login_status(&app, "ada@example.com").await, 200);
    assert_eq!(login_status(&app, "ada.new@example.com").await, 401);
    let me = json(api.get("/api/v1/me").await, 200).await;
    assert_eq!(me["email"], "ada@example.com");

    // The newer request replaced the older one's link.
    problem(confirm(&app, &replaced).await, 410).await;
    let confirmed = json(confirm(&app, &link).await, 200).await;
    assert_eq!(confirmed["email"], "ada.new@example.com");
    problem(confirm(&app, &link).await, 410).await;

    let me = json(api.get("/api/v1/me").await, 200).await;
    assert_eq!(me["email"], "ada.new@example.com");
    assert_eq!(login_status(&app, "ada.new@example.com").await, 200);
    assert_eq!(login_status(&app, "ada@example.com").await, 401);
    app.worker().run_until_idle().await.expect("jobs");
    assert!(
        mail_to(&app, "ada@example.com", "Your Muster email was changed").is_some(),
        "the old address is told it is no longer used"
    );
    // Member lists, their search and solutions' user lists know the new address.
    let found = json(
        api.get(format!("/api/v1/orgs/{org}/users?q=ada.new")).await,
        200,
    )
    .await;
    assert_eq!(found["items"][0]["email"], "ada.new@example.com", "{found}");
    let users = json(
        api.get(format!("/api/v1/orgs/{org}/solutions/{sol}/users"))
            .await,
        200,
    )
    .await;
    assert_eq!(users["items"][0]["email"], "ada.new@example.com", "{users}");
    let audit = json(
        api.get(format!(
            "/api/v1/orgs/{org}/audit?action=account.email_changed"
        ))
        .await,
        200,
    )
    .await;
    assert_eq!(
        audit["items"][0]["after"],
        json!({"from": "ada@example.com", "to": "ada.new@example.com"}),
        "{audit}"
    );

    // An address taken between the request and the confirmation: 409, and
    // the link stays unused.
    assert_eq!(ask("cy@example.com", PASSWORD).await.status(), 202);
    app.worker().run_until_idle().await.expect("jobs");
    let link = confirm_path(&app, "cy@example.com");
    app.create_user("cy@example.com").await;
    problem(confirm(&app, &link).await, 409).await;
    problem(confirm(&app, &link).await, 409).await;
    let me = json(api.get("/api/v1/me").await, 200).await;
    assert_eq!(me["email"], "ada.new@example.com");
}

async fn the_email_form_and_the_confirmation_page_work_without_javascript(app: TestApp) {
    app.create_org("Acme", "ada@example.com").await;
    let client = app.form_session("ada@example.com").await;
    let (_, security) = page(&client, app.url("/me/security")).await;
    assert_eq!(security.text_of("#current-email"), "ada@example.com");
    let csrf = csrf_field(&security);

    let (status, refused) = submit(
        &client,
        app.url("/me/email"),
        &[
            ("csrf_token", &csrf),
            ("email", "ada.new@example.com"),
            ("password", "nope"),
        ],
    )
    .await;
    assert_eq!(status, 422);
    assert_eq!(
        refused.field_error("password").as_deref(),
        Some("this is not your password")
    );
    assert_eq!(
        refused.attr("input[name=email]", "value").as_deref(),
        Some("ada.new@example.com"),
        "what was typed is kept"
    );
    let (status, _) = post(
        &client,
        app.url("/me/email"),
        &[
            ("csrf_token", "forged"),
            ("email", "x@example.com"),
            ("password", PASSWORD),
        ],
    )
    .await;
    assert_eq!(status, 403);

    let (status, to) = post(
        &client,
        app.url("/me/email"),
        &[
            ("csrf_token", &csrf),
            ("email", "ada.new@example.com"),
            ("password", PASSWORD),
        ],
    )
    .await;
    assert_eq!((status, to.as_str()), (303, "/me/security"));
    let (_, after) = page(&client, app.url("/me/security")).await;
    assert!(
        after
            .text_of("#security-notice")
            .contains("We mailed a link to ada.new@example.com"),
        "{after}"
    );
    app.worker().run_until_idle().await.expect("jobs");

    // The link opens a page that asks first (a mail scanner changes nothing).
    let path = confirm_path(&app, "ada.new@example.com");
    let browser = app.client();
    let (status, confirm_page) = page(&browser, app.url(&path)).await;
    assert_eq!(status, 200);
    assert_eq!(confirm_page.text_of("#new-email"), "ada.new@example.com");
    let (status, done) = submit(
        &browser,
        app.url(&path),
        &[("csrf_token", &csrf_field(&confirm_page))],
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(done.text_of("h1"), "Email changed");
    let (status, gone) = page(&browser, app.url(&path)).await;
    assert_eq!(status, 410);
    assert_eq!(gone.text_of("h1"), "This confirmation link cannot be used");
    let (_, security) = page(&client, app.url("/me/security")).await;
    assert_eq!(security.text_of("#current-email"), "ada.new@example.com");
}
