//! One's own account: forgotten password by mail, a new password, and the
//! sessions signed in as oneself (API, and the pages as a browser without
//! JavaScript uses them).

use crate::{json, problem};
use muster_test_support::ui::{csrf_field, page, post, submit};
use muster_test_support::{db_tests, link_in, outbox, TestApp, PASSWORD};
use serde_json::json;

db_tests!(
    a_reset_link_by_mail_sets_a_new_password_once_and_signs_out_everywhere,
    reset_requests_tell_nobody_who_has_an_account_and_are_throttled,
    a_reset_lifts_the_lockout_of_failed_sign_ins,
    changing_the_password_needs_the_current_one_and_ends_other_sessions,
    sessions_are_listed_and_signed_out_one_by_one_or_all_others,
    the_reset_and_security_pages_work_without_javascript,
);

const NEW_PASSWORD: &str = "a brand new passphrase";

fn reset_link(message: &str) -> Option<String> {
    link_in(message, "/reset/")
}

/// Asks for a reset link for `email`, as the sign-in page's form does.
async fn ask_reset(app: &TestApp, email: &str) -> reqwest::Response {
    app.client()
        .post(app.url("/api/v1/auth/password-reset"))
        .json(&json!({ "email": email }))
        .send()
        .await
        .expect("a reset request")
}

/// Sets `password` with the reset token `token`.
async fn set_password(app: &TestApp, token: &str, password: &str) -> reqwest::Response {
    app.client()
        .post(app.url(&format!("/api/v1/auth/password-reset/{token}")))
        .json(&json!({ "password": password }))
        .send()
        .await
        .expect("a new password")
}

/// The path of the newest reset link mailed to `to`.
fn mailed_link(app: &TestApp, to: &str) -> String {
    let mails = outbox(app);
    let mail = mails
        .iter()
        .rev()
        .find(|m| m.contains(&format!("To: {to}")) && m.contains("Reset your Muster password"))
        .unwrap_or_else(|| panic!("a reset mail to {to} among {} mails", mails.len()));
    let link = reset_link(mail).expect("a reset link in the mail");
    link.find("/reset/")
        .map(|at| link[at..].to_owned())
        .expect("a path")
}

fn mails_to(app: &TestApp, to: &str, subject: &str) -> usize {
    outbox(app)
        .iter()
        .filter(|m| m.contains(&format!("To: {to}")) && m.contains(subject))
        .count()
}

async fn login_status(app: &TestApp, email: &str, password: &str) -> u16 {
    app.client()
        .post(app.url("/api/v1/auth/login"))
        .json(&json!({"email": email, "password": password}))
        .send()
        .await
        .expect("login")
        .status()
        .as_u16()
}

async fn me_status(app: &TestApp, client: &reqwest::Client) -> u16 {
    client
        .get(app.url("/api/v1/me"))
        .send()
        .await
        .expect("me")
        .status()
        .as_u16()
}

async fn a_reset_link_by_mail_sets_a_new_password_once_and_signs_out_everywhere(app: TestApp) {
    let (org, owner) = app.create_org("Acme", "ada@example.com").await;
    let token = app.token(owner).await;
    let browser = app.client();
    app.login(&browser, "ada@example.com").await;
    let anonymous = app.client();

    let asked = ask_reset(&app, "Ada@Example.com").await;
    assert_eq!(asked.status(), 202);
    app.worker().run_until_idle().await.expect("jobs");
    let path = mailed_link(&app, "ada@example.com");
    let token_in_link = path.trim_start_matches("/reset/").to_owned();
    let (status, form) = page(&anonymous, app.url(&path)).await;
    assert_eq!(status, 200);
    assert!(form.has("input[name=password]"), "{}", form.text());

    // A password that will not do leaves the link working.
    let short = set_password(&app, &token_in_link, "short").await;
    let body = problem(short, 422).await;
    assert_eq!(body["errors"][0]["field"], "password");
    let set = set_password(&app, &token_in_link, NEW_PASSWORD).await;
    assert_eq!(set.status(), 204);
    // Once only.
    let again = set_password(&app, &token_in_link, "yet another passphrase").await;
    let gone = problem(again, 410).await;
    assert!(gone["detail"]
        .as_str()
        .unwrap_or_default()
        .contains("ask for a new one"));
    let (status, _) = page(&anonymous, app.url(&path)).await;
    assert_eq!(status, 410, "the page behind a used link says so");

    assert_eq!(
        me_status(&app, &browser).await,
        401,
        "the old session ended"
    );
    assert_eq!(login_status(&app, "ada@example.com", PASSWORD).await, 401);
    assert_eq!(
        login_status(&app, "ada@example.com", NEW_PASSWORD).await,
        200
    );
    // A token is not a session: scripts keep working.
    assert_eq!(app.api(&token).get("/api/v1/me").await.status(), 200);

    app.worker().run_until_idle().await.expect("jobs");
    assert_eq!(
        mails_to(&app, "ada@example.com", "Your Muster password was changed"),
        1
    );
    let audit = json(
        app.api(&token)
            .get(format!("/api/v1/orgs/{org}/audit?action=account."))
            .await,
        200,
    )
    .await;
    let actions: Vec<&str> = audit["items"]
        .as_array()
        .expect("items")
        .iter()
        .filter_map(|e| e["action"].as_str())
        .collect();
    // Newest first: the old password, tried after the reset, failed.
    assert_eq!(
        actions,
        ["account.sign_in_failed", "account.password_reset"]
    );
    // That no table holds the link in clear is the secrets scan's (tests/secrets).
}

async fn reset_requests_tell_nobody_who_has_an_account_and_are_throttled(app: TestApp) {
    app.create_org("Acme", "ada@example.com").await;
    let ask = |email: &'static str| ask_reset(&app, email);
    for _ in 0..3 {
        assert_eq!(ask("ada@example.com").await.status(), 202);
        assert_eq!(ask("nobody@example.com").await.status(), 202);
    }
    // The fourth within the window: refused for both alike.
    problem(ask("ada@example.com").await, 429).await;
    problem(ask("nobody@example.com").await, 429).await;
    let bad = problem(ask("not an address").await, 422).await;
    assert_eq!(bad["errors"][0]["field"], "email");

    app.worker().run_until_idle().await.expect("jobs");
    assert_eq!(
        mails_to(&app, "ada@example.com", "Reset your Muster password"),
        3
    );
    assert_eq!(mails_to(&app, "nobody@example.com", "Reset"), 0);
    // Every link of the three works until one is used.
    let path = mailed_link(&app, "ada@example.com");
    let token = path.trim_start_matches("/reset/");
    let set = set_password(&app, token, NEW_PASSWORD).await;
    assert_eq!(set.status(), 204);
    // Using one ends the others.
    let first = outbox(&app)
        .into_iter()
        .find(|m| m.contains("Reset your Muster password"))
        .and_then(|m| reset_link(&m))
        .expect("the first link");
    let first_token = &first[first.find("/reset/").map_or(0, |at| at + 7)..];
    let stale = set_password(&app, first_token, "some other passphrase").await;
    problem(stale, 410).await;
    problem(set_password(&app, "not-a-token", NEW_PASSWORD).await, 410).await;
}

async fn a_reset_lifts_the_lockout_of_failed_sign_ins(app: TestApp) {
    app.create_org("Acme", "ada@example.com").await;
    for _ in 0..5 {
        assert_eq!(
            login_status(&app, "ada@example.com", "wrong guess").await,
            401
        );
    }
    assert_eq!(
        login_status(&app, "ada@example.com", PASSWORD).await,
        429,
        "locked"
    );
    let asked = ask_reset(&app, "ada@example.com").await;
    assert_eq!(asked.status(), 202);
    app.worker().run_until_idle().await.expect("jobs");
    let path = mailed_link(&app, "ada@example.com");
    let set = set_password(&app, path.trim_start_matches("/reset/"), NEW_PASSWORD).await;
    assert_eq!(set.status(), 204);
    assert_eq!(
        login_status(&app, "ada@example.com", NEW_PASSWORD).await,
        200
    );
}

async fn changing_the_password_needs_the_current_one_and_ends_other_sessions(app: TestApp) {
    let (org, owner) = app.create_org("Acme", "ada@example.com").await;
    let token = app.token(owner).await;
    let here = app.client();
    let csrf = app.login(&here, "ada@example.com").await;
    let elsewhere = app.client();
    app.login(&elsewhere, "ada@example.com").await;
    let change = |current: &'static str, new: &'static str| {
        here.post(app.url("/api/v1/me/password"))
            .header("x-csrf-token", &csrf)
            .json(&json!({"current_password": current, "new_password": new}))
            .send()
    };

    let wrong = problem(
        change("not my password", NEW_PASSWORD)
            .await
            .expect("change"),
        422,
    )
    .await;
    assert_eq!(wrong["errors"][0]["field"], "current_password");
    let short = problem(change(PASSWORD, "short").await.expect("change"), 422).await;
    assert_eq!(short["errors"][0]["field"], "new_password");
    let without_csrf = here
        .post(app.url("/api/v1/me/password"))
        .json(&json!({"current_password": PASSWORD, "new_password": NEW_PASSWORD}))
        .send()
        .await
        .expect("change");
    problem(without_csrf, 403).await;

    let changed = json(change(PASSWORD, NEW_PASSWORD).await.expect("change"), 200).await;
    assert_eq!(changed["signed_out"], 1);
    assert_eq!(me_status(&app, &here).await, 200, "this session stays");
    assert_eq!(
        me_status(&app, &elsewhere).await,
        401,
        "the other one ended"
    );
    assert_eq!(
        login_status(&app, "ada@example.com", NEW_PASSWORD).await,
        200
    );

    app.worker().run_until_idle().await.expect("jobs");
    assert_eq!(
        mails_to(&app, "ada@example.com", "Your Muster password was changed"),
        1
    );
    let audit = json(
        app.api(&token)
            .get(format!(
                "/api/v1/orgs/{org}/audit?action=account.password_changed"
            ))
            .await,
        200,
    )
    .await;
    assert_eq!(audit["items"].as_array().map(Vec::len), Some(1));
    assert!(!audit.to_string().contains(NEW_PASSWORD));

    // Wrong guesses count as failed sign-ins (the sign-in above forgave the
    // first): five, and the sixth is refused even with the right password.
    for _ in 0..5 {
        problem(
            app.api(&token)
                .post(
                    "/api/v1/me/password",
                    json!({"current_password": "guess", "new_password": "whatever it is now"}),
                )
                .await,
            422,
        )
        .await;
    }
    problem(
        app.api(&token)
            .post(
                "/api/v1/me/password",
                json!({"current_password": NEW_PASSWORD, "new_password": "whatever it is now"}),
            )
            .await,
        429,
    )
    .await;
}

async fn sessions_are_listed_and_signed_out_one_by_one_or_all_others(app: TestApp) {
    let (org, _) = app.create_org("Acme", "ada@example.com").await;
    app.member(org, "bob@example.com", muster_domain::OrgRole::User)
        .await;
    let firefox = reqwest::Client::builder()
        .cookie_store(true)
        .user_agent("Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0")
        .build()
        .expect("a client");
    let csrf = app.login(&firefox, "ada@example.com").await;
    let phone = reqwest::Client::builder()
        .cookie_store(true)
        .user_agent("Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1")
        .build()
        .expect("a client");
    app.login(&phone, "ada@example.com").await;
    let laptop = app.client();
    app.login(&laptop, "ada@example.com").await;
    let bob = app.client();
    let bob_csrf = app.login(&bob, "bob@example.com").await;

    let list = json(
        firefox
            .get(app.url("/api/v1/me/sessions"))
            .send()
            .await
            .expect("list"),
        200,
    )
    .await;
    let sessions = list.as_array().expect("a list");
    assert_eq!(sessions.len(), 3, "{list}");
    let current: Vec<&serde_json::Value> =
        sessions.iter().filter(|s| s["current"] == true).collect();
    assert_eq!(current.len(), 1);
    assert_eq!(current[0]["browser"], "Firefox on Linux");
    assert_eq!(current[0]["address"], "127.0.0.1");
    let iphone = sessions
        .iter()
        .find(|s| s["browser"] == "Safari on iOS")
        .expect("the phone's session");
    let iphone_id = iphone["id"].as_str().expect("an id").to_owned();

    // Bob cannot end Ada's session: to him it does not exist.
    let foreign = bob
        .delete(app.url(&format!("/api/v1/me/sessions/{iphone_id}")))
        .header("x-csrf-token", &bob_csrf)
        .send()
        .await
        .expect("delete");
    problem(foreign, 404).await;
    assert_eq!(me_status(&app, &phone).await, 200);

    let ended = firefox
        .delete(app.url(&format!("/api/v1/me/sessions/{iphone_id}")))
        .header("x-csrf-token", &csrf)
        .send()
        .await
        .expect("delete");
    assert_eq!(ended.status(), 204);
    assert_eq!(me_status(&app, &phone).await, 401);
    assert_eq!(me_status(&app, &laptop).await, 200);

    let others = json(
        firefox
            .post(app.url("/api/v1/me/sessions/sign-out-others"))
            .header("x-csrf-token", &csrf)
            .send()
            .await
            .expect("others"),
        200,
    )
    .await;
    assert_eq!(others["signed_out"], 1);
    assert_eq!(me_status(&app, &laptop).await, 401);
    assert_eq!(me_status(&app, &firefox).await, 200);
    assert_eq!(me_status(&app, &bob).await, 200, "Bob's session is his own");
}

async fn the_reset_and_security_pages_work_without_javascript(app: TestApp) {
    app.create_org("Acme", "ada@example.com").await;
    let browser = app.client();
    let (_, signin) = page(&browser, app.url("/signin")).await;
    assert_eq!(
        signin.attr("#forgot-password", "href").as_deref(),
        Some("/reset")
    );
    let (status, form) = page(&browser, app.url("/reset")).await;
    assert_eq!(status, 200);
    let csrf = csrf_field(&form);
    let (status, bad) = submit(
        &browser,
        app.url("/reset"),
        &[("csrf_token", &csrf), ("email", "no address")],
    )
    .await;
    assert_eq!(status, 422);
    assert!(bad.field_error("email").is_some(), "{}", bad.text());
    let (status, sent) = submit(
        &browser,
        app.url("/reset"),
        &[("csrf_token", &csrf), ("email", "ada@example.com")],
    )
    .await;
    assert_eq!(status, 200);
    assert!(
        sent.text_of("#reset-sent").contains("is on its way"),
        "{}",
        sent.text()
    );
    // Without the form's token: refused.
    let (status, _) = post(
        &app.client(),
        app.url("/reset"),
        &[("email", "ada@example.com")],
    )
    .await;
    assert_eq!(status, 403);

    app.worker().run_until_idle().await.expect("jobs");
    let path = mailed_link(&app, "ada@example.com");
    let (status, form) = page(&browser, app.url(&path)).await;
    assert_eq!(status, 200);
    let csrf = csrf_field(&form);
    let (status, short) = submit(
        &browser,
        app.url(&path),
        &[("csrf_token", &csrf), ("password", "short")],
    )
    .await;
    assert_eq!(status, 422);
    assert!(short.field_error("password").is_some(), "{}", short.text());
    let (status, to) = post(
        &browser,
        app.url(&path),
        &[("csrf_token", &csrf), ("password", NEW_PASSWORD)],
    )
    .await;
    assert_eq!(
        (status, to.as_str()),
        (303, "/signin?message=password-reset")
    );
    let (_, signin) = page(&browser, app.url(&to)).await;
    assert!(
        signin.mentions("Sign in with the new one"),
        "{}",
        signin.text()
    );

    // Password and sessions: change the password, see and end sessions.
    let other = app.client();
    let login = other
        .post(app.url("/api/v1/auth/login"))
        .json(&json!({"email": "ada@example.com", "password": NEW_PASSWORD}))
        .send()
        .await
        .expect("login");
    assert_eq!(login.status(), 200);
    let here = signed_in(&app, "ada@example.com", NEW_PASSWORD).await;
    let (status, security) = page(&here, app.url("/me/security")).await;
    assert_eq!(status, 200);
    assert_eq!(security.count("#session-list tbody tr"), 2);
    assert!(security.has("#this-session"));
    let csrf = csrf_field(&security);
    let (status, wrong) = submit(
        &here,
        app.url("/me/password"),
        &[
            ("csrf_token", &csrf),
            ("current_password", "not it"),
            ("new_password", "the third passphrase"),
        ],
    )
    .await;
    assert_eq!(status, 422);
    assert!(
        wrong.field_error("current_password").is_some(),
        "{}",
        wrong.text()
    );
    assert_eq!(
        wrong
            .attr("#current-password", "aria-describedby")
            .as_deref(),
        Some("current_password-error")
    );
    let (status, to) = post(
        &here,
        app.url("/me/password"),
        &[
            ("csrf_token", &csrf),
            ("current_password", NEW_PASSWORD),
            ("new_password", "the third passphrase"),
        ],
    )
    .await;
    assert_eq!((status, to.as_str()), (303, "/me/security?done=password"));
    let (_, after) = page(&here, app.url(&to)).await;
    assert!(after
        .text_of("#security-notice")
        .starts_with("Your password was changed"));
    assert_eq!(
        after.count("#session-list tbody tr"),
        1,
        "the other one ended"
    );
    assert_eq!(me_status(&app, &other).await, 401);
    // Text in the address is never shown as a notice.
    let (_, crafted) = page(&here, app.url("/me/security?done=Call+0800+to+verify")).await;
    assert!(!crafted.mentions("0800"));

    // The token form's address, opened in the browser, leads to the tokens.
    let tokens = here
        .get(app.url("/me/tokens"))
        .send()
        .await
        .expect("tokens");
    assert_eq!(tokens.status(), 303);
    assert_eq!(tokens.headers()["location"], "/me#tokens");

    // Signing out this very session leads to the sign-in page.
    let id = after
        .attr("#session-list tbody tr", "data-session")
        .expect("a session id");
    let (status, to) = post(
        &here,
        app.url(&format!("/me/sessions/{id}/sign-out")),
        &[("csrf_token", &csrf)],
    )
    .await;
    assert_eq!((status, to.as_str()), (303, "/signin?message=signed-out"));
    let (status, _) = page(&here, app.url("/me/security")).await;
    assert_ne!(status, 200, "signed out");
}

/// A client signed in through the sign-in form with `password`.
async fn signed_in(app: &TestApp, email: &str, password: &str) -> reqwest::Client {
    let client = app.client();
    let (_, form) = page(&client, app.url("/signin")).await;
    let csrf = csrf_field(&form);
    let (status, _) = post(
        &client,
        app.url("/signin"),
        &[
            ("csrf_token", &csrf),
            ("email", email),
            ("password", password),
            ("next", ""),
        ],
    )
    .await;
    assert_eq!(status, 303, "{email} signs in");
    client
}
