//! The event-stream rows of the notification benchmark: 1,000 open streams
//! on the server (POST → event), beside a bare axum SSE server on a tokio
//! broadcast channel with the same streams and rounds.

use super::notifications::send;
use crate::server::{self, Server};
use anyhow::{bail, Result};
use futures_util::stream::{self, StreamExt};
use muster_domain::InboxItemId;
use serde_json::json;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};
use tokio::sync::mpsc;

/// Streams opened at once while connecting.
const OPENING: usize = 64;
/// Notifications timed on the open streams (after one warm-up).
pub const STREAM_ROUNDS: usize = 3;

pub struct Latencies {
    pub p50: Duration,
    pub p99: Duration,
    pub rss_per_stream_kib: f64,
}

/// Open event streams: the instant each `event: notification` arrived, and
/// the tasks reading them (aborted, so the streams closed, on drop).
struct Streams {
    arrivals: mpsc::UnboundedReceiver<Instant>,
    readers: Vec<tokio::task::JoinHandle<()>>,
}

impl Drop for Streams {
    fn drop(&mut self) {
        for reader in &self.readers {
            reader.abort();
        }
    }
}

/// Opens a stream per `(url, token)`, `OPENING` at a time, and reads each on a
/// task of its own, reporting every `event: notification` it parses.
async fn open_streams(targets: Vec<(String, Option<String>)>) -> Result<Streams> {
    let http = reqwest::Client::builder().build()?;
    let (tx, arrivals) = mpsc::unbounded_channel();
    let opened: Vec<Result<reqwest::Response>> = stream::iter(targets)
        .map(|(url, token)| {
            let http = http.clone();
            async move {
                let mut request = http.get(url).header("accept", "text/event-stream");
                if let Some(token) = token {
                    request = request.bearer_auth(token);
                }
                let response = request.send().await?;
                if !response.status().is_success() {
                    bail!("opening an event stream: {}", response.status());
                }
                Ok::<reqwest::Response, anyhow::Error>(response)
            }
        })
        .buffer_unordered(OPENING)
        .collect()
        .await;
    let mut readers = Vec::with_capacity(opened.len());
    for response in opened {
        let mut response = response?;
        let tx = tx.clone();
        readers.push(tokio::spawn(async move {
            let mut buffer: Vec<u8> = Vec::new();
            while let Ok(Some(chunk)) = response.chunk().await {
                let at = Instant::now();
                buffer.extend_from_slice(&chunk);
                while let Some(end) = buffer.windows(2).position(|w| w == b"\n\n") {
                    let block: Vec<u8> = buffer.drain(..end + 2).collect();
                    if block
                        .split(|b| *b == b'\n')
                        .any(|line| line == b"event: notification")
                    {
                        let _ = tx.send(at);
                    }
                }
            }
        }));
    }
    Ok(Streams { arrivals, readers })
}

/// Waits for `count` arrivals; each one's time since `posted`.
async fn arrivals(streams: &mut Streams, count: usize, posted: Instant) -> Result<Vec<Duration>> {
    let mut times = Vec::with_capacity(count);
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    while times.len() < count {
        match tokio::time::timeout_at(deadline, streams.arrivals.recv()).await {
            Ok(Some(at)) => times.push(at.saturating_duration_since(posted)),
            Ok(None) => bail!("the event streams ended after {} events", times.len()),
            Err(_) => bail!("{} of {count} streams got the event in 60 s", times.len()),
        }
    }
    Ok(times)
}

/// A warm-up notification, then `STREAM_ROUNDS` timed ones, on a stream per
/// device token; the streams are closed when this returns.
pub async fn event_streams(server: &Server, tokens: &[String]) -> Result<Latencies> {
    let url = format!("{}/api/v1/app/events?org={}", server.base, server.org);
    let before = server.memory_kib("VmRSS:");
    let targets = tokens
        .iter()
        .map(|t| (url.clone(), Some(t.clone())))
        .collect();
    let mut streams = open_streams(targets).await?;
    let posted = Instant::now();
    send(server, "Warm-up").await?;
    arrivals(&mut streams, tokens.len(), posted).await?;
    let after = server.memory_kib("VmRSS:");
    let mut times = Vec::new();
    for round in 0..STREAM_ROUNDS {
        let posted = Instant::now();
        send(server, &format!("Round {round}")).await?;
        times.extend(arrivals(&mut streams, tokens.len(), posted).await?);
    }
    times.sort();
    // Closed, and given a moment to leave the hub before the fan-out.
    drop(streams);
    tokio::time::sleep(Duration::from_secs(1)).await;
    Ok(Latencies {
        p50: crate::percentile(&times, 50.0),
        p99: crate::percentile(&times, 99.0),
        rss_per_stream_kib: after.saturating_sub(before) as f64 / tokens.len().max(1) as f64,
    })
}

/// The bare SSE server of [`serve_bare_sse`] in its own process: the same
/// rounds on `streams` streams.
pub async fn bare_streams(streams: usize) -> Result<Latencies> {
    struct Bare(Child);
    impl Drop for Bare {
        fn drop(&mut self) {
            let _ = self.0.kill();
            let _ = self.0.wait();
        }
    }
    let port = server::free_port()?;
    let bare = Bare(
        Command::new(std::env::current_exe()?)
            .args(["--bare-sse", &port.to_string()])
            .stdout(Stdio::null())
            .spawn()?,
    );
    let base = format!("http://127.0.0.1:{port}");
    let http = reqwest::Client::new();
    server::wait_ready(&http, &format!("{base}/readyz")).await?;
    let rss = || {
        let status =
            std::fs::read_to_string(format!("/proc/{}/status", bare.0.id())).unwrap_or_default();
        status
            .lines()
            .find(|l| l.starts_with("VmRSS:"))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|v| v.parse::<u64>().ok())
            .unwrap_or(0)
    };
    let before = rss();
    let targets = (0..streams)
        .map(|_| (format!("{base}/events"), None))
        .collect();
    let mut open = open_streams(targets).await?;
    let send_url = format!("{base}/send");
    let posted = Instant::now();
    bare_send(&http, &send_url).await?;
    arrivals(&mut open, streams, posted).await?;
    let after = rss();
    let mut times = Vec::new();
    for _ in 0..STREAM_ROUNDS {
        let posted = Instant::now();
        bare_send(&http, &send_url).await?;
        times.extend(arrivals(&mut open, streams, posted).await?);
    }
    drop(open);
    times.sort();
    Ok(Latencies {
        p50: crate::percentile(&times, 50.0),
        p99: crate::percentile(&times, 99.0),
        rss_per_stream_kib: after.saturating_sub(before) as f64 / streams.max(1) as f64,
    })
}

async fn bare_send(http: &reqwest::Client, url: &str) -> Result<()> {
    let answer = http.post(url).send().await?;
    if !answer.status().is_success() {
        bail!("the bare server answered {}", answer.status());
    }
    Ok(())
}

/// The baseline SSE server (`--bare-sse PORT`): `GET /events` streams every
/// message of a tokio broadcast channel as `event: notification`, `POST /send`
/// broadcasts one (a JSON body about as long as an inbox item's).
pub async fn serve_bare_sse(port: u16) -> Result<()> {
    use axum::response::sse::{Event, Sse};
    use axum::routing::{get, post};
    use std::convert::Infallible;
    use std::sync::Arc;
    use tokio::sync::broadcast;
    let (tx, _) = broadcast::channel::<Arc<str>>(64);
    let data: Arc<str> =
        json!({"id": InboxItemId::new(), "title": "Round", "body": "The benchmark says hello.",
        "pad": "x".repeat(200)})
        .to_string()
        .into();
    let events = {
        let tx = tx.clone();
        move || {
            let rx = tx.subscribe();
            async move {
                let stream = stream::unfold(rx, |mut rx| async move {
                    loop {
                        match rx.recv().await {
                            Ok(data) => {
                                let event = Event::default().event("notification").data(&*data);
                                return Some((Ok::<_, Infallible>(event), rx));
                            }
                            Err(broadcast::error::RecvError::Lagged(_)) => continue,
                            Err(broadcast::error::RecvError::Closed) => return None,
                        }
                    }
                });
                Sse::new(stream)
            }
        }
    };
    let send = move || {
        let receivers = tx.send(data.clone()).unwrap_or(0);
        async move { receivers.to_string() }
    };
    let app = axum::Router::new()
        .route("/readyz", get(|| async { "ok" }))
        .route("/events", get(events))
        .route("/send", post(send));
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", port)).await?;
    axum::serve(listener, app).await?;
    Ok(())
}
