use muster_domain::OrgRole;
use muster_test_support::{csrf_field, db_tests, TestApp, PASSWORD};

db_tests!(
    pages_need_a_session_and_send_security_headers,
    signing_in_through_the_form_opens_the_default_organization,
    members_with_only_the_user_role_see_why_they_cannot_enter,
    forms_without_the_session_token_are_refused,
    pages_follow_the_role,
);

async fn pages_need_a_session_and_send_security_headers(app: TestApp) {
    let (org, _) = app.create_org("Acme", "ada@example.com").await;
    let client = app.client();
    let home = client.get(app.url("/")).send().await.expect("home");
    assert_eq!(home.status(), 303);
    assert_eq!(home.headers()["location"], "/signin");
    let deep = client
        .get(app.url(&format!("/orgs/{org}/overview")))
        .send()
        .await
        .expect("overview");
    assert_eq!(
        deep.headers()["location"],
        format!("/signin?next=/orgs/{org}/overview").as_str()
    );
    let page = client
        .get(app.url("/signin"))
        .send()
        .await
        .expect("sign-in page");
    let headers = page.headers();
    let csp = headers["content-security-policy"].to_str().expect("csp");
    assert!(
        csp.contains("script-src 'self'") && !csp.contains("unsafe-inline"),
        "{csp}"
    );
    assert!(csp.contains("frame-ancestors 'none'"));
    assert_eq!(headers["x-content-type-options"], "nosniff");
    assert_eq!(headers["x-frame-options"], "DENY");
    assert!(headers.contains_key("referrer-policy"));
    let html = page.text().await.expect("html");
    assert!(!html.contains("<script>"), "no inline script");
}

async fn signing_in_through_the_form_opens_the_default_organization(app: TestApp) {
    let (org, _) = app.create_org("Acme", "ada@example.com").await;
    let client = app.client();
    let page = client
        .get(app.url("/signin"))
        .send()
        .await
        .expect("sign-in page");
    let csrf = csrf_field(&page.text().await.expect("html"));
    let wrong = client
        .post(app.url("/signin"))
        .form(&[
            ("csrf_token", csrf.as_str()),
            ("email", "ada@example.com"),
            ("password", "wrong"),
        ])
        .send()
        .await
        .expect("sign in");
    assert_eq!(wrong.status(), 401);
    assert!(wrong
        .text()
        .await
        .expect("html")
        .contains("the email or password is not correct"));

    // The same browser signs in with the right password.
    let retry = client
        .post(app.url("/signin"))
        .form(&[
            ("csrf_token", csrf.as_str()),
            ("email", "ada@example.com"),
            ("password", PASSWORD),
        ])
        .send()
        .await
        .expect("sign in");
    assert_eq!(retry.status(), 303);
    let home = client.get(app.url("/")).send().await.expect("home");
    assert_eq!(
        home.headers()["location"],
        format!("/orgs/{org}/overview").as_str()
    );
    let overview = client
        .get(app.url(&format!("/orgs/{org}/overview")))
        .send()
        .await
        .expect("overview");
    let html = overview.text().await.expect("html");
    for nav in [
        "Users",
        "Solutions",
        "Notifications",
        "Usage",
        "Troubleshooting",
        "Organization settings",
        "Audit log",
        "My profile",
        "Logout",
    ] {
        assert!(html.contains(nav), "the layout shows {nav}");
    }
    let solutions = client
        .get(app.url(&format!("/orgs/{org}/solutions")))
        .send()
        .await
        .expect("solutions");
    assert!(solutions
        .text()
        .await
        .expect("html")
        .contains("No solutions yet"));
    let notifications = client
        .get(app.url(&format!("/orgs/{org}/notifications")))
        .send()
        .await
        .expect("notifications");
    assert!(notifications
        .text()
        .await
        .expect("html")
        .contains("This page is not built yet"));
}

async fn members_with_only_the_user_role_see_why_they_cannot_enter(app: TestApp) {
    let (org, _) = app.create_org("Acme", "ada@example.com").await;
    app.member(org, "bob@example.com", OrgRole::User).await;
    let client = app.form_session("bob@example.com").await;
    let home = client.get(app.url("/")).send().await.expect("home");
    assert_eq!(home.headers()["location"], "/no-access");
    let page = client
        .get(app.url("/no-access"))
        .send()
        .await
        .expect("no access");
    assert_eq!(page.status(), 403);
    let html = page.text().await.expect("html");
    assert!(
        html.contains("owners, admins and creators") && html.contains("Acme (User)"),
        "{html}"
    );
    let direct = client
        .get(app.url(&format!("/orgs/{org}/overview")))
        .send()
        .await
        .expect("overview");
    assert_eq!(direct.headers()["location"], "/no-access");
    let profile = client.get(app.url("/me")).send().await.expect("profile");
    assert_eq!(profile.headers()["location"], "/no-access");
}

async fn forms_without_the_session_token_are_refused(app: TestApp) {
    app.create_org("Acme", "ada@example.com").await;
    let client = app.form_session("ada@example.com").await;
    let forged = client
        .post(app.url("/me/theme"))
        .form(&[("csrf_token", "forged"), ("theme", "dark")])
        .send()
        .await
        .expect("theme");
    assert_eq!(forged.status(), 403);
    let page = client.get(app.url("/me")).send().await.expect("profile");
    let html = page.text().await.expect("html");
    assert!(html.contains("data-theme=\"system\""));
    let csrf = csrf_field(&html);
    let changed = client
        .post(app.url("/me/theme"))
        .form(&[
            ("csrf_token", csrf.as_str()),
            ("theme", "dark"),
            ("return_to", "/me"),
        ])
        .send()
        .await
        .expect("theme");
    assert_eq!(changed.headers()["location"], "/me");
    let html = client
        .get(app.url("/me"))
        .send()
        .await
        .expect("profile")
        .text()
        .await
        .expect("html");
    assert!(html.contains("data-theme=\"dark\""));
    let offsite = client
        .post(app.url("/me/theme"))
        .form(&[
            ("csrf_token", csrf.as_str()),
            ("theme", "light"),
            ("return_to", "//evil.example"),
        ])
        .send()
        .await
        .expect("theme");
    assert_eq!(offsite.headers()["location"], "/");
}

async fn pages_follow_the_role(app: TestApp) {
    let (org, _) = app.create_org("Acme", "ada@example.com").await;
    app.member(org, "carl@example.com", OrgRole::Creator).await;
    let (other, _) = app.create_org("Globex", "grace@example.com").await;
    let client = app.form_session("carl@example.com").await;
    let overview = client
        .get(app.url(&format!("/orgs/{org}/overview")))
        .send()
        .await
        .expect("overview");
    let html = overview.text().await.expect("html");
    assert!(html.contains(">Users<"), "{html}");
    assert!(
        !html.contains(">Audit log<") && !html.contains(">Organization settings<"),
        "{html}"
    );
    let settings = client
        .get(app.url(&format!("/orgs/{org}/settings")))
        .send()
        .await
        .expect("settings");
    assert_eq!(settings.status(), 403);
    let foreign = client
        .get(app.url(&format!("/orgs/{other}/overview")))
        .send()
        .await
        .expect("other org");
    assert_eq!(foreign.status(), 404);
    assert!(!foreign.text().await.expect("html").contains("Globex"));
}
