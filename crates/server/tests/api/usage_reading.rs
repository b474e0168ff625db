//! Reading usage through HTTP, on both databases: what each role may read,
//! the CSV, bad queries named by field, and the Overview's figures.

use super::usage::*;
use crate::{assign, json, problem, solution};
use muster_domain::{MembershipStatus, OrgRole, SolutionId};
use muster_test_support::{db_tests, TestApp};
use serde_json::json;
use std::collections::BTreeSet;
use time::Duration;

db_tests!(
    each_role_reads_what_it_may,
    csv_has_a_row_per_period_and_the_totals,
    bad_queries_are_named_by_field,
    the_overview_shows_the_organization_at_a_glance,
    a_reinvited_member_is_no_longer_waiting_on_the_overview,
    the_overview_counts_error_entries_of_the_last_24_hours_only,
    notifications_count_for_the_whole_organization_not_a_solution,
);

// ---------------------------------------------------------------- who reads

async fn each_role_reads_what_it_may(app: TestApp) {
    pin(&app);
    let (org, ada) = app.create_org("Acme", "ada@example.com").await;
    let api = app.api(&app.token(ada).await);
    let a = solution(&api, org, "Alpha").await;
    let b = solution(&api, org, "Beta").await;
    let (cy, cy_api) = member_api(&app, org, "cy@example.com", OrgRole::Creator).await;
    assign(&api, org, cy, &a, "editor").await;
    assign(&api, org, cy, &b, "user").await;
    let (_, zed_api) = member_api(&app, org, "zed@example.com", OrgRole::Creator).await;
    let (_, ursula_api) = member_api(&app, org, "ursula@example.com", OrgRole::User).await;
    let (_, admin_api) = member_api(&app, org, "adam@example.com", OrgRole::Admin).await;
    let (_, alice) = member_api(&app, org, "alice@example.com", OrgRole::User).await;
    let (_, oscar) = app.create_org("Other", "oscar@example.com").await;
    let outsider = app.api(&app.token(oscar).await);

    send(&alice, org, events(2, "solution_opened", Some(&a), None)).await;
    send(&alice, org, events(3, "solution_opened", Some(&b), None)).await;
    send(&alice, org, events(1, "alpha.thing", Some(&a), None)).await;
    send(&alice, org, events(1, "beta.thing", Some(&b), None)).await;
    let entries = json!({"entries": [
        {"level": "error", "message": "m", "correlation_id": "c", "solution_id": a},
        {"level": "error", "message": "m", "correlation_id": "c", "solution_id": b},
        {"level": "error", "message": "m", "correlation_id": "c", "solution_id": b},
        {"level": "fatal", "message": "m", "correlation_id": "c"},
    ]});
    json(
        alice
            .post(format!("/api/v1/app/logs?org={org}"), entries)
            .await,
        202,
    )
    .await;
    api_session(&app, "alice@example.com").await;
    roll(&app).await;

    let today = day(app.clock_now());
    let query = format!("from={today}&to={today}");
    for reader in [&api, &admin_api] {
        let whole = usage(reader, org, &query).await;
        assert_eq!(whole["restricted"], false);
        assert_eq!(total(&whole, "solution_opens"), 5);
        assert_eq!(total(&whole, "sign_ins"), 1);
        assert_eq!(total(&whole, "error_logs"), 4);
        assert_eq!(customs(&whole).len(), 2);
    }

    // A creator reads the solutions they edit, owner or admin of.
    let mine = usage(&cy_api, org, &query).await;
    assert_eq!(mine["restricted"], true);
    assert_eq!(total(&mine, "solution_opens"), 2, "Alpha only");
    assert_eq!(
        total(&mine, "sign_ins"),
        0,
        "sign-ins belong to no solution"
    );
    assert_eq!(total(&mine, "error_logs"), 1);
    assert_eq!(customs(&mine), pairs(&[("alpha.thing", 1)]));
    let alpha = usage(&cy_api, org, &format!("{query}&solution={a}")).await;
    assert_eq!(alpha["restricted"], true);
    assert_eq!(alpha["solution_id"], a.as_str());
    assert_eq!(total(&alpha, "solution_opens"), 2);
    let denied = problem(
        cy_api
            .get(format!("/api/v1/orgs/{org}/usage?{query}&solution={b}"))
            .await,
        403,
    )
    .await;
    assert!(denied["detail"].as_str().is_some_and(|d| !d.is_empty()));
    problem(
        cy_api
            .get(format!("/api/v1/orgs/{org}/usage.csv?{query}&solution={b}"))
            .await,
        403,
    )
    .await;
    // A creator with no solution of their own sees nothing, not the organization.
    let none = usage(&zed_api, org, &query).await;
    assert_eq!(none["restricted"], true);
    for metric in [
        "active_users",
        "solution_opens",
        "sign_ins",
        "error_logs",
        "api_calls",
    ] {
        assert_eq!(total(&none, metric), 0, "{metric}");
    }
    assert!(customs(&none).is_empty());

    // `user` members read no usage; other organizations' members find none.
    for path in ["usage", "usage.csv"] {
        problem(
            ursula_api
                .get(format!("/api/v1/orgs/{org}/{path}?{query}"))
                .await,
            403,
        )
        .await;
        problem(
            outsider
                .get(format!("/api/v1/orgs/{org}/{path}?{query}"))
                .await,
            404,
        )
        .await;
    }
    // A solution that does not exist, or is another organization's.
    problem(
        api.get(format!(
            "/api/v1/orgs/{org}/usage?solution={}",
            SolutionId::new()
        ))
        .await,
        404,
    )
    .await;

    // The Overview of a creator: their solutions' error log entries only.
    let cy_client = app.form_session("cy@example.com").await;
    let page = overview(&app, &cy_client, org).await;
    assert!(page.has("#restricted-note"), "{page}");
    assert_eq!(page.text_of("#error-logs"), "1");
    let ada_client = app.form_session("ada@example.com").await;
    let page = overview(&app, &ada_client, org).await;
    assert!(!page.has("#restricted-note"));
    assert_eq!(page.text_of("#error-logs"), "4");
}

// ---------------------------------------------------------------- CSV

async fn csv_has_a_row_per_period_and_the_totals(app: TestApp) {
    pin(&app);
    let (org, ada) = app.create_org("Acme", "ada@example.com").await;
    let api = app.api(&app.token(ada).await);
    let sol = solution(&api, org, "Orders").await;
    let (_, alice) = member_api(&app, org, "alice@example.com", OrgRole::User).await;
    let (_, bob) = member_api(&app, org, "bob@example.com", OrgRole::User).await;
    send(
        &alice,
        org,
        events(
            2,
            "solution_opened",
            Some(&sol),
            Some("2026-11-16T09:00:00Z".into()),
        ),
    )
    .await;
    send(
        &bob,
        org,
        events(
            1,
            "screen_viewed",
            Some(&sol),
            Some("2026-11-17T09:00:00Z".into()),
        ),
    )
    .await;
    send(
        &alice,
        org,
        events(3, "order.placed", None, Some("2026-11-17T10:00:00Z".into())),
    )
    .await;
    roll(&app).await;

    let query = "from=2026-11-16&to=2026-11-18";
    let view = usage(&api, org, query).await;
    let response = api
        .get(format!("/api/v1/orgs/{org}/usage.csv?{query}"))
        .await;
    assert_eq!(response.status(), 200);
    let header = |name: &str| {
        response
            .headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned()
    };
    assert!(
        header("content-type").starts_with("text/csv"),
        "{}",
        header("content-type")
    );
    let disposition = header("content-disposition");
    assert!(
        disposition.starts_with("attachment")
            && disposition.contains("usage-2026-11-16-2026-11-18.csv"),
        "{disposition}"
    );
    let text = response.text().await.expect("the CSV");
    assert!(text.ends_with("\r\n"), "{text:?}");
    let rows: Vec<Vec<String>> = text
        .lines()
        .map(|l| {
            l.trim_end_matches('\r')
                .split(',')
                .map(str::to_owned)
                .collect()
        })
        .collect();
    let metrics = [
        "active_users",
        "sign_ins",
        "solution_opens",
        "screen_views",
        "notification_opens",
        "api_calls",
        "error_logs",
        "invitations_sent",
        "invitations_accepted",
        "notifications_sent",
        "notifications_delivered",
        "custom_events",
    ];
    let mut expected_header = vec!["period", "from", "to"];
    expected_header.extend(metrics);
    assert_eq!(rows[0], expected_header, "{text}");
    assert_eq!(
        rows.len(),
        1 + 3 + 1,
        "a header, three days and the total: {text}"
    );
    for (i, date) in ["2026-11-16", "2026-11-17", "2026-11-18"]
        .iter()
        .enumerate()
    {
        let row = &rows[1 + i];
        assert_eq!(row[..3], ["day", date, date], "{text}");
        for (m, metric) in metrics.iter().enumerate() {
            assert_eq!(
                row[3 + m],
                values(&view, metric)[i].to_string(),
                "{metric} on {date}"
            );
        }
    }
    let totals = &rows[4];
    assert_eq!(totals[..3], ["total", "2026-11-16", "2026-11-18"]);
    for (m, metric) in metrics.iter().enumerate() {
        assert_eq!(totals[3 + m], total(&view, metric).to_string(), "{metric}");
    }
    assert_eq!(totals[5], "2", "solution opens");
    assert_eq!(totals[14], "3", "custom events");
    assert_eq!(rows[2][3], "2", "Alice and Bob on the 17th");

    // By week: the rows are weeks, the totals the same.
    let weekly = api
        .get(format!(
            "/api/v1/orgs/{org}/usage.csv?{query}&interval=week"
        ))
        .await
        .text()
        .await
        .expect("the CSV");
    let lines: Vec<&str> = weekly.lines().collect();
    assert_eq!(lines.len(), 3, "{weekly}");
    assert!(
        lines[1].starts_with("week,2026-11-16,2026-11-18,"),
        "{weekly}"
    );
    assert_eq!(
        lines[2].split(',').skip(3).collect::<Vec<_>>(),
        totals[3..].iter().map(String::as_str).collect::<Vec<_>>()
    );
}

// ---------------------------------------------------------------- bad input

async fn bad_queries_are_named_by_field(app: TestApp) {
    pin(&app);
    let (org, ada) = app.create_org("Acme", "ada@example.com").await;
    let api = app.api(&app.token(ada).await);
    let bad = |query: &'static str, wanted: &'static [&'static str]| {
        let api = api.clone();
        async move {
            for path in ["usage", "usage.csv"] {
                let body = problem(
                    api.get(format!("/api/v1/orgs/{org}/{path}?{query}")).await,
                    422,
                )
                .await;
                assert_eq!(
                    fields(&body),
                    wanted
                        .iter()
                        .map(|f| (*f).to_owned())
                        .collect::<BTreeSet<_>>(),
                    "{path}?{query}: {body}"
                );
            }
        }
    };
    bad("from=yesterday", &["from"]).await;
    bad("to=2026-13-01", &["to"]).await;
    bad("from=2026-11-18&to=2026-11-17", &["to"]).await;
    bad("from=2024-11-17&to=2026-11-18", &["from"]).await;
    bad("interval=hour", &["interval"]).await;
    bad("solution=nope", &["solution"]).await;
    bad("from=soon&interval=hourly", &["from", "interval"]).await;
    // Its UTC day would be in the year 10000.
    bad("to=9999-12-31T23:30:00-01:00", &["to"]).await;

    // The longest window, and the defaults.
    let longest = usage(&api, org, "from=2024-11-18&to=2026-11-18&interval=month").await;
    assert_eq!(longest["from"], "2024-11-18");
    assert_eq!(periods(&longest).len(), 25);
    let default = usage(&api, org, "").await;
    assert_eq!(default["to"], "2026-11-18", "today");
    assert_eq!(default["from"], "2026-10-20", "30 days");
    assert_eq!(default["interval"], "day");
    assert_eq!(periods(&default).len(), 30);
    let blank = usage(&api, org, "from=&to=&interval=&solution=").await;
    assert_eq!(blank["from"], default["from"]);
    // A whole time is its UTC day.
    let timed = usage(&api, org, "from=2026-11-17T23:30:00-02:00&to=2026-11-18").await;
    assert_eq!(timed["from"], "2026-11-18");

    // Sending: no JSON, the wrong shape.
    let url = app.url(&format!("/api/v1/app/usage?org={org}"));
    let token = app.token(ada).await;
    let not_json = reqwest::Client::new()
        .post(&url)
        .bearer_auth(&token)
        .body("events")
        .send()
        .await
        .expect("send");
    problem(not_json, 415).await;
    let wrong = problem(
        api.post(
            format!("/api/v1/app/usage?org={org}"),
            json!({"events": "x"}),
        )
        .await,
        422,
    )
    .await;
    assert_eq!(fields(&wrong), BTreeSet::from(["events".to_owned()]));
    let empty = send(&api, org, json!([])).await;
    assert_eq!(empty["accepted"], 0);
}

// ---------------------------------------------------------------- overview

async fn the_overview_shows_the_organization_at_a_glance(app: TestApp) {
    pin(&app);
    let (org, ada) = app.create_org("Acme", "ada@example.com").await;
    let bob = app.member(org, "bob@example.com", OrgRole::User).await;
    let dee = app.create_user("dee@example.com").await;
    app.add_member(org, dee, OrgRole::User, MembershipStatus::Disabled)
        .await;
    let client = app.form_session("ada@example.com").await;

    let page = overview(&app, &client, org).await;
    assert_eq!(page.text_of("#active-members"), "2");
    assert_eq!(page.text_of("#invited-members"), "0");
    assert_eq!(page.text_of("#disabled-members"), "1");
    assert_eq!(page.text_of("#solution-count"), "0");
    assert_eq!(page.text_of("#error-logs"), "0");
    assert!(!page.has("#waiting-invitations"));
    assert_eq!(page.text_of("#steps-done"), "0 of 5 done");
    assert_eq!(
        steps(&page),
        step_list(&[
            ("template", "todo"),
            ("invite", "todo"),
            ("solution", "todo"),
            ("token", "todo"),
            ("notification", "todo"),
        ])
    );

    // A token, a reviewed template, an invitation, a solution, error logs.
    let token = app.token(ada).await;
    let api = app.api(&token);
    app.clock.advance(Duration::minutes(1));
    json(
        api.put(
            format!("/api/v1/orgs/{org}/invite-templates/en"),
            json!({"subject": "Join {{ organization }}", "body": "Hi {{ first_name }}, {{ invite_link }}"}),
        )
        .await,
        200,
    )
    .await;
    json(
        api.post(
            format!("/api/v1/orgs/{org}/invitations"),
            json!({"email": "eve@example.com"}),
        )
        .await,
        201,
    )
    .await;
    solution(&api, org, "Orders").await;
    let bob = app.api(&app.token(bob).await);
    let entry = |level: &str| json!({"level": level, "message": "m", "correlation_id": "c"});
    json(
        bob.post(
            format!("/api/v1/app/logs?org={org}"),
            json!({"entries": [entry("error"), entry("fatal"), entry("warn"), entry("error")]}),
        )
        .await,
        202,
    )
    .await;
    roll(&app).await;

    let page = overview(&app, &client, org).await;
    assert_eq!(page.text_of("#invited-members"), "1");
    assert_eq!(page.text_of("#solution-count"), "1");
    assert_eq!(
        page.text_of("#error-logs"),
        "3",
        "errors and the fatal, not the warning"
    );
    assert_eq!(
        page.attr("#errors-link", "href").as_deref(),
        Some(format!("/orgs/{org}/troubleshooting?range=day&level=error").as_str())
    );
    assert_eq!(page.text_of("#active-today"), "2", "Ada and Bob");
    assert_eq!(page.text_of("#steps-done"), "4 of 5 done");
    assert_eq!(
        steps(&page),
        step_list(&[
            ("template", "done"),
            ("invite", "done"),
            ("solution", "done"),
            ("token", "done"),
            ("notification", "todo"),
        ])
    );
    assert!(!page.has("#waiting-invitations"), "sent just now");

    json(
        api.post(
            format!("/api/v1/orgs/{org}/notifications"),
            json!({"title": "Hello", "body": "b", "scope": "org"}),
        )
        .await,
        201,
    )
    .await;
    roll(&app).await;
    let page = overview(&app, &client, org).await;
    assert_eq!(page.text_of("#steps-done"), "5 of 5 done");
    assert!(page.has("#all-done"));
    assert!(!page.has("li[data-step]"));
    assert_eq!(page.text_of("#notifications-week"), "1");

    // A day on, yesterday's error entries are past the last 24 hours; four
    // days on, Eve's invitation is waiting.
    app.clock.advance(Duration::hours(25));
    let client = app.form_session("ada@example.com").await;
    roll(&app).await;
    let page = overview(&app, &client, org).await;
    assert_eq!(page.text_of("#error-logs"), "0");
    assert_eq!(page.text_of("#active-today"), "1", "Ada, signed in again");
    assert!(!page.has("#waiting-invitations"));
    app.clock.advance(Duration::days(3));
    let client = app.form_session("ada@example.com").await;
    let page = overview(&app, &client, org).await;
    let waiting = page.text_of("#waiting-invitations");
    assert!(
        waiting.starts_with("1 invitation sent more than 3 days ago has not been accepted yet."),
        "{waiting}"
    );
    assert_eq!(
        page.attr("#waiting-invitations a", "href").as_deref(),
        Some(format!("/orgs/{org}/users?status=invited").as_str())
    );
}

async fn a_reinvited_member_is_no_longer_waiting_on_the_overview(app: TestApp) {
    pin(&app);
    let (org, ada) = app.create_org("Acme", "ada@example.com").await;
    let api = app.api(&app.token(ada).await);
    let eve = json(
        api.post(
            format!("/api/v1/orgs/{org}/invitations"),
            json!({"email": "eve@example.com"}),
        )
        .await,
        201,
    )
    .await;
    let eve = eve["user_id"].as_str().expect("a user id").to_owned();
    app.clock.advance(Duration::days(4));
    let client = app.form_session("ada@example.com").await;
    assert!(overview(&app, &client, org)
        .await
        .has("#waiting-invitations"));
    // Sent again today: the invitation that is out is a fresh one.
    json(
        api.post(
            format!("/api/v1/orgs/{org}/users/{eve}/reinvite"),
            json!({}),
        )
        .await,
        200,
    )
    .await;
    let page = overview(&app, &client, org).await;
    assert!(
        !page.has("#waiting-invitations"),
        "an invitation sent again just now is not waiting for 3 days: {}",
        page.select("#waiting-invitations").join(" ")
    );
}

async fn the_overview_counts_error_entries_of_the_last_24_hours_only(app: TestApp) {
    pin(&app);
    let (org, ada) = app.create_org("Acme", "ada@example.com").await;
    let api = app.api(&app.token(ada).await);
    let now = app.clock_now();
    // Both on yesterday's UTC day: one 26 hours ago, one 23 hours ago.
    let entry = |ago: i64| {
        json!({"level": "error", "message": "m", "correlation_id": "c",
               "time": rfc(now - Duration::hours(ago))})
    };
    let sent = json(
        api.post(
            format!("/api/v1/app/logs?org={org}"),
            json!({"entries": [entry(26), entry(23)]}),
        )
        .await,
        202,
    )
    .await;
    assert_eq!(sent["accepted"], 2, "{sent}");
    let client = app.form_session("ada@example.com").await;
    let page = overview(&app, &client, org).await;
    assert_eq!(
        page.text_of("#error-logs"),
        "1",
        "only the entry of 23 hours ago is in the last 24 hours"
    );
}

/// A notification is the organization's, even one sent to a solution's people
/// (it may reach several solutions, or people by email): the whole
/// organization's figures count it, its delivery and opening; a solution's
/// figures and a creator's view (their solutions only, as the page says) do
/// not.
async fn notifications_count_for_the_whole_organization_not_a_solution(app: TestApp) {
    pin(&app);
    let (org, ada) = app.create_org("Acme", "ada@example.com").await;
    let api = app.api(&app.token(ada).await);
    let sol = solution(&api, org, "Orders").await;
    let (bob, bob_api) = member_api(&app, org, "bob@example.com", OrgRole::User).await;
    assign(&api, org, bob, &sol, "user").await;
    let (cy, cy_api) = member_api(&app, org, "cy@example.com", OrgRole::Creator).await;
    assign(&api, org, cy, &sol, "admin").await;
    json(
        cy_api
            .post(
                format!("/api/v1/orgs/{org}/notifications"),
                json!({"title": "New version", "body": "b", "scope": "solutions",
                       "solution_ids": [sol]}),
            )
            .await,
        201,
    )
    .await;
    app.worker()
        .run_until_idle()
        .await
        .expect("the fan-out runs");
    let dev = device_token(&app, &bob_api).await;
    json(
        dev.post_empty(format!("/api/v1/app/notifications/read-all?org={org}"))
            .await,
        200,
    )
    .await;
    roll(&app).await;

    let today = day(app.clock_now());
    let whole = usage(&api, org, &format!("from={today}&to={today}")).await;
    assert_eq!(total(&whole, "notifications_sent"), 1);
    assert_eq!(total(&whole, "notifications_delivered"), 1);
    assert_eq!(total(&whole, "notification_opens"), 1);
    assert_eq!(
        total(&whole, "active_users"),
        3,
        "the sender, Bob who opened it, and Ada"
    );
    let of_sol = usage(
        &api,
        org,
        &format!("from={today}&to={today}&solution={sol}"),
    )
    .await;
    assert_eq!(
        (
            total(&of_sol, "notifications_sent"),
            total(&of_sol, "notifications_delivered"),
            total(&of_sol, "notification_opens"),
        ),
        (0, 0, 0),
        "the organization's notification is not the solution's: {of_sol}"
    );
    let creators = usage(&cy_api, org, &format!("from={today}&to={today}")).await;
    assert_eq!(creators["restricted"], true, "{creators}");
    assert_eq!(total(&creators, "notifications_sent"), 0, "{creators}");
    assert_eq!(total(&creators, "notification_opens"), 0, "{creators}");
}
