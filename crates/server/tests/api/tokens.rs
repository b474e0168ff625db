//! Personal access tokens: the lease rules with an injected clock, coalesced
//! use writes, ownership, and the audit trail.

use crate::{json, problem};
use muster_domain::{MembershipStatus, OrgRole};
use muster_test_support::{db_tests, TestApp};
use serde_json::{json, Value};
use time::format_description::well_known::Rfc3339;
use time::{Duration, OffsetDateTime};

db_tests!(
    a_new_token_is_shown_once_and_works,
    the_lease_follows_use_and_extension,
    use_is_written_at_most_once_a_minute,
    only_the_owner_sees_or_changes_a_token,
    a_deleted_token_stops_at_once,
    another_instance_deleting_or_extending_a_token_is_seen_within_a_second,
    token_names_are_checked,
    token_actions_are_audited_without_the_secret,
    reminders_go_out_a_week_and_a_day_before_the_lease_ends,
);

/// The reminder mails about the token named `name` so far: their subjects
/// and the links in them.
fn reminders(app: &TestApp, name: &str) -> Vec<(String, Option<String>)> {
    muster_test_support::outbox(app)
        .iter()
        .filter(|m| m.contains(&format!("token \"{name}\" stops working")))
        .map(|m| {
            let subject = m
                .lines()
                .find_map(|l| l.strip_prefix("Subject: "))
                .unwrap_or_default()
                .to_owned();
            (subject, muster_test_support::link_in(m, "/me/tokens/"))
        })
        .collect()
}

/// A week and a day before a lease ends, its owner gets a mail with the
/// link to extend it, once each; an extended lease is reminded of again; a
/// token first seen within its last day gets one mail, not two.
async fn reminders_go_out_a_week_and_a_day_before_the_lease_ends(app: TestApp) {
    let (_, ada) = app.create_org("Acme", "ada@example.com").await;
    let admin = app.token(ada).await;
    let created = json(
        app.api(&admin)
            .post("/api/v1/me/tokens", json!({"name": "CI"}))
            .await,
        201,
    )
    .await;
    let id = created["id"].as_str().expect("an id").to_owned();
    let lease = at(&created["lease_expires_at"]);
    let housekeeping = || async {
        app.worker().maintain(app.clock_now()).await;
        app.worker().run_until_idle().await.expect("jobs");
    };
    housekeeping().await;
    assert!(reminders(&app, "CI").is_empty());

    app.clock
        .advance(lease - Duration::days(7) + Duration::minutes(5) - app.clock_now());
    housekeeping().await;
    housekeeping().await;
    let sent = reminders(&app, "CI");
    assert_eq!(sent.len(), 1, "once: {sent:?}");
    assert_eq!(
        sent[0].0,
        "Your Muster token \"CI\" stops working in 7 days"
    );
    let link = sent[0].1.clone().expect("a link to the token");
    assert!(link.ends_with(&format!("/me/tokens/{id}")), "{link}");
    // The link opens the token, with its Extend button.
    let client = app.form_session("ada@example.com").await;
    let path = link.strip_prefix(&app.base).expect("a link to this server");
    let (status, page) = muster_test_support::ui::page(&client, app.url(path)).await;
    assert_eq!(status, 200);
    assert!(page.mentions("Extend"), "{page}");

    app.clock
        .advance(lease - Duration::DAY + Duration::minutes(5) - app.clock_now());
    housekeeping().await;
    let sent = reminders(&app, "CI");
    assert_eq!(sent.len(), 2, "{sent:?}");
    assert_eq!(sent[1].0, "Your Muster token \"CI\" stops working tomorrow");

    // Extended: fourteen more days, reminded of again a week before.
    let extended = json(
        app.api(&admin)
            .post_empty(format!("/api/v1/me/tokens/{id}/extend"))
            .await,
        200,
    )
    .await;
    let lease = at(&extended["lease_expires_at"]);
    housekeeping().await;
    assert_eq!(reminders(&app, "CI").len(), 2);
    app.clock
        .advance(lease - Duration::days(7) + Duration::minutes(5) - app.clock_now());
    housekeeping().await;
    assert_eq!(reminders(&app, "CI").len(), 3);

    // Found only in its last day (the server was down the week before).
    let late = json(
        app.api(&admin)
            .post("/api/v1/me/tokens", json!({"name": "Late"}))
            .await,
        201,
    )
    .await;
    let lease = at(&late["lease_expires_at"]);
    app.clock
        .advance(lease - Duration::hours(3) - app.clock_now());
    housekeeping().await;
    let sent = reminders(&app, "Late");
    assert_eq!(sent.len(), 1, "{sent:?}");
    assert!(sent[0].0.ends_with("tomorrow"), "{sent:?}");
}

fn at(value: &Value) -> OffsetDateTime {
    OffsetDateTime::parse(value.as_str().expect("a timestamp"), &Rfc3339).expect("RFC 3339")
}

async fn create(app: &TestApp, bearer: &str, name: &str) -> Value {
    json(
        app.api(bearer)
            .post("/api/v1/me/tokens", json!({"name": name}))
            .await,
        201,
    )
    .await
}

async fn listed(app: &TestApp, bearer: &str) -> Vec<Value> {
    let body = json(app.api(bearer).get("/api/v1/me/tokens").await, 200).await;
    body["items"].as_array().cloned().unwrap_or_default()
}

async fn a_new_token_is_shown_once_and_works(app: TestApp) {
    let (_, ada) = app.create_org("Acme", "ada@example.com").await;
    let first = app.token(ada).await;
    let created = create(&app, &first, "CI pipeline").await;
    let secret = created["token"].as_str().expect("the secret").to_owned();
    assert!(
        secret.starts_with("mst_pat_") && secret.len() == 54,
        "{secret}"
    );
    assert_eq!(created["name"], "CI pipeline");
    assert!(secret.starts_with(created["prefix"].as_str().expect("prefix")));
    assert_eq!(created["last_used_at"], Value::Null);
    let created_at = at(&created["created_at"]);
    assert!((created_at - app.clock_now()).abs() < Duration::seconds(1));
    // Six calendar months of lease from creation.
    let lease = at(&created["lease_expires_at"]);
    assert!(lease - created_at >= Duration::days(181) && lease - created_at <= Duration::days(184));

    // The new secret authenticates as Ada.
    let me = json(app.api(&secret).get("/api/v1/me").await, 200).await;
    assert_eq!(me["email"], "ada@example.com");

    // Lists never carry a secret.
    let items = listed(&app, &secret).await;
    assert_eq!(items.len(), 2);
    assert_eq!(items[0]["name"], "CI pipeline", "newest first");
    for item in &items {
        assert!(item.get("token").is_none(), "{item}");
        assert!(!item.to_string().contains(&secret[12..]), "{item}");
    }
}

async fn the_lease_follows_use_and_extension(app: TestApp) {
    let (_, ada) = app.create_org("Acme", "ada@example.com").await;
    let admin = app.token(ada).await;
    let created = create(&app, &admin, "deploy").await;
    let id = created["id"].as_str().expect("id").to_owned();
    let secret = created["token"].as_str().expect("secret").to_owned();
    let initial = at(&created["lease_expires_at"]);
    let lease_of = |items: Vec<Value>| {
        items
            .iter()
            .find(|t| t["id"] == id.as_str())
            .map(|t| at(&t["lease_expires_at"]))
            .expect("the token is listed")
    };

    // Used far from expiry: the lease stays where it is.
    app.clock.advance(Duration::days(30));
    json(app.api(&secret).get("/api/v1/me").await, 200).await;
    assert_eq!(lease_of(listed(&app, &admin).await), initial);

    // Used five days before expiry: it keeps fourteen days from now.
    let near = initial - Duration::days(5) - app.clock_now();
    app.clock.advance(near);
    json(app.api(&secret).get("/api/v1/me").await, 200).await;
    let after_use = lease_of(listed(&app, &admin).await);
    assert!(
        (after_use - (app.clock_now() + Duration::days(14))).abs() < Duration::seconds(1),
        "{after_use} vs {}",
        app.clock_now()
    );

    // Extend: fourteen days from the current lease.
    let extended = json(
        app.api(&admin)
            .post_empty(format!("/api/v1/me/tokens/{id}/extend"))
            .await,
        200,
    )
    .await;
    assert_eq!(
        at(&extended["lease_expires_at"]),
        after_use + Duration::days(14)
    );
    assert_eq!(
        lease_of(listed(&app, &admin).await),
        after_use + Duration::days(14)
    );

    // Past the lease, the token is refused, and the detail says what to do.
    app.clock.advance(Duration::days(29));
    let body = problem(app.api(&secret).get("/api/v1/me").await, 401).await;
    let detail = body["detail"].as_str().unwrap_or_default();
    assert!(
        detail.contains("expired") && detail.contains("extend"),
        "{detail}"
    );

    // An expired token can still be extended by its owner (signed in with
    // another credential), from now.
    let admin = app.token(ada).await;
    let extended = json(
        app.api(&admin)
            .post_empty(format!("/api/v1/me/tokens/{id}/extend"))
            .await,
        200,
    )
    .await;
    assert!(
        (at(&extended["lease_expires_at"]) - (app.clock_now() + Duration::days(14))).abs()
            < Duration::seconds(1)
    );
    json(app.api(&secret).get("/api/v1/me").await, 200).await;
}

async fn use_is_written_at_most_once_a_minute(app: TestApp) {
    let (org, ada) = app.create_org("Acme", "ada@example.com").await;
    let admin = app.token(ada).await;
    let created = create(&app, &admin, "busy").await;
    let id = created["id"].as_str().expect("id").to_owned();
    let secret = created["token"].as_str().expect("secret").to_owned();
    let last_used = || async {
        listed(&app, &admin)
            .await
            .iter()
            .find(|t| t["id"] == id.as_str())
            .map(|t| t["last_used_at"].clone())
            .expect("listed")
    };
    let first_use = app.clock_now();
    for _ in 0..20 {
        json(app.api(&secret).get("/api/v1/me").await, 200).await;
        app.clock.advance(Duration::seconds(2));
    }
    // Forty seconds of requests: one write, at the first use.
    let written = at(&last_used().await);
    assert!(
        (written - first_use).abs() < Duration::seconds(1),
        "{written}"
    );
    let used_events = || async {
        let body = json(
            app.api(&admin)
                .get(format!("/api/v1/orgs/{org}/audit?action=token.used"))
                .await,
            200,
        )
        .await;
        body["items"]
            .as_array()
            .map(|items| {
                items
                    .iter()
                    .filter(|e| e["target"].as_str().unwrap_or_default().contains("busy"))
                    .count()
            })
            .unwrap_or_default()
    };
    assert_eq!(used_events().await, 1);

    // A minute after that write, the next use is written again.
    app.clock.advance(Duration::seconds(20));
    json(app.api(&secret).get("/api/v1/me").await, 200).await;
    let rewritten = at(&last_used().await);
    assert!(
        (rewritten - app.clock_now()).abs() < Duration::seconds(1),
        "{rewritten}"
    );
    assert_eq!(used_events().await, 2);

    // Racing requests in the same minute still make one write.
    app.clock.advance(Duration::minutes(5));
    let api = app.api(&secret);
    let (r1, r2, r3, r4) = tokio::join!(
        api.get("/api/v1/me"),
        api.get("/api/v1/me"),
        api.get("/api/v1/me"),
        api.get("/api/v1/me"),
    );
    for response in [r1, r2, r3, r4] {
        assert_eq!(response.status(), 200);
    }
    assert_eq!(used_events().await, 3);
}

async fn only_the_owner_sees_or_changes_a_token(app: TestApp) {
    let (org, ada) = app.create_org("Acme", "ada@example.com").await;
    let bob = app.member(org, "bob@example.com", OrgRole::Admin).await;
    let ada_token = app.token(ada).await;
    let bob_token = app.token(bob).await;
    let created = create(&app, &ada_token, "ada's").await;
    let id = created["id"].as_str().expect("id");
    // Bob, even as an admin of Ada's organization, cannot see or touch it.
    let bobs = listed(&app, &bob_token).await;
    assert!(bobs.iter().all(|t| t["id"] != id), "{bobs:?}");
    problem(
        app.api(&bob_token)
            .post_empty(format!("/api/v1/me/tokens/{id}/extend"))
            .await,
        404,
    )
    .await;
    problem(
        app.api(&bob_token)
            .delete(format!("/api/v1/me/tokens/{id}"))
            .await,
        404,
    )
    .await;
    problem(
        app.api(&bob_token)
            .delete("/api/v1/me/tokens/not-an-id")
            .await,
        404,
    )
    .await;
    // Ada's token still works and is unchanged.
    let secret = created["token"].as_str().expect("secret");
    json(app.api(secret).get("/api/v1/me").await, 200).await;
    let mine = listed(&app, &ada_token).await;
    let still = mine.iter().find(|t| t["id"] == id).expect("still there");
    assert_eq!(still["lease_expires_at"], created["lease_expires_at"]);
}

async fn a_deleted_token_stops_at_once(app: TestApp) {
    let (_, ada) = app.create_org("Acme", "ada@example.com").await;
    let admin = app.token(ada).await;
    let created = create(&app, &admin, "temporary").await;
    let id = created["id"].as_str().expect("id");
    let secret = created["token"].as_str().expect("secret");
    json(app.api(secret).get("/api/v1/me").await, 200).await;
    let response = app
        .api(&admin)
        .delete(format!("/api/v1/me/tokens/{id}"))
        .await;
    assert_eq!(response.status(), 204);
    problem(app.api(secret).get("/api/v1/me").await, 401).await;
    assert!(listed(&app, &admin).await.iter().all(|t| t["id"] != id));
    problem(
        app.api(&admin)
            .delete(format!("/api/v1/me/tokens/{id}"))
            .await,
        404,
    )
    .await;
}

/// Changes written by another instance of a cluster (here: straight to the
/// database) are seen once this instance's memory of the token is a second old.
async fn another_instance_deleting_or_extending_a_token_is_seen_within_a_second(app: TestApp) {
    let (_, ada) = app.create_org("Acme", "ada@example.com").await;
    let admin = app.token(ada).await;
    let created = create(&app, &admin, "shared").await;
    let id: muster_domain::TokenId = created["id"]
        .as_str()
        .and_then(|id| id.parse().ok())
        .expect("an id");
    let secret = created["token"].as_str().expect("secret");
    json(app.api(secret).get("/api/v1/me").await, 200).await;

    // Another instance extends the lease by a year; a use written here later
    // keeps that lease instead of writing back the one it had read.
    let extended = app.clock_now() + Duration::days(365);
    let mut tx = app.store().begin().await.expect("tx");
    muster_store::tokens::set_lease(&mut tx, id, extended)
        .await
        .expect("lease");
    tx.commit().await.expect("commit");
    app.clock.advance(Duration::minutes(2));
    json(app.api(secret).get("/api/v1/me").await, 200).await;
    let mine = listed(&app, &admin).await;
    let token = mine
        .iter()
        .find(|t| t["id"] == id.to_string())
        .expect("listed");
    assert!(
        (at(&token["lease_expires_at"]) - extended).abs() < Duration::seconds(1),
        "{token}"
    );
    assert!(
        (at(&token["last_used_at"]) - app.clock_now()).abs() < Duration::seconds(1),
        "{token}"
    );

    // Another instance deletes it: refused here a second later at most.
    json(app.api(secret).get("/api/v1/me").await, 200).await;
    let mut tx = app.store().begin().await.expect("tx");
    muster_store::tokens::delete(&mut tx, id)
        .await
        .expect("delete");
    tx.commit().await.expect("commit");
    app.clock.advance(Duration::seconds(1));
    let body = problem(app.api(secret).get("/api/v1/me").await, 401).await;
    assert!(
        body["detail"]
            .as_str()
            .unwrap_or_default()
            .contains("deleted"),
        "{body}"
    );
}

async fn token_names_are_checked(app: TestApp) {
    let (_, ada) = app.create_org("Acme", "ada@example.com").await;
    let admin = app.token(ada).await;
    for name in ["", "   ", &"x".repeat(101)] {
        let body = problem(
            app.api(&admin)
                .post("/api/v1/me/tokens", json!({"name": name}))
                .await,
            422,
        )
        .await;
        assert_eq!(body["errors"][0]["field"], "name", "{body}");
    }
    problem(
        app.api(&admin)
            .post("/api/v1/me/tokens", json!({"label": "x"}))
            .await,
        422,
    )
    .await;
    assert_eq!(listed(&app, &admin).await.len(), 1, "nothing was created");
}

async fn token_actions_are_audited_without_the_secret(app: TestApp) {
    let (org, ada) = app.create_org("Acme", "ada@example.com").await;
    let (other_org, gus) = app.create_org("Globex", "gus@example.com").await;
    let gus_token = app.token(gus).await;
    app.add_member(other_org, ada, OrgRole::User, MembershipStatus::Active)
        .await;
    let admin = app.token(ada).await;
    let created = create(&app, &admin, "audited").await;
    let id = created["id"].as_str().expect("id");
    let secret = created["token"].as_str().expect("secret").to_owned();
    json(app.api(&secret).get("/api/v1/me").await, 200).await;
    json(
        app.api(&admin)
            .post_empty(format!("/api/v1/me/tokens/{id}/extend"))
            .await,
        200,
    )
    .await;
    app.api(&admin)
        .delete(format!("/api/v1/me/tokens/{id}"))
        .await;
    let body = json(
        app.api(&admin)
            .get(format!("/api/v1/orgs/{org}/audit?action=token."))
            .await,
        200,
    )
    .await;
    let actions: Vec<&str> = body["items"]
        .as_array()
        .expect("items")
        .iter()
        .filter(|e| e["target"].as_str().unwrap_or_default().contains("audited"))
        .filter_map(|e| e["action"].as_str())
        .collect();
    assert_eq!(
        actions,
        [
            "token.deleted",
            "token.extended",
            "token.used",
            "token.created"
        ]
    );
    let text = body.to_string();
    assert!(!text.contains(&secret[12..]), "the secret is in the log");
    assert!(text.contains("ada@example.com"));
    // Globex's owner sees Ada's token events in Globex's own log too.
    let globex = json(
        app.api(&gus_token)
            .get(format!(
                "/api/v1/orgs/{other_org}/audit?action=token.created"
            ))
            .await,
        200,
    )
    .await;
    assert!(globex["items"]
        .as_array()
        .expect("items")
        .iter()
        .any(|e| e["target"].as_str().unwrap_or_default().contains("audited")));
}
