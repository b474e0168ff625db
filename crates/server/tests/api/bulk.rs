use crate::{json, problem};
use muster_test_support::{db_tests, outbox, TestApp};
use serde_json::{json, Value};

db_tests!(
    a_csv_upload_invites_good_rows_and_reports_bad_ones,
    uploads_that_cannot_start_are_refused,
    a_resumed_upload_of_several_batches_invites_each_row_once,
    rows_with_extra_fields_and_formulas_are_reported_safely,
    a_made_up_language_and_an_unknown_column_are_reported,
);

/// `zz` is no language: its row is reported, not invited in the default
/// language; a real language without a template of its own is invited. A
/// column Muster does not read refuses the upload, naming it.
async fn a_made_up_language_and_an_unknown_column_are_reported(app: TestApp) {
    let (org, owner) = app.create_org("Acme", "ada@example.com").await;
    let token = app.token(owner).await;
    let csv = "email,first_name,last_name,language,role\n\
               zed@example.com,Zed,Zulu,zz,user\n\
               sven@example.com,Sven,Svensson,sv,user\n";
    let accepted = upload_csv(&app, &token, org, csv.to_owned()).await;
    let job = accepted["job_id"].as_str().expect("a job").to_owned();
    app.worker().run_until_idle().await.expect("jobs");
    let done = json(
        app.api(&token)
            .get(format!("/api/v1/orgs/{org}/jobs/{job}"))
            .await,
        200,
    )
    .await;
    let errors = row_errors(&done);
    assert_eq!(errors.len(), 1, "{errors:?}");
    assert_eq!(errors[0].0, 2);
    assert!(errors[0].1.starts_with("language: "), "{errors:?}");
    let mails = outbox(&app);
    assert_eq!(mails.len(), 1, "only Sven is invited");
    assert!(mails[0].contains("sven@example.com"), "{}", mails[0]);

    // One person at a time, the same rule.
    let refused = problem(
        app.api(&token)
            .post(
                format!("/api/v1/orgs/{org}/invitations"),
                json!({"email": "zoe@example.com", "language": "zz"}),
            )
            .await,
        422,
    )
    .await;
    assert_eq!(refused["errors"][0]["field"], "language", "{refused}");

    let body = problem(
        reqwest::Client::new()
            .post(app.url(&format!("/api/v1/orgs/{org}/invitations/bulk")))
            .bearer_auth(&token)
            .header("content-type", "text/csv")
            .body("email,first_name,langauge,phone\nann@example.com,Ann,de,123\n")
            .send()
            .await
            .expect("upload"),
        422,
    )
    .await;
    let message = body["errors"][0]["message"].as_str().unwrap_or_default();
    assert!(
        message.contains("langauge, phone")
            && message.contains("email,first_name,last_name,language,role"),
        "{body}"
    );
    assert_eq!(outbox(&app).len(), 1, "nothing more was sent");
}

/// A row with more fields than the header names is reported, not invited
/// half-read; an email that is a spreadsheet formula comes back in the error
/// report as text, not as a formula.
async fn rows_with_extra_fields_and_formulas_are_reported_safely(app: TestApp) {
    let (org, owner) = app.create_org("Acme", "ada@example.com").await;
    let token = app.token(owner).await;
    let csv = "email,first_name,last_name\n\
               one@example.com,One,Person\n\
               two@example.com,Smith, John,Person\n\
               =HYPERLINK(\"http://evil.test\"),Eve,Formula\n";
    let accepted = upload_csv(&app, &token, org, csv.to_owned()).await;
    let job = accepted["job_id"].as_str().expect("a job").to_owned();
    app.worker().run_until_idle().await.expect("jobs");
    let done = json(
        app.api(&token)
            .get(format!("/api/v1/orgs/{org}/jobs/{job}"))
            .await,
        200,
    )
    .await;
    let errors = row_errors(&done);
    assert_eq!(errors.len(), 2, "{errors:?}");
    assert_eq!(errors[0].0, 3);
    assert!(
        errors[0].1.contains("4 fields but the header names 3"),
        "{errors:?}"
    );
    assert_eq!(errors[1].0, 4);
    let invited = json(
        app.api(&token)
            .get(format!("/api/v1/orgs/{org}/users?status=invited"))
            .await,
        200,
    )
    .await;
    assert_eq!(
        invited["items"].as_array().map(Vec::len),
        Some(1),
        "{invited}"
    );

    let client = app.form_session("ada@example.com").await;
    let report = client
        .get(app.url(&format!("/orgs/{org}/jobs/{job}/errors.csv")))
        .send()
        .await
        .expect("csv")
        .text()
        .await
        .expect("csv");
    let cells: Vec<Vec<String>> = csv::Reader::from_reader(report.as_bytes())
        .records()
        .map(|r| r.expect("a record").iter().map(str::to_owned).collect())
        .collect();
    assert_eq!(cells[1][1], "'=HYPERLINK(\"http://evil.test\")", "{report}");
    assert!(
        cells
            .iter()
            .flatten()
            .all(|cell| !cell.starts_with(['=', '+', '-', '@'])),
        "{report}"
    );
}

/// Uploads a CSV file to the bulk-invite API; the 202 answer.
async fn upload_csv(app: &TestApp, token: &str, org: muster_domain::OrgId, csv: String) -> Value {
    json(
        reqwest::Client::new()
            .post(app.url(&format!("/api/v1/orgs/{org}/invitations/bulk")))
            .bearer_auth(token)
            .header("content-type", "text/csv")
            .body(csv)
            .send()
            .await
            .expect("upload"),
        202,
    )
    .await
}

/// A finished job's skipped rows: (row, message).
fn row_errors(job: &Value) -> Vec<(i64, String)> {
    job["errors"]
        .as_array()
        .expect("errors")
        .iter()
        .map(|e| {
            (
                e["row"].as_i64().unwrap_or_default(),
                e["message"].as_str().unwrap_or_default().to_owned(),
            )
        })
        .collect()
}

async fn a_csv_upload_invites_good_rows_and_reports_bad_ones(app: TestApp) {
    let (org, owner) = app.create_org("Acme", "ada@example.com").await;
    app.create_org("Other", "member@example.com").await;
    let token = app.token(owner).await;
    let csv = "email,first_name,last_name,language,role\n\
               one@example.com,One,Person,en,user\n\
               not-an-email,Bad,Row,en,user\n\
               two@example.com,Two,Person,,creator\n\
               ONE@example.com,Dup,Licate,en,user\n\
               three@example.com,Three,Person,xx-!!,user\n\
               ada@example.com,Ada,Again,en,user\n\
               four@example.com,Four,Person,en,emperor\n\
               member@example.com,Existing,User,en,admin\n";
    let accepted = upload_csv(&app, &token, org, csv.to_owned()).await;
    assert_eq!(accepted["total"], 8);
    let job = accepted["job_id"].as_str().expect("a job").to_owned();
    let queued = json(
        app.api(&token)
            .get(format!("/api/v1/orgs/{org}/jobs/{job}"))
            .await,
        200,
    )
    .await;
    assert_eq!(
        (queued["status"].as_str(), queued["processed"].as_i64()),
        (Some("queued"), Some(0))
    );

    app.worker().run_until_idle().await.expect("jobs");
    let done = json(
        app.api(&token)
            .get(format!("/api/v1/orgs/{org}/jobs/{job}"))
            .await,
        200,
    )
    .await;
    assert_eq!(done["status"], "succeeded");
    assert_eq!(
        (done["total"].as_i64(), done["processed"].as_i64()),
        (Some(8), Some(8))
    );
    let errors = row_errors(&done);
    let rows: Vec<i64> = errors.iter().map(|(row, _)| *row).collect();
    assert_eq!(rows, vec![3, 5, 6, 7, 8], "{errors:?}");
    assert!(errors[0].1.contains("email"));
    assert!(errors[1].1.contains("row 2"), "{errors:?}");
    assert!(errors[3].1.contains("status: active"), "{errors:?}");
    let list = json(
        app.api(&token)
            .get(format!("/api/v1/orgs/{org}/users?status=invited"))
            .await,
        200,
    )
    .await;
    let invited: Vec<&str> = list["items"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|m| m["email"].as_str())
        .collect();
    assert_eq!(
        invited,
        vec!["member@example.com", "one@example.com", "two@example.com"]
    );
    // Each good row got its mail.
    let mails = outbox(&app);
    assert_eq!(mails.len(), 3);
    // JSON works the same way.
    let accepted = json(
        app.api(&token)
            .post(
                format!("/api/v1/orgs/{org}/invitations/bulk"),
                json!([{"email": "five@example.com", "role": "user"}]),
            )
            .await,
        202,
    )
    .await;
    assert_eq!(accepted["total"], 1);
}

async fn uploads_that_cannot_start_are_refused(app: TestApp) {
    let (org, owner) = app.create_org("Acme", "ada@example.com").await;
    let token = app.token(owner).await;
    let http = reqwest::Client::new();
    let upload = |body: String, content_type: &'static str| {
        http.post(app.url(&format!("/api/v1/orgs/{org}/invitations/bulk")))
            .bearer_auth(&token)
            .header("content-type", content_type)
            .body(body)
            .send()
    };
    let body = problem(
        upload("name,mail\nx,y\n".into(), "text/csv")
            .await
            .expect("upload"),
        422,
    )
    .await;
    assert!(body["errors"][0]["message"]
        .as_str()
        .unwrap_or_default()
        .contains("email,first_name"));
    problem(
        upload("email\n".into(), "text/csv").await.expect("upload"),
        422,
    )
    .await;
    problem(
        upload("email\nx@example.com\n".into(), "text/plain")
            .await
            .expect("upload"),
        415,
    )
    .await;
    let mut many = String::from("email\n");
    for n in 0..100_001 {
        many.push_str(&format!("p{n}@e.io\n"));
    }
    let body = problem(upload(many, "text/csv").await.expect("upload"), 413).await;
    assert!(
        body["detail"]
            .as_str()
            .unwrap_or_default()
            .contains("100000"),
        "{body}"
    );
    let huge = format!("email\n{}", "x".repeat(10_000_001));
    problem(upload(huge, "text/csv").await.expect("upload"), 413).await;
    let deleted = app
        .api(&token)
        .delete(format!("/api/v1/orgs/{org}/invite-templates/en"))
        .await;
    assert_eq!(deleted.status(), 204);
    problem(
        upload("email\nx@example.com\n".into(), "text/csv")
            .await
            .expect("upload"),
        409,
    )
    .await;
}

/// 1,200 rows are three batches. The job is resumed as if a worker had died
/// after the first batch: the rows it did are not done again, and a duplicate
/// of one of them is still reported, with errors from every batch in file order.
async fn a_resumed_upload_of_several_batches_invites_each_row_once(app: TestApp) {
    let (org, owner) = app.create_org("Acme", "ada@example.com").await;
    let token = app.token(owner).await;
    let mut csv = String::from("email,first_name,last_name,language,role\n");
    for n in 1..=1_200 {
        let email = match n {
            // Line 702 repeats line 2 (the first row), across the resume.
            701 => "p1@example.com".to_owned(),
            // One bad row in each of the last two batches.
            800 | 1_150 => format!("not-an-email-{n}"),
            _ => format!("p{n}@example.com"),
        };
        csv.push_str(&format!("{email},P,{n},en,user\n"));
    }
    let accepted = upload_csv(&app, &token, org, csv).await;
    let job: muster_domain::JobId = accepted["job_id"]
        .as_str()
        .and_then(|id| id.parse().ok())
        .expect("a job id");
    // A previous attempt recorded the first 500 rows as done.
    let mut tx = app.store().begin().await.expect("tx");
    let now = app.clock_now();
    muster_store::job_progress::set_progress(&mut tx, job, 500, now, now)
        .await
        .expect("progress");
    tx.commit().await.expect("commit");
    let kept_upload = || async {
        let mut conn = app.store().read().await.expect("conn");
        muster_store::job_progress::input(&mut conn, job)
            .await
            .expect("input")
            .is_some()
    };
    // Housekeeping keeps the upload of a job that has not finished.
    app.worker().maintain(app.clock_now()).await;
    assert!(kept_upload().await);

    app.worker().run_until_idle().await.expect("jobs");
    let done = json(
        app.api(&token)
            .get(format!("/api/v1/orgs/{org}/jobs/{job}"))
            .await,
        200,
    )
    .await;
    assert_eq!(
        (done["status"].as_str(), done["processed"].as_i64()),
        (Some("succeeded"), Some(1_200)),
        "{done}"
    );
    let errors = row_errors(&done);
    let rows: Vec<i64> = errors.iter().map(|(row, _)| *row).collect();
    assert_eq!(rows, vec![702, 801, 1_151], "{errors:?}");
    assert!(errors[0].1.contains("row 2"), "{errors:?}");
    // Rows 501 to 1,200 were invited, less the three refused; the first 500 were
    // left to the attempt that had done them.
    let mut invited = Vec::new();
    let mut cursor = String::new();
    for _ in 0..10 {
        let page = json(
            app.api(&token)
                .get(format!(
                    "/api/v1/orgs/{org}/users?status=invited&limit=200&cursor={cursor}"
                ))
                .await,
            200,
        )
        .await;
        invited.extend(
            page["items"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|m| m["email"].as_str().map(str::to_owned)),
        );
        match page["next_cursor"].as_str() {
            Some(next) => cursor = next.to_owned(),
            None => break,
        }
    }
    assert_eq!(invited.len(), 697);
    assert!(!invited.iter().any(|e| e == "p500@example.com"));
    assert!(invited.iter().any(|e| e == "p501@example.com"));
    let first = json(
        app.api(&token)
            .get(format!("/api/v1/orgs/{org}/users?q=p1%40example.com"))
            .await,
        200,
    )
    .await;
    assert_eq!(first["items"].as_array().map(Vec::len), Some(0), "{first}");
    assert_eq!(outbox(&app).len(), 697);
    // Once the job has finished, housekeeping drops its upload.
    assert!(kept_upload().await);
    app.worker().maintain(app.clock_now()).await;
    assert!(!kept_upload().await);

    // The audit log has one summary of the import (written once, though the
    // job was resumed), and the invitations it made are reachable from it.
    let job_events = |action: &'static str| {
        let api = app.api(&token);
        async move {
            json(
                api.get(format!(
                    "/api/v1/orgs/{org}/audit?job={job}&action={action}"
                ))
                .await,
                200,
            )
            .await["items"]
                .as_array()
                .cloned()
                .unwrap_or_default()
        }
    };
    assert_eq!(job_events("invitation.bulk_started").await.len(), 1);
    let finished = job_events("invitation.bulk_finished").await;
    assert_eq!(finished.len(), 1, "{finished:?}");
    assert_eq!(
        finished[0]["after"],
        serde_json::json!({"rows": 1200, "invited": 1197, "skipped": 3})
    );
    assert_eq!(finished[0]["target"], job.to_string());
    let made = json(
        app.api(&token)
            .get(format!(
                "/api/v1/orgs/{org}/audit?job={job}&action=invitation.created&limit=200"
            ))
            .await,
        200,
    )
    .await;
    let made = made["items"].as_array().expect("items");
    assert_eq!(made.len(), 200, "a full page of the job's invitations");
    assert!(made.iter().all(|e| e["job_id"] == job.to_string()));
    let client = app.form_session("ada@example.com").await;
    let (_, audit_page) =
        muster_test_support::ui::page(&client, app.url(&format!("/orgs/{org}/audit"))).await;
    assert_eq!(
        audit_page.attr("#audit a.job-events", "href"),
        Some(format!("/orgs/{org}/audit?job={job}"))
    );
    let (status, _) = muster_test_support::ui::page(
        &client,
        app.url(&format!("/orgs/{org}/audit?job=not-a-job")),
    )
    .await;
    assert_eq!(status, 200, "a bad filter is a message above the table");
}
