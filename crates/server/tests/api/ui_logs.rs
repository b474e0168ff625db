//! Troubleshooting logs in the web UI through plain HTTP (no JavaScript), on
//! both databases: the Troubleshooting page (ranges and filters in the URL,
//! correlations, a correlation's entries in time order, the side panel of an
//! entry, paging, CSV), what creators and `user` members see, a solution's
//! Logs tab, a member's Logs section with the detailed-logging switch, My
//! troubleshooting, and the settings' logging choices. Entries come in through
//! `POST /api/v1/app/logs`, as an app sends them.

use crate::{assign, json, solution};
use muster_domain::{OrgId, OrgRole};
use muster_test_support::ui::{page, post};
use muster_test_support::{csrf_field, db_tests, Api, Html, TestApp};
use serde_json::{json, Value};
use time::format_description::well_known::Rfc3339;
use time::macros::format_description;
use time::{Duration, OffsetDateTime};

db_tests!(
    the_page_lists_what_apps_sent_and_keeps_filters_in_the_url,
    a_correlation_lists_its_entries_oldest_first_with_every_field,
    entries_page_from_the_newest_to_older_ones,
    bad_filter_values_are_shown_next_to_their_fields,
    a_creator_sees_only_the_logs_of_their_solutions,
    a_user_member_cannot_open_troubleshooting_but_has_my_troubleshooting,
    the_member_switch_turns_detailed_logging_on_and_off,
    notices_come_by_code_never_as_text_from_the_url,
    settings_offer_every_logging_level_and_say_what_it_does,
);

// ---------------------------------------------------------------- helpers

fn rfc(at: OffsetDateTime) -> String {
    at.format(&Rfc3339).expect("an RFC 3339 time")
}

fn ago(app: &TestApp, by: Duration) -> String {
    rfc(app.clock_now() - by)
}

/// A time as a `datetime-local` input holds it (UTC).
fn local(at: OffsetDateTime) -> String {
    at.format(format_description!("[year]-[month]-[day]T[hour]:[minute]"))
        .expect("a local time")
}

fn troubleshooting(app: &TestApp, org: OrgId, query: &str) -> String {
    app.url(&format!("/orgs/{org}/troubleshooting?{query}"))
}

/// Sends `entries` as the holder of `api`; every one must be accepted.
async fn send(api: &Api, org: OrgId, entries: Value) {
    let count = entries.as_array().map(Vec::len).unwrap_or_default();
    let answer = json(
        api.post(
            format!("/api/v1/app/logs?org={org}"),
            json!({ "entries": entries }),
        )
        .await,
        202,
    )
    .await;
    assert_eq!(answer["accepted"], count, "{answer}");
}

/// Apps of `org` log everything from now on.
async fn log_everything(owner: &Api, org: OrgId) {
    json(
        owner
            .patch(
                format!("/api/v1/orgs/{org}"),
                json!({"logging_level": "trace"}),
            )
            .await,
        200,
    )
    .await;
}

async fn config(api: &Api, org: OrgId) -> Value {
    json(api.get(format!("/api/v1/app/config?org={org}")).await, 200).await
}

/// The correlation IDs the list shows, in its order.
fn correlations(page: &Html) -> Vec<String> {
    page.attrs("table#correlations tbody tr", "data-correlation")
}

/// The messages of an entries table, in its order.
fn messages(page: &Html, table: &str) -> Vec<String> {
    page.select(&format!("table#{table} tbody td.log-message"))
}

async fn ok_page(client: &reqwest::Client, url: String) -> Html {
    let (status, html) = page(client, &url).await;
    assert_eq!(status, 200, "{url}: {html}");
    html
}

// ---------------------------------------------------------------- tests

async fn the_page_lists_what_apps_sent_and_keeps_filters_in_the_url(app: TestApp) {
    let (org, ada) = app.create_org("Acme", "ada@example.com").await;
    let api = app.api(&app.token(ada).await);
    log_everything(&api, org).await;
    let field = solution(&api, org, "Field app").await;
    send(
        &api,
        org,
        json!([
            {"time": ago(&app, Duration::minutes(30)), "level": "info", "category": "sync",
             "message": "sync started", "correlation_id": "c-1", "solution_id": field},
            {"time": ago(&app, Duration::minutes(20)), "level": "warn", "category": "sync",
             "message": "upload slow", "correlation_id": "c-1", "solution_id": field},
            {"time": ago(&app, Duration::minutes(10)), "level": "error", "category": "sync",
             "message": "upload failed: 503", "correlation_id": "c-1", "solution_id": field},
            {"time": ago(&app, Duration::hours(2)), "level": "debug", "category": "ui",
             "message": "button tapped", "correlation_id": "c-2"},
            {"time": ago(&app, Duration::days(3)), "level": "fatal",
             "message": "crash on start", "correlation_id": "c-3"},
        ]),
    )
    .await;
    let ada_web = app.form_session("ada@example.com").await;

    // The last day's correlation IDs, the most recent first.
    let list = ok_page(&ada_web, troubleshooting(&app, org, "")).await;
    assert_eq!(list.text_of("main h1"), "Troubleshooting");
    assert!(list.has("nav.sidebar a[aria-current=page][href$='/troubleshooting']"));
    assert_eq!(correlations(&list), ["c-1", "c-2"]);
    assert_eq!(
        list.text_of("tr[data-correlation=c-1] td.count"),
        "3",
        "its entry count"
    );
    assert_eq!(
        list.text_of("tr[data-correlation=c-1] .level"),
        "error",
        "its highest level"
    );
    assert_eq!(
        list.text_of("tr[data-correlation=c-1] td:nth-child(7)"),
        "Field app"
    );
    assert_eq!(
        list.text_of("tr[data-correlation=c-1] td:nth-child(6)"),
        "ada@example.com"
    );
    assert_eq!(
        list.attr("#ranges a[aria-current]", "data-range")
            .as_deref(),
        Some("day")
    );
    assert_eq!(
        list.attrs("#ranges a", "data-range"),
        ["hour", "day", "week", "month", "custom"]
    );
    assert!(!list.source().contains("<script>"), "no inline script");
    assert!(!list.source().contains("style="), "no inline style");

    // The range buttons keep the filters; each range selects its entries.
    let filtered = ok_page(&ada_web, troubleshooting(&app, org, "level=warn")).await;
    let week = filtered
        .attr("#ranges a[data-range=week]", "href")
        .expect("the week button");
    assert!(
        week.contains("range=week") && week.contains("level=warn"),
        "{week}"
    );
    let week = ok_page(&ada_web, app.url(&week)).await;
    assert_eq!(correlations(&week), ["c-1", "c-3"]);
    assert_eq!(
        week.attr("select[name=level] option[selected]", "value")
            .as_deref(),
        Some("warn"),
        "the filter stays in the form"
    );
    assert_eq!(
        week.attr("form#log-filters input[name=range]", "value")
            .as_deref(),
        Some("week"),
        "and so does the range"
    );
    let hour = ok_page(&ada_web, troubleshooting(&app, org, "range=hour")).await;
    assert_eq!(correlations(&hour), ["c-1"]);

    // The entries, newest first, narrowed by each filter.
    let entries = ok_page(&ada_web, troubleshooting(&app, org, "view=entries")).await;
    assert_eq!(
        messages(&entries, "log-entries"),
        [
            "upload failed: 503",
            "upload slow",
            "sync started",
            "button tapped"
        ]
    );
    assert!(entries.has("#tab-entries[aria-current=page]"));
    for (query, expected) in [
        (
            "view=entries&level=warn",
            vec!["upload failed: 503", "upload slow"],
        ),
        ("view=entries&q=BUTTON", vec!["button tapped"]),
        (
            "view=entries&category=sync&level=error",
            vec!["upload failed: 503"],
        ),
        (
            &format!("view=entries&solution={field}&q=upload"),
            vec!["upload failed: 503", "upload slow"],
        ),
        (
            "view=entries&user=ada%40example.com&range=week&level=fatal",
            vec!["crash on start"],
        ),
    ] {
        let page = ok_page(&ada_web, troubleshooting(&app, org, query)).await;
        assert_eq!(messages(&page, "log-entries"), expected, "{query}");
    }
    let by_solution = ok_page(
        &ada_web,
        troubleshooting(&app, org, &format!("solution={field}")),
    )
    .await;
    assert_eq!(
        by_solution.select("select[name=solution] option"),
        ["All solutions", "Field app"]
    );
    assert_eq!(
        by_solution
            .attr("select[name=solution] option[selected]", "value")
            .as_deref(),
        Some(field.as_str())
    );

    // The CSV of the same selection, with the browser's session.
    let csv = filtered
        .attr("a#download-csv", "href")
        .expect("a Download CSV link");
    assert_eq!(csv, format!("/api/v1/orgs/{org}/logs.csv?level=warn"));
    let week_csv = week.attr("a#download-csv", "href").expect("a link");
    assert_eq!(
        week_csv,
        format!("/api/v1/orgs/{org}/logs.csv?range=week&level=warn")
    );
    let response = ada_web.get(app.url(&week_csv)).send().await.expect("csv");
    assert_eq!(response.status(), 200);
    let text = response.text().await.expect("a body");
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 4, "a header and three rows: {text}");

    // Nothing matches: the page says what to do.
    let none = ok_page(&ada_web, troubleshooting(&app, org, "q=nothing-like-this")).await;
    assert!(!none.has("table#correlations"));
    assert!(
        none.text_of("#no-entries").contains("Clear the filters"),
        "{none}"
    );
    assert!(none.has("#no-entries a[href]"));
    let empty_org = {
        let mut tx = app.store().begin().await.expect("a transaction");
        let id =
            muster_store::orgs::create_with_owner(&mut tx, "Empty", "", "en", ada, app.clock_now())
                .await
                .expect("an organization");
        tx.commit().await.expect("commit");
        id
    };
    let empty = ok_page(&ada_web, troubleshooting(&app, empty_org, "range=hour")).await;
    let text = empty.text_of("#no-entries");
    assert!(
        text.starts_with("No entries in the last hour.") && text.contains("POST /api/v1/app/logs"),
        "{text}"
    );
    assert!(!empty.mentions("c-1"), "another organization's entries");
}

async fn a_correlation_lists_its_entries_oldest_first_with_every_field(app: TestApp) {
    let (org, ada) = app.create_org("Acme", "ada@example.com").await;
    let api = app.api(&app.token(ada).await);
    log_everything(&api, org).await;
    let field = solution(&api, org, "Field app").await;
    let device = json(
        api.post(
            "/api/v1/app/devices",
            json!({"name": "Pixel 8", "platform": "android"}),
        )
        .await,
        201,
    )
    .await;
    let device_api = app.api(device["token"].as_str().expect("a device token"));
    // Sent out of order: the page puts them in time order.
    send(
        &device_api,
        org,
        json!([
            {"time": ago(&app, Duration::minutes(5)), "level": "error", "category": "upload",
             "message": "third: gave up", "correlation_id": "order-42", "solution_id": field},
            {"time": ago(&app, Duration::minutes(15)), "level": "info", "category": "upload",
             "message": "first: started\nwith two lines", "correlation_id": "order-42",
             "solution_id": field, "context": {"screen": "orders", "attempt": 1}},
            {"time": ago(&app, Duration::minutes(10)), "level": "warn", "category": "upload",
             "message": "second: retrying", "correlation_id": "order-42", "solution_id": field},
            {"time": ago(&app, Duration::minutes(1)), "level": "info",
             "message": "unrelated", "correlation_id": "other"},
        ]),
    )
    .await;
    let ada_web = app.form_session("ada@example.com").await;
    let list = ok_page(&ada_web, troubleshooting(&app, org, "range=hour")).await;
    let link = list
        .attr("tr[data-correlation=order-42] a.correlation-link", "href")
        .expect("a link to the correlation");
    assert!(
        link.contains("correlation_id=order-42") && link.contains("range=hour"),
        "{link}"
    );
    let one = ok_page(&ada_web, app.url(&link)).await;
    assert_eq!(one.text_of("#correlation-id"), "order-42");
    assert_eq!(one.text_of("#correlation-facts [data-fact=entries]"), "3");
    assert_eq!(
        one.text_of("#correlation-facts [data-fact=highest_level]"),
        "error"
    );
    assert_eq!(
        messages(&one, "log-entries"),
        [
            "first: started with two lines",
            "second: retrying",
            "third: gave up"
        ],
        "oldest first"
    );
    assert_eq!(
        one.attr("#copy-correlation", "data-copy").as_deref(),
        Some("order-42")
    );
    assert!(one.has("a#all-correlations[href]"));

    // Every field in the first entry's side panel, and the copy buttons.
    let api_items = json(
        api.get(format!(
            "/api/v1/orgs/{org}/logs?range=hour&correlation_id=order-42"
        ))
        .await,
        200,
    )
    .await;
    let first = api_items["items"]
        .as_array()
        .and_then(|items| items.last())
        .expect("the oldest entry")
        .clone();
    let id = first["id"].as_i64().expect("an id");
    assert_eq!(
        one.attr(&format!("#row-{id} a.entry-link"), "href"),
        Some(format!("#entry-{id}")),
        "the message opens the panel"
    );
    let panel = format!("aside.entry-panel#entry-{id}");
    assert!(one.has(&panel), "{one}");
    let field_of = |name: &str| one.text_of(&format!("{panel} dd[data-field={name}]"));
    assert_eq!(field_of("time"), first["time"].as_str().expect("a time"));
    assert_eq!(
        field_of("received_at"),
        first["received_at"].as_str().expect("a time")
    );
    assert_eq!(field_of("level"), "info");
    assert_eq!(field_of("category"), "upload");
    assert_eq!(field_of("message"), "first: started with two lines");
    assert!(field_of("correlation_id").starts_with("order-42"));
    assert!(field_of("solution").starts_with("Field app"));
    assert!(field_of("solution").contains(&field));
    assert!(field_of("user").starts_with("ada@example.com"));
    assert!(field_of("device").starts_with("Pixel 8"));
    let context = one.text_of(&format!("{panel} dd[data-field=context] pre.context"));
    assert!(
        context.starts_with('{')
            && context.contains(r#""attempt": 1"#)
            && context.contains(r#""screen": "orders""#),
        "{context}"
    );
    assert_eq!(
        one.attr(
            &format!("{panel} button[data-copy-what=correlation_id]"),
            "data-copy"
        )
        .as_deref(),
        Some("order-42")
    );
    let copied = one
        .attr(
            &format!("{panel} button[data-copy-what=entry]"),
            "data-copy",
        )
        .expect("a copy button for the whole entry");
    let copied: Value = serde_json::from_str(&copied).expect("the entry as JSON");
    assert_eq!(copied, first, "the entry as the API gives it");

    // A correlation ID nobody sent.
    let (status, none) = page(&ada_web, troubleshooting(&app, org, "correlation_id=nope")).await;
    assert_eq!(status, 200);
    assert!(none
        .text_of("#no-entries")
        .starts_with("No entry has this correlation ID"));
}

async fn entries_page_from_the_newest_to_older_ones(app: TestApp) {
    let (org, ada) = app.create_org("Acme", "ada@example.com").await;
    let api = app.api(&app.token(ada).await);
    let entries: Vec<Value> = (0..57)
        .map(|n| {
            json!({"time": ago(&app, Duration::minutes(n)), "level": "error",
                   "message": format!("entry {n:02}"), "correlation_id": format!("c-{n:02}")})
        })
        .collect();
    send(&api, org, Value::Array(entries)).await;
    let ada_web = app.form_session("ada@example.com").await;
    let first = ok_page(
        &ada_web,
        troubleshooting(&app, org, "view=entries&level=error"),
    )
    .await;
    let shown = messages(&first, "log-entries");
    assert_eq!(shown.len(), 50);
    assert_eq!(shown[0], "entry 00");
    assert!(!first.has("#first-page"));
    let older = first.attr("a#next-page", "href").expect("an Older link");
    assert!(
        older.contains("cursor=")
            && older.contains("level=error")
            && older.contains("view=entries"),
        "{older}"
    );
    let second = ok_page(&ada_web, app.url(&older)).await;
    let rest = messages(&second, "log-entries");
    assert_eq!(rest.len(), 7);
    assert_eq!(rest[0], "entry 50");
    assert_eq!(rest[6], "entry 56");
    assert!(!second.has("a#next-page"));
    let newest = second.attr("a#first-page", "href").expect("a Newest link");
    assert!(!newest.contains("cursor="), "{newest}");
    // The correlation list pages too.
    let list = ok_page(&ada_web, troubleshooting(&app, org, "")).await;
    assert_eq!(correlations(&list).len(), 50);
    assert!(list.has("a#next-page"));
}

async fn bad_filter_values_are_shown_next_to_their_fields(app: TestApp) {
    let (org, ada) = app.create_org("Acme", "ada@example.com").await;
    let api = app.api(&app.token(ada).await);
    send(
        &api,
        org,
        json!([
            {"time": ago(&app, Duration::hours(30)), "level": "error",
             "message": "yesterday's", "correlation_id": "c-old"},
            {"time": ago(&app, Duration::hours(2)), "level": "error",
             "message": "today's", "correlation_id": "c-new"},
        ]),
    )
    .await;
    let ada_web = app.form_session("ada@example.com").await;
    let long = "x".repeat(201);
    let (status, refused) = page(
        &ada_web,
        troubleshooting(
            &app,
            org,
            &format!("range=year&level=loud&user=nobody%40example.com&q={long}"),
        ),
    )
    .await;
    assert_eq!(status, 422);
    assert!(
        refused.text_of("#range-error").contains("hour"),
        "{refused}"
    );
    assert!(refused
        .field_error("level")
        .is_some_and(|e| e.contains("trace")));
    // Whether an address has an account is not told (SPEC §6): an address of
    // nobody in the organization selects nothing, like one without entries.
    assert_eq!(refused.field_error("user"), None);
    assert!(refused.field_error("q").is_some_and(|e| e.contains("200")));
    assert_eq!(
        refused.attr("input[name=user]", "value").as_deref(),
        Some("nobody@example.com"),
        "what was typed is kept"
    );
    assert!(refused.has("#filters-error"));
    assert!(!refused.has("table#correlations"));

    // A custom range: from/to (UTC) inputs, their errors next to them.
    let (status, refused) = page(
        &ada_web,
        troubleshooting(&app, org, "range=custom&from=2026-13-01T00%3A00"),
    )
    .await;
    assert_eq!(status, 422);
    assert!(refused.field_error("from").is_some(), "{refused}");
    let from = local(app.clock_now() - Duration::hours(40));
    let to = local(app.clock_now() - Duration::hours(20));
    let custom = ok_page(
        &ada_web,
        troubleshooting(&app, org, &format!("range=custom&from={from}&to={to}")),
    )
    .await;
    assert_eq!(correlations(&custom), ["c-old"]);
    assert_eq!(
        custom
            .attr("#ranges a[aria-current]", "data-range")
            .as_deref(),
        Some("custom")
    );
    assert_eq!(
        custom.attr("input[name=from]", "value"),
        Some(format!("{from}:00"))
    );
    let csv = custom.attr("a#download-csv", "href").expect("a link");
    assert!(
        csv.contains("from=") && csv.contains("Z"),
        "RFC 3339 times: {csv}"
    );
    let (status, _) = page(&ada_web, app.url(&csv)).await;
    assert_eq!(status, 200);
    let (status, backwards) = page(
        &ada_web,
        troubleshooting(&app, org, &format!("range=custom&from={to}&to={from}")),
    )
    .await;
    assert_eq!(status, 422);
    assert!(backwards
        .field_error("from")
        .is_some_and(|e| e.contains("before")));
    // The custom button opens the inputs at the window in force.
    let opened = ok_page(&ada_web, troubleshooting(&app, org, "range=custom")).await;
    assert!(opened.has("input[name=from][type=datetime-local]"));
    assert_eq!(
        correlations(&opened),
        ["c-new"],
        "the last day until changed"
    );

    // A cursor this page never gave.
    let (status, bad) = page(
        &ada_web,
        troubleshooting(&app, org, "view=entries&cursor=not-ours"),
    )
    .await;
    assert_eq!(status, 400);
    assert!(bad.has("#cursor-error"), "{bad}");
}

async fn a_creator_sees_only_the_logs_of_their_solutions(app: TestApp) {
    let (org, ada) = app.create_org("Acme", "ada@example.com").await;
    let carl = app.member(org, "carl@example.com", OrgRole::Creator).await;
    let ursula = app.member(org, "ursula@example.com", OrgRole::User).await;
    app.member(org, "cleo@example.com", OrgRole::Creator).await;
    let owner = app.api(&app.token(ada).await);
    log_everything(&owner, org).await;
    let edited = solution(&owner, org, "Edited").await;
    let used = solution(&owner, org, "Used").await;
    assign(&owner, org, carl, &edited, "editor").await;
    assign(&owner, org, carl, &used, "user").await;
    let ursula_api = app.api(&app.token(ursula).await);
    send(
        &ursula_api,
        org,
        json!([
            {"level": "error", "message": "in edited", "correlation_id": "c-edited", "solution_id": edited},
            {"level": "error", "message": "in used", "correlation_id": "c-used", "solution_id": used},
            {"level": "error", "message": "in none", "correlation_id": "c-none"},
        ]),
    )
    .await;

    let carl_web = app.form_session("carl@example.com").await;
    let list = ok_page(&carl_web, troubleshooting(&app, org, "")).await;
    assert_eq!(correlations(&list), ["c-edited"]);
    assert_eq!(
        list.select("select[name=solution] option"),
        ["All solutions", "Edited"]
    );
    assert!(!list.mentions("in used") && !list.mentions("c-none"));
    let entries = ok_page(&carl_web, troubleshooting(&app, org, "view=entries")).await;
    assert_eq!(messages(&entries, "log-entries"), ["in edited"]);
    let (status, refused) = page(
        &carl_web,
        troubleshooting(&app, org, &format!("solution={used}")),
    )
    .await;
    assert_eq!(status, 403);
    assert!(refused.field_error("solution").is_some(), "{refused}");
    let csv = list.attr("a#download-csv", "href").expect("a link");
    let text = carl_web
        .get(app.url(&csv))
        .send()
        .await
        .expect("csv")
        .text()
        .await
        .expect("a body");
    assert!(
        text.contains("in edited") && !text.contains("in used") && !text.contains("in none"),
        "{text}"
    );

    // The solution pages: a Logs tab where the creator may read the logs.
    let sol_url = |sol: &str, tab: &str| app.url(&format!("/orgs/{org}/solutions/{sol}?tab={tab}"));
    let tab = ok_page(&carl_web, sol_url(&edited, "logs")).await;
    assert!(tab.has("#tab-logs[aria-current=page]"));
    assert_eq!(messages(&tab, "solution-log-entries"), ["in edited"]);
    let all = tab
        .attr("a#solution-troubleshooting", "href")
        .expect("a link to Troubleshooting");
    assert!(all.contains(&format!("solution={edited}")), "{all}");
    let filtered = ok_page(&carl_web, app.url(&all)).await;
    assert_eq!(messages(&filtered, "log-entries"), ["in edited"]);
    let no_tab = ok_page(&carl_web, sol_url(&used, "logs")).await;
    assert!(!no_tab.has("#tab-logs"), "solution role user: no logs");
    assert!(no_tab.has("#tab-users[aria-current=page]"));
    assert!(!no_tab.mentions("in used"));

    // A member's page shows what the creator may read of their logs, no switch.
    let member = ok_page(&carl_web, app.url(&format!("/orgs/{org}/users/{ursula}"))).await;
    assert_eq!(messages(&member, "member-log-entries"), ["in edited"]);
    assert!(!member.has("#detailed-logging"));

    // A creator without such a solution is told why the page is empty.
    let cleo_web = app.form_session("cleo@example.com").await;
    let empty = ok_page(&cleo_web, troubleshooting(&app, org, "")).await;
    assert!(empty.has("#no-readable-solutions"));
    assert!(correlations(&empty).is_empty());

    // The owner sees all three.
    let ada_web = app.form_session("ada@example.com").await;
    let all = ok_page(&ada_web, troubleshooting(&app, org, "")).await;
    assert_eq!(correlations(&all).len(), 3);
    let owner_tab = ok_page(&ada_web, sol_url(&used, "logs")).await;
    assert_eq!(messages(&owner_tab, "solution-log-entries"), ["in used"]);
}

async fn a_user_member_cannot_open_troubleshooting_but_has_my_troubleshooting(app: TestApp) {
    let (org, ada) = app.create_org("Acme", "ada@example.com").await;
    let bob = app.member(org, "bob@example.com", OrgRole::User).await;
    let owner = app.api(&app.token(ada).await);
    log_everything(&owner, org).await;
    send(
        &owner,
        org,
        json!([{"level": "error", "message": "ada's own", "correlation_id": "c-ada"}]),
    )
    .await;
    let bob_api = app.api(&app.token(bob).await);
    send(
        &bob_api,
        org,
        json!([
            {"time": ago(&app, Duration::minutes(3)), "level": "info",
             "message": "bob opened orders", "correlation_id": "c-bob-1"},
            {"time": ago(&app, Duration::minutes(2)), "level": "error",
             "message": "bob's upload failed", "correlation_id": "c-bob-2"},
            {"time": ago(&app, Duration::days(2)), "level": "error",
             "message": "bob two days ago", "correlation_id": "c-bob-3"},
        ]),
    )
    .await;
    let bob_web = app.form_session("bob@example.com").await;
    let (status, _) = page(&bob_web, troubleshooting(&app, org, "")).await;
    assert_eq!(status, 303, "Management is not for the user role");
    let response = bob_web
        .get(troubleshooting(&app, org, ""))
        .send()
        .await
        .expect("troubleshooting");
    assert_eq!(response.headers()["location"], "/no-access");
    let csv = bob_web
        .get(app.url(&format!("/api/v1/orgs/{org}/logs.csv")))
        .send()
        .await
        .expect("csv");
    assert_eq!(csv.status(), 403);

    let profile = ok_page(&bob_web, app.url("/me")).await;
    assert_eq!(
        profile.text_of("#my-troubleshooting-heading"),
        "My troubleshooting"
    );
    assert_eq!(
        messages(&profile, "my-log-entries"),
        ["bob's upload failed", "bob opened orders"]
    );
    assert!(!profile.mentions("ada's own"));
    assert_eq!(
        profile.select("table#my-log-entries th"),
        [
            "Time (UTC)",
            "Level",
            "Category",
            "Message",
            "Correlation ID",
            "Solution"
        ],
        "no user column: they are all the viewer's"
    );
    let week = profile
        .attr("#ranges a[data-range=week]", "href")
        .expect("a week button");
    assert!(
        week.starts_with("/me?") && week.ends_with("#my-troubleshooting"),
        "{week}"
    );
    let week = ok_page(&bob_web, app.url(&week)).await;
    assert_eq!(messages(&week, "my-log-entries").len(), 3);
    assert!(week.has("#ranges a[data-range=week][aria-current]"));
    assert!(!week.has("#ranges a[data-range=custom]"));
    for (query, expected) in [
        (
            "logs_level=error&logs_range=week",
            vec!["bob's upload failed", "bob two days ago"],
        ),
        ("logs_correlation_id=c-bob-1", vec!["bob opened orders"]),
        ("logs_q=UPLOAD", vec!["bob's upload failed"]),
    ] {
        let page = ok_page(&bob_web, app.url(&format!("/me?{query}"))).await;
        assert_eq!(messages(&page, "my-log-entries"), expected, "{query}");
    }
    let (status, refused) = page(&bob_web, app.url("/me?logs_level=loud&logs_range=year")).await;
    assert_eq!(status, 422);
    assert!(refused.field_error("logs_level").is_some(), "{refused}");
    assert!(refused.has("#range-error"));
    let (_, none) = page(&bob_web, app.url("/me?logs_q=nothing")).await;
    assert!(none
        .text_of("#no-my-entries")
        .starts_with("None of your entries"));
}

async fn the_member_switch_turns_detailed_logging_on_and_off(app: TestApp) {
    let (org, _) = app.create_org("Acme", "ada@example.com").await;
    let bob = app.member(org, "bob@example.com", OrgRole::User).await;
    app.member(org, "carl@example.com", OrgRole::Creator).await;
    let bob_api = app.api(&app.token(bob).await);
    let before = config(&bob_api, org).await;
    assert_eq!(before["log_level"], "error");
    assert_eq!(before["log_level_source"], "organization");

    let ada_web = app.form_session("ada@example.com").await;
    let member_url = app.url(&format!("/orgs/{org}/users/{bob}"));
    let member = ok_page(&ada_web, member_url.clone()).await;
    assert!(member.has("#logs #start-detailed-logging"), "{member}");
    assert_eq!(
        member
            .attr("select#detailed-logging-level option[selected]", "value")
            .as_deref(),
        Some("debug")
    );
    assert_eq!(
        member.text_of("#start-detailed-logging"),
        "Detailed logging for 24 hours"
    );
    assert!(member.has("#no-member-entries"));
    let action = member
        .attr("#detailed-logging form", "action")
        .expect("the switch's form");
    let csrf = csrf_field(&member);

    let (status, _) = post(
        &ada_web,
        app.url(&action),
        &[("csrf_token", "forged"), ("level", "debug")],
    )
    .await;
    assert_eq!(status, 403, "the session's token is needed");
    let (status, to) = post(
        &ada_web,
        app.url(&action),
        &[("csrf_token", &csrf), ("level", "debug")],
    )
    .await;
    assert_eq!(status, 303);
    assert_eq!(
        to,
        format!("/orgs/{org}/users/{bob}?done=log_level_set#logs")
    );
    let on = ok_page(&ada_web, app.url(&to)).await;
    assert!(on.text_of("#notice").starts_with("Detailed logging is on"));
    let status_line = on.text_of("#detailed-logging-status");
    assert!(
        status_line.starts_with("Detailed logging (debug) until "),
        "{status_line}"
    );
    let config_on = config(&bob_api, org).await;
    assert_eq!(config_on["log_level"], "debug");
    assert_eq!(config_on["log_level_source"], "member");
    let until = OffsetDateTime::parse(
        config_on["log_level_until"].as_str().expect("an end time"),
        &Rfc3339,
    )
    .expect("RFC 3339");
    assert_eq!(until, app.clock_now() + Duration::hours(24));
    assert!(
        status_line.contains(
            &until
                .format(format_description!("[year]-[month]-[day] [hour]:[minute]"))
                .expect("a time")
        ),
        "{status_line}"
    );
    // The member's debug entries are kept now, and show on their page.
    send(
        &bob_api,
        org,
        json!([{"level": "debug", "message": "tapped save", "correlation_id": "c-debug"}]),
    )
    .await;
    let with_entry = ok_page(&ada_web, member_url.clone()).await;
    assert_eq!(messages(&with_entry, "member-log-entries"), ["tapped save"]);
    let all = with_entry
        .attr("a#member-troubleshooting", "href")
        .expect("a link to Troubleshooting");
    assert!(all.contains("user=bob%40example.com"), "{all}");
    let filtered = ok_page(&ada_web, app.url(&all)).await;
    assert_eq!(messages(&filtered, "log-entries"), ["tapped save"]);

    // A creator neither sees nor uses the switch.
    let carl_web = app.form_session("carl@example.com").await;
    let carls = ok_page(&carl_web, member_url.clone()).await;
    assert!(!carls.has("#detailed-logging"));
    let (status, _) = post(
        &carl_web,
        app.url(&format!("/orgs/{org}/users/{bob}/log-level/stop")),
        &[("csrf_token", &csrf_field(&carls))],
    )
    .await;
    assert_eq!(status, 403);

    // Stop: the organization's level again.
    let stop = on
        .attr("#detailed-logging form", "action")
        .expect("the Stop form");
    assert!(on.has("#stop-detailed-logging"));
    let (status, to) = post(&ada_web, app.url(&stop), &[("csrf_token", &csrf)]).await;
    assert_eq!(status, 303);
    assert_eq!(
        to,
        format!("/orgs/{org}/users/{bob}?done=log_level_stopped#logs")
    );
    let off = ok_page(&ada_web, app.url(&to)).await;
    assert!(off
        .text_of("#notice")
        .starts_with("Detailed logging is off"));
    assert!(off.has("#start-detailed-logging"));
    let after = config(&bob_api, org).await;
    assert_eq!(after["log_level"], "error");
    assert_eq!(after["log_level_source"], "organization");
    let (_, to) = post(&ada_web, app.url(&stop), &[("csrf_token", &csrf)]).await;
    assert!(to.contains("done=log_level_off"), "{to}");

    // A level that is not one is refused, nothing set.
    let (_, to) = post(
        &ada_web,
        app.url(&action),
        &[("csrf_token", &csrf), ("level", "loud")],
    )
    .await;
    let refused = ok_page(&ada_web, app.url(&to)).await;
    assert!(refused
        .text_of("#error")
        .starts_with("Detailed logging was not turned on"));
    assert_eq!(
        config(&bob_api, org).await["log_level_source"],
        "organization"
    );
}

async fn notices_come_by_code_never_as_text_from_the_url(app: TestApp) {
    let (org, _) = app.create_org("Acme", "ada@example.com").await;
    let bob = app.member(org, "bob@example.com", OrgRole::User).await;
    let ada_web = app.form_session("ada@example.com").await;
    let forged = "Your%20account%20is%20locked%2C%20call%20us";
    for url in [
        troubleshooting(
            &app,
            org,
            &format!("notice={forged}&done={forged}&error={forged}"),
        ),
        app.url(&format!(
            "/orgs/{org}/users/{bob}?done={forged}&notice={forged}&error={forged}"
        )),
        app.url(&format!("/orgs/{org}/users?error={forged}")),
        app.url(&format!("/me?notice={forged}&done={forged}&error={forged}")),
        app.url(&format!("/me/security?done={forged}")),
    ] {
        let page = ok_page(&ada_web, url.clone()).await;
        assert!(!page.mentions("account is locked"), "{url}: {page}");
    }
    // Nor from a flash cookie the server did not sign.
    let at = app.clock_now().unix_timestamp();
    let planted = base64_url(&format!(
        r#"{{"path":"/me","at":{at},"flash":{{"error":"Your account is locked"}}}}"#
    ));
    let page = ada_web
        .get(app.url("/me"))
        .header("cookie", format!("muster_flash={planted}.c2lnbmF0dXJl"))
        .send()
        .await
        .expect("my profile");
    let page = page.text().await.expect("html");
    assert!(!page.contains("account is locked"), "{page}");
}

/// Base64url without padding, as the flash cookie carries its JSON.
fn base64_url(text: &str) -> String {
    use base64::Engine;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(text)
}

async fn settings_offer_every_logging_level_and_say_what_it_does(app: TestApp) {
    let (org, _) = app.create_org("Acme", "ada@example.com").await;
    let ada_web = app.form_session("ada@example.com").await;
    let settings = ok_page(&ada_web, app.url(&format!("/orgs/{org}/settings"))).await;
    assert_eq!(
        settings.attrs("select[name=logging_level] option", "value"),
        ["fatal", "error", "warn", "info", "debug", "trace"]
    );
    assert_eq!(
        settings
            .attr("select[name=logging_level] option[selected]", "value")
            .as_deref(),
        Some("error"),
        "a new organization's level"
    );
    let label = settings.text_of("label:has(select[name=logging_level])");
    assert!(
        label.contains("Apps send entries of this level and above; error for a new organization."),
        "{label}"
    );
    let retention = settings.text_of("label:has(input[name=log_retention_days])");
    assert!(retention.contains("1–365"), "{retention}");
    assert_eq!(
        settings
            .attr("input[name=log_retention_days]", "value")
            .as_deref(),
        Some("30")
    );
    let csrf = csrf_field(&settings);
    let (status, refused) = muster_test_support::ui::submit(
        &ada_web,
        app.url(&format!("/orgs/{org}/settings")),
        &[
            ("csrf_token", &csrf),
            ("name", "Acme"),
            ("default_language", "en"),
            ("invite_lifetime_days", "7"),
            ("log_retention_days", "366"),
            ("logging_level", "fatal"),
        ],
    )
    .await;
    assert_eq!(status, 422);
    assert!(
        refused.field_error("log_retention_days").is_some(),
        "{refused}"
    );
}
