//! Usage metrics through HTTP: what apps send (`POST /app/usage`), what the
//! server counts by itself (sign-ins, API calls with a token, invitations,
//! notifications, error log entries), the daily rollup (run again, late
//! events, catch-up, retention), reading (periods, distinct active people,
//! who sees what, CSV, bad input) and the Overview page.
//!
//! Every test starts with the clock at a fixed Wednesday noon (UTC), so that
//! days, weeks and months are known and no test runs across a midnight.

use crate::{json, problem, solution};
use muster_domain::{MembershipStatus, OrgId, OrgRole, SolutionId, UserId};
use muster_test_support::{db_tests, invite_link, outbox, ui, Api, Html, TestApp};
use serde_json::{json, Value};
use std::collections::BTreeSet;
use time::format_description::well_known::Rfc3339;
use time::{Duration, OffsetDateTime};

db_tests!(
    app_events_are_counted_and_bad_ones_rejected_by_index,
    active_users_are_distinct_people_in_each_period,
    sign_ins_count_in_every_organization_the_person_is_active_in,
    api_calls_with_a_token_are_counted_and_sessions_are_not,
    invitations_sent_and_accepted_are_counted,
    notifications_sent_delivered_and_opened_are_counted,
    only_error_and_fatal_log_entries_are_counted,
    a_call_over_the_rate_gets_429_and_writes_nothing,
);

// ---------------------------------------------------------------- helpers

/// Wednesday 18 November 2026, noon UTC.
pub(crate) const START: &str = "2026-11-18T12:00:00Z";

pub(crate) fn start() -> OffsetDateTime {
    OffsetDateTime::parse(START, &Rfc3339).expect("the start time")
}

/// Puts the clock at [`START`]; called before anything is created.
pub(crate) fn pin(app: &TestApp) {
    app.clock.set(start());
}

pub(crate) fn rfc(at: OffsetDateTime) -> String {
    at.format(&Rfc3339).expect("an RFC 3339 time")
}

/// The UTC day of `at`, `2026-11-18`.
pub(crate) fn day(at: OffsetDateTime) -> String {
    at.to_offset(time::UtcOffset::UTC).date().to_string()
}

/// The app's day, `by` days from now.
pub(crate) fn today_plus(app: &TestApp, by: i64) -> String {
    day(app.clock_now() + Duration::days(by))
}

/// Days since 1970-01-01 of `at` (as the store numbers them).
pub(crate) fn day_number(at: OffsetDateTime) -> i64 {
    at.unix_timestamp().div_euclid(86_400)
}

/// POST /app/usage?org= with `events`; the answer must be 202.
pub(crate) async fn send(api: &Api, org: OrgId, events: Value) -> Value {
    json(
        api.post(
            format!("/api/v1/app/usage?org={org}"),
            json!({ "events": events }),
        )
        .await,
        202,
    )
    .await
}

/// `n` events of `kind` at `time` (now when `None`), in `solution`.
pub(crate) fn events(n: usize, kind: &str, solution: Option<&str>, time: Option<String>) -> Value {
    let mut event = json!({ "type": kind });
    if let Some(sol) = solution {
        event["solution_id"] = json!(sol);
    }
    if let Some(time) = time {
        event["time"] = json!(time);
    }
    Value::Array(vec![event; n])
}

/// (index, field) of each rejected event.
pub(crate) fn rejected(answer: &Value) -> Vec<(u64, String)> {
    answer["rejected"]
        .as_array()
        .unwrap_or_else(|| panic!("rejected in {answer}"))
        .iter()
        .map(|r| {
            assert!(r["message"].as_str().is_some_and(|m| !m.is_empty()), "{r}");
            (
                r["index"].as_u64().expect("an index"),
                r["field"].as_str().expect("a field").to_owned(),
            )
        })
        .collect()
}

/// Brings the figures up to date as the worker does every minute: API call
/// counts written, a rollup queued, and the jobs run.
pub(crate) async fn roll(app: &TestApp) {
    let worker = app.worker();
    worker.tick(app.clock_now()).await;
    worker.run_until_idle().await.expect("the jobs run");
}

/// A rollup job alone (no API call counts written first).
pub(crate) async fn roll_only(app: &TestApp) {
    let mut tx = app.store().begin().await.expect("a transaction");
    muster_server::jobs::enqueue(
        &mut tx,
        &muster_server::features::usage::rollup::RollUp {},
        app.clock_now(),
    )
    .await
    .expect("the rollup is queued");
    tx.commit().await.expect("commit");
    app.worker().run_until_idle().await.expect("the jobs run");
}

pub(crate) async fn usage(api: &Api, org: OrgId, query: &str) -> Value {
    json(
        api.get(format!("/api/v1/orgs/{org}/usage?{query}")).await,
        200,
    )
    .await
}

/// Usage read with a session (which makes no API call count).
pub(crate) async fn usage_by_session(
    app: &TestApp,
    client: &reqwest::Client,
    org: OrgId,
    query: &str,
) -> Value {
    json(
        client
            .get(app.url(&format!("/api/v1/orgs/{org}/usage?{query}")))
            .send()
            .await
            .expect("usage"),
        200,
    )
    .await
}

/// The series of `metric` in a usage answer.
pub(crate) fn series<'a>(view: &'a Value, metric: &str) -> &'a Value {
    view["series"]
        .as_array()
        .unwrap_or_else(|| panic!("series in {view}"))
        .iter()
        .find(|s| s["metric"] == metric)
        .unwrap_or_else(|| panic!("no series {metric} in {view}"))
}

pub(crate) fn values(view: &Value, metric: &str) -> Vec<i64> {
    series(view, metric)["values"]
        .as_array()
        .unwrap_or_else(|| panic!("values of {metric} in {view}"))
        .iter()
        .map(|v| v.as_i64().expect("a number"))
        .collect()
}

pub(crate) fn total(view: &Value, metric: &str) -> i64 {
    series(view, metric)["total"]
        .as_i64()
        .unwrap_or_else(|| panic!("a total of {metric} in {view}"))
}

/// (from, to) of each period.
pub(crate) fn periods(view: &Value) -> Vec<(String, String)> {
    view["periods"]
        .as_array()
        .unwrap_or_else(|| panic!("periods in {view}"))
        .iter()
        .map(|p| {
            (
                p["from"].as_str().expect("from").to_owned(),
                p["to"].as_str().expect("to").to_owned(),
            )
        })
        .collect()
}

pub(crate) fn customs(view: &Value) -> Vec<(String, i64)> {
    view["custom_events"]
        .as_array()
        .unwrap_or_else(|| panic!("custom_events in {view}"))
        .iter()
        .map(|c| {
            (
                c["name"].as_str().expect("a name").to_owned(),
                c["total"].as_i64().expect("a total"),
            )
        })
        .collect()
}

pub(crate) fn pairs(list: &[(&str, i64)]) -> Vec<(String, i64)> {
    list.iter().map(|(n, c)| ((*n).to_owned(), *c)).collect()
}

/// The fields a 422 problem names.
pub(crate) fn fields(body: &Value) -> BTreeSet<String> {
    body["errors"]
        .as_array()
        .unwrap_or_else(|| panic!("errors in {body}"))
        .iter()
        .map(|e| e["field"].as_str().expect("a field").to_owned())
        .collect()
}

pub(crate) async fn member_api(
    app: &TestApp,
    org: OrgId,
    email: &str,
    role: OrgRole,
) -> (UserId, Api) {
    let user = app.member(org, email, role).await;
    (user, app.api(&app.token(user).await))
}

/// A client signed in through POST /api/v1/auth/login.
pub(crate) async fn api_session(app: &TestApp, email: &str) -> reqwest::Client {
    let client = app.client();
    app.login(&client, email).await;
    client
}

pub(crate) async fn overview(app: &TestApp, client: &reqwest::Client, org: OrgId) -> Html {
    let (status, page) = ui::page(client, app.url(&format!("/orgs/{org}/overview"))).await;
    assert_eq!(status, 200, "the overview:\n{page}");
    page
}

/// The class (done or todo) of each Quick start step, by its key.
pub(crate) fn steps(page: &Html) -> Vec<(String, String)> {
    let keys = page.attrs("li[data-step]", "data-step");
    keys.into_iter()
        .map(|key| {
            let class = page
                .attr(&format!("li[data-step=\"{key}\"]"), "class")
                .unwrap_or_default();
            (key, class)
        })
        .collect()
}

pub(crate) fn step_list(list: &[(&str, &str)]) -> Vec<(String, String)> {
    list.iter()
        .map(|(k, c)| ((*k).to_owned(), (*c).to_owned()))
        .collect()
}

// ---------------------------------------------------------------- app events

async fn app_events_are_counted_and_bad_ones_rejected_by_index(app: TestApp) {
    pin(&app);
    let (org, ada) = app.create_org("Acme", "ada@example.com").await;
    let api = app.api(&app.token(ada).await);
    let orders = solution(&api, org, "Orders").await;
    let (other, oscar) = app.create_org("Other", "oscar@example.com").await;
    let foreign = solution(&app.api(&app.token(oscar).await), other, "Foreign").await;
    let (_, alice) = member_api(&app, org, "alice@example.com", OrgRole::User).await;
    let now = app.clock_now();

    let batch = json!([
        {"type": "solution_opened", "solution_id": orders},
        {"type": "screen_viewed", "solution_id": orders, "properties": {"screen": "Orders"}},
        {"type": "order.placed", "solution_id": orders, "properties": {"total": 3}},
        {"type": "Order"},
        {"type": "solution_opened"},
        {"type": "sign_in"},
        {"type": "solution_opened", "solution_id": foreign},
        {"type": "tapped", "properties": [1]},
        {"type": "order.placed", "time": "soon"},
        {"type": "order.placed"},
        // A device clock a day ahead: taken as the time received.
        {"type": "cart.viewed", "time": rfc(now + Duration::days(1))},
        5,
        {"type": "screen_viewed", "time": rfc(now - Duration::days(100))},
        {"type": "api_call"},
        {"type": "x".repeat(65)},
        {"type": "solution_opened", "solution_id": "not-a-solution"},
        {"type": "tapped", "properties": {"big": "y".repeat(5000)}},
    ]);
    let answer = send(&alice, org, batch).await;
    assert_eq!(answer["accepted"], 5, "{answer}");
    assert_eq!(
        rejected(&answer),
        [
            (3, "type"),
            (4, "solution_id"),
            (5, "type"),
            (6, "solution_id"),
            (7, "properties"),
            (8, "time"),
            (11, "event"),
            (12, "time"),
            (13, "type"),
            (14, "type"),
            (15, "solution_id"),
            (16, "properties"),
        ]
        .map(|(i, f)| (i, f.to_owned()))
    );

    // More than 1,000 events: the whole call is refused, nothing is written.
    let too_many = problem(
        alice
            .post(
                format!("/api/v1/app/usage?org={org}"),
                json!({ "events": events(1001, "screen_viewed", None, None) }),
            )
            .await,
        422,
    )
    .await;
    assert_eq!(fields(&too_many), BTreeSet::from(["events".to_owned()]));
    // Exactly 1,000 are fine.
    let thousand = send(&alice, org, events(1000, "list.scrolled", None, None)).await;
    assert_eq!(thousand["accepted"], 1000);

    roll(&app).await;
    let today = day(now);
    let view = usage(&api, org, &format!("from={today}&to={today}")).await;
    assert_eq!(view["from"], today.as_str());
    assert_eq!(view["to"], today.as_str());
    assert_eq!(view["interval"], "day");
    assert_eq!(view["restricted"], false);
    assert_eq!(view["solution_id"], Value::Null);
    assert_eq!(total(&view, "solution_opens"), 1);
    assert_eq!(total(&view, "screen_views"), 1, "the 1,001 were not kept");
    assert_eq!(total(&view, "custom_events"), 1003);
    assert_eq!(values(&view, "custom_events"), [1003]);
    assert_eq!(
        customs(&view),
        pairs(&[
            ("list.scrolled", 1000),
            ("order.placed", 2),
            ("cart.viewed", 1)
        ])
    );

    let of_orders = usage(
        &api,
        org,
        &format!("from={today}&to={today}&solution={orders}"),
    )
    .await;
    assert_eq!(of_orders["solution_id"], orders.as_str());
    assert_eq!(total(&of_orders, "solution_opens"), 1);
    assert_eq!(total(&of_orders, "screen_views"), 1);
    assert_eq!(total(&of_orders, "custom_events"), 1);
    assert_eq!(customs(&of_orders), pairs(&[("order.placed", 1)]));
    assert_eq!(total(&of_orders, "active_users"), 1, "alice, in Orders");

    // The event from a clock a day ahead is today's, not tomorrow's.
    let tomorrow = today_plus(&app, 1);
    let ahead = usage(&api, org, &format!("from={tomorrow}&to={tomorrow}")).await;
    assert_eq!(total(&ahead, "custom_events"), 0);
    assert!(customs(&ahead).is_empty());

    // The other organization counted nothing of this.
    let theirs = usage(
        &app.api(&app.token(oscar).await),
        other,
        &format!("from={today}&to={today}"),
    )
    .await;
    for metric in ["solution_opens", "screen_views", "custom_events"] {
        assert_eq!(total(&theirs, metric), 0, "{metric}");
    }
}

// ---------------------------------------------------------------- active users

async fn active_users_are_distinct_people_in_each_period(app: TestApp) {
    pin(&app);
    let (org, ada) = app.create_org("Acme", "ada@example.com").await;
    let api = app.api(&app.token(ada).await);
    let sol = solution(&api, org, "Orders").await;
    let (_, alice) = member_api(&app, org, "alice@example.com", OrgRole::User).await;
    let (_, bob) = member_api(&app, org, "bob@example.com", OrgRole::User).await;
    let at = |date: &str| Some(format!("{date}T10:00:00Z"));
    // Alice on Friday 13, Sunday 15 and Monday 16 November; Bob on Monday 16
    // and Tuesday 17 (sent today, as an app that was offline would).
    for (api, date, n) in [
        (&alice, "2026-11-13", 2),
        (&alice, "2026-11-15", 1),
        (&alice, "2026-11-16", 1),
        (&bob, "2026-11-16", 1),
        (&bob, "2026-11-17", 1),
    ] {
        let sent = send(api, org, events(n, "solution_opened", Some(&sol), at(date))).await;
        assert_eq!(sent["accepted"], n);
    }
    roll(&app).await;

    let days = usage(&api, org, "from=2026-11-13&to=2026-11-17").await;
    assert_eq!(periods(&days).len(), 5);
    assert_eq!(
        periods(&days)[0],
        ("2026-11-13".into(), "2026-11-13".into())
    );
    assert_eq!(values(&days, "active_users"), [1, 0, 1, 2, 1]);
    assert_eq!(
        total(&days, "active_users"),
        2,
        "two people, not a sum of days"
    );
    assert_eq!(values(&days, "solution_opens"), [2, 0, 1, 2, 1]);
    assert_eq!(total(&days, "solution_opens"), 6);
    assert_eq!(days["active"]["dau"], 1, "Bob on the 17th");
    assert_eq!(days["active"]["wau"], 2);
    assert_eq!(days["active"]["mau"], 2);

    // Weeks run Monday to Sunday, the first and last cut to the window.
    let weeks = usage(&api, org, "from=2026-11-12&to=2026-11-17&interval=week").await;
    assert_eq!(weeks["interval"], "week");
    assert_eq!(
        periods(&weeks),
        [
            ("2026-11-12".to_owned(), "2026-11-15".to_owned()),
            ("2026-11-16".to_owned(), "2026-11-17".to_owned()),
        ]
    );
    assert_eq!(
        values(&weeks, "active_users"),
        [1, 2],
        "Alice twice in the first week is one person"
    );
    assert_eq!(values(&weeks, "solution_opens"), [3, 3]);
    assert_eq!(total(&weeks, "active_users"), 2);

    let months = usage(&api, org, "from=2026-10-20&to=2026-11-17&interval=month").await;
    assert_eq!(
        periods(&months),
        [
            ("2026-10-20".to_owned(), "2026-10-31".to_owned()),
            ("2026-11-01".to_owned(), "2026-11-17".to_owned()),
        ]
    );
    assert_eq!(values(&months, "active_users"), [0, 2]);
    assert_eq!(values(&months, "solution_opens"), [0, 6]);

    // One solution's active people are those active in it.
    let solo = usage(
        &api,
        org,
        &format!("from=2026-11-13&to=2026-11-17&solution={sol}"),
    )
    .await;
    assert_eq!(values(&solo, "active_users"), [1, 0, 1, 2, 1]);
}

// ---------------------------------------------------------------- sign-ins

async fn sign_ins_count_in_every_organization_the_person_is_active_in(app: TestApp) {
    pin(&app);
    let (acme, ada) = app.create_org("Acme", "ada@example.com").await;
    let (other, oscar) = app.create_org("Other", "oscar@example.com").await;
    let bob = app.member(acme, "bob@example.com", OrgRole::Creator).await;
    app.add_member(other, bob, OrgRole::User, MembershipStatus::Active)
        .await;
    let dee = app.create_user("dee@example.com").await;
    app.add_member(acme, dee, OrgRole::User, MembershipStatus::Disabled)
        .await;
    app.add_member(other, dee, OrgRole::User, MembershipStatus::Active)
        .await;

    // Bob signs in twice through the API and once through the web form.
    for _ in 0..2 {
        api_session(&app, "bob@example.com").await;
    }
    app.form_session("bob@example.com").await;
    // Dee is disabled in Acme: her sign-in counts in Other only.
    api_session(&app, "dee@example.com").await;
    // A wrong password is no sign-in.
    let wrong = app
        .client()
        .post(app.url("/api/v1/auth/login"))
        .json(&json!({"email": "bob@example.com", "password": "wrong"}))
        .send()
        .await
        .expect("login");
    assert_eq!(wrong.status(), 401);
    roll(&app).await;

    let today = day(app.clock_now());
    let query = format!("from={today}&to={today}");
    let acme_view = usage(&app.api(&app.token(ada).await), acme, &query).await;
    assert_eq!(total(&acme_view, "sign_ins"), 3);
    assert_eq!(total(&acme_view, "active_users"), 1, "Bob, once");
    assert_eq!(acme_view["active"]["dau"], 1);
    let other_view = usage(&app.api(&app.token(oscar).await), other, &query).await;
    assert_eq!(total(&other_view, "sign_ins"), 4);
    assert_eq!(total(&other_view, "active_users"), 2, "Bob and Dee");

    // The next day's sign-in is the next day's.
    app.clock.advance(Duration::days(1));
    api_session(&app, "bob@example.com").await;
    roll(&app).await;
    let both = usage(
        &app.api(&app.token(ada).await),
        acme,
        &format!("from={today}&to={}", today_plus(&app, 0)),
    )
    .await;
    assert_eq!(values(&both, "sign_ins"), [3, 1]);
}

// ---------------------------------------------------------------- API calls

async fn api_calls_with_a_token_are_counted_and_sessions_are_not(app: TestApp) {
    pin(&app);
    let (org, ada) = app.create_org("Acme", "ada@example.com").await;
    let ada_api = app.api(&app.token(ada).await);
    let (_, bob_api) = member_api(&app, org, "bob@example.com", OrgRole::Admin).await;
    app.member(org, "carl@example.com", OrgRole::Admin).await;
    let carl = api_session(&app, "carl@example.com").await;

    for _ in 0..5 {
        json(ada_api.get(format!("/api/v1/orgs/{org}/users")).await, 200).await;
    }
    for _ in 0..2 {
        json(
            ada_api
                .get(format!("/api/v1/app/solutions?org={org}"))
                .await,
            200,
        )
        .await;
    }
    for _ in 0..3 {
        json(
            bob_api.get(format!("/api/v1/orgs/{org}/solutions")).await,
            200,
        )
        .await;
    }
    // A session's calls are the web UI's and the browser's, not API use.
    for _ in 0..4 {
        let response = carl
            .get(app.url(&format!("/api/v1/orgs/{org}/users")))
            .send()
            .await
            .expect("users");
        assert_eq!(response.status(), 200);
    }
    let today = day(app.clock_now());
    let query = format!("from={today}&to={today}");
    let before = usage_by_session(&app, &carl, org, &query).await;
    assert_eq!(
        total(&before, "api_calls"),
        0,
        "counted in memory until the minute's counts are written"
    );

    roll(&app).await;
    let view = usage_by_session(&app, &carl, org, &query).await;
    assert_eq!(total(&view, "api_calls"), 10, "5 + 2 by Ada, 3 by Bob");
    assert_eq!(
        total(&view, "active_users"),
        3,
        "Ada and Bob through their tokens, Carl by signing in"
    );

    // Calls in later minutes add up; the session's reads never count.
    app.clock.advance(Duration::minutes(2));
    for _ in 0..2 {
        json(
            bob_api.get(format!("/api/v1/orgs/{org}/solutions")).await,
            200,
        )
        .await;
    }
    roll(&app).await;
    let later = usage_by_session(&app, &carl, org, &query).await;
    assert_eq!(total(&later, "api_calls"), 12);
    // Running the chores again writes nothing twice.
    roll(&app).await;
    let again = usage_by_session(&app, &carl, org, &query).await;
    assert_eq!(total(&again, "api_calls"), 12);
}

// ---------------------------------------------------------------- invitations

async fn invitations_sent_and_accepted_are_counted(app: TestApp) {
    pin(&app);
    let (org, ada) = app.create_org("Acme", "ada@example.com").await;
    let token = app.token(ada).await;
    let api = app.api(&token);
    let bob = json(
        api.post(
            format!("/api/v1/orgs/{org}/invitations"),
            json!({"email": "bob@example.com"}),
        )
        .await,
        201,
    )
    .await;
    let bob_id = bob["user_id"].as_str().expect("a user id").to_owned();
    json(
        api.post(
            format!("/api/v1/orgs/{org}/users/{bob_id}/reinvite"),
            json!({}),
        )
        .await,
        200,
    )
    .await;
    json(
        api.post(
            format!("/api/v1/orgs/{org}/invitations/bulk"),
            json!([{"email": "one@example.com"}, {"email": "two@example.com"}]),
        )
        .await,
        202,
    )
    .await;
    app.worker().run_until_idle().await.expect("the jobs run");

    // Bob accepts the link of his second invitation, One accepts hers.
    let mails = outbox(&app);
    let link_to = |email: &str| {
        mails
            .iter()
            .filter(|m| m.contains(&format!("To: {email}")))
            .filter_map(|m| invite_link(m))
            .next_back()
            .unwrap_or_else(|| panic!("an invitation to {email} in {mails:?}"))
    };
    for email in ["bob@example.com", "one@example.com"] {
        let link = link_to(email);
        let secret = link.rsplit('/').next().unwrap_or_default();
        json(
            app.client()
                .post(app.url(&format!("/api/v1/invitations/{secret}/accept")))
                .json(&json!({"first_name": "New", "last_name": "Member",
                              "password": muster_test_support::PASSWORD}))
                .send()
                .await
                .expect("accept"),
            200,
        )
        .await;
    }
    roll(&app).await;
    let today = day(app.clock_now());
    let view = usage(&api, org, &format!("from={today}&to={today}")).await;
    assert_eq!(
        total(&view, "invitations_sent"),
        4,
        "one invitation, its re-send and two in bulk"
    );
    assert_eq!(total(&view, "invitations_accepted"), 2);
}

// ---------------------------------------------------------------- notifications

/// Registers a device for the holder of `api`; an API client with its device token.
pub(crate) async fn device_token(app: &TestApp, api: &Api) -> Api {
    let created = json(
        api.post(
            "/api/v1/app/devices",
            json!({"name": "Pixel", "platform": "android"}),
        )
        .await,
        201,
    )
    .await;
    app.api(created["token"].as_str().expect("a device token"))
}

async fn notifications_sent_delivered_and_opened_are_counted(app: TestApp) {
    pin(&app);
    let (org, ada) = app.create_org("Acme", "ada@example.com").await;
    let api = app.api(&app.token(ada).await);
    let (_, bob) = member_api(&app, org, "bob@example.com", OrgRole::User).await;
    let (_, cy) = member_api(&app, org, "cy@example.com", OrgRole::User).await;
    let (_, dee) = member_api(&app, org, "dee@example.com", OrgRole::User).await;
    let (bob_dev, cy_dev, dee_dev) = (
        device_token(&app, &bob).await,
        device_token(&app, &cy).await,
        device_token(&app, &dee).await,
    );
    json(
        api.post(
            format!("/api/v1/orgs/{org}/notifications"),
            json!({"title": "Shift", "body": "Tomorrow at 7", "scope": "users",
                   "emails": ["bob@example.com", "cy@example.com", "dee@example.com"]}),
        )
        .await,
        201,
    )
    .await;
    app.worker()
        .run_until_idle()
        .await
        .expect("the fan-out runs");

    // Dee's app only fetches the inbox (delivered); Bob's fetches and opens
    // the item; Cy's marks everything read (delivered and opened at once).
    let inbox = |dev: Api| async move {
        json(
            dev.get(format!("/api/v1/app/notifications?org={org}"))
                .await,
            200,
        )
        .await
    };
    assert_eq!(
        inbox(dee_dev.clone()).await["items"]
            .as_array()
            .map(Vec::len),
        Some(1)
    );
    let bobs = inbox(bob_dev.clone()).await;
    let item = bobs["items"][0]["id"].as_str().expect("an item").to_owned();
    assert_eq!(
        bob_dev
            .post_empty(format!("/api/v1/app/notifications/{item}/read"))
            .await
            .status(),
        204
    );
    // Reading it again is no second opening.
    assert_eq!(
        bob_dev
            .post_empty(format!("/api/v1/app/notifications/{item}/read"))
            .await
            .status(),
        204
    );
    let all = json(
        cy_dev
            .post_empty(format!("/api/v1/app/notifications/read-all?org={org}"))
            .await,
        200,
    )
    .await;
    assert_eq!(all["read"], 1);

    roll(&app).await;
    let today = day(app.clock_now());
    let view = usage(&api, org, &format!("from={today}&to={today}")).await;
    assert_eq!(total(&view, "notifications_sent"), 1);
    assert_eq!(total(&view, "notifications_delivered"), 3);
    assert_eq!(total(&view, "notification_opens"), 2);
    assert_eq!(
        total(&view, "active_users"),
        3,
        "Ada (who sent it), Bob and Cy (who opened it); a delivery to Dee is nothing she did"
    );
}

// ---------------------------------------------------------------- error logs

async fn only_error_and_fatal_log_entries_are_counted(app: TestApp) {
    pin(&app);
    let (org, ada) = app.create_org("Acme", "ada@example.com").await;
    let api = app.api(&app.token(ada).await);
    let sol = solution(&api, org, "Orders").await;
    // Every level is kept, so that only the counting decides.
    json(
        api.patch(
            format!("/api/v1/orgs/{org}"),
            json!({"logging_level": "trace"}),
        )
        .await,
        200,
    )
    .await;
    let (_, bob) = member_api(&app, org, "bob@example.com", OrgRole::User).await;
    let now = app.clock_now();
    let entry = |level: &str, solution: Option<&str>, time: OffsetDateTime| {
        let mut e =
            json!({"level": level, "message": "m", "correlation_id": "c-1", "time": rfc(time)});
        if let Some(s) = solution {
            e["solution_id"] = json!(s);
        }
        e
    };
    let sent = json(
        bob.post(
            format!("/api/v1/app/logs?org={org}"),
            json!({"entries": [
                entry("error", Some(&sol), now),
                entry("error", None, now),
                entry("fatal", None, now),
                entry("warn", Some(&sol), now),
                entry("info", None, now),
                entry("error", Some(&SolutionId::new().to_string()), now),
                entry("error", None, now - Duration::days(1)),
            ]}),
        )
        .await,
        202,
    )
    .await;
    assert_eq!(sent["accepted"], 6, "{sent}");
    assert_eq!(sent["rejected"][0]["index"], 5, "{sent}");
    roll(&app).await;

    let yesterday = today_plus(&app, -1);
    let today = today_plus(&app, 0);
    let view = usage(&api, org, &format!("from={yesterday}&to={today}")).await;
    assert_eq!(
        values(&view, "error_logs"),
        [1, 3],
        "errors and fatals only, each on its day"
    );
    let of_sol = usage(
        &api,
        org,
        &format!("from={yesterday}&to={today}&solution={sol}"),
    )
    .await;
    assert_eq!(values(&of_sol, "error_logs"), [0, 1]);
}

// ---------------------------------------------------------------- rate

/// One device sends at most `MUSTER_APP_USAGE_RATE` events a minute: a call
/// over it is refused whole with 429 and Retry-After, counts none of the
/// allowance and writes nothing; the next minute it goes through.
async fn a_call_over_the_rate_gets_429_and_writes_nothing(app: TestApp) {
    let db = app.db;
    app.shutdown().await;
    let Some(app) = TestApp::start_custom(db, false, |s| s.app_usage_rate = 10).await else {
        return;
    };
    pin(&app);
    let (org, ada) = app.create_org("Acme", "ada@example.com").await;
    let api = app.api(&app.token(ada).await);
    let (_, alice) = member_api(&app, org, "alice@example.com", OrgRole::User).await;
    assert_eq!(
        send(&alice, org, events(6, "first", None, None)).await["accepted"],
        6
    );
    let refused = alice
        .post(
            format!("/api/v1/app/usage?org={org}"),
            json!({ "events": events(5, "refused", None, None) }),
        )
        .await;
    let retry: u64 = refused
        .headers()
        .get("retry-after")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse().ok())
        .expect("a Retry-After in seconds");
    assert!((1..=60).contains(&retry), "Retry-After {retry}");
    problem(refused, 429).await;
    // The refused call used none of the allowance: 6 + 4 is the limit.
    assert_eq!(
        send(&alice, org, events(4, "second", None, None)).await["accepted"],
        4
    );
    app.clock.advance(Duration::minutes(1));
    assert_eq!(
        send(&alice, org, events(3, "later", None, None)).await["accepted"],
        3
    );
    roll(&app).await;
    let today = today_plus(&app, 0);
    let view = usage(&api, org, &format!("from={today}&to={today}")).await;
    assert_eq!(
        customs(&view),
        pairs(&[("first", 6), ("second", 4), ("later", 3)]),
        "nothing of the refused call"
    );
}
