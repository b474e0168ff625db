//! Solutions, a member's solutions and My profile's organizations through
//! plain HTML forms (no JavaScript), on both databases.

use crate::json;
use muster_domain::{MembershipStatus, OrgRole};
use muster_test_support::ui::{page, post, submit};
use muster_test_support::{csrf_field, db_tests, TestApp};
use serde_json::{json, Value};

db_tests!(
    solution_pages_follow_what_each_role_may_do,
    a_member_gets_several_solutions_at_once,
    my_profile_sets_the_default_and_leaves_an_organization,
);

async fn solution(app: &TestApp, token: &str, org: muster_domain::OrgId, name: &str) -> Value {
    json(
        app.api(token)
            .post(
                format!("/api/v1/orgs/{org}/solutions"),
                json!({"name": name}),
            )
            .await,
        201,
    )
    .await
}

async fn solution_pages_follow_what_each_role_may_do(app: TestApp) {
    let (org, ada) = app.create_org("Acme", "ada@example.com").await;
    let owner_token = app.token(ada).await;
    let hidden = solution(&app, &owner_token, org, "Hidden").await;
    app.member(org, "carl@example.com", OrgRole::Creator).await;
    let carl = app.form_session("carl@example.com").await;

    let (status, list) = page(&carl, app.url(&format!("/orgs/{org}/solutions"))).await;
    assert_eq!(status, 200);
    assert!(
        !list.mentions("Hidden"),
        "a creator sees only their solutions"
    );
    let hidden_page = format!(
        "/orgs/{org}/solutions/{}",
        hidden["id"].as_str().unwrap_or_default()
    );
    assert_eq!(page(&carl, app.url(&hidden_page)).await.0, 404);

    // Creating through the form: a mistake is shown next to its field.
    let (_, form) = page(&carl, app.url(&format!("/orgs/{org}/solutions/new"))).await;
    let csrf = csrf_field(&form);
    let (status, refused) = submit(
        &carl,
        app.url(&format!("/orgs/{org}/solutions")),
        &[
            ("csrf_token", &csrf),
            ("name", "Routes"),
            ("identifier", "Bad Slug"),
        ],
    )
    .await;
    assert_eq!(status, 422);
    let error = refused
        .field_error("identifier")
        .expect("an error next to the identifier");
    assert_eq!(refused.text_of("#identifier-error"), error);
    let (status, created) = post(
        &carl,
        app.url(&format!("/orgs/{org}/solutions")),
        &[("csrf_token", &csrf), ("name", "Routes")],
    )
    .await;
    assert_eq!(status, 303);
    let (_, detail) = page(&carl, app.url(&created)).await;
    assert_eq!(
        detail.text_of("#notice"),
        "The solution was created. You are its owner."
    );
    assert!(
        detail.has("nav.tabs a#tab-settings"),
        "the owner may edit and delete"
    );

    // Publishing from the Versions tab; a bad version comes back as an error.
    let base = created.split('?').next().unwrap_or_default().to_owned();
    let (_, to) = post(
        &carl,
        app.url(&format!("{base}/publish")),
        &[("csrf_token", &csrf), ("version", "one")],
    )
    .await;
    assert!(
        to.contains("tab=versions") && !to.contains("error="),
        "{to}"
    );
    let (_, refused) = page(&carl, app.url(&to)).await;
    assert!(!refused.text_of("#error").is_empty(), "{refused}");
    let (_, to) = post(
        &carl,
        app.url(&format!("{base}/publish")),
        &[("csrf_token", &csrf), ("version", "1.0.0")],
    )
    .await;
    let (_, versions) = page(&carl, app.url(&to)).await;
    assert_eq!(versions.text_of("#notice"), "Version 1.0.0 was published.");

    // A forged form changes nothing.
    let (status, _) = post(
        &carl,
        app.url(&format!("{base}/delete")),
        &[("csrf_token", "forged"), ("confirm", "yes")],
    )
    .await;
    assert_eq!(status, 403);
    // Deleting needs the box ticked, then goes back to the list.
    let (_, to) = post(
        &carl,
        app.url(&format!("{base}/delete")),
        &[("csrf_token", &csrf)],
    )
    .await;
    let (_, refused) = page(&carl, app.url(&to)).await;
    assert!(refused.text_of("#error").contains("box"), "{refused}");
    let (_, to) = post(
        &carl,
        app.url(&format!("{base}/delete")),
        &[("csrf_token", &csrf), ("confirm", "yes")],
    )
    .await;
    assert_eq!(to, format!("/orgs/{org}/solutions?notice=deleted"));
    assert_eq!(page(&carl, app.url(&base)).await.0, 404);

    // Members with the `user` role have no Management pages at all.
    app.member(org, "una@example.com", OrgRole::User).await;
    let una = app.form_session("una@example.com").await;
    let response = una
        .get(app.url(&format!("/orgs/{org}/solutions")))
        .send()
        .await
        .expect("page");
    assert_eq!(response.status(), 303);
}

async fn a_member_gets_several_solutions_at_once(app: TestApp) {
    let (org, ada) = app.create_org("Acme", "ada@example.com").await;
    let token = app.token(ada).await;
    let routes = solution(&app, &token, org, "Routes").await;
    let stock = solution(&app, &token, org, "Stock").await;
    let bob = app.member(org, "bob@example.com", OrgRole::User).await;
    let admin = app.form_session("ada@example.com").await;
    let user_page = format!("/orgs/{org}/users/{bob}");
    let (_, detail) = page(&admin, app.url(&user_page)).await;
    assert_eq!(
        detail.select("table.member-solutions tbody td"),
        ["No solutions are assigned."]
    );
    assert!(detail.has("a#add-solutions"), "{detail}");

    let (_, panel) = page(&admin, app.url(&format!("{user_page}/solutions"))).await;
    let csrf = csrf_field(&panel);
    let ids = [
        routes["id"].as_str().unwrap_or_default(),
        stock["id"].as_str().unwrap_or_default(),
    ];
    let (status, to) = post(
        &admin,
        app.url(&format!("{user_page}/solutions")),
        &[
            ("csrf_token", &csrf),
            ("solution_ids", ids[0]),
            ("solution_ids", ids[1]),
            ("role", "editor"),
        ],
    )
    .await;
    assert_eq!(status, 303);
    let (_, detail) = page(&admin, app.url(&to)).await;
    assert_eq!(detail.text_of("#notice"), "2 solutions were added.");
    assert_eq!(
        detail.attrs("table.member-solutions tr", "data-solution"),
        ["Routes", "Stock"]
    );
    let member = json(
        app.api(&token)
            .get(format!("/api/v1/orgs/{org}/users/{bob}"))
            .await,
        200,
    )
    .await;
    let roles: Vec<&str> = member["solutions"]
        .as_array()
        .expect("solutions")
        .iter()
        .filter_map(|s| s["role"].as_str())
        .collect();
    assert_eq!(roles, ["editor", "editor"]);

    // The role picker on the member's page comes back to the member's page.
    let (_, to) = post(
        &admin,
        app.url(&format!("/orgs/{org}/solutions/{}/role", ids[0])),
        &[
            ("csrf_token", &csrf),
            ("user_id", &bob.to_string()),
            ("role", "deny"),
            ("return_to", &user_page),
        ],
    )
    .await;
    assert!(to.starts_with(&user_page), "{to}");
    let (_, detail) = page(&admin, app.url(&to)).await;
    assert_eq!(detail.text_of("#notice"), "The solution role is now deny.");

    // Nothing ticked: refused, next to the form.
    let (status, refused) = submit(
        &admin,
        app.url(&format!("{user_page}/solutions")),
        &[("csrf_token", &csrf), ("role", "user")],
    )
    .await;
    assert_eq!(status, 422);
    assert_eq!(
        refused.text_of("#form-error"),
        "Tick at least one solution."
    );

    // The Users list shows the solutions and filters by one.
    let (_, list) = page(
        &admin,
        app.url(&format!("/orgs/{org}/users?solution={}", ids[1])),
    )
    .await;
    let rows = list.rows("table.members tbody tr[data-email]");
    // Ada created both (she is their owner), Bob was given them.
    assert_eq!(rows.len(), 2, "{list}");
    let bob_row = rows
        .iter()
        .find(|cells| cells[1] == "bob@example.com")
        .expect("Bob's row");
    assert_eq!(bob_row[3], "Routes, Stock", "the Solutions column");
}

async fn my_profile_sets_the_default_and_leaves_an_organization(app: TestApp) {
    let (acme, ada) = app.create_org("Acme", "ada@example.com").await;
    let (globex, _) = app.create_org("Globex", "gus@example.com").await;
    app.add_member(globex, ada, OrgRole::Creator, MembershipStatus::Active)
        .await;
    let client = app.form_session("ada@example.com").await;
    let (_, profile) = page(&client, app.url("/me")).await;
    assert!(profile.has("#org-list tr[data-org=Globex]"), "{profile}");
    let csrf = csrf_field(&profile);

    let (_, to) = post(
        &client,
        app.url(&format!("/me/orgs/{globex}/default")),
        &[("csrf_token", &csrf)],
    )
    .await;
    assert!(to.contains("org=default"), "{to}");
    let me = json(app.api(&app.token(ada).await).get("/api/v1/me").await, 200).await;
    assert_eq!(me["default_org_id"], globex.to_string());

    // The last owner cannot leave; the reason is on the page.
    let (_, to) = post(
        &client,
        app.url(&format!("/me/orgs/{acme}/leave")),
        &[("csrf_token", &csrf), ("confirm", "yes")],
    )
    .await;
    let (_, refused) = page(&client, app.url(&to)).await;
    assert!(
        !refused.text_of("p.form-error#profile-error").is_empty(),
        "{refused}"
    );
    // Without the box ticked nothing happens either.
    let (_, to) = post(
        &client,
        app.url(&format!("/me/orgs/{globex}/leave")),
        &[("csrf_token", &csrf)],
    )
    .await;
    assert!(!to.contains("error="), "{to}");
    let (_, refused) = page(&client, app.url(&to)).await;
    assert!(
        refused.text_of("#profile-error").contains("Tick the box"),
        "{refused}"
    );
    let (_, to) = post(
        &client,
        app.url(&format!("/me/orgs/{globex}/leave")),
        &[("csrf_token", &csrf), ("confirm", "yes")],
    )
    .await;
    let (_, left) = page(&client, app.url(&to)).await;
    assert_eq!(
        left.text_of(".notice[role=status]"),
        "You left the organization."
    );
    assert!(!left.has("[data-org=Globex]"), "{left}");
    let me = json(app.api(&app.token(ada).await).get("/api/v1/me").await, 200).await;
    assert_eq!(
        me["default_org_id"],
        Value::Null,
        "leaving clears the default"
    );
    let (status, _) = post(
        &client,
        app.url(&format!("/me/orgs/{globex}/leave")),
        &[("csrf_token", &csrf), ("confirm", "yes")],
    )
    .await;
    assert_eq!(status, 404);
}
