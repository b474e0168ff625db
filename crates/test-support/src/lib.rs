//! `TestApp`: the real Muster server on port 0 with a fresh database (SQLite
//! file or a new PostgreSQL database), a hand-moved clock, and helpers to set up
//! people and organizations. `Browser`: headless Chromium over WebDriver.
//! [`ui`]: the web UI through plain HTTP forms, with pages as [`Html`] to query
//! with CSS selectors. [`muster_command`]: the `muster` binary with a clean
//! environment.
//!
//! Services a machine may lack are skipped with a visible `SKIPPED (reason)`
//! line, unless `MUSTER_TEST_REQUIRE` (e.g. `postgres,browser`) says they are
//! mandatory, as CI does.

mod bin;
mod browser;
mod html;
mod mail;
pub mod postgres;
mod push;
mod push_protocol;
mod smtp;
pub mod ui;

pub use bin::{cli_owner_token, free_port, muster_bare, muster_command};
pub use browser::Browser;
pub use html::Html;
pub use mail::{invite_link, link_in, outbox};
pub use push::{PushReceived, PushService, PushSubscription};
pub use smtp::SmtpSink;
pub use ui::csrf_field;

use muster_domain::{Email, ManualClock, MembershipStatus, OrgId, OrgRole, UserId};
use muster_server::features::auth::password;
use muster_server::features::tokens::service as pat;
use muster_server::jobs::worker::Worker;
use muster_server::startup::{self, Running};
use muster_server::{AppState, Settings};
use muster_store::{memberships, orgs, users, Store};
use std::io::Write;
use std::path::PathBuf;
use std::sync::Arc;
use time::OffsetDateTime;

pub const PASSWORD: &str = "correct horse battery staple";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Db {
    Sqlite,
    Postgres,
}

/// Prints a line that the test harness does not capture, so skips are seen.
pub fn skipped(what: &str, reason: &str) {
    let _ = writeln!(std::io::stderr(), "SKIPPED ({what}: {reason})");
}

/// Whether `MUSTER_TEST_REQUIRE` makes `what` mandatory.
pub fn required(what: &str) -> bool {
    std::env::var("MUSTER_TEST_REQUIRE")
        .map(|list| list.split(',').any(|item| item.trim() == what))
        .unwrap_or(false)
}

pub struct TestApp {
    pub base: String,
    pub clock: ManualClock,
    pub state: AppState,
    pub data_dir: PathBuf,
    pub db: Db,
    database_url: String,
    /// Shared by every [`Api`] of this app (one connection pool).
    http: reqwest::Client,
    running: Option<Running>,
    _dir: tempfile::TempDir,
}

impl TestApp {
    /// Starts the app on `db`, or returns `None` (after printing why) when that
    /// database is not available and not required.
    pub async fn start(db: Db) -> Option<TestApp> {
        Self::start_with(db, false).await
    }

    /// Like [`TestApp::start`], with the background worker running.
    pub async fn start_with_worker(db: Db) -> Option<TestApp> {
        Self::start_with(db, true).await
    }

    async fn start_with(db: Db, with_worker: bool) -> Option<TestApp> {
        Self::start_custom(db, with_worker, |_| {}).await
    }

    /// Starts the app with settings changed by `tweak` (e.g. an SMTP URL).
    pub async fn start_custom(
        db: Db,
        with_worker: bool,
        tweak: impl FnOnce(&mut Settings),
    ) -> Option<TestApp> {
        let dir = tempfile::tempdir().expect("a temporary directory");
        let database_url = match db {
            Db::Sqlite => format!("sqlite://{}", dir.path().join("muster.db").display()),
            Db::Postgres => postgres::fresh_database().await?,
        };
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("a free port");
        let addr = listener.local_addr().expect("the bound address");
        let mut settings = Settings {
            listen: addr,
            data_dir: dir.path().to_path_buf(),
            public_url: Some(format!("http://{addr}")),
            database_url: Some(database_url.clone()),
            worker_poll: std::time::Duration::from_millis(50),
            db_max_connections: 4,
            // The tests' push service runs on 127.0.0.1.
            push_allow_loopback: true,
            ..Settings::default()
        };
        tweak(&mut settings);
        let store = startup::open_store(&settings)
            .await
            .expect("the database opens and migrates");
        // Whole milliseconds, the resolution of stored times.
        let now = OffsetDateTime::now_utc();
        let clock = ManualClock::new(
            now.replace_nanosecond(now.millisecond() as u32 * 1_000_000)
                .unwrap_or(now),
        );
        let running = startup::start(
            settings,
            store,
            Arc::new(clock.clone()),
            listener,
            with_worker,
        )
        .await
        .expect("the server starts");
        Some(TestApp {
            base: format!("http://{addr}"),
            clock,
            state: running.state.clone(),
            data_dir: dir.path().to_path_buf(),
            db,
            database_url,
            http: reqwest::Client::new(),
            running: Some(running),
            _dir: dir,
        })
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.base, path)
    }

    pub fn store(&self) -> &Store {
        &self.state.store
    }

    /// An API client that acts with the personal access token `token`.
    pub fn api(&self, token: &str) -> Api {
        Api {
            http: self.http.clone(),
            base: self.base.clone(),
            token: token.to_owned(),
        }
    }

    /// A client that keeps cookies, like a browser.
    pub fn client(&self) -> reqwest::Client {
        reqwest::Client::builder()
            .cookie_store(true)
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .expect("an HTTP client")
    }

    /// A user with `PASSWORD` and no memberships.
    pub async fn create_user(&self, email: &str) -> UserId {
        let email = Email::parse(email).expect("a valid test email");
        let hash = password::hash(PASSWORD.to_owned())
            .await
            .expect("hashing works");
        let mut tx = self.store().begin().await.expect("a transaction");
        let id = users::insert(
            &mut tx,
            users::NewUser {
                email: &email,
                first_name: "Test",
                last_name: email.as_str().split('@').next().unwrap_or("user"),
                password_hash: Some(hash.as_str()),
                language: "en",
            },
            self.clock_now(),
        )
        .await
        .expect("the user is created");
        tx.commit().await.expect("commit");
        id
    }

    /// An organization whose owner is a new user with `owner_email`.
    pub async fn create_org(&self, name: &str, owner_email: &str) -> (OrgId, UserId) {
        let owner = self.create_user(owner_email).await;
        let mut tx = self.store().begin().await.expect("a transaction");
        let org = orgs::create_with_owner(&mut tx, name, "", "en", owner, self.clock_now())
            .await
            .expect("the organization is created");
        muster_server::features::invitations::service::add_default_template(
            &mut tx,
            org,
            self.clock_now(),
        )
        .await
        .expect("the default invite template");
        tx.commit().await.expect("commit");
        (org, owner)
    }

    /// Adds an existing user to an organization.
    pub async fn add_member(
        &self,
        org_id: OrgId,
        user_id: UserId,
        role: OrgRole,
        status: MembershipStatus,
    ) {
        let now = self.clock_now();
        let mut tx = self.store().begin().await.expect("a transaction");
        memberships::insert(
            &mut tx,
            &memberships::Membership {
                org_id,
                user_id,
                role,
                status,
                invited_by: None,
                invited_at: Some(now),
                joined_at: (status != MembershipStatus::Invited).then_some(now),
            },
            now,
        )
        .await
        .expect("the membership is created");
        tx.commit().await.expect("commit");
    }

    /// A new user who is a member of `org_id` with `role`.
    pub async fn member(&self, org_id: OrgId, email: &str, role: OrgRole) -> UserId {
        let user = self.create_user(email).await;
        self.add_member(org_id, user, role, MembershipStatus::Active)
            .await;
        user
    }

    /// A personal access token for `user_id`.
    pub async fn token(&self, user_id: UserId) -> String {
        let mut tx = self.store().begin().await.expect("a transaction");
        let (secret, _) = pat::issue(&mut tx, &self.state, user_id, "test")
            .await
            .expect("a token");
        tx.commit().await.expect("commit");
        secret.expose().to_owned()
    }

    /// Signs `client` in through the API; returns the session's CSRF token.
    pub async fn login(&self, client: &reqwest::Client, email: &str) -> String {
        let response = client
            .post(self.url("/api/v1/auth/login"))
            .json(&serde_json::json!({"email": email, "password": PASSWORD}))
            .send()
            .await
            .expect("login request");
        assert_eq!(response.status(), 200, "login of {email}");
        let body: serde_json::Value = response.json().await.expect("login body");
        body["csrf_token"]
            .as_str()
            .expect("a csrf token")
            .to_owned()
    }

    /// A client signed in through the sign-in form, as a browser without
    /// JavaScript would be.
    pub async fn form_session(&self, email: &str) -> reqwest::Client {
        let client = self.client();
        let page = client
            .get(self.url("/signin"))
            .send()
            .await
            .expect("the sign-in page");
        let csrf = csrf_field(&page.text().await.expect("html"));
        let response = client
            .post(self.url("/signin"))
            .form(&[
                ("csrf_token", csrf.as_str()),
                ("email", email),
                ("password", PASSWORD),
                ("next", ""),
            ])
            .send()
            .await
            .expect("sign in");
        assert_eq!(response.status(), 303, "{email} signs in through the form");
        client
    }

    pub fn clock_now(&self) -> OffsetDateTime {
        use muster_domain::Clock;
        self.clock.now()
    }

    /// The worker of this app, to run due jobs on demand.
    pub fn worker(&self) -> Worker {
        startup::worker(self.state.clone()).expect("the mail transport")
    }

    /// Stops the server gracefully.
    pub async fn shutdown(mut self) {
        if let Some(running) = self.running.take() {
            running.shutdown().await.expect("a clean shutdown");
        }
    }
}

impl Drop for TestApp {
    fn drop(&mut self) {
        if self.db == Db::Postgres {
            postgres::drop_database(&self.database_url);
        }
    }
}

/// Declares `async fn $name(app: TestApp)` tests that run once on SQLite and
/// once on PostgreSQL.
#[macro_export]
macro_rules! db_tests {
    ($($name:ident),+ $(,)?) => {
        $(
            mod $name {
                #[tokio::test]
                async fn sqlite() {
                    if let Some(app) = $crate::TestApp::start($crate::Db::Sqlite).await {
                        super::$name(app).await;
                    }
                }

                #[tokio::test]
                async fn postgres() {
                    if let Some(app) = $crate::TestApp::start($crate::Db::Postgres).await {
                        super::$name(app).await;
                    }
                }
            }
        )+
    };
}

/// Calls the API of a [`TestApp`] with one token; `path` starts at `/api/v1`.
#[derive(Clone)]
pub struct Api {
    http: reqwest::Client,
    base: String,
    token: String,
}

impl Api {
    pub async fn call(
        &self,
        method: reqwest::Method,
        path: impl Into<String>,
        body: Option<serde_json::Value>,
    ) -> reqwest::Response {
        let path = path.into();
        let mut request = self
            .http
            .request(method.clone(), format!("{}{path}", self.base))
            .bearer_auth(&self.token);
        if let Some(body) = body {
            request = request.json(&body);
        }
        request
            .send()
            .await
            .unwrap_or_else(|e| panic!("{method} {path}: {e}"))
    }

    pub async fn get(&self, path: impl Into<String>) -> reqwest::Response {
        self.call(reqwest::Method::GET, path, None).await
    }

    pub async fn post(
        &self,
        path: impl Into<String>,
        body: serde_json::Value,
    ) -> reqwest::Response {
        self.call(reqwest::Method::POST, path, Some(body)).await
    }

    pub async fn patch(
        &self,
        path: impl Into<String>,
        body: serde_json::Value,
    ) -> reqwest::Response {
        self.call(reqwest::Method::PATCH, path, Some(body)).await
    }

    pub async fn put(&self, path: impl Into<String>, body: serde_json::Value) -> reqwest::Response {
        self.call(reqwest::Method::PUT, path, Some(body)).await
    }

    /// A POST without a body (the lifecycle actions).
    pub async fn post_empty(&self, path: impl Into<String>) -> reqwest::Response {
        self.call(reqwest::Method::POST, path, None).await
    }

    pub async fn delete(&self, path: impl Into<String>) -> reqwest::Response {
        self.call(reqwest::Method::DELETE, path, None).await
    }
}
