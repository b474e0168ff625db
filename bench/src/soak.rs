//! The soak run (`--only soak`, not part of the full run): mixed traffic at a
//! fixed rate for `--soak-minutes` against the release server, recording each
//! minute the server's RSS, its requests, errors and p50/p99, to see whether
//! memory or latency grows over time.
//!
//! The load is open-loop from this process's own tokio client, not wrk: wrk
//! (Debian's 4.1) has no rate option and sends as fast as it can, so bursts
//! of it would saturate the two cores (the opposite of a soak) and its figures
//! are per burst, not per minute and kind; the invites need fresh addresses
//! and the app calls per-device tokens. Here a timer ticks every 1/RATE s and
//! each tick's request is spawned on its own task, so a slow answer never
//! delays the next send (no coordinated omission: a stall of the server is
//! met by requests sent on time, each timed from its send to its last byte).
//! The achieved rate and the send lag (tick → send, tokio's 1 ms timer and
//! the scheduler) are reported apart to show the client keeps up. Every loop ends by itself:
//! the run lasts the given minutes, each request times out after 30 s, at
//! most MAX_IN_FLIGHT are outstanding, and the drain at the end waits at most
//! 60 s. Only 127.0.0.1.

use crate::server::Server;
use anyhow::{bail, Context, Result};
use serde_json::{json, Value};
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{mpsc, Semaphore};
use tokio::time::{Instant, MissedTickBehavior};

/// Requests per second in all (plus one bulk invite a minute).
const RATE: u32 = 200;
/// Members seeded by one bulk invite before the run.
const SEED_MEMBERS: usize = 2_000;
/// Rows of the bulk invite posted at the start of every minute.
const BULK_ROWS: usize = 50;
/// Device tokens the app calls rotate over (each device may send 5,000 log
/// entries and 6,000 usage events a minute; each gets ~1,800 and ~1,600).
const DEVICES: usize = 8;
/// Entries (events) per app logs (usage) call.
const BATCH: usize = 10;
const MAX_IN_FLIGHT: usize = 1_000;

#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    Me,
    Users,
    Solution,
    Logs,
    Usage,
    Inbox,
    Invite,
    Notify,
    Bulk,
}

/// Each kind's share of 1,000 ticks (5 s at 200/s); the bulk invite is extra.
const MIX: [(Kind, i64); 8] = [
    (Kind::Me, 350),
    (Kind::Users, 150),
    (Kind::Solution, 150),
    (Kind::Logs, 120),
    (Kind::Usage, 120),
    (Kind::Inbox, 99),
    (Kind::Invite, 10),
    (Kind::Notify, 1),
];
const KINDS: [Kind; 9] = [
    Kind::Me,
    Kind::Users,
    Kind::Solution,
    Kind::Logs,
    Kind::Usage,
    Kind::Inbox,
    Kind::Invite,
    Kind::Notify,
    Kind::Bulk,
];

impl Kind {
    fn label(self) -> &'static str {
        match self {
            Kind::Me => "PAT GET /api/v1/me",
            Kind::Users => "GET …/users (first page, q=, role=&status=, solution=)",
            Kind::Solution => "GET …/solutions/{sol}",
            Kind::Logs => "POST /app/logs, 10 entries (device token)",
            Kind::Usage => "POST /app/usage, 10 events (device token, every 9th PAT)",
            Kind::Inbox => "GET /app/notifications (device token)",
            Kind::Invite => "POST …/invitations (one mail to the outbox)",
            Kind::Notify => "POST …/notifications (whole organization)",
            Kind::Bulk => "POST …/invitations/bulk, 50 rows, once a minute",
        }
    }
}

/// Picks kinds in the proportions of MIX, evenly spread (smooth weighted
/// round-robin, deterministic).
struct Mixer {
    current: [i64; MIX.len()],
}

impl Mixer {
    fn next(&mut self) -> Kind {
        let total: i64 = MIX.iter().map(|(_, w)| w).sum();
        let mut best = 0;
        for (i, (_, weight)) in MIX.iter().enumerate() {
            self.current[i] += weight;
            if self.current[i] > self.current[best] {
                best = i;
            }
        }
        self.current[best] -= total;
        MIX[best].0
    }
}

struct Ctx {
    http: reqwest::Client,
    base: String,
    org: String,
    pat: String,
    devices: Vec<String>,
    /// Solutions to GET; the first has every 100th seeded member assigned.
    solutions: Vec<String>,
}

struct Sample {
    minute: usize,
    kind: Kind,
    latency: Duration,
    /// From the scheduled tick to the task starting to send.
    lag: Duration,
    error: Option<String>,
}

/// What is read at the end of each minute.
struct MinuteRecord {
    rss_kib: u64,
    /// Of it: heap and other anonymous memory, and mapped files.
    anon_kib: u64,
    file_kib: u64,
    server_cpu: f64,
    machine_busy: f64,
    /// SQLite's database and WAL files.
    db_bytes: Option<(u64, u64)>,
    outbox: usize,
    sent: usize,
}

pub async fn run(bin: &Path, postgres: Option<&str>, minutes: u64) -> Result<()> {
    if minutes == 0 {
        bail!("--soak-minutes must be at least 1");
    }
    let server = Server::start(bin, postgres, &[]).await?;
    let result = soak(&server, postgres.is_some(), minutes).await;
    server.stop().await?;
    result
}

async fn soak(server: &Server, postgres: bool, minutes: u64) -> Result<()> {
    let ctx = Arc::new(setup(server).await?);
    let minutes = minutes as usize;
    let (tx, mut rx) = mpsc::unbounded_channel::<Sample>();
    let in_flight = Arc::new(Semaphore::new(MAX_IN_FLIGHT));
    let mut records: Vec<MinuteRecord> = Vec::with_capacity(minutes);
    let mut samples: Vec<Sample> = Vec::new();
    let mut not_sent = 0usize;
    let mut mixer = Mixer {
        current: [0; MIX.len()],
    };
    let period = Duration::from_secs(1) / RATE;
    let start = Instant::now() + Duration::from_millis(100);
    let mut ticker = tokio::time::interval_at(start, period);
    ticker.set_missed_tick_behavior(MissedTickBehavior::Burst);
    let mut cpu = (server_ticks(server.pid()), machine_ticks());
    let mut next_minute = start + Duration::from_secs(60);
    let mut next_bulk = start;
    // Each kind's own sequence number: device, filter and solution rotate
    // evenly within a kind, and invite addresses are unique.
    let mut seq = [0u64; KINDS.len()];
    let mut sent_total = 0usize;
    let mut sent_at_minute = 0usize;
    let mut invites = 0usize;
    eprintln!(
        "soak: {minutes} minutes at {RATE} req/s against {}",
        server.base
    );
    loop {
        let scheduled = ticker.tick().await;
        if scheduled >= next_minute {
            let minute = records.len();
            let now_cpu = (server_ticks(server.pid()), machine_ticks());
            let record = MinuteRecord {
                rss_kib: server.memory_kib("VmRSS:"),
                anon_kib: server.memory_kib("RssAnon:"),
                file_kib: server.memory_kib("RssFile:"),
                server_cpu: cpu_share(cpu.0, now_cpu.0, 60.0),
                machine_busy: busy_share(cpu.1, now_cpu.1),
                db_bytes: (!postgres).then(|| sqlite_bytes(server.dir.path())),
                outbox: server.outbox_count(),
                sent: sent_total - sent_at_minute,
            };
            cpu = now_cpu;
            sent_at_minute = sent_total;
            while let Ok(sample) = rx.try_recv() {
                samples.push(sample);
            }
            progress(minute, &record, &samples);
            records.push(record);
            if records.len() == minutes {
                break;
            }
            next_minute += Duration::from_secs(60);
        }
        let minute = records.len();
        let mut calls = Vec::with_capacity(2);
        if scheduled >= next_bulk {
            calls.push(Kind::Bulk);
            invites += BULK_ROWS;
            next_bulk += Duration::from_secs(60);
        }
        let kind = mixer.next();
        if kind == Kind::Invite {
            invites += 1;
        }
        calls.push(kind);
        for kind in calls {
            let n = seq[kind as usize];
            seq[kind as usize] += 1;
            let Ok(permit) = in_flight.clone().try_acquire_owned() else {
                not_sent += 1;
                continue;
            };
            sent_total += 1;
            let ctx = ctx.clone();
            let tx = tx.clone();
            tokio::spawn(async move {
                let sending = Instant::now();
                let error = call(&ctx, kind, n).await.err();
                let _ = tx.send(Sample {
                    minute,
                    kind,
                    latency: sending.elapsed(),
                    lag: sending - scheduled,
                    error,
                });
                drop(permit);
            });
        }
    }
    let elapsed = start.elapsed();
    // The drain: every request times out after 30 s.
    let drained = tokio::time::timeout(
        Duration::from_secs(60),
        in_flight.acquire_many(MAX_IN_FLIGHT as u32),
    )
    .await;
    if drained.is_err() {
        eprintln!("soak: requests still in flight after 60 s");
    }
    drop(tx);
    while let Some(sample) = rx.recv().await {
        samples.push(sample);
    }
    // The outbox: every invitation's mail, waited for at most 60 s.
    // setup() sent one invite and one bulk invite too.
    let expected_mails = SEED_MEMBERS + 1 + BULK_ROWS + invites;
    let waited = Instant::now();
    while server.outbox_count() < expected_mails && waited.elapsed() < Duration::from_secs(60) {
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let report = Report {
        backend: if postgres { "PostgreSQL" } else { "SQLite" },
        minutes,
        records,
        samples,
        elapsed,
        not_sent,
        mails: (server.outbox_count(), expected_mails),
        peak_kib: server.memory_kib("VmHWM:"),
    };
    report.print();
    Ok(())
}

/// Seeds 2,000 members (their mails written before the run starts), three
/// solutions (every 100th member assigned to the first) and the devices.
async fn setup(server: &Server) -> Result<Ctx> {
    let job = server
        .bulk("text/csv", crate::jobs::csv("seed", SEED_MEMBERS))
        .await?;
    server.wait_done(&job, Duration::from_millis(50)).await?;
    let mut solutions = Vec::with_capacity(3);
    for name in ["Soak field work", "Soak inspections", "Soak deliveries"] {
        let created = post_json(
            server,
            &format!("/api/v1/orgs/{}/solutions", server.org),
            &server.token,
            json!({ "name": name }),
        )
        .await?;
        solutions.push(created["id"].as_str().context("a solution id")?.to_owned());
    }
    assign_every_100th(server, &solutions[0]).await?;
    let mut devices = Vec::with_capacity(DEVICES);
    for n in 0..DEVICES {
        let created = post_json(
            server,
            "/api/v1/app/devices",
            &server.token,
            json!({ "name": format!("Soak phone {n}"), "platform": "android" }),
        )
        .await?;
        devices.push(
            created["token"]
                .as_str()
                .context("a device token")?
                .to_owned(),
        );
    }
    crate::jobs::outbox_rate(server, SEED_MEMBERS).await?;
    let ctx = Ctx {
        http: reqwest::Client::builder()
            .timeout(Duration::from_secs(30))
            .pool_max_idle_per_host(64)
            // Below the server's idle timeout (60 s): a connection the server
            // closes as idle just when the client sends on it is an error of
            // the client's pool (one in 240,000 requests), not the server's.
            .pool_idle_timeout(Duration::from_secs(30))
            .build()?,
        base: server.base.clone(),
        org: server.org.clone(),
        pat: server.token.clone(),
        devices,
        solutions,
    };
    // Each kind once, so that a wrong request fails here and not 120,000 times.
    for kind in KINDS {
        call(&ctx, kind, 1_000_000)
            .await
            .map_err(|e| anyhow::anyhow!("{}: {e}", kind.label()))?;
    }
    Ok(ctx)
}

/// Assigns every 100th seeded member (not the owner, who owns the solution
/// as its creator) to `solution`.
async fn assign_every_100th(server: &Server, solution: &str) -> Result<()> {
    let mut cursor = String::new();
    let mut seeded = 0usize;
    loop {
        let page = server
            .get(&format!(
                "/api/v1/orgs/{}/users?limit=200{cursor}",
                server.org
            ))
            .await?;
        for member in page["items"].as_array().into_iter().flatten() {
            if member["email"] == "owner@bench.test" {
                continue;
            }
            if seeded.is_multiple_of(100) {
                let user = member["user_id"].as_str().context("a user id")?;
                let url = format!(
                    "{}/api/v1/orgs/{}/users/{user}/solutions/{solution}",
                    server.base, server.org
                );
                let response = server
                    .http
                    .put(url)
                    .bearer_auth(&server.token)
                    .json(&json!({}))
                    .send()
                    .await?;
                if !response.status().is_success() {
                    bail!("assigning failed: {}", response.text().await?);
                }
            }
            seeded += 1;
        }
        match page["next_cursor"].as_str() {
            Some(next) => cursor = format!("&cursor={next}"),
            None => return Ok(()),
        }
    }
}

async fn post_json(server: &Server, path: &str, bearer: &str, body: Value) -> Result<Value> {
    let url = format!("{}{path}", server.base);
    let response = server
        .http
        .post(&url)
        .bearer_auth(bearer)
        .json(&body)
        .send()
        .await?;
    let status = response.status();
    let body: Value = response.json().await?;
    if !status.is_success() {
        bail!("{url}: {status} {body}");
    }
    Ok(body)
}

/// One request of `kind`; `n` varies what it asks for. An error is a non-2xx
/// answer, a failed request, or a batch not accepted in full.
async fn call(ctx: &Ctx, kind: Kind, n: u64) -> std::result::Result<(), String> {
    let base = &ctx.base;
    let org = &ctx.org;
    let device = &ctx.devices[n as usize % ctx.devices.len()];
    let solution = &ctx.solutions[n as usize % ctx.solutions.len()];
    let http = &ctx.http;
    let (request, accepted) = match kind {
        Kind::Me => (
            http.get(format!("{base}/api/v1/me")).bearer_auth(&ctx.pat),
            None,
        ),
        Kind::Users => {
            let filter = match n % 4 {
                0 => String::new(),
                1 => format!("&q=first{}", n % 10),
                2 => "&role=creator&status=invited".to_owned(),
                _ => format!("&solution={}", ctx.solutions[0]),
            };
            let url = format!("{base}/api/v1/orgs/{org}/users?limit=50{filter}");
            (http.get(url).bearer_auth(&ctx.pat), None)
        }
        Kind::Solution => {
            let url = format!("{base}/api/v1/orgs/{org}/solutions/{solution}");
            (http.get(url).bearer_auth(&ctx.pat), None)
        }
        Kind::Logs => {
            let entries: Vec<Value> = (0..BATCH)
                .map(|i| {
                    json!({
                        "level": if i == 0 { "fatal" } else { "error" },
                        "category": "sync",
                        "message": format!("soak {n}.{i}: upload failed: 503"),
                        "correlation_id": format!("soak-{n}"),
                        "solution_id": solution,
                        "context": {"screen": "orders", "attempt": i},
                    })
                })
                .collect();
            let url = format!("{base}/api/v1/app/logs?org={org}");
            let request = http
                .post(url)
                .bearer_auth(device)
                .json(&json!({ "entries": entries }));
            (request, Some(BATCH))
        }
        Kind::Usage => {
            let events: Vec<Value> = (0..BATCH)
                .map(|i| match i {
                    0 => json!({"type": "solution_opened", "solution_id": solution}),
                    1..=6 => json!({"type": "screen_viewed", "solution_id": solution,
                                    "properties": {"screen": format!("Screen{i}")}}),
                    _ => json!({"type": "soak.tick", "properties": {"n": n}}),
                })
                .collect();
            let bearer = if n.is_multiple_of(9) {
                &ctx.pat
            } else {
                device
            };
            let url = format!("{base}/api/v1/app/usage?org={org}");
            let request = http
                .post(url)
                .bearer_auth(bearer)
                .json(&json!({ "events": events }));
            (request, Some(BATCH))
        }
        Kind::Inbox => {
            let url = format!("{base}/api/v1/app/notifications?org={org}&limit=20");
            (http.get(url).bearer_auth(device), None)
        }
        Kind::Invite => {
            let url = format!("{base}/api/v1/orgs/{org}/invitations");
            let body = json!({"email": format!("soak{n:07}@bench.test"), "first_name": "Soak",
                              "last_name": format!("N{n}"), "language": "en"});
            (http.post(url).bearer_auth(&ctx.pat).json(&body), None)
        }
        Kind::Notify => {
            let url = format!("{base}/api/v1/orgs/{org}/notifications");
            let body = json!({"title": format!("Soak {n}"), "body": "The soak run says hello.",
                              "scope": "org"});
            (http.post(url).bearer_auth(&ctx.pat).json(&body), None)
        }
        Kind::Bulk => {
            let url = format!("{base}/api/v1/orgs/{org}/invitations/bulk");
            let body = crate::jobs::csv(&format!("bulk{n:04}x"), BULK_ROWS);
            let request = http
                .post(url)
                .bearer_auth(&ctx.pat)
                .header("content-type", "text/csv")
                .body(body);
            (request, None)
        }
    };
    let response = request.send().await.map_err(|e| e.to_string())?;
    let status = response.status();
    let body = response.bytes().await.map_err(|e| e.to_string())?;
    if !status.is_success() {
        let text = String::from_utf8_lossy(&body);
        return Err(format!(
            "{status} {}",
            text.chars().take(200).collect::<String>()
        ));
    }
    if let Some(expected) = accepted {
        let answer: Value = serde_json::from_slice(&body).map_err(|e| e.to_string())?;
        if answer["accepted"].as_u64() != Some(expected as u64) {
            return Err(format!("not all accepted: {answer}"));
        }
    }
    Ok(())
}

/// The server's utime + stime in clock ticks (/proc/PID/stat).
fn server_ticks(pid: u32) -> u64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    let fields: Vec<&str> = stat
        .rsplit_once(')')
        .map_or("", |(_, rest)| rest)
        .split_whitespace()
        .collect();
    let field = |i: usize| {
        fields
            .get(i)
            .and_then(|v| v.parse::<u64>().ok())
            .unwrap_or(0)
    };
    field(11) + field(12)
}

/// The machine's (busy, total) clock ticks over all cores (/proc/stat).
fn machine_ticks() -> (u64, u64) {
    let stat = std::fs::read_to_string("/proc/stat").unwrap_or_default();
    let values: Vec<u64> = stat
        .lines()
        .next()
        .unwrap_or_default()
        .split_whitespace()
        .skip(1)
        .filter_map(|v| v.parse().ok())
        .collect();
    let total: u64 = values.iter().take(8).sum();
    let idle = values.get(3).copied().unwrap_or(0) + values.get(4).copied().unwrap_or(0);
    (total.saturating_sub(idle), total)
}

/// Per cent of one core (USER_HZ is 100 on Linux).
fn cpu_share(before: u64, after: u64, seconds: f64) -> f64 {
    after.saturating_sub(before) as f64 / 100.0 / seconds * 100.0
}

/// Per cent of all cores busy.
fn busy_share(before: (u64, u64), after: (u64, u64)) -> f64 {
    let busy = after.0.saturating_sub(before.0) as f64;
    let total = after.1.saturating_sub(before.1).max(1) as f64;
    100.0 * busy / total
}

fn sqlite_bytes(dir: &Path) -> (u64, u64) {
    let size = |f: &str| std::fs::metadata(dir.join(f)).map_or(0, |m| m.len());
    (size("muster.db"), size("muster.db-wal"))
}

fn sorted_latencies<'a>(samples: impl Iterator<Item = &'a Sample>) -> Vec<Duration> {
    let mut times: Vec<Duration> = samples.map(|s| s.latency).collect();
    times.sort();
    times
}

fn megabytes(bytes: Option<u64>) -> String {
    bytes.map_or("–".to_owned(), |b| format!("{:.0}", b as f64 / 1e6))
}

fn ms(d: Duration) -> String {
    format!("{:.2}", d.as_secs_f64() * 1000.0)
}

fn progress(minute: usize, record: &MinuteRecord, samples: &[Sample]) {
    let this: Vec<&Sample> = samples.iter().filter(|s| s.minute == minute).collect();
    let errors = this.iter().filter(|s| s.error.is_some()).count();
    let times = sorted_latencies(this.iter().copied());
    eprintln!(
        "soak: minute {}: RSS {:.1} MB, {} requests, {errors} errors, p50 {} ms, p99 {} ms, server CPU {:.0}%",
        minute + 1,
        record.rss_kib as f64 / 1024.0,
        this.len(),
        ms(crate::percentile(&times, 50.0)),
        ms(crate::percentile(&times, 99.0)),
        record.server_cpu
    );
}

struct Report {
    backend: &'static str,
    minutes: usize,
    records: Vec<MinuteRecord>,
    samples: Vec<Sample>,
    elapsed: Duration,
    not_sent: usize,
    /// Mails in the outbox at the end, and invitations made in all.
    mails: (usize, usize),
    peak_kib: u64,
}

/// Growth from `a` to `b` in per cent.
fn growth(a: f64, b: f64) -> f64 {
    100.0 * (b - a) / a.max(f64::EPSILON)
}

impl Report {
    /// Minutes 2–4 and the last three (1-based, inclusive), within the run.
    fn windows(&self) -> ((usize, usize), (usize, usize)) {
        let n = self.minutes;
        ((2.min(n), 4.min(n)), (n.saturating_sub(2).max(1), n))
    }

    fn in_window(&self, (from, to): (usize, usize)) -> impl Iterator<Item = &Sample> {
        self.samples
            .iter()
            .filter(move |s| s.minute + 1 >= from && s.minute < to)
    }

    fn mean_rss_mb(&self, (from, to): (usize, usize)) -> f64 {
        let window = &self.records[from - 1..to];
        window.iter().map(|r| r.rss_kib as f64).sum::<f64>() / window.len() as f64 / 1024.0
    }

    /// Least-squares RSS slope in MB per minute over minutes 2..n.
    fn rss_slope(&self) -> Option<f64> {
        let points: Vec<(f64, f64)> = self
            .records
            .iter()
            .enumerate()
            .skip(1)
            .map(|(i, r)| (i as f64, r.rss_kib as f64 / 1024.0))
            .collect();
        if points.len() < 2 {
            return None;
        }
        let k = points.len() as f64;
        let mx = points.iter().map(|p| p.0).sum::<f64>() / k;
        let my = points.iter().map(|p| p.1).sum::<f64>() / k;
        let sxy: f64 = points.iter().map(|p| (p.0 - mx) * (p.1 - my)).sum();
        let sxx: f64 = points.iter().map(|p| (p.0 - mx).powi(2)).sum();
        Some(sxy / sxx)
    }

    fn print(&self) {
        let sent = self.samples.len();
        let target = RATE as f64 + 1.0 / 60.0;
        let achieved = sent as f64 / self.elapsed.as_secs_f64();
        let mut lags: Vec<Duration> = self.samples.iter().map(|s| s.lag).collect();
        lags.sort();
        println!();
        println!(
            "Muster soak · {} · {} minutes at {RATE} req/s, open loop (tokio client, one task per request) · {SEED_MEMBERS} members seeded · 127.0.0.1",
            self.backend, self.minutes
        );
        println!();
        println!(
            "| minute | RSS MB | p50 ms | p99 ms | requests | errors | max ms | anon MB | file MB | req/s | send lag max ms | server CPU | machine busy | db MB | WAL MB | outbox |"
        );
        println!("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|");
        for (m, record) in self.records.iter().enumerate() {
            let this: Vec<&Sample> = self.samples.iter().filter(|s| s.minute == m).collect();
            let errors = this.iter().filter(|s| s.error.is_some()).count();
            let times = sorted_latencies(this.iter().copied());
            let lag = this.iter().map(|s| s.lag).max().unwrap_or_default();
            println!(
                "| {} | {:.1} | {} | {} | {} | {errors} | {} | {:.1} | {:.1} | {:.1} | {} | {:.0}% | {:.0}% | {} | {} | {} |",
                m + 1,
                record.rss_kib as f64 / 1024.0,
                ms(crate::percentile(&times, 50.0)),
                ms(crate::percentile(&times, 99.0)),
                this.len(),
                ms(times.last().copied().unwrap_or_default()),
                record.anon_kib as f64 / 1024.0,
                record.file_kib as f64 / 1024.0,
                record.sent as f64 / 60.0,
                ms(lag),
                record.server_cpu,
                record.machine_busy,
                megabytes(record.db_bytes.map(|b| b.0)),
                megabytes(record.db_bytes.map(|b| b.1)),
                record.outbox
            );
        }
        let (first, last) = self.windows();
        println!();
        println!(
            "| request (whole run) | requests | errors | p50 ms | p99 ms | p99 min {}–{} | p99 min {}–{} |",
            first.0, first.1, last.0, last.1
        );
        println!("|---|---|---|---|---|---|---|");
        for kind in KINDS {
            let all: Vec<&Sample> = self.samples.iter().filter(|s| s.kind == kind).collect();
            let errors = all.iter().filter(|s| s.error.is_some()).count();
            let times = sorted_latencies(all.iter().copied());
            let early = sorted_latencies(self.in_window(first).filter(|s| s.kind == kind));
            let late = sorted_latencies(self.in_window(last).filter(|s| s.kind == kind));
            println!(
                "| {} | {} | {errors} | {} | {} | {} | {} |",
                kind.label(),
                all.len(),
                ms(crate::percentile(&times, 50.0)),
                ms(crate::percentile(&times, 99.0)),
                ms(crate::percentile(&early, 99.0)),
                ms(crate::percentile(&late, 99.0)),
            );
        }
        println!();
        println!(
            "rate: {achieved:.1} req/s achieved of {target:.1} targeted; send lag (tick → send) p50 {} ms, p99 {} ms, max {} ms; {} not sent ({MAX_IN_FLIGHT} in flight)",
            ms(crate::percentile(&lags, 50.0)),
            ms(crate::percentile(&lags, 99.0)),
            ms(lags.last().copied().unwrap_or_default()),
            self.not_sent
        );
        println!(
            "mail: {} of {} invitation mails in the outbox at the end; server peak RSS (VmHWM) {:.1} MB",
            self.mails.0,
            self.mails.1,
            self.peak_kib as f64 / 1024.0
        );
        for sample in self.samples.iter().filter(|s| s.error.is_some()).take(5) {
            println!(
                "error (minute {}, {}): {}",
                sample.minute + 1,
                sample.kind.label(),
                sample.error.as_deref().unwrap_or_default()
            );
        }
        let (rss_a, rss_b) = (self.mean_rss_mb(first), self.mean_rss_mb(last));
        let p99_a = crate::percentile(&sorted_latencies(self.in_window(first)), 99.0);
        let p99_b = crate::percentile(&sorted_latencies(self.in_window(last)), 99.0);
        let rss_growth = growth(rss_a, rss_b);
        let p99_growth = growth(p99_a.as_secs_f64(), p99_b.as_secs_f64());
        let word = |g: f64, noise: f64| {
            if g > noise {
                "grows"
            } else if g < -noise {
                "falls"
            } else {
                "flat within noise"
            }
        };
        let overlap = if first.1 >= last.0 {
            " (the windows overlap: run 7 minutes or more for a real comparison)"
        } else {
            ""
        };
        println!(
            "verdict: minutes {}–{} against {}–{}{overlap}: RSS {rss_a:.1} → {rss_b:.1} MB ({rss_growth:+.1}%, {}), p99 {} → {} ms ({p99_growth:+.1}%, {}); RSS slope over minutes 2–{} {}; noise thresholds ±10% RSS, ±50% p99 (figures move ±30% on this machine), not a failure either way",
            first.0,
            first.1,
            last.0,
            last.1,
            word(rss_growth, 10.0),
            ms(p99_a),
            ms(p99_b),
            word(p99_growth, 50.0),
            self.minutes,
            self.rss_slope()
                .map_or("–".to_owned(), |s| format!("{s:+.2} MB/min")),
        );
        println!();
    }
}
