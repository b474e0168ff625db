//! The troubleshooting-log rows (issue 14, "Speed"): `--log-entries` entries
//! (10,000,000) in one organization, sent through `POST /api/v1/app/logs` by
//! `--log-users` members (10,000), each with a device token, in batches of
//! 1,000 from `--log-clients` (4) clients at once, oldest batch first; then
//! bytes on disk, the server's memory, and each query of the issue read with
//! wrk beside a bare axum handler answering a body of the same length.
//!
//! The members and their devices are written straight into the server's
//! database through `muster-store` (as the notifications rows do: no
//! invitation mail, no PAT per member); the organization's settings and its
//! solutions go through the API, and everything measured goes through HTTP.

use crate::log_plan::*;
use crate::server::{self, Server};
use anyhow::{bail, Context, Result};
use axum::body::Bytes;
use axum::extract::Query;
use axum::http::{header, StatusCode};
use axum::routing::post;
use axum::Router;
use muster_domain::{OrgId, UserId};
use muster_store::Store;
use serde_json::{json, Value};
use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use time::OffsetDateTime;

/// `MUSTER_APP_LOG_RATE` of the benchmark's server: the default (5,000 entries
/// per minute and device) would throttle the seeding.
pub const APP_LOG_RATE: u64 = 1_000_000_000;
/// Entries per call, the API's maximum.
pub(crate) const BATCH: usize = 1_000;
pub(crate) const MINUTE_MS: i64 = 60_000;
pub(crate) const DAY_MS: i64 = 86_400_000;
/// The entries' times: the 29.5 days before the seeding starts (within the
/// default retention of 30 days, which is raised to 365 anyway).
pub(crate) const SPAN_MS: i64 = 29 * DAY_MS + DAY_MS / 2;
/// Batches of the plan whose content is generated beforehand to pick the
/// correlation IDs that are read, and to describe what was seeded.
pub(crate) const SAMPLE_BATCHES: usize = 200;
/// Batches also sent to the bare handler (the client's own ceiling).
pub(crate) const BARE_BATCHES: usize = 1_000;
/// Paths of each query checked (and warmed up) before it is measured.
pub(crate) const CHECKED_PATHS: usize = 20;
/// Longest a wrk run may last; it reports the requests it completed.
pub(crate) const WRK_CAP: Duration = Duration::from_secs(180);

/// One in this many entries carries one of the rare words.
pub(crate) const RARE_ONE_IN: u32 = 5_000;
pub(crate) const RARE_WORDS: [&str; 4] = ["deadlock", "checksum", "certificate", "quota"];
pub(crate) const COMMON_WORDS: [&str; 3] = ["request", "sync", "cache"];

pub struct Options {
    pub entries: usize,
    pub users: usize,
    pub solutions: usize,
    pub clients: usize,
    pub requests: usize,
    pub concurrency: usize,
}

/// The response times of one wrk run.
#[derive(Debug, Clone, Copy, Default)]
pub struct Timed {
    pub requests: u64,
    pub per_second: f64,
    pub p50: Duration,
    pub p95: Duration,
    pub p99: Duration,
}

pub struct QueryFigures {
    pub label: String,
    pub target: &'static str,
    pub body_len: usize,
    pub ours: [Timed; 2],
    pub bare: [Timed; 2],
}

pub struct Figures {
    pub backend: &'static str,
    pub opts_entries: usize,
    pub batches: usize,
    pub users: usize,
    pub senders: usize,
    pub solutions: usize,
    pub clients: usize,
    pub requests: usize,
    pub concurrency: usize,
    pub sample: Sample,
    pub ingest: Ingest,
    pub bare_ingest: Ingest,
    pub disk: Disk,
    pub rss_after_seeding_kib: u64,
    pub rss_after_queries_kib: u64,
    pub peak_kib: u64,
    pub queries: Vec<QueryFigures>,
}

pub struct Ingest {
    pub entries: usize,
    pub took: Duration,
    pub p50: Duration,
    pub p99: Duration,
    /// The highest VmRSS sampled every 250 ms while it ran.
    pub peak_rss_kib: u64,
}

impl Ingest {
    fn per_second(&self) -> f64 {
        self.entries as f64 / self.took.as_secs_f64().max(1e-9)
    }
}

pub struct Disk {
    pub what: String,
    pub total: u64,
    /// Bytes of log_entries' rows and of each of its indexes (and of any
    /// other `log_entries…` structure), when the database says.
    pub parts: Vec<(String, u64)>,
    pub before: u64,
}

/// What the sample batches hold, as shares of their entries.
#[derive(Default)]
pub struct Sample {
    pub entries: usize,
    pub correlations: usize,
    pub levels: [usize; 6],
    pub with_solution: usize,
    pub with_context: usize,
    pub without_category: usize,
    pub message_chars: (usize, usize, usize),
    pub rare: usize,
    pub common: [usize; 3],
    /// (correlation ID, its entries) from each sample batch.
    pub(crate) picked: Vec<(String, usize)>,
}

impl Sample {
    fn share(&self, n: usize) -> f64 {
        100.0 * n as f64 / self.entries.max(1) as f64
    }
}

pub(crate) fn thousands(n: f64) -> String {
    let digits = format!("{:.0}", n.max(0.0));
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    out
}

impl Figures {
    pub fn header(&self) -> String {
        format!(
            "Muster benchmark · troubleshooting logs · {} · {} entries over 29.5 days in {} batches of ≤ {BATCH} \
             from {} users ({} of them sent) · {} solutions · {} clients · MUSTER_APP_LOG_RATE={APP_LOG_RATE} \
             (the default 5,000/min per device would throttle the seeding) · {} requests per query · 127.0.0.1",
            self.backend,
            self.opts_entries,
            self.batches,
            self.users,
            self.senders,
            self.solutions,
            self.clients,
            self.requests,
        )
    }

    /// (measure, value, target) in the order they are printed.
    pub fn rows(&self) -> Vec<(String, String, String)> {
        let ms = crate::ms;
        let mb = crate::mb;
        let s = &self.sample;
        let per_correlation = s.entries as f64 / s.correlations.max(1) as f64;
        let mut rows = vec![
            (
                format!(
                    "what was seeded (from {} sample batches): correlation IDs · levels trace/debug/info/warn/error/fatal · \
                     with a solution · with context · without category · message length min/mean/max",
                    self.sample_batches()
                ),
                format!(
                    "≈{} ({per_correlation:.1} entries each) · {} % · {:.0}% · {:.0}% · {:.0}% · {}/{}/{} chars",
                    thousands(self.opts_entries as f64 / per_correlation.max(1e-9)),
                    s.levels
                        .iter()
                        .map(|n| format!("{:.1}", s.share(*n)))
                        .collect::<Vec<_>>()
                        .join("/"),
                    s.share(s.with_solution),
                    s.share(s.with_context),
                    s.share(s.without_category),
                    s.message_chars.0,
                    s.message_chars.1,
                    s.message_chars.2,
                ),
                String::new(),
            ),
            (
                format!(
                    "ingest: POST /api/v1/app/logs, {} clients, batches of {BATCH} (device tokens), oldest first: {} entries",
                    self.clients, self.ingest.entries
                ),
                format!(
                    "{} entries/s ({:.1} s)",
                    thousands(self.ingest.per_second()),
                    self.ingest.took.as_secs_f64()
                ),
                "≥ 50,000/s".into(),
            ),
            (
                "… POST → 202 of one batch, p50 / p99".into(),
                format!("{} / {}", ms(self.ingest.p50), ms(self.ingest.p99)),
                String::new(),
            ),
            (
                format!(
                    "… bare axum handler parsing the same JSON, same client and clients: first {} entries",
                    self.bare_ingest.entries
                ),
                format!(
                    "{} entries/s (p99 {})",
                    thousands(self.bare_ingest.per_second()),
                    ms(self.bare_ingest.p99)
                ),
                String::new(),
            ),
            (
                format!(
                    "bytes on disk per entry: {} ÷ entries · the same less its {} before seeding",
                    self.disk.what,
                    mb(self.disk.before / 1024)
                ),
                format!(
                    "{:.0} B ({}) · {:.0} B",
                    self.disk.total as f64 / self.opts_entries.max(1) as f64,
                    mb(self.disk.total / 1024),
                    self.disk.total.saturating_sub(self.disk.before) as f64
                        / self.opts_entries.max(1) as f64,
                ),
                String::new(),
            ),
        ];
        if !self.disk.parts.is_empty() {
            rows.push((
                "… log_entries' rows and each index, per entry".into(),
                self.disk
                    .parts
                    .iter()
                    .map(|(name, bytes)| {
                        format!(
                            "{name} {:.0} B",
                            *bytes as f64 / self.opts_entries.max(1) as f64
                        )
                    })
                    .collect::<Vec<_>>()
                    .join(" · "),
                String::new(),
            ));
        }
        rows.push((
            "server RSS during the seeding (highest VmRSS, sampled every 250 ms)".into(),
            mb(self.ingest.peak_rss_kib),
            "< 150 MB".into(),
        ));
        rows.push((
            "server RSS after the seeding".into(),
            mb(self.rss_after_seeding_kib),
            "< 150 MB".into(),
        ));
        let n = self.requests;
        let c = self.concurrency;
        let times = |t: &Timed| {
            format!(
                "{:.2} / {:.2} / {:.2} ms · {}/s",
                t.p50.as_secs_f64() * 1000.0,
                t.p95.as_secs_f64() * 1000.0,
                t.p99.as_secs_f64() * 1000.0,
                thousands(t.per_second)
            )
        };
        let cut = |t: &Timed| {
            if (t.requests as usize) < n {
                format!(" (cut at {} s: {} requests)", WRK_CAP.as_secs(), t.requests)
            } else {
                String::new()
            }
        };
        for q in &self.queries {
            rows.push((
                format!(
                    "{}: {n} requests 1 at a time, p50 / p95 / p99 · req/s{}",
                    q.label,
                    cut(&q.ours[0])
                ),
                times(&q.ours[0]),
                q.target.into(),
            ));
            rows.push((
                format!("… {n} requests {c} at a time{}", cut(&q.ours[1])),
                times(&q.ours[1]),
                String::new(),
            ));
            rows.push((
                format!(
                    "… bare axum handler, same body length ({} B), 1 / {c} at a time: p99 · req/s",
                    thousands(q.body_len as f64)
                ),
                format!(
                    "{} · {}/s / {} · {}/s",
                    ms(q.bare[0].p99),
                    thousands(q.bare[0].per_second),
                    ms(q.bare[1].p99),
                    thousands(q.bare[1].per_second)
                ),
                String::new(),
            ));
        }
        rows.push((
            "server RSS after the queries".into(),
            mb(self.rss_after_queries_kib),
            "< 150 MB".into(),
        ));
        rows.push((
            "server peak RSS, all of the above (VmHWM)".into(),
            mb(self.peak_kib),
            "< 150 MB".into(),
        ));
        rows
    }

    fn sample_batches(&self) -> usize {
        self.batches.min(SAMPLE_BATCHES)
    }
}

/// Seeds and measures on a fresh database; see the module's documentation.
pub async fn run(bin: &Path, postgres: Option<&str>, opts: &Options) -> Result<Figures> {
    if opts.entries == 0 || opts.users == 0 || opts.clients == 0 || opts.requests == 0 {
        bail!("--log-entries, --log-users, --log-clients and --log-requests must be at least 1");
    }
    let env = [("MUSTER_APP_LOG_RATE", APP_LOG_RATE.to_string())];
    let server = Server::start(bin, postgres, &env).await?;
    let db = Db::of(&server);

    // The organization logs everything and keeps it; its solutions.
    let org = api(
        &server,
        reqwest::Method::PATCH,
        &format!("/api/v1/orgs/{}", server.org),
        json!({"logging_level": "trace", "log_retention_days": 365}),
        200,
    )
    .await?;
    if org["logging_level"] != "trace" || org["log_retention_days"] != 365 {
        bail!("PATCH /orgs/{{org}} did not take logging_level trace and retention 365: {org}");
    }
    let mut solutions = Vec::with_capacity(opts.solutions);
    for n in 0..opts.solutions {
        let created = api(
            &server,
            reqwest::Method::POST,
            &format!("/api/v1/orgs/{}/solutions", server.org),
            json!({"name": format!("Field app {n:02}")}),
            201,
        )
        .await?;
        solutions.push(created["id"].as_str().context("a solution id")?.to_owned());
    }

    // The members and a device (token) each, straight into the database.
    let store = Store::connect(&db.url(), 2)
        .await
        .context("the benchmark's connection to the server's database")?;
    let org_id: OrgId = server.org.parse().context("the organization's id")?;
    let people = crate::notifications::add_members(&store, org_id, "log", opts.users).await?;
    let tokens = crate::notifications::add_devices(&store, &people, None).await?;
    store.close().await;
    let before = db.disk(0, false).await?.total;

    let end_ms = now_ms();
    let plan = Arc::new(Plan::new(opts.entries, opts.users, solutions, end_ms));
    let sample = plan.sample();
    let tokens = Arc::new(tokens);

    // The bare handler, in a process of its own, for the ingest's and the
    // queries' baselines.
    let bare_port = server::free_port()?;
    let mut bare = BareProcess(
        Command::new(std::env::current_exe()?)
            .args(["--bare-logs", &bare_port.to_string()])
            .stdout(Stdio::null())
            .spawn()?,
    );
    let bare_base = format!("http://127.0.0.1:{bare_port}");
    server::wait_ready(&server.http, &format!("{bare_base}/ready?bare_len=2")).await?;
    let http = reqwest::Client::builder()
        .pool_max_idle_per_host(opts.clients)
        .timeout(Duration::from_secs(300))
        .build()?;
    let bare_ingest = ingest(
        &http,
        &format!("{bare_base}/api/v1/app/logs?org={}", server.org),
        &plan,
        &tokens,
        opts.clients,
        plan.batches.min(BARE_BATCHES),
        None,
        false,
    )
    .await?;

    let url = format!("{}/api/v1/app/logs?org={}", server.base, server.org);
    let seeded = ingest(
        &http,
        &url,
        &plan,
        &tokens,
        opts.clients,
        plan.batches,
        Some(server.pid()),
        true,
    )
    .await?;
    let rss_after_seeding_kib = server.memory_kib("VmRSS:");
    let stored = db.count().await?;
    if stored != opts.entries as i64 {
        bail!(
            "{stored} entries in log_entries after {} were accepted",
            opts.entries
        );
    }
    let disk = db.disk(before, true).await?;

    let queries = measure(&server, &bare_base, &plan, &people, &sample, opts).await?;
    let rss_after_queries_kib = server.memory_kib("VmRSS:");
    let peak_kib = server.memory_kib("VmHWM:").max(seeded.peak_rss_kib);
    bare.stop();
    server.stop().await?;

    Ok(Figures {
        backend: if postgres.is_some() {
            "PostgreSQL"
        } else {
            "SQLite"
        },
        opts_entries: opts.entries,
        batches: plan.batches,
        users: opts.users,
        senders: plan.senders.iter().collect::<HashSet<_>>().len(),
        solutions: opts.solutions,
        clients: opts.clients,
        requests: opts.requests,
        concurrency: opts.concurrency,
        sample,
        ingest: seeded,
        bare_ingest,
        disk,
        rss_after_seeding_kib,
        rss_after_queries_kib,
        peak_kib,
        queries,
    })
}

pub(crate) struct BareProcess(std::process::Child);

impl BareProcess {
    fn stop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

impl Drop for BareProcess {
    fn drop(&mut self) {
        self.stop();
    }
}

pub(crate) fn now_ms() -> i64 {
    (OffsetDateTime::now_utc().unix_timestamp_nanos() / 1_000_000) as i64
}

/// A call with the owner's PAT that must answer `expected`; its JSON.
async fn api(
    server: &Server,
    method: reqwest::Method,
    path: &str,
    body: Value,
    expected: u16,
) -> Result<Value> {
    let response = server
        .http
        .request(method.clone(), format!("{}{path}", server.base))
        .bearer_auth(&server.token)
        .json(&body)
        .send()
        .await?;
    let status = response.status();
    let text = response.text().await?;
    if status.as_u16() != expected {
        bail!("{method} {path} {body}: expected {expected}, got {status} {text}");
    }
    Ok(serde_json::from_str(&text)?)
}

// ---------------------------------------------------------------------------
// Sending.

/// Batches 0..`batches` of `plan` POSTed to `url` by `clients` clients at once,
/// each taking the next batch (so the batches go out oldest first), each with
/// its sender's device token; every one must be accepted whole.
#[allow(clippy::too_many_arguments)]
async fn ingest(
    http: &reqwest::Client,
    url: &str,
    plan: &Arc<Plan>,
    tokens: &Arc<Vec<String>>,
    clients: usize,
    batches: usize,
    pid: Option<u32>,
    progress: bool,
) -> Result<Ingest> {
    let next = Arc::new(AtomicUsize::new(0));
    let done = Arc::new(AtomicUsize::new(0));
    let failed = Arc::new(AtomicBool::new(false));
    let sampling = Arc::new(AtomicBool::new(true));
    let sampler = pid.map(|pid| {
        let sampling = sampling.clone();
        tokio::spawn(async move {
            let mut peak = 0;
            while sampling.load(Ordering::Relaxed) {
                peak = peak.max(status_kib(pid, "VmRSS:"));
                tokio::time::sleep(Duration::from_millis(250)).await;
            }
            peak.max(status_kib(pid, "VmRSS:"))
        })
    });
    let started = Instant::now();
    let mut tasks = Vec::with_capacity(clients);
    for _ in 0..clients {
        let (http, url, plan, tokens) =
            (http.clone(), url.to_owned(), plan.clone(), tokens.clone());
        let (next, done, failed) = (next.clone(), done.clone(), failed.clone());
        tasks.push(tokio::spawn(async move {
            let mut times = Vec::new();
            let mut sent = 0;
            loop {
                let k = next.fetch_add(1, Ordering::Relaxed);
                if k >= batches || failed.load(Ordering::Relaxed) {
                    break;
                }
                let result = send(&http, &url, &plan, &tokens, k).await;
                let (took, n) = match result {
                    Ok(ok) => ok,
                    Err(e) => {
                        failed.store(true, Ordering::Relaxed);
                        return Err(e);
                    }
                };
                times.push(took);
                sent += n;
                let d = done.fetch_add(1, Ordering::Relaxed) + 1;
                if progress && batches >= 20 && d % (batches / 10) == 0 {
                    let elapsed = started.elapsed().as_secs_f64();
                    eprintln!(
                        "logs: {d} of {batches} batches sent in {elapsed:.0} s ({:.0} entries/s)",
                        (d * BATCH) as f64 / elapsed.max(1e-9)
                    );
                }
            }
            Ok::<_, anyhow::Error>((times, sent))
        }));
    }
    let mut times = Vec::with_capacity(batches);
    let mut entries = 0;
    let mut first_error = None;
    for task in tasks {
        match task.await? {
            Ok((t, n)) => {
                times.extend(t);
                entries += n;
            }
            Err(e) => {
                first_error.get_or_insert(e);
            }
        }
    }
    let took = started.elapsed();
    sampling.store(false, Ordering::Relaxed);
    let peak_rss_kib = match sampler {
        Some(s) => s.await?,
        None => 0,
    };
    if let Some(e) = first_error {
        return Err(e);
    }
    times.sort();
    Ok(Ingest {
        entries,
        took,
        p50: crate::percentile(&times, 50.0),
        p99: crate::percentile(&times, 99.0),
        peak_rss_kib,
    })
}

/// Batch `k` POSTed with its sender's token: (POST → answer, entries).
async fn send(
    http: &reqwest::Client,
    url: &str,
    plan: &Plan,
    tokens: &[String],
    k: usize,
) -> Result<(Duration, usize)> {
    let (body, n) = plan.body(k);
    let token = &tokens[plan.senders[k] as usize];
    let t = Instant::now();
    let response = http
        .post(url)
        .bearer_auth(token)
        .header(header::CONTENT_TYPE, "application/json")
        .body(body)
        .send()
        .await?;
    let status = response.status();
    let text = response.text().await?;
    let took = t.elapsed();
    if status.as_u16() != 202 {
        bail!("batch {k} ({n} entries): POST {url} answered {status}: {text}");
    }
    let answer: Value =
        serde_json::from_str(&text).with_context(|| format!("batch {k}: not JSON: {text}"))?;
    let rejected = answer["rejected"].as_array().map_or(usize::MAX, Vec::len);
    if answer["accepted"] != n || answer["dropped"] != 0 || rejected != 0 {
        let shown: String = text.chars().take(600).collect();
        bail!("batch {k}: {n} entries sent, expected all accepted, got {shown}");
    }
    Ok((took, n))
}

pub(crate) fn status_kib(pid: u32, field: &str) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .unwrap_or_default()
        .lines()
        .find(|l| l.starts_with(field))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
}

// ---------------------------------------------------------------------------
// The database, for the count and the bytes on disk.

enum Db {
    Sqlite(PathBuf),
    Postgres(String),
}

impl Db {
    /// The server's `DATABASE_URL` (from its environment), or its SQLite file.
    fn of(server: &Server) -> Db {
        let environ = std::fs::read(format!("/proc/{}/environ", server.pid())).unwrap_or_default();
        environ
            .split(|b| *b == 0)
            .find_map(|entry| entry.strip_prefix(b"DATABASE_URL="))
            .map(|url| Db::Postgres(String::from_utf8_lossy(url).into_owned()))
            .unwrap_or_else(|| Db::Sqlite(server.dir.path().join("muster.db")))
    }

    fn url(&self) -> String {
        match self {
            Db::Sqlite(path) => format!("sqlite://{}", path.display()),
            Db::Postgres(url) => url.clone(),
        }
    }

    async fn count(&self) -> Result<i64> {
        use sqlx::Connection;
        let sql = "SELECT COUNT(*) FROM log_entries";
        Ok(match self {
            Db::Sqlite(path) => {
                let options = sqlx::sqlite::SqliteConnectOptions::new().filename(path);
                let mut conn = sqlx::SqliteConnection::connect_with(&options).await?;
                let n = sqlx::query_scalar(sql).fetch_one(&mut conn).await?;
                conn.close().await?;
                n
            }
            Db::Postgres(url) => {
                let mut conn = sqlx::PgConnection::connect(url).await?;
                let n = sqlx::query_scalar(sql).fetch_one(&mut conn).await?;
                conn.close().await?;
                n
            }
        })
    }

    /// SQLite: muster.db and its WAL after a TRUNCATE checkpoint;
    /// PostgreSQL: log_entries' partitions. With `detail`, the rows and each
    /// index apart (SQLite's from dbstat, which reads every page).
    async fn disk(&self, before: u64, detail: bool) -> Result<Disk> {
        use sqlx::Connection;
        match self {
            Db::Sqlite(path) => {
                let options = sqlx::sqlite::SqliteConnectOptions::new().filename(path);
                let mut conn = sqlx::SqliteConnection::connect_with(&options).await?;
                for _ in 0..100 {
                    let (busy, _, _): (i64, i64, i64) =
                        sqlx::query_as("PRAGMA wal_checkpoint(TRUNCATE)")
                            .fetch_one(&mut conn)
                            .await?;
                    if busy == 0 {
                        break;
                    }
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
                // dbstat reads every page: only once, after the seeding.
                let parts = if detail {
                    let pages: Vec<(String, i64)> =
                        sqlx::query_as("SELECT name, SUM(pgsize) FROM dbstat GROUP BY name")
                            .fetch_all(&mut conn)
                            .await
                            .unwrap_or_default();
                    let indexes: Vec<String> = sqlx::query_scalar(
                        "SELECT name FROM sqlite_schema WHERE type = 'index' AND tbl_name = 'log_entries'",
                    )
                    .fetch_all(&mut conn)
                    .await?;
                    let mut parts: Vec<(String, u64)> = pages
                        .into_iter()
                        .filter(|(name, _)| {
                            name.starts_with("log_entries") || indexes.contains(name)
                        })
                        .map(|(name, size)| (name, size as u64))
                        .collect();
                    parts.sort_by_key(|(name, _)| (name != "log_entries", name.clone()));
                    parts
                } else {
                    Vec::new()
                };
                conn.close().await?;
                let size = |suffix: &str| {
                    std::fs::metadata(format!("{}{suffix}", path.display())).map_or(0, |m| m.len())
                };
                Ok(Disk {
                    what: "(muster.db + muster.db-wal after a TRUNCATE checkpoint)".into(),
                    total: size("") + size("-wal"),
                    parts,
                    before,
                })
            }
            Db::Postgres(url) => {
                let mut conn = sqlx::PgConnection::connect(url).await?;
                let (total, table): (i64, i64) = sqlx::query_as(
                    "SELECT COALESCE(SUM(pg_total_relation_size(relid)), 0)::BIGINT, \
                            COALESCE(SUM(pg_table_size(relid)), 0)::BIGINT \
                     FROM pg_partition_tree('log_entries') WHERE isleaf",
                )
                .fetch_one(&mut conn)
                .await?;
                // Each partition's index counted under the index it is a
                // partition of.
                let indexes: Vec<(String, i64)> = sqlx::query_as(
                    "SELECT COALESCE(parent.relname, i.relname)::TEXT, \
                            SUM(pg_relation_size(i.oid))::BIGINT \
                     FROM pg_partition_tree('log_entries') t \
                     JOIN pg_index x ON x.indrelid = t.relid \
                     JOIN pg_class i ON i.oid = x.indexrelid \
                     LEFT JOIN pg_inherits h ON h.inhrelid = i.oid \
                     LEFT JOIN pg_class parent ON parent.oid = h.inhparent \
                     WHERE t.isleaf GROUP BY 1 ORDER BY 1",
                )
                .fetch_all(&mut conn)
                .await?;
                let mut parts = vec![("log_entries".to_owned(), table as u64)];
                parts.extend(indexes.into_iter().map(|(n, b)| (n, b as u64)));
                let whole: i64 = sqlx::query_scalar("SELECT pg_database_size(current_database())")
                    .fetch_one(&mut conn)
                    .await?;
                conn.close().await?;
                Ok(Disk {
                    what: format!(
                        "pg_total_relation_size of log_entries' partitions (database {})",
                        crate::mb(whole as u64 / 1024)
                    ),
                    total: total as u64,
                    parts: if detail { parts } else { Vec::new() },
                    before,
                })
            }
        }
    }
}

// ---------------------------------------------------------------------------
// Reading.

/// What a page of a path must hold.
enum Expect {
    /// Exactly this many entries, all of this correlation ID.
    Correlation(String, usize),
    /// At least one entry, all of this user.
    User(String),
    /// At least one entry (the last hour, or groups of the last day).
    Some,
    /// Entries (maybe none) whose message holds the word, ignoring case.
    Word(String),
}

pub(crate) struct Kind {
    label: String,
    target: &'static str,
    paths: Vec<(String, Expect)>,
}

pub(crate) fn spread<T>(items: Vec<T>, at_most: usize) -> Vec<T> {
    let n = items.len();
    if n <= at_most {
        return items;
    }
    items
        .into_iter()
        .enumerate()
        .filter(|(i, _)| (i * at_most) % n < at_most)
        .map(|(_, t)| t)
        .take(at_most)
        .collect()
}

pub(crate) fn kinds(
    server: &Server,
    plan: &Plan,
    people: &[UserId],
    sample: &Sample,
    requests: usize,
) -> Result<Vec<Kind>> {
    let logs = format!("/api/v1/orgs/{}/logs", server.org);
    let correlations = sample
        .picked
        .iter()
        .map(|(id, n)| {
            (
                format!("{logs}?range=month&correlation_id={id}"),
                Expect::Correlation(id.clone(), *n),
            )
        })
        .collect();
    // Users whose batch lies wholly in the last week as the queries see it.
    let week_from = now_ms() - 7 * DAY_MS + 10 * MINUTE_MS;
    let mut seen = HashSet::new();
    let weekly: Vec<(String, Expect)> = (0..plan.batches)
        .filter(|k| plan.window(*k).0 >= week_from)
        .map(|k| plan.senders[k])
        .filter(|u| seen.insert(*u))
        .map(|u| {
            let id = people[u as usize].to_string();
            (format!("{logs}?user={id}&range=week"), Expect::User(id))
        })
        .collect();
    if weekly.is_empty() {
        bail!("no batch lies in the last week: seed more entries");
    }
    let words = |words: &[&str]| -> Vec<(String, Expect)> {
        words
            .iter()
            .map(|w| {
                (
                    format!("{logs}?q={w}&range=day"),
                    Expect::Word((*w).to_owned()),
                )
            })
            .collect()
    };
    let day = plan.entries as f64 * DAY_MS as f64 / SPAN_MS as f64;
    let rare_share = sample.rare as f64 / sample.entries.max(1) as f64 / RARE_WORDS.len() as f64;
    let common: Vec<String> = COMMON_WORDS
        .iter()
        .zip(sample.common)
        .map(|(w, n)| format!("{w} {:.0}%", sample.share(n)))
        .collect();
    Ok(vec![
        Kind {
            label: format!(
                "one correlation ID (?correlation_id=…&range=month, {} IDs from across the 30 days, ≤ 19 entries each)",
                sample.picked.len()
            ),
            target: "p99 < 20 ms",
            paths: correlations,
        },
        Kind {
            label: "last hour, first page (?range=hour, 50 entries)".into(),
            target: "p99 < 50 ms",
            paths: vec![(format!("{logs}?range=hour"), Expect::Some)],
        },
        Kind {
            label: format!(
                "a user's last week (?user=<id>&range=week, {} users who sent in that week)",
                weekly.len().min(requests)
            ),
            target: "p99 < 50 ms",
            paths: spread(weekly, requests),
        },
        Kind {
            label: format!(
                "q= rare word in the last day (?q=…&range=day: {}; ≈{:.1} matches each in the day's ≈{} entries)",
                RARE_WORDS.join(", "),
                rare_share * day,
                thousands(day)
            ),
            target: "p99 < 200 ms",
            paths: words(&RARE_WORDS),
        },
        Kind {
            label: format!(
                "q= common word in the last day (?q=…&range=day: {} of entries)",
                common.join(", ")
            ),
            target: "p99 < 200 ms",
            paths: words(&COMMON_WORDS),
        },
        Kind {
            label: "the correlation list of the last day (/logs/correlations?range=day, first page)".into(),
            target: "p99 < 200 ms",
            paths: vec![(format!("{logs}/correlations?range=day"), Expect::Some)],
        },
    ])
}

/// Checks the first paths of each query (which warms them up), then reads
/// each with wrk, one request at a time and `concurrency` at a time, and the
/// bare handler answering as many bytes the same way.
async fn measure(
    server: &Server,
    bare_base: &str,
    plan: &Plan,
    people: &[UserId],
    sample: &Sample,
    opts: &Options,
) -> Result<Vec<QueryFigures>> {
    let files = tempfile::tempdir()?;
    let script = files.path().join("rotate.lua");
    std::fs::write(&script, ROTATE_LUA)?;
    let mut out = Vec::new();
    for (n, kind) in kinds(server, plan, people, sample, opts.requests)?
        .into_iter()
        .enumerate()
    {
        let mut lengths = 0;
        let checked = kind.paths.len().min(CHECKED_PATHS);
        for (path, expect) in kind.paths.iter().take(CHECKED_PATHS) {
            lengths += check(server, path, expect).await?;
        }
        let body_len = lengths / checked.max(1);
        let ours_file = files.path().join(format!("ours-{n}.txt"));
        let bare_file = files.path().join(format!("bare-{n}.txt"));
        let paths = |suffix: &str| -> String {
            kind.paths
                .iter()
                .map(|(p, _)| format!("{p}{suffix}\n"))
                .collect()
        };
        std::fs::write(&ours_file, paths(""))?;
        std::fs::write(&bare_file, paths(&format!("&bare_len={body_len}")))?;
        let mut ours = [Timed::default(); 2];
        let mut bare = [Timed::default(); 2];
        for (i, c) in [1, opts.concurrency.max(1)].into_iter().enumerate() {
            ours[i] = wrk(
                &server.base,
                &script,
                &ours_file,
                &server.token,
                c,
                opts.requests,
            )?;
            bare[i] = wrk(
                bare_base,
                &script,
                &bare_file,
                &server.token,
                c,
                opts.requests,
            )?;
        }
        out.push(QueryFigures {
            label: kind.label,
            target: kind.target,
            body_len,
            ours,
            bare,
        });
    }
    Ok(out)
}

/// GETs `path` with the owner's PAT and checks its page; the body's length.
async fn check(server: &Server, path: &str, expect: &Expect) -> Result<usize> {
    let url = format!("{}{path}", server.base);
    let response = server
        .http
        .get(&url)
        .bearer_auth(&server.token)
        .send()
        .await?;
    let status = response.status();
    let text = response.text().await?;
    if !status.is_success() {
        bail!("GET {path}: expected 200, got {status} {text}");
    }
    let page: Value = serde_json::from_str(&text)?;
    let items = page["items"]
        .as_array()
        .with_context(|| format!("GET {path}: no items: {text}"))?;
    let all = |f: &dyn Fn(&Value) -> bool| items.iter().all(f);
    let ok = match expect {
        Expect::Correlation(id, n) => {
            items.len() == *n && all(&|i| i["correlation_id"] == id.as_str())
        }
        Expect::User(id) => !items.is_empty() && all(&|i| i["user"]["id"] == id.as_str()),
        Expect::Some => !items.is_empty(),
        Expect::Word(word) => all(&|i| {
            i["message"]
                .as_str()
                .is_some_and(|m| m.to_lowercase().contains(word.as_str()))
        }),
    };
    if !ok {
        let shown: String = text.chars().take(800).collect();
        let wanted = match expect {
            Expect::Correlation(id, n) => format!("{n} entries of correlation ID {id}"),
            Expect::User(id) => format!("entries of user {id} only, at least one"),
            Expect::Some => "at least one item".into(),
            Expect::Word(w) => format!("messages with {w:?} only"),
        };
        bail!(
            "GET {path}: expected {wanted}, got {} items: {shown}",
            items.len()
        );
    }
    Ok(text.len())
}

/// wrk rotating through the paths of a file (one per line). Each thread
/// stops after its share of the requests and prints `STOPPED` with its own
/// time (wrk itself would sleep out `-d`, so the benchmark interrupts it once
/// every thread has stopped); `done` prints the count, the longest thread's
/// time and the latency percentiles, in microseconds.
pub(crate) const ROTATE_LUA: &str = r#"
local threads = {}
function setup(thread)
  thread:set("offset", #threads * 7919)
  table.insert(threads, thread)
end
local ffi = require("ffi")
ffi.cdef[[
typedef struct { long tv_sec; long tv_nsec; } bench_timespec;
int clock_gettime(int clk_id, bench_timespec *tp);
]]
local clock = ffi.new("bench_timespec")
local function now_us()
  ffi.C.clock_gettime(1, clock)
  return tonumber(clock.tv_sec) * 1000000 + tonumber(clock.tv_nsec) / 1000
end
local paths, limit, counter, seen, started = {}, 0, 0, 0, nil
function init(args)
  for line in io.lines(args[1]) do paths[#paths + 1] = line end
  limit = tonumber(args[2])
  counter = offset or 0
end
function request()
  if started == nil then started = now_us() end
  counter = counter + 1
  return wrk.format("GET", paths[(counter % #paths) + 1])
end
function response(status, headers, body)
  seen = seen + 1
  if seen == limit then
    elapsed = now_us() - started
    io.write("STOPPED\n")
    io.flush()
    wrk.thread:stop()
  end
end
function done(summary, latency, requests)
  local longest = 0
  for _, t in ipairs(threads) do
    local e = t:get("elapsed")
    if e == nil then longest = summary.duration; break end
    if e > longest then longest = e end
  end
  local e = summary.errors
  io.write(string.format("BENCH %d %d %d %d %d %d %d\n", summary.requests, longest,
    latency:percentile(50), latency:percentile(95), latency:percentile(99),
    e.status, e.connect + e.read + e.write + e.timeout))
end
"#;

pub(crate) fn wrk(
    base: &str,
    script: &Path,
    paths: &Path,
    token: &str,
    connections: usize,
    requests: usize,
) -> Result<Timed> {
    use std::io::BufRead;
    let threads = connections.min(2);
    let per_thread = requests.div_ceil(threads);
    let mut child = Command::new("wrk")
        .args([
            &format!("-t{threads}"),
            &format!("-c{connections}"),
            &format!("-d{}s", WRK_CAP.as_secs()),
            "--timeout",
            "60s",
            "-H",
            &format!("Authorization: Bearer {token}"),
            "-s",
        ])
        .arg(script)
        .arg(base)
        .arg("--")
        .arg(paths)
        .arg(per_thread.to_string())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| anyhow::anyhow!("cannot run wrk ({e}); install it: apt-get install wrk"))?;
    let stdout = child.stdout.take().context("wrk's output")?;
    let mut text = String::new();
    let mut stopped = 0;
    for line in std::io::BufReader::new(stdout).lines() {
        let line = line?;
        if line == "STOPPED" {
            stopped += 1;
            if stopped == threads {
                // SIGINT ends wrk's sleep; it then prints its summary.
                Command::new("kill")
                    .args(["-INT", &child.id().to_string()])
                    .status()?;
            }
        }
        text.push_str(&line);
        text.push('\n');
    }
    let output = child.wait_with_output()?;
    let line = text
        .lines()
        .find_map(|l| l.strip_prefix("BENCH "))
        .with_context(|| {
            format!(
                "no figures in wrk's output: {text}{}",
                String::from_utf8_lossy(&output.stderr)
            )
        })?;
    let v: Vec<u64> = line
        .split_whitespace()
        .map(|n| n.parse().unwrap_or(0))
        .collect();
    if v.len() != 7 {
        bail!("wrk printed {line}");
    }
    if v[5] > 0 || v[6] > 0 {
        bail!(
            "{base}: {} answers were not 2xx/3xx and {} requests failed (paths in {})",
            v[5],
            v[6],
            paths.display()
        );
    }
    Ok(Timed {
        requests: v[0],
        per_second: v[0] as f64 / (v[1] as f64 / 1e6).max(1e-9),
        p50: Duration::from_micros(v[2]),
        p95: Duration::from_micros(v[3]),
        p99: Duration::from_micros(v[4]),
    })
}

// ---------------------------------------------------------------------------
// The baseline.

/// A bare axum server: `POST /api/v1/app/logs` parses the JSON and answers
/// 202 with every entry accepted; any GET answers a JSON body of `bare_len`
/// bytes (the length of Muster's answer to the same query).
pub async fn serve_bare(port: u16) -> Result<()> {
    let padding: Arc<str> = "x".repeat(8 << 20).into();
    let app = Router::new()
        .route("/api/v1/app/logs", post(bare_ingest))
        .fallback(move |Query(query): Query<HashMap<String, String>>| {
            let padding = padding.clone();
            async move {
                let len: usize = query
                    .get("bare_len")
                    .and_then(|l| l.parse().ok())
                    .unwrap_or(2);
                let pad = len.saturating_sub(r#"{"pad":""}"#.len()).min(padding.len());
                (
                    [(header::CONTENT_TYPE, "application/json")],
                    format!(r#"{{"pad":"{}"}}"#, &padding[..pad]),
                )
            }
        });
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", port)).await?;
    axum::serve(listener, app).await?;
    Ok(())
}

async fn bare_ingest(body: Bytes) -> (StatusCode, [(header::HeaderName, &'static str); 1], String) {
    let parsed: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    let n = parsed["entries"].as_array().map_or(0, Vec::len);
    (
        StatusCode::ACCEPTED,
        [(header::CONTENT_TYPE, "application/json")],
        json!({"accepted": n, "dropped": 0, "rejected": []}).to_string(),
    )
}
