//! Secrets at rest and in logs (SPEC §6: PATs, invite tokens and session ids
//! are never logged and stored only hashed). The real `muster` binary runs
//! with its worker and `MUSTER_LOG=debug`, its stdout and stderr captured, on
//! SQLite and (when there is one) on PostgreSQL, through a whole flow: the
//! first-run setup link, a sign-in through the web form, a personal access
//! token made on its page, an invitation whose mail goes out, a bulk
//! invitation, two acceptances that set passwords (the web form and the
//! API), two password reset links (one used on its page), an email change
//! confirmed by its link and an API sign-in. Then it looks for every clear secret of the flow
//! — the PAT, every invite token, every session id, the CSRF tokens of the
//! forms and of the sessions, the passwords, the setup token — in:
//!
//! - SQLite: every file of the data directory but the mail outbox, as raw
//!   bytes (`muster.db`, `-wal`, `-shm`), while the server runs and again
//!   after it stopped; and every column of every table, to name where;
//! - PostgreSQL: `row_to_json` of every row of every table of the schema;
//! - the server's output (but the setup link it prints by design).
//!
//! The test prints what it found where, then fails if it found anything.

use muster_test_support::{csrf_field, free_port, invite_link, muster_command, postgres, Html};
use serde_json::{json, Value};
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Child, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

const MUSTER: &str = env!("CARGO_BIN_EXE_muster");

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn secrets_stay_secret_on_sqlite() {
    run_flow_and_scan(None).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn secrets_stay_secret_on_postgres() {
    let Some(database_url) = postgres::fresh_database().await else {
        return;
    };
    run_flow_and_scan(Some(database_url.clone())).await;
    postgres::drop_database(&database_url);
}

/// Output of the server process, collected as it comes.
#[derive(Clone, Default)]
struct Output(Arc<Mutex<Vec<u8>>>);

impl Output {
    fn collect(&self, mut from: impl Read + Send + 'static) {
        let into = self.0.clone();
        std::thread::spawn(move || {
            let mut buffer = [0u8; 8192];
            while let Ok(n) = from.read(&mut buffer) {
                if n == 0 {
                    break;
                }
                into.lock()
                    .expect("the output")
                    .extend_from_slice(&buffer[..n]);
            }
        });
    }

    fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().expect("the output")).into_owned()
    }
}

/// `muster serve` on a data directory of its own.
struct Server {
    child: Child,
    base: String,
    dir: tempfile::TempDir,
    database_url: Option<String>,
    stdout: Output,
    stderr: Output,
}

impl Server {
    fn start(database_url: Option<String>) -> Server {
        let dir = tempfile::tempdir().expect("a data directory");
        let port = free_port();
        let base = format!("http://127.0.0.1:{port}");
        let mut command = muster_command(MUSTER, dir.path());
        command
            .env("MUSTER_LOG", "debug")
            .env("RUST_LOG", "debug")
            .env("MUSTER_LISTEN", format!("127.0.0.1:{port}"))
            .env("MUSTER_PUBLIC_URL", &base)
            .env("MUSTER_WORKER_POLL", "50ms")
            .arg("serve")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        if let Some(url) = &database_url {
            command.env("DATABASE_URL", url);
        }
        let mut child = command.spawn().expect("muster serve starts");
        let (stdout, stderr) = (Output::default(), Output::default());
        stdout.collect(child.stdout.take().expect("stdout"));
        stderr.collect(child.stderr.take().expect("stderr"));
        Server {
            child,
            base,
            dir,
            database_url,
            stdout,
            stderr,
        }
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    fn data_dir(&self) -> &Path {
        self.dir.path()
    }

    /// The one-time setup link the first start prints.
    async fn setup_link(&mut self) -> String {
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            if let Some(link) = self
                .stdout
                .text()
                .lines()
                .map(str::trim)
                .find(|line| line.starts_with(&format!("{}/setup/", self.base)))
            {
                return link.to_owned();
            }
            if let Ok(Some(status)) = self.child.try_wait() {
                panic!(
                    "muster serve ended ({status}):\n{}\n{}",
                    self.stdout.text(),
                    self.stderr.text()
                );
            }
            assert!(
                Instant::now() < deadline,
                "no setup link in a minute:\n{}",
                self.stdout.text()
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Stops the server as an operator does (SIGTERM: it finishes requests
    /// and jobs first).
    fn stop(&mut self) {
        let pid = self.child.id().to_string();
        let _ = std::process::Command::new("kill")
            .args(["-TERM", &pid])
            .status();
        let deadline = Instant::now() + Duration::from_secs(30);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                // The readers drain what is left.
                std::thread::sleep(Duration::from_millis(200));
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
        panic!("muster serve did not stop within 30 s of SIGTERM");
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// A client that keeps cookies and does not follow redirects, like a
/// browser whose redirects the test follows by hand.
/// The current code of an authenticator app with `secret` (base32).
fn totp_code(secret: &str) -> String {
    let bytes = totp_rs::Secret::try_from_base32(secret)
        .expect("a base32 secret")
        .as_ref()
        .to_vec();
    totp_rs::Builder::new()
        .with_secret(bytes)
        .build()
        .expect("a TOTP")
        .generate(
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .expect("after 1970")
                .as_secs(),
        )
        .to_string()
}

fn browser() -> reqwest::Client {
    reqwest::Client::builder()
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::none())
        .timeout(Duration::from_secs(30))
        .build()
        .expect("an HTTP client")
}

/// The value of the cookie `name` a response sets.
fn set_cookie(response: &reqwest::Response, name: &str) -> Option<String> {
    response
        .cookies()
        .find(|c| c.name() == name && !c.value().is_empty())
        .map(|c| c.value().to_owned())
}

fn location(response: &reqwest::Response) -> String {
    response
        .headers()
        .get("location")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned()
}

/// A password no other string of the flow contains.
fn password(who: &str) -> String {
    format!("{who}-pass-{:016x}", rand::random::<u64>())
}

/// The clear secrets of the flow, each with what it is.
#[derive(Default)]
struct Secrets(Vec<(String, String)>);

impl Secrets {
    fn add(&mut self, what: impl Into<String>, value: impl Into<String>) {
        let value = value.into();
        assert!(value.len() >= 10, "a secret worth looking for: {value:?}");
        self.0.push((what.into(), value));
    }
}

/// Invite tokens of the mails in the outbox, by recipient.
fn invite_tokens(data_dir: &Path) -> Vec<(String, String)> {
    let Ok(entries) = std::fs::read_dir(data_dir.join("outbox")) else {
        return Vec::new();
    };
    let mut found = Vec::new();
    for entry in entries.filter_map(Result::ok) {
        let path = entry.path();
        if path.extension().is_none_or(|x| x != "eml") {
            continue;
        }
        let Ok(message) = std::fs::read_to_string(&path) else {
            continue; // Being written; read again later.
        };
        let to = message
            .lines()
            .find_map(|l| l.strip_prefix("To: "))
            .unwrap_or_default()
            .trim()
            .to_owned();
        if let Some(link) = invite_link(&message) {
            let token = link.rsplit('/').next().unwrap_or_default().to_owned();
            found.push((to, token));
        }
    }
    found
}

/// Waits for `count` mails to `email` with a link whose path holds `marker`
/// (`/reset/`); the links' tokens, oldest first.
async fn link_tokens_for(data_dir: &Path, email: &str, marker: &str, count: usize) -> Vec<String> {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let mut found = Vec::new();
        if let Ok(entries) = std::fs::read_dir(data_dir.join("outbox")) {
            for path in entries.filter_map(Result::ok).map(|e| e.path()) {
                let Ok(message) = std::fs::read_to_string(&path) else {
                    continue; // Being written; read again later.
                };
                let to_them = message
                    .lines()
                    .any(|l| l.starts_with("To: ") && l.contains(email));
                let text = message.replace("=\r\n", "").replace("=\n", "");
                let link = text
                    .split_whitespace()
                    .find(|w| w.starts_with("http://") && w.contains(marker));
                if let (true, Some(link), Ok(modified)) = (
                    to_them,
                    link,
                    std::fs::metadata(&path).and_then(|m| m.modified()),
                ) {
                    let token = link.rsplit('/').next().unwrap_or_default().to_owned();
                    found.push((modified, token));
                }
            }
        }
        if found.len() >= count {
            found.sort();
            return found.into_iter().map(|(_, token)| token).collect();
        }
        assert!(
            Instant::now() < deadline,
            "{count} mails with {marker} links to {email} within 60 s"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Waits for the invite mail to `email` and returns its token.
async fn invite_token_for(data_dir: &Path, email: &str) -> String {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        if let Some((_, token)) = invite_tokens(data_dir)
            .into_iter()
            .find(|(to, _)| to.contains(email))
        {
            return token;
        }
        assert!(
            Instant::now() < deadline,
            "no invite mail to {email} in a minute"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// The database of the server, to wait for its jobs and to read every row.
enum Db {
    Sqlite(PathBuf),
    Postgres(String),
}

impl Db {
    fn of(server: &Server) -> Db {
        match &server.database_url {
            Some(url) => Db::Postgres(url.clone()),
            None => Db::Sqlite(server.data_dir().join("muster.db")),
        }
    }

    /// `(kind, status)` of every job.
    async fn jobs(&self) -> Vec<(String, String)> {
        use sqlx::Connection;
        let query = "SELECT kind, status FROM jobs";
        match self {
            Db::Sqlite(path) => {
                let mut conn = sqlite(path).await;
                let rows = sqlx::query_as(query)
                    .fetch_all(&mut conn)
                    .await
                    .expect("jobs");
                let _ = conn.close().await;
                rows
            }
            Db::Postgres(url) => {
                let mut conn = sqlx::PgConnection::connect(url).await.expect("PostgreSQL");
                let rows = sqlx::query_as(query)
                    .fetch_all(&mut conn)
                    .await
                    .expect("jobs");
                let _ = conn.close().await;
                rows
            }
        }
    }

    /// Waits until `mails` mails went out and every mail and bulk job
    /// finished.
    async fn wait_for_jobs(&self, mails: usize) {
        let deadline = Instant::now() + Duration::from_secs(90);
        loop {
            let jobs = self.jobs().await;
            let sent = jobs
                .iter()
                .filter(|(kind, status)| kind == "send_mail" && status == "succeeded")
                .count();
            let open = jobs.iter().any(|(kind, status)| {
                (kind == "send_mail" || kind == "bulk_invite") && status != "succeeded"
            });
            if sent >= mails && !open {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "the jobs did not finish in 90 s: {jobs:?}"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Every value of every column of every table, as `(table.column, text)`.
    async fn every_value(&self) -> Vec<(String, Vec<u8>)> {
        use sqlx::{Connection, Row};
        let mut values = Vec::new();
        match self {
            Db::Sqlite(path) => {
                let mut conn = sqlite(path).await;
                let tables: Vec<(String,)> = sqlx::query_as(
                    "SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name",
                )
                .fetch_all(&mut conn)
                .await
                .expect("the tables");
                for (table,) in tables {
                    let columns: Vec<String> =
                        sqlx::query(&format!("SELECT name FROM pragma_table_info('{table}')"))
                            .fetch_all(&mut conn)
                            .await
                            .expect("the columns")
                            .iter()
                            .map(|row| row.get::<String, _>(0))
                            .collect();
                    for column in columns {
                        let cells: Vec<(Option<Vec<u8>>,)> = sqlx::query_as(&format!(
                            "SELECT CAST(\"{column}\" AS BLOB) FROM \"{table}\""
                        ))
                        .fetch_all(&mut conn)
                        .await
                        .expect("the values");
                        for (cell,) in cells {
                            if let Some(bytes) = cell {
                                values.push((format!("{table}.{column}"), bytes));
                            }
                        }
                    }
                }
                let _ = conn.close().await;
            }
            Db::Postgres(url) => {
                let mut conn = sqlx::PgConnection::connect(url).await.expect("PostgreSQL");
                let tables: Vec<(String,)> = sqlx::query_as(
                    "SELECT table_name::text FROM information_schema.tables \
                     WHERE table_schema = 'public' AND table_type = 'BASE TABLE' ORDER BY 1",
                )
                .fetch_all(&mut conn)
                .await
                .expect("the tables");
                for (table,) in tables {
                    let rows: Vec<(String,)> =
                        sqlx::query_as(&format!("SELECT row_to_json(t)::text FROM \"{table}\" t"))
                            .fetch_all(&mut conn)
                            .await
                            .expect("the rows");
                    for (row,) in rows {
                        let Ok(Value::Object(fields)) = serde_json::from_str::<Value>(&row) else {
                            values.push((table.clone(), row.into_bytes()));
                            continue;
                        };
                        for (column, value) in fields {
                            let text = match value {
                                Value::String(text) => text,
                                other => other.to_string(),
                            };
                            values.push((format!("{table}.{column}"), text.into_bytes()));
                        }
                    }
                }
                let _ = conn.close().await;
            }
        }
        values
    }
}

/// A connection to the SQLite database at `path`: read-only while the
/// server runs; once it stopped and removed its WAL, read-only needs the
/// shared-memory file, so then a plain one.
async fn sqlite(path: &Path) -> sqlx::SqliteConnection {
    use sqlx::Connection;
    let url = format!("sqlite://{}", path.display());
    match sqlx::SqliteConnection::connect(&format!("{url}?mode=ro")).await {
        Ok(conn) => conn,
        Err(_) => sqlx::SqliteConnection::connect(&url).await.expect("SQLite"),
    }
}

/// Every file under `dir` but the outbox, as `(name, bytes)`.
fn data_files(dir: &Path) -> Vec<(String, Vec<u8>)> {
    let mut files = Vec::new();
    let mut pending = vec![dir.to_path_buf()];
    while let Some(at) = pending.pop() {
        for entry in std::fs::read_dir(&at)
            .into_iter()
            .flatten()
            .filter_map(Result::ok)
        {
            let path = entry.path();
            if path.is_dir() {
                if path.file_name().is_some_and(|n| n != "outbox") {
                    pending.push(path);
                }
            } else if let Ok(bytes) = std::fs::read(&path) {
                let name = path
                    .strip_prefix(dir)
                    .unwrap_or(&path)
                    .display()
                    .to_string();
                files.push((name, bytes));
            }
        }
    }
    files
}

fn contains(haystack: &[u8], needle: &str) -> bool {
    let needle = needle.as_bytes();
    !needle.is_empty() && haystack.windows(needle.len()).any(|w| w == needle)
}

/// Where each secret was found: `(what, where)`.
#[derive(Default)]
struct Findings(Vec<(String, String)>);

impl Findings {
    fn scan(&mut self, secrets: &Secrets, place: &str, bytes: &[u8]) {
        for (what, value) in &secrets.0 {
            if contains(bytes, value) {
                let found = (what.clone(), place.to_owned());
                if !self.0.contains(&found) {
                    self.0.push(found);
                }
            }
        }
    }
}

async fn scan_storage(server: &Server, secrets: &Secrets, when: &str, findings: &mut Findings) {
    for (name, bytes) in data_files(server.data_dir()) {
        findings.scan(secrets, &format!("file {name} ({when})"), &bytes);
    }
    for (column, bytes) in Db::of(server).every_value().await {
        findings.scan(secrets, &format!("column {column} ({when})"), &bytes);
    }
}

async fn run_flow_and_scan(database_url: Option<String>) {
    let backend = if database_url.is_some() {
        "PostgreSQL"
    } else {
        "SQLite"
    };
    let mut server = Server::start(database_url);
    let mut secrets = Secrets::default();
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(30))
        .build()
        .expect("an HTTP client");

    // First-run setup through the printed link.
    let setup_link = server.setup_link().await;
    let setup_token = setup_link.rsplit('/').next().expect("a token").to_owned();
    secrets.add("the setup token", &setup_token);
    let owner_password = password("owner");
    secrets.add("the owner's password", &owner_password);
    let setup = browser();
    let form = setup.get(&setup_link).send().await.expect("the setup page");
    assert_eq!(form.status(), 200);
    let setup_form_csrf = csrf_field(&form.text().await.expect("html"));
    secrets.add("the CSRF token of the setup form", &setup_form_csrf);
    let created = setup
        .post(&setup_link)
        .form(&[
            ("csrf_token", setup_form_csrf.as_str()),
            ("org_name", "Acme"),
            ("first_name", "Ada"),
            ("last_name", "Lovelace"),
            ("email", "ada@example.com"),
            ("password", &owner_password),
        ])
        .send()
        .await
        .expect("setup");
    assert_eq!(created.status(), 303, "the setup creates the organization");
    let setup_session = set_cookie(&created, "muster_session").expect("a session after setup");
    secrets.add("the session id after setup", setup_session);
    let org = location(&created)
        .strip_prefix("/orgs/")
        .and_then(|rest| rest.split('/').next())
        .expect("the organization in the redirect")
        .to_owned();
    let page = setup
        .get(server.url("/me/tokens/new"))
        .send()
        .await
        .expect("a page");
    secrets.add(
        "the CSRF token of the setup session",
        csrf_field(&page.text().await.expect("html")),
    );

    // Sign-in through the web form.
    let ada = browser();
    let signin = ada
        .get(server.url("/signin"))
        .send()
        .await
        .expect("the sign-in page");
    let form_cookie = set_cookie(&signin, "muster_form").expect("the form cookie");
    let signin_csrf = csrf_field(&signin.text().await.expect("html"));
    assert_eq!(signin_csrf, form_cookie, "a double-submit token");
    secrets.add("the CSRF token of the sign-in form", &signin_csrf);
    let signed_in = ada
        .post(server.url("/signin"))
        .form(&[
            ("csrf_token", signin_csrf.as_str()),
            ("email", "ada@example.com"),
            ("password", &owner_password),
            ("next", ""),
        ])
        .send()
        .await
        .expect("sign in");
    assert_eq!(signed_in.status(), 303, "Ada signs in through the form");
    let session = set_cookie(&signed_in, "muster_session").expect("a session cookie");
    secrets.add("the session id of the form sign-in", session);

    // A personal access token made on its page.
    let new_token = ada
        .get(server.url("/me/tokens/new"))
        .send()
        .await
        .expect("the page");
    let session_csrf = csrf_field(&new_token.text().await.expect("html"));
    secrets.add("the CSRF token of the form session", &session_csrf);
    let made = ada
        .post(server.url("/me/tokens"))
        .form(&[
            ("csrf_token", session_csrf.as_str()),
            ("name", "Secrets scan"),
        ])
        .send()
        .await
        .expect("make a token");
    assert_eq!(made.status(), 201, "the token is made");
    let pat = Html::parse(made.text().await.expect("html")).text_of("code#token-secret");
    assert!(pat.starts_with("mst_pat_"), "{pat}");
    secrets.add("the personal access token", &pat);

    // An invitation; its mail goes out.
    let invited = http
        .post(server.url(&format!("/api/v1/orgs/{org}/invitations")))
        .bearer_auth(&pat)
        .json(&json!({"email": "ivy@example.com", "first_name": "Ivy", "last_name": "Invitee"}))
        .send()
        .await
        .expect("invite");
    assert_eq!(
        invited.status(),
        201,
        "{}",
        invited.text().await.unwrap_or_default()
    );
    let ivy_token = invite_token_for(server.data_dir(), "ivy@example.com").await;
    secrets.add("the invite token of ivy@example.com", &ivy_token);
    let db = Db::of(&server);
    db.wait_for_jobs(1).await;

    // A bulk invitation of three.
    let bulk = http
        .post(server.url(&format!("/api/v1/orgs/{org}/invitations/bulk")))
        .bearer_auth(&pat)
        .header("content-type", "text/csv")
        .body("email,first_name,last_name\nbo@example.com,Bo,One\ncy@example.com,Cy,Two\ndi@example.com,Di,Three\n")
        .send()
        .await
        .expect("bulk invite");
    assert_eq!(
        bulk.status(),
        202,
        "{}",
        bulk.text().await.unwrap_or_default()
    );
    let mut bulk_tokens = Vec::new();
    for email in ["bo@example.com", "cy@example.com", "di@example.com"] {
        let token = invite_token_for(server.data_dir(), email).await;
        secrets.add(format!("the invite token of {email}"), &token);
        bulk_tokens.push(token);
    }
    db.wait_for_jobs(4).await;

    // Ivy accepts on the invite page, setting a password.
    let ivy = browser();
    let page = ivy
        .get(server.url(&format!("/invite/{ivy_token}")))
        .send()
        .await
        .expect("the invite page");
    assert_eq!(page.status(), 200);
    let invite_csrf = csrf_field(&page.text().await.expect("html"));
    secrets.add("the CSRF token of the invite form", &invite_csrf);
    let ivy_password = password("ivy");
    secrets.add("Ivy's password", &ivy_password);
    let accepted = ivy
        .post(server.url(&format!("/invite/{ivy_token}")))
        .form(&[
            ("csrf_token", invite_csrf.as_str()),
            ("first_name", "Ivy"),
            ("last_name", "Invitee"),
            ("password", &ivy_password),
        ])
        .send()
        .await
        .expect("accept");
    assert_eq!(accepted.status(), 303, "Ivy accepts");
    let ivy_session = set_cookie(&accepted, "muster_session").expect("Ivy's session");
    secrets.add("Ivy's session id", ivy_session);

    // Bo accepts through the API.
    let bo = browser();
    let bo_password = password("bo");
    secrets.add("Bo's password", &bo_password);
    let accepted = bo
        .post(server.url(&format!("/api/v1/invitations/{}/accept", bulk_tokens[0])))
        .json(&json!({"first_name": "Bo", "last_name": "One", "password": bo_password}))
        .send()
        .await
        .expect("accept");
    assert_eq!(accepted.status(), 200, "Bo accepts");
    let bo_session = set_cookie(&accepted, "muster_session").expect("Bo's session");
    secrets.add("Bo's session id", bo_session);
    let body: Value = accepted.json().await.expect("the acceptance");
    secrets.add(
        "the CSRF token of Bo's session",
        body["csrf_token"].as_str().expect("a CSRF token"),
    );

    // Ivy forgets her password: two reset links are mailed, she sets a new
    // password on the page behind the second, and the first stops working.
    for _ in 0..2 {
        let asked = http
            .post(server.url("/api/v1/auth/password-reset"))
            .json(&json!({"email": "ivy@example.com"}))
            .send()
            .await
            .expect("a reset");
        assert_eq!(asked.status(), 202);
    }
    let reset_tokens = link_tokens_for(server.data_dir(), "ivy@example.com", "/reset/", 2).await;
    for (n, token) in reset_tokens.iter().enumerate() {
        secrets.add(format!("reset token {} of ivy@example.com", n + 1), token);
    }
    let page = ivy
        .get(server.url(&format!("/reset/{}", reset_tokens[1])))
        .send()
        .await
        .expect("the reset page");
    assert_eq!(page.status(), 200);
    let reset_csrf = csrf_field(&page.text().await.expect("html"));
    let ivy_new_password = password("ivy, anew");
    secrets.add("Ivy's new password", &ivy_new_password);
    let reset = ivy
        .post(server.url(&format!("/reset/{}", reset_tokens[1])))
        .form(&[
            ("csrf_token", reset_csrf.as_str()),
            ("password", ivy_new_password.as_str()),
        ])
        .send()
        .await
        .expect("set a password");
    assert_eq!(reset.status(), 303, "the new password is set");

    // Ada signs in through the API too.
    let api = browser();
    let login = api
        .post(server.url("/api/v1/auth/login"))
        .json(&json!({"email": "ada@example.com", "password": owner_password}))
        .send()
        .await
        .expect("login");
    assert_eq!(login.status(), 200);
    let api_session = set_cookie(&login, "muster_session").expect("a session");
    secrets.add("the session id of the API sign-in", api_session);
    let body: Value = login.json().await.expect("the login");
    let api_csrf = body["csrf_token"]
        .as_str()
        .expect("a CSRF token")
        .to_owned();
    secrets.add("the CSRF token of the API session", &api_csrf);
    // Ada turns two-factor sign-in on, and signs in with a recovery code
    // and with a code of her app.
    let setup: Value = api
        .post(server.url("/api/v1/me/mfa/totp"))
        .header("x-csrf-token", &api_csrf)
        .send()
        .await
        .expect("a two-factor setup")
        .json()
        .await
        .expect("the setup");
    let totp_secret = setup["secret"].as_str().expect("a secret").to_owned();
    secrets.add("Ada's two-factor secret", &totp_secret);
    let confirmed: Value = api
        .post(server.url("/api/v1/me/mfa/totp/confirm"))
        .header("x-csrf-token", &api_csrf)
        .json(&json!({"code": totp_code(&totp_secret)}))
        .send()
        .await
        .expect("a two-factor confirmation")
        .json()
        .await
        .expect("the recovery codes");
    let recovery: Vec<String> = confirmed["recovery_codes"]
        .as_array()
        .expect("recovery codes")
        .iter()
        .map(|c| c.as_str().expect("a code").to_owned())
        .collect();
    assert_eq!(recovery.len(), 10, "{confirmed}");
    for (i, code) in recovery.iter().enumerate() {
        secrets.add(format!("Ada's recovery code {i}"), code);
        secrets.add(
            format!("Ada's recovery code {i}, as hashed"),
            code.replace('-', ""),
        );
    }
    let with_recovery = browser()
        .post(server.url("/api/v1/auth/login"))
        .json(&json!({"email": "ada@example.com", "password": owner_password, "code": recovery[0]}))
        .send()
        .await
        .expect("login with a recovery code");
    assert_eq!(with_recovery.status(), 200, "a recovery code signs in");
    // The token in use, after its first use was recorded.
    let me = http
        .get(server.url("/api/v1/me"))
        .bearer_auth(&pat)
        .send()
        .await
        .expect("me");
    assert_eq!(me.status(), 200);
    // Ada moves to another address: the link mailed there confirms it.
    let asked = http
        .post(server.url("/api/v1/me/email"))
        .bearer_auth(&pat)
        .json(&json!({"email": "ada.elsewhere@example.com", "password": owner_password}))
        .send()
        .await
        .expect("an email change");
    assert_eq!(asked.status(), 202);
    let email_token = link_tokens_for(
        server.data_dir(),
        "ada.elsewhere@example.com",
        "/email-confirm/",
        1,
    )
    .await
    .remove(0);
    secrets.add("the email confirmation token of Ada", &email_token);
    let confirmed = http
        .post(server.url(&format!("/api/v1/auth/email-confirm/{email_token}")))
        .send()
        .await
        .expect("a confirmation");
    assert_eq!(confirmed.status(), 200, "the new email is confirmed");
    // Four invitations, two reset links, the "password changed" notice, the
    // two-factor notices (on, a recovery code used), the confirmation link,
    // and the notices to Ada's old address before and after.
    db.wait_for_jobs(12).await;

    // The scan can see what it looks for: every invite token is in the mail
    // that carried it (the outbox, left out of the scan), and the server
    // logged at debug level.
    let mut outbox = Findings::default();
    for entry in std::fs::read_dir(server.data_dir().join("outbox"))
        .expect("the outbox")
        .flatten()
    {
        let mail = std::fs::read_to_string(entry.path()).expect("a mail");
        // Quoted-printable breaks a long link across lines ("=" at the end).
        let text = mail.replace("=\r\n", "").replace("=\n", "");
        outbox.scan(&secrets, "the outbox", text.as_bytes());
    }
    let invite_tokens = secrets.0.iter().filter(|(what, _)| {
        what.starts_with("the invite token")
            || what.starts_with("reset token")
            || what.starts_with("the email confirmation token")
    });
    for (what, _) in invite_tokens {
        assert!(
            outbox.0.iter().any(|(w, _)| w == what),
            "the scan does not find {what} even in its mail"
        );
    }
    assert!(
        server.stderr.text().contains("DEBUG"),
        "the server logged at debug level:\n{}",
        server.stderr.text()
    );

    let mut findings = Findings::default();
    scan_storage(&server, &secrets, "running", &mut findings).await;
    server.stop();
    scan_storage(&server, &secrets, "stopped", &mut findings).await;
    let stdout = server
        .stdout
        .text()
        .replace(&setup_link, "<the setup link, printed by design>");
    findings.scan(&secrets, "the server's stdout", stdout.as_bytes());
    findings.scan(
        &secrets,
        "the server's stderr",
        server.stderr.text().as_bytes(),
    );

    let log_lines = server.stderr.text().lines().count();
    eprintln!(
        "\n{backend}: looked for {} secrets in the data directory, every table and {log_lines} log lines",
        secrets.0.len()
    );
    for (what, value) in &secrets.0 {
        let places: Vec<&str> = findings
            .0
            .iter()
            .filter(|(w, _)| w == what)
            .map(|(_, place)| place.as_str())
            .collect();
        let shown: String = value.chars().take(12).collect();
        if places.is_empty() {
            eprintln!("  not found: {what} ({shown}…)");
        } else {
            eprintln!("  FOUND: {what} ({shown}…) in {}", places.join(", "));
        }
    }
    assert!(
        findings.0.is_empty(),
        "{backend}: clear secrets were found:\n{}",
        findings
            .0
            .iter()
            .map(|(what, place)| format!("  {what}: {place}"))
            .collect::<Vec<_>>()
            .join("\n")
    );
}
