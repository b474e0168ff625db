//! The client commands against a real server (the test app, over TCP): what a
//! person at a terminal sees, and the exit codes scripts rely on.

use muster_domain::OrgRole;
use muster_test_support::{muster_bare, Db, TestApp};
use serde_json::Value;

struct Run {
    code: Option<i32>,
    stdout: String,
    stderr: String,
}

/// Runs `muster ARGS` with the server and token in the environment.
async fn muster(app: &TestApp, token: &str, args: &[&str]) -> Run {
    let output = tokio::process::Command::from(muster_bare(crate::MUSTER))
        .env("MUSTER_SERVER", app.url(""))
        .env("MUSTER_TOKEN", token)
        .args(args)
        .output()
        .await
        .expect("muster runs");
    Run {
        code: output.status.code(),
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
    }
}

#[tokio::test]
async fn users_list_disable_enable_remove() {
    let Some(app) = TestApp::start(Db::Sqlite).await else {
        return;
    };
    let (org, ada) = app.create_org("Acme", "ada@example.com").await;
    app.member(org, "bob@example.com", OrgRole::Creator).await;
    app.member(org, "cy@example.com", OrgRole::User).await;
    let (other, gus) = app.create_org("Globex", "gus@example.com").await;
    let token = app.token(ada).await;

    let run = muster(&app, &token, &["users", "list"]).await;
    assert_eq!(run.code, Some(0), "{}", run.stderr);
    let lines: Vec<&str> = run.stdout.lines().collect();
    assert!(
        lines[0].contains("EMAIL") && lines[0].contains("ROLE"),
        "{}",
        run.stdout
    );
    assert_eq!(lines.len(), 4, "{}", run.stdout);
    assert!(lines[2].contains("bob@example.com") && lines[2].contains("creator"));

    let run = muster(&app, &token, &["users", "list", "--json", "--role", "user"]).await;
    let members: Value = serde_json::from_str(&run.stdout).expect("JSON");
    assert_eq!(members.as_array().map(Vec::len), Some(1));
    assert_eq!(members[0]["email"], "cy@example.com");

    let run = muster(&app, &token, &["users", "disable", "BOB@example.com"]).await;
    assert_eq!(run.code, Some(0), "{}", run.stderr);
    let run = muster(&app, &token, &["users", "list", "--status", "disabled"]).await;
    assert!(run.stdout.contains("bob@example.com"), "{}", run.stdout);
    let run = muster(&app, &token, &["users", "enable", "bob@example.com"]).await;
    assert_eq!(run.code, Some(0), "{}", run.stderr);
    let run = muster(&app, &token, &["users", "remove", "cy@example.com"]).await;
    assert_eq!(run.code, Some(0), "{}", run.stderr);
    let run = muster(&app, &token, &["users", "list", "--json"]).await;
    assert!(!run.stdout.contains("cy@example.com"));

    // A refusal from the server is one line with its title and detail.
    let run = muster(&app, &token, &["users", "remove", "ada@example.com"]).await;
    assert_eq!(run.code, Some(1));
    assert_eq!(run.stderr.lines().count(), 1, "{}", run.stderr);
    assert!(run.stderr.starts_with("muster: "), "{}", run.stderr);
    let run = muster(&app, &token, &["users", "disable", "nobody@example.com"]).await;
    assert_eq!(run.code, Some(1));
    assert!(run.stderr.contains("not a member"), "{}", run.stderr);

    // Another organization is reached only by its members, by id or name.
    let run = muster(
        &app,
        &token,
        &["--org", &other.to_string(), "users", "list"],
    )
    .await;
    assert_eq!(run.code, Some(2), "{}", run.stdout);
    let gus_token = app.token(gus).await;
    let run = muster(&app, &gus_token, &["--org", "globex", "users", "list"]).await;
    assert_eq!(run.code, Some(0), "{}", run.stderr);
    assert!(run.stdout.contains("gus@example.com") && !run.stdout.contains("ada@"));

    // Without a token, with a bad one, or without a server.
    let run = muster(&app, "", &["users", "list"]).await;
    assert_eq!(run.code, Some(2));
    assert!(run.stderr.contains("MUSTER_TOKEN"), "{}", run.stderr);
    let run = muster(&app, "mst_pat_nonsense", &["users", "list"]).await;
    assert_eq!(run.code, Some(1));
    assert!(
        run.stderr.contains("Personal access token") || run.stderr.contains("token"),
        "{}",
        run.stderr
    );
    let output = tokio::process::Command::from(muster_bare(crate::MUSTER))
        .env("MUSTER_TOKEN", &token)
        .args(["--server", "http://127.0.0.1:9", "users", "list"])
        .output()
        .await
        .expect("muster runs");
    assert_eq!(output.status.code(), Some(3));
    assert!(String::from_utf8_lossy(&output.stderr).contains("cannot reach"));
    app.shutdown().await;
}

#[tokio::test]
async fn bulk_invite_from_a_csv_file_reports_bad_rows() {
    let Some(app) = TestApp::start_with_worker(Db::Sqlite).await else {
        return;
    };
    let (_, ada) = app.create_org("Acme", "ada@example.com").await;
    let token = app.token(ada).await;
    let dir = tempfile::tempdir().expect("a directory");
    let good = dir.path().join("good.csv");
    std::fs::write(
        &good,
        "email,first_name,last_name,language,role\nbea@example.com,Bea,Brown,en,user\ncal@example.com,Cal,Cole,en,creator\n",
    )
    .expect("write");
    let run = muster(
        &app,
        &token,
        &[
            "users",
            "invite",
            "--csv",
            good.to_str().unwrap_or_default(),
        ],
    )
    .await;
    assert_eq!(run.code, Some(0), "{}", run.stderr);
    assert!(run.stdout.contains("Invited all 2 rows"), "{}", run.stdout);
    assert!(
        run.stderr.contains("2 of 2 rows"),
        "progress is shown: {}",
        run.stderr
    );

    let bad = dir.path().join("bad.csv");
    std::fs::write(
        &bad,
        "email,first_name,last_name,language,role\ndan@example.com,Dan,Day,en,user\nnot-an-email,X,Y,en,user\nbea@example.com,Bea,Brown,en,user\n",
    )
    .expect("write");
    let run = muster(
        &app,
        &token,
        &["users", "invite", "--csv", bad.to_str().unwrap_or_default()],
    )
    .await;
    assert_eq!(run.code, Some(1), "{}\n{}", run.stdout, run.stderr);
    assert!(run.stdout.contains("not-an-email"), "{}", run.stdout);
    assert!(run.stdout.contains("bea@example.com"), "{}", run.stdout);
    assert!(!run.stdout.contains("dan@example.com"), "{}", run.stdout);
    assert!(
        run.stderr.contains("2 of 3 rows were not invited"),
        "{}",
        run.stderr
    );
    let run = muster(&app, &token, &["users", "list", "--status", "invited"]).await;
    assert!(run.stdout.contains("dan@example.com"));

    let run = muster(
        &app,
        &token,
        &["users", "invite", "--csv", "/no/such/file.csv"],
    )
    .await;
    assert_eq!(run.code, Some(2));
    assert!(run.stderr.contains("cannot read"), "{}", run.stderr);
    app.shutdown().await;
}

#[tokio::test]
async fn tokens_create_list_extend_delete() {
    let Some(app) = TestApp::start(Db::Sqlite).await else {
        return;
    };
    let (_, ada) = app.create_org("Acme", "ada@example.com").await;
    let token = app.token(ada).await;
    let run = muster(&app, &token, &["tokens", "create", "laptop"]).await;
    assert_eq!(run.code, Some(0), "{}", run.stderr);
    let secret = run.stdout.trim().to_owned();
    assert!(
        secret.starts_with("mst_pat_") && secret.len() == 54,
        "{secret}"
    );
    assert!(run.stderr.contains("shown only now"));

    let run = muster(&app, &secret, &["tokens", "list", "--json"]).await;
    let tokens: Value = serde_json::from_str(&run.stdout).expect("JSON");
    let laptop = tokens
        .as_array()
        .and_then(|all| all.iter().find(|t| t["name"] == "laptop"))
        .expect("listed")
        .clone();
    assert!(
        !run.stdout.contains(&secret[12..]),
        "the list has no secrets"
    );
    let id = laptop["id"].as_str().expect("id");
    let run = muster(&app, &token, &["tokens", "list"]).await;
    assert!(run.stdout.contains("laptop") && run.stdout.contains(&secret[..12]));

    let run = muster(&app, &token, &["tokens", "extend", id]).await;
    assert_eq!(run.code, Some(0), "{}", run.stderr);
    assert!(run.stdout.contains("now expires"));
    let run = muster(&app, &token, &["tokens", "extend", "../orgs"]).await;
    assert_eq!(run.code, Some(2), "{}", run.stderr);

    let run = muster(&app, &token, &["tokens", "delete", id]).await;
    assert_eq!(run.code, Some(0), "{}", run.stderr);
    let run = muster(&app, &secret, &["tokens", "list"]).await;
    assert_eq!(run.code, Some(1), "the deleted token no longer works");
    app.shutdown().await;
}

#[tokio::test]
async fn solutions_list_shows_identifier_and_latest_version() {
    let Some(app) = TestApp::start(Db::Sqlite).await else {
        return;
    };
    let (org, ada) = app.create_org("Acme", "ada@example.com").await;
    let token = app.token(ada).await;
    let api = app.api(&token);
    let run = muster(&app, &token, &["solutions", "list"]).await;
    assert_eq!(run.code, Some(0), "{}", run.stderr);
    assert_eq!(
        run.stdout.lines().count(),
        1,
        "only the header: {}",
        run.stdout
    );

    let created: Value = api
        .post(
            format!("/api/v1/orgs/{org}/solutions"),
            serde_json::json!({"name": "Field Inspections"}),
        )
        .await
        .json()
        .await
        .expect("json");
    let id = created["id"].as_str().expect("id");
    api.post(
        format!("/api/v1/orgs/{org}/solutions/{id}/versions"),
        serde_json::json!({"version": "1.4.0"}),
    )
    .await;
    api.post(
        format!("/api/v1/orgs/{org}/solutions"),
        serde_json::json!({"name": "Stock"}),
    )
    .await;
    let run = muster(&app, &token, &["solutions", "list"]).await;
    let lines: Vec<&str> = run.stdout.lines().collect();
    assert_eq!(lines.len(), 3, "{}", run.stdout);
    assert!(
        lines[1].contains("field-inspections") && lines[1].contains("1.4.0"),
        "{}",
        run.stdout
    );
    assert!(
        lines[2].contains("stock") && lines[2].contains("none"),
        "{}",
        run.stdout
    );
    let run = muster(&app, &token, &["solutions", "list", "--json"]).await;
    let listed: Value = serde_json::from_str(&run.stdout).expect("JSON");
    assert_eq!(listed[0]["latest_version"], "1.4.0");

    // A `user` member is refused by the server, in one line.
    let una = app
        .member(org, "una@example.com", muster_domain::OrgRole::User)
        .await;
    let run = muster(
        &app,
        &app.token(una).await,
        &["--org", "Acme", "solutions", "list"],
    )
    .await;
    assert_eq!(run.code, Some(1));
    assert_eq!(run.stderr.lines().count(), 1, "{}", run.stderr);
    app.shutdown().await;
}
