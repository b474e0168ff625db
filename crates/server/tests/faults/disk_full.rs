//! SQLite on a full file system (a small tmpfs filled with a ballast file):
//! writes are refused with 507 (or 503) problem+json saying why, never 500;
//! a page says so in a sentence; reads still answer. Once the ballast is
//! deleted, writes succeed again without a restart, what was refused left
//! nothing behind, and the database passes `PRAGMA integrity_check`.

use super::support::{self, browser, cannot_run, http, send, sign_in, Sent, Server};
use serde_json::{json, Value};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

/// A tmpfs mounted on a temporary directory; unmounted when dropped.
struct Tmpfs {
    dir: tempfile::TempDir,
}

impl Tmpfs {
    fn mount(size: &str) -> Result<Tmpfs, String> {
        if !support::is_root() {
            return Err("not root: mounting a tmpfs needs root".into());
        }
        let dir = tempfile::tempdir().map_err(|e| format!("a temporary directory: {e}"))?;
        let output = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
            .arg(dir.path())
            .output()
            .map_err(|e| format!("mount: {e}"))?;
        if !output.status.success() {
            return Err(format!(
                "mount -t tmpfs is not permitted here: {}",
                String::from_utf8_lossy(&output.stderr).trim()
            ));
        }
        Ok(Tmpfs { dir })
    }

    fn path(&self) -> &Path {
        self.dir.path()
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let unmounted = Command::new("umount")
            .arg(self.dir.path())
            .status()
            .is_ok_and(|s| s.success());
        if !unmounted {
            // Still busy (a process of ours not yet reaped): detach it.
            let _ = Command::new("umount")
                .arg("-l")
                .arg(self.dir.path())
                .status();
        }
    }
}

/// Fills the file system of `path` with a file there until a write fails;
/// the bytes written.
fn fill(path: &Path) -> u64 {
    let mut file = std::fs::File::create(path).expect("the ballast file");
    let mut written = 0u64;
    for chunk in [1 << 20, 64 << 10, 4 << 10, 512] {
        let bytes = vec![0x5a_u8; chunk];
        while file.write_all(&bytes).and_then(|()| file.flush()).is_ok() {
            written += chunk as u64;
        }
    }
    let _ = file.sync_all();
    written
}

fn problem(sent: &Sent) -> (u16, Value) {
    let answer = sent
        .result
        .as_ref()
        .unwrap_or_else(|e| panic!("{}: no answer: {e}", sent.what));
    let body = serde_json::from_str(&answer.body).unwrap_or(Value::Null);
    (answer.status, body)
}

/// A write refused for want of space: 507 (or 503 when SQLite reports it as
/// an I/O error) as problem+json whose detail says why.
fn assert_refused_for_space(sent: &Sent, server: &Server) {
    let (status, body) = problem(sent);
    let answer = sent.result.as_ref().expect("an answer");
    assert!(
        status == 507 || status == 503,
        "{} on a full disk: 507 or 503, not {status}: {body}\nserver log:\n{}",
        sent.what,
        server.log()
    );
    assert_eq!(
        answer.content_type, "application/problem+json",
        "{}",
        sent.what
    );
    let detail = body["detail"].as_str().unwrap_or_default();
    let clear = match status {
        507 => detail.contains("storage is full"),
        _ => detail.contains("database is unavailable"),
    };
    assert!(clear, "{}: a clear detail: {body}", sent.what);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_on_a_full_disk() {
    let _serial = support::SERIAL.lock().await;
    let tmpfs = match Tmpfs::mount("24m") {
        Ok(tmpfs) => tmpfs,
        Err(reason) => return cannot_run(&reason),
    };
    let data: PathBuf = tmpfs.path().join("data");
    std::fs::create_dir(&data).expect("the data directory");
    let logs = tempfile::tempdir().expect("a log directory (not on the tmpfs)");
    let token = support::owner_token(&data, None);
    let mut server = Server::start(&data, None, logs.path(), &[]);
    let http = http();
    server.ready(&http).await;
    let pid = server.pid();
    let org = support::org_id(&http, &server.base, &token).await;
    let pages = browser();
    sign_in(&pages, &server.base).await;

    let base = server.base.clone();
    let api = |method: reqwest::Method, path: String, body: Option<Value>| {
        let mut request = http
            .request(method.clone(), format!("{base}{path}"))
            .bearer_auth(&token);
        if let Some(body) = body {
            request = request.json(&body);
        }
        send(format!("{method} {path}"), request)
    };
    let solutions = format!("/api/v1/orgs/{org}/solutions");
    let invitations = format!("/api/v1/orgs/{org}/invitations");
    let users = format!("/api/v1/orgs/{org}/users?limit=50");
    let create = |name: String| {
        api(
            reqwest::Method::POST,
            solutions.clone(),
            Some(json!({"name": name, "description": "d".repeat(1000)})),
        )
    };
    assert_eq!(create("Before".into()).await.status(), Some(201));
    let invited = api(
        reqwest::Method::POST,
        invitations.clone(),
        Some(json!({"email": "before@example.com"})),
    )
    .await;
    assert_eq!(invited.status(), Some(201));

    // The disk fills up.
    let ballast = tmpfs.path().join("ballast");
    let filled_at = Instant::now();
    let ballast_bytes = fill(&ballast);
    // What still fits in space SQLite already holds (free pages, the log
    // past its last frame, and the log again once a checkpoint empties it)
    // goes in: write, large and small, until the database is full for good,
    // i.e. every write is refused for longer than checkpoints take (1 s).
    let mut fitted = 0;
    // Solutions and invitations acknowledged while the disk was full.
    let mut acknowledged: Vec<String> = Vec::new();
    let mut refused = Vec::new();
    let mut streak: Option<(Instant, usize)> = None;
    let mut n = 0;
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        n += 1;
        let what = match n % 3 {
            0 => format!("Fill {n}"),
            1 => format!("fill{n}@example.com"),
            _ => String::new(),
        };
        let sent = match n % 3 {
            0 => create(format!("Fill {n}")).await,
            1 => {
                api(
                    reqwest::Method::POST,
                    invitations.clone(),
                    Some(json!({"email": format!("fill{n}@example.com")})),
                )
                .await
            }
            _ => {
                api(
                    reqwest::Method::PATCH,
                    "/api/v1/me".to_owned(),
                    Some(json!({"first_name": format!("Ada {n}")})),
                )
                .await
            }
        };
        if sent.status().is_some_and(|s| s < 300) {
            if n % 3 == 0 {
                // What was acknowledged can be read back at once.
                let (_, created) = problem(&sent);
                let id = created["id"].as_str().unwrap_or_default();
                let read = api(reqwest::Method::GET, format!("{solutions}/{id}"), None).await;
                assert_eq!(
                    read.status(),
                    Some(200),
                    "solution {id:?}, acknowledged with 201 after {} refused writes, cannot be \
                     read back: the write was not committed",
                    refused.len()
                );
            }
            fitted += 1;
            if !what.is_empty() {
                acknowledged.push(what);
            }
            streak = None;
        } else {
            assert_refused_for_space(&sent, &server);
            refused.push(sent);
            let (since, count) = streak.get_or_insert((Instant::now(), 0));
            *count += 1;
            if *count >= 30 && since.elapsed() > Duration::from_millis(2500) {
                break;
            }
        }
        assert!(
            Instant::now() < deadline,
            "writes fail once the disk is full ({fitted} fitted, {} refused)",
            refused.len()
        );
    }
    let mut by_status: std::collections::BTreeMap<u16, usize> = Default::default();
    for sent in &refused {
        *by_status
            .entry(sent.status().unwrap_or_default())
            .or_default() += 1;
    }

    // What a user does now: invite someone, create a solution.
    let invite_during = api(
        reqwest::Method::POST,
        invitations.clone(),
        Some(json!({"email": "during@example.com"})),
    )
    .await;
    assert_refused_for_space(&invite_during, &server);
    let during = create("During".into()).await;
    assert_refused_for_space(&during, &server);
    // The web UI: the form's answer is a page that says what happened.
    let form = pages
        .get(server.url(&format!("/orgs/{org}/solutions/new")))
        .send()
        .await
        .expect("the new solution form");
    assert_eq!(form.status(), 200, "pages are read on a full disk");
    let csrf = muster_test_support::csrf_field(&form.text().await.expect("html"));
    let form_sent = send(
        "POST /orgs/{org}/solutions (form)",
        pages
            .post(server.url(&format!("/orgs/{org}/solutions")))
            .form(&[
                ("csrf_token", csrf.as_str()),
                ("name", "From the form"),
                ("identifier", ""),
                ("description", ""),
                ("icon_color", ""),
                ("icon_initials", ""),
            ]),
    )
    .await;
    let form_answer = form_sent.result.as_ref().expect("the form is answered");
    assert!(
        form_answer.status == 507 || form_answer.status == 503,
        "the form on a full disk: {} {}",
        form_answer.status,
        form_answer.body
    );
    assert!(
        form_answer.content_type.starts_with("text/html")
            && (form_answer.body.contains("storage is full")
                || form_answer.body.contains("database is unavailable"))
            && !form_answer.body.contains("Something went wrong"),
        "a page that says why: {}",
        form_answer.body
    );

    // Reads still answer.
    for path in [users.clone(), solutions.clone(), "/api/v1/me".to_owned()] {
        let read = api(reqwest::Method::GET, path, None).await;
        assert_eq!(
            read.status(),
            Some(200),
            "{} on a full disk: {:?}",
            read.what,
            read.result
        );
    }
    let page = pages
        .get(server.url(&format!("/orgs/{org}/users")))
        .send()
        .await
        .expect("the users page");
    assert_eq!(page.status(), 200, "the Users page on a full disk");
    let full_for = filled_at.elapsed();

    // Space again: writes succeed without a restart.
    std::fs::remove_file(&ballast).expect("the ballast goes");
    let freed_at = Instant::now();
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let sent = create("After".into()).await;
        if sent.status() == Some(201) {
            break;
        }
        assert_refused_for_space(&sent, &server);
        assert!(
            Instant::now() < deadline,
            "writes succeed again within 30 s of there being space: {sent:?}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let writable_after = freed_at.elapsed();
    let invite_after = api(
        reqwest::Method::POST,
        invitations.clone(),
        Some(json!({"email": "after@example.com"})),
    )
    .await;
    assert_eq!(
        invite_after.status(),
        Some(201),
        "{:?}",
        invite_after.result
    );
    assert!(server.exited().is_none(), "muster kept running");
    assert_eq!(server.pid(), pid);

    // What was refused left nothing; what was acknowledged is there.
    let names: Vec<String> = {
        let sent = api(reqwest::Method::GET, format!("{solutions}?limit=200"), None).await;
        let (_, body) = problem(&sent);
        body["items"]
            .as_array()
            .expect("items")
            .iter()
            .map(|s| s["name"].as_str().unwrap_or_default().to_owned())
            .collect()
    };
    assert!(names.iter().any(|n| n == "Before"));
    assert!(names.iter().any(|n| n == "After"));
    assert!(!names.iter().any(|n| n == "During" || n == "From the form"));
    let members = api(reqwest::Method::GET, users.clone(), None).await;
    let (_, body) = problem(&members);
    let emails: Vec<&str> = body["items"]
        .as_array()
        .expect("items")
        .iter()
        .filter_map(|m| m["email"].as_str())
        .collect();
    assert!(emails.contains(&"before@example.com") && emails.contains(&"after@example.com"));
    assert!(
        !emails.contains(&"during@example.com"),
        "the refused invitation left nothing"
    );

    let log = server.log();
    assert!(support::panics(&log).is_empty(), "no panic:\n{log}");
    let warnings = log
        .lines()
        .filter(|l| l.contains("storage is full"))
        .count();
    server.signal("TERM");
    let exit = server.wait_exit(Duration::from_secs(60)).await;
    assert!(
        exit.is_some_and(|s| s.success()),
        "a clean stop: {exit:?}\n{log}"
    );

    let mut conn = support::sqlite(&data.join("muster.db")).await;
    let check: Vec<(String,)> = sqlx::query_as("PRAGMA integrity_check")
        .fetch_all(&mut conn)
        .await
        .expect("integrity_check");
    assert_eq!(check, vec![("ok".to_owned(),)], "the database is intact");
    // Every write that was acknowledged, on the full disk too, is in the file.
    let kept: std::collections::HashSet<String> = sqlx::query_scalar::<_, String>(
        "SELECT name FROM solutions UNION ALL SELECT email FROM users",
    )
    .fetch_all(&mut conn)
    .await
    .expect("solutions and users")
    .into_iter()
    .collect();
    let always = ["Before".to_owned(), "After".to_owned()];
    let lost: Vec<&String> = acknowledged
        .iter()
        .chain(&always)
        .filter(|w| !kept.contains(*w))
        .collect();
    assert!(
        lost.is_empty(),
        "{} of {} acknowledged writes are not in the database: {:?}",
        lost.len(),
        acknowledged.len() + 2,
        &lost[..lost.len().min(10)]
    );

    eprintln!(
        "disk_full: ballast {ballast_bytes} bytes; {fitted} writes still fitted, {} refused \
         (by status {by_status:?}); invite/create/form refused with {:?}/{:?}/{}; reads 200; full for \
         {full_for:?}; writable again {writable_after:?} after the ballast went; \
         {warnings} warning lines; integrity_check ok",
        refused.len(),
        invite_during.status(),
        during.status(),
        form_answer.status,
    );
}
