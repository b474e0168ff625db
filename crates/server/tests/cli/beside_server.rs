//! The CLI on the database of a running server that is busy writing: every
//! `muster token create` succeeds (it waited for the server's write lock
//! instead of failing with "database is locked"), and none hangs.

use super::MUSTER;
use muster_test_support::{free_port, muster_command};
use std::io::{BufRead, BufReader};
use std::process::{Child, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

const RUNS: usize = 200;
/// Far beyond the busy timeout (5 s): only a hung process gets here.
const HANG: Duration = Duration::from_secs(30);

struct Server(Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// One `muster token create`; its token, or what it printed on failure.
fn token_create(dir: &std::path::Path, name: &str) -> Result<String, String> {
    let mut child = muster_command(MUSTER, dir)
        .args([
            "token",
            "create",
            "--email",
            "ada@example.com",
            "--name",
            name,
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| e.to_string())?;
    let started = Instant::now();
    loop {
        if child.try_wait().map_err(|e| e.to_string())?.is_some() {
            break;
        }
        if started.elapsed() > HANG {
            let _ = child.kill();
            let _ = child.wait();
            return Err(format!("hung for {HANG:?}"));
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    let output = child.wait_with_output().map_err(|e| e.to_string())?;
    if output.status.success() {
        Ok(String::from_utf8_lossy(&output.stdout).trim().to_owned())
    } else {
        Err(String::from_utf8_lossy(&output.stderr).into_owned())
    }
}

fn csv(batch: usize, rows: usize) -> String {
    let mut csv = String::from("email,first_name,last_name\n");
    for n in 0..rows {
        csv.push_str(&format!("b{batch}-{n:05}@example.com,P,{n}\n"));
    }
    csv
}

#[test]
fn token_create_succeeds_beside_a_server_busy_with_a_bulk_import() {
    let dir = tempfile::tempdir().expect("a directory");
    let token = muster_test_support::cli_owner_token(|| muster_command(MUSTER, dir.path()));
    let port = free_port();
    let mut child = muster_command(MUSTER, dir.path())
        .env("MUSTER_LISTEN", format!("127.0.0.1:{port}"))
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("muster serve starts");
    let mut first = String::new();
    BufReader::new(child.stdout.take().expect("stdout"))
        .read_line(&mut first)
        .expect("a line");
    let _server = Server(child);
    let base = format!("http://127.0.0.1:{port}");

    // Bulk imports one after another (their mails, too, are written) until
    // the CLI runs are done.
    let done = Arc::new(AtomicBool::new(false));
    let runtime = tokio::runtime::Runtime::new().expect("a runtime");
    let importer = {
        let (done, base, token) = (done.clone(), base.clone(), token.clone());
        runtime.spawn(async move {
            let http = reqwest::Client::new();
            let me: serde_json::Value = http
                .get(format!("{base}/api/v1/me"))
                .bearer_auth(&token)
                .send()
                .await
                .expect("me")
                .json()
                .await
                .expect("json");
            let org = me["memberships"][0]["org_id"]
                .as_str()
                .expect("an org")
                .to_owned();
            let mut imports = 0;
            while !done.load(Ordering::Relaxed) {
                let job: serde_json::Value = http
                    .post(format!("{base}/api/v1/orgs/{org}/invitations/bulk"))
                    .bearer_auth(&token)
                    .header("content-type", "text/csv")
                    .body(csv(imports, 2_000))
                    .send()
                    .await
                    .expect("upload")
                    .json()
                    .await
                    .expect("a job");
                imports += 1;
                let id = job["job_id"].as_str().expect("a job id").to_owned();
                loop {
                    let status: serde_json::Value = http
                        .get(format!("{base}/api/v1/orgs/{org}/jobs/{id}"))
                        .bearer_auth(&token)
                        .send()
                        .await
                        .expect("job")
                        .json()
                        .await
                        .expect("json");
                    if done.load(Ordering::Relaxed)
                        || matches!(status["status"].as_str(), Some("succeeded" | "failed"))
                    {
                        break;
                    }
                    tokio::time::sleep(Duration::from_millis(20)).await;
                }
            }
            imports
        })
    };

    let mut failures = Vec::new();
    let mut took = Vec::with_capacity(RUNS);
    for n in 0..RUNS {
        let started = Instant::now();
        match token_create(dir.path(), &format!("run {n}")) {
            Ok(token) if token.starts_with("mst_pat_") => {}
            Ok(other) => failures.push(format!("run {n}: printed {other:?}")),
            Err(error) => failures.push(format!("run {n}: {error}")),
        }
        took.push(started.elapsed());
    }
    done.store(true, Ordering::Relaxed);
    let imports = runtime.block_on(importer).expect("the importer");
    took.sort();
    eprintln!(
        "{RUNS} token create runs beside {imports} bulk imports of 2,000: median {:?}, slowest {:?}",
        took[RUNS / 2],
        took[RUNS - 1]
    );
    assert!(imports >= 1, "the runs happened during an import");
    assert!(
        failures.is_empty(),
        "{} of {RUNS} failed: {failures:#?}",
        failures.len()
    );
}
