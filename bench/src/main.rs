//! The Muster benchmark. Starts the release `muster` binary on a fresh database,
//! seeds members through the product's own bulk-invite API in uploads one after
//! another, and prints a table: request overhead through `wrk` beside a bare
//! axum handler, bulk throughput, how soon a due job starts behind a mail
//! backlog, mail throughput (outbox and SMTP), member-list latencies and the
//! server's memory. Every loop is bounded and talks only to 127.0.0.1.
//!
//! cargo build --release --workspace && ./target/release/muster-bench [--postgres URL]
//! [--only notifications|logs|usage|soak] [--log-entries N] [--usage-events N]
//! [--soak-minutes N]

mod bare;
mod jobs;
mod lists;
mod log_plan;
mod logs;
mod notifications;
mod server;
mod soak;
mod streams;
mod usage;
mod usage_plan;
mod usage_reads;
mod wrk;

use anyhow::{bail, Context, Result};
use clap::Parser;
use server::Server;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::Duration;

#[derive(Parser)]
struct Args {
    /// The muster binary to benchmark.
    #[arg(long, default_value = "target/release/muster")]
    muster: PathBuf,
    /// Run on fresh databases on this PostgreSQL server (admin URL) instead of SQLite.
    #[arg(long)]
    postgres: Option<String>,
    /// How many members to seed, in `--uploads` uploads one after another.
    #[arg(long, default_value_t = 100_000)]
    members: usize,
    #[arg(long, default_value_t = 10)]
    uploads: usize,
    /// One-row jobs timed while the mail backlog waits.
    #[arg(long, default_value_t = 20)]
    tries: usize,
    /// Mails sent through the local SMTP sink.
    #[arg(long, default_value_t = 10_000)]
    smtp_mails: usize,
    /// Requests per measured list query.
    #[arg(long, default_value_t = 200)]
    samples: usize,
    /// Connections of the wrk runs.
    #[arg(long, default_value_t = 32)]
    connections: usize,
    /// Seconds each wrk run lasts.
    #[arg(long, default_value_t = 10)]
    seconds: u64,
    /// Run only this section (`notifications`, `logs` or `usage`), or the
    /// soak run (`soak`, only ever on its own).
    #[arg(long, value_parser = ["notifications", "logs", "usage", "soak"])]
    only: Option<String>,
    /// Minutes of the soak run (`--only soak`).
    #[arg(long, default_value_t = 10)]
    soak_minutes: u64,
    /// Open event streams timed in the notifications section (one member each).
    #[arg(long, default_value_t = 1_000)]
    streams: usize,
    /// Devices with a Web Push subscription in the notifications section.
    #[arg(long, default_value_t = 5_000)]
    pushes: usize,
    /// Log entries sent through the ingest API in the logs section.
    #[arg(long, default_value_t = 10_000_000)]
    log_entries: usize,
    /// Members sending them (a device token each) in the logs section.
    #[arg(long, default_value_t = 10_000)]
    log_users: usize,
    /// Solutions the log entries name in the logs section.
    #[arg(long, default_value_t = 50)]
    log_solutions: usize,
    /// Clients sending batches of 1,000 log entries at once.
    #[arg(long, default_value_t = 4)]
    log_clients: usize,
    /// Requests per measured log query (one at a time, then `--log-concurrency` at a time).
    #[arg(long, default_value_t = 200)]
    log_requests: usize,
    #[arg(long, default_value_t = 4)]
    log_concurrency: usize,
    /// Usage events over 90 days in the usage section.
    #[arg(long, default_value_t = 10_000_000)]
    usage_events: usize,
    /// Members recording them (a device token each); events / 1,000 (at most
    /// 10,000) when absent, so that each member's 90 days are one full call.
    #[arg(long)]
    usage_users: Option<usize>,
    /// Of the events, about this many go through HTTP (whole members' 90
    /// days); the rest through the store. Half the events, at most 1,000,000,
    /// when absent.
    #[arg(long)]
    usage_http_events: Option<usize>,
    /// Solutions the usage events name.
    #[arg(long, default_value_t = 20)]
    usage_solutions: usize,
    /// Clients sending calls of 1,000 usage events at once.
    #[arg(long, default_value_t = 4)]
    usage_clients: usize,
    /// Members of the organization in the usage section (for the Overview).
    #[arg(long, default_value_t = 100_000)]
    usage_members: usize,
    /// Requests per measured usage read (one at a time, then `--usage-concurrency` at a time).
    #[arg(long, default_value_t = 200)]
    usage_requests: usize,
    #[arg(long, default_value_t = 4)]
    usage_concurrency: usize,
    /// Calls of 1,000 fresh events (the last ten minutes) sent at the end.
    #[arg(long, default_value_t = 200)]
    usage_fresh_calls: usize,
    /// Internal: run the bare usage baseline server on this port.
    #[arg(long, hide = true)]
    bare_usage: Option<u16>,
    /// Internal: run the bare logs baseline server on this port.
    #[arg(long, hide = true)]
    bare_logs: Option<u16>,
    /// Internal: run the bare SSE baseline server on this port.
    #[arg(long, hide = true)]
    bare_sse: Option<u16>,
    /// Internal: run the bare baseline server on this port with this body size.
    #[arg(long, hide = true, num_args = 2, value_names = ["PORT", "BODY_LEN"])]
    bare_server: Option<Vec<usize>>,
}

pub fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

fn ms(d: Duration) -> String {
    format!("{:.2} ms", d.as_secs_f64() * 1000.0)
}

fn mb(kib: u64) -> String {
    format!("{:.1} MB", kib as f64 / 1024.0)
}

/// PAT `GET /me` and the bare handler, each through wrk: (ours, bare, body length).
async fn request_overhead(args: &Args, server: &Server) -> Result<(wrk::Load, wrk::Load, usize)> {
    let url = format!("{}/api/v1/me", server.base);
    let me_len = server
        .http
        .get(&url)
        .bearer_auth(&server.token)
        .send()
        .await?
        .bytes()
        .await?
        .len();
    let bare_port = server::free_port()?;
    let mut bare = Command::new(std::env::current_exe()?)
        .args(["--bare-server", &bare_port.to_string(), &me_len.to_string()])
        .stdout(Stdio::null())
        .spawn()?;
    let bare_url = format!("http://127.0.0.1:{bare_port}/api/v1/me");
    server::wait_ready(&server.http, &bare_url).await?;
    let time = Duration::from_secs(args.seconds);
    let bare_load = wrk::run(&bare_url, None, args.connections, time);
    let _ = bare.kill();
    let _ = bare.wait();
    let ours = wrk::run(&url, Some(&server.token), args.connections, time)?;
    if ours.non_2xx > 0 {
        bail!("{} answers to GET /me were not 2xx", ours.non_2xx);
    }
    Ok((ours, bare_load?, me_len))
}

#[tokio::main]
async fn main() -> Result<()> {
    let args = Args::parse();
    if let Some(bare) = &args.bare_server {
        let port = u16::try_from(bare[0]).context("a port")?;
        return bare::serve(port, bare[1]).await;
    }
    if let Some(port) = args.bare_sse {
        return streams::serve_bare_sse(port).await;
    }
    if let Some(port) = args.bare_logs {
        return logs::serve_bare(port).await;
    }
    if let Some(port) = args.bare_usage {
        return usage::serve_bare(port).await;
    }
    if !args.muster.exists() {
        bail!(
            "{} does not exist: run `cargo build --release --workspace` first",
            args.muster.display()
        );
    }
    let postgres = args.postgres.as_deref();
    match args.only.as_deref() {
        Some("notifications") => return notifications_section(&args).await,
        Some("logs") => return logs_section(&args).await,
        Some("usage") => return usage_section(&args).await,
        Some("soak") => return soak::run(&args.muster, postgres, args.soak_minutes).await,
        _ => {}
    }
    let server = Server::start(&args.muster, postgres, &[]).await?;

    // 4. Request overhead, before any background work competes.
    let (me, bare, me_len) = request_overhead(&args, &server).await?;

    // 1. Uploads one after another; their mails queue up behind them.
    let per_upload = args.members / args.uploads.max(1);
    let uploads = jobs::uploads(&server, args.uploads, per_upload).await?;
    let members = per_upload * args.uploads;

    // 2. Jobs due now while the mails of those uploads are being written.
    let due = jobs::due_now(&server, args.tries, members).await?;

    // 3. Mail throughput: the rest of the backlog into the outbox.
    let (outbox_rate, outbox_mails) = jobs::outbox_rate(&server, members + args.tries).await?;

    // 6. The member list at this size.
    let solution = lists::solution_with_every_100th(&server, members).await?;
    let lists = lists::measure(&server, &solution, args.samples).await?;
    let rss_after = server.memory_kib("VmRSS:");
    // 5. Peak memory over all of it.
    let peak = server.memory_kib("VmHWM:").max(uploads.peak_rss_kib);
    server.stop().await?;

    // 3. Mail through a local SMTP server, on a server of its own.
    let sink = muster_test_support::SmtpSink::start().await;
    let smtp_server =
        Server::start(&args.muster, postgres, &[("MUSTER_SMTP_URL", sink.url())]).await?;
    let smtp_rate = jobs::smtp_rate(&smtp_server, &sink, args.smtp_mails).await?;
    let smtp_peak = smtp_server.memory_kib("VmHWM:");
    smtp_server.stop().await?;

    let backend = if postgres.is_some() {
        "PostgreSQL"
    } else {
        "SQLite"
    };
    println!();
    println!(
        "Muster benchmark · {backend} · {members} members in {} uploads · {} samples per query · 127.0.0.1",
        args.uploads, args.samples
    );
    println!();
    println!("| measure | value | target |");
    println!("|---|---|---|");
    println!(
        "| PAT GET /api/v1/me, wrk -t2 -c{} | {:.0} req/s | |",
        args.connections, me.per_second
    );
    println!(
        "| bare axum handler, same body ({me_len} B), wrk -t2 -c{} | {:.0} req/s | |",
        args.connections, bare.per_second
    );
    println!(
        "| PAT GET /me ÷ bare handler | {:.0}% | ≥ 40% |",
        100.0 * me.per_second / bare.per_second.max(1.0)
    );
    println!(
        "| {} uploads of {per_upload} rows, one after another: slowest POST → done | {} | each ≤ 2 s |",
        args.uploads,
        ms(uploads.done.first().copied().unwrap_or_default())
    );
    println!(
        "| … fastest POST → done | {} | |",
        ms(uploads.done.last().copied().unwrap_or_default())
    );
    println!(
        "| … {members} rows in total | {:.0} rows/s | ≥ 15,000 |",
        uploads.rows_per_second
    );
    println!(
        "| job due now behind {}–{} queued mails: POST → started, p50 / p99 of {} | {} / {} | p99 ≤ 1 s |",
        due.backlog.1,
        due.backlog.0,
        args.tries,
        ms(due.p50),
        ms(due.p99)
    );
    println!("| invitation mails into the outbox ({outbox_mails} timed) | {outbox_rate:.0} mails/s | ≥ 3,000 |");
    println!(
        "| invitation mails into a local SMTP sink ({} mails, MUSTER_SMTP_CONCURRENCY=1) | {smtp_rate:.0} mails/s | ≥ 1,000 |",
        args.smtp_mails
    );
    for (label, p50, p99) in &lists {
        println!(
            "| user list, {label}: p50 / p99 | {} / {} | p99 < 20 ms |",
            ms(*p50),
            ms(*p99)
        );
    }
    println!("| server RSS after seeding | {} | |", mb(rss_after));
    println!(
        "| server peak RSS, all of the above | {} | < 150 MB |",
        mb(peak)
    );
    println!("| SMTP server's peak RSS | {} | |", mb(smtp_peak));
    println!();
    notifications_section(&args).await?;
    logs_section(&args).await?;
    usage_section(&args).await
}

/// The notifications section (`notifications.rs`) and its table.
async fn notifications_section(args: &Args) -> Result<()> {
    let postgres = args.postgres.as_deref();
    let figures = notifications::run(
        &args.muster,
        postgres,
        args.members,
        args.streams,
        args.pushes,
    )
    .await?;
    let backend = if postgres.is_some() {
        "PostgreSQL"
    } else {
        "SQLite"
    };
    println!();
    println!(
        "Muster benchmark · notifications · {backend} · {} recipients · {} streams · {} pushes · 127.0.0.1",
        figures.recipients, figures.streams, figures.pushes
    );
    println!();
    println!("| measure | value | target |");
    println!("|---|---|---|");
    for (measure, value, target) in figures.rows() {
        println!("| {measure} | {value} | {target} |");
    }
    println!();
    Ok(())
}

/// The troubleshooting-log section (`logs.rs`) and its table.
async fn logs_section(args: &Args) -> Result<()> {
    let options = logs::Options {
        entries: args.log_entries,
        users: args.log_users,
        solutions: args.log_solutions,
        clients: args.log_clients,
        requests: args.log_requests,
        concurrency: args.log_concurrency,
    };
    let figures = logs::run(&args.muster, args.postgres.as_deref(), &options).await?;
    println!();
    println!("{}", figures.header());
    println!();
    println!("| measure | value | target |");
    println!("|---|---|---|");
    for (measure, value, target) in figures.rows() {
        println!("| {measure} | {value} | {target} |");
    }
    println!();
    Ok(())
}

/// The usage-metrics section (`usage.rs`) and its table.
async fn usage_section(args: &Args) -> Result<()> {
    let options = usage::Options {
        events: args.usage_events,
        users: args.usage_users,
        http_events: args.usage_http_events,
        solutions: args.usage_solutions,
        clients: args.usage_clients,
        members: args.usage_members,
        requests: args.usage_requests,
        concurrency: args.usage_concurrency,
        fresh_calls: args.usage_fresh_calls,
    };
    let report = usage::run(&args.muster, args.postgres.as_deref(), &options).await?;
    println!();
    println!("{}", report.header);
    println!();
    println!("| measure | value | target |");
    println!("|---|---|---|");
    for (measure, value, target) in &report.rows {
        println!("| {measure} | {value} | {target} |");
    }
    println!();
    Ok(())
}
