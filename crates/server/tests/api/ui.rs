use muster_domain::OrgRole;
use muster_test_support::ui::{page, post, submit};
use muster_test_support::{csrf_field, db_tests, Html, TestApp, PASSWORD};

db_tests!(
    pages_need_a_session_and_send_security_headers,
    signing_in_through_the_form_opens_the_default_organization,
    members_with_only_the_user_role_see_why_they_cannot_enter,
    forms_without_the_session_token_are_refused,
    pages_follow_the_role,
    my_profile_saves_through_the_same_rules_as_the_api,
    the_sign_in_form_takes_only_a_cookie_this_server_issued,
    anyone_signed_in_creates_an_organization_and_owns_it,
);

/// "New organization" on My profile, for anyone signed in (here a member
/// whose only role is `user`): the fields' problems next to them, then the
/// new organization opens with its creator as owner, and its audit log
/// starts with its creation.
async fn anyone_signed_in_creates_an_organization_and_owns_it(app: TestApp) {
    let (org, _) = app.create_org("Acme", "ada@example.com").await;
    let bob = app.member(org, "bob@example.com", OrgRole::User).await;
    let client = app.form_session("bob@example.com").await;
    let (_, profile) = page(&client, app.url("/me")).await;
    assert_eq!(
        profile.attr("#new-org", "href").as_deref(),
        Some("/orgs/new")
    );
    let (status, form) = page(&client, app.url("/orgs/new")).await;
    assert_eq!(status, 200);
    assert_eq!(form.text_of("main h2"), "New organization");
    let csrf = csrf_field(&form);

    let (status, refused) = submit(
        &client,
        app.url("/orgs/new"),
        &[
            ("csrf_token", &csrf),
            ("name", "  "),
            ("description", "Bob's own"),
            ("default_language", "zz"),
        ],
    )
    .await;
    assert_eq!(status, 422);
    assert!(refused.field_error("name").is_some(), "{refused}");
    assert!(
        refused
            .field_error("default_language")
            .is_some_and(|e| e.contains("ISO 639")),
        "{refused}"
    );
    assert_eq!(
        refused
            .attr("input[name=name]", "aria-describedby")
            .as_deref(),
        Some("name-error")
    );
    assert_eq!(
        refused.attr("textarea[name=description]", "aria-invalid"),
        None,
        "only the wrong fields are marked"
    );
    let (status, _) = post(
        &client,
        app.url("/orgs/new"),
        &[("csrf_token", "forged"), ("name", "Forged")],
    )
    .await;
    assert_eq!(status, 403);

    let (status, target) = post(
        &client,
        app.url("/orgs/new"),
        &[
            ("csrf_token", &csrf),
            ("name", "Bob's Lab"),
            ("description", "Bob's own"),
            ("default_language", "DE"),
        ],
    )
    .await;
    assert_eq!(status, 303);
    let new_org = target
        .strip_prefix("/orgs/")
        .and_then(|rest| rest.strip_suffix("/overview"))
        .unwrap_or_else(|| panic!("the new organization's overview: {target}"))
        .to_owned();
    let (status, overview) = page(&client, app.url(&target)).await;
    assert_eq!(status, 200, "the creator may open Management there");
    assert_eq!(
        overview.text_of("#notice"),
        "Bob's Lab was created. You are its owner."
    );
    assert_eq!(overview.text_of("nav.sidebar .org-name"), "Bob's Lab");

    let token = app.token(bob).await;
    let api = app.api(&token);
    let created = crate::json(api.get(format!("/api/v1/orgs/{new_org}")).await, 200).await;
    assert_eq!(created["role"], "owner", "{created}");
    assert_eq!(created["default_language"], "de", "{created}");
    assert_eq!(created["description"], "Bob's own", "{created}");
    let audit = crate::json(
        api.get(format!("/api/v1/orgs/{new_org}/audit?action=organization."))
            .await,
        200,
    )
    .await;
    let events = audit["items"].as_array().expect("items");
    assert_eq!(events.len(), 1, "{audit}");
    assert_eq!(events[0]["action"], "organization.created");
    assert_eq!(events[0]["after"]["owner"], "bob@example.com", "{audit}");
    // Acme is as it was: Bob is still only a user there.
    let acme = crate::json(api.get(format!("/api/v1/orgs/{org}")).await, 200).await;
    assert_eq!(acme["role"], "user");
}

/// The sign-in form's double-submit cookie is signed: a value someone planted
/// in the browser (the same in cookie and field) is refused, and so is one of
/// ours with its signature changed.
async fn the_sign_in_form_takes_only_a_cookie_this_server_issued(app: TestApp) {
    app.create_org("Acme", "ada@example.com").await;
    let fields = |csrf: &str| {
        [
            ("csrf_token", csrf.to_owned()),
            ("email", "ada@example.com".to_owned()),
            ("password", PASSWORD.to_owned()),
        ]
    };
    let sign_in = |cookie: String, csrf: String| {
        let url = app.url("/signin");
        async move {
            reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .expect("client")
                .post(url)
                .header("cookie", format!("muster_form={cookie}"))
                .form(&fields(&csrf))
                .send()
                .await
                .expect("sign-in answers")
        }
    };
    let planted = "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA";
    let refused = sign_in(planted.into(), planted.into()).await;
    assert_eq!(refused.status(), 403);
    assert!(refused.headers().get("set-cookie").is_none_or(|c| !c
        .to_str()
        .unwrap_or_default()
        .starts_with("muster_session=")));

    let client = app.client();
    let (_, signin) = page(&client, app.url("/signin")).await;
    let issued = csrf_field(&signin);
    let (value, signature) = issued.rsplit_once('.').expect("a signed value");
    let tampered = format!("{value}.{}", signature.chars().rev().collect::<String>());
    assert_eq!(sign_in(tampered.clone(), tampered).await.status(), 403);
    assert_eq!(sign_in(issued.clone(), issued).await.status(), 303);
}

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
    let signin = client
        .get(app.url("/signin"))
        .send()
        .await
        .expect("sign-in page");
    let headers = signin.headers();
    let csp = headers["content-security-policy"].to_str().expect("csp");
    assert!(
        csp.contains("script-src 'self'") && !csp.contains("unsafe-inline"),
        "{csp}"
    );
    assert!(csp.contains("frame-ancestors 'none'"));
    assert_eq!(headers["x-content-type-options"], "nosniff");
    assert_eq!(headers["x-frame-options"], "DENY");
    assert!(headers.contains_key("referrer-policy"));
    // About the markup itself: scripts come only from files (the CSP allows no other).
    let html = signin.text().await.expect("html");
    assert!(!html.contains("<script>"), "no inline script");
}

async fn signing_in_through_the_form_opens_the_default_organization(app: TestApp) {
    let (org, _) = app.create_org("Acme", "ada@example.com").await;
    let client = app.client();
    let (_, signin) = page(&client, app.url("/signin")).await;
    let csrf = csrf_field(&signin);
    let (status, wrong) = submit(
        &client,
        app.url("/signin"),
        &[
            ("csrf_token", &csrf),
            ("email", "ada@example.com"),
            ("password", "wrong"),
        ],
    )
    .await;
    assert_eq!(status, 401);
    assert!(
        wrong
            .text_of("#form-error[role=alert]")
            .contains("the email or password is not correct"),
        "{wrong}"
    );

    // The same browser signs in with the right password.
    let (status, _) = post(
        &client,
        app.url("/signin"),
        &[
            ("csrf_token", &csrf),
            ("email", "ada@example.com"),
            ("password", PASSWORD),
        ],
    )
    .await;
    assert_eq!(status, 303);
    let home = client.get(app.url("/")).send().await.expect("home");
    assert_eq!(
        home.headers()["location"],
        format!("/orgs/{org}/overview").as_str()
    );
    let (_, overview) = page(&client, app.url(&format!("/orgs/{org}/overview"))).await;
    let nav = overview.select("nav.sidebar ul.nav a");
    for item in [
        "Users",
        "Solutions",
        "Notifications",
        "Usage",
        "Troubleshooting",
        "Organization settings",
        "Audit log",
    ] {
        assert!(
            nav.iter().any(|a| a == item),
            "the menu shows {item}: {nav:?}"
        );
    }
    assert_eq!(overview.text_of(".user-menu a[href=\"/me\"]"), "My profile");
    assert_eq!(overview.text_of(".user-menu button#sign-out"), "Sign out");
    let (_, solutions) = page(&client, app.url(&format!("/orgs/{org}/solutions"))).await;
    assert!(
        solutions
            .text_of("table.solutions td#no-solutions")
            .starts_with("No solutions yet"),
        "{solutions}"
    );
    let (_, notifications) = page(&client, app.url(&format!("/orgs/{org}/notifications"))).await;
    assert_eq!(
        notifications.text_of("#compose-notification"),
        "Send notification"
    );
    let (_, usage) = page(&client, app.url(&format!("/orgs/{org}/usage"))).await;
    assert_eq!(usage.text_of("main h1"), "Usage");
    assert_eq!(
        usage.count("figure.chart-card svg.chart"),
        7,
        "a chart per figure, even on a new organization: {usage}"
    );
}

async fn members_with_only_the_user_role_see_why_they_cannot_enter(app: TestApp) {
    let (org, _) = app.create_org("Acme", "ada@example.com").await;
    app.member(org, "bob@example.com", OrgRole::User).await;
    let client = app.form_session("bob@example.com").await;
    let home = client.get(app.url("/")).send().await.expect("home");
    assert_eq!(
        home.headers()["location"],
        format!("/orgs/{org}/inbox").as_str(),
        "their inbox is their home"
    );
    let (status, no_access) = page(&client, app.url("/no-access")).await;
    assert_eq!(status, 403);
    let paragraphs = no_access.select("main.card p");
    assert!(
        paragraphs
            .iter()
            .any(|p| p.contains("owners, admins and creators")),
        "{paragraphs:?}"
    );
    assert!(
        paragraphs
            .iter()
            .any(|p| p == "Your organizations: Acme (User)."),
        "{paragraphs:?}"
    );
    let direct = client
        .get(app.url(&format!("/orgs/{org}/overview")))
        .send()
        .await
        .expect("overview");
    assert_eq!(direct.headers()["location"], "/no-access");
    // My profile is theirs (SPEC §2): details, tokens, devices.
    let (status, profile) = page(&client, app.url("/me")).await;
    assert_eq!(status, 200);
    assert_eq!(profile.text_of("main h1"), "My profile");
}

async fn forms_without_the_session_token_are_refused(app: TestApp) {
    app.create_org("Acme", "ada@example.com").await;
    let client = app.form_session("ada@example.com").await;
    let (status, _) = post(
        &client,
        app.url("/me/theme"),
        &[("csrf_token", "forged"), ("theme", "dark")],
    )
    .await;
    assert_eq!(status, 403);
    let theme = |page: &Html| page.attr("html", "data-theme");
    let (_, profile) = page(&client, app.url("/me")).await;
    assert_eq!(theme(&profile).as_deref(), Some("system"));
    let csrf = csrf_field(&profile);
    let (_, to) = post(
        &client,
        app.url("/me/theme"),
        &[
            ("csrf_token", &csrf),
            ("theme", "dark"),
            ("return_to", "/me"),
        ],
    )
    .await;
    assert_eq!(to, "/me");
    let (_, profile) = page(&client, app.url("/me")).await;
    assert_eq!(theme(&profile).as_deref(), Some("dark"));
    let (_, to) = post(
        &client,
        app.url("/me/theme"),
        &[
            ("csrf_token", &csrf),
            ("theme", "light"),
            ("return_to", "//evil.example"),
        ],
    )
    .await;
    assert_eq!(to, "/");
}

async fn pages_follow_the_role(app: TestApp) {
    let (org, _) = app.create_org("Acme", "ada@example.com").await;
    app.member(org, "carl@example.com", OrgRole::Creator).await;
    let (other, _) = app.create_org("Globex", "grace@example.com").await;
    let client = app.form_session("carl@example.com").await;
    let (_, overview) = page(&client, app.url(&format!("/orgs/{org}/overview"))).await;
    assert!(
        overview.has_text("nav.sidebar ul.nav a", "Users"),
        "{overview}"
    );
    assert!(
        !overview.has_text("*", "Audit log") && !overview.has_text("*", "Organization settings"),
        "{overview}"
    );
    let settings = client
        .get(app.url(&format!("/orgs/{org}/settings")))
        .send()
        .await
        .expect("settings");
    assert_eq!(settings.status(), 403);
    let (status, foreign) = page(&client, app.url(&format!("/orgs/{other}/overview"))).await;
    assert_eq!(status, 404);
    assert!(!foreign.mentions("Globex"), "{foreign}");
}

async fn my_profile_saves_through_the_same_rules_as_the_api(app: TestApp) {
    let (_, ada) = app.create_org("Acme", "ada@example.com").await;
    let api = app.api(&app.token(ada).await);
    let client = app.form_session("ada@example.com").await;
    let (_, profile) = page(&client, app.url("/me")).await;
    let csrf = csrf_field(profile.source());
    let me_before: serde_json::Value = api.get("/api/v1/me").await.json().await.expect("me");
    // Every problem at once, each next to its field, and nothing is kept.
    let (status, refused) = submit(
        &client,
        app.url("/me"),
        &[
            ("csrf_token", csrf.as_str()),
            ("first_name", "Ada Renamed"),
            ("last_name", " "),
            ("language", "not a language!"),
            ("theme", "neon"),
        ],
    )
    .await;
    assert_eq!(status, 422);
    assert!(refused.field_error("last_name").is_some(), "{refused}");
    assert!(refused.field_error("language").is_some(), "{refused}");
    assert!(refused.has(".field-error"), "{refused}");
    assert!(
        refused.select(".field-error").len() >= 3,
        "three problems: {refused}"
    );
    let me: serde_json::Value = api.get("/api/v1/me").await.json().await.expect("me");
    assert_eq!(
        me["first_name"], me_before["first_name"],
        "nothing was saved"
    );
    // A good form is saved, and the API shows it.
    let (status, to) = post(
        &client,
        app.url("/me"),
        &[
            ("csrf_token", csrf.as_str()),
            ("first_name", "Ada"),
            ("last_name", "Byron"),
            ("language", "fr-CA"),
            ("theme", "dark"),
        ],
    )
    .await;
    assert_eq!((status, to.as_str()), (303, "/me?saved=1"));
    let me: serde_json::Value = api.get("/api/v1/me").await.json().await.expect("me");
    assert_eq!(me["last_name"], "Byron");
    assert_eq!(me["language"], "fr-CA");
    assert_eq!(me["theme"], "dark");
}
