use crate::{json, problem};
use muster_domain::{MembershipStatus, OrgRole};
use muster_test_support::{db_tests, TestApp};
use serde_json::json;

db_tests!(
    the_member_list_filters_searches_and_pages,
    role_changes_follow_the_rules,
    disabling_stops_access_at_once_and_enabling_restores_it,
    removing_and_leaving_keep_the_account,
    creators_read_and_users_are_refused,
    search_finds_rare_and_common_matches_and_follows_changes,
    deleting_an_organization_empties_its_search_index,
);

fn emails(page: &serde_json::Value) -> Vec<String> {
    page["items"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|m| m["email"].as_str().map(str::to_owned))
        .collect()
}

async fn the_member_list_filters_searches_and_pages(app: TestApp) {
    let (org, owner) = app.create_org("Acme", "ada@example.com").await;
    for (email, role) in [
        ("carl@example.com", OrgRole::Creator),
        ("dora@example.com", OrgRole::Admin),
        ("erin@example.com", OrgRole::User),
        ("fred_x@example.com", OrgRole::User),
        ("gina@example.com", OrgRole::User),
    ] {
        app.member(org, email, role).await;
    }
    let hal = app.create_user("hal@example.com").await;
    app.add_member(org, hal, OrgRole::User, MembershipStatus::Disabled)
        .await;
    app.create_org("Other", "zed@example.com").await;
    let api = app.api(&app.token(owner).await);
    let users = format!("/api/v1/orgs/{org}/users");
    let get = |query: &str| api.get(format!("{users}{query}"));

    let all = json(get("").await, 200).await;
    assert_eq!(emails(&all).len(), 7, "only this organization's members");
    assert_eq!(emails(&all)[0], "ada@example.com", "by email");
    let first = json(get("?limit=3").await, 200).await;
    assert_eq!(
        emails(&first),
        vec!["ada@example.com", "carl@example.com", "dora@example.com"]
    );
    // A member added while paging does not shift the next page.
    app.member(org, "bea@example.com", OrgRole::User).await;
    let cursor = first["next_cursor"].as_str().expect("more").to_owned();
    let second = json(get(&format!("?limit=3&cursor={cursor}")).await, 200).await;
    assert_eq!(
        emails(&second),
        vec!["erin@example.com", "fred_x@example.com", "gina@example.com"]
    );

    let active_users = json(get("?role=user&status=active").await, 200).await;
    assert_eq!(
        emails(&active_users),
        vec![
            "bea@example.com",
            "erin@example.com",
            "fred_x@example.com",
            "gina@example.com"
        ]
    );
    assert_eq!(
        emails(&json(get("?status=disabled").await, 200).await),
        vec!["hal@example.com"]
    );
    // `_` is a character, not a wildcard; names match too, in any case.
    assert_eq!(
        emails(&json(get("?q=D_X").await, 200).await),
        vec!["fred_x@example.com"]
    );
    assert_eq!(
        emails(&json(get("?q=TEST%20gina").await, 200).await),
        vec!["gina@example.com"]
    );
    // A solution id that is not one of this organization's is refused.
    let unknown = problem(
        get(&format!("?solution={}", muster_domain::OrgId::new())).await,
        422,
    )
    .await;
    assert_eq!(unknown["errors"][0]["field"], "solution");
    assert_eq!(all["items"][0]["solutions"], json!([]));
    let body = problem(get("?role=boss&status=gone").await, 422).await;
    assert_eq!(body["errors"].as_array().map(Vec::len), Some(2));
}

async fn role_changes_follow_the_rules(app: TestApp) {
    let (org, owner) = app.create_org("Acme", "ada@example.com").await;
    let admin = app.member(org, "admin@example.com", OrgRole::Admin).await;
    let user = app.member(org, "user@example.com", OrgRole::User).await;
    let owner_api = app.api(&app.token(owner).await);
    let admin_api = app.api(&app.token(admin).await);
    let member = |id: muster_domain::UserId| format!("/api/v1/orgs/{org}/users/{id}");
    let role = |role: &str| json!({"role": role});

    let changed = json(admin_api.patch(&member(user), role("creator")).await, 200).await;
    assert_eq!(changed["role"], "creator");
    problem(admin_api.patch(&member(user), role("owner")).await, 403).await;
    problem(admin_api.patch(&member(owner), role("admin")).await, 403).await;
    problem(admin_api.patch(&member(admin), role("user")).await, 403).await;
    problem(owner_api.patch(&member(owner), role("admin")).await, 403).await;
    problem(owner_api.patch(&member(user), role("emperor")).await, 422).await;
    json(owner_api.patch(&member(user), role("owner")).await, 200).await;
    // Two owners now: one can step the other down, but not the last one.
    let new_owner_api = app.api(&app.token(user).await);
    json(
        new_owner_api.patch(&member(owner), role("admin")).await,
        200,
    )
    .await;
    let audit = json(
        new_owner_api
            .get(&format!(
                "/api/v1/orgs/{org}/audit?action=member.role_changed"
            ))
            .await,
        200,
    )
    .await;
    let latest = &audit["items"][0];
    assert_eq!(latest["actor"], "user@example.com");
    assert_eq!(latest["target"], "ada@example.com");
    assert_eq!(latest["before"], json!({"role": "owner"}));
    assert_eq!(latest["after"], json!({"role": "admin"}));
    assert_eq!(audit["items"].as_array().map(Vec::len), Some(3));
}

async fn disabling_stops_access_at_once_and_enabling_restores_it(app: TestApp) {
    let (org, owner) = app.create_org("Acme", "ada@example.com").await;
    let bob = app.member(org, "bob@example.com", OrgRole::Admin).await;
    let bob_api = app.api(&app.token(bob).await);
    let owner_api = app.api(&app.token(owner).await);
    let users = format!("/api/v1/orgs/{org}/users");
    json(bob_api.get(&users).await, 200).await;
    let disabled = json(
        owner_api
            .post(&format!("{users}/{bob}/disable"), json!({}))
            .await,
        200,
    )
    .await;
    assert_eq!(disabled["status"], "disabled");
    problem(bob_api.get(&users).await, 403).await;
    // Nobody disables themselves, and the last owner stays.
    problem(
        owner_api
            .post(&format!("{users}/{owner}/disable"), json!({}))
            .await,
        403,
    )
    .await;
    let enabled = json(
        owner_api
            .post(&format!("{users}/{bob}/enable"), json!({}))
            .await,
        200,
    )
    .await;
    assert_eq!(enabled["status"], "active");
    json(bob_api.get(&users).await, 200).await;
    // Admins cannot disable owners.
    problem(
        bob_api
            .post(&format!("{users}/{owner}/disable"), json!({}))
            .await,
        403,
    )
    .await;
}

async fn removing_and_leaving_keep_the_account(app: TestApp) {
    let (org, owner) = app.create_org("Acme", "ada@example.com").await;
    let bob = app.member(org, "bob@example.com", OrgRole::User).await;
    let carl = app.member(org, "carl@example.com", OrgRole::Creator).await;
    let owner_api = app.api(&app.token(owner).await);
    let users = format!("/api/v1/orgs/{org}/users");
    assert_eq!(
        owner_api.delete(&format!("{users}/{bob}")).await.status(),
        204
    );
    problem(owner_api.get(&format!("{users}/{bob}")).await, 404).await;
    // Bob can still sign in; he just has no organization.
    app.login(&app.client(), "bob@example.com").await;
    // Carl leaves on his own.
    let carl_api = app.api(&app.token(carl).await);
    assert_eq!(
        carl_api.delete(&format!("{users}/{carl}")).await.status(),
        204
    );
    // The last owner cannot leave.
    let body = problem(owner_api.delete(&format!("{users}/{owner}")).await, 409).await;
    assert!(body["detail"]
        .as_str()
        .unwrap_or_default()
        .contains("at least one active owner"));
    let audit = json(
        owner_api
            .get(&format!("/api/v1/orgs/{org}/audit?action=member."))
            .await,
        200,
    )
    .await;
    let actions: Vec<&str> = audit["items"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|e| e["action"].as_str())
        .collect();
    assert_eq!(actions, vec!["member.left", "member.removed"]);
}

async fn creators_read_and_users_are_refused(app: TestApp) {
    let (org, _) = app.create_org("Acme", "ada@example.com").await;
    let carl = app.member(org, "carl@example.com", OrgRole::Creator).await;
    let uma = app.member(org, "uma@example.com", OrgRole::User).await;
    let users = format!("/api/v1/orgs/{org}/users");
    let carl_api = app.api(&app.token(carl).await);
    json(carl_api.get(&users).await, 200).await;
    problem(
        carl_api
            .patch(&format!("{users}/{uma}"), json!({"role": "admin"}))
            .await,
        403,
    )
    .await;
    problem(app.api(&app.token(uma).await).get(&users).await, 403).await;
}

/// Rare matches come from the trigram index, common ones from the ordered scan;
/// both give the same pages, and the index follows renames and removals.
async fn search_finds_rare_and_common_matches_and_follows_changes(app: TestApp) {
    let (org, ada) = app.create_org("Acme", "ada@example.com").await;
    for n in 0..60 {
        app.member(org, &format!("m{n:02}@example.com"), OrgRole::User)
            .await;
    }
    let zed = app.member(org, "zed.rare@example.com", OrgRole::User).await;
    app.member(org, "odd%name@example.com", OrgRole::User).await;
    let api = app.api(&app.token(ada).await);
    let search = |q: &str| {
        let api = api.clone();
        let path = format!("/api/v1/orgs/{org}/users?q={q}");
        async move { emails(&json(api.get(path).await, 200).await) }
    };
    assert_eq!(search("RARE").await, ["zed.rare@example.com"]);
    assert_eq!(search("ed.ra").await, ["zed.rare@example.com"]);
    assert_eq!(
        search("d%n").await,
        ["odd%name@example.com"],
        "% is literal"
    );
    assert_eq!(search("nobody-has-this").await, Vec::<String>::new());

    // A common match pages through everyone exactly once.
    let mut seen = Vec::new();
    let mut cursor = String::new();
    loop {
        let page = json(
            api.get(format!(
                "/api/v1/orgs/{org}/users?q=example&limit=25{cursor}"
            ))
            .await,
            200,
        )
        .await;
        seen.extend(emails(&page));
        match page["next_cursor"].as_str() {
            Some(next) => cursor = format!("&cursor={next}"),
            None => break,
        }
    }
    assert_eq!(seen.len(), 63);
    let mut sorted = seen.clone();
    sorted.sort();
    sorted.dedup();
    assert_eq!(sorted, seen, "in email order, each once");

    // Renaming is found by the new name only.
    let zed_api = app.api(&app.token(zed).await);
    json(
        zed_api
            .patch(
                "/api/v1/me",
                json!({"first_name": "Zebulon", "last_name": "Quaggafoot"}),
            )
            .await,
        200,
    )
    .await;
    assert_eq!(search("quaggafoot").await, ["zed.rare@example.com"]);
    // Removed members are not found any more.
    assert_eq!(
        api.delete(format!("/api/v1/orgs/{org}/users/{zed}"))
            .await
            .status(),
        204
    );
    assert_eq!(search("quaggafoot").await, Vec::<String>::new());
    assert_eq!(search("rare").await, Vec::<String>::new());
}

async fn deleting_an_organization_empties_its_search_index(app: TestApp) {
    let (org, ada) = app.create_org("Acme", "ada@example.com").await;
    app.member(org, "bob@example.com", OrgRole::User).await;
    let response = app
        .api(&app.token(ada).await)
        .call(
            reqwest::Method::DELETE,
            format!("/api/v1/orgs/{org}"),
            Some(json!({"confirm": "Acme"})),
        )
        .await;
    assert_eq!(response.status(), 202);
    app.worker()
        .run_until_idle()
        .await
        .expect("the deletion job");
    if app.db == muster_test_support::Db::Sqlite {
        // The index rows went with the memberships (the cascade fires the triggers).
        let mut conn = app.store().read().await.expect("a connection");
        let (rows,): (i64,) = sqlx::query_as(
            "SELECT (SELECT COUNT(*) FROM member_search) + (SELECT COUNT(*) FROM member_search_keys)",
        )
        .fetch_one(&mut *conn)
        .await
        .expect("count");
        assert_eq!(rows, 0);
    }
}
