use crate::json;
use muster_server::mail::Transport;
use muster_store::jobs::{self, JobStatus};
use muster_test_support::{invite_link, Db, SmtpSink, TestApp};
use serde_json::json;
use time::Duration;

async fn invite_through_smtp_with_a_failure_then_recovery(db: Db) {
    let sink = SmtpSink::start().await;
    let url = sink.url();
    let Some(app) =
        TestApp::start_custom(db, false, |settings| settings.smtp_url = Some(url)).await
    else {
        return;
    };
    assert!(matches!(
        app.state.settings.mail_transport(),
        Ok(Transport::Smtp { .. })
    ));
    let (org, owner) = app.create_org("Acme", "ada@example.com").await;
    let token = app.token(owner).await;
    sink.refuse_next(1);
    let invited = json(
        app.api(&token)
            .post(
                format!("/api/v1/orgs/{org}/invitations"),
                json!({"email": "bob@example.com", "first_name": "Bob"}),
            )
            .await,
        201,
    )
    .await;
    let worker = app.worker();
    assert_eq!(worker.run_until_idle().await.expect("jobs"), 1);
    assert!(
        sink.received().is_empty(),
        "the server refused the first try"
    );
    let mut conn = app.store().read().await.expect("conn");
    assert_eq!(
        jobs::count_by_status(&mut conn, JobStatus::Queued)
            .await
            .expect("count"),
        1,
        "kept for a retry"
    );
    // The member's page shows the delivery trouble.
    let user = invited["user_id"].as_str().unwrap_or_default().to_owned();
    let detail_url = app.url(&format!("/api/v1/orgs/{org}/users/{user}"));
    let detail = json(
        reqwest::Client::new()
            .get(&detail_url)
            .bearer_auth(&token)
            .send()
            .await
            .expect("detail"),
        200,
    )
    .await;
    let mail = &detail["invitation"]["mail"];
    assert_eq!(
        (mail["status"].as_str(), mail["attempts"].as_i64()),
        (Some("queued"), Some(1)),
        "{detail}"
    );
    assert!(
        mail["last_error"]
            .as_str()
            .unwrap_or_default()
            .contains("451"),
        "{detail}"
    );
    app.clock.advance(Duration::seconds(10));
    assert_eq!(worker.run_until_idle().await.expect("jobs"), 1);
    let received = sink.received();
    assert_eq!(received.len(), 1);
    assert!(received[0].to[0].contains("bob@example.com"));
    assert!(received[0].data.contains("Subject:"));
    assert!(
        invite_link(&received[0].data).is_some_and(|l| l.contains("/invite/")),
        "{}",
        received[0].data
    );
    assert_eq!(
        jobs::count_by_status(&mut conn, JobStatus::Succeeded)
            .await
            .expect("count"),
        1
    );
    let detail = json(
        reqwest::Client::new()
            .get(&detail_url)
            .bearer_auth(&token)
            .send()
            .await
            .expect("detail"),
        200,
    )
    .await;
    assert_eq!(detail["invitation"]["mail"]["status"], "succeeded");
}

/// The SMTP server is down (nothing listens) while 20 invitations are made:
/// every mail waits for a retry. Once it is up, every mail arrives, each once.
async fn mail_waits_while_the_smtp_server_is_down(db: Db) {
    let port = muster_test_support::free_port();
    let Some(app) = TestApp::start_custom(db, false, |settings| {
        settings.smtp_url = Some(format!("smtp://127.0.0.1:{port}"))
    })
    .await
    else {
        return;
    };
    let (org, owner) = app.create_org("Acme", "ada@example.com").await;
    let token = app.token(owner).await;
    for n in 0..20 {
        json(
            app.api(&token)
                .post(
                    format!("/api/v1/orgs/{org}/invitations"),
                    json!({"email": format!("p{n}@example.com"), "first_name": "P"}),
                )
                .await,
            201,
        )
        .await;
    }
    let worker = app.worker();
    assert_eq!(worker.run_until_idle().await.expect("jobs"), 20);
    let mut conn = app.store().read().await.expect("conn");
    let queued = jobs::count_by_status(&mut conn, JobStatus::Queued).await;
    assert_eq!(queued.expect("count"), 20, "every mail kept for a retry");

    let sink = SmtpSink::start_on(port).await;
    app.clock.advance(Duration::seconds(10));
    assert_eq!(worker.run_until_idle().await.expect("jobs"), 20);
    let mut to: Vec<String> = sink.received().into_iter().flat_map(|m| m.to).collect();
    to.sort();
    to.dedup();
    assert_eq!(sink.received().len(), 20, "each mail once");
    assert_eq!(to.len(), 20, "{to:?}");
    let succeeded = jobs::count_by_status(&mut conn, JobStatus::Succeeded).await;
    assert_eq!(succeeded.expect("count"), 20);
}

#[tokio::test]
async fn smtp_down_sqlite() {
    mail_waits_while_the_smtp_server_is_down(Db::Sqlite).await;
}

#[tokio::test]
async fn smtp_down_postgres() {
    mail_waits_while_the_smtp_server_is_down(Db::Postgres).await;
}

#[tokio::test]
async fn smtp_sqlite() {
    invite_through_smtp_with_a_failure_then_recovery(Db::Sqlite).await;
}

#[tokio::test]
async fn smtp_postgres() {
    invite_through_smtp_with_a_failure_then_recovery(Db::Postgres).await;
}
