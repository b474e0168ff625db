//! Arbitrary JSON bodies sent as the owner of an organization to the API's
//! writing endpoints (invitations, solutions, profile, organization
//! settings, tokens, app logs and usage, and a few more): every answer is
//! below 500 and every 4xx is `application/problem+json`; the background
//! jobs the accepted ones queued then run without failing.
//!
//! Bodies are written from a JSON syntax tree of our own, so they can hold
//! what `serde_json::Value` cannot: numbers past every integer and float,
//! duplicate keys, lone surrogates and invalid escapes, trailing commas,
//! nesting deeper than parsers allow. Most are objects with the endpoint's
//! own field names (so the checks behind the parser are reached), with values
//! of every type.

use crate::{cases, check, clean, seed_lines, Served};
use muster_test_support::Db;
use proptest::prelude::*;
use proptest::sample::select;
use reqwest::Method;
use serde_json::{json, Value};

/// A JSON text, possibly invalid on purpose.
#[derive(Debug, Clone)]
enum J {
    Null,
    Bool(bool),
    /// A number as written (may be out of every range, or not a number).
    Num(String),
    Str(String),
    /// Text written as it is: broken escapes, bare words.
    Raw(String),
    Arr(Vec<J>),
    Obj(Vec<(String, J)>),
}

impl J {
    fn write(&self, out: &mut String) {
        match self {
            J::Null => out.push_str("null"),
            J::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
            J::Num(n) | J::Raw(n) => out.push_str(n),
            J::Str(s) => out.push_str(&serde_json::to_string(s).unwrap_or_default()),
            J::Arr(items) => {
                out.push('[');
                for (i, item) in items.iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    item.write(out);
                }
                out.push(']');
            }
            J::Obj(pairs) => {
                out.push('{');
                for (i, (key, value)) in pairs.iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    out.push_str(&serde_json::to_string(key).unwrap_or_default());
                    out.push(':');
                    value.write(out);
                }
                out.push('}');
            }
        }
    }

    fn text(&self) -> String {
        let mut out = String::new();
        self.write(&mut out);
        out
    }
}

const NUMBERS: &[&str] = &[
    "0",
    "-0",
    "1",
    "-1",
    "2",
    "7",
    "30",
    "31",
    "365",
    "366",
    "1000",
    "1001",
    "0.5",
    "1.0",
    "1e2",
    "1E-400",
    "1e308",
    "1e309",
    "-1e309",
    "2147483648",
    "4294967296",
    "9223372036854775807",
    "9223372036854775808",
    "-9223372036854775809",
    "18446744073709551616",
    "123456789012345678901234567890",
    "0.000000000000000000000000000000000000000000001",
];

const RAW: &[&str] = &[
    "\"\\ud800\"",
    "\"\\udfff\\ud800\"",
    "\"\\u0000\"",
    "\"\\q\"",
    "\"\t\"",
    "\"a\nb\"",
    "01",
    "+1",
    "1.",
    ".5",
    "-",
    "--1",
    "1e",
    "Infinity",
    "NaN",
    "tru",
    "nul",
    "undefined",
    "'x'",
    "[1,]",
    "{\"a\":1,}",
    "[",
    "{",
    "]",
    "}",
    "\"\\u00\"",
    "\"\\uD83D\\uDE00\"",
];

/// Values that pass some checks: ids of this server, emails, roles,
/// languages, levels, times, colours, links.
fn plausible(served: &Served) -> Vec<String> {
    let mut values: Vec<String> = [
        "",
        " ",
        "x",
        "Ada",
        "owner@example.com",
        "member@example.com",
        "en",
        "de",
        "fr-CA",
        "zz",
        "owner",
        "admin",
        "creator",
        "user",
        "deny",
        "editor",
        "light",
        "dark",
        "system",
        "org",
        "solutions",
        "groups",
        "users",
        "trace",
        "debug",
        "info",
        "warn",
        "error",
        "fatal",
        "solution_opened",
        "screen_viewed",
        "sign_in",
        "order.placed",
        "1.0.0",
        "2.0.0-beta.1",
        "#3b82f6",
        "#FFF",
        "AB",
        "ﬃ",
        "field-inspections",
        "https://example.com",
        "http://localhost",
        "app://solution/x/screen/y",
        "web",
        "ios",
        "android",
        "other",
        "2026-12-04T09:30:00Z",
        "2999-01-01T00:00:00Z",
        "1970-01-01T00:00:00Z",
        "9999-12-31T23:59:59-23:59",
        "{{ invite_link }}",
        "Hi {{ first_name }}",
        "{{ invite_link }}{{ \"x\"|upper }}",
    ]
    .iter()
    .map(|s| (*s).to_owned())
    .collect();
    values.extend([
        served.org.clone(),
        served.solution.clone(),
        served.owner.clone(),
        served.member.clone(),
        format!("app://solution/{}/screen/orders?x=1", served.solution),
        "x".repeat(101),
        "x".repeat(1001),
        "é".repeat(8193),
    ]);
    values
}

fn string(served: &Served) -> impl Strategy<Value = String> {
    prop_oneof![
        4 => select(plausible(served)),
        2 => select(seed_lines("strings.txt")),
        1 => (0u32..100_000).prop_map(|n| format!("fuzz{n}@example.com")),
        2 => any::<String>(),
        1 => (select(vec!['x', 'é', '💩', '\0', '"', '\\']), 0usize..70_000)
            .prop_map(|(c, n)| c.to_string().repeat(n)),
    ]
}

fn leaf(served: &Served) -> impl Strategy<Value = J> {
    prop_oneof![
        1 => Just(J::Null),
        1 => any::<bool>().prop_map(J::Bool),
        2 => select(NUMBERS).prop_map(|n| J::Num(n.to_owned())),
        1 => any::<i64>().prop_map(|n| J::Num(n.to_string())),
        1 => any::<f64>().prop_map(|n| J::Num(
            serde_json::Number::from_f64(n).map_or("0".to_owned(), |n| n.to_string())
        )),
        6 => string(served).prop_map(J::Str),
        1 => select(RAW).prop_map(|r| J::Raw(r.to_owned())),
    ]
}

/// Field names inside nested objects (invitation grants, push subscriptions,
/// log contexts).
const INNER_KEYS: &[&str] = &[
    "solution_id",
    "role",
    "endpoint",
    "keys",
    "p256dh",
    "auth",
    "screen",
];

fn value(served: &Served) -> impl Strategy<Value = J> {
    let key = prop_oneof![select(INNER_KEYS).prop_map(String::from), string(served)];
    leaf(served).prop_recursive(3, 32, 5, move |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..5).prop_map(J::Arr),
            prop::collection::vec((key.clone(), inner), 0..5).prop_map(J::Obj),
        ]
    })
}

/// An object with (mostly) the endpoint's own field names.
fn shaped(served: &Served, keys: Vec<String>) -> impl Strategy<Value = J> {
    let count = keys.len() + 2;
    let key = prop_oneof![
        6 => select(keys),
        1 => string(served),
    ];
    prop::collection::vec((key, value(served)), 0..count).prop_map(J::Obj)
}

/// `value` as a [`J`], with `{n}` in its strings replaced by `n` (so that
/// emails, names and identifiers differ from case to case).
fn to_j(value: &Value, n: u32) -> J {
    match value {
        Value::Null => J::Null,
        Value::Bool(b) => J::Bool(*b),
        Value::Number(number) => J::Num(number.to_string()),
        Value::String(text) => J::Str(text.replace("{n}", &n.to_string())),
        Value::Array(items) => J::Arr(items.iter().map(|item| to_j(item, n)).collect()),
        Value::Object(fields) => J::Obj(
            fields
                .iter()
                .map(|(key, value)| (key.clone(), to_j(value, n)))
                .collect(),
        ),
    }
}

/// One change to a valid body.
#[derive(Debug, Clone)]
enum Change {
    /// Its field at this index gets this value.
    Replace(prop::sample::Index, J),
    /// Its field at this index goes.
    Remove(prop::sample::Index),
    /// A field is added (maybe one it has, maybe one it does not know).
    Add(String, J),
}

/// A valid body (`exemplar`, an object) with up to three changes: most
/// fields right, so the checks behind the first one are reached.
fn near_valid(served: &Served, exemplar: Value) -> impl Strategy<Value = J> {
    let keys: Vec<String> = exemplar
        .as_object()
        .map(|o| o.keys().cloned().collect())
        .unwrap_or_default();
    let key = prop_oneof![select(keys), string(served)];
    let change = prop_oneof![
        4 => (any::<prop::sample::Index>(), value(served)).prop_map(|(i, v)| Change::Replace(i, v)),
        1 => any::<prop::sample::Index>().prop_map(Change::Remove),
        1 => (key, value(served)).prop_map(|(k, v)| Change::Add(k, v)),
    ];
    (any::<u32>(), prop::collection::vec(change, 0..4)).prop_map(move |(n, changes)| {
        let J::Obj(mut fields) = to_j(&exemplar, n) else {
            return to_j(&exemplar, n);
        };
        for change in changes {
            match change {
                Change::Replace(at, value) if !fields.is_empty() => {
                    let at = at.index(fields.len());
                    fields[at].1 = value;
                }
                Change::Remove(at) if !fields.is_empty() => {
                    fields.remove(at.index(fields.len()));
                }
                Change::Add(key, value) => fields.push((key, value)),
                _ => {}
            }
        }
        J::Obj(fields)
    })
}

/// What an endpoint takes: an object like `exemplar` (with `{org}`, `{sol}`,
/// `{user}`, `{member}` and `{n}` filled in), a batch `{wrapper: [such
/// objects]}`, or an array of them.
#[derive(Debug, Clone, Copy)]
enum Shape {
    Object,
    Batch(&'static str),
    Rows,
}

fn body(served: &Served, shape: Shape, exemplar: &Value) -> BoxedStrategy<String> {
    let exemplar: Value = serde_json::from_str(&served.fill(&exemplar.to_string()))
        .expect("an exemplar with ids filled in");
    let keys: Vec<String> = exemplar
        .as_object()
        .map(|o| o.keys().cloned().collect())
        .unwrap_or_default();
    let one = prop_oneof![
        3 => near_valid(served, exemplar),
        2 => shaped(served, keys),
    ];
    let body = match shape {
        Shape::Object => one.boxed(),
        Shape::Batch(wrapper) => {
            let items = prop::collection::vec(one, 0..5).prop_map(J::Arr);
            (prop_oneof![6 => items, 1 => value(served)])
                .prop_map(move |inner| J::Obj(vec![(wrapper.to_owned(), inner)]))
                .boxed()
        }
        Shape::Rows => prop::collection::vec(one, 0..5).prop_map(J::Arr).boxed(),
    };
    prop_oneof![
        7 => body.prop_map(|j| j.text()),
        2 => value(served).prop_map(|j| j.text()),
        1 => select(seed_lines("json.txt")),
    ]
    .boxed()
}

/// How the body is labelled: JSON nearly always.
fn content_type() -> impl Strategy<Value = Option<&'static str>> {
    prop_oneof![
        12 => Just(Some("application/json")),
        1 => select(vec![
            Some("application/json; charset=utf-8"),
            Some("APPLICATION/JSON"),
            Some("text/plain"),
            Some("application/x-www-form-urlencoded"),
            Some("text/csv"),
            Some("application/json; charset=latin1"),
            None,
        ]),
    ]
}

/// Sends `body` with `method` to `path` as the owner; a clean answer or why
/// not.
fn send(
    served: &Served,
    method: &reqwest::Method,
    path: &str,
    content_type: Option<&str>,
    body: String,
) -> Result<u16, String> {
    let url = served.url(path);
    served.block_on(async {
        let mut request = served
            .http
            .request(method.clone(), &url)
            .bearer_auth(&served.token);
        if let Some(content_type) = content_type {
            request = request.header("content-type", content_type);
        }
        let shown: String = body.chars().take(300).collect();
        let sent = request.body(body).send().await;
        clean(&format!("{method} {path} with {shown}"), sent)
            .await
            .map(|(status, _)| status)
    })
}

/// 64 bodies (and every seed) to one endpoint; prints how it answered.
fn fuzz(
    served: &Served,
    name: &'static str,
    (method, path): (reqwest::Method, &str),
    shape: Shape,
    exemplar: Value,
) {
    let path = served.fill(path);
    let statuses = std::cell::RefCell::new(std::collections::BTreeMap::<u16, usize>::new());
    let seeds: Vec<(Option<&'static str>, String)> = seed_lines("json.txt")
        .into_iter()
        .map(|body| (Some("application/json"), body))
        .collect();
    check(
        file!(),
        name,
        cases(64),
        seeds,
        (content_type(), body(served, shape, &exemplar)),
        |(content_type, body)| {
            let status = send(served, &method, &path, content_type, body)?;
            *statuses.borrow_mut().entry(status).or_default() += 1;
            served.jobs_ran_cleanly()
        },
    );
    eprintln!("{name} on {:?}: {:?}", served.app.db, statuses.into_inner());
}

/// Runs `each` with a server of its own on SQLite, then on PostgreSQL (when
/// there is one), and checks their background jobs.
fn with_server(each: impl Fn(&Served)) {
    for db in [Db::Sqlite, Db::Postgres] {
        let Some(served) = Served::start(db) else {
            continue;
        };
        each(&served);
        served.jobs_succeed();
        served.stop();
    }
}

#[test]
fn invitations_take_any_json() {
    with_server(|s| {
        let path = (Method::POST, "/api/v1/orgs/{org}/invitations");
        let invitation = json!({"email": "fuzz{n}@example.com", "first_name": "Ivy",
            "last_name": "Invitee", "language": "en", "role": "user",
            "solutions": [{"solution_id": "{sol}", "role": "user"}]});
        fuzz(
            s,
            "invitations_take_any_json",
            path,
            Shape::Object,
            invitation,
        );
        let bulk = (Method::POST, "/api/v1/orgs/{org}/invitations/bulk");
        let row = json!({"email": "bulk{n}@example.com", "first_name": "Bo",
            "last_name": "Row", "language": "en", "role": "creator"});
        fuzz(s, "bulk_invitations_take_any_json", bulk, Shape::Rows, row);
    });
}

#[test]
fn solutions_take_any_json() {
    with_server(|s| {
        let solution = json!({"name": "Solution {n}", "description": "What it does",
            "identifier": "solution-{n}", "icon_color": "#3b82f6", "icon_initials": "SO"});
        let path = (Method::POST, "/api/v1/orgs/{org}/solutions");
        fuzz(
            s,
            "solutions_take_any_json",
            path,
            Shape::Object,
            solution.clone(),
        );
        let one = (Method::PATCH, "/api/v1/orgs/{org}/solutions/{sol}");
        fuzz(
            s,
            "solution_changes_take_any_json",
            one,
            Shape::Object,
            solution,
        );
        let versions = (Method::POST, "/api/v1/orgs/{org}/solutions/{sol}/versions");
        let version = json!({"version": "1.{n}.0", "notes": "Fixes"});
        fuzz(
            s,
            "versions_take_any_json",
            versions,
            Shape::Object,
            version,
        );
        let groups = (Method::POST, "/api/v1/orgs/{org}/solutions/{sol}/groups");
        let group = json!({"name": "Group {n}"});
        fuzz(s, "groups_take_any_json", groups, Shape::Object, group);
        let assign = (
            Method::PUT,
            "/api/v1/orgs/{org}/users/{member}/solutions/{sol}",
        );
        let role = json!({"role": "editor"});
        fuzz(s, "assignments_take_any_json", assign, Shape::Object, role);
    });
}

#[test]
fn profile_and_tokens_take_any_json() {
    with_server(|s| {
        let me = json!({"first_name": "Ada", "last_name": "Lovelace", "language": "fr-CA",
            "theme": "dark", "default_org_id": "{org}"});
        let path = (Method::PATCH, "/api/v1/me");
        fuzz(s, "profile_takes_any_json", path, Shape::Object, me);
        let path = (Method::POST, "/api/v1/me/tokens");
        let token = json!({"name": "Token {n}"});
        fuzz(s, "tokens_take_any_json", path, Shape::Object, token);
    });
}

#[test]
fn organizations_take_any_json() {
    with_server(|s| {
        let settings = json!({"name": "Fuzz {n}", "description": "", "public_url": "",
            "default_language": "en", "invite_lifetime_days": 7, "log_retention_days": 30,
            "usage_retention_days": 90, "logging_level": "error"});
        let path = (Method::PATCH, "/api/v1/orgs/{org}");
        fuzz(
            s,
            "org_settings_take_any_json",
            path,
            Shape::Object,
            settings,
        );
        let org = json!({"name": "Org {n}", "description": "Another", "default_language": "de"});
        let path = (Method::POST, "/api/v1/orgs");
        fuzz(s, "new_orgs_take_any_json", path, Shape::Object, org);
        // Not `en`: the invitations of the other properties use it.
        let path = (Method::PUT, "/api/v1/orgs/{org}/invite-templates/de");
        let template = json!({"subject": "Hallo {{ first_name }} {n}",
            "body": "{% if first_name %}Hallo{% endif %} {{ invite_link }}"});
        fuzz(s, "templates_take_any_json", path, Shape::Object, template);
        let path = (Method::PUT, "/api/v1/orgs/{org}/users/{member}/log-level");
        let level = json!({"level": "debug", "hours": 24});
        fuzz(s, "log_levels_take_any_json", path, Shape::Object, level);
    });
}

#[test]
fn app_calls_take_any_json() {
    with_server(|s| {
        let path = (Method::POST, "/api/v1/app/logs?org={org}");
        let entry = json!({"level": "error", "message": "upload failed: 503",
            "correlation_id": "c0ffee-{n}", "category": "sync", "solution_id": "{sol}",
            "context": {"screen": "orders"}});
        fuzz(
            s,
            "app_logs_take_any_json",
            path,
            Shape::Batch("entries"),
            entry,
        );
        let path = (Method::POST, "/api/v1/app/usage?org={org}");
        let event = json!({"type": "solution_opened", "solution_id": "{sol}",
            "properties": {"screen": "Orders"}});
        fuzz(
            s,
            "app_usage_takes_any_json",
            path,
            Shape::Batch("events"),
            event,
        );
        let path = (Method::POST, "/api/v1/app/devices?org={org}");
        let device = json!({"name": "Phone {n}", "platform": "android"});
        fuzz(s, "devices_take_any_json", path, Shape::Object, device);
    });
}

#[test]
fn notifications_take_any_json() {
    with_server(|s| {
        let path = (Method::POST, "/api/v1/orgs/{org}/notifications");
        let notification = json!({"title": "Shift change {n}", "body": "Tomorrow at 7",
            "link": "https://example.com/shifts", "data": {"shift": 7}, "scope": "users",
            "emails": ["member@example.com"]});
        fuzz(
            s,
            "notifications_take_any_json",
            path,
            Shape::Object,
            notification,
        );
    });
}
