//! One connection of [`super::serve`]: the phase it is in (waiting for a
//! request head, idle, busy) with the timer of that phase, the registry of the
//! connections that may be closed to make room at the cap, and the request
//! body that answers 408 when it stops arriving.

use super::body::{RequestBody, ResponseBody};
use super::Limits;
use axum::extract::ConnectInfo;
use axum::http::{header, HeaderValue, Request, Response, StatusCode, Version};
use axum::Router;
use hyper::body::{Body as _, Incoming};
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto::Builder;
use hyper_util::server::graceful::Watcher;
use std::collections::BTreeMap;
use std::convert::Infallible;
use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::pin::{pin, Pin};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError, Weak};
use std::task::{Context, Poll};
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;
use tokio::sync::{watch, Notify, OwnedSemaphorePermit};
use tokio::time::Instant;
use tower::ServiceExt;

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

/// The connections without a request in progress, oldest first: those closed
/// to make room at the cap.
#[derive(Default)]
pub(super) struct Registry {
    next: AtomicU64,
    evictable: Mutex<BTreeMap<u64, Weak<Connection>>>,
}

impl Registry {
    fn insert(&self, connection: Weak<Connection>) -> u64 {
        let seq = self.next.fetch_add(1, Ordering::Relaxed);
        lock(&self.evictable).insert(seq, connection);
        seq
    }

    fn remove(&self, seq: u64) {
        lock(&self.evictable).remove(&seq);
    }

    /// Closes the connection that has been waiting or idle the longest;
    /// false when there is none.
    pub(super) fn evict_oldest(&self) -> bool {
        // Each at most once: one still sending a response goes back in.
        let candidates = lock(&self.evictable).len();
        for _ in 0..candidates {
            let Some((seq, connection)) = lock(&self.evictable).pop_first() else {
                return false;
            };
            if connection.upgrade().is_some_and(|c| c.evict(seq)) {
                return true;
            }
        }
        false
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    /// Waiting for (the rest of) a request head since `since`; `bytes`: some
    /// of it has arrived.
    Waiting { since: Instant, bytes: bool },
    /// No request in progress since `since`.
    Idle { since: Instant },
    /// A request (HTTP/2: at least one) is in progress.
    Busy,
}

struct ConnectionState {
    phase: Phase,
    requests: usize,
    /// Its key in the registry while not busy.
    seq: Option<u64>,
    http2: bool,
    /// The connection is gone (HTTP/2 requests may end after it).
    ended: bool,
}

/// What a connection's task, its I/O, its service and its request guards
/// share.
pub(super) struct Connection {
    this: Weak<Connection>,
    registry: Arc<Registry>,
    limits: Limits,
    state: Mutex<ConnectionState>,
    /// Whether the next bytes read start a request head (read without
    /// locking on every read).
    watch_bytes: AtomicBool,
    /// Whether the last write to the socket was pending: hyper still holds
    /// bytes of a response (whose body may have ended) for a slow reader.
    write_blocked: AtomicBool,
    evicted: Notify,
}

/// What the connection's task does next.
enum Next {
    Close,
    CheckAt(Instant),
}

impl Connection {
    pub(super) fn new(registry: Arc<Registry>, limits: Limits) -> Arc<Self> {
        Arc::new_cyclic(|this: &Weak<Connection>| {
            let seq = registry.insert(this.clone());
            Connection {
                this: this.clone(),
                registry,
                limits,
                state: Mutex::new(ConnectionState {
                    phase: Phase::Waiting {
                        since: Instant::now(),
                        bytes: false,
                    },
                    requests: 0,
                    seq: Some(seq),
                    http2: false,
                    ended: false,
                }),
                watch_bytes: AtomicBool::new(true),
                write_blocked: AtomicBool::new(false),
                evicted: Notify::new(),
            }
        })
    }

    fn request_started(&self, http2: bool) {
        let mut state = lock(&self.state);
        state.requests += 1;
        state.phase = Phase::Busy;
        state.http2 |= http2;
        self.watch_bytes.store(false, Ordering::Relaxed);
        if let Some(seq) = state.seq.take() {
            self.registry.remove(seq);
        }
    }

    fn request_finished(&self) {
        let mut state = lock(&self.state);
        state.requests = state.requests.saturating_sub(1);
        if state.requests > 0 {
            return;
        }
        state.phase = Phase::Idle {
            since: Instant::now(),
        };
        if state.seq.is_none() && !state.ended {
            state.seq = Some(self.registry.insert(self.this.clone()));
        }
        // HTTP/2 clients send frames (pings, settings) between requests:
        // only HTTP/1 bytes start a request head.
        self.watch_bytes.store(!state.http2, Ordering::Relaxed);
    }

    fn bytes_arrived(&self) {
        let mut state = lock(&self.state);
        state.phase = match state.phase {
            Phase::Idle { .. } => Phase::Waiting {
                since: Instant::now(),
                bytes: true,
            },
            Phase::Waiting { since, .. } => Phase::Waiting { since, bytes: true },
            Phase::Busy => Phase::Busy,
        };
    }

    /// The last bytes of a response have reached the socket: idle from now.
    fn write_unblocked(&self) {
        let mut state = lock(&self.state);
        if let Phase::Idle { .. } = state.phase {
            state.phase = Phase::Idle {
                since: Instant::now(),
            };
        }
    }

    /// Closes the connection if it is still waiting or idle under `seq`; one
    /// still sending a response becomes the newest instead.
    fn evict(&self, seq: u64) -> bool {
        let mut state = lock(&self.state);
        if state.seq != Some(seq) || state.phase == Phase::Busy {
            return false;
        }
        if self.write_blocked.load(Ordering::Relaxed) {
            if !state.ended {
                state.seq = Some(self.registry.insert(self.this.clone()));
            }
            return false;
        }
        state.seq = None;
        self.evicted.notify_one();
        true
    }

    /// When the task should look again, or whether to close now. A phase
    /// that starts later has a deadline at least `min(header, idle)` after
    /// its start, so looking at least that often never misses one.
    fn next(&self, now: Instant, shutting_down: bool) -> Next {
        let recheck = now + self.limits.header_timeout.min(self.limits.idle_timeout);
        let phase = lock(&self.state).phase;
        if self.write_blocked.load(Ordering::Relaxed) {
            // Still sending: as busy (hyper closes after it when shutting down).
            return Next::CheckAt(recheck);
        }
        let deadline = match phase {
            // Nothing of a request has arrived: nothing to finish.
            Phase::Idle { .. } | Phase::Waiting { bytes: false, .. } if shutting_down => {
                return Next::Close
            }
            Phase::Waiting { since, .. } => since + self.limits.header_timeout,
            Phase::Idle { since } => since + self.limits.idle_timeout,
            Phase::Busy => return Next::CheckAt(recheck),
        };
        if deadline <= now {
            Next::Close
        } else {
            Next::CheckAt(deadline.min(recheck))
        }
    }

    fn finished(&self) {
        let mut state = lock(&self.state);
        state.ended = true;
        if let Some(seq) = state.seq.take() {
            self.registry.remove(seq);
        }
    }
}

/// One accepted connection, served in its own task.
pub(super) struct ConnectionTask {
    pub(super) builder: Arc<Builder<TokioExecutor>>,
    pub(super) app: Router,
    pub(super) limits: Limits,
    pub(super) connection: Arc<Connection>,
    pub(super) watcher: Watcher,
    pub(super) closing: watch::Receiver<bool>,
    pub(super) permit: OwnedSemaphorePermit,
}

impl ConnectionTask {
    pub(super) async fn run(self, stream: TcpStream, remote: SocketAddr) {
        let ConnectionTask {
            builder,
            app,
            limits,
            connection,
            watcher,
            mut closing,
            permit,
        } = self;
        let io = TokioIo::new(WatchedIo {
            stream,
            connection: connection.clone(),
        });
        let service = ConnectionService {
            app,
            remote,
            connection: connection.clone(),
            body_timeout: limits.body_timeout,
        };
        let conn = watcher.watch(builder.serve_connection_with_upgrades(io, service));
        let mut shutting_down = *closing.borrow_and_update();
        // In a block, so that the connection (and its socket) is gone before
        // the permit is returned.
        {
            let mut conn = pin!(conn);
            loop {
                let check_at = match connection.next(Instant::now(), shutting_down) {
                    Next::Close => break,
                    Next::CheckAt(at) => at,
                };
                tokio::select! {
                    result = conn.as_mut() => {
                        if let Err(error) = result {
                            tracing::trace!(%remote, error = %error, "connection ended with an error");
                        }
                        break;
                    }
                    () = tokio::time::sleep_until(check_at) => {}
                    () = connection.evicted.notified() => {
                        tracing::debug!(%remote, "closing a waiting or idle connection to make room");
                        break;
                    }
                    _ = closing.changed(), if !shutting_down => shutting_down = true,
                }
            }
        }
        // After the requests the connection dropped have ended.
        connection.finished();
        drop(permit);
    }
}

/// The socket, noting when the bytes of a new request head start arriving.
struct WatchedIo {
    stream: TcpStream,
    connection: Arc<Connection>,
}

impl AsyncRead for WatchedIo {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let before = buf.filled().len();
        let result = Pin::new(&mut self.stream).poll_read(cx, buf);
        if buf.filled().len() > before && self.connection.watch_bytes.swap(false, Ordering::Relaxed)
        {
            self.connection.bytes_arrived();
        }
        result
    }
}

impl WatchedIo {
    fn wrote(&self, pending: bool) {
        let blocked = &self.connection.write_blocked;
        if pending {
            blocked.store(true, Ordering::Relaxed);
        } else if blocked.load(Ordering::Relaxed) && blocked.swap(false, Ordering::Relaxed) {
            self.connection.write_unblocked();
        }
    }
}

impl AsyncWrite for WatchedIo {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let result = Pin::new(&mut self.stream).poll_write(cx, buf);
        self.wrote(result.is_pending());
        result
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let result = Pin::new(&mut self.stream).poll_write_vectored(cx, bufs);
        self.wrote(result.is_pending());
        result
    }

    fn is_write_vectored(&self) -> bool {
        self.stream.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.stream).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.stream).poll_shutdown(cx)
    }
}

/// The app as hyper calls it on one connection.
#[derive(Clone)]
struct ConnectionService {
    app: Router,
    remote: SocketAddr,
    connection: Arc<Connection>,
    body_timeout: Duration,
}

impl hyper::service::Service<Request<Incoming>> for ConnectionService {
    type Response = Response<ResponseBody>;
    type Error = Infallible;
    type Future = Pin<Box<dyn Future<Output = Result<Self::Response, Infallible>> + Send>>;

    fn call(&self, request: Request<Incoming>) -> Self::Future {
        let http2 = request.version() == Version::HTTP_2;
        self.connection.request_started(http2);
        let guard = RequestGuard(self.connection.clone());
        let timed_out = Arc::new(AtomicBool::new(false));
        let ended = Arc::new(AtomicBool::new(request.body().is_end_stream()));
        let body_timeout = self.body_timeout;
        let mut request = request.map(|body| RequestBody {
            body,
            timeout: body_timeout,
            sleep: None,
            waiting: false,
            timed_out: timed_out.clone(),
            ended: ended.clone(),
        });
        request.extensions_mut().insert(ConnectInfo(self.remote));
        let app = self.app.clone();
        Box::pin(async move {
            let response = match app.oneshot(request).await {
                Ok(response) => response,
                Err(never) => match never {},
            };
            let mut response = if timed_out.load(Ordering::Relaxed) {
                request_timeout(http2)
            } else {
                response
            };
            if !http2 && !ended.load(Ordering::Relaxed) {
                // Answered before the body was read (415, 401, 413…): hyper
                // closes such a connection once the response is out, unless
                // the rest of the body happens to be there already. Say so,
                // or a client may send its next request on a connection
                // that is closing and see it fail.
                response
                    .headers_mut()
                    .insert(header::CONNECTION, HeaderValue::from_static("close"));
            }
            Ok(response.map(|body| ResponseBody {
                body,
                guard: Some(guard),
            }))
        })
    }
}

/// `408 Request Timeout` as problem+json; HTTP/1 connections close after it
/// (the rest of the body would otherwise be read as the next request).
fn request_timeout(http2: bool) -> axum::response::Response {
    let problem = serde_json::json!({
        "type": "/problems/http-408",
        "title": "Request Timeout",
        "status": 408,
        "detail": "the request body stopped arriving",
    });
    let mut response = Response::new(axum::body::Body::from(problem.to_string()));
    *response.status_mut() = StatusCode::REQUEST_TIMEOUT;
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(crate::http::problem::PROBLEM_JSON),
    );
    if !http2 {
        headers.insert(header::CONNECTION, HeaderValue::from_static("close"));
    }
    response
}

/// A request in progress on its connection until dropped.
pub(super) struct RequestGuard(pub(super) Arc<Connection>);

impl Drop for RequestGuard {
    fn drop(&mut self) {
        self.0.request_finished();
    }
}
