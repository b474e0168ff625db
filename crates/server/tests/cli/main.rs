//! The `muster` binary itself: settings errors, migrate, create-owner, token
//! create, and `serve` with its setup link and graceful shutdown.

mod beside_server;
mod client;

use muster_test_support::{free_port, muster_command};
use std::io::{BufRead, BufReader, Write};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const MUSTER: &str = env!("CARGO_BIN_EXE_muster");

#[test]
fn a_wrong_setting_fails_with_one_line_naming_it() {
    let dir = tempfile::tempdir().expect("a directory");
    let output = muster_command(MUSTER, dir.path())
        .env("MUSTER_LISTEN", "everywhere")
        .arg("migrate")
        .output()
        .expect("muster runs");
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(stderr.contains("MUSTER_LISTEN"), "{stderr}");

    let output = muster_command(MUSTER, dir.path())
        .env("DATABASE_URL", "mysql://x")
        .arg("migrate")
        .output()
        .expect("muster runs");
    assert_eq!(output.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&output.stderr).contains("DATABASE_URL"));
}

#[test]
fn create_owner_then_a_token_that_authenticates() {
    let dir = tempfile::tempdir().expect("a directory");
    let migrate = muster_command(MUSTER, dir.path())
        .arg("migrate")
        .output()
        .expect("muster runs");
    assert!(
        migrate.status.success(),
        "{}",
        String::from_utf8_lossy(&migrate.stderr)
    );
    assert!(dir.path().join("muster.db").exists());

    let mut create = muster_command(MUSTER, dir.path())
        .args([
            "admin",
            "create-owner",
            "--org",
            "Acme",
            "--email",
            "ada@example.com",
        ])
        .args([
            "--first-name",
            "Ada",
            "--last-name",
            "Lovelace",
            "--password-stdin",
        ])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("muster runs");
    create
        .stdin
        .take()
        .expect("stdin")
        .write_all(b"a long enough password\n")
        .expect("write the password");
    let created = create.wait_with_output().expect("muster ends");
    assert!(
        created.status.success(),
        "{}",
        String::from_utf8_lossy(&created.stderr)
    );
    assert!(String::from_utf8_lossy(&created.stdout).contains("Acme"));

    let token = muster_command(MUSTER, dir.path())
        .args([
            "token",
            "create",
            "--email",
            "ada@example.com",
            "--name",
            "ci",
        ])
        .output()
        .expect("muster runs");
    assert!(
        token.status.success(),
        "{}",
        String::from_utf8_lossy(&token.stderr)
    );
    let token = String::from_utf8(token.stdout).expect("utf-8");
    let token = token.trim();
    assert!(
        token.starts_with("mst_pat_") && token.len() == 54,
        "only the token is printed: {token:?}"
    );

    let unknown = muster_command(MUSTER, dir.path())
        .args([
            "token",
            "create",
            "--email",
            "nobody@example.com",
            "--name",
            "ci",
        ])
        .output()
        .expect("muster runs");
    assert_eq!(unknown.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&unknown.stderr).contains("no user has the email"));

    // The server started by the binary accepts the token; no setup link once an
    // organization exists; SIGTERM stops it cleanly.
    let port = free_port();
    let mut server = muster_command(MUSTER, dir.path())
        .env("MUSTER_LISTEN", format!("127.0.0.1:{port}"))
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("muster serve starts");
    let mut stdout = BufReader::new(server.stdout.take().expect("stdout"));
    let mut first = String::new();
    stdout.read_line(&mut first).expect("a line");
    assert!(first.contains(&format!("127.0.0.1:{port}")), "{first}");
    let runtime = tokio::runtime::Runtime::new().expect("a runtime");
    let body: serde_json::Value = runtime.block_on(async {
        reqwest::Client::new()
            .get(format!("http://127.0.0.1:{port}/api/v1/me"))
            .bearer_auth(token)
            .send()
            .await
            .expect("a response")
            .json()
            .await
            .expect("json")
    });
    assert_eq!(body["email"], "ada@example.com");
    let status = Command::new("kill")
        .args(["-TERM", &server.id().to_string()])
        .status()
        .expect("kill");
    assert!(status.success());
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        if let Some(status) = server.try_wait().expect("wait") {
            assert!(status.success(), "a clean exit after SIGTERM: {status}");
            break;
        }
        assert!(
            Instant::now() < deadline,
            "muster did not stop after SIGTERM"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    let mut rest = String::new();
    std::io::Read::read_to_string(&mut stdout, &mut rest).expect("the rest of stdout");
    assert!(
        !rest.contains("/setup/"),
        "no setup link once an organization exists: {rest}"
    );
}

#[test]
fn the_first_start_prints_a_setup_link() {
    let dir = tempfile::tempdir().expect("a directory");
    let port = free_port();
    let mut server = muster_command(MUSTER, dir.path())
        .env("MUSTER_LISTEN", format!("127.0.0.1:{port}"))
        .env("MUSTER_PUBLIC_URL", "https://muster.example.com/")
        .arg("serve")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("muster serve starts");
    let stdout = BufReader::new(server.stdout.take().expect("stdout"));
    let link = stdout
        .lines()
        .map_while(Result::ok)
        .find(|line| line.contains("/setup/"))
        .expect("a setup link");
    assert!(
        link.trim().starts_with("https://muster.example.com/setup/"),
        "{link}"
    );
    let _ = server.kill();
    let _ = server.wait();
    let db = dir.path().join("muster.db");
    assert!(db.exists());
    let journal = Command::new("sqlite3")
        .arg(&db)
        .arg("PRAGMA journal_mode")
        .output();
    if let Ok(output) = journal {
        if output.status.success() {
            assert_eq!(String::from_utf8_lossy(&output.stdout).trim(), "wal");
        }
    }
}
