//! The usage rollup through HTTP, on both databases: running it again gives
//! the same figures, late events land on their day, days without a rollup are
//! caught up, and retention deletes raw events but never the figures.

use super::usage::*;
use crate::{json, problem, solution};
use muster_domain::{OrgId, OrgRole};
use muster_test_support::{db_tests, TestApp};
use serde_json::json;
use std::collections::BTreeSet;
use time::Duration;

db_tests!(
    the_rollup_can_run_again_and_late_events_land_on_their_day,
    days_without_a_rollup_are_caught_up,
    retention_deletes_raw_events_and_keeps_the_figures,
    figures_of_a_purged_day_survive_a_late_event,
);

// ---------------------------------------------------------------- the rollup

async fn the_rollup_can_run_again_and_late_events_land_on_their_day(app: TestApp) {
    pin(&app);
    let (org, ada) = app.create_org("Acme", "ada@example.com").await;
    let api = app.api(&app.token(ada).await);
    let sol = solution(&api, org, "Orders").await;
    let (_, alice) = member_api(&app, org, "alice@example.com", OrgRole::User).await;
    let (_, bob) = member_api(&app, org, "bob@example.com", OrgRole::User).await;
    send(&alice, org, events(2, "solution_opened", Some(&sol), None)).await;
    send(&bob, org, events(1, "order.placed", Some(&sol), None)).await;
    roll(&app).await;
    let day0 = day(app.clock_now());
    let query = format!("from={day0}&to={day0}");
    let first = usage(&api, org, &query).await;
    assert_eq!(total(&first, "solution_opens"), 2);
    roll_only(&app).await;
    roll_only(&app).await;
    assert_eq!(usage(&api, org, &query).await, first, "the same figures");

    // The next day an app that was offline sends what happened yesterday
    // (the last of it a minute before midnight), and something of today.
    app.clock.advance(Duration::days(1));
    let before_midnight = start() + Duration::hours(12) - Duration::minutes(1);
    let late = send(
        &bob,
        org,
        json!([
            {"type": "solution_opened", "solution_id": sol, "time": rfc(start() - Duration::hours(2))},
            {"type": "solution_opened", "solution_id": sol, "time": rfc(before_midnight)},
            {"type": "order.placed", "solution_id": sol},
        ]),
    )
    .await;
    assert_eq!(late["accepted"], 3);
    roll(&app).await;
    let day1 = today_plus(&app, 0);
    let both = usage(&api, org, &format!("from={day0}&to={day1}")).await;
    assert_eq!(values(&both, "solution_opens"), [4, 0]);
    assert_eq!(values(&both, "custom_events"), [1, 1]);
    let people = values(&both, "active_users");
    assert!(people[0] >= 2, "Alice and Bob on the first day: {both}");
    let day0_again = usage(&api, org, &query).await;
    assert_eq!(total(&day0_again, "solution_opens"), 4);
    assert_eq!(
        total(&day0_again, "active_users"),
        total(&first, "active_users"),
        "Bob was already counted that day"
    );
}

async fn days_without_a_rollup_are_caught_up(app: TestApp) {
    pin(&app);
    let (org, ada) = app.create_org("Acme", "ada@example.com").await;
    let api = app.api(&app.token(ada).await);
    let sol = solution(&api, org, "Orders").await;
    let (_, alice) = member_api(&app, org, "alice@example.com", OrgRole::User).await;
    // The worker rolls up once as it starts, then is down for three days.
    roll(&app).await;
    let day0 = day(app.clock_now());
    for n in 1..=4 {
        let sent = send(&alice, org, events(n, "solution_opened", Some(&sol), None)).await;
        assert_eq!(sent["accepted"], n);
        if n < 4 {
            app.clock.advance(Duration::days(1));
        }
    }
    roll(&app).await;
    let day3 = today_plus(&app, 0);
    let view = usage(&api, org, &format!("from={day0}&to={day3}")).await;
    assert_eq!(values(&view, "solution_opens"), [1, 2, 3, 4]);
    assert_eq!(total(&view, "solution_opens"), 10);
    let of_sol = usage(&api, org, &format!("from={day0}&to={day3}&solution={sol}")).await;
    assert_eq!(
        values(&of_sol, "active_users"),
        [1, 1, 1, 1],
        "Alice each day"
    );
    assert_eq!(total(&of_sol, "active_users"), 1);
}

// ---------------------------------------------------------------- retention

async fn raw_events_before(app: &TestApp, org: OrgId, first_kept: i64) -> (i64, i64) {
    let mut conn = app.store().read().await.expect("a connection");
    sqlx::query_as(
        "SELECT CAST(COALESCE(SUM(CASE WHEN day < $2 THEN 1 ELSE 0 END), 0) AS BIGINT), \
                CAST(COALESCE(SUM(CASE WHEN day >= $2 THEN 1 ELSE 0 END), 0) AS BIGINT) \
         FROM usage_events WHERE org_id = $1",
    )
    .bind(org.to_string())
    .bind(first_kept)
    .fetch_one(&mut *conn)
    .await
    .expect("the raw events")
}

async fn retention_deletes_raw_events_and_keeps_the_figures(app: TestApp) {
    pin(&app);
    let (org, ada) = app.create_org("Acme", "ada@example.com").await;
    let api = app.api(&app.token(ada).await);
    let sol = solution(&api, org, "Orders").await;
    let (_, alice) = member_api(&app, org, "alice@example.com", OrgRole::User).await;
    let shown = json(api.get(format!("/api/v1/orgs/{org}")).await, 200).await;
    assert_eq!(shown["usage_retention_days"], 90, "the default");
    send(&alice, org, events(2, "solution_opened", Some(&sol), None)).await;
    roll(&app).await;
    let day0 = day(app.clock_now());

    for bad in [json!(0), json!(366), json!(-1), json!("ten")] {
        let refused = problem(
            api.patch(
                format!("/api/v1/orgs/{org}"),
                json!({"usage_retention_days": bad}),
            )
            .await,
            422,
        )
        .await;
        assert_eq!(
            fields(&refused),
            BTreeSet::from(["usage_retention_days".to_owned()]),
            "{bad}"
        );
    }
    json(
        api.patch(
            format!("/api/v1/orgs/{org}"),
            json!({"usage_retention_days": 365}),
        )
        .await,
        200,
    )
    .await;

    app.clock.advance(Duration::days(5));
    let changed = json(
        api.patch(
            format!("/api/v1/orgs/{org}"),
            json!({"usage_retention_days": 2}),
        )
        .await,
        200,
    )
    .await;
    assert_eq!(changed["usage_retention_days"], 2, "{changed}");
    // Two days kept: today and yesterday.
    let now = app.clock_now();
    let answer = send(
        &alice,
        org,
        json!([
            {"type": "screen_viewed", "solution_id": sol, "time": rfc(now - Duration::days(2))},
            {"type": "screen_viewed", "solution_id": sol, "time": rfc(now - Duration::days(1))},
            {"type": "screen_viewed", "solution_id": sol},
        ]),
    )
    .await;
    assert_eq!(answer["accepted"], 2);
    assert_eq!(rejected(&answer), [(0, "time".to_owned())]);

    roll(&app).await;
    let first_kept = day_number(now - Duration::days(1));
    let (old, kept) = raw_events_before(&app, org, first_kept).await;
    assert_eq!(old, 0, "raw events before yesterday are deleted");
    assert!(kept >= 2, "yesterday's and today's stay: {kept}");

    let today = today_plus(&app, 0);
    let view = usage(&api, org, &format!("from={day0}&to={today}")).await;
    assert_eq!(
        values(&view, "solution_opens"),
        [2, 0, 0, 0, 0, 0],
        "the figures outlive the raw events"
    );
    assert_eq!(values(&view, "screen_views"), [0, 0, 0, 0, 1, 1]);
    assert_eq!(
        values(&view, "active_users")[0],
        2,
        "Ada and Alice that day"
    );
    // A later rollup leaves the day alone too.
    app.clock.advance(Duration::hours(1));
    roll(&app).await;
    let again = usage(&api, org, &format!("from={day0}&to={day0}")).await;
    assert_eq!(total(&again, "solution_opens"), 2);
}

/// The daily figures are kept for good: when retention grows again after a
/// day's raw events were deleted, that day is final, so an event that arrives
/// late for it is refused by its index and the figures stay what was counted.
async fn figures_of_a_purged_day_survive_a_late_event(app: TestApp) {
    pin(&app);
    let (org, ada) = app.create_org("Acme", "ada@example.com").await;
    let api = app.api(&app.token(ada).await);
    let sol = solution(&api, org, "Orders").await;
    let (_, alice) = member_api(&app, org, "alice@example.com", OrgRole::User).await;
    let day0_time = app.clock_now();
    send(&alice, org, events(3, "solution_opened", Some(&sol), None)).await;
    roll(&app).await;
    let day0 = day(day0_time);
    let query = format!("from={day0}&to={day0}");
    assert_eq!(total(&usage(&api, org, &query).await, "solution_opens"), 3);

    app.clock.advance(Duration::days(5));
    json(
        api.patch(
            format!("/api/v1/orgs/{org}"),
            json!({"usage_retention_days": 2}),
        )
        .await,
        200,
    )
    .await;
    roll(&app).await;
    assert_eq!(
        total(&usage(&api, org, &query).await, "solution_opens"),
        3,
        "kept after the raw events went"
    );

    json(
        api.patch(
            format!("/api/v1/orgs/{org}"),
            json!({"usage_retention_days": 90}),
        )
        .await,
        200,
    )
    .await;
    let late = send(
        &alice,
        org,
        events(
            1,
            "solution_opened",
            Some(&sol),
            Some(rfc(day0_time + Duration::hours(1))),
        ),
    )
    .await;
    assert_eq!(late["accepted"], 0, "{late}");
    assert_eq!(late["rejected"][0]["field"], "time", "{late}");
    roll(&app).await;
    assert_eq!(
        total(&usage(&api, org, &query).await, "solution_opens"),
        3,
        "the final day's figures are what was counted"
    );
}
