//! What the fault tests share: `muster serve` as a child process with its log
//! in a file, the owner set up through the CLI, requests recorded with how
//! they ended, and readers of the outbox and of a SQLite database.

use muster_test_support::{free_port, muster_command, required, skipped, PASSWORD};
use serde_json::Value;
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

pub const MUSTER: &str = env!("CARGO_BIN_EXE_muster");

/// The fault tests run one at a time: each starts processes, stops a database
/// or fills a disk, and on a small machine together they would starve each
/// other (and the hang detectors) of CPU.
pub static SERIAL: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// The CSV header of bulk uploads.
pub const CSV_HEADER: &str = "email,first_name,last_name\n";

/// Prints `SKIPPED (faults: reason)`, or panics when `MUSTER_TEST_REQUIRE`
/// names `faults`.
pub fn cannot_run(reason: &str) {
    if required("faults") {
        panic!("the fault tests are required (MUSTER_TEST_REQUIRE=faults) but {reason}");
    }
    skipped("faults", reason);
}

/// Whether this process runs as root (from /proc, without libc).
pub fn is_root() -> bool {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|status| {
            status
                .lines()
                .find_map(|l| l.strip_prefix("Uid:"))
                .and_then(|uids| uids.split_whitespace().nth(1).map(|e| e == "0"))
        })
        .unwrap_or(false)
}

/// The `muster` binary with its data directory, on `database_url` when given
/// (else SQLite in the data directory).
pub fn muster(data_dir: &Path, database_url: Option<&str>) -> Command {
    let mut command = muster_command(MUSTER, data_dir);
    if let Some(url) = database_url {
        command.env("DATABASE_URL", url);
    }
    command
}

/// Migrates, creates Ada (owner of Acme) with the CLI and returns a personal
/// access token of hers.
pub fn owner_token(data_dir: &Path, database_url: Option<&str>) -> String {
    muster_test_support::cli_owner_token(|| muster(data_dir, database_url))
}

static STARTS: AtomicUsize = AtomicUsize::new(0);

/// `muster serve` as a child process; killed when dropped.
pub struct Server {
    child: Option<Child>,
    pub base: String,
    pub addr: String,
    log: PathBuf,
}

impl Server {
    /// Starts `muster serve` on a free port with `data_dir`, its standard
    /// error (warnings and worse) in a file under `log_dir`.
    pub fn start(
        data_dir: &Path,
        database_url: Option<&str>,
        log_dir: &Path,
        env: &[(&str, &str)],
    ) -> Server {
        let port = free_port();
        let addr = format!("127.0.0.1:{port}");
        let log = log_dir.join(format!(
            "muster-{}.log",
            STARTS.fetch_add(1, Ordering::Relaxed)
        ));
        let stderr = std::fs::File::create(&log).expect("a log file");
        let mut command = muster(data_dir, database_url);
        command
            .env("MUSTER_LISTEN", &addr)
            .env("MUSTER_WORKER_POLL", "100ms")
            .stdout(Stdio::null())
            .stderr(stderr)
            .arg("serve");
        for (name, value) in env {
            command.env(name, value);
        }
        let child = command.spawn().expect("muster serve starts");
        Server {
            child: Some(child),
            base: format!("http://{addr}"),
            addr,
            log,
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    pub fn pid(&self) -> u32 {
        self.child.as_ref().expect("a running server").id()
    }

    /// Waits until `/readyz` answers 200 (at most a minute, a hang detector).
    pub async fn ready(&mut self, http: &reqwest::Client) {
        let deadline = Instant::now() + Duration::from_secs(60);
        while Instant::now() < deadline {
            if let Some(status) = self.exited() {
                panic!("muster serve exited ({status}) at start:\n{}", self.log());
            }
            if let Ok(response) = http.get(self.url("/readyz")).send().await {
                if response.status() == 200 {
                    return;
                }
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("{} did not become ready:\n{}", self.base, self.log());
    }

    /// The exit status, if the process has ended.
    pub fn exited(&mut self) -> Option<ExitStatus> {
        self.child
            .as_mut()
            .and_then(|child| child.try_wait().ok().flatten())
    }

    /// Sends a signal with the `kill` command (no libc here).
    pub fn signal(&self, signal: &str) {
        let status = Command::new("kill")
            .args(["-s", signal, &self.pid().to_string()])
            .status()
            .expect("kill runs");
        assert!(status.success(), "kill -s {signal}");
    }

    /// SIGKILL, and waits for the process to be gone.
    pub fn kill9(&mut self) {
        if let Some(mut child) = self.child.take() {
            child.kill().expect("SIGKILL");
            child.wait().expect("the killed process is reaped");
        }
    }

    /// Waits for the process to exit by itself, at most `timeout`.
    pub async fn wait_exit(&mut self, timeout: Duration) -> Option<ExitStatus> {
        let deadline = Instant::now() + timeout;
        while Instant::now() < deadline {
            if let Some(status) = self.exited() {
                self.child = None;
                return Some(status);
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        None
    }

    /// What the process wrote to standard error so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// Lines of a server log that say it panicked.
pub fn panics(log: &str) -> Vec<String> {
    log.lines()
        .filter(|l| l.contains("panicked"))
        .map(str::to_owned)
        .collect()
}

/// A client for the API; the timeout is only a hang detector.
pub fn http() -> reqwest::Client {
    reqwest::Client::builder()
        .timeout(Duration::from_secs(120))
        .build()
        .expect("an HTTP client")
}

/// A client that keeps cookies and does not follow redirects, like a browser
/// whose redirects the test looks at.
pub fn browser() -> reqwest::Client {
    reqwest::Client::builder()
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::none())
        .timeout(Duration::from_secs(120))
        .build()
        .expect("an HTTP client")
}

/// Signs `client` in through the sign-in form as Ada.
pub async fn sign_in(client: &reqwest::Client, base: &str) {
    let page = client
        .get(format!("{base}/signin"))
        .send()
        .await
        .expect("the sign-in page")
        .text()
        .await
        .expect("html");
    let csrf = muster_test_support::csrf_field(&page);
    let response = client
        .post(format!("{base}/signin"))
        .form(&[
            ("csrf_token", csrf.as_str()),
            ("email", "ada@example.com"),
            ("password", PASSWORD),
            ("next", ""),
        ])
        .send()
        .await
        .expect("sign in");
    assert_eq!(response.status(), 303, "Ada signs in through the form");
}

/// Ada's organization.
pub async fn org_id(http: &reqwest::Client, base: &str, token: &str) -> String {
    let me: Value = http
        .get(format!("{base}/api/v1/me"))
        .bearer_auth(token)
        .send()
        .await
        .expect("GET /api/v1/me")
        .json()
        .await
        .expect("json");
    me["default_org_id"]
        .as_str()
        .expect("a default organization")
        .to_owned()
}

/// How a request ended, as a client sees it.
#[derive(Debug, Clone)]
pub struct Sent {
    pub what: String,
    pub started: Instant,
    pub elapsed: Duration,
    pub result: Result<Answer, String>,
}

#[derive(Debug, Clone)]
pub struct Answer {
    pub status: u16,
    pub content_type: String,
    pub retry_after: Option<String>,
    pub body: String,
}

impl Sent {
    pub fn status(&self) -> Option<u16> {
        self.result.as_ref().ok().map(|a| a.status)
    }
}

/// An error with its causes ("error sending request: … connection reset").
pub fn error_chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

/// Sends `request` and reads the whole answer.
pub async fn send(what: impl Into<String>, request: reqwest::RequestBuilder) -> Sent {
    let started = Instant::now();
    let result = async {
        let response = request.send().await.map_err(|e| error_chain(&e))?;
        let header = |name: reqwest::header::HeaderName| {
            response
                .headers()
                .get(name)
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned)
        };
        let status = response.status().as_u16();
        let content_type = header(reqwest::header::CONTENT_TYPE).unwrap_or_default();
        let retry_after = header(reqwest::header::RETRY_AFTER);
        let body = response.text().await.map_err(|e| {
            format!(
                "status {status}, then the body was cut off: {}",
                error_chain(&e)
            )
        })?;
        Ok(Answer {
            status,
            content_type,
            retry_after,
            body,
        })
    }
    .await;
    Sent {
        what: what.into(),
        started,
        elapsed: started.elapsed(),
        result,
    }
}

/// A CSV of `rows` people whose addresses start with `prefix`.
pub fn csv(prefix: &str, rows: usize) -> (String, Vec<String>) {
    let mut csv = String::from(CSV_HEADER);
    let mut emails = Vec::with_capacity(rows);
    for n in 0..rows {
        let email = format!("{prefix}{n:05}@example.com");
        csv.push_str(&format!("{email},P,{n}\n"));
        emails.push(email);
    }
    (csv, emails)
}

/// Uploads a bulk invite; the job's id.
pub async fn upload(
    http: &reqwest::Client,
    base: &str,
    token: &str,
    org: &str,
    body: String,
) -> String {
    let response = http
        .post(format!("{base}/api/v1/orgs/{org}/invitations/bulk"))
        .bearer_auth(token)
        .header("content-type", "text/csv")
        .body(body)
        .send()
        .await
        .expect("the upload is answered");
    let status = response.status();
    let body: Value = response.json().await.expect("json");
    assert_eq!(status, 202, "the upload is accepted: {body}");
    body["job_id"].as_str().expect("a job id").to_owned()
}

/// A job's progress (`GET …/jobs/{id}`), or `None` when the server does not
/// answer.
pub async fn job(
    http: &reqwest::Client,
    base: &str,
    token: &str,
    org: &str,
    id: &str,
) -> Option<Value> {
    let response = http
        .get(format!("{base}/api/v1/orgs/{org}/jobs/{id}"))
        .bearer_auth(token)
        .send()
        .await
        .ok()?;
    if response.status() != 200 {
        return None;
    }
    response.json().await.ok()
}

/// The recipient of each `.eml` file in `outbox` (the `To:` address,
/// lower-cased), by file name. A file that is not a whole message fails the
/// test: the server renames each message into place whole.
pub fn outbox(outbox: &Path) -> HashMap<String, String> {
    let Ok(entries) = std::fs::read_dir(outbox) else {
        return HashMap::new();
    };
    entries
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "eml"))
        .filter_map(|path| {
            // A message may be renamed away between listing and reading only
            // if it is replaced by the same one; read it once more.
            let text = std::fs::read_to_string(&path)
                .or_else(|_| std::fs::read_to_string(&path))
                .ok()?;
            let to = recipient(&text)
                .unwrap_or_else(|| panic!("{} has no To: header:\n{text}", path.display()));
            assert!(
                text.contains("/invite/") || text.replace("=\r\n", "").contains("/invite/"),
                "{} is a whole invite mail:\n{text}",
                path.display()
            );
            let name = path.file_name()?.to_string_lossy().into_owned();
            Some((name, to))
        })
        .collect()
}

/// The address in a message's `To:` header.
fn recipient(message: &str) -> Option<String> {
    let line = message
        .lines()
        .find(|l| l.to_ascii_lowercase().starts_with("to:"))?;
    let value = &line[3..];
    let address = match value.rsplit_once('<') {
        Some((_, rest)) => rest.split('>').next().unwrap_or_default(),
        None => value,
    };
    Some(address.trim().to_lowercase())
}

/// Recipients that appear in more than one file, with their count.
pub fn twice(mails: &HashMap<String, String>) -> Vec<(String, usize)> {
    let mut counts: HashMap<&str, usize> = HashMap::new();
    for to in mails.values() {
        *counts.entry(to.as_str()).or_default() += 1;
    }
    let mut more: Vec<(String, usize)> = counts
        .into_iter()
        .filter(|(_, n)| *n > 1)
        .map(|(to, n)| (to.to_owned(), n))
        .collect();
    more.sort();
    more
}

/// Polls `done` every 100 ms until it is true or `timeout` passes (a hang
/// detector); whether it became true.
pub async fn eventually<F, Fut>(timeout: Duration, mut done: F) -> bool
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = Instant::now() + timeout;
    loop {
        if done().await {
            return true;
        }
        if Instant::now() >= deadline {
            return false;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// A connection to a SQLite database file, for reading what the server left.
pub async fn sqlite(path: &Path) -> sqlx::SqliteConnection {
    use sqlx::Connection;
    let options = sqlx::sqlite::SqliteConnectOptions::new()
        .filename(path)
        .busy_timeout(Duration::from_secs(10));
    sqlx::SqliteConnection::connect_with(&options)
        .await
        .unwrap_or_else(|e| panic!("open {}: {e}", path.display()))
}

/// How many jobs there are of each (kind, status) in a SQLite database.
pub async fn job_counts(conn: &mut sqlx::SqliteConnection) -> HashMap<(String, String), i64> {
    let rows: Vec<(String, String, i64)> =
        sqlx::query_as("SELECT kind, status, COUNT(*) FROM jobs GROUP BY kind, status")
            .fetch_all(conn)
            .await
            .expect("the jobs table");
    rows.into_iter()
        .map(|(kind, status, n)| ((kind, status), n))
        .collect()
}

/// Jobs of a status, summed over kinds.
pub fn with_status(counts: &HashMap<(String, String), i64>, status: &str) -> i64 {
    counts
        .iter()
        .filter(|((_, s), _)| s == status)
        .map(|(_, n)| n)
        .sum()
}
