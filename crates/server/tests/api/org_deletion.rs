//! Deleting an organization: its name typed to confirm, gone from every list
//! and unreachable at once, its data removed by a job in batches, its people
//! keeping their accounts and other organizations.

use crate::{json, problem};
use muster_domain::{MembershipStatus, OrgId, OrgRole};
use muster_store::org_deletion;
use muster_test_support::ui::{csrf_field, page, post, submit};
use muster_test_support::{db_tests, outbox, TestApp, PASSWORD};
use reqwest::Method;
use serde_json::{json, Value};

db_tests!(
    the_owner_deletes_an_organization_and_everything_in_it_goes,
    the_settings_page_asks_for_the_name,
);

fn delete(
    api: &muster_test_support::Api,
    org: OrgId,
    body: Option<Value>,
) -> impl std::future::Future<Output = reqwest::Response> + '_ {
    api.call(Method::DELETE, format!("/api/v1/orgs/{org}"), body)
}

async fn rows_left(app: &TestApp, org: OrgId) -> Vec<(&'static str, i64)> {
    let mut conn = app.store().read().await.expect("a connection");
    org_deletion::remaining(&mut conn, org)
        .await
        .expect("counts")
        .into_iter()
        .filter(|(_, n)| *n > 0)
        .collect()
}

async fn the_owner_deletes_an_organization_and_everything_in_it_goes(app: TestApp) {
    let (org, ada) = app.create_org("Acme", "ada@example.com").await;
    let (lab, _) = app.create_org("Ada's lab", "eve@example.com").await;
    app.add_member(lab, ada, OrgRole::Admin, MembershipStatus::Active)
        .await;
    let bob = app.member(org, "bob@example.com", OrgRole::Admin).await;
    let cy = app.member(org, "cy@example.com", OrgRole::User).await;
    let (other, _) = app.create_org("Other", "dan@example.com").await;
    app.add_member(other, cy, OrgRole::User, MembershipStatus::Active)
        .await;
    let ada_api = app.api(&app.token(ada).await);
    let bob_api = app.api(&app.token(bob).await);
    let cy_api = app.api(&app.token(cy).await);

    // Something of every kind: a solution with a version, a group and users,
    // an invitation, a notification in inboxes, logs, usage, audit events.
    let solution = json(
        ada_api
            .post(
                format!("/api/v1/orgs/{org}/solutions"),
                json!({"name": "Field app"}),
            )
            .await,
        201,
    )
    .await;
    let sol = solution["id"].as_str().expect("an id").to_owned();
    let base = format!("/api/v1/orgs/{org}/solutions/{sol}");
    json(
        ada_api
            .post(format!("{base}/versions"), json!({"version": "1.0.0"}))
            .await,
        201,
    )
    .await;
    json(
        ada_api
            .post(format!("{base}/groups"), json!({"name": "Drivers"}))
            .await,
        201,
    )
    .await;
    assert!(ada_api
        .put(
            format!("/api/v1/orgs/{org}/users/{cy}/solutions/{sol}"),
            json!({"role": "user"})
        )
        .await
        .status()
        .is_success());
    json(
        ada_api
            .post(
                format!("/api/v1/orgs/{org}/invitations"),
                json!({"email": "fay@example.com"}),
            )
            .await,
        201,
    )
    .await;
    json(
        ada_api
            .post(
                format!("/api/v1/orgs/{org}/notifications"),
                json!({"title": "Shift change", "body": "from six", "scope": "org"}),
            )
            .await,
        201,
    )
    .await;
    let entries: Vec<Value> = (0..30)
        .map(
            |i| json!({"level": "error", "message": format!("crash {i}"), "correlation_id": "c-1"}),
        )
        .collect();
    json(
        cy_api
            .post(
                format!("/api/v1/app/logs?org={org}"),
                json!({ "entries": entries }),
            )
            .await,
        202,
    )
    .await;
    // More events than a batch of the job deletes.
    for _ in 0..3 {
        let events = crate::usage::events(900, "screen_viewed", None, None);
        crate::usage::send(&cy_api, org, events).await;
    }
    crate::usage::roll(&app).await;
    let before = rows_left(&app, org).await;
    for table in [
        "inbox_items",
        "notifications",
        "solution_assignments",
        "solutions",
        "invitations",
        "memberships",
        "invite_templates",
        "log_entries",
        "usage_events",
        "usage_daily",
        "audit_events",
    ] {
        assert!(
            before.iter().any(|(t, _)| *t == table),
            "{table} has rows: {before:?}"
        );
    }

    // Only an owner, and only with the name.
    problem(
        delete(&bob_api, org, Some(json!({"confirm": "Acme"}))).await,
        403,
    )
    .await;
    let wrong = problem(
        delete(&ada_api, org, Some(json!({"confirm": "acme"}))).await,
        422,
    )
    .await;
    assert_eq!(wrong["errors"][0]["field"], "confirm", "{wrong}");
    assert!(wrong["errors"][0]["message"]
        .as_str()
        .unwrap_or_default()
        .contains("Acme"));
    assert!(delete(&ada_api, org, None).await.status().is_client_error());
    assert_eq!(
        ada_api.get(format!("/api/v1/orgs/{org}")).await.status(),
        200
    );

    let started = json(
        delete(&ada_api, org, Some(json!({"confirm": " Acme "}))).await,
        202,
    )
    .await;
    assert!(started["job_id"].is_string(), "{started}");

    // Gone at once, before the job ran: no list has it, nothing in it answers.
    for api in [&ada_api, &bob_api, &cy_api] {
        problem(api.get(format!("/api/v1/orgs/{org}")).await, 404).await;
        let orgs = json(api.get("/api/v1/orgs").await, 200).await;
        assert!(!orgs.to_string().contains(&org.to_string()), "{orgs}");
        let me = json(api.get("/api/v1/me").await, 200).await;
        assert!(!me.to_string().contains(&org.to_string()), "{me}");
    }
    problem(ada_api.get(format!("/api/v1/orgs/{org}/users")).await, 404).await;
    problem(ada_api.get(base.clone()).await, 404).await;
    problem(
        cy_api
            .get(format!("/api/v1/app/notifications?org={org}"))
            .await,
        404,
    )
    .await;
    problem(
        cy_api
            .post(
                format!("/api/v1/app/logs?org={org}"),
                json!({"entries": [{"level": "error", "message": "late"}]}),
            )
            .await,
        404,
    )
    .await;
    problem(
        delete(&ada_api, org, Some(json!({"confirm": "Acme"}))).await,
        404,
    )
    .await;
    assert!(
        !rows_left(&app, org).await.is_empty(),
        "the data is still there, unreachable"
    );

    // The job empties every table in batches and deletes the organization.
    app.worker()
        .run_until_idle()
        .await
        .expect("the deletion job");
    assert_eq!(rows_left(&app, org).await, vec![]);
    {
        let mut conn = app.store().read().await.expect("a connection");
        assert!(!org_deletion::exists(&mut conn, org).await.expect("exists"));
    }

    // People keep their accounts and other organizations.
    for email in ["ada@example.com", "bob@example.com", "cy@example.com"] {
        let signed_in = app
            .client()
            .post(app.url("/api/v1/auth/login"))
            .json(&json!({"email": email, "password": PASSWORD}))
            .send()
            .await
            .expect("login");
        assert_eq!(signed_in.status(), 200, "{email} signs in");
    }
    assert_eq!(
        cy_api.get(format!("/api/v1/orgs/{other}")).await.status(),
        200
    );

    // The actor's other organization keeps the record; the owners and
    // admins were told.
    let audit = json(
        ada_api
            .get(format!(
                "/api/v1/orgs/{lab}/audit?action=organization.deleted"
            ))
            .await,
        200,
    )
    .await;
    assert_eq!(audit["items"][0]["target"], "Acme", "{audit}");
    assert_eq!(audit["items"][0]["actor"], "ada@example.com", "{audit}");
    let told: Vec<String> = outbox(&app)
        .into_iter()
        .filter(|m| m.contains("The organization Acme was deleted"))
        .collect();
    assert_eq!(told.len(), 2, "Ada and Bob: {told:?}");
}

async fn the_settings_page_asks_for_the_name(app: TestApp) {
    let (org, _) = app.create_org("Acme", "ada@example.com").await;
    app.member(org, "bob@example.com", OrgRole::Admin).await;
    let admin = app.form_session("bob@example.com").await;
    let (_, settings) = page(&admin, app.url(&format!("/orgs/{org}/settings"))).await;
    assert!(
        !settings.has("#delete-org"),
        "only owners see the delete form"
    );
    let csrf = csrf_field(&settings);
    let (status, _) = post(
        &admin,
        app.url(&format!("/orgs/{org}/delete")),
        &[("csrf_token", &csrf), ("confirm", "Acme")],
    )
    .await;
    assert_eq!(status, 403);

    let owner = app.form_session("ada@example.com").await;
    let (_, settings) = page(&owner, app.url(&format!("/orgs/{org}/settings"))).await;
    let csrf = csrf_field(&settings);
    let (status, refused) = submit(
        &owner,
        app.url(&format!("/orgs/{org}/delete")),
        &[("csrf_token", &csrf), ("confirm", "Acne")],
    )
    .await;
    assert_eq!(status, 422);
    assert_eq!(
        refused.field_error("confirm").as_deref(),
        Some("type the organization's name, Acme, to confirm")
    );
    let (status, to) = post(
        &owner,
        app.url(&format!("/orgs/{org}/delete")),
        &[("csrf_token", &csrf), ("confirm", "Acme")],
    )
    .await;
    assert_eq!((status, to.as_str()), (303, "/me"));
    let (_, me) = page(&owner, app.url("/me")).await;
    assert!(me.text().contains("Acme was deleted."), "{me}");
    assert!(!me.source().contains(&org.to_string()));
    assert_eq!(
        page(&owner, app.url(&format!("/orgs/{org}/overview")))
            .await
            .0,
        404
    );
}

/// Every table with an `org_id` column is emptied by the deletion job, so a
/// feature that adds one cannot leave its rows behind unnoticed.
#[tokio::test]
async fn the_deletion_job_knows_every_table_an_organization_has_rows_in() {
    let Some(app) = TestApp::start(muster_test_support::Db::Sqlite).await else {
        return;
    };
    let mut conn = app.store().read().await.expect("a connection");
    let tables: Vec<(String,)> = sqlx::query_as(
        "SELECT m.name FROM sqlite_master m, pragma_table_info(m.name) c \
         WHERE m.type = 'table' AND c.name = 'org_id' ORDER BY m.name",
    )
    .fetch_all(&mut *conn)
    .await
    .expect("the schema");
    // Kept up by triggers on memberships, and the job table (its own step).
    let elsewhere = ["member_search", "member_search_keys", "jobs"];
    let missing: Vec<&str> = tables
        .iter()
        .map(|(t,)| t.as_str())
        .filter(|t| !elsewhere.contains(t))
        .filter(|t| !org_deletion::TABLES.iter().any(|(known, _)| known == t))
        .collect();
    assert!(
        missing.is_empty(),
        "not emptied by the deletion job: {missing:?}"
    );
}
