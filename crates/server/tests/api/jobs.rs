use muster_server::jobs::enqueue;
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
);

fn mail(subject: &str) -> SendMail {
    SendMail {
        mail: Mail {
            to: "ada@example.com".into(),
            subject: subject.into(),
            text: "Hello".into(),
            html: None,
        },
    }
}

async fn a_job_in_a_rolled_back_transaction_never_runs(app: TestApp) {
    let now = app.clock_now();
    let mut tx = app.store().begin().await.expect("tx");
    enqueue(&mut tx, &mail("Rolled back"), now)
        .await
        .expect("enqueue");
    tx.rollback().await.expect("rollback");
    let mut tx = app.store().begin().await.expect("tx");
    enqueue(&mut tx, &mail("Committed"), now)
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
    let id = enqueue(&mut tx, &mail("Retried"), now)
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
}

async fn the_running_worker_delivers_and_stops_cleanly(app: TestApp) {
    let db = app.db;
    app.shutdown().await;
    let Some(app) = TestApp::start_with_worker(db).await else {
        return;
    };
    let mut tx = app.store().begin().await.expect("tx");
    enqueue(&mut tx, &mail("Background"), app.clock_now())
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
        enqueue(&mut tx, &mail(&format!("Mail {n}")), now)
            .await
            .expect("enqueue");
    }
    tx.commit().await.expect("commit");
    let claim_all = |store: muster_store::Store| async move {
        let mut claimed = Vec::new();
        while let Some(job) = store
            .claim_job(now, Duration::minutes(5))
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
