//! What clients can hold of the server (`muster_server::http::serve`): request
//! heads and bodies that stop arriving, idle keep-alive connections, more
//! connections than the cap, and a graceful shutdown with a request in
//! flight. Every wait has a generous bound that only detects a hang; the
//! times measured are printed (`--nocapture`), never asserted.

use axum::body::{Body, Bytes};
use axum::routing::{get, post};
use axum::Router;
use futures_util::StreamExt;
use muster_server::http::serve::{serve, Limits};
use muster_test_support::{Db, TestApp};
use std::future::Future;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{oneshot, Semaphore};
use tokio::task::JoinHandle;
use tokio::time::Instant;

/// The size of `GET /big`: more than the socket buffers hold.
const BIG: usize = 16 * 1024 * 1024;

/// Bound of anything that should happen: past it, the test has hung.
const HANG: Duration = Duration::from_secs(60);

async fn within<T>(what: &str, future: impl Future<Output = T>) -> T {
    tokio::time::timeout(HANG, future)
        .await
        .unwrap_or_else(|_| panic!("{what}: nothing after {HANG:?}"))
}

fn secs(seconds: f64) -> Duration {
    Duration::from_secs_f64(seconds)
}

/// A server started with [`serve`], stopped through `stop`.
struct Server {
    addr: SocketAddr,
    stop: Option<oneshot::Sender<()>>,
    task: JoinHandle<std::io::Result<()>>,
}

impl Server {
    async fn start(app: Router, limits: Limits) -> Server {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("a port");
        let addr = listener.local_addr().expect("its address");
        let (stop, stopped) = oneshot::channel::<()>();
        let task = tokio::spawn(serve(listener, app, limits, async move {
            let _ = stopped.await;
        }));
        Server {
            addr,
            stop: Some(stop),
            task,
        }
    }

    /// Signals shutdown and waits for `serve` to return.
    async fn shutdown(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        within("serve returns after shutdown", &mut self.task)
            .await
            .expect("the server task")
            .expect("serve ends cleanly");
    }
}

/// What the small app's handlers let a test observe and control.
struct Probe {
    /// Requests that reached `/hang` or `/slow`.
    entered: AtomicUsize,
    /// Permits to finish a `/hang` request.
    release: Semaphore,
}

impl Default for Probe {
    fn default() -> Self {
        Probe {
            entered: AtomicUsize::new(0),
            release: Semaphore::new(0),
        }
    }
}

/// A small app: health, an echo of the body's length, a request that hangs
/// until released, a slow one and a long streamed response.
fn small_app(probe: Arc<Probe>) -> Router {
    let hang = probe.clone();
    let slow = probe;
    Router::new()
        .route("/healthz", get(|| async { "ok" }))
        .route(
            "/echo",
            post(|body: Bytes| async move { body.len().to_string() }),
        )
        .route("/big", get(|| async { vec![b'x'; BIG] }))
        .route(
            "/refuse",
            post(|| async { (axum::http::StatusCode::UNSUPPORTED_MEDIA_TYPE, "refused") }),
        )
        .route(
            "/hang",
            get(move || async move {
                hang.entered.fetch_add(1, Ordering::SeqCst);
                if let Ok(permit) = hang.release.acquire().await {
                    permit.forget();
                }
                "released"
            }),
        )
        .route(
            "/slow",
            get(move || async move {
                slow.entered.fetch_add(1, Ordering::SeqCst);
                tokio::time::sleep(secs(1.5)).await;
                "done"
            }),
        )
        .route(
            "/stream",
            get(|| async {
                // 10 chunks, 400 ms apart: longer than every timeout of the tests.
                let chunks = futures_util::stream::iter(0..10).then(|i| async move {
                    tokio::time::sleep(secs(0.4)).await;
                    Ok::<_, std::convert::Infallible>(format!("chunk {i}\n"))
                });
                Body::from_stream(chunks)
            }),
        )
}

/// A raw HTTP/1.1 connection.
struct Conn {
    stream: BufReader<TcpStream>,
}

struct Answer {
    status: u16,
    head: String,
    body: String,
}

impl Conn {
    async fn open(addr: SocketAddr) -> Conn {
        Conn {
            stream: BufReader::new(TcpStream::connect(addr).await.expect("connect")),
        }
    }

    async fn send(&mut self, bytes: &[u8]) {
        self.stream
            .get_mut()
            .write_all(bytes)
            .await
            .expect("the server reads");
    }

    async fn get(&mut self, path: &str) -> Answer {
        self.send(format!("GET {path} HTTP/1.1\r\nHost: x\r\n\r\n").as_bytes())
            .await;
        self.answer().await
    }

    /// Reads one response (Content-Length or chunked).
    async fn answer(&mut self) -> Answer {
        let mut head = String::new();
        loop {
            let mut line = String::new();
            let n = within("a response line", self.stream.read_line(&mut line))
                .await
                .expect("read a response");
            assert!(
                n > 0,
                "the connection closed before a full response: {head}"
            );
            if line == "\r\n" {
                break;
            }
            head.push_str(&line);
        }
        let status = head
            .split_whitespace()
            .nth(1)
            .and_then(|s| s.parse().ok())
            .unwrap_or_else(|| panic!("a status line: {head}"));
        let lower = head.to_ascii_lowercase();
        let length = lower
            .lines()
            .find_map(|line| line.strip_prefix("content-length:"))
            .map(|v| v.trim().parse::<usize>().expect("a length"));
        let mut body = Vec::new();
        if let Some(length) = length {
            body.resize(length, 0);
            within("a response body", self.stream.read_exact(&mut body))
                .await
                .expect("the body");
        } else if lower.contains("transfer-encoding: chunked") {
            loop {
                let mut size = String::new();
                within("a chunk size", self.stream.read_line(&mut size))
                    .await
                    .expect("a chunk");
                let size = usize::from_str_radix(size.trim(), 16).expect("a hex size");
                let mut chunk = vec![0; size + 2];
                within("a chunk", self.stream.read_exact(&mut chunk))
                    .await
                    .expect("a chunk");
                if size == 0 {
                    break;
                }
                body.extend_from_slice(&chunk[..size]);
            }
        }
        Answer {
            status,
            head,
            body: String::from_utf8_lossy(&body).into_owned(),
        }
    }

    /// Reads until the server closes; the bytes received before.
    async fn until_closed(mut self) -> Vec<u8> {
        let mut received = Vec::new();
        let mut buf = [0u8; 1024];
        loop {
            match self.stream.read(&mut buf).await {
                Ok(0) | Err(_) => return received,
                Ok(n) => received.extend_from_slice(&buf[..n]),
            }
        }
    }

    /// Whether the connection is still open after `wait` (nothing read).
    async fn still_open_after(&mut self, wait: Duration) -> bool {
        let mut buf = [0u8; 1];
        tokio::time::timeout(wait, self.stream.read(&mut buf))
            .await
            .is_err()
    }
}

/// `GET /healthz` on a fresh connection: its status.
async fn health(addr: SocketAddr) -> u16 {
    within("a health check", async {
        let mut conn = Conn::open(addr).await;
        conn.send(b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            .await;
        let answer = conn.answer().await;
        assert_eq!(answer.body, "ok");
        answer.status
    })
    .await
}

/// The soft open-file limit of this process (1024 where unknown).
fn open_file_limit() -> usize {
    std::fs::read_to_string("/proc/self/limits")
        .ok()
        .and_then(|limits| {
            let line = limits
                .lines()
                .find_map(|line| line.strip_prefix("Max open files"))?
                .to_owned();
            line.split_whitespace().next()?.parse().ok()
        })
        .unwrap_or(1024)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Stall {
    /// Connects and sends nothing.
    Nothing,
    /// Sends a request line and one header, never the blank line.
    PartialHead,
    /// Sends a complete head with Content-Length: 100, then 10 bytes.
    ShortBody,
}

/// (1) Thousands of connections that stop mid-request: health answers on a
/// fresh connection while they are open, and the server closes every one of
/// them (the short bodies after a 408), on the real app.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stalled_connections_are_closed_and_health_answers_meanwhile() {
    // The app as `muster serve` runs it, with its limits from the settings.
    let Some(app) = TestApp::start_custom(Db::Sqlite, false, |s| {
        s.header_timeout = secs(2.0);
        s.body_timeout = secs(2.0);
        s.idle_timeout = secs(2.0);
    })
    .await
    else {
        return;
    };
    // Two descriptors a connection (both ends are in this process), with room
    // for the other tests of this binary.
    let limit = open_file_limit();
    let total = (limit.saturating_sub(800) / 2).min(3000) / 3 * 3;
    assert!(
        total >= 30,
        "too few file descriptors ({limit}) for this test"
    );
    let addr: std::net::SocketAddr = app
        .base
        .trim_start_matches("http://")
        .parse()
        .expect("the app's address");

    let closed = Arc::new(AtomicUsize::new(0));
    let started = Instant::now();
    let kinds = [Stall::Nothing, Stall::PartialHead, Stall::ShortBody];
    let mut watchers = Vec::with_capacity(total);
    let mut health_checks = Vec::new();
    let batches: Vec<Vec<Stall>> = (0..total)
        .map(|i| kinds[i % 3])
        .collect::<Vec<_>>()
        .chunks(250)
        .map(<[Stall]>::to_vec)
        .collect();
    for batch in batches {
        let opened: Vec<(Stall, Conn, Instant)> = futures_util::stream::iter(batch)
            .map(|kind| async move {
                let mut conn = Conn::open(addr).await;
                match kind {
                    Stall::Nothing => {}
                    Stall::PartialHead => {
                        conn.send(b"GET /api/v1/me HTTP/1.1\r\nHost: x\r\n").await
                    }
                    Stall::ShortBody => {
                        conn.send(
                            b"POST /api/v1/auth/login HTTP/1.1\r\nHost: x\r\n\
                              Content-Type: application/json\r\nContent-Length: 100\r\n\r\n\
                              {\"email\":\"",
                        )
                        .await
                    }
                }
                (kind, conn, Instant::now())
            })
            .buffer_unordered(64)
            .collect()
            .await;
        for (kind, conn, opened_at) in opened {
            let closed = closed.clone();
            watchers.push(tokio::spawn(async move {
                let received = within(
                    "the server closes a stalled connection",
                    conn.until_closed(),
                )
                .await;
                closed.fetch_add(1, Ordering::SeqCst);
                (kind, received, opened_at.elapsed())
            }));
        }
        // While they are held: health on a fresh connection.
        let open = watchers.len() - closed.load(Ordering::SeqCst);
        assert_eq!(
            health(addr).await,
            200,
            "health with {open} stalled connections open"
        );
        health_checks.push(open);
    }
    let opened_in = started.elapsed();
    for _ in 0..5 {
        let open = watchers.len() - closed.load(Ordering::SeqCst);
        assert_eq!(
            health(addr).await,
            200,
            "health with {open} stalled connections open"
        );
        health_checks.push(open);
    }

    let mut longest = Duration::ZERO;
    let mut shortest = HANG;
    let mut timeouts_408 = 0;
    for watcher in watchers {
        let (kind, received, held) = watcher.await.expect("a watcher");
        longest = longest.max(held);
        shortest = shortest.min(held);
        let text = String::from_utf8_lossy(&received);
        match kind {
            Stall::ShortBody => {
                assert!(
                    text.starts_with("HTTP/1.1 408"),
                    "a short body is answered 408: {text:?}"
                );
                assert!(text.contains("application/problem+json"), "{text}");
                timeouts_408 += 1;
            }
            Stall::Nothing | Stall::PartialHead => {
                assert!(received.is_empty(), "{kind:?} got an answer: {text:?}")
            }
        }
    }
    let all_closed = started.elapsed();
    assert_eq!(health(addr).await, 200);
    println!(
        "{total} stalled connections ({} of each kind; open-file limit {limit}) opened in {opened_in:?}; \
         health answered 200 with {health_checks:?} of them open; each held {shortest:?}..{longest:?} \
         (timeouts 2 s); all closed {all_closed:?} after the first opened; {timeouts_408} got 408",
        total / 3
    );
    app.shutdown().await;
}

/// A request body that stops arriving: 408 on the same connection, then the
/// connection closes; a body that keeps arriving slowly is read whole.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stalled_body_gets_408_and_a_slow_one_succeeds() {
    let server = Server::start(
        small_app(Arc::default()),
        Limits::new(secs(1.0), secs(1.0), secs(1.0), 100),
    )
    .await;

    let mut slow = Conn::open(server.addr).await;
    slow.send(b"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n")
        .await;
    let started = Instant::now();
    for _ in 0..10 {
        tokio::time::sleep(secs(0.4)).await;
        slow.send(&[b'x'; 10]).await;
    }
    let answer = slow.answer().await;
    assert_eq!((answer.status, answer.body.as_str()), (200, "100"));
    println!(
        "a 100-byte body sent over {:?} (10 bytes every 400 ms, body timeout 1 s): 200",
        started.elapsed()
    );
    assert_eq!(slow.get("/healthz").await.status, 200, "still kept alive");

    let mut stalled = Conn::open(server.addr).await;
    stalled
        .send(b"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n0123456789")
        .await;
    let started = Instant::now();
    let answer = stalled.answer().await;
    assert_eq!(answer.status, 408, "{}", answer.head);
    assert!(
        answer
            .head
            .to_ascii_lowercase()
            .contains("connection: close"),
        "{}",
        answer.head
    );
    assert!(answer.body.contains("stopped arriving"), "{}", answer.body);
    within(
        "the connection closes after the 408",
        stalled.until_closed(),
    )
    .await;
    println!(
        "a body stalled at 10 of 100 bytes: 408 and closed after {:?}",
        started.elapsed()
    );
    server.shutdown().await;
}

/// (2) An idle keep-alive connection is closed after the idle timeout (not
/// the shorter header timeout), while an active one keeps working; a
/// kept-alive connection that starts a request head and stalls is closed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn idle_connections_are_closed_and_active_ones_kept() {
    let server = Server::start(
        small_app(Arc::default()),
        Limits::new(secs(1.0), secs(5.0), secs(4.0), 100),
    )
    .await;
    let addr = server.addr;

    let active = tokio::spawn(async move {
        let mut conn = Conn::open(addr).await;
        let started = Instant::now();
        let mut requests = 0;
        while started.elapsed() < secs(8.0) {
            assert_eq!(conn.get("/healthz").await.status, 200, "request {requests}");
            requests += 1;
            tokio::time::sleep(secs(0.5)).await;
        }
        requests
    });

    let mut idle = Conn::open(addr).await;
    assert_eq!(idle.get("/healthz").await.status, 200);
    // Idle for twice the header timeout and half the idle timeout: still open.
    tokio::time::sleep(secs(2.0)).await;
    assert_eq!(
        idle.get("/healthz").await.status,
        200,
        "a connection idle past the header timeout but within the idle timeout serves"
    );
    let idle_since = Instant::now();
    let received = within("the idle connection is closed", idle.until_closed()).await;
    assert!(received.is_empty());
    let idle_closed_after = idle_since.elapsed();

    let mut stalling = Conn::open(addr).await;
    assert_eq!(stalling.get("/healthz").await.status, 200);
    tokio::time::sleep(secs(0.5)).await;
    stalling.send(b"GET /healthz HTTP/1.1\r\nHost: x\r\n").await;
    let stalled_at = Instant::now();
    within(
        "a stalled second request head is closed",
        stalling.until_closed(),
    )
    .await;
    let stalled_closed_after = stalled_at.elapsed();

    let requests = within("the active connection", active)
        .await
        .expect("its task");
    println!(
        "idle keep-alive closed {idle_closed_after:?} after its last response (idle 4 s, header 1 s); \
         a second head stalled after 500 ms idle closed after {stalled_closed_after:?}; \
         the active connection made {requests} requests over 8 s"
    );
    server.shutdown().await;
}

/// (3) Past the cap: a new connection closes the one waiting for a request
/// the longest, so health answers; when every connection has a request in
/// progress, a new one waits until one ends.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn at_the_cap_the_oldest_waiting_connection_makes_room() {
    const CAP: usize = 20;
    let probe = Arc::new(Probe::default());
    let server = Server::start(
        small_app(probe.clone()),
        Limits::new(secs(60.0), secs(60.0), secs(60.0), CAP),
    )
    .await;
    let addr = server.addr;

    // Twice the cap of connections that never finish a request head, one
    // after the other (accepted in this order).
    let mut waiting = Vec::new();
    for i in 0..2 * CAP {
        let mut conn = Conn::open(addr).await;
        if i % 2 == 1 {
            conn.send(b"GET /healthz HTTP/1.1\r\n").await;
        }
        waiting.push(conn);
    }
    let started = Instant::now();
    for _ in 0..5 {
        assert_eq!(health(addr).await, 200, "health past the cap");
    }
    let health_took = started.elapsed();
    // The CAP later waiting connections and the first health check each
    // closed the oldest; the next health checks may find the slot of the
    // previous one free (at most CAP + 5 closed in all).
    let mut newest = waiting.split_off(CAP + 5);
    let middle = waiting.split_off(CAP + 1);
    for conn in waiting {
        let received = within("an old waiting connection is closed", conn.until_closed()).await;
        assert!(received.is_empty());
    }
    let mut middle_closed = 0;
    for mut conn in middle {
        if !conn.still_open_after(secs(0.1)).await {
            middle_closed += 1;
        }
    }
    for conn in &mut newest {
        assert!(
            conn.still_open_after(secs(0.1)).await,
            "a newer waiting connection stays"
        );
    }
    let closed = CAP + 1 + middle_closed;
    let still_open = newest.len();
    drop(newest);

    // Now every connection busy: CAP requests in progress.
    let mut busy = Vec::new();
    for _ in 0..CAP {
        let mut conn = Conn::open(addr).await;
        conn.send(b"GET /hang HTTP/1.1\r\nHost: x\r\n\r\n").await;
        busy.push(conn);
    }
    within("all requests in progress", async {
        while probe.entered.load(Ordering::SeqCst) < CAP {
            tokio::time::sleep(secs(0.02)).await;
        }
    })
    .await;
    let waiting_health = tokio::spawn(health(addr));
    tokio::time::sleep(secs(0.5)).await;
    assert!(
        !waiting_health.is_finished(),
        "with every connection busy, a new one waits"
    );
    let released_at = Instant::now();
    probe.release.add_permits(1);
    let status = within("health once a request ended", waiting_health)
        .await
        .expect("the health task");
    assert_eq!(status, 200);
    let health_after_release = released_at.elapsed();
    println!(
        "cap {CAP}: {} waiting connections, 5 health checks answered 200 in {health_took:?}, \
         the {closed} oldest closed, the {still_open} newest still open; with {CAP} requests in \
         progress health waited, and answered {health_after_release:?} after one request ended",
        2 * CAP
    );
    probe.release.add_permits(CAP);
    for mut conn in busy {
        assert_eq!(conn.answer().await.status, 200);
    }
    server.shutdown().await;
}

/// (4) A keep-alive client making sequential requests, with pauses shorter
/// than the idle timeout, and a streamed response longer than every timeout.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn keep_alive_clients_and_long_responses_are_unaffected() {
    let server = Server::start(
        small_app(Arc::default()),
        Limits::new(secs(1.0), secs(1.0), secs(1.0), 100),
    )
    .await;

    let mut conn = Conn::open(server.addr).await;
    let started = Instant::now();
    for i in 0..15 {
        let answer = conn.get("/healthz").await;
        assert_eq!(
            (answer.status, answer.body.as_str()),
            (200, "ok"),
            "request {i}"
        );
        tokio::time::sleep(secs(0.3)).await;
    }
    conn.send(b"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello")
        .await;
    assert_eq!(conn.answer().await.body, "5");
    println!(
        "16 sequential requests on one connection over {:?} (timeouts 1 s)",
        started.elapsed()
    );

    let started = Instant::now();
    let answer = conn.get("/stream").await;
    assert_eq!(answer.status, 200);
    assert_eq!(answer.body.lines().count(), 10, "{}", answer.body);
    println!("a streamed response of {:?} came whole", started.elapsed());

    // The body of /big is produced at once; sending it waits on the client,
    // who reads nothing for longer than every timeout.
    conn.send(b"GET /big HTTP/1.1\r\nHost: x\r\n\r\n").await;
    tokio::time::sleep(secs(3.0)).await;
    let answer = conn.answer().await;
    assert_eq!((answer.status, answer.body.len()), (200, BIG));
    assert_eq!(conn.get("/healthz").await.status, 200, "still kept alive");
    println!("a {BIG}-byte response read after a 3 s pause came whole");

    let client = reqwest::Client::new();
    let base = format!("http://{}", server.addr);
    for _ in 0..20 {
        let response = client
            .get(format!("{base}/healthz"))
            .send()
            .await
            .expect("a request");
        assert_eq!(response.status(), 200);
        tokio::time::sleep(secs(0.1)).await;
    }
    server.shutdown().await;
}

/// (5) Graceful shutdown: the request in flight finishes, connections with no
/// request in progress are closed at once, and no new one is accepted.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutdown_lets_a_request_in_flight_finish() {
    let probe = Arc::new(Probe::default());
    let server = Server::start(
        small_app(probe.clone()),
        Limits::new(secs(60.0), secs(60.0), secs(60.0), 100),
    )
    .await;
    let addr = server.addr;

    let mut idle = Conn::open(addr).await;
    assert_eq!(idle.get("/healthz").await.status, 200);
    let silent = Conn::open(addr).await;
    let mut slow = Conn::open(addr).await;
    slow.send(b"GET /slow HTTP/1.1\r\nHost: x\r\n\r\n").await;
    within("the slow request starts", async {
        while probe.entered.load(Ordering::SeqCst) < 1 {
            tokio::time::sleep(secs(0.01)).await;
        }
    })
    .await;

    let started = Instant::now();
    let shutdown = tokio::spawn(server.shutdown());
    let idle_closed = tokio::spawn(async move {
        within("the idle connection closes", idle.until_closed()).await;
        Instant::now()
    });
    let silent_closed = tokio::spawn(async move {
        within("the silent connection closes", silent.until_closed()).await;
        Instant::now()
    });
    let answer = slow.answer().await;
    assert_eq!((answer.status, answer.body.as_str()), (200, "done"));
    assert!(
        answer
            .head
            .to_ascii_lowercase()
            .contains("connection: close"),
        "{}",
        answer.head
    );
    let answered = started.elapsed();
    within("serve returns", shutdown).await.expect("shutdown");
    let returned = started.elapsed();
    let idle_closed = idle_closed.await.expect("idle") - started;
    let silent_closed = silent_closed.await.expect("silent") - started;
    let refused = TcpStream::connect(addr).await.is_err();
    assert!(refused, "no connection is accepted after shutdown");
    println!(
        "shutdown with a 1.5 s request in flight: idle connection closed after {idle_closed:?}, \
         silent one after {silent_closed:?}, the request answered after {answered:?}, serve \
         returned after {returned:?}"
    );
}

/// (6) An answer sent before the request body was read (a 415, a 401) says
/// `Connection: close`, since the server will not read on; a client that
/// keeps the connection would see its next request fail. Read bodies keep
/// the connection alive.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_answer_before_the_body_is_read_closes_the_connection() {
    let server = Server::start(
        small_app(Arc::default()),
        Limits::new(secs(5.0), secs(5.0), secs(5.0), 100),
    )
    .await;

    let mut conn = Conn::open(server.addr).await;
    conn.send(b"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello")
        .await;
    let answer = conn.answer().await;
    assert_eq!(answer.body, "5");
    assert!(
        !answer
            .head
            .to_ascii_lowercase()
            .contains("connection: close"),
        "a read body keeps the connection: {}",
        answer.head
    );

    // The head alone: the app answers without waiting for the body.
    let mut conn = Conn::open(server.addr).await;
    conn.send(b"POST /refuse HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\n")
        .await;
    let answer = conn.answer().await;
    assert_eq!(answer.status, 415);
    assert!(
        answer
            .head
            .to_ascii_lowercase()
            .contains("connection: close"),
        "the client is told the connection ends: {}",
        answer.head
    );
    within("the server closes it", conn.until_closed()).await;

    // What a client with a pool sees: every request answered.
    let client = reqwest::Client::new();
    let base = format!("http://{}", server.addr);
    for i in 0..200 {
        let refused = client
            .post(format!("{base}/refuse"))
            .body(vec![b'x'; 64 * 1024])
            .send()
            .await
            .unwrap_or_else(|e| panic!("request {i}: {e}"));
        assert_eq!(refused.status(), 415);
        let health = client
            .get(format!("{base}/healthz"))
            .send()
            .await
            .unwrap_or_else(|e| panic!("the request after {i}: {e}"));
        assert_eq!(health.status(), 200);
    }
    server.shutdown().await;
}
