//! A Muster server for the benchmark: its own process on a fresh database
//! (SQLite in a temporary directory, or a new PostgreSQL database dropped at
//! the end), with the first owner and a token made through the CLI.

use anyhow::{bail, Context, Result};
use serde_json::Value;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub struct Server {
    child: Child,
    pub base: String,
    pub token: String,
    pub org: String,
    pub dir: tempfile::TempDir,
    pub http: reqwest::Client,
    /// The PostgreSQL admin URL and database to drop at the end.
    postgres: Option<(String, String)>,
}

pub fn free_port() -> Result<u16> {
    Ok(std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port())
}

fn muster(
    bin: &Path,
    dir: &Path,
    database_url: &Option<String>,
    env: &[(&str, String)],
) -> Command {
    let mut command = Command::new(bin);
    command
        .env("MUSTER_DATA_DIR", dir)
        .env("MUSTER_LOG", "warn")
        .env("MUSTER_CONFIG", dir.join("none.toml"));
    if let Some(url) = database_url {
        command.env("DATABASE_URL", url);
    }
    for (key, value) in env {
        command.env(key, value);
    }
    command
}

async fn fresh_database(admin: &str) -> Result<(String, String)> {
    use sqlx::{Connection, Executor};
    let name = format!("muster_bench_{}_{}", std::process::id(), free_port()?);
    let mut conn = sqlx::PgConnection::connect(admin)
        .await
        .context("connect to PostgreSQL")?;
    conn.execute(format!("CREATE DATABASE {name}").as_str())
        .await?;
    let base = admin.rsplit_once('/').map_or(admin, |(b, _)| b);
    Ok((format!("{base}/{name}"), name))
}

impl Server {
    /// Starts `bin` with `env` on a fresh database and signs in its owner.
    pub async fn start(
        bin: &Path,
        postgres: Option<&str>,
        env: &[(&str, String)],
    ) -> Result<Server> {
        let dir = tempfile::tempdir()?;
        let (database_url, dropped) = match postgres {
            Some(admin) => {
                let (url, name) = fresh_database(admin).await?;
                (Some(url), Some((admin.to_owned(), name)))
            }
            None => (None, None),
        };
        let mut create = muster(bin, dir.path(), &database_url, env)
            .args([
                "admin",
                "create-owner",
                "--org",
                "Bench",
                "--email",
                "owner@bench.test",
            ])
            .args([
                "--first-name",
                "Bench",
                "--last-name",
                "Owner",
                "--password-stdin",
            ])
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .spawn()?;
        {
            use std::io::Write;
            create
                .stdin
                .take()
                .context("stdin")?
                .write_all(b"benchmark password\n")?;
        }
        if !create.wait()?.success() {
            bail!("create-owner failed");
        }
        let token = muster(bin, dir.path(), &database_url, env)
            .args([
                "token",
                "create",
                "--email",
                "owner@bench.test",
                "--name",
                "bench",
            ])
            .output()?;
        let token = String::from_utf8(token.stdout)?.trim().to_owned();
        let port = free_port()?;
        let child = muster(bin, dir.path(), &database_url, env)
            .env("MUSTER_LISTEN", format!("127.0.0.1:{port}"))
            .stdout(Stdio::null())
            .spawn()?;
        let mut server = Server {
            child,
            base: format!("http://127.0.0.1:{port}"),
            token,
            org: String::new(),
            dir,
            http: reqwest::Client::builder()
                .pool_max_idle_per_host(4)
                .build()?,
            postgres: dropped,
        };
        wait_ready(&server.http, &format!("{}/readyz", server.base)).await?;
        let me = server.get("/api/v1/me").await?;
        server.org = me["default_org_id"]
            .as_str()
            .context("an organization")?
            .to_owned();
        Ok(server)
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    pub async fn get(&self, path: &str) -> Result<Value> {
        let url = format!("{}{path}", self.base);
        let response = self.http.get(&url).bearer_auth(&self.token).send().await?;
        let status = response.status();
        let body: Value = response.json().await?;
        if !status.is_success() {
            bail!("{url}: {status} {body}");
        }
        Ok(body)
    }

    /// Uploads a bulk invite; the job's id.
    pub async fn bulk(&self, content_type: &str, body: String) -> Result<String> {
        let url = format!("{}/api/v1/orgs/{}/invitations/bulk", self.base, self.org);
        let accepted: Value = self
            .http
            .post(url)
            .bearer_auth(&self.token)
            .header("content-type", content_type)
            .body(body)
            .send()
            .await?
            .json()
            .await?;
        Ok(accepted["job_id"]
            .as_str()
            .with_context(|| format!("no job: {accepted}"))?
            .to_owned())
    }

    pub async fn job_status(&self, job: &str) -> Result<Value> {
        self.get(&format!("/api/v1/orgs/{}/jobs/{job}", self.org))
            .await
    }

    /// Waits for the job to succeed (with no skipped rows), polling every `every`.
    pub async fn wait_done(&self, job: &str, every: Duration) -> Result<()> {
        let started = Instant::now();
        loop {
            let state = self.job_status(job).await?;
            match state["status"].as_str() {
                Some("succeeded") => {
                    let errors = state["errors"].as_array().map_or(0, Vec::len);
                    if errors > 0 {
                        bail!("{errors} rows failed: {}", state["errors"][0]);
                    }
                    return Ok(());
                }
                Some("failed") => bail!("the bulk job failed: {state}"),
                _ => {}
            }
            if started.elapsed() > Duration::from_secs(1800) {
                bail!("the job did not finish in 30 minutes");
            }
            tokio::time::sleep(every).await;
        }
    }

    /// Mails written to the file outbox so far.
    pub fn outbox_count(&self) -> usize {
        std::fs::read_dir(self.dir.path().join("outbox")).map_or(0, |entries| {
            entries
                .filter_map(Result::ok)
                .filter(|e| e.file_name().to_string_lossy().ends_with(".eml"))
                .count()
        })
    }

    /// A field of /proc/<pid>/status in KiB (VmRSS, VmHWM).
    pub fn memory_kib(&self, field: &str) -> u64 {
        let status =
            std::fs::read_to_string(format!("/proc/{}/status", self.pid())).unwrap_or_default();
        status
            .lines()
            .find(|l| l.starts_with(field))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|v| v.parse().ok())
            .unwrap_or(0)
    }

    pub async fn stop(mut self) -> Result<()> {
        let _ = self.child.kill();
        let _ = self.child.wait();
        if let Some((admin, name)) = self.postgres.take() {
            use sqlx::{Connection, Executor};
            let mut conn = sqlx::PgConnection::connect(&admin).await?;
            conn.execute(format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)").as_str())
                .await?;
        }
        Ok(())
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub async fn wait_ready(http: &reqwest::Client, url: &str) -> Result<()> {
    let ready = Instant::now();
    while http
        .get(url)
        .send()
        .await
        .map(|r| !r.status().is_success())
        .unwrap_or(true)
    {
        if ready.elapsed() > Duration::from_secs(30) {
            bail!("{url} did not become ready");
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    Ok(())
}
