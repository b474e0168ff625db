//! The Usage page in the web UI through plain HTTP (no JavaScript), on both
//! databases: a bar per period with its tooltip, the numbers under each chart,
//! the totals and custom events, the range buttons, the per-solution and
//! interval filters, a custom window with its errors next to the fields, the
//! CSV link, what creators and `user` members see, and a solution's Usage tab.
//! Events come in through `POST /api/v1/app/usage` from a device, as an app
//! sends them, and from what people do; the rollup job runs as the worker would.

use crate::json;
use muster_domain::{OrgId, OrgRole, UserId};
use muster_test_support::ui::page;
use muster_test_support::{db_tests, Api, Html, TestApp};
use reqwest::Method;
use serde_json::{json, Value};
use time::format_description::well_known::Rfc3339;
use time::{Date, Duration, Month};

db_tests!(
    the_usage_page_shows_the_rolled_up_figures_a_bar_per_day,
    each_bar_has_a_tooltip_with_its_day_value_and_figure,
    weeks_and_months_are_bars_of_their_own,
    the_solution_filter_narrows_every_figure,
    a_bad_custom_window_is_shown_next_to_its_field_and_the_form_is_kept,
    a_creator_sees_only_the_usage_of_their_solutions,
    a_user_member_cannot_open_usage,
    the_csv_link_downloads_the_window_on_the_page,
    a_solutions_usage_tab_shows_its_own_figures,
);

// ---------------------------------------------------------------- helpers

/// The UTC day `days` before the app's clock.
pub(crate) fn day(app: &TestApp, days: i64) -> Date {
    (app.clock_now() - Duration::days(days)).date()
}

pub(crate) fn ymd(date: Date) -> String {
    format!(
        "{:04}-{:02}-{:02}",
        date.year(),
        u8::from(date.month()),
        date.day()
    )
}

/// The time `days` before the app's clock, as an app sends it.
pub(crate) fn ago(app: &TestApp, days: i64) -> String {
    (app.clock_now() - Duration::days(days))
        .format(&Rfc3339)
        .expect("an RFC 3339 time")
}

/// A device of `user`, registered with their personal access token (which
/// makes no organization call, so counts no API call): the device token's
/// client, as the person's app holds it.
pub(crate) async fn device(app: &TestApp, user: UserId) -> Api {
    let pat = app.api(&app.token(user).await);
    let created = json(
        pat.post(
            "/api/v1/app/devices",
            json!({"name": "Pixel 8", "platform": "android"}),
        )
        .await,
        201,
    )
    .await;
    app.api(created["token"].as_str().expect("a device token"))
}

/// Sends usage `events` as the holder of `api`; every one must be accepted.
pub(crate) async fn send_usage(api: &Api, org: OrgId, events: Value) {
    let count = events.as_array().map(Vec::len).unwrap_or_default();
    let answer = json(
        api.post(
            format!("/api/v1/app/usage?org={org}"),
            json!({ "events": events }),
        )
        .await,
        202,
    )
    .await;
    assert_eq!(answer["accepted"], count, "{answer}");
}

/// Brings the figures up to date, as the worker does every minute.
pub(crate) async fn roll_up(app: &TestApp) {
    let worker = app.worker();
    worker.tick(app.clock_now()).await;
    worker.run_until_idle().await.expect("the jobs run");
}

/// A browser's session, signed in through `POST /api/v1/auth/login` (a
/// sign-in, as the form's): it opens pages and calls the API with its cookie
/// and CSRF header, so no personal access token is made or used.
pub(crate) struct Session {
    web: reqwest::Client,
    csrf: String,
    base: String,
}

impl Session {
    pub(crate) async fn sign_in(app: &TestApp, email: &str) -> Session {
        let web = app.client();
        let csrf = app.login(&web, email).await;
        Session {
            web,
            csrf,
            base: app.base.clone(),
        }
    }

    pub(crate) async fn call(&self, method: Method, path: &str, body: Value) -> reqwest::Response {
        self.web
            .request(method.clone(), format!("{}{path}", self.base))
            .header("x-csrf-token", &self.csrf)
            .json(&body)
            .send()
            .await
            .unwrap_or_else(|e| panic!("{method} {path}: {e}"))
    }

    pub(crate) async fn post(&self, path: &str, body: Value) -> reqwest::Response {
        self.call(Method::POST, path, body).await
    }

    /// The page at `path`, which must open (200).
    pub(crate) async fn page(&self, path: &str) -> Html {
        let url = format!("{}{path}", self.base);
        let (status, html) = page(&self.web, &url).await;
        assert_eq!(status, 200, "{url}: {html}");
        html
    }
}

pub(crate) fn usage_path(org: OrgId, query: &str) -> String {
    format!("/orgs/{org}/usage?{query}")
}

pub(crate) fn chart(metric: &str) -> String {
    format!("figure.chart-card[data-metric={metric}]")
}

/// The tooltips of a chart's bars, oldest first.
pub(crate) fn tooltips(page: &Html, metric: &str) -> Vec<String> {
    page.select(&format!(
        "{} svg.chart rect.chart-bar > title",
        chart(metric)
    ))
}

/// The rows (period, value) of the table under a chart.
pub(crate) fn numbers(page: &Html, metric: &str) -> Vec<Vec<String>> {
    page.rows(&format!(
        "{} details.chart-numbers table tbody tr",
        chart(metric)
    ))
}

/// The total of a figure in the totals table.
pub(crate) fn total(page: &Html, metric: &str) -> String {
    page.text_of(&format!("table#usage-totals tr[data-metric={metric}] td"))
}

/// The custom events table: (name, total) rows.
pub(crate) fn custom_events(page: &Html) -> Vec<Vec<String>> {
    page.rows("table#custom-events tbody tr")
}

/// `from..=to` cut into the periods of `interval` (weeks Monday to Sunday,
/// calendar months), each cut to the window.
pub(crate) fn periods(from: Date, to: Date, interval: &str) -> Vec<(Date, Date)> {
    let mut out = Vec::new();
    let mut start = from;
    while start <= to {
        let end = match interval {
            "week" => {
                start + Duration::days(6 - i64::from(start.weekday().number_days_from_monday()))
            }
            "month" => {
                let (year, month) = match start.month() {
                    Month::December => (start.year() + 1, Month::January),
                    m => (start.year(), m.next()),
                };
                Date::from_calendar_date(year, month, 1).expect("a date") - Duration::days(1)
            }
            _ => start,
        }
        .min(to);
        out.push((start, end));
        start = end + Duration::days(1);
    }
    out
}

/// What the seeded organization holds.
pub(crate) struct Seeded {
    pub(crate) org: OrgId,
    pub(crate) bob: UserId,
    pub(crate) field: String,
    pub(crate) yard: String,
}

/// Acme with Ada (owner), Bob and Cy (user role) and two solutions made with
/// Ada's token (two API calls today), and events from Bob's and Cy's phones:
///
/// | day   | Bob                                      | Cy                                   |
/// |-------|------------------------------------------|--------------------------------------|
/// | −3    | 2 opens + 1 view of Field, `order.placed` | 1 open of Field, `photo.taken` in Field |
/// | −1    | 1 open of Yard                           |                                      |
/// | today |                                          | 1 view of Yard, 2 `order.placed` in Yard |
///
/// Ada signs in today (by the caller) and is active through it and her calls.
pub(crate) async fn seed(app: &TestApp) -> Seeded {
    let (org, ada) = app.create_org("Acme", "ada@example.com").await;
    let bob = app.member(org, "bob@example.com", OrgRole::User).await;
    let cy = app.member(org, "cy@example.com", OrgRole::User).await;
    let owner = app.api(&app.token(ada).await);
    let field = crate::solution(&owner, org, "Field app").await;
    let yard = crate::solution(&owner, org, "Yard app").await;
    let bob_phone = device(app, bob).await;
    let cy_phone = device(app, cy).await;
    send_usage(
        &bob_phone,
        org,
        json!([
            {"type": "solution_opened", "solution_id": field, "time": ago(app, 3)},
            {"type": "solution_opened", "solution_id": field, "time": ago(app, 3)},
            {"type": "screen_viewed", "solution_id": field, "time": ago(app, 3),
             "properties": {"screen": "Orders"}},
            {"type": "order.placed", "time": ago(app, 3)},
            {"type": "solution_opened", "solution_id": yard, "time": ago(app, 1)},
        ]),
    )
    .await;
    send_usage(
        &cy_phone,
        org,
        json!([
            {"type": "solution_opened", "solution_id": field, "time": ago(app, 3)},
            {"type": "photo.taken", "solution_id": field, "time": ago(app, 3)},
            {"type": "screen_viewed", "solution_id": yard},
            {"type": "order.placed", "solution_id": yard},
            {"type": "order.placed", "solution_id": yard},
        ]),
    )
    .await;
    Seeded {
        org,
        bob,
        field,
        yard,
    }
}

// ---------------------------------------------------------------- the Usage page

async fn the_usage_page_shows_the_rolled_up_figures_a_bar_per_day(app: TestApp) {
    let s = seed(&app).await;
    let ada = Session::sign_in(&app, "ada@example.com").await;
    roll_up(&app).await;
    let today = day(&app, 0);

    let usage = ada.page(&usage_path(s.org, "")).await;
    assert_eq!(usage.text_of("main h1"), "Usage");
    assert!(usage.has("nav.sidebar a[aria-current=page][href$='/usage']"));
    assert_eq!(
        usage.select("nav#ranges a"),
        ["Last 7 days", "Last 30 days", "Last 90 days", "Custom"]
    );
    assert_eq!(
        usage
            .attr("nav#ranges a[aria-current]", "data-range")
            .as_deref(),
        Some("30"),
        "the last 30 days when nothing is asked"
    );
    assert_eq!(
        usage.text_of("#usage-window"),
        format!(
            "From {} to {} (UTC days). Today's figures are brought up to date every minute.",
            ymd(day(&app, 29)),
            ymd(today)
        )
    );
    assert!(!usage.has("#restricted-note"), "an owner sees everything");

    // Distinct people: Bob and Cy three days ago, Bob yesterday, Cy and Ada today.
    assert_eq!(usage.text_of("#dau"), "2");
    assert_eq!(usage.text_of("#wau"), "3");
    assert_eq!(usage.text_of("#mau"), "3");

    // Seven charts, each with a bar and a table row per day of the window.
    assert_eq!(
        usage.attrs("figure.chart-card", "data-metric"),
        [
            "active_users",
            "sign_ins",
            "solution_opens",
            "screen_views",
            "notification_opens",
            "api_calls",
            "error_logs"
        ]
    );
    for metric in usage.attrs("figure.chart-card", "data-metric") {
        assert_eq!(
            usage.count(&format!("{} svg.chart rect.chart-bar", chart(&metric))),
            30,
            "{metric}: a bar per day"
        );
        assert_eq!(
            numbers(&usage, &metric).len(),
            30,
            "{metric}: a row per day"
        );
        assert_eq!(
            usage.text_of(&format!("{} details.chart-numbers summary", chart(&metric))),
            "Numbers"
        );
    }
    let opens = numbers(&usage, "solution_opens");
    assert_eq!(opens[0], [ymd(day(&app, 29)), "0".to_owned()]);
    assert_eq!(opens[26], [ymd(day(&app, 3)), "3".to_owned()]);
    assert_eq!(opens[28], [ymd(day(&app, 1)), "1".to_owned()]);
    assert_eq!(opens[29], [ymd(today), "0".to_owned()]);
    let active = numbers(&usage, "active_users");
    assert_eq!(
        (&active[26][1], &active[28][1], &active[29][1]),
        (&"2".to_owned(), &"1".to_owned(), &"2".to_owned())
    );
    assert_eq!(
        usage.text_of(&format!("{} .chart-total", chart("active_users"))),
        "3 distinct people"
    );
    assert_eq!(
        usage.text_of(&format!("{} .chart-total", chart("solution_opens"))),
        "4 in all"
    );

    // The totals of every figure, and the apps' own events by name.
    for (metric, expected) in [
        ("active_users", "3"),
        ("sign_ins", "1"),
        ("solution_opens", "4"),
        ("screen_views", "2"),
        ("notification_opens", "0"),
        ("api_calls", "2"),
        ("error_logs", "0"),
        ("invitations_sent", "0"),
        ("invitations_accepted", "0"),
        ("notifications_sent", "0"),
        ("notifications_delivered", "0"),
        ("custom_events", "4"),
    ] {
        assert_eq!(total(&usage, metric), expected, "the total of {metric}");
    }
    assert_eq!(
        usage.text_of("table#usage-totals caption"),
        format!(
            "Totals from {} to {} (30 days)",
            ymd(day(&app, 29)),
            ymd(today)
        )
    );
    assert_eq!(
        custom_events(&usage),
        [["order.placed", "3"], ["photo.taken", "1"]]
    );
    assert!(!usage.source().contains("<script>"), "no inline script");

    // The 7-day button: seven bars, the same people, the filters kept.
    let seven = usage
        .attr("nav#ranges a[data-range='7']", "href")
        .expect("the 7-day button");
    let seven = ada.page(&seven).await;
    assert_eq!(
        seven
            .attr("nav#ranges a[aria-current]", "data-range")
            .as_deref(),
        Some("7")
    );
    assert_eq!(
        seven
            .attr("form#usage-filters input[name=range]", "value")
            .as_deref(),
        Some("7"),
        "the form keeps the range"
    );
    assert_eq!(
        seven.count(&format!("{} rect.chart-bar", chart("sign_ins"))),
        7
    );
    assert_eq!(
        numbers(&seven, "solution_opens")
            .iter()
            .map(|r| r[0].clone())
            .collect::<Vec<_>>(),
        (0..7).rev().map(|d| ymd(day(&app, d))).collect::<Vec<_>>()
    );
    assert_eq!(total(&seven, "solution_opens"), "4");
    assert_eq!(seven.text_of("#wau"), "3");

    // The 90-day button.
    let ninety = ada.page(&usage_path(s.org, "range=90")).await;
    assert_eq!(
        ninety.count(&format!("{} rect.chart-bar", chart("screen_views"))),
        90
    );
    assert_eq!(
        ninety.text_of("table#usage-totals caption"),
        format!(
            "Totals from {} to {} (90 days)",
            ymd(day(&app, 89)),
            ymd(today)
        )
    );

    // Later events show after the next rollup, not before.
    let bob_phone = device(&app, s.bob).await;
    send_usage(
        &bob_phone,
        s.org,
        json!([{"type": "solution_opened", "solution_id": s.field}]),
    )
    .await;
    let before = ada.page(&usage_path(s.org, "range=7")).await;
    assert_eq!(total(&before, "solution_opens"), "4");
    roll_up(&app).await;
    let after = ada.page(&usage_path(s.org, "range=7")).await;
    assert_eq!(total(&after, "solution_opens"), "5");
    assert_eq!(after.text_of("#dau"), "3", "Bob, Cy and Ada today");
    assert_eq!(numbers(&after, "solution_opens")[6][1], "1");
}

async fn each_bar_has_a_tooltip_with_its_day_value_and_figure(app: TestApp) {
    let s = seed(&app).await;
    let ada = Session::sign_in(&app, "ada@example.com").await;
    roll_up(&app).await;
    let today = ymd(day(&app, 0));
    let three = ymd(day(&app, 3));
    let usage = ada.page(&usage_path(s.org, "range=7")).await;

    let opens = tooltips(&usage, "solution_opens");
    assert_eq!(opens.len(), 7);
    assert_eq!(opens[3], format!("{three}: 3 solution opens"));
    assert_eq!(opens[6], format!("{today}: 0 solution opens"));
    assert_eq!(
        tooltips(&usage, "active_users")[3],
        format!("{three}: 2 active users")
    );
    assert_eq!(
        tooltips(&usage, "active_users")[6],
        format!("{today}: 2 active users"),
        "Cy and Ada"
    );
    // Each chart is named for screen readers.
    assert_eq!(
        usage.text_of(&format!("{} svg.chart > title", chart("screen_views"))),
        "Screen views"
    );

    // How the tooltips read; every wrong one is listed.
    let mut wrong = Vec::new();
    // The figure's name is written as everywhere else on the page (the
    // chart's title, the totals table): "API calls", not "api calls".
    assert_eq!(
        usage.text_of(&format!("{} figcaption .chart-title", chart("api_calls"))),
        "API calls"
    );
    let api = &tooltips(&usage, "api_calls")[6];
    if api != &format!("{today}: 2 API calls") {
        wrong.push(format!("{api:?} should read \"{today}: 2 API calls\""));
    }
    // One of a thing is not written as many (the chart's total says
    // "1 distinct person", not "1 distinct people").
    for (metric, index, plural) in [
        ("solution_opens", 5, "1 solution opens"),
        ("screen_views", 6, "1 screen views"),
        ("sign_ins", 6, "1 sign-ins"),
    ] {
        let tip = &tooltips(&usage, metric)[index];
        assert!(tip.contains(": 1 "), "{tip}");
        if tip.ends_with(plural) {
            wrong.push(format!("{tip:?} says one {metric} in the plural"));
        }
    }
    assert!(wrong.is_empty(), "tooltips that read wrong: {wrong:#?}");
}

async fn weeks_and_months_are_bars_of_their_own(app: TestApp) {
    let s = seed(&app).await;
    let ada = Session::sign_in(&app, "ada@example.com").await;
    roll_up(&app).await;
    let (from, to) = (day(&app, 29), day(&app, 0));
    let by_day = |d: Date| -> i64 {
        if d == day(&app, 3) {
            3
        } else if d == day(&app, 1) {
            1
        } else {
            0
        }
    };

    let weekly = ada.page(&usage_path(s.org, "range=30&interval=week")).await;
    assert_eq!(
        weekly
            .attr("select#interval-filter option[selected]", "value")
            .as_deref(),
        Some("week")
    );
    let weeks = periods(from, to, "week");
    assert!(weeks.len() >= 5, "30 days touch 5 or 6 weeks");
    let expected: Vec<Vec<String>> = weeks
        .iter()
        .map(|(a, b)| {
            let mut sum = 0;
            let mut d = *a;
            while d <= *b {
                sum += by_day(d);
                d += Duration::days(1);
            }
            vec![format!("{} to {}", ymd(*a), ymd(*b)), sum.to_string()]
        })
        .collect();
    assert_eq!(numbers(&weekly, "solution_opens"), expected);
    let bars = tooltips(&weekly, "solution_opens");
    assert_eq!(bars.len(), weeks.len(), "a bar per week");
    for (bar, row) in bars.iter().zip(&expected) {
        assert_eq!(bar, &format!("{}: {} solution opens", row[0], row[1]));
    }
    // Active users of a week are the week's people, never a sum of its days.
    let active = numbers(&weekly, "active_users");
    let week_of = |d: Date| {
        weeks
            .iter()
            .position(|(a, b)| *a <= d && d <= *b)
            .expect("a week")
    };
    let (w3, w1, w0) = (
        week_of(day(&app, 3)),
        week_of(day(&app, 1)),
        week_of(day(&app, 0)),
    );
    let mut people = vec![std::collections::BTreeSet::<&str>::new(); weeks.len()];
    people[w3].extend(["bob", "cy"]);
    people[w1].insert("bob");
    people[w0].extend(["cy", "ada"]);
    for (i, row) in active.iter().enumerate() {
        assert_eq!(row[1], people[i].len().to_string(), "week {}", row[0]);
    }
    assert_eq!(total(&weekly, "active_users"), "3");

    // The interval form keeps the range; the range buttons keep the interval.
    assert_eq!(
        weekly
            .attr("form#usage-filters input[name=range]", "value")
            .as_deref(),
        Some("30")
    );
    let seven = weekly
        .attr("nav#ranges a[data-range='7']", "href")
        .expect("the 7-day button");
    assert!(seven.contains("interval=week"), "{seven}");
    let seven = ada.page(&seven).await;
    assert_eq!(
        seven.count(&format!("{} rect.chart-bar", chart("solution_opens"))),
        periods(day(&app, 6), to, "week").len()
    );

    let monthly = ada
        .page(&usage_path(s.org, "range=90&interval=month"))
        .await;
    let months = periods(day(&app, 89), to, "month");
    let rows = numbers(&monthly, "solution_opens");
    assert_eq!(
        rows.iter().map(|r| r[0].clone()).collect::<Vec<_>>(),
        months
            .iter()
            .map(|(a, b)| format!("{} to {}", ymd(*a), ymd(*b)))
            .collect::<Vec<_>>()
    );
    assert_eq!(
        monthly.count(&format!("{} rect.chart-bar", chart("solution_opens"))),
        months.len()
    );
    assert_eq!(total(&monthly, "solution_opens"), "4");
}

async fn the_solution_filter_narrows_every_figure(app: TestApp) {
    let s = seed(&app).await;
    let ada = Session::sign_in(&app, "ada@example.com").await;
    roll_up(&app).await;
    let whole = ada.page(&usage_path(s.org, "range=7")).await;
    assert_eq!(
        whole.select("select#solution-filter option"),
        ["Whole organization", "Field app", "Yard app"]
    );
    assert_eq!(
        whole.attr("select#solution-filter option[selected]", "value"),
        None,
        "the whole organization"
    );

    let field = ada
        .page(&usage_path(s.org, &format!("range=7&solution={}", s.field)))
        .await;
    assert_eq!(
        field
            .attr("select#solution-filter option[selected]", "value")
            .as_deref(),
        Some(s.field.as_str())
    );
    for (metric, expected) in [
        ("active_users", "2"),
        ("solution_opens", "3"),
        ("screen_views", "1"),
        ("custom_events", "1"),
    ] {
        assert_eq!(total(&field, metric), expected, "Field app's {metric}");
    }
    // The organization's own figures would read 0 for a solution: not shown,
    // and the page says why.
    assert_eq!(
        field.attrs("figure.chart-card", "data-metric"),
        [
            "active_users",
            "solution_opens",
            "screen_views",
            "error_logs"
        ]
    );
    for metric in [
        "sign_ins",
        "api_calls",
        "notification_opens",
        "invitations_sent",
    ] {
        assert!(
            !field.has(&format!("table#usage-totals tr[data-metric={metric}]")),
            "{metric} is the organization's"
        );
    }
    assert!(field
        .text_of("#solution-note")
        .contains("sign-ins, API calls"));
    assert_eq!(
        (
            field.text_of("#dau"),
            field.text_of("#wau"),
            field.text_of("#mau")
        ),
        ("0".to_owned(), "2".to_owned(), "2".to_owned())
    );
    assert_eq!(custom_events(&field), [["photo.taken", "1"]]);
    assert_eq!(numbers(&field, "solution_opens")[3][1], "3");
    assert_eq!(numbers(&field, "solution_opens")[5][1], "0", "Yard's open");

    let yard = ada
        .page(&usage_path(s.org, &format!("range=7&solution={}", s.yard)))
        .await;
    for (metric, expected) in [
        ("active_users", "2"),
        ("solution_opens", "1"),
        ("screen_views", "1"),
        ("custom_events", "2"),
    ] {
        assert_eq!(total(&yard, metric), expected, "Yard app's {metric}");
    }
    assert_eq!(yard.text_of("#dau"), "1", "Cy today");
    assert_eq!(custom_events(&yard), [["order.placed", "2"]]);

    // The range buttons keep the solution.
    let thirty = field
        .attr("nav#ranges a[data-range='30']", "href")
        .expect("the 30-day button");
    assert!(
        thirty.contains(&format!("solution={}", s.field)),
        "{thirty}"
    );
    let thirty = ada.page(&thirty).await;
    assert_eq!(total(&thirty, "solution_opens"), "3");
    assert_eq!(
        thirty.count(&format!("{} rect.chart-bar", chart("solution_opens"))),
        30
    );

    // A solution of no organization of ours: 404 with the message at the field.
    let (status, missing) = page(
        &ada.web,
        app.url(&usage_path(
            s.org,
            "solution=01a242b8-0000-7000-8000-000000000000&range=7",
        )),
    )
    .await;
    assert_eq!(status, 404, "{missing}");
    assert_eq!(
        missing.field_error("solution").as_deref(),
        Some("there is no such solution in this organization")
    );
    assert!(!missing.has("svg.chart"));
    let (status, garbled) = page(&ada.web, app.url(&usage_path(s.org, "solution=yard"))).await;
    assert_eq!(status, 422, "{garbled}");
    assert_eq!(
        garbled.field_error("solution").as_deref(),
        Some("must be a solution id")
    );
}

async fn a_bad_custom_window_is_shown_next_to_its_field_and_the_form_is_kept(app: TestApp) {
    let s = seed(&app).await;
    let ada = Session::sign_in(&app, "ada@example.com").await;
    roll_up(&app).await;
    let to = ymd(day(&app, 1));

    // The custom button opens the date fields.
    let page30 = ada.page(&usage_path(s.org, "")).await;
    assert!(!page30.has("input[name=from]"), "no dates unless asked");
    let custom = page30
        .attr("nav#ranges a[data-range=custom]", "href")
        .expect("the custom button");
    let custom = ada.page(&custom).await;
    assert!(custom.has("input[type=date][name=from]"));
    assert!(custom.has("input[type=date][name=to]"));

    // A day that does not exist: 422, the message at From, the rest kept.
    let query = format!(
        "range=custom&from=2026-02-30&to={to}&solution={}&interval=week",
        s.field
    );
    let url = app.url(&usage_path(s.org, &query));
    let (status, refused) = page(&ada.web, &url).await;
    assert_eq!(status, 422, "{refused}");
    assert_eq!(
        refused.field_error("from").as_deref(),
        Some("must be a date like 2026-12-04")
    );
    assert_eq!(
        refused.text_of("#from-error"),
        "must be a date like 2026-12-04"
    );
    assert_eq!(refused.field_error("to"), None);
    assert_eq!(
        refused.attr("input[name=from]", "value").as_deref(),
        Some("2026-02-30"),
        "what was typed is kept"
    );
    assert_eq!(
        refused.attr("input[name=to]", "value").as_deref(),
        Some(to.as_str())
    );
    assert_eq!(
        refused
            .attr("select#solution-filter option[selected]", "value")
            .as_deref(),
        Some(s.field.as_str())
    );
    assert_eq!(
        refused
            .attr("select#interval-filter option[selected]", "value")
            .as_deref(),
        Some("week")
    );
    assert_eq!(
        refused
            .attr("form#usage-filters input[name=range]", "value")
            .as_deref(),
        Some("custom")
    );
    assert_eq!(
        refused
            .attr("nav#ranges a[aria-current]", "data-range")
            .as_deref(),
        Some("custom")
    );
    assert!(!refused.has("svg.chart"), "no figures for a wrong window");
    assert!(!refused.has("a#download-csv"));
    assert!(refused.has("button#apply-filters"));

    // To before From, and a window longer than two years.
    let (status, reversed) = page(
        &ada.web,
        app.url(&usage_path(
            s.org,
            &format!("range=custom&from={to}&to={}", ymd(day(&app, 5))),
        )),
    )
    .await;
    assert_eq!(status, 422);
    assert_eq!(
        reversed.field_error("to").as_deref(),
        Some("must not be before from")
    );
    let (status, long) = page(
        &ada.web,
        app.url(&usage_path(
            s.org,
            &format!("range=custom&from={}&to={to}", ymd(day(&app, 800))),
        )),
    )
    .await;
    assert_eq!(status, 422);
    assert_eq!(
        long.field_error("from").as_deref(),
        Some("a window covers at most 731 days")
    );
    let (status, interval) = page(
        &ada.web,
        app.url(&usage_path(s.org, "range=7&interval=fortnight")),
    )
    .await;
    assert_eq!(status, 422);
    assert_eq!(
        interval.field_error("interval").as_deref(),
        Some("must be day, week or month")
    );

    // A good window: its days only.
    let good = ada
        .page(&usage_path(
            s.org,
            &format!("range=custom&from={}&to={to}", ymd(day(&app, 4))),
        ))
        .await;
    assert_eq!(
        good.count(&format!("{} rect.chart-bar", chart("solution_opens"))),
        4
    );
    assert_eq!(total(&good, "solution_opens"), "4");
    assert_eq!(total(&good, "sign_ins"), "0", "today is not in it");
    assert_eq!(good.text_of("#dau"), "1", "Bob on the window's last day");
    assert_eq!(
        good.attr("input[name=from]", "value").as_deref(),
        Some(ymd(day(&app, 4)).as_str())
    );
    // To left empty: up to today.
    let open_ended = ada
        .page(&usage_path(
            s.org,
            &format!("range=custom&from={}&to=", ymd(day(&app, 4))),
        ))
        .await;
    assert_eq!(
        open_ended.count(&format!("{} rect.chart-bar", chart("solution_opens"))),
        5
    );
    assert_eq!(
        open_ended.text_of("table#usage-totals caption"),
        format!(
            "Totals from {} to {} (5 days)",
            ymd(day(&app, 4)),
            ymd(day(&app, 0))
        )
    );
}

async fn a_creator_sees_only_the_usage_of_their_solutions(app: TestApp) {
    let s = seed(&app).await;
    let carl = app
        .member(s.org, "carl@example.com", OrgRole::Creator)
        .await;
    app.member(s.org, "cleo@example.com", OrgRole::Creator)
        .await;
    let owner = Session::sign_in(&app, "ada@example.com").await;
    for (sol, role) in [(&s.field, "editor"), (&s.yard, "user")] {
        json(
            owner
                .call(
                    Method::PUT,
                    &format!("/api/v1/orgs/{}/users/{carl}/solutions/{sol}", s.org),
                    json!({ "role": role }),
                )
                .await,
            200,
        )
        .await;
    }
    let carl_web = Session::sign_in(&app, "carl@example.com").await;
    roll_up(&app).await;

    let usage = carl_web.page(&usage_path(s.org, "range=7")).await;
    assert!(usage.has("nav.sidebar a[href$='/usage']"));
    assert_eq!(
        usage.text_of("#restricted-note"),
        "The figures of your solutions only: sign-ins, API calls, invitations and notifications belong to the whole organization, not to a solution, and are not in them."
    );
    assert_eq!(
        usage.select("select#solution-filter option"),
        ["All of my solutions", "Field app"]
    );
    for (metric, expected) in [
        ("active_users", "2"),
        ("solution_opens", "3"),
        ("screen_views", "1"),
        ("custom_events", "1"),
    ] {
        assert_eq!(total(&usage, metric), expected, "carl's {metric}");
    }
    assert!(
        !usage.has("table#usage-totals tr[data-metric=sign_ins]")
            && !usage.has("figure.chart-card[data-metric=api_calls]"),
        "the organization's own figures are not a creator's"
    );
    assert_eq!(custom_events(&usage), [["photo.taken", "1"]]);
    assert!(!usage.mentions("order.placed") && !usage.mentions("Yard app"));
    let csv = usage.attr("a#download-csv", "href").expect("a CSV link");
    let text = carl_web
        .web
        .get(app.url(&csv))
        .send()
        .await
        .expect("the CSV")
        .text()
        .await
        .expect("a body");
    let last = text.lines().next_back().unwrap_or_default().to_owned();
    assert!(last.starts_with("total,"), "{text}");

    // A solution where Carl is only a user: 403, said at the solution field.
    let (status, refused) = page(
        &carl_web.web,
        app.url(&usage_path(s.org, &format!("solution={}", s.yard))),
    )
    .await;
    assert_eq!(status, 403, "{refused}");
    let error = refused
        .field_error("solution")
        .expect("an error at the solution");
    assert!(
        error.contains("you are not owner, admin or editor of solution"),
        "{error}"
    );
    assert_eq!(refused.text_of("#solution-error"), error);
    assert!(!refused.has("svg.chart") && !refused.mentions("order.placed"));
    assert_eq!(
        refused.select("select#solution-filter option"),
        ["All of my solutions", "Field app"],
        "the form is still there"
    );

    // Carl's Overview counts his solutions and activity only.
    let overview = carl_web.page(&format!("/orgs/{}/overview", s.org)).await;
    assert_eq!(overview.text_of("#solution-count"), "1");
    assert!(overview.has("#restricted-note"));
    assert!(
        !overview.has("#notifications-week"),
        "owners and admins only"
    );

    // A creator with no such solution is told why there is nothing.
    let cleo = Session::sign_in(&app, "cleo@example.com").await;
    let empty = cleo.page(&usage_path(s.org, "")).await;
    assert!(empty.has("#no-readable-solutions"), "{empty}");
    assert!(!empty.has("#restricted-note"));
    assert_eq!(total(&empty, "solution_opens"), "0");
    assert_eq!(empty.text_of("#mau"), "0");
}

async fn a_user_member_cannot_open_usage(app: TestApp) {
    let s = seed(&app).await;
    let bob = Session::sign_in(&app, "bob@example.com").await;
    let response = bob
        .web
        .get(app.url(&usage_path(s.org, "range=7")))
        .send()
        .await
        .expect("usage");
    assert_eq!(
        response.status(),
        303,
        "Management is not for the user role"
    );
    assert_eq!(response.headers()["location"], "/no-access");
    let csv = bob
        .web
        .get(app.url(&format!("/api/v1/orgs/{}/usage.csv", s.org)))
        .send()
        .await
        .expect("csv");
    assert_eq!(csv.status(), 403);
    let tab = bob
        .web
        .get(app.url(&format!("/orgs/{}/solutions/{}?tab=usage", s.org, s.field)))
        .send()
        .await
        .expect("a solution page");
    assert_ne!(tab.status(), 200);
    let body = tab.text().await.unwrap_or_default();
    assert!(!body.contains("solution-usage"), "{body}");
}

async fn the_csv_link_downloads_the_window_on_the_page(app: TestApp) {
    let s = seed(&app).await;
    let ada = Session::sign_in(&app, "ada@example.com").await;
    roll_up(&app).await;
    let (from, to) = (ymd(day(&app, 6)), ymd(day(&app, 0)));

    let usage = ada
        .page(&usage_path(
            s.org,
            &format!("range=7&interval=week&solution={}", s.field),
        ))
        .await;
    let href = usage.attr("a#download-csv", "href").expect("a CSV link");
    assert_eq!(usage.text_of("a#download-csv"), "Download CSV");
    assert_eq!(
        href,
        format!(
            "/api/v1/orgs/{}/usage.csv?from={from}&to={to}&interval=week&solution={}",
            s.org, s.field
        )
    );
    let response = ada.web.get(app.url(&href)).send().await.expect("the CSV");
    assert_eq!(response.status(), 200);
    assert!(response.headers()["content-type"]
        .to_str()
        .unwrap_or_default()
        .starts_with("text/csv"));
    assert_eq!(
        response.headers()["content-disposition"],
        format!("attachment; filename=\"usage-{from}-{to}.csv\"").as_str()
    );
    let text = response.text().await.expect("a body");
    let lines: Vec<&str> = text.lines().collect();
    let weeks = periods(day(&app, 6), day(&app, 0), "week");
    assert_eq!(
        lines.len(),
        1 + weeks.len() + 1,
        "a header, the weeks, the total: {text}"
    );
    assert!(lines[0].starts_with("period,from,to,active_users,sign_ins,solution_opens"));
    let header: Vec<&str> = lines[0].split(',').collect();
    let opens = header
        .iter()
        .position(|c| *c == "solution_opens")
        .expect("a column");
    let total_row: Vec<&str> = lines[lines.len() - 1].split(',').collect();
    assert_eq!(
        (total_row[0], total_row[1], total_row[2], total_row[opens]),
        ("total", from.as_str(), to.as_str(), "3"),
        "the page's figures"
    );
    assert_eq!(total(&usage, "solution_opens"), "3");
    assert_eq!(lines[1].split(',').next(), Some("week"));

    // A custom window goes into the link as it was asked.
    let custom_from = ymd(day(&app, 10));
    let custom = ada
        .page(&usage_path(
            s.org,
            &format!("range=custom&from={custom_from}&to={}", ymd(day(&app, 2))),
        ))
        .await;
    assert_eq!(
        custom.attr("a#download-csv", "href"),
        Some(format!(
            "/api/v1/orgs/{}/usage.csv?from={custom_from}&to={}&interval=day",
            s.org,
            ymd(day(&app, 2))
        ))
    );
}

async fn a_solutions_usage_tab_shows_its_own_figures(app: TestApp) {
    let s = seed(&app).await;
    let ada = Session::sign_in(&app, "ada@example.com").await;
    roll_up(&app).await;
    let sol_path = |sol: &str, tab: &str| format!("/orgs/{}/solutions/{sol}?tab={tab}", s.org);

    let users_tab = ada.page(&sol_path(&s.field, "users")).await;
    assert_eq!(
        users_tab.attr("nav.tabs a#tab-usage", "href").as_deref(),
        Some("?tab=usage")
    );
    assert_eq!(users_tab.text_of("nav.tabs a#tab-logs"), "Logs");

    let tab = ada.page(&sol_path(&s.field, "usage")).await;
    assert!(tab.has("nav.tabs a#tab-usage[aria-current=page]"), "{tab}");
    assert_eq!(
        tab.select("nav.tabs a"),
        ["Users", "Groups", "Versions", "Usage", "Logs", "Settings"],
        "the tabs read as tabs: {tab}"
    );
    assert!(
        !tab.has("nav.tabs section"),
        "the figures are not inside the tabs"
    );
    assert!(tab.has("section#solution-usage"), "{tab}");
    assert_eq!(
        tab.text_of("section#solution-usage h2"),
        "Usage in the last 30 days"
    );
    let within = |css: &str| format!("section#solution-usage {css}");
    assert_eq!(
        tab.count(&within("figure.chart-card svg.chart")),
        4,
        "active users, opens, views and error logs: the solution's own"
    );
    assert_eq!(
        tab.count(&within(&format!(
            "{} rect.chart-bar",
            chart("solution_opens")
        ))),
        30
    );
    assert_eq!(
        tab.text_of(&within(
            "table#usage-totals tr[data-metric=solution_opens] td"
        )),
        "3",
        "Field app's opens only"
    );
    assert!(!tab.has(&within("table#usage-totals tr[data-metric=sign_ins]")));
    assert_eq!(tab.text_of(&within("#wau")), "2");
    assert_eq!(
        tab.rows(&within("table#custom-events tbody tr")),
        [["photo.taken", "1"]]
    );
    let more = tab
        .attr("a#solution-usage-link", "href")
        .expect("a link to the Usage page");
    assert_eq!(
        more,
        format!("/orgs/{}/usage?range=30&solution={}", s.org, s.field)
    );
    let linked = ada.page(&more).await;
    assert_eq!(total(&linked, "solution_opens"), "3");
    assert_eq!(
        linked
            .attr("select#solution-filter option[selected]", "value")
            .as_deref(),
        Some(s.field.as_str())
    );

    // The other solution's tab has its own figures.
    let yard = ada.page(&sol_path(&s.yard, "usage")).await;
    assert_eq!(
        yard.text_of("section#solution-usage table#usage-totals tr[data-metric=solution_opens] td"),
        "1"
    );

    // A creator who is only a user of the solution has no Usage tab.
    let carl = app
        .member(s.org, "carl@example.com", OrgRole::Creator)
        .await;
    json(
        ada.call(
            Method::PUT,
            &format!("/api/v1/orgs/{}/users/{carl}/solutions/{}", s.org, s.yard),
            json!({"role": "user"}),
        )
        .await,
        200,
    )
    .await;
    let carl_web = Session::sign_in(&app, "carl@example.com").await;
    let no_tab = carl_web.page(&sol_path(&s.yard, "usage")).await;
    assert!(!no_tab.has("#tab-usage"));
    assert!(!no_tab.has("section#solution-usage"));
    assert!(no_tab.has("#tab-users[aria-current=page]"));
}
