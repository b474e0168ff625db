//! Two-factor sign-in: turned on with a first code from an authenticator app
//! (its codes computed here as the app would, on the app's clock), then asked
//! for at every sign-in, by the API and on a second step of the web sign-in;
//! recovery codes; an organization that requires it of owners and admins.

use crate::{json, problem};
use muster_domain::OrgRole;
use muster_test_support::ui::{csrf_field, page, post, submit};
use muster_test_support::{db_tests, outbox, TestApp, PASSWORD};
use serde_json::{json, Value};
use time::Duration;
use totp_rs::{Algorithm, Builder, Secret, Totp};

db_tests!(
    the_api_sign_in_takes_each_code_once_and_each_recovery_code_once,
    wrong_codes_lock_the_account_though_the_password_is_right,
    the_web_sign_in_asks_for_the_code_on_a_second_step,
    an_organization_sends_owners_and_admins_to_set_it_up_first,
);

fn app_totp(secret: &str) -> Totp {
    let bytes = Secret::try_from_base32(secret)
        .expect("a base32 secret")
        .as_ref()
        .to_vec();
    Builder::new()
        .with_algorithm(Algorithm::SHA1)
        .with_secret(bytes)
        .build()
        .expect("a TOTP")
}

fn app_seconds(app: &TestApp) -> u64 {
    u64::try_from(app.clock_now().unix_timestamp()).expect("after 1970")
}

/// The code an authenticator app with `secret` shows at the app's time.
fn code_now(app: &TestApp, secret: &str) -> String {
    app_totp(secret).generate(app_seconds(app)).to_string()
}

/// A six-digit code that no step around now has.
fn wrong_code(app: &TestApp, secret: &str) -> String {
    let totp = app_totp(secret);
    let now = app_seconds(app);
    let near: Vec<String> = [now - 30, now, now + 30]
        .iter()
        .map(|&at| totp.generate(at).to_string())
        .collect();
    ["000000", "111111", "222222", "333333"]
        .into_iter()
        .find(|code| !near.iter().any(|n| n == code))
        .expect("a code no step has")
        .to_owned()
}

/// The first step of a web sign-in as Ada, which leaves `browser` at the
/// code; returns the form token for the second.
async fn password_step(app: &TestApp, browser: &reqwest::Client) -> String {
    let (_, signin) = page(browser, app.url("/signin")).await;
    let csrf = csrf_field(&signin);
    let form = [
        ("csrf_token", csrf.as_str()),
        ("email", "ada@example.com"),
        ("password", PASSWORD),
        ("next", ""),
    ];
    let (status, to) = post(browser, app.url("/signin"), &form).await;
    assert_eq!((status, to.as_str()), (303, "/signin/code?next="));
    csrf
}

async fn login(app: &TestApp, email: &str, code: Option<&str>) -> reqwest::Response {
    let mut body = json!({"email": email, "password": PASSWORD});
    if let Some(code) = code {
        body["code"] = json!(code);
    }
    app.client()
        .post(app.url("/api/v1/auth/login"))
        .json(&body)
        .send()
        .await
        .expect("login")
}

/// Turns two-factor sign-in on for `email` through the API (a session);
/// returns the secret and the recovery codes.
async fn turn_on(app: &TestApp, email: &str) -> (String, Vec<String>) {
    let client = app.client();
    let csrf = app.login(&client, email).await;
    let setup = json(
        client
            .post(app.url("/api/v1/me/mfa/totp"))
            .header("x-csrf-token", &csrf)
            .send()
            .await
            .expect("start"),
        200,
    )
    .await;
    let secret = setup["secret"].as_str().expect("a secret").to_owned();
    let codes = json(
        client
            .post(app.url("/api/v1/me/mfa/totp/confirm"))
            .header("x-csrf-token", &csrf)
            .json(&json!({"code": code_now(app, &secret)}))
            .send()
            .await
            .expect("confirm"),
        200,
    )
    .await;
    let codes = codes["recovery_codes"]
        .as_array()
        .expect("codes")
        .iter()
        .map(|c| c.as_str().expect("a code").to_owned())
        .collect();
    (secret, codes)
}

async fn mail_to(app: &TestApp, to: &str, subject: &str) -> Option<String> {
    app.worker().run_until_idle().await.expect("jobs");
    outbox(app)
        .into_iter()
        .rev()
        .find(|m| m.contains(&format!("To: {to}")) && m.contains(subject))
        .map(|m| m.replace("=\r\n", "").replace("=\n", ""))
}

async fn audit_actions(app: &TestApp, token: &str, org: impl std::fmt::Display) -> Vec<String> {
    let page = json(
        app.api(token)
            .get(format!(
                "/api/v1/orgs/{org}/audit?action=account.&limit=100"
            ))
            .await,
        200,
    )
    .await;
    page["items"]
        .as_array()
        .expect("items")
        .iter()
        .map(|e| e["action"].as_str().unwrap_or_default().to_owned())
        .collect()
}

async fn the_api_sign_in_takes_each_code_once_and_each_recovery_code_once(app: TestApp) {
    let (org, ada) = app.create_org("Acme", "ada@example.com").await;
    let token = app.token(ada).await;
    let api = app.api(&token);

    // A token cannot tie the account to an app; the status is readable.
    let refused = problem(api.post_empty("/api/v1/me/mfa/totp").await, 403).await;
    assert!(refused["detail"]
        .as_str()
        .unwrap_or_default()
        .contains("session"));
    let status = json(api.get("/api/v1/me/mfa/totp").await, 200).await;
    assert_eq!(status["enabled"], false, "{status}");

    // The setup: a secret, its otpauth link and a QR code; a wrong first
    // code is a field error and leaves it off.
    let client = app.client();
    let csrf = app.login(&client, "ada@example.com").await;
    let start = || {
        client
            .post(app.url("/api/v1/me/mfa/totp"))
            .header("x-csrf-token", &csrf)
            .send()
    };
    let setup = json(start().await.expect("start"), 200).await;
    let secret = setup["secret"].as_str().expect("a secret").to_owned();
    assert!(setup["otpauth_uri"]
        .as_str()
        .unwrap_or_default()
        .starts_with("otpauth://totp/Muster:ada%40example.com?"));
    assert!(setup["otpauth_uri"]
        .as_str()
        .unwrap_or_default()
        .contains(&format!("secret={secret}")));
    assert!(setup["qr_svg"]
        .as_str()
        .unwrap_or_default()
        .starts_with("<svg"));
    let confirm = |code: String| {
        client
            .post(app.url("/api/v1/me/mfa/totp/confirm"))
            .header("x-csrf-token", &csrf)
            .json(&json!({ "code": code }))
            .send()
    };
    let wrong = problem(
        confirm(wrong_code(&app, &secret)).await.expect("confirm"),
        422,
    )
    .await;
    assert_eq!(wrong["errors"][0]["field"], "code", "{wrong}");
    assert_eq!(
        login(&app, "ada@example.com", None).await.status(),
        200,
        "still off"
    );

    let first = code_now(&app, &secret);
    let codes = json(confirm(first.clone()).await.expect("confirm"), 200).await;
    let codes: Vec<String> = codes["recovery_codes"]
        .as_array()
        .expect("codes")
        .iter()
        .map(|c| c.as_str().expect("a code").to_owned())
        .collect();
    assert_eq!(codes.len(), 10);
    assert_eq!(
        codes.iter().collect::<std::collections::HashSet<_>>().len(),
        10
    );
    problem(start().await.expect("start again"), 409).await;
    let status = json(api.get("/api/v1/me/mfa/totp").await, 200).await;
    assert_eq!(status["enabled"], true, "{status}");
    assert_eq!(status["recovery_codes_left"], 10, "{status}");
    assert!(mail_to(&app, "ada@example.com", "Two-factor sign-in is on")
        .await
        .is_some());

    // The password alone: 401 that says a code is needed, and no session.
    let without = login(&app, "ada@example.com", None).await;
    let body = problem(without, 401).await;
    assert_eq!(body["mfa_required"], true, "{body}");
    // A wrong password says nothing about a second factor.
    let bad = app
        .client()
        .post(app.url("/api/v1/auth/login"))
        .json(&json!({"email": "ada@example.com", "password": "not the password"}))
        .send()
        .await
        .expect("login");
    let bad = problem(bad, 401).await;
    assert!(bad.get("mfa_required").is_none(), "{bad}");

    // The code that turned it on was used: it does not sign in. The next
    // one does, once.
    let replayed = problem(login(&app, "ada@example.com", Some(&first)).await, 401).await;
    assert_eq!(replayed["mfa_required"], true);
    app.clock.advance(Duration::seconds(30));
    let next = code_now(&app, &secret);
    let spaced = format!("{} {}", &next[..3], &next[3..]);
    let signed_in = login(&app, "ada@example.com", Some(&spaced)).await;
    assert_eq!(signed_in.status(), 200);
    assert!(signed_in.headers().get("set-cookie").is_some());
    problem(login(&app, "ada@example.com", Some(&next)).await, 401).await;

    // A recovery code signs in once, typed in any case; the owner is told.
    let recovery = codes[0].to_uppercase();
    assert_eq!(
        login(&app, "ada@example.com", Some(&recovery))
            .await
            .status(),
        200
    );
    problem(login(&app, "ada@example.com", Some(&recovery)).await, 401).await;
    let told = mail_to(&app, "ada@example.com", "A recovery code was used")
        .await
        .expect("a mail");
    assert!(told.contains("9 of"), "{told}");
    let status = json(api.get("/api/v1/me/mfa/totp").await, 200).await;
    assert_eq!(status["recovery_codes_left"], 9, "{status}");

    // Off with the password only.
    let off = |password: &str| {
        api.call(
            reqwest::Method::DELETE,
            "/api/v1/me/mfa/totp",
            Some(json!({ "password": password })),
        )
    };
    let wrong = problem(off("not it").await, 422).await;
    assert_eq!(wrong["errors"][0]["field"], "password");
    assert_eq!(off(PASSWORD).await.status(), 204);
    problem(off(PASSWORD).await, 409).await;
    assert_eq!(login(&app, "ada@example.com", None).await.status(), 200);
    assert!(
        mail_to(&app, "ada@example.com", "Two-factor sign-in is off")
            .await
            .is_some()
    );
    assert_eq!(
        login(&app, "ada@example.com", Some(&codes[1]))
            .await
            .status(),
        200,
        "a code sent to an account without two factors is ignored"
    );

    let actions = audit_actions(&app, &token, org).await;
    for action in [
        "account.two_factor_enabled",
        "account.recovery_code_used",
        "account.two_factor_disabled",
    ] {
        assert!(
            actions.iter().any(|a| a == action),
            "{action} in {actions:?}"
        );
    }
}

async fn wrong_codes_lock_the_account_though_the_password_is_right(app: TestApp) {
    app.create_org("Acme", "ada@example.com").await;
    let (secret, _) = turn_on(&app, "ada@example.com").await;
    app.clock.advance(Duration::seconds(30));
    // Each guess comes with the right password; the password does not wipe
    // the guesses before it.
    for _ in 0..5 {
        let guess = wrong_code(&app, &secret);
        let body = problem(login(&app, "ada@example.com", Some(&guess)).await, 401).await;
        assert_eq!(body["mfa_required"], true);
    }
    let right = code_now(&app, &secret);
    let locked = login(&app, "ada@example.com", Some(&right)).await;
    assert_eq!(locked.status(), 429, "five wrong codes lock the account");
    app.clock.advance(Duration::minutes(16));
    let right = code_now(&app, &secret);
    assert_eq!(
        login(&app, "ada@example.com", Some(&right)).await.status(),
        200
    );
}

async fn the_web_sign_in_asks_for_the_code_on_a_second_step(app: TestApp) {
    app.create_org("Acme", "ada@example.com").await;
    let (secret, codes) = turn_on(&app, "ada@example.com").await;
    app.clock.advance(Duration::seconds(30));

    let browser = app.client();
    let (_, signin) = page(&browser, app.url("/signin")).await;
    let csrf = csrf_field(&signin);
    let (status, to) = post(
        &browser,
        app.url("/signin"),
        &[
            ("csrf_token", &csrf),
            ("email", "ada@example.com"),
            ("password", PASSWORD),
            ("next", "/me"),
        ],
    )
    .await;
    assert_eq!((status, to.as_str()), (303, "/signin/code?next=/me"));
    let (status, me) = page(&browser, app.url("/me")).await;
    assert_ne!(status, 200, "no session before the code: {me}");

    let (status, step) = page(&browser, app.url(&to)).await;
    assert_eq!(status, 200);
    let csrf = csrf_field(&step);
    let (status, again) = submit(
        &browser,
        app.url("/signin/code"),
        &[
            ("csrf_token", &csrf),
            ("next", "/me"),
            ("code", &wrong_code(&app, &secret)),
        ],
    )
    .await;
    assert_eq!(status, 401);
    assert!(again
        .field_error("code")
        .expect("an error at the code")
        .contains("not right"));
    let (status, to) = post(
        &browser,
        app.url("/signin/code"),
        &[
            ("csrf_token", &csrf),
            ("next", "/me"),
            ("code", &code_now(&app, &secret)),
        ],
    )
    .await;
    assert_eq!((status, to.as_str()), (303, "/me"));
    let (status, security) = page(&browser, app.url("/me/security")).await;
    assert_eq!(status, 200);
    assert!(security
        .text_of("#two-factor-status")
        .starts_with("On since"));
    assert_eq!(security.text_of("#codes-left"), "10");

    // A recovery code works on the same step.
    let other = app.client();
    let csrf = password_step(&app, &other).await;
    let (status, to) = post(
        &other,
        app.url("/signin/code"),
        &[("csrf_token", &csrf), ("next", ""), ("code", &codes[3])],
    )
    .await;
    assert_eq!((status, to.as_str()), (303, "/"));

    // The step lasts five minutes from the password.
    let late = app.client();
    let csrf = password_step(&app, &late).await;
    app.clock.advance(Duration::minutes(6));
    let (status, expired) = submit(
        &late,
        app.url("/signin/code"),
        &[
            ("csrf_token", &csrf),
            ("next", ""),
            ("code", &code_now(&app, &secret)),
        ],
    )
    .await;
    assert_eq!(status, 401);
    assert!(expired.text().contains("took too long"), "{expired}");

    // Turned off on the page, with the password.
    let csrf = csrf_field(&security);
    let (status, refused) = submit(
        &browser,
        app.url("/me/two-factor/off"),
        &[("csrf_token", &csrf), ("two_factor_password", "not it")],
    )
    .await;
    assert_eq!(status, 422);
    assert!(refused.field_error("two_factor_password").is_some());
    let (status, to) = post(
        &browser,
        app.url("/me/two-factor/off"),
        &[("csrf_token", &csrf), ("two_factor_password", PASSWORD)],
    )
    .await;
    assert_eq!((status, to.as_str()), (303, "/me/security#two-factor"));
    let (_, security) = page(&browser, app.url("/me/security")).await;
    assert!(security.text().contains("Two-factor sign-in is off"));
    assert!(security.text_of("#two-factor-status").starts_with("Off."));
    let session = app.form_session("ada@example.com").await;
    assert_eq!(page(&session, app.url("/me")).await.0, 200);
}

async fn an_organization_sends_owners_and_admins_to_set_it_up_first(app: TestApp) {
    let (org, ada) = app.create_org("Acme", "ada@example.com").await;
    let bob = app.member(org, "bob@example.com", OrgRole::Admin).await;
    let cy = app.member(org, "cy@example.com", OrgRole::User).await;
    let ada_api = app.api(&app.token(ada).await);
    let bob_api = app.api(&app.token(bob).await);
    let cy_api = app.api(&app.token(cy).await);
    let require = || {
        ada_api.patch(
            format!("/api/v1/orgs/{org}"),
            json!({"require_two_factor": true}),
        )
    };

    // Only someone with two factors may require them.
    let refused = problem(require().await, 422).await;
    assert_eq!(refused["errors"][0]["field"], "require_two_factor");
    turn_on(&app, "ada@example.com").await;
    let org_view = json(require().await, 200).await;
    assert_eq!(org_view["require_two_factor"], true);

    // The admin without them is refused Management by the API, and sent to
    // set it up by the pages; the user-only member is not concerned.
    let denied = problem(bob_api.get(format!("/api/v1/orgs/{org}/users")).await, 403).await;
    assert!(denied["detail"]
        .as_str()
        .unwrap_or_default()
        .contains("two factors"));
    assert_eq!(
        ada_api
            .get(format!("/api/v1/orgs/{org}/users"))
            .await
            .status(),
        200
    );
    assert_eq!(
        cy_api.get(format!("/api/v1/orgs/{org}")).await.status(),
        200
    );
    // A member whose role is `user` sets it up on My profile like anyone.
    let cy_browser = app.form_session("cy@example.com").await;
    let (status, cy_security) = page(&cy_browser, app.url("/me/security")).await;
    assert_eq!(status, 200);
    assert!(cy_security.has("#two-factor-on"));
    assert!(!cy_security.has("#two-factor-required"));

    let browser = app.form_session("bob@example.com").await;
    let (status, to) = {
        let response = browser
            .get(app.url(&format!("/orgs/{org}/users")))
            .send()
            .await
            .expect("users page");
        (
            response.status().as_u16(),
            muster_test_support::ui::location(&response),
        )
    };
    assert_eq!(status, 303);
    assert_eq!(to, format!("/me/security?required={org}#two-factor"));
    let (_, security) = page(&browser, app.url(&to)).await;
    assert!(security
        .text_of("#two-factor-required")
        .starts_with("Acme requires its owners and admins"));
    // Only an organization of the viewer's is named.
    let (_, elsewhere) = page(&browser, app.url("/me/security?required=Pay%20here")).await;
    assert!(!elsewhere.has("#two-factor-required"));

    // Set up in the pages, as a browser without JavaScript would.
    let csrf = csrf_field(&security);
    let (status, to) = post(
        &browser,
        app.url("/me/two-factor"),
        &[("csrf_token", &csrf)],
    )
    .await;
    assert_eq!((status, to.as_str()), (303, "/me/two-factor/setup"));
    let (status, setup) = page(&browser, app.url(&to)).await;
    assert_eq!(status, 200);
    assert!(setup.has("#qr-code svg"));
    let secret = setup.text_of("#totp-secret");
    let (status, wrong) = submit(
        &browser,
        app.url("/me/two-factor/confirm"),
        &[("csrf_token", &csrf), ("code", &wrong_code(&app, &secret))],
    )
    .await;
    assert_eq!(status, 422);
    assert!(wrong.field_error("code").is_some());
    assert_eq!(wrong.text_of("#totp-secret"), secret, "the same key again");
    let (status, shown) = submit(
        &browser,
        app.url("/me/two-factor/confirm"),
        &[("csrf_token", &csrf), ("code", &code_now(&app, &secret))],
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(shown.count("#recovery-codes li"), 10);
    assert_eq!(
        page(&browser, app.url(&format!("/orgs/{org}/users")))
            .await
            .0,
        200
    );
    assert_eq!(
        bob_api
            .get(format!("/api/v1/orgs/{org}/users"))
            .await
            .status(),
        200
    );

    // The setting is in the audit log, and shows on the settings page.
    let changed = json(
        ada_api
            .get(format!(
                "/api/v1/orgs/{org}/audit?action=organization.settings_changed"
            ))
            .await,
        200,
    )
    .await;
    let after: &Value = &changed["items"][0]["after"];
    assert_eq!(after["require_two_factor"], true, "{changed}");
    let (_, settings) = page(&browser, app.url(&format!("/orgs/{org}/settings"))).await;
    assert!(settings.has("#require-two-factor[checked]"));
}
