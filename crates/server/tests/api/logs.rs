//! Troubleshooting logs through the API: what apps send (bounds, levels,
//! identity, times, the rate limit), the level an app reads, the queries
//! (filters, pages, correlations, CSV), one's own logs, who sees what and
//! that organizations never see each other's entries.

use crate::{assign, json, problem, solution};
use muster_domain::{OrgId, OrgRole, UserId};
use muster_test_support::{db_tests, Api, TestApp};
use serde_json::{json, Value};
use std::collections::BTreeSet;
use time::format_description::well_known::Rfc3339;
use time::{Duration, OffsetDateTime};

db_tests!(
    good_entries_are_kept_and_bad_ones_rejected_by_index,
    each_field_is_bounded,
    a_call_holds_at_most_1000_entries_and_1_mib,
    a_call_over_the_rate_gets_429_and_writes_nothing,
    the_user_and_device_come_from_the_credentials,
    a_time_far_ahead_is_the_time_received_and_one_past_retention_is_rejected,
    the_app_reads_the_level_in_force,
    ingest_drops_what_is_below_the_level_in_force_for_that_member,
    every_filter_selects_its_entries,
    bad_filter_values_are_named,
    pages_follow_each_other_without_gaps_or_repeats,
    correlations_sum_up_each_correlation_id,
    csv_holds_the_selection_with_formulas_neutralised,
    a_user_member_reads_their_own_logs,
    each_role_sees_what_spec_allows,
    organizations_never_see_each_others_entries,
    a_disabled_member_sends_nothing_and_a_removed_ones_entries_stay,
);

// ---------------------------------------------------------------- helpers

fn rfc(at: OffsetDateTime) -> String {
    at.format(&Rfc3339).expect("an RFC 3339 time")
}

/// A time `by` before the app's clock, as RFC 3339.
fn ago(app: &TestApp, by: Duration) -> String {
    rfc(app.clock_now() - by)
}

fn time_of(value: &Value) -> OffsetDateTime {
    let text = value
        .as_str()
        .unwrap_or_else(|| panic!("a time, not {value}"));
    OffsetDateTime::parse(text, &Rfc3339).unwrap_or_else(|e| panic!("{text}: {e}"))
}

/// Percent-encodes a query value.
fn enc(value: &str) -> String {
    value
        .bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// POST /app/logs?org= with `entries`; the answer must be 202.
async fn ingest(api: &Api, org: OrgId, entries: Value) -> Value {
    json(
        api.post(
            format!("/api/v1/app/logs?org={org}"),
            json!({ "entries": entries }),
        )
        .await,
        202,
    )
    .await
}

async fn logs(api: &Api, org: OrgId, query: &str) -> Value {
    json(
        api.get(format!("/api/v1/orgs/{org}/logs?{query}")).await,
        200,
    )
    .await
}

async fn correlations(api: &Api, org: OrgId, query: &str) -> Value {
    json(
        api.get(format!("/api/v1/orgs/{org}/logs/correlations?{query}"))
            .await,
        200,
    )
    .await
}

fn items(page: &Value) -> &Vec<Value> {
    page["items"]
        .as_array()
        .unwrap_or_else(|| panic!("items in {page}"))
}

/// The messages of a page, in its order.
fn messages(page: &Value) -> Vec<String> {
    items(page)
        .iter()
        .map(|i| i["message"].as_str().unwrap_or("<none>").to_owned())
        .collect()
}

fn sorted(mut list: Vec<String>) -> Vec<String> {
    list.sort();
    list
}

fn strings(list: &[&str]) -> Vec<String> {
    list.iter().map(|s| (*s).to_owned()).collect()
}

/// (index, field) of each rejected entry.
fn rejected(answer: &Value) -> Vec<(u64, String)> {
    answer["rejected"]
        .as_array()
        .unwrap_or_else(|| panic!("rejected in {answer}"))
        .iter()
        .map(|r| {
            assert!(
                r["message"].as_str().is_some_and(|m| !m.is_empty()),
                "a rejection says why: {r}"
            );
            (
                r["index"].as_u64().unwrap_or(u64::MAX),
                r["field"].as_str().unwrap_or_default().to_owned(),
            )
        })
        .collect()
}

fn rejections(list: &[(u64, &str)]) -> Vec<(u64, String)> {
    list.iter().map(|(i, f)| (*i, (*f).to_owned())).collect()
}

/// The fields a 422 problem names.
fn fields(problem: &Value) -> Vec<String> {
    problem["errors"]
        .as_array()
        .map(|errors| {
            errors
                .iter()
                .filter_map(|e| e["field"].as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default()
}

async fn set_org(api: &Api, org: OrgId, body: Value) {
    json(api.patch(format!("/api/v1/orgs/{org}"), body).await, 200).await;
}

async fn set_org_level(api: &Api, org: OrgId, level: &str) {
    set_org(api, org, json!({ "logging_level": level })).await;
}

/// Registers a device "Pixel" for the holder of `api`: (device id, mst_dev_ token).
async fn device(api: &Api) -> (String, String) {
    let created = json(
        api.post(
            "/api/v1/app/devices",
            json!({"name": "Pixel", "platform": "android"}),
        )
        .await,
        201,
    )
    .await;
    let token = created["token"]
        .as_str()
        .expect("a device token")
        .to_owned();
    assert!(token.starts_with("mst_dev_"), "{token}");
    (
        created["id"].as_str().expect("a device id").to_owned(),
        token,
    )
}

async fn config(api: &Api, org: OrgId) -> Value {
    json(api.get(format!("/api/v1/app/config?org={org}")).await, 200).await
}

fn log_level_path(org: OrgId, user: UserId) -> String {
    format!("/api/v1/orgs/{org}/users/{user}/log-level")
}

/// The number of entries the org's correlation list counts for `correlation`
/// in the last day (0 when it is not listed).
async fn count_of(api: &Api, org: OrgId, correlation: &str) -> u64 {
    let list = correlations(api, org, &format!("correlation_id={}", enc(correlation))).await;
    items(&list)
        .iter()
        .find(|c| c["correlation_id"] == correlation)
        .and_then(|c| c["entries"].as_u64())
        .unwrap_or(0)
}

/// Every item of a selection, following `next_cursor` (at most 20 pages).
async fn all_pages(api: &Api, path: &str, query: &str) -> Vec<Value> {
    let mut out = Vec::new();
    let mut cursor: Option<String> = None;
    for _ in 0..20 {
        let url = match &cursor {
            Some(c) => format!("{path}?{query}&cursor={}", enc(c)),
            None => format!("{path}?{query}"),
        };
        let page = json(api.get(url).await, 200).await;
        out.extend(items(&page).iter().cloned());
        match page["next_cursor"].as_str() {
            Some(next) => cursor = Some(next.to_owned()),
            None => return out,
        }
    }
    panic!("more than 20 pages of {path}?{query}");
}

/// An RFC 4180 reader: rows of cells (quoted cells may hold commas, quotes
/// and line breaks).
fn parse_csv(text: &str) -> Vec<Vec<String>> {
    let mut rows = Vec::new();
    let mut row = Vec::new();
    let mut cell = String::new();
    let mut quoted = false;
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        if quoted {
            if c == '"' {
                if chars.peek() == Some(&'"') {
                    chars.next();
                    cell.push('"');
                } else {
                    quoted = false;
                }
            } else {
                cell.push(c);
            }
            continue;
        }
        match c {
            '"' if cell.is_empty() => quoted = true,
            ',' => row.push(std::mem::take(&mut cell)),
            '\r' if chars.peek() == Some(&'\n') => {}
            '\n' => {
                row.push(std::mem::take(&mut cell));
                rows.push(std::mem::take(&mut row));
            }
            c => cell.push(c),
        }
    }
    if !cell.is_empty() || !row.is_empty() {
        row.push(cell);
        rows.push(row);
    }
    rows
}

/// GET logs.csv?query: (header, rows), after checking it is CSV.
async fn csv(api: &Api, org: OrgId, query: &str) -> (Vec<String>, Vec<Vec<String>>) {
    let response = api
        .get(format!("/api/v1/orgs/{org}/logs.csv?{query}"))
        .await;
    assert_eq!(response.status(), 200, "logs.csv?{query}");
    let content_type = response
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    assert!(
        content_type.starts_with("text/csv"),
        "content type {content_type}"
    );
    let text = response.text().await.expect("a CSV body");
    let mut rows = parse_csv(&text);
    assert!(!rows.is_empty(), "a header row at least: {text:?}");
    let header: Vec<String> = rows.remove(0).iter().map(|h| h.to_lowercase()).collect();
    for row in &rows {
        assert_eq!(
            row.len(),
            header.len(),
            "every row has the header's cells: {row:?}"
        );
    }
    (header, rows)
}

fn column(header: &[String], name: &str) -> usize {
    header
        .iter()
        .position(|h| h == name)
        .unwrap_or_else(|| panic!("a {name} column in {header:?}"))
}

// ------------------------------------------------------------------ ingest

async fn good_entries_are_kept_and_bad_ones_rejected_by_index(app: TestApp) {
    let (org, owner) = app.create_org("Acme", "ada@example.com").await;
    let admin = app.api(&app.token(owner).await);
    let bob = app.member(org, "bob@example.com", OrgRole::User).await;
    let api = app.api(&app.token(bob).await);
    // A new organization logs errors and above.
    let answer = json(
        api.post(
            format!("/api/v1/app/logs?org={org}"),
            json!({"entries": [
                {"time": ago(&app, Duration::minutes(3)), "level": "error", "message": "first",
                 "correlation_id": "c-1"},
                {"level": "loud", "message": "bad level", "correlation_id": "c-1"},
                {"time": ago(&app, Duration::minutes(2)), "level": "fatal", "message": "second",
                 "correlation_id": "c-1", "user_id": owner.to_string(), "device_id": "dev_x",
                 "unknown": {"nested": true}},
                {"level": "error", "correlation_id": "c-1"},
                {"level": "info", "message": "below the level", "correlation_id": "c-1"},
                {"level": "error", "message": "no correlation"},
                {"time": ago(&app, Duration::minutes(1)), "level": "error", "message": "third",
                 "correlation_id": "c-1"},
            ], "user_id": owner.to_string()}),
        )
        .await,
        202,
    )
    .await;
    assert_eq!(answer["accepted"], 3, "{answer}");
    assert_eq!(answer["dropped"], 1, "{answer}");
    assert_eq!(
        rejected(&answer),
        rejections(&[(1, "level"), (3, "message"), (5, "correlation_id")]),
        "{answer}"
    );
    let page = logs(&admin, org, "").await;
    assert_eq!(messages(&page), strings(&["third", "second", "first"]));
    for item in items(&page) {
        assert_eq!(
            item["user"]["id"],
            bob.to_string(),
            "never the body's user_id"
        );
        assert_eq!(item["user"]["email"], "bob@example.com");
        assert_eq!(item["correlation_id"], "c-1");
    }
    assert_eq!(items(&page)[1]["level"], "fatal");
    // A batch with nothing good is still a 202 that says so.
    let none = ingest(
        &api,
        org,
        json!([{"level": "error", "message": "", "correlation_id": "c-2"}]),
    )
    .await;
    assert_eq!(none["accepted"], 0);
    assert_eq!(rejected(&none), rejections(&[(0, "message")]));
    assert_eq!(messages(&logs(&admin, org, "").await).len(), 3);
}

async fn each_field_is_bounded(app: TestApp) {
    let (org, owner) = app.create_org("Acme", "ada@example.com").await;
    let api = app.api(&app.token(owner).await);
    let orders = solution(&api, org, "Orders").await;
    let (other_org, other_owner) = app.create_org("Globex", "gus@example.com").await;
    let foreign = solution(&app.api(&app.token(other_owner).await), other_org, "Theirs").await;
    let e = |extra: Value| {
        let mut entry = json!({"level": "error", "message": "m", "correlation_id": "bounds"});
        for (key, value) in extra.as_object().expect("an object") {
            entry[key] = value.clone();
        }
        entry
    };
    let entries = json!([
        e(json!({"message": "a".repeat(8192)})),          // 0 ok
        e(json!({"message": "a".repeat(8193)})),          // 1 message
        e(json!({"correlation_id": "c".repeat(128)})),    // 2 ok
        e(json!({"correlation_id": "c".repeat(129)})),    // 3 correlation_id
        e(json!({"correlation_id": "a\u{7}b"})),          // 4 correlation_id
        e(json!({"category": "k".repeat(64)})),           // 5 ok
        e(json!({"category": "k".repeat(65)})),           // 6 category
        e(json!({"context": {"k": "x".repeat(16_000)}})), // 7 ok
        e(json!({"context": {"k": "x".repeat(16_400)}})), // 8 context
        e(json!({"context": [1, 2]})),                    // 9 context
        e(json!({"context": "text"})),                    // 10 context
        e(json!({"solution_id": orders, "message": "in orders"})), // 11 ok
        e(json!({"solution_id": foreign})),               // 12 solution_id
        e(json!({"solution_id": "no-such-solution"})),    // 13 solution_id
        e(json!({"time": "yesterday"})),                  // 14 time
        json!({"message": "m", "correlation_id": "bounds"}), // 15 level
        e(json!({"message": 42})),                        // 16 message
        e(json!({"message": "line one\nline two\ttabbed"})), // 17 ok
        e(json!({"level": "trace"})),                     // 18 dropped
    ]);
    let answer = ingest(&api, org, entries).await;
    assert_eq!(answer["accepted"], 6, "{answer}");
    assert_eq!(answer["dropped"], 1, "{answer}");
    assert_eq!(
        rejected(&answer),
        rejections(&[
            (1, "message"),
            (3, "correlation_id"),
            (4, "correlation_id"),
            (6, "category"),
            (8, "context"),
            (9, "context"),
            (10, "context"),
            (12, "solution_id"),
            (13, "solution_id"),
            (14, "time"),
            (15, "level"),
            (16, "message"),
        ]),
        "{answer}"
    );
    app.clock.advance(Duration::seconds(1));
    let page = logs(&api, org, "limit=200").await;
    let list = items(&page);
    assert_eq!(list.len(), 6, "{page}");
    assert!(list
        .iter()
        .any(|i| i["message"].as_str().map(str::len) == Some(8192)));
    assert!(list
        .iter()
        .any(|i| i["correlation_id"].as_str().map(str::len) == Some(128)));
    assert!(list
        .iter()
        .any(|i| i["category"].as_str().map(str::len) == Some(64)));
    assert!(list
        .iter()
        .any(|i| i["context"]["k"].as_str().map(str::len) == Some(16_000)));
    assert!(list
        .iter()
        .any(|i| i["message"] == "line one\nline two\ttabbed"));
    let in_orders = list
        .iter()
        .find(|i| i["message"] == "in orders")
        .expect("the entry of Orders");
    assert_eq!(
        in_orders["solution"],
        json!({"id": orders, "name": "Orders"})
    );
}

async fn a_call_holds_at_most_1000_entries_and_1_mib(app: TestApp) {
    let (org, owner) = app.create_org("Acme", "ada@example.com").await;
    let api = app.api(&app.token(owner).await);
    let many = |n: usize, correlation: &str| {
        Value::Array(
            (0..n)
                .map(|i| json!({"level": "error", "message": format!("n{i}"), "correlation_id": correlation}))
                .collect(),
        )
    };
    let thousand = ingest(&api, org, many(1000, "thousand")).await;
    assert_eq!(thousand["accepted"], 1000, "{thousand}");
    assert_eq!(thousand["rejected"], json!([]));
    let url = format!("/api/v1/app/logs?org={org}");
    problem(
        api.post(&url, json!({"entries": many(1001, "too-many")}))
            .await,
        422,
    )
    .await;
    // Just under 1 MiB is taken; just over it is refused whole.
    let big = |n: usize, correlation: &str| {
        Value::Array(
            (0..n)
                .map(|i| {
                    json!({"level": "error", "message": format!("{i}{}", "b".repeat(8180)),
                                "correlation_id": correlation})
                })
                .collect(),
        )
    };
    let under = json!({ "entries": big(120, "under") });
    assert!(under.to_string().len() < 1024 * 1024);
    let taken = json(api.post(&url, under).await, 202).await;
    assert_eq!(taken["accepted"], 120, "{taken}");
    let over = json!({ "entries": big(130, "over") });
    assert!(over.to_string().len() > 1024 * 1024);
    problem(api.post(&url, over).await, 413).await;
    app.clock.advance(Duration::seconds(1));
    assert_eq!(count_of(&api, org, "thousand").await, 1000);
    assert_eq!(count_of(&api, org, "under").await, 120);
    assert_eq!(
        count_of(&api, org, "too-many").await,
        0,
        "nothing of a refused call"
    );
    assert_eq!(
        count_of(&api, org, "over").await,
        0,
        "nothing of a refused call"
    );
}

async fn a_call_over_the_rate_gets_429_and_writes_nothing(app: TestApp) {
    let db = app.db;
    app.shutdown().await;
    let Some(app) = TestApp::start_custom(db, false, |s| s.app_log_rate = 10).await else {
        return;
    };
    let (org, owner) = app.create_org("Acme", "ada@example.com").await;
    let admin = app.api(&app.token(owner).await);
    let bob = app.member(org, "bob@example.com", OrgRole::User).await;
    let pat = app.api(&app.token(bob).await);
    let (_, device_token) = device(&pat).await;
    let phone = app.api(&device_token);
    let batch = |n: usize, tag: &str| {
        Value::Array(
            (0..n)
                .map(|i| json!({"level": "error", "message": format!("{tag} {i}"), "correlation_id": "rate"}))
                .collect(),
        )
    };
    let url = format!("/api/v1/app/logs?org={org}");
    assert_eq!(ingest(&phone, org, batch(6, "first")).await["accepted"], 6);
    let refused = phone
        .post(&url, json!({"entries": batch(5, "refused")}))
        .await;
    assert_eq!(refused.status(), 429);
    let retry: u64 = refused
        .headers()
        .get("retry-after")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse().ok())
        .expect("a Retry-After in seconds");
    assert!((1..=60).contains(&retry), "Retry-After {retry}");
    problem(refused, 429).await;
    // The refused call used none of the allowance: 6 + 4 is the limit.
    assert_eq!(ingest(&phone, org, batch(4, "second")).await["accepted"], 4);
    problem(
        phone.post(&url, json!({"entries": batch(1, "over")})).await,
        429,
    )
    .await;
    // Another credential of the same person has its own allowance.
    assert_eq!(ingest(&pat, org, batch(3, "by token")).await["accepted"], 3);
    // The next minute the device may send again.
    app.clock.advance(Duration::seconds(61));
    assert_eq!(ingest(&phone, org, batch(2, "later")).await["accepted"], 2);
    app.clock.advance(Duration::seconds(1));
    let all = all_pages(
        &admin,
        &format!("/api/v1/orgs/{org}/logs"),
        "correlation_id=rate&limit=200",
    )
    .await;
    let written: BTreeSet<String> = all
        .iter()
        .filter_map(|i| i["message"].as_str().map(str::to_owned))
        .collect();
    assert_eq!(written.len(), 15, "{written:?}");
    assert!(
        !written
            .iter()
            .any(|m| m.starts_with("refused") || m.starts_with("over")),
        "nothing of a refused call is written: {written:?}"
    );
}

async fn the_user_and_device_come_from_the_credentials(app: TestApp) {
    let (org, owner) = app.create_org("Acme", "ada@example.com").await;
    let admin = app.api(&app.token(owner).await);
    set_org_level(&admin, org, "trace").await;
    let bob = app.member(org, "bob@example.com", OrgRole::User).await;
    let pat = app.api(&app.token(bob).await);
    let (device_id, device_token) = device(&pat).await;
    let body_says = json!({"user_id": owner.to_string(), "device_id": device_id,
                           "user": {"id": owner.to_string()}});
    let with = |message: &str, minutes: i64| {
        let mut entry = json!({"time": ago(&app, Duration::minutes(minutes)), "level": "info",
                               "message": message, "correlation_id": "who"});
        for (k, v) in body_says.as_object().expect("object") {
            entry[k] = v.clone();
        }
        entry
    };
    let phone = app.api(&device_token);
    assert_eq!(
        config(&phone, org).await["log_level"],
        "trace",
        "a device token reads the config"
    );
    assert_eq!(
        ingest(&phone, org, json!([with("from the device", 3)])).await["accepted"],
        1
    );
    assert_eq!(
        ingest(&pat, org, json!([with("from a token", 2)])).await["accepted"],
        1
    );
    let client = app.client();
    let csrf = app.login(&client, "bob@example.com").await;
    let response = client
        .post(app.url(&format!("/api/v1/app/logs?org={org}")))
        .header("x-csrf-token", csrf)
        .json(&json!({"entries": [with("from a session", 1)]}))
        .send()
        .await
        .expect("sent");
    assert_eq!(json(response, 202).await["accepted"], 1);
    let page = logs(&admin, org, "correlation_id=who").await;
    assert_eq!(
        messages(&page),
        strings(&["from a session", "from a token", "from the device"])
    );
    for item in items(&page) {
        assert_eq!(
            item["user"],
            json!({"id": bob.to_string(), "email": "bob@example.com"}),
            "{item}"
        );
    }
    let list = items(&page);
    assert_eq!(list[2]["device"], json!({"id": device_id, "name": "Pixel"}));
    assert_eq!(list[1]["device"], Value::Null, "a PAT is no device");
    assert_eq!(list[0]["device"], Value::Null, "a session is no device");
    // Every field of an item.
    let item = &list[1];
    for key in [
        "id",
        "time",
        "received_at",
        "level",
        "category",
        "message",
        "correlation_id",
        "solution",
        "user",
        "device",
        "context",
    ] {
        assert!(item.get(key).is_some(), "{key} in {item}");
    }
    assert_eq!(item["level"], "info");
    assert_eq!(item["category"], Value::Null);
    assert_eq!(item["solution"], Value::Null);
    assert_eq!(item["context"], Value::Null);
    assert_eq!(
        time_of(&item["time"]),
        app.clock_now() - Duration::minutes(2)
    );
    assert_eq!(time_of(&item["received_at"]), app.clock_now());
    // Without credentials nothing is taken.
    let anonymous = reqwest::Client::new()
        .post(app.url(&format!("/api/v1/app/logs?org={org}")))
        .json(&json!({"entries": [with("anonymous", 1)]}))
        .send()
        .await
        .expect("sent");
    problem(anonymous, 401).await;
}

async fn a_time_far_ahead_is_the_time_received_and_one_past_retention_is_rejected(app: TestApp) {
    let (org, owner) = app.create_org("Acme", "ada@example.com").await;
    let api = app.api(&app.token(owner).await);
    let received = app.clock_now();
    let answer = ingest(
        &api,
        org,
        json!([
            {"time": rfc(received + Duration::days(1)), "level": "error", "message": "tomorrow",
             "correlation_id": "t"},
            {"time": rfc(received + Duration::minutes(4)), "level": "error", "message": "a bit ahead",
             "correlation_id": "t"},
            {"time": rfc(received - Duration::days(31)), "level": "error", "message": "too old",
             "correlation_id": "t"},
            {"time": rfc(received - Duration::days(29)), "level": "error", "message": "old",
             "correlation_id": "t"},
            {"level": "error", "message": "no time", "correlation_id": "t"},
        ]),
    )
    .await;
    assert_eq!(answer["accepted"], 4, "{answer}");
    assert_eq!(
        rejected(&answer),
        rejections(&[(2, "time")]),
        "the default retention is 30 days"
    );
    app.clock.advance(Duration::seconds(1));
    let window = format!(
        "correlation_id=t&from={}&to={}",
        enc(&rfc(received - Duration::days(30))),
        enc(&rfc(received + Duration::hours(1)))
    );
    let page = logs(&api, org, &window).await;
    let by = |message: &str| {
        items(&page)
            .iter()
            .find(|i| i["message"] == message)
            .unwrap_or_else(|| panic!("{message} in {page}"))
            .clone()
    };
    let tomorrow = by("tomorrow");
    assert_eq!(
        time_of(&tomorrow["time"]),
        received,
        "clamped to when it arrived"
    );
    assert_eq!(time_of(&tomorrow["received_at"]), received);
    assert_eq!(
        time_of(&by("a bit ahead")["time"]),
        received + Duration::minutes(4),
        "within 5 minutes a time is kept"
    );
    assert_eq!(time_of(&by("old")["time"]), received - Duration::days(29));
    assert_eq!(time_of(&by("no time")["time"]), received);
    assert_eq!(items(&page).len(), 4);
    // A shorter retention rejects what it no longer keeps.
    set_org(&api, org, json!({"log_retention_days": 2})).await;
    let now = app.clock_now();
    let answer = ingest(
        &api,
        org,
        json!([
            {"time": rfc(now - Duration::days(3)), "level": "error", "message": "3 days", "correlation_id": "r"},
            {"time": rfc(now - Duration::days(1)), "level": "error", "message": "1 day", "correlation_id": "r"},
        ]),
    )
    .await;
    assert_eq!(answer["accepted"], 1, "{answer}");
    assert_eq!(rejected(&answer), rejections(&[(0, "time")]));
}

// --------------------------------------------------------- level in force

async fn the_app_reads_the_level_in_force(app: TestApp) {
    let (org, owner) = app.create_org("Acme", "ada@example.com").await;
    let admin = app.api(&app.token(owner).await);
    let bob = app.member(org, "bob@example.com", OrgRole::User).await;
    let carol = app.member(org, "carol@example.com", OrgRole::User).await;
    let carl = app.member(org, "carl@example.com", OrgRole::Creator).await;
    let bob_api = app.api(&app.token(bob).await);
    let carol_api = app.api(&app.token(carol).await);
    let organization = |level: &str| json!({"log_level": level, "log_level_source": "organization", "log_level_until": null});
    assert_eq!(
        config(&bob_api, org).await,
        organization("error"),
        "a new organization logs errors"
    );
    set_org_level(&admin, org, "warn").await;
    assert_eq!(config(&bob_api, org).await, organization("warn"));
    let path = log_level_path(org, bob);
    assert_eq!(
        json(admin.get(&path).await, 200).await,
        json!({"level": null, "until": null})
    );
    // Detailed logging for bob: debug for 24 hours unless told otherwise.
    let set = json(admin.put(&path, json!({})).await, 200).await;
    assert_eq!(set["level"], "debug", "{set}");
    let until = time_of(&set["until"]);
    let expected = app.clock_now() + Duration::hours(24);
    assert!(
        (until - expected).abs() <= Duration::minutes(1),
        "until {until}, about {expected}"
    );
    assert_eq!(json(admin.get(&path).await, 200).await, set);
    let bobs = config(&bob_api, org).await;
    assert_eq!(bobs["log_level"], "debug", "{bobs}");
    assert_eq!(bobs["log_level_source"], "member");
    assert_eq!(time_of(&bobs["log_level_until"]), until);
    assert_eq!(
        config(&carol_api, org).await,
        organization("warn"),
        "only bob's"
    );
    // A level and hours of one's choosing, within bounds.
    let trace = json(
        admin
            .put(&path, json!({"level": "trace", "hours": 2}))
            .await,
        200,
    )
    .await;
    assert_eq!(trace["level"], "trace");
    let until = time_of(&trace["until"]);
    assert!((until - (app.clock_now() + Duration::hours(2))).abs() <= Duration::minutes(1));
    let week = json(
        admin
            .put(&path, json!({"level": "info", "hours": 168}))
            .await,
        200,
    )
    .await;
    assert!(
        (time_of(&week["until"]) - (app.clock_now() + Duration::hours(168))).abs()
            <= Duration::minutes(1)
    );
    for (body, field) in [
        (json!({"hours": 0}), "hours"),
        (json!({"hours": 169}), "hours"),
        (json!({"level": "verbose"}), "level"),
    ] {
        let refused = problem(admin.put(&path, body.clone()).await, 422).await;
        assert_eq!(fields(&refused), [field], "{body}: {refused}");
    }
    assert_eq!(
        config(&bob_api, org).await["log_level"],
        "info",
        "a refused change changes nothing"
    );
    // Only owners and admins set it.
    let creator = app.api(&app.token(carl).await);
    problem(creator.put(&path, json!({})).await, 403).await;
    problem(creator.get(&path).await, 403).await;
    problem(creator.delete(&path).await, 403).await;
    problem(bob_api.put(&path, json!({})).await, 403).await;
    // DELETE ends it.
    let response = admin.delete(&path).await;
    assert_eq!(response.status(), 204);
    assert_eq!(config(&bob_api, org).await, organization("warn"));
    assert_eq!(
        json(admin.get(&path).await, 200).await,
        json!({"level": null, "until": null})
    );
    // And it ends by itself when its time is up.
    json(
        admin
            .put(&path, json!({"level": "debug", "hours": 1}))
            .await,
        200,
    )
    .await;
    assert_eq!(config(&bob_api, org).await["log_level_source"], "member");
    app.clock.advance(Duration::minutes(61));
    assert_eq!(config(&bob_api, org).await, organization("warn"));
    assert_eq!(
        json(admin.get(&path).await, 200).await,
        json!({"level": null, "until": null})
    );
}

async fn ingest_drops_what_is_below_the_level_in_force_for_that_member(app: TestApp) {
    let (org, owner) = app.create_org("Acme", "ada@example.com").await;
    let admin = app.api(&app.token(owner).await);
    let bob = app.member(org, "bob@example.com", OrgRole::User).await;
    let carol = app.member(org, "carol@example.com", OrgRole::User).await;
    let (_, bob_device) = device(&app.api(&app.token(bob).await)).await;
    let (_, carol_device) = device(&app.api(&app.token(carol).await)).await;
    let bob_phone = app.api(&bob_device);
    let carol_phone = app.api(&carol_device);
    let every_level = |tag: &str| {
        Value::Array(
            ["trace", "debug", "info", "warn", "error", "fatal"]
                .iter()
                .map(|level| json!({"level": level, "message": format!("{tag} {level}"), "correlation_id": tag}))
                .collect(),
        )
    };
    let sent = |answer: Value| (answer["accepted"].clone(), answer["dropped"].clone());
    // The organization's level: error.
    assert_eq!(
        sent(ingest(&bob_phone, org, every_level("b1")).await),
        (json!(2), json!(4))
    );
    // Detailed logging for bob only.
    json(
        admin
            .put(log_level_path(org, bob), json!({"level": "debug"}))
            .await,
        200,
    )
    .await;
    assert_eq!(
        sent(ingest(&bob_phone, org, every_level("b2")).await),
        (json!(5), json!(1))
    );
    assert_eq!(
        sent(ingest(&carol_phone, org, every_level("c1")).await),
        (json!(2), json!(4))
    );
    // The organization's level changes for everyone without an override.
    set_org_level(&admin, org, "warn").await;
    assert_eq!(
        sent(ingest(&carol_phone, org, every_level("c2")).await),
        (json!(3), json!(3))
    );
    assert_eq!(
        sent(ingest(&bob_phone, org, every_level("b3")).await),
        (json!(5), json!(1))
    );
    assert_eq!(admin.delete(log_level_path(org, bob)).await.status(), 204);
    assert_eq!(
        sent(ingest(&bob_phone, org, every_level("b4")).await),
        (json!(3), json!(3))
    );
    app.clock.advance(Duration::seconds(1));
    let b2 = logs(&admin, org, "correlation_id=b2&limit=200").await;
    assert_eq!(
        sorted(messages(&b2)),
        sorted(strings(&[
            "b2 debug", "b2 info", "b2 warn", "b2 error", "b2 fatal"
        ]))
    );
    let c1 = logs(&admin, org, "correlation_id=c1").await;
    assert_eq!(
        sorted(messages(&c1)),
        sorted(strings(&["c1 error", "c1 fatal"]))
    );
}

// ------------------------------------------------------------------ queries

struct Seeded {
    org: OrgId,
    admin: Api,
    bob: UserId,
    carol: UserId,
    orders: String,
    routes: String,
}

/// Five entries by bob and carol over twenty days:
/// A 10 min ago, B 2 h, C 3 days, D 10 days, E 20 days.
async fn seed(app: &TestApp) -> Seeded {
    let (org, owner) = app.create_org("Acme", "ada@example.com").await;
    let admin = app.api(&app.token(owner).await);
    set_org_level(&admin, org, "trace").await;
    let orders = solution(&admin, org, "Orders").await;
    let routes = solution(&admin, org, "Routes").await;
    let bob = app.member(org, "bob@example.com", OrgRole::User).await;
    let carol = app.member(org, "carol@example.com", OrgRole::User).await;
    let bob_api = app.api(&app.token(bob).await);
    let carol_api = app.api(&app.token(carol).await);
    let m = Duration::minutes;
    let d = Duration::days;
    let bobs = ingest(
        &bob_api,
        org,
        json!([
            {"time": ago(app, m(10)), "level": "info", "category": "sync", "message": "A Upload FAILED: 503",
             "correlation_id": "c-1", "solution_id": orders, "context": {"screen": "orders"}},
            {"time": ago(app, d(3)), "level": "warn", "category": "sync", "message": "C upload retried",
             "correlation_id": "c-1"},
            {"time": ago(app, d(20)), "level": "debug", "category": "ui", "message": "E rendered",
             "correlation_id": "c-4", "solution_id": routes},
        ]),
    )
    .await;
    assert_eq!(bobs["accepted"], 3, "{bobs}");
    let carols = ingest(
        &carol_api,
        org,
        json!([
            {"time": ago(app, Duration::hours(2)), "level": "error", "category": "auth",
             "message": "B token expired", "correlation_id": "c-2", "solution_id": routes},
            {"time": ago(app, d(10)), "level": "fatal", "message": "D crash in orders",
             "correlation_id": "c-3", "solution_id": orders},
        ]),
    )
    .await;
    assert_eq!(carols["accepted"], 2, "{carols}");
    Seeded {
        org,
        admin,
        bob,
        carol,
        orders,
        routes,
    }
}

/// The letters (first word of the message) of a page, in its order.
fn letters(page: &Value) -> String {
    messages(page)
        .iter()
        .map(|m| m.split(' ').next().unwrap_or_default().to_owned())
        .collect()
}

async fn every_filter_selects_its_entries(app: TestApp) {
    let s = seed(&app).await;
    let (api, org) = (&s.admin, s.org);
    let q = |query: String| async move { letters(&logs(api, org, &query).await) };
    assert_eq!(q(String::new()).await, "AB", "the last day by default");
    assert_eq!(q("range=hour".into()).await, "A");
    assert_eq!(q("range=day".into()).await, "AB");
    assert_eq!(q("range=week".into()).await, "ABC");
    assert_eq!(q("range=month".into()).await, "ABCDE");
    let from = enc(&ago(&app, Duration::days(4)));
    let to = enc(&ago(&app, Duration::days(1)));
    assert_eq!(q(format!("from={from}&to={to}")).await, "C");
    assert_eq!(
        q("range=month&level=warn".into()).await,
        "BCD",
        "warn and above"
    );
    assert_eq!(q("range=month&level=fatal".into()).await, "D");
    assert_eq!(q("range=month&level=trace".into()).await, "ABCDE");
    assert_eq!(q(format!("range=month&solution={}", s.orders)).await, "AD");
    assert_eq!(q(format!("range=month&solution={}", s.routes)).await, "BE");
    assert_eq!(q(format!("range=month&user={}", s.bob)).await, "ACE");
    assert_eq!(
        q(format!("range=month&user={}", enc("carol@example.com"))).await,
        "BD",
        "a user by email"
    );
    assert_eq!(q("range=month&correlation_id=c-1".into()).await, "AC");
    assert_eq!(
        q("correlation_id=c-1".into()).await,
        "AC",
        "a correlation ID alone is looked for in everything kept"
    );
    assert_eq!(q("range=day&correlation_id=c-1".into()).await, "A");
    assert_eq!(q("range=month&category=sync".into()).await, "AC");
    assert_eq!(
        q("range=month&q=upload".into()).await,
        "AC",
        "ignoring case"
    );
    assert_eq!(q("range=month&q=FAILED%3A%20503".into()).await, "A");
    assert_eq!(
        q("range=month&q=ORDERS".into()).await,
        "D",
        "in the message only"
    );
    assert_eq!(q("range=month&q=nothing".into()).await, "");
    assert_eq!(
        q(format!(
            "range=month&user={}&level=warn&category=sync",
            s.bob
        ))
        .await,
        "C",
        "filters combine"
    );
    assert_eq!(
        q(format!(
            "range=month&solution={}&user={}",
            s.orders, s.carol
        ))
        .await,
        "D"
    );
    // One item whole.
    let page = logs(api, org, "range=hour").await;
    let a = &items(&page)[0];
    assert!(a["id"].is_string() || a["id"].is_number(), "{a}");
    assert_eq!(a["level"], "info");
    assert_eq!(a["category"], "sync");
    assert_eq!(a["message"], "A Upload FAILED: 503");
    assert_eq!(a["correlation_id"], "c-1");
    assert_eq!(a["solution"], json!({"id": s.orders, "name": "Orders"}));
    assert_eq!(
        a["user"],
        json!({"id": s.bob.to_string(), "email": "bob@example.com"})
    );
    assert_eq!(a["device"], Value::Null);
    assert_eq!(a["context"], json!({"screen": "orders"}));
    assert_eq!(time_of(&a["time"]), app.clock_now() - Duration::minutes(10));
    assert_eq!(time_of(&a["received_at"]), app.clock_now());
    assert_eq!(page["next_cursor"], Value::Null);
}

async fn bad_filter_values_are_named(app: TestApp) {
    let s = seed(&app).await;
    for (query, field) in [
        ("range=year", "range"),
        ("level=loud", "level"),
        ("from=yesterday", "from"),
        ("to=tomorrow", "to"),
        ("limit=0", "limit"),
        ("limit=201", "limit"),
        ("solution=not-a-solution", "solution"),
        ("user=not-a-user", "user"),
        // PostgreSQL refuses text with a NUL in it: a 422, not a 500.
        ("q=%00", "q"),
        ("correlation_id=a%00b", "correlation_id"),
        ("category=%01", "category"),
    ] {
        // The CSV is the whole selection: it has no pages to size.
        let paths: &[&str] = if field == "limit" {
            &["logs", "logs/correlations"]
        } else {
            &["logs", "logs/correlations", "logs.csv"]
        };
        for path in paths {
            let refused = problem(
                s.admin
                    .get(format!("/api/v1/orgs/{}/{path}?{query}", s.org))
                    .await,
                422,
            )
            .await;
            assert_eq!(fields(&refused), [field], "{path}?{query}: {refused}");
        }
        if field != "user" {
            let refused = problem(
                s.admin
                    .get(format!("/api/v1/me/logs?org={}&{query}", s.org))
                    .await,
                422,
            )
            .await;
            assert_eq!(fields(&refused), [field], "me/logs?{query}: {refused}");
        }
    }
    let page = logs(&s.admin, s.org, "limit=200&range=month").await;
    assert_eq!(items(&page).len(), 5, "200 is allowed");
}

async fn pages_follow_each_other_without_gaps_or_repeats(app: TestApp) {
    let (org, owner) = app.create_org("Acme", "ada@example.com").await;
    let api = app.api(&app.token(owner).await);
    // Eight entries, three of them at the same moment.
    let minutes = [1, 2, 3, 4, 4, 4, 5, 6];
    let entries: Vec<Value> = minutes
        .iter()
        .enumerate()
        .map(|(i, m)| {
            json!({"time": ago(&app, Duration::minutes(*m)), "level": "error",
                   "message": format!("p{i}"), "correlation_id": "paged"})
        })
        .collect();
    assert_eq!(
        ingest(&api, org, Value::Array(entries)).await["accepted"],
        8
    );
    let path = format!("/api/v1/orgs/{org}/logs");
    let first = json(
        api.get(format!("{path}?correlation_id=paged&limit=3"))
            .await,
        200,
    )
    .await;
    assert_eq!(items(&first).len(), 3);
    assert_eq!(items(&first)[0]["message"], "p0", "newest first");
    // Something newer arriving meanwhile does not shift the pages that follow.
    ingest(
        &api,
        org,
        json!([{"time": ago(&app, Duration::seconds(10)), "level": "error", "message": "newer",
                "correlation_id": "paged"}]),
    )
    .await;
    let cursor = first["next_cursor"].as_str().expect("a second page");
    let second = json(
        api.get(format!(
            "{path}?correlation_id=paged&limit=3&cursor={}",
            enc(cursor)
        ))
        .await,
        200,
    )
    .await;
    assert_eq!(items(&second).len(), 3);
    let cursor = second["next_cursor"].as_str().expect("a third page");
    let third = json(
        api.get(format!(
            "{path}?correlation_id=paged&limit=3&cursor={}",
            enc(cursor)
        ))
        .await,
        200,
    )
    .await;
    assert_eq!(items(&third).len(), 2);
    assert_eq!(third["next_cursor"], Value::Null, "the last page");
    let mut seen: Vec<String> = Vec::new();
    let mut times = Vec::new();
    for page in [&first, &second, &third] {
        seen.extend(messages(page));
        times.extend(items(page).iter().map(|i| time_of(&i["time"])));
    }
    assert_eq!(
        sorted(seen.clone()),
        sorted((0..8).map(|i| format!("p{i}")).collect()),
        "each entry once: {seen:?}"
    );
    assert!(
        times.windows(2).all(|w| w[0] >= w[1]),
        "newest first: {times:?}"
    );
    assert_eq!(&seen[..3], ["p0", "p1", "p2"]);
    assert_eq!(&seen[6..], ["p6", "p7"]);
    // Fifty to a page unless asked.
    let many: Vec<Value> = (0..55)
        .map(|i| {
            json!({"time": ago(&app, Duration::seconds(100 + i)), "level": "error",
                   "message": format!("m{i}"), "correlation_id": "many"})
        })
        .collect();
    ingest(&api, org, Value::Array(many)).await;
    let page = json(api.get(format!("{path}?correlation_id=many")).await, 200).await;
    assert_eq!(items(&page).len(), 50);
    let cursor = page["next_cursor"].as_str().expect("a next page");
    let rest = json(
        api.get(format!("{path}?correlation_id=many&cursor={}", enc(cursor)))
            .await,
        200,
    )
    .await;
    assert_eq!(
        messages(&rest),
        strings(&["m50", "m51", "m52", "m53", "m54"])
    );
    assert_eq!(rest["next_cursor"], Value::Null);
}

async fn correlations_sum_up_each_correlation_id(app: TestApp) {
    let (org, owner) = app.create_org("Acme", "ada@example.com").await;
    let admin = app.api(&app.token(owner).await);
    set_org_level(&admin, org, "trace").await;
    let orders = solution(&admin, org, "Orders").await;
    let bob = app.member(org, "bob@example.com", OrgRole::User).await;
    let carol = app.member(org, "carol@example.com", OrgRole::User).await;
    let m = Duration::minutes;
    let t = |minutes: i64| ago(&app, m(minutes));
    ingest(
        &app.api(&app.token(bob).await),
        org,
        json!([
            {"time": t(30), "level": "info", "message": "start", "correlation_id": "c-1", "solution_id": orders},
            {"time": t(20), "level": "error", "message": "failed", "correlation_id": "c-1", "solution_id": orders},
            {"time": t(25), "level": "warn", "message": "retry", "correlation_id": "c-1", "solution_id": orders},
            {"time": t(50), "level": "fatal", "message": "crash", "correlation_id": "c-3"},
            {"time": t(40), "level": "debug", "message": "after", "correlation_id": "c-3"},
        ]),
    )
    .await;
    ingest(
        &app.api(&app.token(carol).await),
        org,
        json!([{"time": t(5), "level": "debug", "message": "hello", "correlation_id": "c-2"}]),
    )
    .await;
    let list = correlations(&admin, org, "").await;
    let ids: Vec<&str> = items(&list)
        .iter()
        .filter_map(|c| c["correlation_id"].as_str())
        .collect();
    assert_eq!(ids, ["c-2", "c-1", "c-3"], "the most recent first: {list}");
    let c1 = &items(&list)[1];
    assert_eq!(c1["entries"], 3);
    assert_eq!(time_of(&c1["first_at"]), app.clock_now() - m(30));
    assert_eq!(time_of(&c1["last_at"]), app.clock_now() - m(20));
    assert_eq!(c1["highest_level"], "error");
    assert_eq!(
        c1["user"],
        json!({"id": bob.to_string(), "email": "bob@example.com"})
    );
    assert_eq!(c1["solution"], json!({"id": orders, "name": "Orders"}));
    let c2 = &items(&list)[0];
    assert_eq!(c2["entries"], 1);
    assert_eq!(c2["highest_level"], "debug");
    assert_eq!(c2["first_at"], c2["last_at"]);
    assert_eq!(c2["user"]["email"], "carol@example.com");
    assert_eq!(c2["solution"], Value::Null);
    let c3 = &items(&list)[2];
    assert_eq!(c3["entries"], 2);
    assert_eq!(c3["highest_level"], "fatal");
    assert_eq!(time_of(&c3["first_at"]), app.clock_now() - m(50));
    assert_eq!(time_of(&c3["last_at"]), app.clock_now() - m(40));
    // The same filters as the entries: only warn and above count.
    let warn = correlations(&admin, org, "level=warn").await;
    let summed: Vec<(String, u64, String)> = items(&warn)
        .iter()
        .map(|c| {
            (
                c["correlation_id"].as_str().unwrap_or_default().to_owned(),
                c["entries"].as_u64().unwrap_or_default(),
                c["highest_level"].as_str().unwrap_or_default().to_owned(),
            )
        })
        .collect();
    assert_eq!(
        summed,
        [
            ("c-1".to_owned(), 2, "error".to_owned()),
            ("c-3".to_owned(), 1, "fatal".to_owned())
        ]
    );
    assert_eq!(
        time_of(&items(&warn)[0]["first_at"]),
        app.clock_now() - m(25),
        "the first warn-or-above entry of c-1"
    );
    assert_eq!(
        time_of(&items(&warn)[1]["last_at"]),
        app.clock_now() - m(50)
    );
    let bobs = correlations(&admin, org, &format!("user={}", enc("bob@example.com"))).await;
    assert_eq!(items(&bobs).len(), 2);
    let hour = correlations(&admin, org, "range=hour&q=fail").await;
    assert_eq!(items(&hour).len(), 1);
    assert_eq!(items(&hour)[0]["correlation_id"], "c-1");
    assert_eq!(items(&hour)[0]["entries"], 1);
    // Paged one at a time, in the same order.
    let paged = all_pages(
        &admin,
        &format!("/api/v1/orgs/{org}/logs/correlations"),
        "limit=1",
    )
    .await;
    let paged: Vec<&str> = paged
        .iter()
        .filter_map(|c| c["correlation_id"].as_str())
        .collect();
    assert_eq!(paged, ["c-2", "c-1", "c-3"]);
}

async fn csv_holds_the_selection_with_formulas_neutralised(app: TestApp) {
    let (org, owner) = app.create_org("Acme", "ada@example.com").await;
    let api = app.api(&app.token(owner).await);
    set_org_level(&api, org, "trace").await;
    let t = |minutes: i64| ago(&app, Duration::minutes(minutes));
    let risky = [
        "=HYPERLINK(\"http://evil.example\")",
        "+1 more",
        "-5 left",
        "@SUM(A1)",
        "\ttabbed",
        "\rreturn",
    ];
    let mut entries: Vec<Value> = risky
        .iter()
        .enumerate()
        .map(|(i, m)| json!({"time": t(i as i64 + 1), "level": "error", "message": m, "correlation_id": "csv"}))
        .collect();
    entries.push(json!({"time": t(10), "level": "warn", "category": "+cat",
                        "message": "plain, with \"quotes\"\nand a line", "correlation_id": "=corr"}));
    entries.push(
        json!({"time": t(11), "level": "info", "message": "below warn", "correlation_id": "csv"}),
    );
    entries.push(
        json!({"time": t(12), "level": "debug", "message": "also below", "correlation_id": "csv"}),
    );
    assert_eq!(
        ingest(&api, org, Value::Array(entries)).await["accepted"],
        9
    );
    let (header, rows) = csv(&api, org, "").await;
    for name in ["time", "level", "message", "correlation_id"] {
        column(&header, name);
    }
    assert_eq!(rows.len(), 9, "one row per entry: {rows:?}");
    let (header, rows) = csv(&api, org, "level=warn").await;
    assert_eq!(rows.len(), 7, "the selection only");
    let list = logs(&api, org, "level=warn&limit=200").await;
    assert_eq!(
        rows.len(),
        items(&list).len(),
        "as many rows as the list has items"
    );
    let message = column(&header, "message");
    let in_csv: Vec<&str> = rows.iter().map(|r| r[message].as_str()).collect();
    assert_eq!(
        in_csv,
        [
            "'=HYPERLINK(\"http://evil.example\")",
            "'+1 more",
            "'-5 left",
            "'@SUM(A1)",
            "'\ttabbed",
            "'\rreturn",
            "plain, with \"quotes\"\nand a line",
        ],
        "newest first, formulas neutralised, the rest as it was"
    );
    let correlation = column(&header, "correlation_id");
    assert_eq!(rows[6][correlation], "'=corr");
    assert_eq!(rows[0][correlation], "csv");
    let level = column(&header, "level");
    assert_eq!(rows[6][level], "warn");
    if let Some(category) = header.iter().position(|h| h == "category") {
        assert_eq!(rows[6][category], "'+cat");
    }
    let (_, none) = csv(&api, org, "correlation_id=nothing").await;
    assert!(none.is_empty(), "a header and no rows");
}

// ------------------------------------------------------- who sees what

async fn a_user_member_reads_their_own_logs(app: TestApp) {
    let (org, owner) = app.create_org("Acme", "ada@example.com").await;
    let admin = app.api(&app.token(owner).await);
    set_org_level(&admin, org, "trace").await;
    let orders = solution(&admin, org, "Orders").await;
    let bob = app.member(org, "bob@example.com", OrgRole::User).await;
    let carol = app.member(org, "carol@example.com", OrgRole::User).await;
    let carl = app.member(org, "carl@example.com", OrgRole::Creator).await;
    let bob_api = app.api(&app.token(bob).await);
    let carl_api = app.api(&app.token(carl).await);
    let t = |minutes: i64| ago(&app, Duration::minutes(minutes));
    ingest(
        &bob_api,
        org,
        json!([
            {"time": t(1), "level": "error", "message": "bob error", "correlation_id": "b-1", "solution_id": orders},
            {"time": t(2), "level": "info", "message": "bob info", "correlation_id": "b-2"},
            {"time": t(90), "level": "warn", "message": "bob earlier", "correlation_id": "b-1"},
        ]),
    )
    .await;
    ingest(
        &app.api(&app.token(carol).await),
        org,
        json!([{"time": t(1), "level": "error", "message": "carol error", "correlation_id": "b-1"}]),
    )
    .await;
    ingest(
        &carl_api,
        org,
        json!([{"time": t(3), "level": "error", "message": "carl without solution", "correlation_id": "k"}]),
    )
    .await;
    let mine = |api: &Api, query: &str| {
        let api = api.clone();
        let url = format!("/api/v1/me/logs?org={org}&{query}");
        async move { messages(&json(api.get(url).await, 200).await) }
    };
    assert_eq!(
        mine(&bob_api, "").await,
        strings(&["bob error", "bob info", "bob earlier"])
    );
    assert_eq!(
        mine(&bob_api, "level=warn").await,
        strings(&["bob error", "bob earlier"])
    );
    assert_eq!(
        mine(&bob_api, "correlation_id=b-1").await,
        strings(&["bob error", "bob earlier"])
    );
    assert_eq!(
        mine(&bob_api, "range=hour").await,
        strings(&["bob error", "bob info"])
    );
    assert_eq!(mine(&bob_api, "q=INFO").await, strings(&["bob info"]));
    assert_eq!(
        mine(&bob_api, &format!("solution={orders}")).await,
        strings(&["bob error"])
    );
    let page = json(
        bob_api
            .get(format!("/api/v1/me/logs?org={org}&limit=1"))
            .await,
        200,
    )
    .await;
    assert_eq!(messages(&page), strings(&["bob error"]));
    assert_eq!(page["items"][0]["user"]["email"], "bob@example.com");
    assert!(page["next_cursor"].is_string());
    // A creator's own entries, even without a solution they could see in Troubleshooting.
    assert_eq!(
        mine(&carl_api, "").await,
        strings(&["carl without solution"])
    );
    // The organization's logs stay closed to a `user` member.
    for path in ["logs", "logs/correlations", "logs.csv"] {
        problem(bob_api.get(format!("/api/v1/orgs/{org}/{path}")).await, 403).await;
    }
    // Not a member: nothing to read.
    let (other, _) = app.create_org("Globex", "gus@example.com").await;
    problem(
        bob_api.get(format!("/api/v1/me/logs?org={other}")).await,
        404,
    )
    .await;
}

async fn each_role_sees_what_spec_allows(app: TestApp) {
    let (org, owner) = app.create_org("Acme", "ada@example.com").await;
    let owner_api = app.api(&app.token(owner).await);
    let adam = app.member(org, "adam@example.com", OrgRole::Admin).await;
    let carl = app.member(org, "carl@example.com", OrgRole::Creator).await;
    let dana = app.member(org, "dana@example.com", OrgRole::Creator).await;
    let ursula = app.member(org, "ursula@example.com", OrgRole::User).await;
    let carl_api = app.api(&app.token(carl).await);
    let edited = solution(&owner_api, org, "Edited").await;
    let used = solution(&owner_api, org, "Used").await;
    let administered = solution(&owner_api, org, "Administered").await;
    let own = solution(&carl_api, org, "Carls own").await;
    assign(&owner_api, org, carl, &edited, "editor").await;
    assign(&owner_api, org, carl, &used, "user").await;
    assign(&owner_api, org, carl, &administered, "admin").await;
    assign(&owner_api, org, ursula, &used, "user").await;
    let ursula_api = app.api(&app.token(ursula).await);
    let t = |minutes: i64| ago(&app, Duration::minutes(minutes));
    let entry = |minutes: i64, name: &str, sol: Option<&str>| {
        let mut e = json!({"time": t(minutes), "level": "error", "message": name, "correlation_id": format!("c-{name}")});
        if let Some(sol) = sol {
            e["solution_id"] = json!(sol);
        }
        e
    };
    let answer = ingest(
        &ursula_api,
        org,
        json!([
            entry(1, "edited", Some(&edited)),
            entry(2, "used", Some(&used)),
            entry(3, "administered", Some(&administered)),
            entry(4, "own", Some(&own)),
            entry(5, "none", None),
        ]),
    )
    .await;
    assert_eq!(answer["accepted"], 5, "{answer}");
    let everything = strings(&["edited", "used", "administered", "own", "none"]);
    let carls = strings(&["edited", "administered", "own"]);
    let seen = |api: Api, query: &'static str| async move {
        let list = logs(&api, org, query).await;
        let groups = correlations(&api, org, query).await;
        let (header, rows) = csv(&api, org, query).await;
        let message = column(&header, "message");
        let ids: Vec<String> = items(&groups)
            .iter()
            .map(|c| {
                c["correlation_id"]
                    .as_str()
                    .unwrap_or_default()
                    .trim_start_matches("c-")
                    .to_owned()
            })
            .collect();
        let csv_messages: Vec<String> = rows.iter().map(|r| r[message].clone()).collect();
        (messages(&list), ids, csv_messages)
    };
    for (who, user) in [("owner", owner), ("admin", adam)] {
        let (list, groups, rows) = seen(app.api(&app.token(user).await), "").await;
        assert_eq!(list, everything, "{who}: entries");
        assert_eq!(groups, everything, "{who}: correlations");
        assert_eq!(rows, everything, "{who}: CSV");
    }
    // A creator: solutions where they are solution owner, admin or editor;
    // not one they merely use, nor entries without a solution.
    let (list, groups, rows) = seen(carl_api.clone(), "").await;
    assert_eq!(list, carls, "creator: entries");
    assert_eq!(groups, carls, "creator: correlations");
    assert_eq!(rows, carls, "creator: CSV");
    assert_eq!(
        messages(&logs(&carl_api, org, &format!("solution={edited}")).await),
        strings(&["edited"])
    );
    assert_eq!(
        messages(&logs(&carl_api, org, "correlation_id=c-used").await),
        Vec::<String>::new()
    );
    assert_eq!(
        messages(&logs(&carl_api, org, "correlation_id=c-none").await),
        Vec::<String>::new()
    );
    assert_eq!(
        messages(&logs(&carl_api, org, "q=one").await),
        Vec::<String>::new(),
        "the text search does not reach hidden entries"
    );
    for path in ["logs", "logs/correlations", "logs.csv"] {
        problem(
            carl_api
                .get(format!("/api/v1/orgs/{org}/{path}?solution={used}"))
                .await,
            403,
        )
        .await;
    }
    // A creator without solutions sees none.
    let (list, groups, rows) = seen(app.api(&app.token(dana).await), "").await;
    assert!(
        list.is_empty() && groups.is_empty() && rows.is_empty(),
        "{list:?} {groups:?} {rows:?}"
    );
    // A `user` member and an outsider read none of the organization's.
    let (_, outsider) = app.create_org("Globex", "gus@example.com").await;
    let outsider_api = app.api(&app.token(outsider).await);
    for path in ["logs", "logs/correlations", "logs.csv"] {
        problem(
            ursula_api.get(format!("/api/v1/orgs/{org}/{path}")).await,
            403,
        )
        .await;
        problem(
            outsider_api.get(format!("/api/v1/orgs/{org}/{path}")).await,
            404,
        )
        .await;
    }
    // But she reads what she sent.
    let mine = json(
        ursula_api.get(format!("/api/v1/me/logs?org={org}")).await,
        200,
    )
    .await;
    assert_eq!(messages(&mine), everything);
}

async fn organizations_never_see_each_others_entries(app: TestApp) {
    let (acme, ada) = app.create_org("Acme", "ada@example.com").await;
    let (globex, gus) = app.create_org("Globex", "gus@example.com").await;
    let ada_api = app.api(&app.token(ada).await);
    let gus_api = app.api(&app.token(gus).await);
    let globex_sol = solution(&gus_api, globex, "Theirs").await;
    // Bob is in both.
    let bob = app.member(acme, "bob@example.com", OrgRole::User).await;
    app.add_member(
        globex,
        bob,
        OrgRole::User,
        muster_domain::MembershipStatus::Active,
    )
    .await;
    let bob_api = app.api(&app.token(bob).await);
    let (_, phone) = device(&bob_api).await;
    let phone = app.api(&phone);
    let t = |minutes: i64| ago(&app, Duration::minutes(minutes));
    ingest(
        &phone,
        acme,
        json!([{"time": t(2), "level": "error", "message": "in acme", "correlation_id": "shared"}]),
    )
    .await;
    ingest(
        &phone,
        globex,
        json!([
            {"time": t(1), "level": "error", "message": "in globex", "correlation_id": "shared"},
            {"time": t(3), "level": "fatal", "message": "globex again", "correlation_id": "shared",
             "solution_id": globex_sol},
        ]),
    )
    .await;
    // Naming another organization's solution is a bad field, not a way in.
    let answer = ingest(
        &phone,
        acme,
        json!([{"time": t(4), "level": "error", "message": "sneaky", "correlation_id": "shared",
                "solution_id": globex_sol}]),
    )
    .await;
    assert_eq!(rejected(&answer), rejections(&[(0, "solution_id")]));
    assert_eq!(
        messages(&logs(&ada_api, acme, "").await),
        strings(&["in acme"])
    );
    assert_eq!(
        messages(&logs(&gus_api, globex, "").await),
        strings(&["in globex", "globex again"])
    );
    assert_eq!(
        messages(&logs(&ada_api, acme, &format!("user={bob}&correlation_id=shared")).await),
        strings(&["in acme"])
    );
    let acme_groups = correlations(&ada_api, acme, "").await;
    assert_eq!(items(&acme_groups).len(), 1);
    assert_eq!(items(&acme_groups)[0]["entries"], 1);
    assert_eq!(items(&acme_groups)[0]["highest_level"], "error");
    let globex_groups = correlations(&gus_api, globex, "").await;
    assert_eq!(items(&globex_groups)[0]["entries"], 2);
    let (header, rows) = csv(&ada_api, acme, "").await;
    let message = column(&header, "message");
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0][message], "in acme");
    let acme_mine = json(
        bob_api.get(format!("/api/v1/me/logs?org={acme}")).await,
        200,
    )
    .await;
    assert_eq!(messages(&acme_mine), strings(&["in acme"]));
    let globex_mine = json(
        bob_api.get(format!("/api/v1/me/logs?org={globex}")).await,
        200,
    )
    .await;
    assert_eq!(
        messages(&globex_mine),
        strings(&["in globex", "globex again"])
    );
    // Another organization's logs, its solution as a filter, its config and its ingest.
    for path in ["logs", "logs/correlations", "logs.csv"] {
        problem(
            ada_api.get(format!("/api/v1/orgs/{globex}/{path}")).await,
            404,
        )
        .await;
    }
    let filtered = ada_api
        .get(format!("/api/v1/orgs/{acme}/logs?solution={globex_sol}"))
        .await;
    let status = filtered.status().as_u16();
    let body = filtered.text().await.unwrap_or_default();
    let shown_nothing = match status {
        200 => serde_json::from_str::<Value>(&body).is_ok_and(|page| page["items"] == json!([])),
        404 | 422 => !body.contains("Theirs") && !body.contains("globex again"),
        _ => false,
    };
    assert!(
        shown_nothing,
        "another organization's solution as a filter: {status} {body}"
    );
    problem(
        ada_api
            .get(format!("/api/v1/app/config?org={globex}"))
            .await,
        404,
    )
    .await;
    problem(
        ada_api
            .post(
                format!("/api/v1/app/logs?org={globex}"),
                json!({"entries": [{"level": "fatal", "message": "from outside", "correlation_id": "x"}]}),
            )
            .await,
        404,
    )
    .await;
    problem(
        ada_api.put(log_level_path(globex, bob), json!({})).await,
        404,
    )
    .await;
    problem(
        ada_api.get(format!("/api/v1/me/logs?org={globex}")).await,
        404,
    )
    .await;
    assert_eq!(
        messages(&logs(&gus_api, globex, "").await),
        strings(&["in globex", "globex again"]),
        "nothing came in from outside"
    );
}

/// SPEC §2: a disabled member's credentials stop at once in that
/// organization; removing a member keeps their logs.
async fn a_disabled_member_sends_nothing_and_a_removed_ones_entries_stay(app: TestApp) {
    let (org, owner) = app.create_org("Acme", "ada@example.com").await;
    let admin = app.api(&app.token(owner).await);
    let bob = app.member(org, "bob@example.com", OrgRole::User).await;
    let (_, phone) = device(&app.api(&app.token(bob).await)).await;
    let phone = app.api(&phone);
    let entry = |message: &str| {
        json!([{"time": ago(&app, Duration::minutes(1)), "level": "error", "message": message,
                "correlation_id": "gone"}])
    };
    assert_eq!(ingest(&phone, org, entry("before")).await["accepted"], 1);
    json(
        admin
            .post_empty(format!("/api/v1/orgs/{org}/users/{bob}/disable"))
            .await,
        200,
    )
    .await;
    problem(
        phone
            .post(
                format!("/api/v1/app/logs?org={org}"),
                json!({ "entries": entry("while disabled") }),
            )
            .await,
        403,
    )
    .await;
    problem(
        phone.get(format!("/api/v1/app/config?org={org}")).await,
        403,
    )
    .await;
    assert_eq!(messages(&logs(&admin, org, "").await), strings(&["before"]));
    assert_eq!(
        admin
            .delete(format!("/api/v1/orgs/{org}/users/{bob}"))
            .await
            .status(),
        204
    );
    let page = logs(&admin, org, &format!("user={bob}")).await;
    assert_eq!(
        messages(&page),
        strings(&["before"]),
        "a removed member's logs stay"
    );
    assert_eq!(page["items"][0]["user"]["email"], "bob@example.com");
}
