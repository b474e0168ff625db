//! SIGKILL at the worst moments, then the same instance started again on the
//! same data:
//!
//! - SQLite, during a bulk import and then during its mails: every row is
//!   invited exactly once, every mail is in the outbox once (files are named
//!   by job id, so a mail sent again replaces its file; two files for one
//!   address would be a second mail).
//! - The same with a lease of ten minutes: a restarted instance takes back
//!   the jobs it had claimed before it died at once (its id is kept in its
//!   data directory), so everything finishes within a minute.
//! - PostgreSQL, during a notification's fan-out to 30,000 members: after the
//!   restart each member has exactly one inbox item.

use super::cluster::Cluster;
use super::support::{self, cannot_run, http, Server};
use serde_json::{json, Value};
use std::collections::{HashMap, HashSet};
use std::path::Path;
use std::time::{Duration, Instant};

const ROWS: usize = 6000;

/// `.eml` files in an outbox, without reading them.
fn outbox_count(outbox: &Path) -> usize {
    std::fs::read_dir(outbox)
        .map(|entries| {
            entries
                .filter_map(Result::ok)
                .filter(|e| e.path().extension().is_some_and(|x| x == "eml"))
                .count()
        })
        .unwrap_or(0)
}

/// Kills and restarts a SQLite instance during an import and during its
/// mails; `within` bounds each restart's catching up.
async fn killed_twice(lease: &str, within: Duration) {
    if !std::path::Path::new("/usr/bin/kill").exists()
        && !std::path::Path::new("/bin/kill").exists()
    {
        return cannot_run("there is no kill command");
    }
    let data = tempfile::tempdir().expect("a data directory");
    let logs = tempfile::tempdir().expect("a log directory");
    let env = [("MUSTER_JOB_LEASE", lease)];
    let token = support::owner_token(data.path(), None);
    let http = http();
    let db = data.path().join("muster.db");
    let outbox = data.path().join("outbox");

    let mut first = Server::start(data.path(), None, logs.path(), &env);
    first.ready(&http).await;
    let org = support::org_id(&http, &first.base, &token).await;
    let (body, emails) = support::csv("k", ROWS);
    let job = support::upload(&http, &first.base, &token, &org, body).await;

    // SIGKILL in the middle of the import.
    let deadline = Instant::now() + Duration::from_secs(120);
    let processed_at_kill = loop {
        let progress = support::job(&http, &first.base, &token, &org, &job).await;
        let processed = progress
            .as_ref()
            .and_then(|p| p["processed"].as_i64())
            .unwrap_or(0);
        if processed > 0 {
            assert!(
                processed < ROWS as i64,
                "the import finished before it could be killed; raise ROWS"
            );
            first.kill9();
            break processed;
        }
        assert!(
            Instant::now() < deadline,
            "the import starts:\n{}",
            first.log()
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    };
    let log = first.log();
    assert!(support::panics(&log).is_empty(), "no panic:\n{log}");
    let at_kill = {
        let mut conn = support::sqlite(&db).await;
        support::job_counts(&mut conn).await
    };

    // The same instance again: the import resumes and finishes.
    let mut second = Server::start(data.path(), None, logs.path(), &env);
    second.ready(&http).await;
    let restarted = Instant::now();
    let imported = support::eventually(within, || async {
        support::job(&http, &second.base, &token, &org, &job)
            .await
            .is_some_and(|p| p["status"] == "succeeded")
    })
    .await;
    let import_resumed_in = restarted.elapsed();
    assert!(
        imported,
        "the restarted instance finishes the import it had claimed within {within:?} \
         (MUSTER_JOB_LEASE={lease}; processed {processed_at_kill} of {ROWS} at the kill; \
         jobs at the kill: {at_kill:?}):\n{}",
        second.log()
    );

    // SIGKILL while the mails go out.
    let deadline = Instant::now() + Duration::from_secs(120);
    let mailed_at_kill = loop {
        let written = outbox_count(&outbox);
        if written > 0 {
            second.kill9();
            break written;
        }
        assert!(
            Instant::now() < deadline,
            "the mails start:\n{}",
            second.log()
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    };
    assert!(
        mailed_at_kill < ROWS,
        "every mail was out before the kill; raise ROWS"
    );
    let log = second.log();
    assert!(support::panics(&log).is_empty(), "no panic:\n{log}");

    // And again: every mail is written, once.
    let mut third = Server::start(data.path(), None, logs.path(), &env);
    third.ready(&http).await;
    let restarted = Instant::now();
    let done = support::eventually(within, || async {
        if outbox_count(&outbox) < ROWS {
            return false;
        }
        let mut conn = support::sqlite(&db).await;
        let counts = support::job_counts(&mut conn).await;
        support::with_status(&counts, "running") + support::with_status(&counts, "queued") == 0
    })
    .await;
    let mails_resumed_in = restarted.elapsed();
    let mut conn = support::sqlite(&db).await;
    let counts = support::job_counts(&mut conn).await;
    assert!(
        done,
        "the restarted instance sends the rest within {within:?} (MUSTER_JOB_LEASE={lease}; \
         {mailed_at_kill} of {ROWS} written at the kill; {} now; jobs {counts:?}):\n{}",
        outbox_count(&outbox),
        third.log()
    );
    let progress = support::job(&http, &third.base, &token, &org, &job)
        .await
        .expect("the job");
    assert_eq!(progress["processed"], ROWS as i64);
    assert_eq!(progress["errors"], json!([]));

    // Each row invited exactly once.
    let rows: Vec<(String, i64, i64)> = sqlx::query_as(
        "SELECT u.email, \
           (SELECT COUNT(*) FROM memberships m WHERE m.user_id = u.id), \
           (SELECT COUNT(*) FROM invitations i WHERE i.user_id = u.id) \
         FROM users u WHERE u.email <> 'ada@example.com'",
    )
    .fetch_all(&mut conn)
    .await
    .expect("members");
    assert_eq!(rows.len(), ROWS, "one person per row");
    let invited: HashMap<String, (i64, i64)> =
        rows.into_iter().map(|(e, m, i)| (e, (m, i))).collect();
    assert!(
        emails.iter().all(|e| invited.contains_key(e)),
        "every row is invited"
    );
    let twice: Vec<_> = invited
        .iter()
        .filter(|(_, (m, i))| *m != 1 || *i != 1)
        .collect();
    assert!(twice.is_empty(), "invited more than once: {twice:?}");

    // Each mail once.
    let mails = support::outbox(&outbox);
    let more = support::twice(&mails);
    assert!(more.is_empty(), "mails written twice: {more:?}");
    let recipients: HashSet<&String> = mails.values().collect();
    assert_eq!(mails.len(), ROWS, "one mail file per row");
    assert!(
        emails.iter().all(|e| recipients.contains(e)),
        "every invitee got a mail"
    );
    let log = third.log();
    assert!(support::panics(&log).is_empty(), "no panic:\n{log}");
    eprintln!(
        "kill9 (MUSTER_JOB_LEASE={lease}): import killed at {processed_at_kill}/{ROWS} rows \
         (jobs {at_kill:?}), finished {import_resumed_in:?} after the restart; mails killed at \
         {mailed_at_kill}/{ROWS}, all written {mails_resumed_in:?} after the next restart; \
         {ROWS} invited once, {} mail files, none twice",
        mails.len()
    );
}

/// With a short lease, whether or not an instance takes back its own jobs at
/// start: nothing lost, nothing twice.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill9_during_import_and_mail_loses_nothing() {
    let _serial = support::SERIAL.lock().await;
    killed_twice("3s", Duration::from_secs(180)).await;
}

/// With a lease of ten minutes, a restarted instance must not wait it out for
/// the jobs it had claimed itself.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill9_restarted_instance_resumes_its_jobs_at_once() {
    let _serial = support::SERIAL.lock().await;
    killed_twice("10m", Duration::from_secs(60)).await;
}

const MEMBERS: i64 = 30_000;

/// Inbox items of a notification, and the distinct people they are for.
async fn inbox_items(db: &mut sqlx::PgConnection, notification: &str) -> (i64, i64) {
    sqlx::query_as(
        "SELECT COUNT(*), COUNT(DISTINCT user_id) FROM inbox_items WHERE notification_id = $1",
    )
    .bind(notification)
    .fetch_one(db)
    .await
    .expect("inbox items")
}

/// A notification to the whole organization, SIGKILL while its inbox items
/// are written, the same instance again: every member has one item.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill9_during_notification_fanout_on_postgres() {
    use sqlx::Connection;
    let _serial = support::SERIAL.lock().await;
    let cluster = match Cluster::start() {
        Ok(cluster) => cluster,
        Err(reason) => return cannot_run(&reason),
    };
    let url = cluster.url();
    let data = tempfile::tempdir().expect("a data directory");
    let logs = tempfile::tempdir().expect("a log directory");
    let token = support::owner_token(data.path(), Some(&url));
    let mut db = sqlx::PgConnection::connect(&url).await.expect("PostgreSQL");
    let (org,): (String,) = sqlx::query_as("SELECT id FROM organizations")
        .fetch_one(&mut db)
        .await
        .expect("the organization");
    let now = time::OffsetDateTime::now_utc().unix_timestamp() * 1000;
    // Members written straight into the database (inviting and accepting
    // 30,000 people through the API would take most of the test's time).
    sqlx::query(
        "INSERT INTO users (id, email, first_name, last_name, language, theme, created_at, updated_at) \
         SELECT gen_random_uuid()::text, 'fan' || g || '@example.com', 'Fan', g::text, 'en', 'system', $1, $1 \
         FROM generate_series(1, $2) g",
    )
    .bind(now)
    .bind(MEMBERS)
    .execute(&mut db)
    .await
    .expect("users");
    sqlx::query(
        "INSERT INTO memberships (org_id, user_id, role, status, invited_at, joined_at, created_at, email, search) \
         SELECT $1, id, 'user', 'active', $2, $2, $2, email, lower(email || ' fan ' || last_name) \
         FROM users WHERE email LIKE 'fan%'",
    )
    .bind(&org)
    .bind(now)
    .execute(&mut db)
    .await
    .expect("memberships");
    sqlx::query("ANALYZE")
        .execute(&mut db)
        .await
        .expect("analyze");
    let (active,): (i64,) =
        sqlx::query_as("SELECT COUNT(*) FROM memberships WHERE org_id = $1 AND status = 'active'")
            .bind(&org)
            .fetch_one(&mut db)
            .await
            .expect("count");

    let env = [("MUSTER_JOB_LEASE", "10m")];
    let http = http();
    let mut first = Server::start(data.path(), Some(&url), logs.path(), &env);
    first.ready(&http).await;
    let response = http
        .post(first.url(&format!("/api/v1/orgs/{org}/notifications")))
        .bearer_auth(&token)
        .json(&json!({"title": "Everyone", "body": "Fan-out under SIGKILL", "scope": "org"}))
        .send()
        .await
        .expect("send");
    assert_eq!(response.status(), 201);
    let notification: Value = response.json().await.expect("json");
    let id = notification["id"].as_str().expect("an id").to_owned();
    let deadline = Instant::now() + Duration::from_secs(120);
    let written_at_kill = loop {
        let (written, _) = inbox_items(&mut db, &id).await;
        if written > 0 {
            first.kill9();
            break written;
        }
        assert!(
            Instant::now() < deadline,
            "the fan-out starts:\n{}",
            first.log()
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    };
    assert!(
        written_at_kill < active,
        "the fan-out was done before the kill; raise MEMBERS"
    );

    let mut second = Server::start(data.path(), Some(&url), logs.path(), &env);
    second.ready(&http).await;
    let restarted = Instant::now();
    let mut last = (0, 0);
    let deadline = restarted + Duration::from_secs(60);
    while Instant::now() < deadline {
        last = inbox_items(&mut db, &id).await;
        if last.0 >= active {
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let resumed_in = restarted.elapsed();
    let jobs: Vec<(String, String, i64)> =
        sqlx::query_as("SELECT kind, status, COUNT(*) FROM jobs GROUP BY kind, status")
            .fetch_all(&mut db)
            .await
            .expect("jobs");
    assert_eq!(
        last.0,
        active,
        "every member's inbox item is written within a minute of the restart \
         (MUSTER_JOB_LEASE=10m; {written_at_kill} written at the kill; jobs {jobs:?}):\n{}",
        second.log()
    );
    assert_eq!(last.1, active, "one item per member, none twice");
    let log = second.log();
    assert!(support::panics(&log).is_empty(), "no panic:\n{log}");
    eprintln!(
        "kill9 fan-out (PostgreSQL): {written_at_kill}/{active} inbox items at the kill, all \
         {active} (each member once) {resumed_in:?} after the restart; jobs {jobs:?}"
    );
    drop((first, second));
    let _ = db.close().await;
    drop(cluster);
}
