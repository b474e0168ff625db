//! The rows about background work: uploads one after another, a job that is due
//! while a mail backlog waits, and mail throughput into the outbox and into an
//! SMTP server.

use crate::server::Server;
use anyhow::{bail, Result};
use std::time::{Duration, Instant};

pub fn csv(prefix: &str, rows: usize) -> String {
    let mut csv = String::with_capacity(rows * 48);
    csv.push_str("email,first_name,last_name,language,role\n");
    for n in 0..rows {
        let role = if n % 10 == 0 { "creator" } else { "user" };
        csv.push_str(&format!(
            "{prefix}{n:06}@bench.test,First{n},Last{n},en,{role}\n"
        ));
    }
    csv
}

pub struct Uploads {
    /// From each POST to its job done, slowest first.
    pub done: Vec<Duration>,
    pub rows_per_second: f64,
    pub peak_rss_kib: u64,
}

/// `count` uploads of `rows` people, each posted when the one before is done.
pub async fn uploads(server: &Server, count: usize, rows: usize) -> Result<Uploads> {
    let started = Instant::now();
    let mut done = Vec::with_capacity(count);
    let mut peak = 0;
    for k in 0..count {
        let body = csv(&format!("u{k:02}x"), rows);
        let posted = Instant::now();
        let job = server.bulk("text/csv", body).await?;
        server.wait_done(&job, Duration::from_millis(20)).await?;
        done.push(posted.elapsed());
        peak = peak.max(server.memory_kib("VmRSS:"));
    }
    done.sort_by(|a, b| b.cmp(a));
    Ok(Uploads {
        done,
        rows_per_second: (count * rows) as f64 / started.elapsed().as_secs_f64(),
        peak_rss_kib: peak,
    })
}

pub struct DueNow {
    pub p50: Duration,
    pub p99: Duration,
    /// Mails still waiting when the first and the last try started.
    pub backlog: (usize, usize),
}

/// `tries` one-row uploads while `queued_mails` mails are being written: from
/// each POST until its job has started (is no longer queued).
pub async fn due_now(server: &Server, tries: usize, queued_mails: usize) -> Result<DueNow> {
    let mut times = Vec::with_capacity(tries);
    let mut backlog = (0, 0);
    for n in 0..tries {
        let waiting = queued_mails.saturating_sub(server.outbox_count());
        if n == 0 {
            backlog.0 = waiting;
        }
        backlog.1 = waiting;
        let body = format!(r#"[{{"email": "due{n:03}@bench.test"}}]"#);
        let posted = Instant::now();
        let job = server.bulk("application/json", body).await?;
        loop {
            let state = server.job_status(&job).await?;
            if state["status"] != "queued" {
                break;
            }
            if posted.elapsed() > Duration::from_secs(60) {
                bail!("a due job did not start in 60 s");
            }
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
        times.push(posted.elapsed());
    }
    times.sort();
    Ok(DueNow {
        p50: crate::percentile(&times, 50.0),
        p99: crate::percentile(&times, 99.0),
        backlog,
    })
}

/// Mails per second written to the outbox until `total` are there, counted from
/// now (the worker may have written some already).
pub async fn outbox_rate(server: &Server, total: usize) -> Result<(f64, usize)> {
    let start_count = server.outbox_count();
    let started = Instant::now();
    loop {
        let count = server.outbox_count();
        if count >= total {
            let written = count - start_count;
            return Ok((written as f64 / started.elapsed().as_secs_f64(), written));
        }
        if started.elapsed() > Duration::from_secs(600) {
            bail!("only {count} of {total} mails were written in 10 minutes");
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Mails per second into a local SMTP sink: from the first to the last of
/// `mails` received (the bulk import runs beside the sending).
pub async fn smtp_rate(
    server: &Server,
    sink: &muster_test_support::SmtpSink,
    mails: usize,
) -> Result<f64> {
    let job = server.bulk("text/csv", csv("smtp", mails)).await?;
    let started = Instant::now();
    let mut first: Option<Instant> = None;
    loop {
        let received = sink.received().len();
        if received > 0 && first.is_none() {
            first = Some(Instant::now());
        }
        if received >= mails {
            let from = first.unwrap_or(started);
            server.wait_done(&job, Duration::from_millis(50)).await?;
            return Ok(mails as f64 / from.elapsed().as_secs_f64().max(0.001));
        }
        if started.elapsed() > Duration::from_secs(600) {
            bail!("the SMTP sink got {received} of {mails} mails in 10 minutes");
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}
