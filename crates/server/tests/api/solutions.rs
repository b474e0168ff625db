//! Solutions, versions, assignments, groups and the app-facing list, with the
//! rules of SPEC §2 on who may do what.

use crate::{json, problem};
use muster_domain::{MembershipStatus, OrgId, OrgRole};
use muster_test_support::{db_tests, Api, TestApp};
use serde_json::{json, Value};

db_tests!(
    creating_a_solution_makes_its_creator_owner,
    creators_see_only_their_solutions,
    editing_and_deleting_follow_solution_roles,
    versions_are_semantic_and_unique,
    assignments_set_solution_roles,
    groups_hold_only_assigned_users,
    groups_come_in_pages,
    the_member_list_shows_and_filters_by_solution,
    the_app_lists_usable_solutions,
    an_invitation_can_bring_solutions,
    a_solution_admin_never_touches_an_owner,
);

/// The probe's escalation: creator C2 makes solution S and makes creator C1
/// its solution admin; C1 then tried to deny C2, to make themself owner and to
/// delete S. Each is refused, and S keeps its owner; C1 still manages users.
async fn a_solution_admin_never_touches_an_owner(app: TestApp) {
    let (org, ada) = app.create_org("Acme", "ada@example.com").await;
    let c1 = app.member(org, "c1@example.com", OrgRole::Creator).await;
    let c2 = app.member(org, "c2@example.com", OrgRole::Creator).await;
    let bob = app.member(org, "bob@example.com", OrgRole::User).await;
    let (c1_api, c2_api) = (app.api(&app.token(c1).await), app.api(&app.token(c2).await));
    let sol = id(&create(&c2_api, org, json!({"name": "Routes"})).await);
    assign(&c2_api, org, c1, &sol, "admin").await;
    let put = |api: &Api, user: muster_domain::UserId, role: &str| {
        let (api, path) = (
            api.clone(),
            format!("/api/v1/orgs/{org}/users/{user}/solutions/{sol}"),
        );
        let body = json!({ "role": role });
        async move { api.put(path, body).await }
    };
    problem(put(&c1_api, c2, "deny").await, 403).await;
    problem(put(&c1_api, c2, "user").await, 403).await;
    problem(put(&c1_api, c1, "owner").await, 403).await;
    problem(put(&c1_api, bob, "owner").await, 403).await;
    problem(
        c1_api
            .delete(format!("/api/v1/orgs/{org}/users/{c2}/solutions/{sol}"))
            .await,
        403,
    )
    .await;
    problem(
        c1_api
            .delete(format!("/api/v1/orgs/{org}/solutions/{sol}"))
            .await,
        403,
    )
    .await;
    // What a solution admin is for still works.
    assign(&c1_api, org, bob, &sol, "user").await;
    assign(&c1_api, org, bob, &sol, "deny").await;

    // The owner stays, and the last owner cannot step down while others
    // are assigned; handing over first works.
    let roles = json(
        c2_api
            .get(format!("/api/v1/orgs/{org}/solutions/{sol}/users"))
            .await,
        200,
    )
    .await;
    let c2_role = roles["items"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|u| u["email"] == "c2@example.com")
        .map(|u| u["role"].clone());
    assert_eq!(c2_role, Some(json!("owner")), "{roles}");
    let last = problem(put(&c2_api, c2, "user").await, 409).await;
    assert!(
        last["detail"]
            .as_str()
            .unwrap_or_default()
            .contains("at least one owner"),
        "{last}"
    );
    let owner = app.api(&app.token(ada).await);
    assign(&owner, org, c1, &sol, "owner").await;
    assign(&c2_api, org, c2, &sol, "user").await;
}

async fn create(api: &Api, org: OrgId, body: Value) -> Value {
    json(
        api.post(format!("/api/v1/orgs/{org}/solutions"), body)
            .await,
        201,
    )
    .await
}

fn id(value: &Value) -> String {
    value["id"].as_str().expect("an id").to_owned()
}

async fn assign(api: &Api, org: OrgId, user: impl std::fmt::Display, sol: &str, role: &str) {
    json(
        api.put(
            format!("/api/v1/orgs/{org}/users/{user}/solutions/{sol}"),
            json!({"role": role}),
        )
        .await,
        200,
    )
    .await;
}

async fn creating_a_solution_makes_its_creator_owner(app: TestApp) {
    let (org, _) = app.create_org("Acme", "ada@example.com").await;
    let carl = app.member(org, "carl@example.com", OrgRole::Creator).await;
    let api = app.api(&app.token(carl).await);
    let created = create(&api, org, json!({"name": "Field Inspections"})).await;
    assert_eq!(created["identifier"], "field-inspections");
    assert_eq!(created["icon_initials"], "FI");
    assert!(created["icon_color"]
        .as_str()
        .is_some_and(|c| c.starts_with('#')));
    assert_eq!(created["your_role"], "owner");
    assert_eq!(created["user_count"], 1);
    assert_eq!(created["latest_version"], Value::Null);
    assert_eq!(created["created_by"], carl.to_string());
    assert_eq!(created["can"]["delete"], true);

    // The identifier is unique in the organization, and must be a slug.
    let taken = problem(
        api.post(
            format!("/api/v1/orgs/{org}/solutions"),
            json!({"name": "Other", "identifier": "field-inspections"}),
        )
        .await,
        409,
    )
    .await;
    assert!(taken["detail"]
        .as_str()
        .unwrap_or_default()
        .contains("identifier"));
    let bad = problem(
        api.post(
            format!("/api/v1/orgs/{org}/solutions"),
            json!({"name": " ", "identifier": "Not A Slug", "icon_color": "blue"}),
        )
        .await,
        422,
    )
    .await;
    let fields: Vec<&str> = bad["errors"]
        .as_array()
        .expect("errors")
        .iter()
        .filter_map(|e| e["field"].as_str())
        .collect();
    assert_eq!(fields, ["name", "identifier", "icon_color"]);

    // Another organization may use the same identifier.
    let (other, gus) = app.create_org("Globex", "gus@example.com").await;
    create(
        &app.api(&app.token(gus).await),
        other,
        json!({"name": "Field Inspections"}),
    )
    .await;

    // Members with the `user` role do not manage solutions.
    let una = app.member(org, "una@example.com", OrgRole::User).await;
    problem(
        app.api(&app.token(una).await)
            .post(
                format!("/api/v1/orgs/{org}/solutions"),
                json!({"name": "X"}),
            )
            .await,
        403,
    )
    .await;
}

async fn creators_see_only_their_solutions(app: TestApp) {
    let (org, ada) = app.create_org("Acme", "ada@example.com").await;
    let owner = app.api(&app.token(ada).await);
    let carl = app.member(org, "carl@example.com", OrgRole::Creator).await;
    let creator = app.api(&app.token(carl).await);
    let mine = create(&creator, org, json!({"name": "Mine"})).await;
    let theirs = create(&owner, org, json!({"name": "Theirs"})).await;
    let denied = create(&owner, org, json!({"name": "Denied"})).await;
    assign(&owner, org, carl, &id(&denied), "deny").await;

    let list = |api: &Api| {
        let api = api.clone();
        async move {
            let page = json(api.get(format!("/api/v1/orgs/{org}/solutions")).await, 200).await;
            page["items"]
                .as_array()
                .expect("items")
                .iter()
                .filter_map(|s| s["identifier"].as_str().map(str::to_owned))
                .collect::<Vec<_>>()
        }
    };
    assert_eq!(list(&owner).await, ["denied", "mine", "theirs"]);
    assert_eq!(list(&creator).await, ["mine"]);
    problem(
        creator
            .get(format!("/api/v1/orgs/{org}/solutions/{}", id(&theirs)))
            .await,
        404,
    )
    .await;
    problem(
        creator
            .get(format!("/api/v1/orgs/{org}/solutions/{}", id(&denied)))
            .await,
        404,
    )
    .await;
    json(
        creator
            .get(format!("/api/v1/orgs/{org}/solutions/{}", id(&mine)))
            .await,
        200,
    )
    .await;

    // Paging by cursor covers every solution once.
    let first = json(
        owner
            .get(format!("/api/v1/orgs/{org}/solutions?limit=2"))
            .await,
        200,
    )
    .await;
    let cursor = first["next_cursor"].as_str().expect("a next page");
    let rest = json(
        owner
            .get(format!(
                "/api/v1/orgs/{org}/solutions?limit=2&cursor={cursor}"
            ))
            .await,
        200,
    )
    .await;
    assert_eq!(rest["items"][0]["identifier"], "theirs");
    assert_eq!(rest["next_cursor"], Value::Null);

    // A solution id of another organization is not found in this one.
    let (other, gus) = app.create_org("Globex", "gus@example.com").await;
    let foreign = create(
        &app.api(&app.token(gus).await),
        other,
        json!({"name": "Foreign"}),
    )
    .await;
    problem(
        owner
            .get(format!("/api/v1/orgs/{org}/solutions/{}", id(&foreign)))
            .await,
        404,
    )
    .await;
    problem(
        owner
            .delete(format!("/api/v1/orgs/{org}/solutions/{}", id(&foreign)))
            .await,
        404,
    )
    .await;
}

async fn editing_and_deleting_follow_solution_roles(app: TestApp) {
    let (org, ada) = app.create_org("Acme", "ada@example.com").await;
    let owner = app.api(&app.token(ada).await);
    let carl = app.member(org, "carl@example.com", OrgRole::Creator).await;
    let creator = app.api(&app.token(carl).await);
    let dora = app.member(org, "dora@example.com", OrgRole::Creator).await;
    let sol = create(
        &owner,
        org,
        json!({"name": "Routes", "description": "Daily routes"}),
    )
    .await;
    let sol_id = id(&sol);
    let path = format!("/api/v1/orgs/{org}/solutions/{sol_id}");

    // A creator with the solution role `user` sees it but cannot change it.
    assign(&owner, org, carl, &sol_id, "user").await;
    problem(creator.patch(&path, json!({"name": "Mine now"})).await, 403).await;
    problem(creator.delete(&path).await, 403).await;
    // As its solution owner they can.
    assign(&owner, org, carl, &sol_id, "owner").await;
    let renamed = json(
        creator
            .patch(&path, json!({"name": "Routes 2", "icon_initials": "r2"}))
            .await,
        200,
    )
    .await;
    assert_eq!(renamed["name"], "Routes 2");
    assert_eq!(renamed["icon_initials"], "R2");
    assert_eq!(renamed["description"], "Daily routes", "absent fields stay");

    // Deleting takes assignments, groups and versions with it, and says so.
    assign(&owner, org, dora, &sol_id, "editor").await;
    json(
        owner
            .post(format!("{path}/groups"), json!({"name": "Drivers"}))
            .await,
        201,
    )
    .await;
    json(
        owner
            .post(format!("{path}/versions"), json!({"version": "1.0.0"}))
            .await,
        201,
    )
    .await;
    let response = creator.delete(&path).await;
    assert_eq!(response.status(), 204);
    problem(owner.get(&path).await, 404).await;
    let audit = json(
        owner
            .get(format!("/api/v1/orgs/{org}/audit?action=solution.deleted"))
            .await,
        200,
    )
    .await;
    let before = &audit["items"][0]["before"];
    assert_eq!(before["identifier"], "routes");
    assert_eq!(before["assignments"], 3);
    assert_eq!(before["groups"], 1);
    assert_eq!(before["versions"], 1);
    assert_eq!(audit["items"][0]["actor"], "carl@example.com");
    let me = json(app.api(&app.token(dora).await).get("/api/v1/me").await, 200).await;
    assert_eq!(me["memberships"][0]["solution_count"], 0);
}

async fn versions_are_semantic_and_unique(app: TestApp) {
    let (org, ada) = app.create_org("Acme", "ada@example.com").await;
    let owner = app.api(&app.token(ada).await);
    let sol = create(&owner, org, json!({"name": "Routes"})).await;
    let path = format!("/api/v1/orgs/{org}/solutions/{}", id(&sol));
    let editor_id = app.member(org, "ed@example.com", OrgRole::Creator).await;
    let viewer_id = app.member(org, "vi@example.com", OrgRole::Creator).await;
    assign(&owner, org, editor_id, &id(&sol), "editor").await;
    assign(&owner, org, viewer_id, &id(&sol), "admin").await;
    let editor = app.api(&app.token(editor_id).await);
    let viewer = app.api(&app.token(viewer_id).await);

    for version in ["1.2.0", "v1.10.0", "1.3.0-beta.1"] {
        let published = json(
            editor
                .post(
                    format!("{path}/versions"),
                    json!({"version": version, "notes": "fixes"}),
                )
                .await,
            201,
        )
        .await;
        assert_eq!(published["published_by"], "ed@example.com");
    }
    let solution = json(owner.get(&path).await, 200).await;
    assert_eq!(
        solution["latest_version"], "1.10.0",
        "by semantic order, not by time"
    );
    let versions = json(owner.get(format!("{path}/versions")).await, 200).await;
    assert_eq!(versions["items"].as_array().map(Vec::len), Some(3));

    problem(
        editor
            .post(format!("{path}/versions"), json!({"version": "1.2.0"}))
            .await,
        409,
    )
    .await;
    let bad = problem(
        editor
            .post(format!("{path}/versions"), json!({"version": "1.2"}))
            .await,
        422,
    )
    .await;
    assert_eq!(bad["errors"][0]["field"], "version");
    // A solution admin manages users but does not publish.
    problem(
        viewer
            .post(format!("{path}/versions"), json!({"version": "9.0.0"}))
            .await,
        403,
    )
    .await;
}

async fn assignments_set_solution_roles(app: TestApp) {
    let (org, ada) = app.create_org("Acme", "ada@example.com").await;
    let owner = app.api(&app.token(ada).await);
    let sol = create(&owner, org, json!({"name": "Routes"})).await;
    let sol_id = id(&sol);
    let bob = app.member(org, "bob@example.com", OrgRole::User).await;
    let cy = app.member(org, "cy@example.com", OrgRole::User).await;
    let carl = app.member(org, "carl@example.com", OrgRole::Creator).await;
    let creator = app.api(&app.token(carl).await);

    // The role defaults to `user`.
    let assigned = json(
        owner
            .put(
                format!("/api/v1/orgs/{org}/users/{bob}/solutions/{sol_id}"),
                json!({}),
            )
            .await,
        200,
    )
    .await;
    assert_eq!(assigned["role"], "user");
    assign(&owner, org, bob, &sol_id, "deny").await;
    let users = json(
        owner
            .get(format!("/api/v1/orgs/{org}/solutions/{sol_id}/users"))
            .await,
        200,
    )
    .await;
    let roles: Vec<(String, String)> = users["items"]
        .as_array()
        .expect("items")
        .iter()
        .map(|u| {
            (
                u["email"].as_str().unwrap_or_default().to_owned(),
                u["role"].as_str().unwrap_or_default().to_owned(),
            )
        })
        .collect();
    assert_eq!(
        roles,
        [
            ("ada@example.com".to_owned(), "owner".to_owned()),
            ("bob@example.com".to_owned(), "deny".to_owned())
        ]
    );

    // A creator assigns only where they are solution owner or admin.
    assign(&owner, org, carl, &sol_id, "editor").await;
    problem(
        creator
            .put(
                format!("/api/v1/orgs/{org}/users/{cy}/solutions/{sol_id}"),
                json!({"role": "user"}),
            )
            .await,
        403,
    )
    .await;
    assign(&owner, org, carl, &sol_id, "admin").await;
    assign(&creator, org, cy, &sol_id, "user").await;
    let bad = problem(
        creator
            .put(
                format!("/api/v1/orgs/{org}/users/{cy}/solutions/{sol_id}"),
                json!({"role": "boss"}),
            )
            .await,
        422,
    )
    .await;
    assert!(
        bad["detail"].as_str().unwrap_or_default().contains("role"),
        "{bad}"
    );

    // Only members of the organization can be assigned.
    let (_, outsider) = app.create_org("Globex", "gus@example.com").await;
    problem(
        owner
            .put(
                format!("/api/v1/orgs/{org}/users/{outsider}/solutions/{sol_id}"),
                json!({}),
            )
            .await,
        404,
    )
    .await;

    // Unassigning; a second time there is nothing to remove.
    let path = format!("/api/v1/orgs/{org}/users/{cy}/solutions/{sol_id}");
    assert_eq!(owner.delete(&path).await.status(), 204);
    problem(owner.delete(&path).await, 404).await;

    // Removing a member from the organization ends their assignments.
    assign(&owner, org, cy, &sol_id, "user").await;
    assert_eq!(
        owner
            .delete(format!("/api/v1/orgs/{org}/users/{cy}"))
            .await
            .status(),
        204
    );
    app.add_member(org, cy, OrgRole::User, MembershipStatus::Active)
        .await;
    let back = json(
        owner.get(format!("/api/v1/orgs/{org}/users/{cy}")).await,
        200,
    )
    .await;
    assert_eq!(back["solutions"], json!([]));

    let audit = json(
        owner
            .get(format!("/api/v1/orgs/{org}/audit?action=solution."))
            .await,
        200,
    )
    .await;
    let actions: Vec<&str> = audit["items"]
        .as_array()
        .expect("items")
        .iter()
        .filter_map(|e| e["action"].as_str())
        .collect();
    assert!(actions.contains(&"solution.role_changed") && actions.contains(&"solution.unassigned"));
}

async fn groups_hold_only_assigned_users(app: TestApp) {
    let (org, ada) = app.create_org("Acme", "ada@example.com").await;
    let owner = app.api(&app.token(ada).await);
    let sol = create(&owner, org, json!({"name": "Routes"})).await;
    let sol_id = id(&sol);
    let path = format!("/api/v1/orgs/{org}/solutions/{sol_id}/groups");
    let bob = app.member(org, "bob@example.com", OrgRole::User).await;
    let group = json(owner.post(&path, json!({"name": "Drivers"})).await, 201).await;
    let group_id = id(&group);
    problem(owner.post(&path, json!({"name": "Drivers"})).await, 409).await;
    problem(owner.post(&path, json!({"name": ""})).await, 422).await;

    let member_path = format!("{path}/{group_id}/members/{bob}");
    let refused = problem(owner.put(&member_path, json!({})).await, 422).await;
    assert_eq!(refused["errors"][0]["field"], "user");
    assert!(refused["errors"][0]["message"]
        .as_str()
        .unwrap_or_default()
        .contains("bob@example.com is not assigned"));
    assign(&owner, org, bob, &sol_id, "user").await;
    let joined = json(owner.put(&member_path, json!({})).await, 200).await;
    assert_eq!(joined["members"][0]["email"], "bob@example.com");

    // Unassigning takes them out of the solution's groups.
    owner
        .delete(format!("/api/v1/orgs/{org}/users/{bob}/solutions/{sol_id}"))
        .await;
    let groups = json(owner.get(&path).await, 200).await;
    assert_eq!(groups["items"][0]["members"], json!([]));
    assign(&owner, org, bob, &sol_id, "user").await;
    json(owner.put(&member_path, json!({})).await, 200).await;
    assert_eq!(owner.delete(&member_path).await.status(), 204);
    problem(owner.delete(&member_path).await, 404).await;

    assert_eq!(
        owner.delete(format!("{path}/{group_id}")).await.status(),
        204
    );
    let groups = json(owner.get(&path).await, 200).await;
    assert_eq!(groups["items"], json!([]));
    problem(owner.delete(format!("{path}/{group_id}")).await, 404).await;
}

async fn the_member_list_shows_and_filters_by_solution(app: TestApp) {
    let (org, ada) = app.create_org("Acme", "ada@example.com").await;
    let owner = app.api(&app.token(ada).await);
    let routes = create(&owner, org, json!({"name": "Routes"})).await;
    let stock = create(&owner, org, json!({"name": "Stock"})).await;
    let bob = app.member(org, "bob@example.com", OrgRole::User).await;
    app.member(org, "cy@example.com", OrgRole::User).await;
    assign(&owner, org, bob, &id(&routes), "user").await;
    assign(&owner, org, bob, &id(&stock), "deny").await;

    let filtered = json(
        owner
            .get(format!("/api/v1/orgs/{org}/users?solution={}", id(&routes)))
            .await,
        200,
    )
    .await;
    let emails: Vec<&str> = filtered["items"]
        .as_array()
        .expect("items")
        .iter()
        .filter_map(|m| m["email"].as_str())
        .collect();
    assert_eq!(emails, ["ada@example.com", "bob@example.com"]);
    let bob_row = &filtered["items"][1];
    let solutions: Vec<(&str, &str)> = bob_row["solutions"]
        .as_array()
        .expect("solutions")
        .iter()
        .map(|s| {
            (
                s["name"].as_str().unwrap_or_default(),
                s["role"].as_str().unwrap_or_default(),
            )
        })
        .collect();
    assert_eq!(solutions, [("Routes", "user"), ("Stock", "deny")]);

    // Another organization's solution does not filter this list.
    let (other, gus) = app.create_org("Globex", "gus@example.com").await;
    let foreign = create(&app.api(&app.token(gus).await), other, json!({"name": "F"})).await;
    let bad = problem(
        owner
            .get(format!(
                "/api/v1/orgs/{org}/users?solution={}",
                id(&foreign)
            ))
            .await,
        422,
    )
    .await;
    assert_eq!(bad["errors"][0]["field"], "solution");

    let me = json(app.api(&app.token(bob).await).get("/api/v1/me").await, 200).await;
    assert_eq!(me["memberships"][0]["solution_count"], 2);
}

async fn the_app_lists_usable_solutions(app: TestApp) {
    let (org, ada) = app.create_org("Acme", "ada@example.com").await;
    let owner = app.api(&app.token(ada).await);
    let bob = app.member(org, "bob@example.com", OrgRole::User).await;
    let bob_api = app.api(&app.token(bob).await);
    for (name, role) in [
        ("Alpha", "user"),
        ("Beta", "deny"),
        ("Gamma", "editor"),
        ("Delta", "owner"),
    ] {
        let sol = create(&owner, org, json!({"name": name})).await;
        assign(&owner, org, bob, &id(&sol), role).await;
        if name == "Alpha" {
            json(
                owner
                    .post(
                        format!("/api/v1/orgs/{org}/solutions/{}/versions", id(&sol)),
                        json!({"version": "2.1.0"}),
                    )
                    .await,
                201,
            )
            .await;
        }
    }
    // A member with the `user` role: no Management, but the app API.
    problem(
        bob_api.get(format!("/api/v1/orgs/{org}/solutions")).await,
        403,
    )
    .await;
    let listed = json(
        bob_api
            .get(format!("/api/v1/app/solutions?org={org}"))
            .await,
        200,
    )
    .await;
    let names: Vec<(&str, &str)> = listed["items"]
        .as_array()
        .expect("items")
        .iter()
        .map(|s| {
            (
                s["name"].as_str().unwrap_or_default(),
                s["role"].as_str().unwrap_or_default(),
            )
        })
        .collect();
    assert_eq!(names, [("Alpha", "user"), ("Delta", "owner")]);
    assert_eq!(listed["items"][0]["latest_version"], "2.1.0");

    // Without ?org= it is the default organization, once one is set.
    let (other, gus) = app.create_org("Globex", "gus@example.com").await;
    app.add_member(other, bob, OrgRole::User, MembershipStatus::Active)
        .await;
    json(
        bob_api
            .patch("/api/v1/me", json!({"default_org_id": other}))
            .await,
        200,
    )
    .await;
    let default = json(bob_api.get("/api/v1/app/solutions").await, 200).await;
    assert_eq!(default["org_id"], other.to_string());
    assert_eq!(default["items"], json!([]));

    // An organization one is not in, or a disabled membership.
    problem(
        app.api(&app.token(gus).await)
            .get(format!("/api/v1/app/solutions?org={org}"))
            .await,
        404,
    )
    .await;
    problem(bob_api.get("/api/v1/app/solutions?org=nonsense").await, 404).await;
    owner
        .post_empty(format!("/api/v1/orgs/{org}/users/{bob}/disable"))
        .await;
    problem(
        bob_api
            .get(format!("/api/v1/app/solutions?org={org}"))
            .await,
        403,
    )
    .await;
    problem(app.api("").get("/api/v1/app/solutions").await, 401).await;
}

async fn an_invitation_can_bring_solutions(app: TestApp) {
    let (org, ada) = app.create_org("Acme", "ada@example.com").await;
    let owner = app.api(&app.token(ada).await);
    let routes = create(&owner, org, json!({"name": "Routes"})).await;
    let invited = json(
        owner
            .post(
                format!("/api/v1/orgs/{org}/invitations"),
                json!({"email": "new@example.com", "solutions": [{"solution_id": id(&routes), "role": "editor"}]}),
            )
            .await,
        201,
    )
    .await;
    let user = invited["user_id"].as_str().expect("user");
    let member = json(
        owner.get(format!("/api/v1/orgs/{org}/users/{user}")).await,
        200,
    )
    .await;
    assert_eq!(member["solutions"][0]["name"], "Routes");
    assert_eq!(member["solutions"][0]["role"], "editor");

    // A solution of another organization, or a made-up role: nothing is created.
    let (other, gus) = app.create_org("Globex", "gus@example.com").await;
    let foreign = create(&app.api(&app.token(gus).await), other, json!({"name": "F"})).await;
    for grant in [
        json!({"solution_id": id(&foreign)}),
        json!({"solution_id": id(&routes), "role": "boss"}),
        json!({"solution_id": "nonsense"}),
    ] {
        let body = problem(
            owner
                .post(
                    format!("/api/v1/orgs/{org}/invitations"),
                    json!({"email": "second@example.com", "solutions": [grant]}),
                )
                .await,
            422,
        )
        .await;
        assert_eq!(body["errors"][0]["field"], "solutions", "{body}");
    }
    let list = json(
        owner
            .get(format!("/api/v1/orgs/{org}/users?q=second"))
            .await,
        200,
    )
    .await;
    assert_eq!(
        list["items"],
        json!([]),
        "the refused invitation left nothing behind"
    );
}

async fn groups_come_in_pages(app: TestApp) {
    let (org, owner_id) = app.create_org("Acme", "ada@example.com").await;
    let owner = app.api(&app.token(owner_id).await);
    let sol = id(&create(&owner, org, json!({"name": "Fleet", "identifier": "fleet"})).await);
    let path = format!("/api/v1/orgs/{org}/solutions/{sol}/groups");
    for name in ["Drivers", "Dispatch", "Mechanics"] {
        json(owner.post(&path, json!({"name": name})).await, 201).await;
    }
    let names = |page: &Value| -> Vec<String> {
        page["items"]
            .as_array()
            .expect("items")
            .iter()
            .map(|g| g["name"].as_str().expect("name").to_owned())
            .collect()
    };
    let first = json(owner.get(format!("{path}?limit=2")).await, 200).await;
    assert_eq!(names(&first), ["Dispatch", "Drivers"]);
    let cursor = first["next_cursor"].as_str().expect("a next page");
    let second = json(
        owner.get(format!("{path}?limit=2&cursor={cursor}")).await,
        200,
    )
    .await;
    assert_eq!(names(&second), ["Mechanics"]);
    assert_eq!(second["next_cursor"], Value::Null);
    // The whole list in one page has no next page either.
    let all = json(owner.get(&path).await, 200).await;
    assert_eq!(names(&all).len(), 3);
    assert_eq!(all["next_cursor"], Value::Null);
    problem(owner.get(format!("{path}?limit=0")).await, 422).await;
    problem(owner.get(format!("{path}?cursor=not-ours!")).await, 400).await;
}
