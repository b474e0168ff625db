//! Notifications, the member's inbox and My profile's devices through plain
//! HTML forms (no JavaScript), on both databases.

use crate::json;
use muster_domain::{OrgId, OrgRole};
use muster_test_support::ui::{page, post, submit};
use muster_test_support::{csrf_field, db_tests, Html, TestApp};
use serde_json::json;
use time::macros::format_description;
use time::Duration;

db_tests!(
    compose_errors_are_shown_next_to_their_fields,
    a_notification_to_the_organization_shows_its_counts,
    a_scheduled_notification_can_be_canceled,
    a_member_with_the_user_role_reads_the_inbox,
    a_creator_is_offered_only_solutions_and_groups,
    my_profile_lists_and_revokes_devices,
);

fn compose_url(app: &TestApp, org: OrgId) -> String {
    app.url(&format!("/orgs/{org}/notifications"))
}

/// The compose form's CSRF token.
async fn compose_csrf(app: &TestApp, client: &reqwest::Client, org: OrgId) -> String {
    let (status, form) = page(client, compose_url(app, org)).await;
    assert_eq!(status, 200, "{form}");
    csrf_field(&form)
}

async fn run_jobs(app: &TestApp) {
    app.worker().run_until_idle().await.expect("the jobs run");
}

/// The value of the detail page's count `name`.
fn count(detail: &Html, name: &str) -> String {
    detail.text_of(&format!("#counts [data-count={name}] .value"))
}

async fn compose_errors_are_shown_next_to_their_fields(app: TestApp) {
    let (org, _) = app.create_org("Acme", "ada@example.com").await;
    app.member(org, "bob@example.com", OrgRole::User).await;
    let ada = app.form_session("ada@example.com").await;
    let (_, form) = page(&ada, compose_url(&app, org)).await;
    let csrf = csrf_field(&form);
    assert_eq!(
        form.attrs("input[name=scope]", "value"),
        ["org", "solutions", "groups", "users"]
    );
    assert!(
        form.has("datalist#member-emails option[value='bob@example.com']"),
        "member emails are suggested"
    );
    assert!(
        !form.source().contains("<script>"),
        "no inline script: {form}"
    );

    let (status, refused) = submit(
        &ada,
        compose_url(&app, org),
        &[
            ("csrf_token", &csrf),
            ("title", "  "),
            ("body", "The yard closes at noon."),
            ("link", "ftp://files.example.com"),
            ("scope", "users"),
            ("emails", "bob@example.com"),
            ("when", "now"),
        ],
    )
    .await;
    assert_eq!(status, 422);
    assert_eq!(refused.field_error("title").as_deref(), Some("required"));
    assert!(refused.field_error("link").is_some(), "{refused}");
    assert_eq!(refused.field_error("body"), None);
    // What was typed is kept.
    assert_eq!(
        refused.text_of("textarea[name=body]"),
        "The yard closes at noon."
    );
    assert_eq!(
        refused.attr("input[name=link]", "value").as_deref(),
        Some("ftp://files.example.com")
    );
    assert_eq!(
        refused
            .attr("input[name=scope][checked]", "value")
            .as_deref(),
        Some("users")
    );
    assert_eq!(refused.text_of("textarea[name=emails]"), "bob@example.com");

    // Who is not a member is named next to the emails.
    let (status, refused) = submit(
        &ada,
        compose_url(&app, org),
        &[
            ("csrf_token", &csrf),
            ("title", "Yard"),
            ("body", "The yard closes at noon."),
            ("scope", "users"),
            ("emails", "bob@example.com,\nnobody@example.com"),
            ("when", "now"),
        ],
    )
    .await;
    assert_eq!(status, 422);
    let error = refused
        .field_error("emails")
        .expect("an error at the emails");
    assert!(
        error.contains("nobody@example.com") && !error.contains("bob@"),
        "{error}"
    );
    assert_eq!(
        refused.attr("input[name=title]", "value").as_deref(),
        Some("Yard")
    );

    // A time that is not one, and a time that has passed.
    let (status, refused) = submit(
        &ada,
        compose_url(&app, org),
        &[
            ("csrf_token", &csrf),
            ("title", "Yard"),
            ("body", "Later."),
            ("scope", "org"),
            ("when", "schedule"),
            ("scheduled_at", ""),
        ],
    )
    .await;
    assert_eq!(status, 422);
    assert!(refused.field_error("scheduled_at").is_some(), "{refused}");
    let past = (app.clock_now() - Duration::days(1))
        .format(format_description!("[year]-[month]-[day]T[hour]:[minute]"))
        .expect("a time");
    let (status, refused) = submit(
        &ada,
        compose_url(&app, org),
        &[
            ("csrf_token", &csrf),
            ("title", "Yard"),
            ("body", "Later."),
            ("scope", "org"),
            ("when", "schedule"),
            ("scheduled_at", &past),
        ],
    )
    .await;
    assert_eq!(status, 422);
    assert!(
        refused
            .field_error("scheduled_at")
            .is_some_and(|e| e.contains("passed")),
        "{refused}"
    );

    // Without the session's token nothing is sent.
    let (status, _) = post(
        &ada,
        compose_url(&app, org),
        &[
            ("csrf_token", "forged"),
            ("title", "T"),
            ("body", "B"),
            ("scope", "org"),
        ],
    )
    .await;
    assert_eq!(status, 403);
    let (_, history) = page(&ada, compose_url(&app, org)).await;
    assert!(history.has("#no-notifications"), "{history}");
}

async fn a_notification_to_the_organization_shows_its_counts(app: TestApp) {
    let (org, _) = app.create_org("Acme", "ada@example.com").await;
    app.member(org, "bob@example.com", OrgRole::User).await;
    let ada = app.form_session("ada@example.com").await;
    let csrf = compose_csrf(&app, &ada, org).await;
    let form = [
        ("csrf_token", csrf.as_str()),
        ("idempotency_key", "form-1"),
        ("title", "Storm warning"),
        ("body", "Stay off the roads after 6 pm."),
        ("link", "https://example.com/storm"),
        ("scope", "org"),
        ("when", "now"),
    ];
    let (status, to) = post(&ada, compose_url(&app, org), &form).await;
    assert_eq!(status, 303);
    assert!(
        to.starts_with(&format!("/orgs/{org}/notifications/")),
        "{to}"
    );
    let (_, detail) = page(&ada, app.url(&to)).await;
    assert_eq!(detail.text_of("#notice"), "The notification is being sent.");
    assert_eq!(detail.text_of("h1#notification-title"), "Storm warning");
    assert_eq!(detail.text_of("#notification-audience"), "Organization");
    assert_eq!(
        detail.text_of("#notification-body"),
        "Stay off the roads after 6 pm."
    );
    assert!(!detail.has("#cancel-notification"));

    // The same form sent again (a double click) sends nothing new.
    let (status, again) = post(&ada, compose_url(&app, org), &form).await;
    assert_eq!(status, 303);
    assert_eq!(again.split('?').next(), to.split('?').next());

    run_jobs(&app).await;
    let path = to.split('?').next().unwrap_or_default();
    let (_, detail) = page(&ada, app.url(path)).await;
    assert_eq!(detail.text_of("#notification-status"), "Sent");
    assert_eq!(count(&detail, "recipients"), "2");
    assert_eq!(count(&detail, "failed"), "0");
    let mut emails = detail.attrs("table.recipients tbody tr", "data-email");
    emails.sort();
    assert_eq!(emails, ["ada@example.com", "bob@example.com"]);
    let bob_row = detail.rows("tr[data-email='bob@example.com']");
    assert_eq!(bob_row[0][2], "Queued", "{bob_row:?}");

    // Bob's inbox counts as delivered once he opens it.
    let bob = app.form_session("bob@example.com").await;
    let (_, inbox) = page(&bob, app.url(&format!("/orgs/{org}/inbox"))).await;
    assert!(inbox.has_text(".inbox-item .item-title", "Storm warning"));
    let (_, detail) = page(&ada, app.url(&format!("{path}?status=delivered"))).await;
    assert_eq!(count(&detail, "delivered"), "1");
    assert_eq!(
        detail.attrs("table.recipients tbody tr", "data-email"),
        ["bob@example.com"]
    );

    let (_, history) = page(&ada, compose_url(&app, org)).await;
    let rows = history.rows("table.notifications tbody tr");
    assert_eq!(rows.len(), 1, "{rows:?}");
    assert_eq!(rows[0][0], "Storm warning");
    assert_eq!(rows[0][1], "Organization");
    assert_eq!(rows[0][2], "Sent");
    assert_eq!(&rows[0][4..], ["2", "1", "0", "0"]);
    let (_, filtered) = page(&ada, format!("{}?status=scheduled", compose_url(&app, org))).await;
    assert!(filtered.has("#no-notifications"));
}

async fn a_scheduled_notification_can_be_canceled(app: TestApp) {
    let (org, ada_id) = app.create_org("Acme", "ada@example.com").await;
    let ada = app.form_session("ada@example.com").await;
    let token = app.token(ada_id).await;
    let solution = json(
        app.api(&token)
            .post(
                format!("/api/v1/orgs/{org}/solutions"),
                json!({"name": "Routes"}),
            )
            .await,
        201,
    )
    .await;
    let sol = solution["id"].as_str().unwrap_or_default().to_owned();
    let csrf = compose_csrf(&app, &ada, org).await;
    let local = (app.clock_now() + Duration::days(2))
        .format(format_description!("[year]-[month]-[day]T[hour]:[minute]"))
        .expect("a time");
    // The browser is at UTC+2: 120 minutes ahead, so two hours earlier in UTC.
    let expected = (app.clock_now() + Duration::days(2) - Duration::hours(2))
        .format(format_description!(
            "[year]-[month]-[day] [hour]:[minute] UTC"
        ))
        .expect("a time");
    let (status, to) = post(
        &ada,
        compose_url(&app, org),
        &[
            ("csrf_token", &csrf),
            ("title", "Inspection day"),
            ("body", "Bring your badge."),
            ("scope", "solutions"),
            ("solution_ids", &sol),
            ("when", "schedule"),
            ("scheduled_at", &local),
            ("tz_offset", "-120"),
        ],
    )
    .await;
    assert_eq!(status, 303, "{to}");
    let (_, detail) = page(&ada, app.url(&to)).await;
    assert_eq!(
        detail.text_of("#notice"),
        format!("The notification is scheduled for {expected}.")
    );
    assert_eq!(detail.text_of("#scheduled-at"), expected);
    assert_eq!(detail.text_of("#notification-status"), "Scheduled");
    assert_eq!(
        detail.text_of("#notification-audience"),
        "Solutions: Routes"
    );
    let (_, history) = page(&ada, format!("{}?status=scheduled", compose_url(&app, org))).await;
    assert_eq!(
        history.rows("table.notifications tbody tr")[0][3],
        format!("{expected} (scheduled)")
    );

    let path = to.split('?').next().unwrap_or_default().to_owned();
    let cancel = format!("{path}/cancel");
    let csrf = csrf_field(&detail);
    let (status, back) = post(&ada, app.url(&cancel), &[("csrf_token", "forged")]).await;
    assert_eq!((status, back.as_str()), (403, ""));
    let (status, back) = post(&ada, app.url(&cancel), &[("csrf_token", &csrf)]).await;
    assert_eq!(status, 303);
    let (_, detail) = page(&ada, app.url(&back)).await;
    assert_eq!(
        detail.text_of("#notice"),
        "The notification was canceled. Nobody receives it."
    );
    assert_eq!(detail.text_of("#notification-status"), "Canceled");
    assert!(!detail.has("#cancel-notification"));
    // Too late the second time: said on the page.
    let (_, back) = post(&ada, app.url(&cancel), &[("csrf_token", &csrf)]).await;
    let (_, detail) = page(&ada, app.url(&back)).await;
    assert!(detail.text_of("#error").contains("canceled"), "{detail}");
}

async fn a_member_with_the_user_role_reads_the_inbox(app: TestApp) {
    let (org, ada_id) = app.create_org("Acme", "ada@example.com").await;
    app.member(org, "bob@example.com", OrgRole::User).await;
    let token = app.token(ada_id).await;
    for title in ["Shift change", "Gate code"] {
        json(
            app.api(&token)
                .post(
                    format!("/api/v1/orgs/{org}/notifications"),
                    json!({"title": title, "body": format!("About: {title}"), "scope": "org"}),
                )
                .await,
            201,
        )
        .await;
    }
    run_jobs(&app).await;

    let bob = app.form_session("bob@example.com").await;
    let home = bob.get(app.url("/")).send().await.expect("home");
    let inbox_path = format!("/orgs/{org}/inbox");
    assert_eq!(home.headers()["location"], inbox_path.as_str());
    let (status, inbox) = page(&bob, app.url(&inbox_path)).await;
    assert_eq!(status, 200);
    assert_eq!(inbox.select("nav.sidebar .nav a"), ["Inbox"]);
    assert_eq!(
        inbox.select(".inbox-item .item-title"),
        ["Gate code", "Shift change"],
        "newest first"
    );
    assert_eq!(inbox.count(".inbox-item.unread"), 2);
    assert_eq!(
        inbox.attr("#inbox-items", "data-stream"),
        Some(format!("/api/v1/app/events?org={org}"))
    );
    assert!(inbox.has("script[src='/static/notifications.js']"));

    // Management pages still say why, and lead to the inbox.
    let (status, no_access) = page(&bob, app.url("/no-access")).await;
    assert_eq!(status, 403);
    assert_eq!(no_access.text_of("h1"), "Management needs another role");
    assert_eq!(
        no_access.attr("a#open-inbox", "href"),
        Some(inbox_path.clone())
    );
    let (status, _) = page(&bob, app.url(&format!("/orgs/{org}/notifications"))).await;
    assert_eq!(status, 303);

    let gate = inbox.attr("tr.inbox-item", "data-id").expect("an item id");
    let csrf = csrf_field(&inbox);
    let (status, back) = post(
        &bob,
        app.url(&format!("{inbox_path}/{gate}/read")),
        &[("csrf_token", &csrf)],
    )
    .await;
    assert_eq!(status, 303);
    let (_, inbox) = page(&bob, app.url(&back)).await;
    assert_eq!(inbox.text_of("#notice"), "Marked as read.");
    assert_eq!(inbox.count(".inbox-item.unread"), 1);
    assert_eq!(
        inbox.text_of(&format!("tr[data-id='{gate}'] .item-state")),
        "Read"
    );
    assert!(!inbox.has(&format!("tr[data-id='{gate}'] button.mark-read")));

    let (_, back) = post(
        &bob,
        app.url(&format!("{inbox_path}/read-all")),
        &[("csrf_token", &csrf)],
    )
    .await;
    let (_, inbox) = page(&bob, app.url(&back)).await;
    assert_eq!(
        inbox.text_of("#notice"),
        "Every notification is marked as read."
    );
    assert_eq!(inbox.count(".inbox-item.unread"), 0);
    // A link cannot make the page say something of its own.
    let forged = format!("{inbox_path}?done=Your+account+is+locked&notice=Call+us");
    let (_, inbox) = page(&bob, app.url(&forged)).await;
    assert!(!inbox.has("#notice"), "{inbox}");

    let (_, back) = post(
        &bob,
        app.url(&format!("{inbox_path}/{gate}/delete")),
        &[("csrf_token", &csrf)],
    )
    .await;
    let (_, inbox) = page(&bob, app.url(&back)).await;
    assert_eq!(inbox.select(".inbox-item .item-title"), ["Shift change"]);
    let (status, _) = post(
        &bob,
        app.url(&format!("{inbox_path}/{gate}/delete")),
        &[("csrf_token", &csrf)],
    )
    .await;
    assert_eq!(status, 404, "it is gone");

    // Owners have the inbox next to Management.
    let ada = app.form_session("ada@example.com").await;
    let (_, nav) = page(&ada, app.url(&format!("/orgs/{org}/overview"))).await;
    assert_eq!(
        nav.select("nav.sidebar .nav a")[..3],
        ["Overview", "Inbox", "Users"]
    );
    assert!(nav.has_text("nav.sidebar .nav a", "Notifications"));
}

async fn a_creator_is_offered_only_solutions_and_groups(app: TestApp) {
    let (org, ada_id) = app.create_org("Acme", "ada@example.com").await;
    let carl_id = app.member(org, "carl@example.com", OrgRole::Creator).await;
    let admin_token = app.token(ada_id).await;
    let hidden = json(
        app.api(&admin_token)
            .post(
                format!("/api/v1/orgs/{org}/solutions"),
                json!({"name": "Hidden"}),
            )
            .await,
        201,
    )
    .await;
    let carl_token = app.token(carl_id).await;
    let mine = json(
        app.api(&carl_token)
            .post(
                format!("/api/v1/orgs/{org}/solutions"),
                json!({"name": "Routes"}),
            )
            .await,
        201,
    )
    .await;
    let mine_id = mine["id"].as_str().unwrap_or_default().to_owned();
    json(
        app.api(&carl_token)
            .post(
                format!("/api/v1/orgs/{org}/solutions/{mine_id}/groups"),
                json!({"name": "Drivers"}),
            )
            .await,
        201,
    )
    .await;

    let carl = app.form_session("carl@example.com").await;
    let (_, form) = page(&carl, compose_url(&app, org)).await;
    assert_eq!(
        form.attrs("input[name=scope]", "value"),
        ["solutions", "groups"]
    );
    assert_eq!(
        form.attr("input[name=scope][checked]", "value").as_deref(),
        Some("solutions")
    );
    assert_eq!(
        form.attrs("input[name=solution_ids]", "data-name"),
        ["Routes"]
    );
    assert_eq!(
        form.attrs("input[name=group_ids]", "data-name"),
        ["Drivers"]
    );
    assert!(!form.has("textarea[name=emails]") && !form.has("datalist"));
    assert!(!form.mentions(hidden["id"].as_str().unwrap_or("?")));

    // A forged form for the whole organization is refused next to the audience.
    let csrf = csrf_field(&form);
    let (status, refused) = submit(
        &carl,
        compose_url(&app, org),
        &[
            ("csrf_token", &csrf),
            ("title", "All"),
            ("body", "Everyone"),
            ("scope", "org"),
        ],
    )
    .await;
    assert_eq!(status, 403);
    assert!(
        refused.text_of("#scope-error").contains("solutions"),
        "{refused}"
    );

    let group = form
        .attr("input[name=group_ids]", "value")
        .expect("a group");
    let (status, to) = post(
        &carl,
        compose_url(&app, org),
        &[
            ("csrf_token", &csrf),
            ("title", "Drivers"),
            ("body", "Fuel cards renewed."),
            ("scope", "groups"),
            // Left ticked in another audience: not part of this one.
            ("solution_ids", &mine_id),
            ("group_ids", &group),
        ],
    )
    .await;
    assert_eq!(status, 303, "{to}");
    let (_, detail) = page(&carl, app.url(&to)).await;
    assert_eq!(
        detail.text_of("#notification-audience"),
        "Groups: Drivers (Routes)"
    );
}

async fn my_profile_lists_and_revokes_devices(app: TestApp) {
    let (_, ada_id) = app.create_org("Acme", "ada@example.com").await;
    let token = app.token(ada_id).await;
    let device = json(
        app.api(&token)
            .post(
                "/api/v1/app/devices",
                json!({"name": "Ada's phone", "platform": "android"}),
            )
            .await,
        201,
    )
    .await;
    let id = device["id"].as_str().unwrap_or_default().to_owned();
    let ada = app.form_session("ada@example.com").await;
    let (_, profile) = page(&ada, app.url("/me")).await;
    let rows = profile.rows("#device-list tbody tr");
    assert_eq!(rows.len(), 1, "{profile}");
    assert_eq!(rows[0][..4], ["Ada's phone", "android", "No", "just now"]);
    assert_eq!(rows[0][4], "never");

    let revoke = format!("/me/devices/{id}/revoke");
    assert_eq!(
        profile
            .attr(&format!("form[action='{revoke}'] button"), "data-revoke")
            .as_deref(),
        Some("Ada's phone")
    );
    let (status, _) = post(&ada, app.url(&revoke), &[("csrf_token", "forged")]).await;
    assert_eq!(status, 403);
    let csrf = csrf_field(&profile);
    let (status, back) = post(&ada, app.url(&revoke), &[("csrf_token", &csrf)]).await;
    assert_eq!((status, back.as_str()), (303, "/me?device=revoked#devices"));
    let (_, profile) = page(&ada, app.url(&back)).await;
    assert!(profile.has("#no-devices"), "{profile}");
    assert!(profile.has_text("p.notice", "The device was revoked. Its app is signed out."));
    let (status, _) = post(&ada, app.url(&revoke), &[("csrf_token", &csrf)]).await;
    assert_eq!(status, 404);
    let gone = app
        .api(device["token"].as_str().unwrap_or_default())
        .get("/api/v1/app/notifications")
        .await;
    assert_eq!(gone.status(), 401);
}
