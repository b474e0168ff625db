//! HTTP load through `wrk` (Debian's package `wrk`), a load generator in C that
//! saturates a bare axum handler on this machine, so the ratio to it measures
//! Muster and not the generator.

use anyhow::{bail, Context, Result};
use std::process::Command;
use std::time::Duration;

pub struct Load {
    pub per_second: f64,
    pub non_2xx: u64,
}

/// `wrk -t2 -c{connections} -d{seconds}s` against `url`, with `token` as bearer.
pub fn run(url: &str, token: Option<&str>, connections: usize, time: Duration) -> Result<Load> {
    let mut command = Command::new("wrk");
    command.args([
        "-t2",
        &format!("-c{connections}"),
        &format!("-d{}s", time.as_secs().max(1)),
    ]);
    if let Some(token) = token {
        command.args(["-H", &format!("Authorization: Bearer {token}")]);
    }
    let output = command
        .arg(url)
        .output()
        .map_err(|e| anyhow::anyhow!("cannot run wrk ({e}); install it: apt-get install wrk"))?;
    let text = String::from_utf8_lossy(&output.stdout);
    if !output.status.success() {
        bail!(
            "wrk failed: {text}{}",
            String::from_utf8_lossy(&output.stderr)
        );
    }
    let per_second = text
        .lines()
        .find_map(|l| l.trim().strip_prefix("Requests/sec:"))
        .and_then(|v| v.trim().parse().ok())
        .with_context(|| format!("no Requests/sec in wrk's output: {text}"))?;
    let non_2xx = text
        .lines()
        .find_map(|l| l.trim().strip_prefix("Non-2xx or 3xx responses:"))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(0);
    Ok(Load {
        per_second,
        non_2xx,
    })
}
