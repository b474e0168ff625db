//! Serving HTTP on a TCP listener with bounds on what a client may hold:
//! [`serve`] is `axum::serve` with timeouts and a connection cap.
//!
//! Each connection is, at any moment, in one of three phases, and only the
//! first two are bounded:
//!
//! - waiting for a request head: from the accept, the request line and headers
//!   must be complete within `header_timeout`; on a kept-alive connection the
//!   same bound starts at the first byte of the next request;
//! - idle: a kept-alive connection with no request under way is closed after
//!   `idle_timeout`;
//! - busy: a request is in progress. Only its *body* is bounded: a read of the
//!   request body that makes no progress for `body_timeout` fails, and the
//!   client gets `408 Request Timeout` (and the connection is closed). The
//!   response, an event stream included, may take as long as it takes.
//!
//! At most `max_connections` connections are served at once. When a new one
//! arrives at the cap, the connection that has been waiting or idle the
//! longest (no request in progress) is closed to make room; if every
//! connection has a request in progress, the new one waits until one ends.
//! Clients that hold connections without completing requests (the slowloris
//! pattern) are therefore the ones that go, and a health check, which sends
//! its whole request at once, always gets in unless the server is full of
//! requests it is actually working on.

use axum::Router;
use hyper_util::rt::{TokioExecutor, TokioTimer};
use hyper_util::server::conn::auto::Builder;
use hyper_util::server::graceful::GracefulShutdown;
use std::future::Future;
use std::io;
use std::pin::pin;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpListener;
use tokio::sync::{watch, Semaphore};
use tokio::time::Instant;

mod body;
mod connection;

use connection::{Connection, ConnectionTask, Registry};

/// How long to pause accepting after an accept error such as `EMFILE`.
const ACCEPT_ERROR_PAUSE: Duration = Duration::from_millis(100);
/// At the connection cap, how often to close another waiting or idle
/// connection while no permit has come free.
const AT_CAP_RECHECK: Duration = Duration::from_millis(100);
/// File descriptors kept for everything but client connections (database,
/// mail, push, files) when the cap is lowered to the open-file limit.
const FD_RESERVE: u64 = 256;
/// Repeated warnings (accept errors, the cap) are logged at most this often.
const WARN_EVERY: Duration = Duration::from_secs(60);

/// The bounds of [`serve`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// The request line and headers must arrive within this, counted from the
    /// accept (or from the first byte of a later request on a kept-alive
    /// connection).
    pub header_timeout: Duration,
    /// A read of a request body that receives nothing for this long fails with
    /// `408 Request Timeout`.
    pub body_timeout: Duration,
    /// A kept-alive connection without a request for this long is closed.
    pub idle_timeout: Duration,
    /// Connections served at once.
    pub max_connections: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            header_timeout: Duration::from_secs(10),
            body_timeout: Duration::from_secs(30),
            idle_timeout: Duration::from_secs(60),
            max_connections: 10_000,
        }
    }
}

impl Limits {
    /// The limits given, brought into range: durations between 1 ms and a
    /// day, at least one connection.
    pub fn new(
        header_timeout: Duration,
        body_timeout: Duration,
        idle_timeout: Duration,
        max_connections: usize,
    ) -> Self {
        let bounded =
            |d: Duration| d.clamp(Duration::from_millis(1), Duration::from_secs(24 * 3600));
        Self {
            header_timeout: bounded(header_timeout),
            body_timeout: bounded(body_timeout),
            idle_timeout: bounded(idle_timeout),
            max_connections: max_connections.clamp(1, Semaphore::MAX_PERMITS),
        }
    }
}

/// Serves `app` on `listener` within `limits` until `shutdown` resolves; then
/// stops accepting, closes the connections on which no request has begun (one
/// whose request head has partly arrived gets until its header timeout to
/// complete it), lets the requests in flight finish and returns.
///
/// Requests carry `ConnectInfo<SocketAddr>`, as with
/// `into_make_service_with_connect_info::<SocketAddr>()`.
pub async fn serve<F>(
    listener: TcpListener,
    app: Router,
    limits: Limits,
    shutdown: F,
) -> io::Result<()>
where
    F: Future<Output = ()> + Send,
{
    let limits = Limits::new(
        limits.header_timeout,
        limits.body_timeout,
        limits.idle_timeout,
        fit_to_open_file_limit(limits.max_connections),
    );
    let mut builder = Builder::new(TokioExecutor::new());
    // The phases are timed by each connection's task (below). hyper's own
    // header timer also runs while a kept-alive connection is idle, so it is
    // only a backstop here, long enough never to come first.
    builder
        .http1()
        .timer(TokioTimer::new())
        .header_read_timeout(limits.header_timeout + limits.idle_timeout);
    builder.http2().enable_connect_protocol();
    let builder = Arc::new(builder);
    let permits = Arc::new(Semaphore::new(limits.max_connections));
    let registry = Arc::new(Registry::default());
    let graceful = GracefulShutdown::new();
    let (closing, closing_rx) = watch::channel(false);
    let mut shutdown = pin!(shutdown);
    let mut accept_errors = Warning::default();
    let mut at_cap = Warning::default();

    'accept: loop {
        let accepted = tokio::select! {
            biased;
            () = shutdown.as_mut() => break 'accept,
            accepted = listener.accept() => accepted,
        };
        let (stream, remote) = match accepted {
            Ok(accepted) => accepted,
            Err(error) if is_connection_error(&error) => continue,
            Err(error) => {
                // Most likely out of file descriptors: free one held by an
                // idle client and pause, rather than spin on the error.
                if accept_errors.due() {
                    tracing::warn!(
                        %error,
                        repeated = accept_errors.take_suppressed(),
                        "accept error: closing an idle connection and pausing accepts"
                    );
                }
                registry.evict_oldest();
                tokio::select! {
                    biased;
                    () = shutdown.as_mut() => break 'accept,
                    () = tokio::time::sleep(ACCEPT_ERROR_PAUSE) => continue 'accept,
                }
            }
        };
        let permit = match permits.clone().try_acquire_owned() {
            Ok(permit) => permit,
            Err(_) => {
                if at_cap.due() {
                    tracing::warn!(
                        max_connections = limits.max_connections,
                        repeated = at_cap.take_suppressed(),
                        "connection limit reached: closing the connections idle or \
                         waiting for a request the longest, or waiting for requests to end"
                    );
                }
                loop {
                    registry.evict_oldest();
                    tokio::select! {
                        biased;
                        () = shutdown.as_mut() => break 'accept,
                        permit = permits.clone().acquire_owned() => match permit {
                            Ok(permit) => break permit,
                            Err(_) => break 'accept,
                        },
                        () = tokio::time::sleep(AT_CAP_RECHECK) => {}
                    }
                }
            }
        };
        // Registered here, in accept order: the oldest is closed first.
        let task = ConnectionTask {
            builder: builder.clone(),
            app: app.clone(),
            limits,
            connection: Connection::new(registry.clone(), limits),
            watcher: graceful.watcher(),
            closing: closing_rx.clone(),
            permit,
        };
        tokio::spawn(task.run(stream, remote));
    }

    drop(listener);
    let _ = closing.send(true);
    graceful.shutdown().await;
    Ok(())
}

fn is_connection_error(error: &io::Error) -> bool {
    matches!(
        error.kind(),
        io::ErrorKind::ConnectionRefused
            | io::ErrorKind::ConnectionAborted
            | io::ErrorKind::ConnectionReset
    )
}

/// `wanted`, lowered to what the open-file limit allows, with a warning.
fn fit_to_open_file_limit(wanted: usize) -> usize {
    let Some(limit) = open_file_limit() else {
        return wanted;
    };
    let room = limit.saturating_sub(FD_RESERVE).max(limit / 2).max(1);
    let room = usize::try_from(room).unwrap_or(usize::MAX);
    if room < wanted {
        tracing::warn!(
            max_connections = wanted,
            open_file_limit = limit,
            serving = room,
            "MUSTER_MAX_CONNECTIONS is above what the open-file limit allows: serving \
             fewer connections at once (raise `ulimit -n` / LimitNOFILE to serve more)"
        );
        room
    } else {
        wanted
    }
}

/// The soft `RLIMIT_NOFILE` of this process, where `/proc` tells it.
fn open_file_limit() -> Option<u64> {
    let limits = std::fs::read_to_string("/proc/self/limits").ok()?;
    let line = limits
        .lines()
        .find_map(|line| line.strip_prefix("Max open files"))?;
    line.split_whitespace().next()?.parse().ok()
}

/// A warning logged at most every [`WARN_EVERY`], counting the ones skipped.
#[derive(Default)]
struct Warning {
    last: Option<Instant>,
    suppressed: u64,
}

impl Warning {
    fn due(&mut self) -> bool {
        let now = Instant::now();
        if self
            .last
            .is_some_and(|last| now.duration_since(last) < WARN_EVERY)
        {
            self.suppressed += 1;
            false
        } else {
            self.last = Some(now);
            true
        }
    }

    fn take_suppressed(&mut self) -> u64 {
        std::mem::take(&mut self.suppressed)
    }
}
