//! The Muster benchmark. Starts the release `muster` binary on a fresh database,
//! seeds 100,000 members through the product's own bulk-invite API, and prints a
//! table: bulk invite throughput, member-list latencies (p50/p99) and the
//! server's memory. Every loop is bounded and talks only to 127.0.0.1.
//!
//! cargo build --release --workspace && ./target/release/muster-bench [--postgres URL] [--members N]

mod bare;
mod load;

use anyhow::{bail, Context, Result};
use clap::Parser;
use serde_json::Value;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

#[derive(Parser)]
struct Args {
    /// The muster binary to benchmark.
    #[arg(long, default_value = "target/release/muster")]
    muster: PathBuf,
    /// Run on a fresh database on this PostgreSQL server (admin URL) instead of SQLite.
    #[arg(long)]
    postgres: Option<String>,
    /// How many members to seed.
    #[arg(long, default_value_t = 100_000)]
    members: usize,
    /// Requests per measured list query.
    #[arg(long, default_value_t = 200)]
    samples: usize,
    /// Concurrent connections of the throughput measurement.
    #[arg(long, default_value_t = 32)]
    connections: usize,
    /// Seconds each throughput measurement lasts (after one second of warm-up).
    #[arg(long, default_value_t = 10)]
    seconds: u64,
    /// Internal: run the bare baseline server on this port with this body size.
    #[arg(long, hide = true, num_args = 2, value_names = ["PORT", "BODY_LEN"])]
    bare_server: Option<Vec<usize>>,
}

fn free_port() -> Result<u16> {
    Ok(std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port())
}

async fn wait_ready(http: &reqwest::Client, url: &str) -> Result<()> {
    let ready = Instant::now();
    while http
        .get(url)
        .send()
        .await
        .map(|r| r.status().is_server_error())
        .unwrap_or(true)
    {
        if ready.elapsed() > Duration::from_secs(30) {
            bail!("{url} did not become ready");
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    Ok(())
}

struct Server {
    child: Child,
    base: String,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn muster(args: &Args, data_dir: &std::path::Path, database_url: &Option<String>) -> Command {
    let mut command = Command::new(&args.muster);
    command
        .env("MUSTER_DATA_DIR", data_dir)
        .env("MUSTER_LOG", "warn")
        .env("MUSTER_CONFIG", data_dir.join("none.toml"));
    if let Some(url) = database_url {
        command.env("DATABASE_URL", url);
    }
    command
}

fn rss_kib(pid: u32, field: &str) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find(|l| l.starts_with(field))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|v| v.parse().ok())
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

fn ms(d: Duration) -> String {
    format!("{:.2} ms", d.as_secs_f64() * 1000.0)
}

#[tokio::main]
async fn main() -> Result<()> {
    let args = Args::parse();
    if let Some(bare) = &args.bare_server {
        let port = u16::try_from(bare[0]).context("a port")?;
        return bare::serve(port, bare[1]).await;
    }
    if !args.muster.exists() {
        bail!(
            "{} does not exist: run `cargo build --release --workspace` first",
            args.muster.display()
        );
    }
    let dir = tempfile::tempdir()?;
    let database_url = match &args.postgres {
        Some(admin) => {
            use sqlx::{Connection, Executor};
            let name = format!("muster_bench_{}", std::process::id());
            let mut conn = sqlx::PgConnection::connect(admin)
                .await
                .context("connect to PostgreSQL")?;
            conn.execute(format!("DROP DATABASE IF EXISTS {name}").as_str())
                .await?;
            conn.execute(format!("CREATE DATABASE {name}").as_str())
                .await?;
            let base = admin
                .rsplit_once('/')
                .map(|(b, _)| b.to_owned())
                .unwrap_or_else(|| admin.clone());
            Some(format!("{base}/{name}"))
        }
        None => None,
    };

    // The first owner and a token, through the CLI.
    let mut create = muster(&args, dir.path(), &database_url)
        .args([
            "admin",
            "create-owner",
            "--org",
            "Bench",
            "--email",
            "owner@bench.test",
            "--first-name",
            "Bench",
            "--last-name",
            "Owner",
            "--password-stdin",
        ])
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .spawn()?;
    {
        use std::io::Write;
        create
            .stdin
            .take()
            .context("stdin")?
            .write_all(b"benchmark password\n")?;
    }
    if !create.wait()?.success() {
        bail!("create-owner failed");
    }
    let token = muster(&args, dir.path(), &database_url)
        .args([
            "token",
            "create",
            "--email",
            "owner@bench.test",
            "--name",
            "bench",
        ])
        .output()?;
    let token = String::from_utf8(token.stdout)?.trim().to_owned();

    let port = free_port()?;
    let child = muster(&args, dir.path(), &database_url)
        .env("MUSTER_LISTEN", format!("127.0.0.1:{port}"))
        .stdout(Stdio::null())
        .spawn()?;
    let server = Server {
        child,
        base: format!("http://127.0.0.1:{port}"),
    };
    let http = reqwest::Client::builder()
        .pool_max_idle_per_host(4)
        .build()?;
    let ready = Instant::now();
    while http
        .get(format!("{}/readyz", server.base))
        .send()
        .await
        .map(|r| !r.status().is_success())
        .unwrap_or(true)
    {
        if ready.elapsed() > Duration::from_secs(30) {
            bail!("the server did not become ready");
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let get = |path: String| {
        let http = http.clone();
        let token = token.clone();
        let url = format!("{}{path}", server.base);
        async move {
            let response = http.get(&url).bearer_auth(&token).send().await?;
            let status = response.status();
            let body: Value = response.json().await?;
            if !status.is_success() {
                bail!("{url}: {status} {body}");
            }
            anyhow::Ok(body)
        }
    };
    let me = get("/api/v1/me".into()).await?;
    let org = me["default_org_id"]
        .as_str()
        .context("an organization")?
        .to_owned();

    // 2. PAT-authenticated GET /me against a bare axum handler with a body of the
    // same size, each in its own process, measured before the import so that no
    // background work competes.
    let me_len = http
        .get(format!("{}/api/v1/me", server.base))
        .bearer_auth(&token)
        .send()
        .await?
        .bytes()
        .await?
        .len();
    let bare_port = free_port()?;
    let bare = Server {
        child: Command::new(std::env::current_exe()?)
            .args(["--bare-server", &bare_port.to_string(), &me_len.to_string()])
            .stdout(Stdio::null())
            .spawn()?,
        base: format!("http://127.0.0.1:{bare_port}"),
    };
    wait_ready(&http, &format!("{}/api/v1/me", bare.base)).await?;
    let warm_up = Duration::from_secs(1);
    let measure = Duration::from_secs(args.seconds);
    let bare_rate = load::run(
        &format!("{}/api/v1/me", bare.base),
        None,
        args.connections,
        warm_up,
        measure,
    )
    .await?;
    drop(bare);
    let me_rate = load::run(
        &format!("{}/api/v1/me", server.base),
        Some(&token),
        args.connections,
        warm_up,
        measure,
    )
    .await?;

    // 1. Bulk invite: upload to job done.
    let mut csv = String::with_capacity(args.members * 48);
    csv.push_str("email,first_name,last_name,language,role\n");
    for n in 0..args.members {
        let role = if n % 10 == 0 { "creator" } else { "user" };
        csv.push_str(&format!("u{n:06}@bench.test,First{n},Last{n},en,{role}\n"));
    }
    let pid = server.child.id();
    let started = Instant::now();
    let accepted: Value = http
        .post(format!(
            "{}/api/v1/orgs/{org}/invitations/bulk",
            server.base
        ))
        .bearer_auth(&token)
        .header("content-type", "text/csv")
        .body(csv)
        .send()
        .await?
        .json()
        .await?;
    let upload = started.elapsed();
    let job = accepted["job_id"]
        .as_str()
        .with_context(|| format!("no job: {accepted}"))?
        .to_owned();
    let mut peak_rss = 0;
    loop {
        let state = get(format!("/api/v1/orgs/{org}/jobs/{job}")).await?;
        peak_rss = peak_rss.max(rss_kib(pid, "VmRSS:").unwrap_or(0));
        match state["status"].as_str() {
            Some("succeeded") => {
                let errors = state["errors"].as_array().map_or(0, Vec::len);
                if errors > 0 {
                    bail!("{errors} rows failed: {}", state["errors"][0]);
                }
                break;
            }
            Some("failed") => bail!("the bulk job failed: {state}"),
            _ => {}
        }
        if started.elapsed() > Duration::from_secs(1800) {
            bail!("the bulk job did not finish in 30 minutes");
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let import = started.elapsed();
    let rss_after = rss_kib(pid, "VmRSS:").unwrap_or(0);

    // A solution with every 100th member, for the solution= filter.
    let solution: Value = http
        .post(format!("{}/api/v1/orgs/{org}/solutions", server.base))
        .bearer_auth(&token)
        .json(&serde_json::json!({"name": "Bench solution"}))
        .send()
        .await?
        .json()
        .await?;
    let solution = solution["id"].as_str().context("a solution")?.to_owned();
    let mut cursor = String::new();
    let mut assigned = 0;
    while assigned < args.members / 100 {
        let page = get(format!(
            "/api/v1/orgs/{org}/users?limit=200{}",
            if cursor.is_empty() {
                String::new()
            } else {
                format!("&cursor={cursor}")
            }
        ))
        .await?;
        let items = page["items"].as_array().cloned().unwrap_or_default();
        for member in items.iter().step_by(100) {
            let user = member["user_id"].as_str().context("a user id")?;
            let response = http
                .put(format!(
                    "{}/api/v1/orgs/{org}/users/{user}/solutions/{solution}",
                    server.base
                ))
                .bearer_auth(&token)
                .json(&serde_json::json!({}))
                .send()
                .await?;
            if !response.status().is_success() {
                bail!("assigning failed: {}", response.status());
            }
            assigned += 1;
        }
        match page["next_cursor"].as_str() {
            Some(next) => cursor = next.to_owned(),
            None => break,
        }
    }
    let peak = rss_kib(pid, "VmHWM:").unwrap_or(peak_rss).max(peak_rss);

    // 2. The member list at this size.
    let users = format!("/api/v1/orgs/{org}/users");
    let mut cursor = String::new();
    let mut walked = 0;
    while walked < 10_000 {
        let page = get(format!(
            "{users}?limit=200{}",
            if cursor.is_empty() {
                String::new()
            } else {
                format!("&cursor={cursor}")
            }
        ))
        .await?;
        walked += page["items"].as_array().map_or(0, Vec::len);
        cursor = page["next_cursor"]
            .as_str()
            .context("fewer than 10,000 members")?
            .to_owned();
    }
    let queries = [
        ("first page", format!("{users}?limit=50")),
        (
            "page 10,000 rows deep",
            format!("{users}?limit=50&cursor={cursor}"),
        ),
        (
            "q= search (one match)",
            format!("{users}?limit=50&q=u04242"),
        ),
        (
            "q= search (many matches)",
            format!("{users}?limit=50&q=first1"),
        ),
        (
            "role=&status= filter",
            format!("{users}?limit=50&role=creator&status=invited"),
        ),
        (
            "solution= filter",
            format!("{users}?limit=50&solution={solution}"),
        ),
    ];
    let mut rows = Vec::new();
    for (label, path) in &queries {
        for _ in 0..5 {
            get(path.clone()).await?;
        }
        let mut times = Vec::with_capacity(args.samples);
        for _ in 0..args.samples {
            let t = Instant::now();
            get(path.clone()).await?;
            times.push(t.elapsed());
        }
        times.sort();
        rows.push((*label, percentile(&times, 50.0), percentile(&times, 99.0)));
    }

    let backend = if args.postgres.is_some() {
        "PostgreSQL"
    } else {
        "SQLite"
    };
    println!();
    println!(
        "Muster benchmark · {backend} · {} members · {} samples per query · 127.0.0.1",
        args.members, args.samples
    );
    println!();
    println!("| measure | value |");
    println!("|---|---|");
    println!("| bulk invite: upload accepted (202) | {} |", ms(upload));
    println!(
        "| bulk invite: upload to job done | {:.1} s |",
        import.as_secs_f64()
    );
    println!(
        "| bulk invite throughput | {:.0} rows/s |",
        args.members as f64 / import.as_secs_f64()
    );
    println!(
        "| PAT GET /api/v1/me, {} connections | {:.0} req/s |",
        args.connections, me_rate.per_second
    );
    println!(
        "| bare axum handler, same body ({me_len} B), {} connections | {:.0} req/s |",
        args.connections, bare_rate.per_second
    );
    println!(
        "| PAT GET /me ÷ bare handler | {:.0}% |",
        100.0 * me_rate.per_second / bare_rate.per_second.max(1.0)
    );
    for (label, p50, p99) in &rows {
        println!(
            "| user list, {label}: p50 / p99 | {} / {} |",
            ms(*p50),
            ms(*p99)
        );
    }
    println!(
        "| server RSS after seeding | {:.1} MB |",
        rss_after as f64 / 1024.0
    );
    println!(
        "| server peak RSS (during import) | {:.1} MB |",
        peak as f64 / 1024.0
    );
    println!();
    if let (Some(admin), Some(url)) = (&args.postgres, &database_url) {
        drop(server);
        use sqlx::{Connection, Executor};
        let name = url.rsplit('/').next().unwrap_or_default().to_owned();
        let mut conn = sqlx::PgConnection::connect(admin).await?;
        conn.execute(format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)").as_str())
            .await?;
    }
    Ok(())
}
