use crate::{json, problem};
use muster_domain::OrgRole;
use muster_test_support::{db_tests, TestApp};
use serde_json::json;

db_tests!(
    creating_an_organization_makes_you_its_owner,
    organizations_are_listed_page_by_page,
    another_organization_is_invisible,
    settings_are_validated_and_need_owner_or_admin,
    only_owners_delete_an_organization,
);

async fn creating_an_organization_makes_you_its_owner(app: TestApp) {
    let ada = app.create_user("ada@example.com").await;
    let token = app.token(ada).await;
    let created = json(
        app.api(&token)
            .post(
                "/api/v1/orgs",
                json!({"name": "  Acme  ", "description": "Field apps"}),
            )
            .await,
        201,
    )
    .await;
    assert_eq!(created["name"], "Acme");
    assert_eq!(created["description"], "Field apps");
    assert_eq!(created["role"], "owner");
    assert_eq!(created["invite_lifetime_days"], 7);
    assert!(
        created["created_at"]
            .as_str()
            .is_some_and(|t| t.ends_with('Z')),
        "{created}"
    );
    let me = json(app.api(&token).get("/api/v1/me").await, 200).await;
    assert_eq!(me["default_org_id"], created["id"]);
    let body = problem(
        app.api(&token)
            .post("/api/v1/orgs", json!({"name": ""}))
            .await,
        422,
    )
    .await;
    assert_eq!(body["errors"][0]["field"], "name");
}

async fn organizations_are_listed_page_by_page(app: TestApp) {
    let ada = app.create_user("ada@example.com").await;
    let token = app.token(ada).await;
    for name in ["One", "Two", "Three"] {
        json(
            app.api(&token)
                .post("/api/v1/orgs", json!({"name": name}))
                .await,
            201,
        )
        .await;
    }
    app.create_org("Someone else's", "grace@example.com").await;
    let first = json(app.api(&token).get("/api/v1/orgs?limit=2").await, 200).await;
    assert_eq!(first["items"].as_array().map(Vec::len), Some(2));
    let cursor = first["next_cursor"]
        .as_str()
        .expect("a next page")
        .to_owned();
    let second = json(
        app.api(&token)
            .get(format!("/api/v1/orgs?limit=2&cursor={cursor}"))
            .await,
        200,
    )
    .await;
    assert_eq!(second["items"].as_array().map(Vec::len), Some(1));
    assert!(second["next_cursor"].is_null());
    let mut names: Vec<String> = first["items"]
        .as_array()
        .into_iter()
        .chain(second["items"].as_array())
        .flatten()
        .filter_map(|o| o["name"].as_str().map(str::to_owned))
        .collect();
    names.sort();
    assert_eq!(names, vec!["One", "Three", "Two"]);
    problem(app.api(&token).get("/api/v1/orgs?cursor=%%%").await, 400).await;
    problem(app.api(&token).get("/api/v1/orgs?limit=0").await, 422).await;
}

async fn another_organization_is_invisible(app: TestApp) {
    let (_, ada) = app.create_org("Acme", "ada@example.com").await;
    let (globex, _) = app.create_org("Globex", "grace@example.com").await;
    let token = app.token(ada).await;
    let path = format!("/api/v1/orgs/{globex}");
    let get = problem(app.api(&token).get(&path).await, 404).await;
    let patch = problem(
        app.api(&token).patch(&path, json!({"name": "Mine"})).await,
        404,
    )
    .await;
    problem(app.api(&token).delete(&path).await, 404).await;
    // The answer is the same as for an organization that does not exist.
    let missing = problem(
        app.api(&token)
            .get(format!("/api/v1/orgs/{}", muster_domain::OrgId::new()))
            .await,
        404,
    )
    .await;
    assert_eq!(get, missing);
    assert_eq!(patch, missing);
    let list = json(app.api(&token).get("/api/v1/orgs").await, 200).await;
    assert!(list["items"]
        .as_array()
        .expect("items")
        .iter()
        .all(|o| o["name"] != "Globex"));
}

async fn settings_are_validated_and_need_owner_or_admin(app: TestApp) {
    let (org, _) = app.create_org("Acme", "ada@example.com").await;
    let admin = app.member(org, "admin@example.com", OrgRole::Admin).await;
    let creator = app
        .member(org, "creator@example.com", OrgRole::Creator)
        .await;
    let path = format!("/api/v1/orgs/{org}");
    let admin_token = app.token(admin).await;
    let creator_token = app.token(creator).await;

    problem(
        app.api(&creator_token)
            .patch(&path, json!({"name": "Mine"}))
            .await,
        403,
    )
    .await;
    let body = problem(
        app.api(&admin_token).patch(&path, json!({"invite_lifetime_days": 31, "logging_level": "loud", "public_url": "ftp://x"})).await,
        422,
    )
    .await;
    let fields: Vec<&str> = body["errors"]
        .as_array()
        .expect("errors")
        .iter()
        .filter_map(|e| e["field"].as_str())
        .collect();
    assert_eq!(
        fields,
        vec!["public_url", "invite_lifetime_days", "logging_level"]
    );
    let updated = json(
        app.api(&admin_token).patch(&path, json!({"name": "Acme Field", "invite_lifetime_days": 30, "logging_level": "DEBUG", "default_language": "de"})).await,
        200,
    )
    .await;
    assert_eq!(updated["name"], "Acme Field");
    assert_eq!(updated["invite_lifetime_days"], 30);
    assert_eq!(updated["logging_level"], "debug");
    assert_eq!(updated["role"], "admin");
    let seen = json(app.api(&creator_token).get(&path).await, 200).await;
    assert_eq!(seen["name"], "Acme Field");
    assert_eq!(seen["role"], "creator");
}

async fn only_owners_delete_an_organization(app: TestApp) {
    let (org, owner) = app.create_org("Acme", "ada@example.com").await;
    let admin = app.member(org, "admin@example.com", OrgRole::Admin).await;
    let path = format!("/api/v1/orgs/{org}");
    let confirmed = Some(serde_json::json!({"confirm": "Acme"}));
    let delete = |token: String, body: Option<serde_json::Value>| {
        let api = app.api(&token);
        let path = path.clone();
        async move { api.call(reqwest::Method::DELETE, path, body).await }
    };
    problem(delete(app.token(admin).await, confirmed.clone()).await, 403).await;
    let owner_token = app.token(owner).await;
    let unconfirmed = delete(owner_token.clone(), None).await;
    assert!(unconfirmed.status().is_client_error());
    let deleted = delete(owner_token.clone(), confirmed).await;
    assert_eq!(deleted.status(), 202);
    problem(app.api(&owner_token).get(&path).await, 404).await;
    let me = json(app.api(&owner_token).get("/api/v1/me").await, 200).await;
    assert!(me["default_org_id"].is_null());
    assert_eq!(me["memberships"].as_array().map(Vec::len), Some(0));
}
