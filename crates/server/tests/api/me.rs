use crate::{json, problem};
use muster_domain::OrgRole;
use muster_test_support::{db_tests, TestApp};
use serde_json::json;

db_tests!(
    profile_lists_memberships,
    profile_changes_are_validated_and_kept
);

async fn profile_lists_memberships(app: TestApp) {
    let (acme, ada) = app.create_org("Acme", "ada@example.com").await;
    let (globex, _) = app.create_org("Globex", "grace@example.com").await;
    app.add_member(
        globex,
        ada,
        OrgRole::Creator,
        muster_domain::MembershipStatus::Active,
    )
    .await;
    let token = app.token(ada).await;
    let me = json(app.api(&token).get("/api/v1/me").await, 200).await;
    assert_eq!(me["default_org_id"], acme.to_string());
    assert_eq!(me["theme"], "system");
    let memberships = me["memberships"].as_array().expect("memberships");
    let summary: Vec<(String, String, String)> = memberships
        .iter()
        .map(|m| {
            (
                m["org_name"].as_str().unwrap_or_default().to_owned(),
                m["role"].as_str().unwrap_or_default().to_owned(),
                m["status"].as_str().unwrap_or_default().to_owned(),
            )
        })
        .collect();
    assert_eq!(
        summary,
        vec![
            ("Acme".into(), "owner".into(), "active".into()),
            ("Globex".into(), "creator".into(), "active".into())
        ]
    );
    assert!(memberships.iter().all(|m| m["solution_count"] == 0));
}

async fn profile_changes_are_validated_and_kept(app: TestApp) {
    let (_, ada) = app.create_org("Acme", "ada@example.com").await;
    let (globex, _) = app.create_org("Globex", "grace@example.com").await;
    let token = app.token(ada).await;
    let api = app.api(&token);
    let patch = |body: serde_json::Value| api.patch("/api/v1/me", body);

    let body = problem(
        patch(json!({"language": "klingon!", "first_name": "  "})).await,
        422,
    )
    .await;
    let fields: Vec<&str> = body["errors"]
        .as_array()
        .expect("errors")
        .iter()
        .filter_map(|e| e["field"].as_str())
        .collect();
    assert_eq!(fields, vec!["first_name", "language"]);

    let body = problem(patch(json!({"theme": "purple"})).await, 422).await;
    assert_eq!(body["errors"][0]["field"], "theme");

    // Not a member of Globex: it cannot be the default.
    let body = problem(
        patch(json!({"default_org_id": globex.to_string()})).await,
        422,
    )
    .await;
    assert_eq!(body["errors"][0]["field"], "default_org_id");

    let me = json(
        patch(json!({"first_name": "Ada", "last_name": "Lovelace", "language": "fr-ca", "theme": "dark"}))
            .await,
        200,
    )
    .await;
    assert_eq!(
        (
            me["first_name"].as_str(),
            me["language"].as_str(),
            me["theme"].as_str()
        ),
        (Some("Ada"), Some("fr-CA"), Some("dark"))
    );
    let again = json(app.api(&token).get("/api/v1/me").await, 200).await;
    assert_eq!(again["last_name"], "Lovelace");
    assert_eq!(again["theme"], "dark");
}
