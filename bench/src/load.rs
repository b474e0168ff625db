//! A small closed-loop load generator: `connections` tasks, each with its own
//! keep-alive connection, send requests back to back for a fixed time.

use anyhow::{bail, Result};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

pub struct Throughput {
    pub per_second: f64,
}

/// GETs `url` (with `token` as bearer, if any) for `warm_up`, then counts the
/// successful answers during `measure`. Any other answer stops the run.
pub async fn run(
    url: &str,
    token: Option<&str>,
    connections: usize,
    warm_up: Duration,
    measure: Duration,
) -> Result<Throughput> {
    let counted = Arc::new(AtomicU64::new(0));
    let start = Instant::now();
    let measuring_from = start + warm_up;
    let end = measuring_from + measure;
    let mut tasks = Vec::with_capacity(connections);
    for _ in 0..connections {
        let client = reqwest::Client::builder()
            .pool_max_idle_per_host(1)
            .build()?;
        let url = url.to_owned();
        let token = token.map(str::to_owned);
        let counted = counted.clone();
        tasks.push(tokio::spawn(async move {
            while Instant::now() < end {
                let mut request = client.get(&url);
                if let Some(token) = &token {
                    request = request.bearer_auth(token);
                }
                let response = request.send().await?;
                let status = response.status();
                response.bytes().await?;
                if !status.is_success() {
                    bail!("{url} answered {status}");
                }
                if Instant::now() >= measuring_from && Instant::now() < end {
                    counted.fetch_add(1, Ordering::Relaxed);
                }
            }
            anyhow::Ok(())
        }));
    }
    for task in tasks {
        task.await??;
    }
    let requests = counted.load(Ordering::Relaxed);
    Ok(Throughput {
        per_second: requests as f64 / measure.as_secs_f64(),
    })
}
