//! SIGTERM under load (SQLite): bulk uploads of a few thousand rows, an
//! upload whose body is still arriving, and many reads. Every request sent
//! before the signal gets a whole answer, the process exits with success, no
//! job is left `running`, and after a restart on the same data directory
//! every bulk import finishes: each row invited once, each mail written once.

use super::support::{self, cannot_run, csv, http, send, Sent, Server};
use serde_json::Value;
use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// Requests that started this long before the signal must have a whole
/// answer. Closer to it, a request on a kept-alive connection can cross the
/// server closing that idle connection: that one never reached a handler
/// and is refused, which HTTP/1.1 clients retry.
const MARGIN: Duration = Duration::from_millis(250);

const ROWS_PER_UPLOAD: usize = 1500;

/// An accepted upload: its job and the addresses in it.
type Upload = (String, Vec<String>);

#[derive(Clone)]
struct Load {
    base: String,
    token: String,
    org: String,
    stop: Arc<AtomicBool>,
    records: Arc<Mutex<Vec<Sent>>>,
    /// Uploads answered 202: job id and the addresses in it.
    accepted: Arc<Mutex<Vec<Upload>>>,
    /// Addresses of uploads that got no answer (the job may or may not exist).
    unanswered: Arc<Mutex<Vec<String>>>,
}

impl Load {
    fn keep(&self, sent: &Sent) {
        self.records.lock().expect("records").push(sent.clone());
    }

    /// Reads until the server stops answering (after the signal).
    async fn reader(self, n: usize) {
        let http = http();
        let mut i = 0usize;
        while !self.stop.load(Ordering::SeqCst) {
            i += 1;
            let path = if (i + n).is_multiple_of(2) {
                format!("/api/v1/orgs/{}/users?limit=100", self.org)
            } else {
                "/api/v1/me".to_owned()
            };
            let request = http
                .get(format!("{}{path}", self.base))
                .bearer_auth(&self.token);
            let sent = send(format!("GET {path}"), request).await;
            self.keep(&sent);
            if sent.result.is_err() {
                // Refused after the signal: the server is going away.
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        }
    }

    async fn uploader(self, n: usize) {
        let http = http();
        let mut i = 0usize;
        while !self.stop.load(Ordering::SeqCst) {
            i += 1;
            let (body, emails) = csv(&format!("up{n}x{i}r"), ROWS_PER_UPLOAD);
            let path = format!("/api/v1/orgs/{}/invitations/bulk", self.org);
            let request = http
                .post(format!("{}{path}", self.base))
                .bearer_auth(&self.token)
                .header("content-type", "text/csv")
                .body(body);
            let sent = send(format!("POST {path}"), request).await;
            self.keep(&sent);
            match &sent.result {
                Ok(answer) if answer.status == 202 => {
                    let body: Value = serde_json::from_str(&answer.body).expect("json");
                    let job = body["job_id"].as_str().expect("a job id").to_owned();
                    self.accepted.lock().expect("accepted").push((job, emails));
                }
                Ok(_) => {}
                Err(_) => {
                    self.unanswered.lock().expect("unanswered").extend(emails);
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
            }
        }
    }
}

/// A bulk upload over a raw connection whose body is sent half before the
/// signal and half after it: the request is in flight when SIGTERM arrives.
async fn slow_upload(
    addr: &str,
    token: &str,
    org: &str,
    body: &str,
    signalled: tokio::sync::watch::Receiver<bool>,
) -> Result<(u16, Value), String> {
    let mut stream = tokio::net::TcpStream::connect(addr)
        .await
        .map_err(|e| format!("connect: {e}"))?;
    let head = format!(
        "POST /api/v1/orgs/{org}/invitations/bulk HTTP/1.1\r\nHost: {addr}\r\n\
         Authorization: Bearer {token}\r\nContent-Type: text/csv\r\n\
         Content-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    );
    let half = body.len() / 2;
    stream
        .write_all(head.as_bytes())
        .await
        .map_err(|e| format!("head: {e}"))?;
    stream
        .write_all(&body.as_bytes()[..half])
        .await
        .map_err(|e| format!("first half: {e}"))?;
    let mut signalled = signalled;
    let _ = signalled.wait_for(|s| *s).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    stream
        .write_all(&body.as_bytes()[half..])
        .await
        .map_err(|e| format!("second half (after SIGTERM): {e}"))?;
    let mut answer = Vec::new();
    stream
        .read_to_end(&mut answer)
        .await
        .map_err(|e| format!("reading the answer: {e}"))?;
    let answer = String::from_utf8_lossy(&answer).into_owned();
    let (head, body) = answer
        .split_once("\r\n\r\n")
        .ok_or_else(|| format!("no whole answer: {answer:?}"))?;
    let status: u16 = head
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| format!("no status line: {head:?}"))?;
    let length: Option<usize> = head.lines().find_map(|l| {
        let (name, value) = l.split_once(':')?;
        name.eq_ignore_ascii_case("content-length")
            .then(|| value.trim().parse().ok())
            .flatten()
    });
    if length.is_some_and(|n| n != body.len()) {
        return Err(format!("the body was cut off: {head}\r\n\r\n{body}"));
    }
    let json = serde_json::from_str(body).map_err(|e| format!("{e}: {body:?}"))?;
    Ok((status, json))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_under_load_loses_nothing() {
    let _serial = support::SERIAL.lock().await;
    let data = tempfile::tempdir().expect("a data directory");
    let logs = tempfile::tempdir().expect("a log directory");
    if !std::path::Path::new("/usr/bin/kill").exists()
        && !std::path::Path::new("/bin/kill").exists()
    {
        return cannot_run("there is no kill command");
    }
    let token = support::owner_token(data.path(), None);
    let mut server = Server::start(data.path(), None, logs.path(), &[]);
    let http = http();
    server.ready(&http).await;
    let org = support::org_id(&http, &server.base, &token).await;

    let load = Load {
        base: server.base.clone(),
        token: token.clone(),
        org: org.clone(),
        stop: Arc::new(AtomicBool::new(false)),
        records: Arc::default(),
        accepted: Arc::default(),
        unanswered: Arc::default(),
    };
    let mut tasks = tokio::task::JoinSet::new();
    for n in 0..6 {
        tasks.spawn(load.clone().reader(n));
    }
    for n in 0..2 {
        tasks.spawn(load.clone().uploader(n));
    }
    let (signal, signalled) = tokio::sync::watch::channel(false);
    let (slow_body, slow_emails) = csv("slow", 3000);
    let slow = {
        let (addr, token, org) = (server.addr.clone(), token.clone(), org.clone());
        let body = slow_body.clone();
        tokio::spawn(async move { slow_upload(&addr, &token, &org, &body, signalled).await })
    };
    // Bulk jobs under way when the signal comes.
    let busy = support::eventually(Duration::from_secs(60), || async {
        load.accepted.lock().expect("accepted").len() >= 3
    })
    .await;
    assert!(busy, "uploads are accepted:\n{}", server.log());
    let signalled_at = Instant::now();
    server.signal("TERM");
    let _ = signal.send(true);
    let exit = server.wait_exit(Duration::from_secs(120)).await;
    let exited_after = signalled_at.elapsed();
    load.stop.store(true, Ordering::SeqCst);
    while tasks.join_next().await.is_some() {}
    let slow = slow.await.expect("the slow upload task");
    let log = server.log();
    let exit = exit.unwrap_or_else(|| panic!("muster exits within 2 minutes of SIGTERM:\n{log}"));
    assert!(exit.success(), "muster exits with success ({exit}):\n{log}");
    assert!(support::panics(&log).is_empty(), "no panic:\n{log}");

    // Every request sent before the signal got a whole answer, and none a 5xx.
    let records = std::mem::take(&mut *load.records.lock().expect("records"));
    let describe = |s: &Sent| match &s.result {
        Ok(a) => format!("{} → {} after {:?}", s.what, a.status, s.elapsed),
        Err(e) => format!("{} → {e} after {:?}", s.what, s.elapsed),
    };
    let cut_short: Vec<String> = records
        .iter()
        .filter(|s| s.started + MARGIN < signalled_at && s.result.is_err())
        .map(describe)
        .collect();
    assert!(
        cut_short.is_empty(),
        "requests sent before SIGTERM were not answered:\n{}",
        cut_short.join("\n")
    );
    let truncated: Vec<String> = records
        .iter()
        .filter(|s| s.result.as_ref().is_err_and(|e| e.contains("cut off")))
        .map(describe)
        .collect();
    assert!(
        truncated.is_empty(),
        "no answer was cut off:\n{}",
        truncated.join("\n")
    );
    let failed: Vec<String> = records
        .iter()
        .filter(|s| s.status().is_some_and(|s| s >= 500))
        .map(describe)
        .collect();
    assert!(failed.is_empty(), "no 5xx:\n{}", failed.join("\n"));
    let in_flight = records
        .iter()
        .filter(|s| s.started < signalled_at && s.started + s.elapsed > signalled_at)
        .count();
    let refused_after = records
        .iter()
        .filter(|s| s.started >= signalled_at && s.result.is_err())
        .count();
    let raced = records
        .iter()
        .filter(|s| {
            s.started < signalled_at && s.started + MARGIN >= signalled_at && s.result.is_err()
        })
        .count();
    let (slow_status, slow_answer) =
        slow.unwrap_or_else(|e| panic!("the upload in flight at SIGTERM is answered: {e}"));
    assert_eq!(
        slow_status, 202,
        "the slow upload is accepted: {slow_answer}"
    );
    let slow_job = slow_answer["job_id"].as_str().expect("a job id").to_owned();

    // A clean stop leaves no job claimed.
    let db = data.path().join("muster.db");
    let counts = {
        let mut conn = support::sqlite(&db).await;
        support::job_counts(&mut conn).await
    };
    assert_eq!(
        support::with_status(&counts, "running"),
        0,
        "no job is left running after SIGTERM: {counts:?}"
    );

    // Restarted on the same data: every import finishes, each row once.
    let mut accepted = std::mem::take(&mut *load.accepted.lock().expect("accepted"));
    accepted.push((slow_job, slow_emails));
    let unanswered: HashSet<String> = load
        .unanswered
        .lock()
        .expect("unanswered")
        .iter()
        .cloned()
        .collect();
    let expected: HashSet<String> = accepted
        .iter()
        .flat_map(|(_, emails)| emails.iter().cloned())
        .collect();
    let mut server = Server::start(data.path(), None, logs.path(), &[]);
    server.ready(&http).await;
    let restarted_at = Instant::now();
    let mut conn = support::sqlite(&db).await;
    let finished = support::eventually(Duration::from_secs(300), || {
        let (http, base, token, org) = (&http, &server.base, &token, &org);
        let accepted = &accepted;
        async move {
            for (job, _) in accepted {
                let done = support::job(http, base, token, org, job)
                    .await
                    .is_some_and(|j| j["status"] == "succeeded");
                if !done {
                    return false;
                }
            }
            true
        }
    })
    .await;
    assert!(
        finished,
        "every bulk import finishes after the restart:\n{}",
        server.log()
    );
    let invitations: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM invitations")
        .fetch_one(&mut conn)
        .await
        .expect("count");
    let outbox = data.path().join("outbox");
    let mailed = support::eventually(Duration::from_secs(300), || async {
        support::outbox(&outbox).len() as i64 >= invitations
    })
    .await;
    assert!(
        mailed,
        "every invitation's mail is written:\n{}",
        server.log()
    );
    let settle = support::eventually(Duration::from_secs(60), || async {
        let mut conn = support::sqlite(&db).await;
        let counts = support::job_counts(&mut conn).await;
        support::with_status(&counts, "running") + support::with_status(&counts, "queued") == 0
    })
    .await;
    assert!(settle, "no job is left queued or running");

    // Each row invited once: one membership and one invitation per address.
    let rows: Vec<(String, i64, i64)> = sqlx::query_as(
        "SELECT u.email, \
           (SELECT COUNT(*) FROM memberships m WHERE m.user_id = u.id), \
           (SELECT COUNT(*) FROM invitations i WHERE i.user_id = u.id) \
         FROM users u WHERE u.email <> 'ada@example.com'",
    )
    .fetch_all(&mut conn)
    .await
    .expect("members");
    let invited: HashMap<String, (i64, i64)> =
        rows.into_iter().map(|(e, m, i)| (e, (m, i))).collect();
    let missing: Vec<&String> = expected
        .iter()
        .filter(|e| !invited.contains_key(*e))
        .collect();
    assert!(
        missing.is_empty(),
        "{} accepted rows were not invited: {:?}",
        missing.len(),
        &missing[..missing.len().min(10)]
    );
    let unexpected: Vec<&String> = invited
        .keys()
        .filter(|e| !expected.contains(*e) && !unanswered.contains(*e))
        .collect();
    assert!(
        unexpected.is_empty(),
        "invited without an upload: {unexpected:?}"
    );
    let twice: Vec<(&String, &(i64, i64))> = invited
        .iter()
        .filter(|(_, (m, i))| *m != 1 || *i != 1)
        .collect();
    assert!(twice.is_empty(), "invited more than once: {twice:?}");

    // Each mail written once: as many files as invitations, one per address.
    let mails = support::outbox(&outbox);
    let more = support::twice(&mails);
    assert!(more.is_empty(), "mails written twice: {more:?}");
    let recipients: HashSet<&String> = mails.values().collect();
    assert_eq!(mails.len() as i64, invitations, "one mail per invitation");
    assert!(
        invited.keys().all(|e| recipients.contains(e)),
        "every invited address got its mail"
    );
    let log = server.log();
    assert!(support::panics(&log).is_empty(), "no panic:\n{log}");
    server.signal("TERM");
    let second = server.wait_exit(Duration::from_secs(120)).await;
    assert!(
        second.is_some_and(|s| s.success()),
        "the second stop is clean too"
    );

    eprintln!(
        "sigterm: {} requests ({in_flight} in flight at SIGTERM, all answered; {raced} refused \
         within {MARGIN:?} before it, {refused_after} refused after it); exited with {exit:?} \
         {exited_after:?} after SIGTERM; jobs at exit: {counts:?}; {} uploads accepted ({} rows), \
         {} uploads unanswered; after the restart all imports done and {} mails written in {:?}",
        records.len(),
        accepted.len(),
        expected.len(),
        unanswered.len() / ROWS_PER_UPLOAD,
        mails.len(),
        restarted_at.elapsed(),
    );
}
