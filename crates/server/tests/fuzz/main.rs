//! Fuzzing the server with property tests: untrusted input never makes it
//! panic, hang or answer 500, and bad input gets a clean error (a 4xx
//! `application/problem+json` over HTTP, a refusal from a parser).
//!
//! - `csv`: the bulk-invite CSV reader, on arbitrary bytes and on ragged,
//!   quoted, BOM-prefixed and huge uploads, directly and over HTTP, and the
//!   bulk job on those uploads (it found lone-CR line ends failing a job, and
//!   addresses taken that the mail library refuses).
//! - `auth`: `Authorization` headers (PATs, device tokens, near misses).
//! - `cursors`: the opaque list cursor, and every GET route of the API (from
//!   its OpenAPI document) with arbitrary query values, on SQLite and
//!   PostgreSQL.
//! - `templates`: invite template sources through the sandboxed renderer,
//!   greedy ones in a child process under a memory limit.
//! - `json`: arbitrary and nearly valid JSON bodies POSTed, PATCHed and PUT
//!   to the API as the owner of an organization, on SQLite and PostgreSQL;
//!   the background jobs they queue must run cleanly too.
//!
//! The HTTP properties start a [`TestApp`]; PostgreSQL ones are skipped
//! (`SKIPPED`) where `MUSTER_TEST_POSTGRES` is unreachable.
//!
//! Bounded so CI stays fast: at most 256 cases a property (64 per endpoint
//! over HTTP); `PROPTEST_CASES=N` overrides it for a deeper local run. Every
//! run first tries the hand-written seeds in `seeds/`, then the cases kept in
//! the `*.proptest-regressions` file next to each module (proptest writes a
//! failing case there; commit it so it is replayed from then on).

mod auth;
mod csv;
mod cursors;
mod json;
mod templates;

use muster_test_support::{Db, TestApp};
use proptest::strategy::Strategy;
use proptest::test_runner::{Config, FileFailurePersistence, TestCaseError, TestRunner};
use serde_json::Value;
use std::fmt::Debug;
use std::future::Future;
use std::path::{Path, PathBuf};

/// `default` cases, unless `PROPTEST_CASES` asks for another number.
pub fn cases(default: u32) -> u32 {
    std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(default)
}

/// The configuration of the property `name` of the module in `source`:
/// failures are kept in `<module>.proptest-regressions` beside it.
pub fn config(source: &'static str, name: &'static str, cases: u32) -> Config {
    Config {
        cases,
        source_file: Some(source),
        test_name: Some(name),
        failure_persistence: Some(Box::new(FileFailurePersistence::WithSource(
            "proptest-regressions",
        ))),
        max_shrink_iters: 1024,
        ..Config::default()
    }
}

/// Runs `test` on every seed first, then on `cases` values of `strategy`
/// (after the persisted regressions); panics with the smallest failing input.
pub fn check<S>(
    source: &'static str,
    name: &'static str,
    cases: u32,
    seeds: impl IntoIterator<Item = S::Value>,
    strategy: S,
    test: impl Fn(S::Value) -> Result<(), String>,
) where
    S: Strategy,
    S::Value: Clone + Debug,
{
    for seed in seeds {
        if let Err(error) = test(seed.clone()) {
            panic!("{name}: the seed {seed:?} fails: {error}");
        }
    }
    let mut runner = TestRunner::new(config(source, name, cases));
    if let Err(failure) = runner.run(&strategy, |value| test(value).map_err(TestCaseError::fail)) {
        panic!("{name}: {failure}");
    }
}

fn seeds_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fuzz/seeds")
}

/// The seeds in `seeds/<file>`: one a line, with `\n`, `\r`, `\t`, `\0`,
/// `\\` and `\u{…}` written as escapes; empty lines and lines starting with
/// `# ` are skipped (write `\u{23}` for a seed that starts so).
pub fn seed_lines(file: &str) -> Vec<String> {
    let path = seeds_dir().join(file);
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("the seeds {}: {e}", path.display()));
    text.lines()
        .filter(|line| !line.is_empty() && !line.starts_with("# "))
        .map(unescape)
        .collect()
}

/// Every file of `seeds/<dir>/`, by name, as raw bytes.
pub fn seed_files(dir: &str) -> Vec<(String, Vec<u8>)> {
    let path = seeds_dir().join(dir);
    let mut files: Vec<(String, Vec<u8>)> = std::fs::read_dir(&path)
        .unwrap_or_else(|e| panic!("the seeds {}: {e}", path.display()))
        .filter_map(Result::ok)
        .map(|entry| {
            let bytes = std::fs::read(entry.path())
                .unwrap_or_else(|e| panic!("the seed {}: {e}", entry.path().display()));
            (entry.file_name().to_string_lossy().into_owned(), bytes)
        })
        .collect();
    files.sort();
    files
}

fn unescape(line: &str) -> String {
    let mut out = String::with_capacity(line.len());
    let mut chars = line.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('n') => out.push('\n'),
            Some('r') => out.push('\r'),
            Some('t') => out.push('\t'),
            Some('0') => out.push('\0'),
            Some('\\') => out.push('\\'),
            Some('u') if chars.clone().next() == Some('{') => {
                let hex: String = chars.by_ref().skip(1).take_while(|&c| c != '}').collect();
                let decoded = u32::from_str_radix(&hex, 16).ok().and_then(char::from_u32);
                out.push(decoded.unwrap_or_else(|| panic!("a bad escape \\u{{{hex}}} in {line}")));
            }
            Some(other) => {
                out.push('\\');
                out.push(other);
            }
            None => out.push('\\'),
        }
    }
    out
}

/// A server on a fresh database for a property to call, with an
/// organization whose owner has a token, a solution and a second member,
/// run on a runtime of its own (proptest's runner is synchronous).
pub struct Served {
    rt: tokio::runtime::Runtime,
    pub app: TestApp,
    pub http: reqwest::Client,
    pub token: String,
    pub org: String,
    pub owner: String,
    pub member: String,
    pub solution: String,
    failed_jobs: std::cell::RefCell<std::collections::HashSet<String>>,
}

impl Served {
    pub fn start(db: Db) -> Option<Served> {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .expect("a runtime");
        let app = rt.block_on(TestApp::start(db))?;
        let (org, owner, member, token, solution) = rt.block_on(async {
            let (org, owner) = app.create_org("Fuzz", "owner@example.com").await;
            let member = app
                .member(org, "member@example.com", muster_domain::OrgRole::User)
                .await;
            let token = app.token(owner).await;
            let created = app
                .api(&token)
                .post(
                    format!("/api/v1/orgs/{org}/solutions"),
                    serde_json::json!({"name": "Field inspections"}),
                )
                .await;
            assert_eq!(created.status(), 201, "a solution for the fuzz runs");
            let solution: Value = created.json().await.expect("the solution");
            let solution = solution["id"].as_str().expect("its id").to_owned();
            (org, owner, member, token, solution)
        });
        Some(Served {
            rt,
            app,
            http: reqwest::Client::builder()
                .timeout(std::time::Duration::from_secs(30))
                .build()
                .expect("an HTTP client"),
            token,
            org: org.to_string(),
            owner: owner.to_string(),
            member: member.to_string(),
            solution,
            failed_jobs: Default::default(),
        })
    }

    pub fn block_on<T>(&self, future: impl Future<Output = T>) -> T {
        self.rt.block_on(future)
    }

    pub fn url(&self, path: &str) -> String {
        self.app.url(path)
    }

    /// `{org}`, `{sol}`, `{user}` and `{member}` in `path` replaced by this
    /// server's.
    pub fn fill(&self, path: &str) -> String {
        path.replace("{org}", &self.org)
            .replace("{sol}", &self.solution)
            .replace("{user}", &self.owner)
            .replace("{member}", &self.member)
    }

    /// Runs the due background jobs (what the requests queued: mails, bulk
    /// invites, notifications) and returns the failures not seen before: jobs
    /// that failed for good or wait for a retry after an error. Fuzzed input
    /// must not break a job either.
    pub fn new_job_failures(&self) -> Vec<String> {
        self.block_on(async {
            tokio::time::timeout(
                std::time::Duration::from_secs(120),
                self.app.worker().run_until_idle(),
            )
            .await
            .expect("the jobs finish within 2 minutes")
            .expect("the jobs run");
        });
        if self.app.db != Db::Sqlite {
            return Vec::new();
        }
        let db = self.app.data_dir.join("muster.db");
        let bad: Vec<(String, String, String, Option<String>)> = self.block_on(async {
            use sqlx::Connection;
            let mut conn =
                sqlx::SqliteConnection::connect(&format!("sqlite://{}?mode=ro", db.display()))
                    .await
                    .expect("the database");
            let rows = sqlx::query_as(
                "SELECT id, kind, status, last_error FROM jobs \
                 WHERE status IN ('failed', 'running') OR last_error IS NOT NULL",
            )
            .fetch_all(&mut conn)
            .await
            .expect("the jobs");
            let _ = conn.close().await;
            rows
        });
        let mut seen = self.failed_jobs.borrow_mut();
        bad.into_iter()
            .filter(|(id, ..)| seen.insert(id.clone()))
            .map(|(_, kind, status, error)| {
                format!("a {kind} job is {status}: {}", error.unwrap_or_default())
            })
            .collect()
    }

    /// [`Served::new_job_failures`] as a property's verdict.
    pub fn jobs_ran_cleanly(&self) -> Result<(), String> {
        let failures = self.new_job_failures();
        match failures.is_empty() {
            true => Ok(()),
            false => Err(failures.join("; ")),
        }
    }

    /// Panics if a job failed since the last look.
    pub fn jobs_succeed(&self) {
        let failures = self.new_job_failures();
        assert!(
            failures.is_empty(),
            "background jobs failed on fuzzed input: {failures:?}"
        );
    }

    pub fn stop(self) {
        let Served { rt, app, .. } = self;
        rt.block_on(app.shutdown());
    }
}

/// What the server answered, if it is a clean answer: below 500, and a 4xx
/// as `application/problem+json` with its status. The status and body.
pub async fn clean(
    what: &str,
    sent: reqwest::Result<reqwest::Response>,
) -> Result<(u16, String), String> {
    let response = sent.map_err(|e| format!("{what}: no answer ({e}); did the handler panic?"))?;
    let status = response.status().as_u16();
    let content_type = response
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    let body = response
        .text()
        .await
        .map_err(|e| format!("{what}: the {status} answer broke off ({e})"))?;
    let shown: String = body.chars().take(600).collect();
    if status >= 500 {
        return Err(format!("{what}: {status} {shown}"));
    }
    if (400..500).contains(&status) {
        if !content_type.starts_with("application/problem+json") {
            return Err(format!(
                "{what}: a {status} as {content_type:?}, not problem+json: {shown}"
            ));
        }
        let problem: Value = serde_json::from_str(&body)
            .map_err(|e| format!("{what}: a {status} whose problem is not JSON ({e}): {shown}"))?;
        if problem["status"] != status || !problem["detail"].is_string() {
            return Err(format!("{what}: a {status} with the problem {shown}"));
        }
    }
    Ok((status, body))
}

/// `text` percent-encoded for a query string or a path segment.
pub fn encode(text: &str) -> String {
    let mut out = String::with_capacity(text.len() * 3);
    for byte in text.bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'_' | b'.' | b'~') {
            out.push(char::from(byte));
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}
