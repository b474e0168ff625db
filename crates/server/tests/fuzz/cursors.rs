//! The opaque list cursor and the query strings of every list: decoding a
//! cursor is `Ok` for what a list returned and a clean "malformed" for
//! anything else; and every GET route of the API (read from its OpenAPI
//! document) answers arbitrary query values, cursors and path segments
//! cleanly (below 500, 4xx as problem+json).

use crate::{cases, check, clean, encode, seed_lines, Served};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use muster_server::error::AppError;
use muster_server::features::logs::reading::entry_position;
use muster_server::page::{Page, PageQuery};
use muster_test_support::Db;
use proptest::prelude::*;
use proptest::sample::select;
use serde_json::Value;

/// Decoded positions close to the ones the lists write: ids, emails, names,
/// `ms:id`, `ms:ms:correlation`, and numbers out of every range.
fn position() -> impl Strategy<Value = String> {
    prop_oneof![
        nul_inside(),
        select(seed_lines("strings.txt")),
        select(vec![
            "0",
            "-1",
            "1:1",
            "0:0",
            ":",
            "::",
            ":::",
            "1:",
            ":1",
            "1::x",
            "1:2:x",
            "9223372036854775807:9223372036854775807",
            "9223372036854775808:1",
            "-9223372036854775808:-1",
            "1e3:1",
            "0x10:1",
            "NaN:1",
            "018f2c6e-0000-7000-8000-000000000000",
            "owner@example.com",
            "\u{0}",
            "a\u{0}b",
            "en",
            "zz",
            "\u{10ffff}",
        ])
        .prop_map(String::from),
        (any::<i64>(), any::<i64>()).prop_map(|(a, b)| format!("{a}:{b}")),
        (
            any::<i64>(),
            proptest::option::of(any::<i64>()),
            any::<String>()
        )
            .prop_map(|(a, b, c)| format!(
                "{a}:{}:{c}",
                b.map(|b| b.to_string()).unwrap_or_default()
            )),
        any::<String>(),
    ]
}

/// Text with a NUL character in it, which SQLite stores and PostgreSQL
/// refuses.
fn nul_inside() -> impl Strategy<Value = String> {
    ("[ -~]{0,12}", "[ -~]{0,12}").prop_map(|(a, b)| format!("{a}\0{b}"))
}

/// A cursor as a client might send one: the encoding of a position, or any
/// text at all.
fn cursor() -> impl Strategy<Value = String> {
    prop_oneof![
        3 => position().prop_map(|p| URL_SAFE_NO_PAD.encode(p)),
        1 => prop::collection::vec(any::<u8>(), 0..64).prop_map(|b| URL_SAFE_NO_PAD.encode(b)),
        1 => "[A-Za-z0-9_=+/-]{0,64}",
        1 => any::<String>(),
    ]
}

#[test]
fn cursors_decode_or_are_refused_as_malformed() {
    let seeds = seed_lines("cursors.txt");
    check(
        file!(),
        "cursors_decode_or_are_refused_as_malformed",
        cases(256),
        seeds.into_iter().map(|c| (Some(c), None)),
        (
            proptest::option::of(cursor()),
            proptest::option::of(any::<i64>()),
        ),
        |(cursor, limit)| {
            let query = PageQuery {
                limit,
                cursor: cursor.clone(),
            };
            match query.limit() {
                Ok(n) if (1..=200).contains(&n) => {}
                Ok(n) => return Err(format!("the limit {n} from {limit:?}")),
                Err(AppError::Invalid(_)) => {}
                Err(other) => return Err(format!("limit {limit:?}: {other:?}")),
            }
            match query.after() {
                Ok(Some(position)) => match entry_position(&position) {
                    Ok(_) | Err(AppError::Malformed(_)) => Ok(()),
                    Err(other) => Err(format!("the log position {position:?}: {other:?}")),
                },
                Ok(None) if cursor.as_deref().is_none_or(str::is_empty) => Ok(()),
                Ok(None) => Err(format!("{cursor:?} read as no cursor")),
                Err(AppError::Malformed(_)) => Ok(()),
                Err(other) => Err(format!("{cursor:?}: {other:?}")),
            }
        },
    );
}

#[test]
fn the_next_cursor_of_a_page_reads_back() {
    check(
        file!(),
        "the_next_cursor_of_a_page_reads_back",
        cases(256),
        seed_lines("strings.txt"),
        position(),
        |position| {
            let page = Page::with_cursor(Vec::<()>::new(), Some(position.clone()));
            let query = PageQuery {
                limit: None,
                cursor: page.next_cursor,
            };
            match query.after() {
                Ok(Some(read)) if read == position => Ok(()),
                Ok(None) if position.is_empty() => Ok(()),
                // No list writes one, and PostgreSQL refuses it in text.
                Err(AppError::Malformed(_)) if position.contains('\0') => Ok(()),
                other => Err(format!("{position:?} read back as {other:?}")),
            }
        },
    );
}

/// A GET route of the API and the names of its query parameters.
#[derive(Debug, Clone)]
struct Route {
    path: String,
    query: Vec<String>,
}

fn get_routes(served: &Served) -> Vec<Route> {
    let document: Value = served.block_on(async {
        served
            .http
            .get(served.url("/api/v1/openapi.json"))
            .send()
            .await
            .expect("the OpenAPI document")
            .json()
            .await
            .expect("JSON")
    });
    let paths = document["paths"].as_object().expect("paths");
    let mut routes = Vec::new();
    for (path, item) in paths {
        let Some(get) = item.get("get") else {
            continue;
        };
        // An event stream does not end by itself.
        if path.ends_with("/events") {
            continue;
        }
        let query = get["parameters"]
            .as_array()
            .into_iter()
            .flatten()
            .filter(|p| p["in"] == "query")
            .filter_map(|p| p["name"].as_str().map(str::to_owned))
            .collect();
        routes.push(Route {
            path: format!("/api/v1{path}"),
            query,
        });
    }
    assert!(routes.len() >= 20, "the API has its GET routes: {routes:?}");
    routes
}

/// A value for a query parameter or a path segment.
fn value(served: &Served) -> impl Strategy<Value = String> {
    let known = vec![
        served.org.clone(),
        served.solution.clone(),
        served.owner.clone(),
        served.member.clone(),
        "owner@example.com".to_owned(),
    ];
    prop_oneof![
        2 => select(known),
        3 => select(seed_lines("strings.txt")),
        1 => select(vec![
            "hour", "day", "week", "month", "error", "fatal", "trace", "owner", "invited",
            "active", "disabled", "queued", "failed", "opened", "true", "false", "1", "0",
            "-1", "200", "201", "9223372036854775808", "2026-12-04", "2026-12-04T09:30:00Z",
            "9999-12-31", "-9999-01-01", "0000-00-00", "2026-02-30T25:61:61Z",
        ])
        .prop_map(String::from),
        2 => cursor(),
        2 => any::<String>(),
        1 => nul_inside(),
    ]
}

/// A request: a route, values for its path segments, and query pairs.
fn request(served: &Served, routes: Vec<Route>) -> impl Strategy<Value = String> {
    let org = served.org.clone();
    let solution = served.solution.clone();
    let owner = served.owner.clone();
    (
        select(routes),
        prop::collection::vec(value(served), 4),
        prop::collection::vec((any::<prop::sample::Index>(), value(served)), 0..6),
        proptest::option::of(cursor()),
        any::<bool>(),
    )
        .prop_map(move |(route, segments, pairs, cursor, known_ids)| {
            let mut path = route.path.clone();
            let mut segment = segments.iter();
            while let Some(start) = path.find('{') {
                let end = path[start..]
                    .find('}')
                    .map_or(path.len(), |e| start + e + 1);
                let name = &path[start..end];
                let filled = match (known_ids, name) {
                    (true, "{org}") => org.clone(),
                    (true, "{sol}") => solution.clone(),
                    (true, "{user}") => owner.clone(),
                    _ => encode(segment.next().map_or("x", String::as_str)),
                };
                path.replace_range(start..end, &filled);
            }
            let mut query: Vec<String> = pairs
                .iter()
                .filter(|_| !route.query.is_empty())
                .map(|(at, value)| format!("{}={}", at.get(&route.query), encode(value)))
                .collect();
            if let Some(cursor) = cursor {
                query.push(format!("cursor={}", encode(&cursor)));
            }
            if query.is_empty() {
                path
            } else {
                format!("{path}?{}", query.join("&"))
            }
        })
}

#[test]
fn every_get_route_answers_any_query_cleanly() {
    get_routes_answer_any_query_cleanly(Db::Sqlite);
}

/// PostgreSQL refuses what SQLite stores (a NUL character in text, say).
#[test]
fn every_get_route_answers_any_query_cleanly_on_postgres() {
    get_routes_answer_any_query_cleanly(Db::Postgres);
}

fn get_routes_answer_any_query_cleanly(db: Db) {
    let Some(served) = Served::start(db) else {
        return;
    };
    let routes = get_routes(&served);
    let statuses = std::cell::RefCell::new(std::collections::BTreeMap::<u16, usize>::new());
    let get = |path: String| -> Result<(), String> {
        let (status, _) = served.block_on(async {
            let sent = served
                .http
                .get(served.url(&path))
                .bearer_auth(&served.token)
                .send()
                .await;
            clean(&format!("GET {path}"), sent).await
        })?;
        *statuses.borrow_mut().entry(status).or_default() += 1;
        Ok(())
    };
    let seeds: Vec<String> = seed_lines("cursors.txt")
        .into_iter()
        .flat_map(|cursor| {
            let cursor = encode(&cursor);
            [
                served.fill(&format!("/api/v1/orgs/{{org}}/users?cursor={cursor}")),
                served.fill(&format!("/api/v1/orgs/{{org}}/audit?cursor={cursor}")),
                served.fill(&format!("/api/v1/orgs/{{org}}/logs?cursor={cursor}")),
                served.fill(&format!(
                    "/api/v1/orgs/{{org}}/logs/correlations?cursor={cursor}"
                )),
                served.fill(&format!(
                    "/api/v1/orgs/{{org}}/notifications?cursor={cursor}"
                )),
                format!("/api/v1/orgs?cursor={cursor}"),
            ]
        })
        .collect();
    let strategy = request(&served, routes);
    check(
        file!(),
        "every_get_route_answers_any_query_cleanly",
        cases(256),
        seeds,
        strategy,
        get,
    );
    // Not a vacuous pass: many requests reach a handler that answers.
    let statuses = statuses.into_inner();
    let total: usize = statuses.values().sum();
    let ok = statuses.get(&200).copied().unwrap_or_default();
    eprintln!("GET answers on {db:?}: {statuses:?}");
    assert!(
        ok * 10 >= total,
        "too few requests got through: {statuses:?}"
    );
    served.stop();
}
