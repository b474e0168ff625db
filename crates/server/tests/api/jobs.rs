use muster_server::jobs::worker::Worker;
use muster_server::jobs::{enqueue, JobKind, Registry};
use muster_server::mail::job::SendMail;
use muster_server::mail::Mail;
use muster_store::jobs::{self, JobStatus};
use muster_test_support::{db_tests, outbox, TestApp};
use std::collections::HashSet;
use time::Duration;

db_tests!(
    a_job_in_a_rolled_back_transaction_never_runs,
    a_failing_job_is_retried_with_backoff,
    the_running_worker_delivers_and_stops_cleanly,
    concurrent_claims_never_share_a_job,
    batch_claims_never_share_a_job_and_keep_to_their_kind,
    a_kind_never_waits_behind_another_kinds_backlog,
    a_late_outcome_changes_nothing_once_the_job_is_claimed_again,
    a_queued_mail_rests_sealed_and_is_emptied_when_sent,
);

/// Background work that runs until the test lets it go, like a mail backlog
/// whose server hangs.
#[derive(serde::Serialize, serde::Deserialize)]
struct Stuck;

impl JobKind for Stuck {
    const KIND: &'static str = "test_stuck";
    const BACKGROUND: bool = true;
}

/// Work somebody waits for.
#[derive(serde::Serialize, serde::Deserialize)]
struct Watched;

impl JobKind for Watched {
    const KIND: &'static str = "test_watched";
}

fn mail(app: &TestApp, subject: &str) -> SendMail {
    SendMail::new(
        &app.state.key,
        &Mail {
            to: "ada@example.com".into(),
            subject: subject.into(),
            text: "Hello".into(),
            html: None,
        },
    )
}

/// The payload of job `id` as stored.
async fn stored_payload(app: &TestApp, id: muster_domain::JobId) -> String {
    let mut conn = app.store().read().await.expect("conn");
    let (payload,): (String,) = sqlx::query_as("SELECT payload FROM jobs WHERE id = $1")
        .bind(id.to_string())
        .fetch_one(&mut *conn)
        .await
        .expect("the job's payload");
    payload
}

async fn a_job_in_a_rolled_back_transaction_never_runs(app: TestApp) {
    let now = app.clock_now();
    let mut tx = app.store().begin().await.expect("tx");
    enqueue(&mut tx, &mail(&app, "Rolled back"), now)
        .await
        .expect("enqueue");
    tx.rollback().await.expect("rollback");
    let mut tx = app.store().begin().await.expect("tx");
    enqueue(&mut tx, &mail(&app, "Committed"), now)
        .await
        .expect("enqueue");
    tx.commit().await.expect("commit");

    assert_eq!(app.worker().run_until_idle().await.expect("jobs run"), 1);
    let files = outbox(&app);
    assert_eq!(files.len(), 1);
    assert!(files[0].contains("Subject: Committed"), "{}", files[0]);
    assert!(files[0].contains("To: ada@example.com"));
}

async fn a_failing_job_is_retried_with_backoff(app: TestApp) {
    // A file where the outbox directory should be: every write fails.
    std::fs::write(app.data_dir.join("outbox"), b"in the way").expect("block the outbox");
    let now = app.clock_now();
    let mut tx = app.store().begin().await.expect("tx");
    let id = enqueue(&mut tx, &mail(&app, "Retried"), now)
        .await
        .expect("enqueue");
    tx.commit().await.expect("commit");

    let worker = app.worker();
    assert_eq!(worker.run_until_idle().await.expect("run"), 1);
    let mut conn = app.store().read().await.expect("conn");
    let job = jobs::find(&mut conn, id).await.expect("the job");
    assert_eq!(job.status, JobStatus::Queued);
    assert_eq!(job.attempts, 1);
    assert!(
        job.last_error
            .as_deref()
            .unwrap_or_default()
            .contains("outbox"),
        "{:?}",
        job.last_error
    );
    assert_eq!(
        job.run_at,
        muster_store::time_ms::from_ms(muster_store::time_ms::to_ms(now + Duration::seconds(10)))
    );

    // Not due yet: nothing runs.
    assert_eq!(worker.run_until_idle().await.expect("run"), 0);
    app.clock.advance(Duration::seconds(10));
    assert_eq!(worker.run_until_idle().await.expect("run"), 1);
    let job = jobs::find(&mut conn, id).await.expect("the job");
    assert_eq!((job.status, job.attempts), (JobStatus::Queued, 2));
    assert_eq!(job.run_at - app.clock_now(), Duration::seconds(20));

    // The outbox comes back: the next attempt delivers.
    std::fs::remove_file(app.data_dir.join("outbox")).expect("unblock");
    app.clock.advance(Duration::seconds(20));
    assert_eq!(worker.run_until_idle().await.expect("run"), 1);
    let job = jobs::find(&mut conn, id).await.expect("the job");
    assert_eq!((job.status, job.attempts), (JobStatus::Succeeded, 3));
    assert_eq!(outbox(&app).len(), 1);
    // The error of an earlier attempt is not shown once the job succeeded.
    assert_eq!(job.last_error, None);
}

/// A queued mail (which may carry an invite link) rests sealed, and its
/// payload is emptied once the mail is handed over.
async fn a_queued_mail_rests_sealed_and_is_emptied_when_sent(app: TestApp) {
    let now = app.clock_now();
    let mut tx = app.store().begin().await.expect("tx");
    let id = enqueue(&mut tx, &mail(&app, "Secret link inside"), now)
        .await
        .expect("enqueue");
    tx.commit().await.expect("commit");
    let queued = stored_payload(&app, id).await;
    for clear in ["Secret link inside", "ada@example.com", "Hello"] {
        assert!(!queued.contains(clear), "{clear:?} in {queued}");
    }
    assert_eq!(app.worker().run_until_idle().await.expect("run"), 1);
    let files = outbox(&app);
    assert!(
        files[0].contains("Subject: Secret link inside"),
        "{}",
        files[0]
    );
    assert_eq!(stored_payload(&app, id).await, "{}");
}

async fn the_running_worker_delivers_and_stops_cleanly(app: TestApp) {
    let db = app.db;
    app.shutdown().await;
    let Some(app) = TestApp::start_with_worker(db).await else {
        return;
    };
    let mut tx = app.store().begin().await.expect("tx");
    enqueue(&mut tx, &mail(&app, "Background"), app.clock_now())
        .await
        .expect("enqueue");
    tx.commit().await.expect("commit");
    let mut delivered = false;
    for _ in 0..200 {
        if !outbox(&app).is_empty() {
            delivered = true;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(25)).await;
    }
    assert!(delivered, "the worker delivered the mail");
    app.shutdown().await;
}

async fn concurrent_claims_never_share_a_job(app: TestApp) {
    let now = app.clock_now();
    let mut tx = app.store().begin().await.expect("tx");
    for n in 0..20 {
        enqueue(&mut tx, &mail(&app, &format!("Mail {n}")), now)
            .await
            .expect("enqueue");
    }
    tx.commit().await.expect("commit");
    let claim_all = |store: muster_store::Store| async move {
        let mut claimed = Vec::new();
        while let Some(job) = store
            .claim_job("test", now, Duration::minutes(5))
            .await
            .expect("claim")
        {
            claimed.push(job.id);
        }
        claimed
    };
    let (a, b) = tokio::join!(
        tokio::spawn(claim_all(app.store().clone())),
        tokio::spawn(claim_all(app.store().clone()))
    );
    let (a, b) = (a.expect("claimer a"), b.expect("claimer b"));
    let all: HashSet<_> = a.iter().chain(b.iter()).collect();
    assert_eq!(a.len() + b.len(), 20);
    assert_eq!(all.len(), 20, "no job was claimed twice");
}

async fn batch_claims_never_share_a_job_and_keep_to_their_kind(app: TestApp) {
    let now = app.clock_now();
    let mut tx = app.store().begin().await.expect("tx");
    for n in 0..30 {
        enqueue(&mut tx, &mail(&app, &format!("Mail {n}")), now)
            .await
            .expect("enqueue");
    }
    enqueue(&mut tx, &Stuck, now).await.expect("enqueue");
    tx.commit().await.expect("commit");
    let claim_all = |store: muster_store::Store| async move {
        let mut claimed = Vec::new();
        loop {
            let batch = store
                .claim_jobs("test", SendMail::KIND, 7, now, Duration::minutes(5))
                .await
                .expect("claim");
            if batch.is_empty() {
                return claimed;
            }
            assert!(batch.len() <= 7, "a batch holds at most what was asked");
            assert!(batch.iter().all(|job| job.kind == SendMail::KIND));
            claimed.extend(batch.into_iter().map(|job| job.id));
        }
    };
    let (a, b) = tokio::join!(
        tokio::spawn(claim_all(app.store().clone())),
        tokio::spawn(claim_all(app.store().clone()))
    );
    let (a, b) = (a.expect("claimer a"), b.expect("claimer b"));
    let all: HashSet<_> = a.iter().chain(b.iter()).collect();
    assert_eq!(
        a.len() + b.len(),
        30,
        "every mail was claimed, the other kind not"
    );
    assert_eq!(all.len(), 30, "no job was claimed twice");
    // A claimed job whose lease ran out is claimed again, before queued ones.
    let later = now + Duration::minutes(6);
    let again = app
        .store()
        .claim_jobs("test", SendMail::KIND, 50, later, Duration::minutes(5))
        .await
        .expect("claim");
    assert_eq!(again.len(), 30);
    assert!(again.iter().all(|job| job.attempts == 2));
}

async fn a_kind_never_waits_behind_another_kinds_backlog(app: TestApp) {
    let release = std::sync::Arc::new(tokio::sync::Notify::new());
    let ran = std::sync::Arc::new(tokio::sync::Notify::new());
    let stuck = release.clone();
    let watched = ran.clone();
    let registry = Registry::default()
        .kind(move |_, _, _: Stuck| {
            let stuck = stuck.clone();
            async move {
                stuck.notified().await;
                Ok(())
            }
        })
        .kind(move |_, _, _: Watched| {
            let watched = watched.clone();
            async move {
                watched.notify_one();
                Ok(())
            }
        });
    let worker = Worker::new(app.state.clone(), registry);
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let running = tokio::spawn(worker.run(stopped));
    let now = app.clock_now();
    let mut tx = app.store().begin().await.expect("tx");
    for _ in 0..3 {
        enqueue(&mut tx, &Stuck, now).await.expect("enqueue");
    }
    tx.commit().await.expect("commit");
    let mut tx = app.store().begin().await.expect("tx");
    enqueue(&mut tx, &Watched, now).await.expect("enqueue");
    tx.commit().await.expect("commit");
    // Well under the poll interval (1 s): the lane was woken, not polled.
    let started = tokio::time::timeout(std::time::Duration::from_millis(900), ran.notified()).await;
    assert!(
        started.is_ok(),
        "the watched job ran while the backlog hung"
    );
    for _ in 0..100 {
        release.notify_waiters();
        let _ = stop.send(true);
        if running.is_finished() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    running
        .await
        .expect("the worker stops once its jobs are done");
}

async fn a_late_outcome_changes_nothing_once_the_job_is_claimed_again(app: TestApp) {
    let now = app.clock_now();
    let mut tx = app.store().begin().await.expect("tx");
    let id = enqueue(&mut tx, &mail(&app, "Slow"), now)
        .await
        .expect("enqueue");
    tx.commit().await.expect("commit");
    let lease = Duration::minutes(5);
    let first = app
        .store()
        .claim_jobs("test", SendMail::KIND, 1, now, lease)
        .await
        .expect("claim");
    assert_eq!(first.len(), 1);
    // The first run outlives its lease; another worker claims the job again.
    let later = now + Duration::minutes(6);
    let second = app
        .store()
        .claim_jobs("test", SendMail::KIND, 1, later, lease)
        .await
        .expect("claim");
    assert_eq!(second.len(), 1);
    assert_eq!(second[0].attempts, 2);
    let mut conn = app.store().write().await.expect("conn");
    // The first run's word comes late: retried or done, it changes nothing.
    jobs::retry_at(&mut conn, id, 1, "late", later, later)
        .await
        .expect("write");
    jobs::succeed_many(&mut conn, &[(id, 1)], later)
        .await
        .expect("write");
    let job = jobs::find(&mut conn, id).await.expect("the job");
    assert_eq!(job.status, JobStatus::Running);
    jobs::succeed_many(&mut conn, &[(id, 2)], later)
        .await
        .expect("write");
    let job = jobs::find(&mut conn, id).await.expect("the job");
    assert_eq!(job.status, JobStatus::Succeeded);
}
