//! The Overview in the web UI, on both databases: its numbers and the Quick
//! start steps, ticked from what the organization really did.

use super::ui_usage::*;
use crate::json;
use muster_domain::{MembershipStatus, OrgRole};
use muster_test_support::{db_tests, Html, TestApp};
use reqwest::Method;
use serde_json::json;
use time::format_description::well_known::Rfc3339;
use time::Duration;

db_tests!(
    the_overview_ticks_quick_start_from_what_the_organization_did,
    the_template_step_is_done_once_an_invitation_went_out_with_it,
    the_overview_compares_weeks_counts_errors_and_waiting_invitations,
    the_overview_error_count_is_the_last_24_hours_troubleshooting_shows,
);

// ---------------------------------------------------------------- the Overview

/// The Quick start steps as (step, class).
fn steps(overview: &Html) -> Vec<(String, String)> {
    overview
        .attrs("section#quick-start ol li[data-step]", "data-step")
        .into_iter()
        .zip(overview.attrs("section#quick-start ol li[data-step]", "class"))
        .collect()
}

fn step_states(done: &[&str]) -> Vec<(String, String)> {
    ["template", "invite", "solution", "token", "notification"]
        .iter()
        .map(|s| {
            let class = if done.contains(s) { "done" } else { "todo" };
            ((*s).to_owned(), class.to_owned())
        })
        .collect()
}

async fn the_overview_ticks_quick_start_from_what_the_organization_did(app: TestApp) {
    let (org, _) = app.create_org("Acme", "ada@example.com").await;
    app.member(org, "bob@example.com", OrgRole::User).await;
    let dee = app.create_user("dee@example.com").await;
    app.add_member(org, dee, OrgRole::User, MembershipStatus::Disabled)
        .await;
    let ada = Session::sign_in(&app, "ada@example.com").await;
    let overview_path = format!("/orgs/{org}/overview");

    let fresh = ada.page(&overview_path).await;
    assert_eq!(fresh.text_of("main h1"), "Overview");
    assert_eq!(fresh.text_of("#active-members"), "2");
    assert_eq!(fresh.text_of("#invited-members"), "0");
    assert_eq!(fresh.text_of("#disabled-members"), "1");
    assert_eq!(fresh.text_of("#solution-count"), "0");
    assert_eq!(fresh.text_of("#steps-done"), "0 of 5 done");
    assert_eq!(steps(&fresh), step_states(&[]));
    assert_eq!(
        fresh.attrs("section#quick-start ol li[data-step] a", "href"),
        [
            format!("/orgs/{org}/settings#invites"),
            format!("/orgs/{org}/users"),
            format!("/orgs/{org}/solutions"),
            "/me#tokens".to_owned(),
            format!("/orgs/{org}/notifications"),
        ]
    );
    assert!(!fresh.has("#all-done") && !fresh.has("#waiting-invitations"));
    assert_eq!(fresh.text_of("#notifications-week"), "0");
    assert_eq!(fresh.text_of("#error-logs"), "0");

    // Each step is ticked by doing it.
    app.clock.advance(Duration::minutes(5));
    json(
        ada.call(
            Method::PUT,
            &format!("/api/v1/orgs/{org}/invite-templates/en"),
            json!({"subject": "Join {{ organization }}",
                   "body": "Hello {{ first_name }}, join us: {{ invite_link }}"}),
        )
        .await,
        200,
    )
    .await;
    let after_template = ada.page(&overview_path).await;
    assert_eq!(steps(&after_template), step_states(&["template"]));
    assert_eq!(after_template.text_of("#steps-done"), "1 of 5 done");
    assert_eq!(
        after_template.text_of("li[data-step=template] .visually-hidden"),
        "(done)"
    );

    json(
        ada.post(
            &format!("/api/v1/orgs/{org}/invitations"),
            json!({"email": "eve@example.com", "first_name": "Eve", "last_name": "Adams"}),
        )
        .await,
        201,
    )
    .await;
    let after_invite = ada.page(&overview_path).await;
    assert_eq!(steps(&after_invite), step_states(&["template", "invite"]));
    assert_eq!(after_invite.text_of("#invited-members"), "1");

    json(
        ada.post(
            &format!("/api/v1/orgs/{org}/solutions"),
            json!({"name": "Field app"}),
        )
        .await,
        201,
    )
    .await;
    let after_solution = ada.page(&overview_path).await;
    assert_eq!(
        steps(&after_solution),
        step_states(&["template", "invite", "solution"])
    );
    assert_eq!(after_solution.text_of("#solution-count"), "1");
    let one_solution = after_solution.text_of("a.number:has(#solution-count) .label");

    json(
        ada.post("/api/v1/me/tokens", json!({"name": "CI pipeline"}))
            .await,
        201,
    )
    .await;
    let after_token = ada.page(&overview_path).await;
    assert_eq!(
        steps(&after_token),
        step_states(&["template", "invite", "solution", "token"])
    );
    assert_eq!(after_token.text_of("#steps-done"), "4 of 5 done");

    json(
        ada.post(
            &format!("/api/v1/orgs/{org}/notifications"),
            json!({"title": "Shift change", "body": "Tomorrow at 7", "scope": "org"}),
        )
        .await,
        201,
    )
    .await;
    roll_up(&app).await;
    let done = ada.page(&overview_path).await;
    assert_eq!(done.text_of("#steps-done"), "5 of 5 done");
    assert_eq!(
        done.text_of("#all-done"),
        "Every step is done: your organization is set up."
    );
    assert!(
        !done.has("section#quick-start li[data-step]"),
        "no list of steps left"
    );
    assert_eq!(done.text_of("#notifications-week"), "1");
    assert_eq!(done.text_of("#active-today"), "1", "Ada did all of it");
    assert_eq!(done.text_of("#active-week"), "1");
    assert_eq!(
        done.text_of("#active-week-before"),
        "0 in the 7 days before"
    );
    assert!(
        !done.has("#active-change"),
        "no week before to compare with"
    );

    // The same steps on the Usage page: an invitation and a notification sent.
    let usage = ada.page(&usage_path(org, "range=7")).await;
    assert_eq!(total(&usage, "invitations_sent"), "1");
    assert_eq!(total(&usage, "notifications_sent"), "1");
    assert_eq!(total(&usage, "sign_ins"), "1");

    // One solution is not "1 solutions".
    assert_eq!(one_solution, "solution", "the label under a count of 1");
}

/// The template an organization starts with is reviewed in effect once an
/// invitation went out with it unchanged: both steps are ticked.
async fn the_template_step_is_done_once_an_invitation_went_out_with_it(app: TestApp) {
    let (org, _) = app.create_org("Acme", "ada@example.com").await;
    let ada = Session::sign_in(&app, "ada@example.com").await;
    let overview_path = format!("/orgs/{org}/overview");
    assert_eq!(steps(&ada.page(&overview_path).await), step_states(&[]));
    json(
        ada.post(
            &format!("/api/v1/orgs/{org}/invitations"),
            json!({"email": "eve@example.com"}),
        )
        .await,
        201,
    )
    .await;
    let after = ada.page(&overview_path).await;
    assert_eq!(steps(&after), step_states(&["template", "invite"]));
    assert_eq!(after.text_of("#steps-done"), "2 of 5 done");
}

async fn the_overview_compares_weeks_counts_errors_and_waiting_invitations(app: TestApp) {
    let (org, _) = app.create_org("Acme", "ada@example.com").await;
    let bob = app.member(org, "bob@example.com", OrgRole::User).await;
    let cy = app.member(org, "cy@example.com", OrgRole::User).await;
    let dan = app.member(org, "dan@example.com", OrgRole::User).await;
    let (bob_phone, cy_phone, dan_phone) = (
        device(&app, bob).await,
        device(&app, cy).await,
        device(&app, dan).await,
    );
    // The week before: Bob and Cy. This week: Bob and Dan, and Ada today.
    send_usage(
        &bob_phone,
        org,
        json!([{"type": "shift.started", "time": ago(&app, 10)},
               {"type": "shift.started", "time": ago(&app, 2)}]),
    )
    .await;
    send_usage(
        &cy_phone,
        org,
        json!([{"type": "shift.started", "time": ago(&app, 9)}]),
    )
    .await;
    send_usage(
        &dan_phone,
        org,
        json!([{"type": "shift.started", "time": ago(&app, 5)}]),
    )
    .await;
    let ada = Session::sign_in(&app, "ada@example.com").await;
    json(
        ada.call(
            Method::PATCH,
            &format!("/api/v1/orgs/{org}"),
            json!({"logging_level": "trace"}),
        )
        .await,
        200,
    )
    .await;
    // Bob's phone logs three errors in the last day, a warning, and an older error.
    let now = app.clock_now();
    let at = |by: Duration| (now - by).format(&Rfc3339).expect("a time");
    let logged = json(
        bob_phone
            .post(
                format!("/api/v1/app/logs?org={org}"),
                json!({"entries": [
                    {"time": at(Duration::ZERO), "level": "error", "message": "upload failed", "correlation_id": "c-upload"},
                    {"time": at(Duration::ZERO), "level": "error", "message": "upload failed again", "correlation_id": "c-upload"},
                    {"time": at(Duration::hours(1)), "level": "fatal", "message": "crash on start", "correlation_id": "c-crash"},
                    {"time": at(Duration::minutes(3)), "level": "warn", "message": "slow sync", "correlation_id": "c-slow"},
                    {"time": at(Duration::hours(30)), "level": "error", "message": "old failure", "correlation_id": "c-old"},
                ]}),
            )
            .await,
        202,
    )
    .await;
    assert_eq!(logged["accepted"], 5, "{logged}");
    json(
        ada.post(
            &format!("/api/v1/orgs/{org}/invitations"),
            json!({"email": "walt@example.com", "first_name": "Walt"}),
        )
        .await,
        201,
    )
    .await;
    roll_up(&app).await;
    let overview_path = format!("/orgs/{org}/overview");

    let overview = ada.page(&overview_path).await;
    assert_eq!(
        overview.text_of("#active-today"),
        "2",
        "Ada and Bob's phone"
    );
    assert_eq!(overview.text_of("#active-week"), "3", "Ada, Bob and Dan");
    assert_eq!(
        overview.text_of("#active-week-before"),
        "2 in the 7 days before"
    );
    assert_eq!(overview.text_of("#active-change"), "+50%");
    assert_eq!(overview.text_of("#error-logs"), "3", "the last 24 hours");
    assert!(overview.has("a#errors-link.attention"));
    let errors = overview
        .attr("a#errors-link", "href")
        .expect("a link to Troubleshooting");
    assert_eq!(
        errors,
        format!("/orgs/{org}/troubleshooting?range=day&level=error")
    );
    assert!(!overview.has("#waiting-invitations"), "a fresh invitation");
    assert_eq!(overview.text_of("#invited-members"), "1");

    // The link leads to the errors of the last day.
    let troubleshooting = ada.page(&errors).await;
    assert_eq!(troubleshooting.text_of("main h1"), "Troubleshooting");
    let listed = troubleshooting.attrs("table#correlations tbody tr", "data-correlation");
    assert!(
        listed.contains(&"c-upload".to_owned()) && listed.contains(&"c-crash".to_owned()),
        "{listed:?}"
    );
    assert!(
        !listed.contains(&"c-slow".to_owned()) && !listed.contains(&"c-old".to_owned()),
        "{listed:?}"
    );

    // An invitation unanswered after three days is pointed out, not before.
    app.clock.advance(Duration::days(2));
    let ada = Session::sign_in(&app, "ada@example.com").await;
    let two_days = ada.page(&overview_path).await;
    assert!(!two_days.has("#waiting-invitations"));
    app.clock.advance(Duration::days(1) + Duration::minutes(1));
    let ada = Session::sign_in(&app, "ada@example.com").await;
    let waiting = ada.page(&overview_path).await;
    assert_eq!(
        waiting.text_of("#waiting-invitations"),
        "1 invitation sent more than 3 days ago has not been accepted yet. You can send them again from each member's page."
    );
    assert_eq!(
        waiting.attr("#waiting-invitations a", "href"),
        Some(format!("/orgs/{org}/users?status=invited"))
    );
    // Three days on, yesterday's errors are no longer the last 24 hours'.
    assert_eq!(waiting.text_of("#error-logs"), "0");
    assert!(!waiting.has("a#errors-link.attention"));
}

async fn the_overview_error_count_is_the_last_24_hours_troubleshooting_shows(app: TestApp) {
    let (org, _) = app.create_org("Acme", "ada@example.com").await;
    let bob = app.member(org, "bob@example.com", OrgRole::User).await;
    let bob_phone = device(&app, bob).await;
    // 02:00 UTC the next day: yesterday 01:00 is 25 hours ago, 23:00 three.
    let tomorrow = day(&app, -1);
    app.clock
        .set(tomorrow.with_hms(2, 0, 0).expect("a time").assume_utc());
    let yesterday = tomorrow - Duration::days(1);
    let at = |hour: u8| {
        yesterday
            .with_hms(hour, 0, 0)
            .expect("a time")
            .assume_utc()
            .format(&Rfc3339)
            .expect("a time")
    };
    // The phone was offline and sends yesterday's errors in one call.
    let logged = json(
        bob_phone
            .post(
                format!("/api/v1/app/logs?org={org}"),
                json!({"entries": [
                    {"time": at(1), "level": "error", "message": "sync failed at 1 am", "correlation_id": "c-early"},
                    {"time": at(23), "level": "error", "message": "sync failed at 11 pm", "correlation_id": "c-late"},
                ]}),
            )
            .await,
        202,
    )
    .await;
    assert_eq!(logged["accepted"], 2, "{logged}");
    let ada = Session::sign_in(&app, "ada@example.com").await;
    roll_up(&app).await;

    let overview = ada.page(&format!("/orgs/{org}/overview")).await;
    let link = overview
        .attr("a#errors-link", "href")
        .expect("a link to Troubleshooting");
    let troubleshooting = ada.page(&link).await;
    assert_eq!(
        troubleshooting.attrs("table#correlations tbody tr", "data-correlation"),
        ["c-late"],
        "the last day's errors"
    );
    assert_eq!(
        overview.text_of("#error-logs"),
        "1",
        "the 1 am error is 25 hours old: not one of the last 24 hours"
    );
}
