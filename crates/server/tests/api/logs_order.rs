//! Troubleshooting's orderings checked against the same data summed up here:
//! the correlation list page by page (ties at one millisecond, IDs across
//! batches), and retention deleting exactly what is past it (on PostgreSQL by
//! dropping whole days).

use crate::json;
use muster_test_support::{db_tests, Api, TestApp};
use serde_json::{json, Value};
use std::collections::HashMap;
use time::format_description::well_known::Rfc3339;
use time::{Duration, OffsetDateTime};

db_tests!(
    the_correlation_list_matches_a_grouping_of_every_entry,
    a_long_scan_ends_the_page_early_and_the_next_goes_on,
    retention_deletes_what_is_older_and_keeps_the_rest,
);

fn at(time: OffsetDateTime) -> String {
    time.format(&Rfc3339).expect("a time")
}

async fn send(api: &Api, org: impl std::fmt::Display, entries: Vec<Value>) -> Value {
    json(
        api.post(
            format!("/api/v1/app/logs?org={org}"),
            json!({"entries": entries}),
        )
        .await,
        202,
    )
    .await
}

/// Every page of `path` (a list with `items` and `next_cursor`), in order.
async fn all_pages(api: &Api, path: &str) -> Vec<Value> {
    let mut items = Vec::new();
    let mut cursor: Option<String> = None;
    for _ in 0..1000 {
        let url = match &cursor {
            Some(c) => format!("{path}&cursor={c}"),
            None => path.to_owned(),
        };
        let page = json(api.get(url).await, 200).await;
        items.extend(page["items"].as_array().expect("items").iter().cloned());
        match page["next_cursor"].as_str() {
            Some(next) => cursor = Some(next.to_owned()),
            None => return items,
        }
    }
    panic!("the pages never end");
}

async fn the_correlation_list_matches_a_grouping_of_every_entry(app: TestApp) {
    let (org, owner) = app.create_org("Acme", "ada@example.com").await;
    let api = app.api(&app.token(owner).await);
    json(
        api.patch(
            format!("/api/v1/orgs/{org}"),
            json!({"logging_level": "trace"}),
        )
        .await,
        200,
    )
    .await;
    let now = app.clock_now();
    let levels = ["trace", "debug", "info", "warn", "error", "fatal"];
    // 2,400 entries: seven to a millisecond (ties), 311 correlation IDs spread
    // over every batch, so that the list's pages cross the scan's chunks.
    let mut entries = Vec::new();
    let mut expected: HashMap<String, (usize, OffsetDateTime, usize)> = HashMap::new();
    for i in 0..2400usize {
        let time = now - Duration::minutes(50) + Duration::milliseconds((i / 7) as i64 * 1000);
        let correlation = format!("c-{:03}", (i * 7919) % 311);
        let level = (i * 31) % 6;
        entries.push(
            json!({"time": at(time), "level": levels[level], "message": format!("entry {i}"),
                            "correlation_id": correlation}),
        );
        if level >= 3 {
            let e = expected.entry(correlation).or_insert((0, time, 0));
            e.0 += 1;
            e.1 = e.1.max(time);
            e.2 = e.2.max(level);
        }
    }
    for batch in entries.chunks(1000) {
        let sent = send(&api, org, batch.to_vec()).await;
        assert_eq!(sent["accepted"], batch.len());
    }
    let mut wanted: Vec<(&String, &(usize, OffsetDateTime, usize))> = expected.iter().collect();
    wanted.sort_by(|a, b| (b.1 .1, b.0).cmp(&(a.1 .1, a.0)));

    let listed = all_pages(
        &api,
        &format!("/api/v1/orgs/{org}/logs/correlations?range=hour&level=warn&limit=7"),
    )
    .await;
    assert_eq!(listed.len(), wanted.len(), "every correlation ID once");
    for (item, (id, (count, last, level))) in listed.iter().zip(&wanted) {
        assert_eq!(item["correlation_id"], **id);
        assert_eq!(item["entries"], *count, "{id}");
        assert_eq!(item["last_at"], at(*last), "{id}");
        assert_eq!(item["highest_level"], levels[*level], "{id}");
    }

    // The entries of the same selection, page by page: each once, newest first.
    let entries = all_pages(
        &api,
        &format!("/api/v1/orgs/{org}/logs?range=hour&level=warn&limit=200"),
    )
    .await;
    let total: usize = expected.values().map(|e| e.0).sum();
    assert_eq!(entries.len(), total);
    let mut ids: Vec<i64> = entries
        .iter()
        .map(|e| e["id"].as_i64().expect("an id"))
        .collect();
    let times: Vec<&str> = entries
        .iter()
        .map(|e| e["time"].as_str().expect("a time"))
        .collect();
    assert!(times.windows(2).all(|w| w[0] >= w[1]), "newest first");
    ids.sort_unstable();
    ids.dedup();
    assert_eq!(ids.len(), total, "no entry twice");
}

/// 51,000 entries of one correlation ID above one of another: the list's page
/// reads at most 50,000 entries, so the first page ends early with the newer ID
/// and a cursor, and the next goes on to the older one; each once.
async fn a_long_scan_ends_the_page_early_and_the_next_goes_on(app: TestApp) {
    let (org, owner) = app.create_org("Acme", "ada@example.com").await;
    let api = app.api(&app.token(owner).await);
    let now = app.clock_now();
    let entry = |n: usize, correlation: &str| {
        let time = now - Duration::minutes(40) + Duration::milliseconds(n as i64 * 10);
        json!({"time": at(time), "level": "error", "message": format!("m{n}"), "correlation_id": correlation})
    };
    send(&api, org, (0..3).map(|n| entry(n, "older")).collect()).await;
    for batch in 0..51 {
        let entries = (0..1000)
            .map(|n| entry(10 + batch * 1000 + n, "newer"))
            .collect();
        send(&api, org, entries).await;
        if batch % 4 == 3 {
            // Within the rate limit of 5,000 a minute.
            app.clock.advance(Duration::minutes(1));
        }
    }
    let first = json(
        api.get(format!(
            "/api/v1/orgs/{org}/logs/correlations?range=hour&limit=5"
        ))
        .await,
        200,
    )
    .await;
    let ids: Vec<&str> = first["items"]
        .as_array()
        .expect("items")
        .iter()
        .map(|c| c["correlation_id"].as_str().expect("an id"))
        .collect();
    assert_eq!(
        ids,
        ["newer"],
        "the page ended at the scan's bound: {first}"
    );
    assert_eq!(first["items"][0]["entries"], 51_000);
    let cursor = first["next_cursor"].as_str().expect("a cursor to go on");
    let all = all_pages(
        &api,
        &format!("/api/v1/orgs/{org}/logs/correlations?range=hour&limit=5"),
    )
    .await;
    let ids: Vec<&str> = all
        .iter()
        .map(|c| c["correlation_id"].as_str().expect("an id"))
        .collect();
    assert_eq!(ids, ["newer", "older"], "every ID once, in order");
    assert_eq!(all[1]["entries"], 3);
    let second = json(
        api.get(format!(
            "/api/v1/orgs/{org}/logs/correlations?range=hour&limit=5&cursor={cursor}"
        ))
        .await,
        200,
    )
    .await;
    assert_eq!(second["items"][0]["correlation_id"], "older");
    // One ID asked for is summed up at once, however many entries it has.
    let one = json(
        api.get(format!(
            "/api/v1/orgs/{org}/logs/correlations?correlation_id=newer"
        ))
        .await,
        200,
    )
    .await;
    assert_eq!(one["items"][0]["entries"], 51_000);
    assert!(one["next_cursor"].is_null());
}

async fn count(api: &Api, org: impl std::fmt::Display) -> usize {
    let listed = all_pages(
        api,
        &format!("/api/v1/orgs/{org}/logs?from=2020-01-01T00:00:00Z&limit=200"),
    )
    .await;
    listed.len()
}

async fn retention_deletes_what_is_older_and_keeps_the_rest(app: TestApp) {
    let (org, owner) = app.create_org("Acme", "ada@example.com").await;
    let (other, other_owner) = app.create_org("Beta", "bob@example.com").await;
    let api = app.api(&app.token(owner).await);
    let other_api = app.api(&app.token(other_owner).await);
    json(
        api.patch(
            format!("/api/v1/orgs/{org}"),
            json!({"log_retention_days": 3}),
        )
        .await,
        200,
    )
    .await;
    let now = app.clock_now();
    let entry = |time: OffsetDateTime, n: usize| json!({"time": at(time), "level": "error", "message": format!("m{n}"), "correlation_id": format!("c{n}")});
    // Acme keeps 3 days: entries 2.5 days old and new ones. Beta keeps 30.
    let old: Vec<Value> = (0..1200)
        .map(|n| entry(now - Duration::hours(60), n))
        .collect();
    send(&api, org, old[..1000].to_vec()).await;
    send(&api, org, old[1000..].to_vec()).await;
    send(&api, org, vec![entry(now, 9999)]).await;
    send(&other_api, other, vec![entry(now - Duration::hours(60), 1)]).await;
    assert_eq!(count(&api, org).await, 1201);

    // A day later Acme's old entries are past its retention; Beta's are not.
    app.clock.advance(Duration::DAY);
    let worker = app.worker();
    worker.maintain(app.clock_now()).await;
    worker.run_until_idle().await.expect("the jobs run");
    assert_eq!(count(&api, org).await, 1, "only the new entry is left");
    assert_eq!(
        count(&other_api, other).await,
        1,
        "another organization keeps its own"
    );

    // An entry older than the retention is refused, not stored to be deleted.
    let refused = send(
        &api,
        org,
        vec![entry(app.clock_now() - Duration::days(4), 1)],
    )
    .await;
    assert_eq!(refused["accepted"], 0);
    assert_eq!(refused["rejected"][0]["field"], "time");

    // 40 days on, every entry is past every retention; on PostgreSQL their
    // days are dropped whole, and a new day gets its partition on demand.
    app.clock.advance(Duration::days(40));
    worker.maintain(app.clock_now()).await;
    worker.run_until_idle().await.expect("the jobs run");
    assert_eq!(count(&api, org).await, 0);
    assert_eq!(count(&other_api, other).await, 0);
    if app.db == muster_test_support::Db::Postgres {
        let mut conn = app.store().read().await.expect("a connection");
        let (partitions,): (i64,) = sqlx::query_as(
            "SELECT COUNT(*) FROM pg_inherits i JOIN pg_class p ON p.oid = i.inhparent \
             WHERE p.relname = 'log_entries' AND i.inhrelid::regclass::text < $1",
        )
        .bind(format!(
            "log_entries_d{}",
            (app.clock_now() - Duration::days(31)).unix_timestamp() / 86_400
        ))
        .fetch_one(&mut *conn)
        .await
        .expect("the partitions");
        assert_eq!(partitions, 0, "the days past every retention are dropped");
    }
    let sent = send(&api, org, vec![entry(app.clock_now(), 1)]).await;
    assert_eq!(sent["accepted"], 1);
    assert_eq!(count(&api, org).await, 1);
}
