//! Push notifications through the API: sending, audiences, scheduling and
//! cancelling, who may send, devices, the inbox, live events and Web Push to
//! a real push service on 127.0.0.1.

use crate::{assign, json, problem, solution};
use muster_domain::{MembershipStatus, OrgId, OrgRole};
use muster_test_support::{db_tests, Api, PushService, TestApp};
use serde_json::{json, Value};
use std::time::Duration;

db_tests!(
    a_notification_reaches_every_active_member_once,
    every_bad_field_is_named,
    a_retried_post_sends_once,
    audiences_are_resolved_when_it_is_sent,
    a_scheduled_notification_can_be_canceled_until_it_is_sent,
    creators_notify_only_solutions_they_run,
    device_tokens_work_only_in_the_app_api,
    the_inbox_counts_delivered_and_opened,
    events_arrive_live_and_are_replayed,
    a_disabled_members_stream_ends_at_once,
    web_push_reaches_the_device_encrypted_and_signed,
    web_push_retries_and_drops_gone_subscriptions,
    a_member_disabled_before_a_retry_is_not_pushed,
    a_subscription_dropped_before_a_retry_ends_the_pushes,
);

async fn send(api: &Api, org: OrgId, body: Value) -> Value {
    json(
        api.post(format!("/api/v1/orgs/{org}/notifications"), body)
            .await,
        201,
    )
    .await
}

async fn run_jobs(app: &TestApp) {
    app.worker().run_until_idle().await.expect("the jobs run");
}

async fn detail(api: &Api, org: OrgId, id: &Value) -> Value {
    let id = id.as_str().expect("an id");
    json(
        api.get(format!("/api/v1/orgs/{org}/notifications/{id}"))
            .await,
        200,
    )
    .await
}

/// Registers a device for the holder of `api`; returns its device token.
async fn device(api: &Api, push: Option<Value>) -> String {
    let mut body = json!({"name": "Pixel", "platform": "android"});
    if let Some(push) = push {
        body["push"] = push;
    }
    let created = json(api.post("/api/v1/app/devices", body).await, 201).await;
    created["token"]
        .as_str()
        .expect("a device token")
        .to_owned()
}

async fn inbox(app: &TestApp, device: &str, org: OrgId) -> Value {
    json(
        app.api(device)
            .get(format!("/api/v1/app/notifications?org={org}"))
            .await,
        200,
    )
    .await
}

async fn a_notification_reaches_every_active_member_once(app: TestApp) {
    let (org, owner) = app.create_org("Acme", "ada@example.com").await;
    let bob = app.member(org, "bob@example.com", OrgRole::User).await;
    app.member(org, "cy@example.com", OrgRole::Creator).await;
    let dee = app.create_user("dee@example.com").await;
    app.add_member(org, dee, OrgRole::User, MembershipStatus::Disabled)
        .await;
    let eve = app.create_user("eve@example.com").await;
    app.add_member(org, eve, OrgRole::User, MembershipStatus::Invited)
        .await;
    let api = app.api(&app.token(owner).await);
    let sent = send(
        &api,
        org,
        json!({"title": "Shift change", "body": "Tomorrow at 7", "scope": "org",
        "link": "https://example.com/shifts", "data": {"shift": 7}}),
    )
    .await;
    assert_eq!(sent["status"], "sending");
    assert_eq!(sent["counts"]["recipients"], 0);
    assert_eq!(sent["created_by"]["email"], "ada@example.com");
    run_jobs(&app).await;
    let done = detail(&api, org, &sent["id"]).await;
    assert_eq!(done["status"], "sent");
    assert!(done["sent_at"].is_string());
    assert_eq!(
        done["counts"]["recipients"], 3,
        "owner, bob and cy; not the disabled or invited"
    );
    let bob_device = device(&app.api(&app.token(bob).await), None).await;
    let items = inbox(&app, &bob_device, org).await;
    assert_eq!(items["items"].as_array().map(Vec::len), Some(1));
    let item = &items["items"][0];
    assert_eq!(item["title"], "Shift change");
    assert_eq!(item["data"]["shift"], 7);
    assert_eq!(item["notification_id"], sent["id"]);
    // Running the fan-out again (a crash, a second instance) writes nobody twice.
    let mut tx = app.store().begin().await.expect("tx");
    muster_server::jobs::enqueue(
        &mut tx,
        &muster_server::features::notifications::fanout::SendNotification {
            notification_id: sent["id"]
                .as_str()
                .and_then(|s| s.parse().ok())
                .expect("id"),
        },
        app.clock_now(),
    )
    .await
    .expect("enqueue");
    tx.commit().await.expect("commit");
    run_jobs(&app).await;
    assert_eq!(
        detail(&api, org, &sent["id"]).await["counts"]["recipients"],
        3
    );
    assert_eq!(
        inbox(&app, &bob_device, org).await["items"]
            .as_array()
            .map(Vec::len),
        Some(1)
    );
    let history = json(
        api.get(format!("/api/v1/orgs/{org}/notifications?status=sent"))
            .await,
        200,
    )
    .await;
    assert_eq!(history["items"][0]["id"], sent["id"]);
    let audit = json(
        api.get(format!("/api/v1/orgs/{org}/audit?action=notification."))
            .await,
        200,
    )
    .await;
    assert_eq!(audit["items"][0]["action"], "notification.sent");
}

async fn every_bad_field_is_named(app: TestApp) {
    let (org, owner) = app.create_org("Acme", "ada@example.com").await;
    let api = app.api(&app.token(owner).await);
    let url = format!("/api/v1/orgs/{org}/notifications");
    let body = json!({"title": "x".repeat(101), "body": "", "scope": "org", "link": "javascript:alert(1)",
        "data": [1, 2], "scheduled_at": "2001-01-01T00:00:00Z"});
    let error = problem(api.post(&url, body).await, 422).await;
    let fields: Vec<&str> = error["errors"]
        .as_array()
        .expect("errors")
        .iter()
        .filter_map(|e| e["field"].as_str())
        .collect();
    assert_eq!(
        fields,
        ["title", "body", "link", "data", "scheduled_at"],
        "{error}"
    );
    let unknown = problem(
        api.post(
            &url,
            json!({"title": "t", "body": "b", "scope": "users",
        "emails": ["ada@example.com", "nobody@example.com"]}),
        )
        .await,
        422,
    )
    .await;
    assert!(
        unknown["errors"][0]["message"]
            .as_str()
            .is_some_and(|m| m.contains("nobody@example.com") && !m.contains("ada@")),
        "{unknown}"
    );
    let no_groups = problem(
        api.post(&url, json!({"title": "t", "body": "b", "scope": "groups"}))
            .await,
        422,
    )
    .await;
    assert_eq!(no_groups["errors"][0]["field"], "group_ids");
    let bad_scope = problem(
        api.post(&url, json!({"title": "t", "body": "b", "scope": "planet"}))
            .await,
        422,
    )
    .await;
    assert_eq!(bad_scope["errors"][0]["field"], "scope");
    let big = json!({"title": "t", "body": "b", "scope": "org", "data": {"k": "v".repeat(5000)}});
    assert_eq!(
        problem(api.post(&url, big).await, 422).await["errors"][0]["field"],
        "data"
    );
    let list = json(api.get(&url).await, 200).await;
    assert_eq!(list["items"], json!([]), "nothing was sent");
    // A blank filter is no filter; an unknown one is named.
    json(api.get(format!("{url}?status=")).await, 200).await;
    let bad = problem(api.get(format!("{url}?status=lost")).await, 422).await;
    assert_eq!(bad["errors"][0]["field"], "status");
    let sent = send(
        &api,
        org,
        json!({"title": "t", "body": "b", "scope": "org"}),
    )
    .await;
    let id = sent["id"].as_str().expect("id");
    json(api.get(format!("{url}/{id}/recipients?status=")).await, 200).await;
    let bad = problem(
        api.get(format!("{url}/{id}/recipients?status=lost")).await,
        422,
    )
    .await;
    assert_eq!(bad["errors"][0]["field"], "status");
    problem(api.get(format!("{url}/not-an-id")).await, 404).await;
}

async fn a_retried_post_sends_once(app: TestApp) {
    let (org, owner) = app.create_org("Acme", "ada@example.com").await;
    let token = app.token(owner).await;
    let url = app.url(&format!("/api/v1/orgs/{org}/notifications"));
    let post = || {
        app.client()
            .post(&url)
            .bearer_auth(&token)
            .header("Idempotency-Key", "shift-42")
            .json(&json!({"title": "Once", "body": "only once", "scope": "org"}))
            .send()
    };
    let first = json(post().await.expect("sent"), 201).await;
    let again = json(post().await.expect("sent"), 201).await;
    assert_eq!(first["id"], again["id"]);
    let list = json(
        app.api(&token)
            .get(format!("/api/v1/orgs/{org}/notifications"))
            .await,
        200,
    )
    .await;
    assert_eq!(list["items"].as_array().map(Vec::len), Some(1));
}

async fn recipients(api: &Api, org: OrgId, id: &Value) -> Vec<String> {
    let id = id.as_str().expect("id");
    let list = json(
        api.get(format!("/api/v1/orgs/{org}/notifications/{id}/recipients"))
            .await,
        200,
    )
    .await;
    let mut emails: Vec<String> = list["items"]
        .as_array()
        .expect("items")
        .iter()
        .filter_map(|r| r["email"].as_str().map(str::to_owned))
        .collect();
    emails.sort();
    emails
}

async fn audiences_are_resolved_when_it_is_sent(app: TestApp) {
    let (org, owner) = app.create_org("Acme", "ada@example.com").await;
    let api = app.api(&app.token(owner).await);
    let bob = app.member(org, "bob@example.com", OrgRole::User).await;
    let cy = app.member(org, "cy@example.com", OrgRole::User).await;
    let dee = app.member(org, "dee@example.com", OrgRole::User).await;
    let (field, office) = (
        solution(&api, org, "Field").await,
        solution(&api, org, "Office").await,
    );
    assign(&api, org, bob, &field, "user").await;
    assign(&api, org, bob, &office, "user").await;
    assign(&api, org, cy, &field, "deny").await;
    let both = send(
        &api,
        org,
        json!({"title": "t", "body": "b", "scope": "solutions",
        "solution_ids": [field, office]}),
    )
    .await;
    let group = json(
        api.post(
            format!("/api/v1/orgs/{org}/solutions/{field}/groups"),
            json!({"name": "Drivers"}),
        )
        .await,
        201,
    )
    .await;
    let group_id = group["id"].as_str().expect("id");
    assign(&api, org, dee, &field, "user").await;
    json(
        api.put(
            format!("/api/v1/orgs/{org}/solutions/{field}/groups/{group_id}/members/{dee}"),
            json!({}),
        )
        .await,
        200,
    )
    .await;
    let to_group = send(
        &api,
        org,
        json!({"title": "t", "body": "b", "scope": "groups", "group_ids": [group_id]}),
    )
    .await;
    let later = app.clock_now() + time::Duration::hours(1);
    let scheduled = send(&api, org, json!({"title": "t", "body": "b", "scope": "users",
        "emails": ["cy@example.com"], "scheduled_at": later.format(&time::format_description::well_known::Rfc3339).expect("time")})).await;
    assert_eq!(scheduled["status"], "scheduled");
    run_jobs(&app).await;
    // Ada created both solutions, so she is their owner.
    assert_eq!(
        recipients(&api, org, &both["id"]).await,
        ["ada@example.com", "bob@example.com", "dee@example.com"],
        "deny is left out; bob once for two solutions; dee assigned after the send was composed"
    );
    assert_eq!(
        recipients(&api, org, &to_group["id"]).await,
        ["dee@example.com"]
    );
    // Disabled before its time: cy no longer receives it.
    json(
        api.post_empty(format!("/api/v1/orgs/{org}/users/{cy}/disable"))
            .await,
        200,
    )
    .await;
    app.clock.advance(time::Duration::hours(2));
    run_jobs(&app).await;
    let done = detail(&api, org, &scheduled["id"]).await;
    assert_eq!(done["status"], "sent");
    assert_eq!(done["counts"]["recipients"], 0);
}

async fn a_scheduled_notification_can_be_canceled_until_it_is_sent(app: TestApp) {
    let (org, owner) = app.create_org("Acme", "ada@example.com").await;
    let api = app.api(&app.token(owner).await);
    let later = (app.clock_now() + time::Duration::minutes(30))
        .format(&time::format_description::well_known::Rfc3339)
        .expect("time");
    let scheduled = send(
        &api,
        org,
        json!({"title": "t", "body": "b", "scope": "org", "scheduled_at": later}),
    )
    .await;
    let id = scheduled["id"].as_str().expect("id");
    let url = format!("/api/v1/orgs/{org}/notifications/{id}");
    run_jobs(&app).await;
    assert_eq!(
        detail(&api, org, &scheduled["id"]).await["status"],
        "scheduled",
        "not yet due"
    );
    let canceled = json(api.delete(&url).await, 200).await;
    assert_eq!(canceled["status"], "canceled");
    app.clock.advance(time::Duration::hours(1));
    run_jobs(&app).await;
    let after = detail(&api, org, &scheduled["id"]).await;
    assert_eq!(
        (
            after["status"].as_str(),
            after["counts"]["recipients"].as_i64()
        ),
        (Some("canceled"), Some(0))
    );
    problem(api.delete(&url).await, 409).await;
    let now = send(
        &api,
        org,
        json!({"title": "t", "body": "b", "scope": "org"}),
    )
    .await;
    let now_id = now["id"].as_str().expect("id");
    problem(
        api.delete(format!("/api/v1/orgs/{org}/notifications/{now_id}"))
            .await,
        409,
    )
    .await;
    let audit = json(
        api.get(format!(
            "/api/v1/orgs/{org}/audit?action=notification.canceled"
        ))
        .await,
        200,
    )
    .await;
    assert_eq!(audit["items"].as_array().map(Vec::len), Some(1));
}

async fn creators_notify_only_solutions_they_run(app: TestApp) {
    let (org, owner) = app.create_org("Acme", "ada@example.com").await;
    let admin_api = app.api(&app.token(owner).await);
    let carl = app.member(org, "carl@example.com", OrgRole::Creator).await;
    let uma = app.member(org, "uma@example.com", OrgRole::User).await;
    let (mine, theirs) = (
        solution(&admin_api, org, "Mine").await,
        solution(&admin_api, org, "Theirs").await,
    );
    assign(&admin_api, org, carl, &mine, "admin").await;
    assign(&admin_api, org, carl, &theirs, "user").await;
    let carl_api = app.api(&app.token(carl).await);
    let url = format!("/api/v1/orgs/{org}/notifications");
    send(
        &carl_api,
        org,
        json!({"title": "t", "body": "b", "scope": "solutions", "solution_ids": [mine]}),
    )
    .await;
    problem(
        carl_api
            .post(
                &url,
                json!({"title": "t", "body": "b", "scope": "solutions", "solution_ids": [theirs]}),
            )
            .await,
        403,
    )
    .await;
    problem(
        carl_api
            .post(&url, json!({"title": "t", "body": "b", "scope": "org"}))
            .await,
        403,
    )
    .await;
    let uma_api = app.api(&app.token(uma).await);
    problem(
        uma_api
            .post(&url, json!({"title": "t", "body": "b", "scope": "org"}))
            .await,
        403,
    )
    .await;
    problem(uma_api.get(&url).await, 403).await;
    // Creators see the history of what they sent, not everyone's.
    send(
        &admin_api,
        org,
        json!({"title": "from ada", "body": "b", "scope": "org"}),
    )
    .await;
    let carls = json(carl_api.get(&url).await, 200).await;
    assert_eq!(carls["items"].as_array().map(Vec::len), Some(1));
    let other = json(admin_api.get(&url).await, 200).await;
    let adas = other["items"][0]["id"].as_str().expect("id");
    problem(carl_api.get(format!("{url}/{adas}")).await, 404).await;
}

async fn device_tokens_work_only_in_the_app_api(app: TestApp) {
    let (org, owner) = app.create_org("Acme", "ada@example.com").await;
    let bob = app.member(org, "bob@example.com", OrgRole::User).await;
    let pat = app.api(&app.token(bob).await);
    let token = device(&pat, None).await;
    assert!(token.starts_with("mst_dev_"));
    let dev = app.api(&token);
    json(
        dev.get(format!("/api/v1/app/solutions?org={org}")).await,
        200,
    )
    .await;
    problem(dev.get("/api/v1/me").await, 401).await;
    problem(
        dev.post(
            "/api/v1/app/devices",
            json!({"name": "x", "platform": "web"}),
        )
        .await,
        401,
    )
    .await;
    let listed = json(pat.get("/api/v1/me/devices").await, 200).await;
    assert_eq!(listed["items"][0]["name"], "Pixel");
    assert_eq!(listed["items"][0]["web_push"], false);
    let bad = problem(
        dev.put(
            "/api/v1/app/devices/current/push",
            json!({"endpoint": "ftp://x", "keys": {"p256dh": "AAAA", "auth": "BBBB"}}),
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
    assert_eq!(
        fields,
        ["push.endpoint", "push.keys.p256dh", "push.keys.auth"]
    );
    problem(
        pat.put(
            "/api/v1/app/devices/current/push",
            json!({"endpoint": "https://p.example/x", "keys": {"p256dh": "A", "auth": "B"}}),
        )
        .await,
        401,
    )
    .await;
    let bad_platform = problem(
        pat.post(
            "/api/v1/app/devices",
            json!({"name": "x", "platform": "palm"}),
        )
        .await,
        422,
    )
    .await;
    assert_eq!(bad_platform["errors"][0]["field"], "platform");
    // Disabled in the organization: the device stops working there at once.
    let owner_api = app.api(&app.token(owner).await);
    json(
        owner_api
            .post_empty(format!("/api/v1/orgs/{org}/users/{bob}/disable"))
            .await,
        200,
    )
    .await;
    problem(
        dev.get(format!("/api/v1/app/notifications?org={org}"))
            .await,
        403,
    )
    .await;
    // Revoked: nowhere.
    let id = listed["items"][0]["id"].as_str().expect("id");
    assert_eq!(
        pat.delete(format!("/api/v1/me/devices/{id}"))
            .await
            .status(),
        204
    );
    problem(
        dev.get(format!("/api/v1/app/solutions?org={org}")).await,
        401,
    )
    .await;
    problem(pat.delete(format!("/api/v1/me/devices/{id}")).await, 404).await;
    let other = app.api(&app.token(owner).await);
    let ada_device = device(&other, None).await;
    let ada_id = json(other.get("/api/v1/me/devices").await, 200).await["items"][0]["id"]
        .as_str()
        .map(str::to_owned)
        .expect("id");
    problem(
        pat.delete(format!("/api/v1/me/devices/{ada_id}")).await,
        404,
    )
    .await;
    json(
        app.api(&ada_device)
            .get(format!("/api/v1/app/solutions?org={org}"))
            .await,
        200,
    )
    .await;
}

async fn the_inbox_counts_delivered_and_opened(app: TestApp) {
    let (org, owner) = app.create_org("Acme", "ada@example.com").await;
    let bob = app.member(org, "bob@example.com", OrgRole::User).await;
    let api = app.api(&app.token(owner).await);
    let first = send(
        &api,
        org,
        json!({"title": "one", "body": "b", "scope": "users", "emails": ["bob@example.com"]}),
    )
    .await;
    send(
        &api,
        org,
        json!({"title": "two", "body": "b", "scope": "users", "emails": ["bob@example.com"]}),
    )
    .await;
    run_jobs(&app).await;
    assert_eq!(
        detail(&api, org, &first["id"]).await["counts"]["delivered"],
        0,
        "nobody fetched it yet"
    );
    let dev = device(&app.api(&app.token(bob).await), None).await;
    let page = json(
        app.api(&dev)
            .get(format!("/api/v1/app/notifications?org={org}&limit=1"))
            .await,
        200,
    )
    .await;
    assert_eq!(page["items"][0]["title"], "two", "newest first");
    let cursor = page["next_cursor"].as_str().expect("a next page");
    let rest = json(
        app.api(&dev)
            .get(format!(
                "/api/v1/app/notifications?org={org}&limit=1&cursor={cursor}"
            ))
            .await,
        200,
    )
    .await;
    assert_eq!(rest["items"][0]["title"], "one");
    assert_eq!(rest["next_cursor"], Value::Null);
    let counts = detail(&api, org, &first["id"]).await["counts"].clone();
    assert_eq!(
        (counts["delivered"].as_i64(), counts["opened"].as_i64()),
        (Some(1), Some(0))
    );
    let item = rest["items"][0]["id"].as_str().expect("id").to_owned();
    assert_eq!(
        app.api(&dev)
            .post_empty(format!("/api/v1/app/notifications/{item}/read"))
            .await
            .status(),
        204
    );
    assert_eq!(detail(&api, org, &first["id"]).await["counts"]["opened"], 1);
    let unread = json(
        app.api(&dev)
            .get(format!("/api/v1/app/notifications?org={org}&unread=true"))
            .await,
        200,
    )
    .await;
    assert_eq!(unread["items"].as_array().map(Vec::len), Some(1));
    let dev_api = app.api(&dev);
    let blank = json(
        dev_api
            .get(format!("/api/v1/app/notifications?org={org}&unread="))
            .await,
        200,
    )
    .await;
    assert_eq!(
        blank["items"].as_array().map(Vec::len),
        Some(2),
        "blank is all"
    );
    let bad = problem(
        dev_api
            .get(format!("/api/v1/app/notifications?org={org}&unread=maybe"))
            .await,
        422,
    )
    .await;
    assert_eq!(bad["errors"][0]["field"], "unread");
    let all = json(
        app.api(&dev)
            .post_empty(format!("/api/v1/app/notifications/read-all?org={org}"))
            .await,
        200,
    )
    .await;
    assert_eq!(all["read"], 1);
    assert_eq!(
        app.api(&dev)
            .delete(format!("/api/v1/app/notifications/{item}"))
            .await
            .status(),
        204
    );
    let left = inbox(&app, &dev, org).await;
    assert_eq!(left["items"].as_array().map(Vec::len), Some(1));
    let who = json(
        api.get(format!(
            "/api/v1/orgs/{org}/notifications/{}/recipients?status=opened",
            first["id"].as_str().unwrap_or_default()
        ))
        .await,
        200,
    )
    .await;
    assert_eq!(who["items"][0]["email"], "bob@example.com");
    assert!(who["items"][0]["opened_at"].is_string());
    // Someone else's item is not found.
    let ada_dev = device(&api, None).await;
    problem(
        app.api(&ada_dev)
            .post_empty(format!("/api/v1/app/notifications/{item}/read"))
            .await,
        404,
    )
    .await;
}

/// Reads the stream until one event arrives (or `within` passes).
async fn next_event(
    response: &mut reqwest::Response,
    buffer: &mut String,
    within: Duration,
) -> Option<(String, Value)> {
    let deadline = tokio::time::Instant::now() + within;
    loop {
        if let Some(end) = buffer.find("\n\n") {
            let block: String = buffer.drain(..end + 2).collect();
            let field = |name: &str| {
                block
                    .lines()
                    .find_map(|l| l.strip_prefix(name))
                    .map(str::trim)
                    .map(str::to_owned)
            };
            if field("event:").as_deref() == Some("notification") {
                let data = field("data:").and_then(|d| serde_json::from_str(&d).ok())?;
                return Some((field("id:").unwrap_or_default(), data));
            }
            continue;
        }
        let chunk = tokio::time::timeout_at(deadline, response.chunk())
            .await
            .ok()?
            .ok()??;
        buffer.push_str(&String::from_utf8_lossy(&chunk));
    }
}

async fn open_events(
    app: &TestApp,
    token: &str,
    org: OrgId,
    last: Option<&str>,
) -> reqwest::Response {
    let mut request = app
        .client()
        .get(app.url(&format!("/api/v1/app/events?org={org}")))
        .bearer_auth(token);
    if let Some(last) = last {
        request = request.header("Last-Event-ID", last);
    }
    let response = request.send().await.expect("the stream opens");
    assert_eq!(response.status(), 200);
    let content_type = response
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    assert!(
        content_type.starts_with("text/event-stream"),
        "{content_type}"
    );
    response
}

async fn events_arrive_live_and_are_replayed(app: TestApp) {
    let (org, owner) = app.create_org("Acme", "ada@example.com").await;
    let bob = app.member(org, "bob@example.com", OrgRole::User).await;
    let api = app.api(&app.token(owner).await);
    let dev = device(&app.api(&app.token(bob).await), None).await;
    let mut stream = open_events(&app, &dev, org, None).await;
    let first = send(
        &api,
        org,
        json!({"title": "live", "body": "b", "scope": "org"}),
    )
    .await;
    run_jobs(&app).await;
    let mut buffer = String::new();
    let (id, item) = next_event(&mut stream, &mut buffer, Duration::from_secs(5))
        .await
        .expect("a live event");
    assert_eq!(item["title"], "live");
    assert_eq!(item["id"].as_str(), Some(id.as_str()));
    // Counted right after the stream got it (on PostgreSQL by the task that heard the batch).
    let mut delivered = Value::Null;
    for _ in 0..50 {
        delivered = detail(&api, org, &first["id"]).await["counts"]["delivered"].clone();
        if delivered == 1 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(40)).await;
    }
    assert_eq!(delivered, 1, "the event counts as delivered");
    drop(stream);
    send(
        &api,
        org,
        json!({"title": "missed", "body": "b", "scope": "org"}),
    )
    .await;
    run_jobs(&app).await;
    let mut again = open_events(&app, &dev, org, Some(&id)).await;
    let mut buffer = String::new();
    let (_, replayed) = next_event(&mut again, &mut buffer, Duration::from_secs(5))
        .await
        .expect("the missed event");
    assert_eq!(replayed["title"], "missed");
    assert!(
        next_event(&mut again, &mut buffer, Duration::from_millis(300))
            .await
            .is_none(),
        "nothing else"
    );
}

async fn a_disabled_members_stream_ends_at_once(app: TestApp) {
    let (org, owner) = app.create_org("Acme", "ada@example.com").await;
    let bob = app.member(org, "bob@example.com", OrgRole::User).await;
    let dev = device(&app.api(&app.token(bob).await), None).await;
    let mut stream = open_events(&app, &dev, org, None).await;
    let api = app.api(&app.token(owner).await);
    json(
        api.post_empty(format!("/api/v1/orgs/{org}/users/{bob}/disable"))
            .await,
        200,
    )
    .await;
    let end = tokio::time::timeout(Duration::from_secs(5), async {
        loop {
            match stream.chunk().await {
                Ok(Some(_)) => continue,
                other => return other.map(|_| ()),
            }
        }
    })
    .await;
    assert!(matches!(end, Ok(Ok(()))), "the stream ended: {end:?}");
    problem(
        app.api(&dev)
            .get(format!("/api/v1/app/events?org={org}"))
            .await,
        403,
    )
    .await;
}

fn subscription(sub: &muster_test_support::PushSubscription) -> Value {
    json!({"endpoint": sub.endpoint, "keys": {"p256dh": sub.p256dh, "auth": sub.auth}})
}

async fn web_push_reaches_the_device_encrypted_and_signed(app: TestApp) {
    let push = PushService::start().await;
    let (org, owner) = app.create_org("Acme", "ada@example.com").await;
    let bob = app.member(org, "bob@example.com", OrgRole::User).await;
    let api = app.api(&app.token(owner).await);
    let bob_api = app.api(&app.token(bob).await);
    let key = json(bob_api.get("/api/v1/app/push/key").await, 200).await;
    push.expect_vapid_key(key["public_key"].as_str().expect("a key"));
    let sub = push.subscribe();
    device(&bob_api, Some(subscription(&sub))).await;
    let sent = send(
        &api,
        org,
        json!({"title": "Pushed", "body": "to your phone", "scope": "users",
        "emails": ["bob@example.com"], "data": {"k": "v"}}),
    )
    .await;
    run_jobs(&app).await;
    let received = push.received(&sub);
    assert_eq!(received.len(), 1, "rejections: {:?}", push.rejections());
    let payload = received[0].json();
    assert_eq!(payload["title"], "Pushed");
    assert_eq!(payload["data"]["k"], "v");
    assert_eq!(payload["notification_id"], sent["id"]);
    assert!(received[0].ttl.is_some());
    let counts = detail(&api, org, &sent["id"]).await["counts"].clone();
    assert_eq!(
        (counts["delivered"].as_i64(), counts["failed"].as_i64()),
        (Some(1), Some(0))
    );
    // Replaced, then dropped: the next notification has no push to make.
    let dev_token = device(&bob_api, None).await;
    let other = push.subscribe();
    assert_eq!(
        app.api(&dev_token)
            .put("/api/v1/app/devices/current/push", subscription(&other))
            .await
            .status(),
        204
    );
    assert_eq!(
        app.api(&dev_token)
            .delete("/api/v1/app/devices/current/push")
            .await
            .status(),
        204
    );
    send(
        &api,
        org,
        json!({"title": "again", "body": "b", "scope": "users", "emails": ["bob@example.com"]}),
    )
    .await;
    run_jobs(&app).await;
    assert_eq!(push.received(&sub).len(), 2);
    assert!(push.received(&other).is_empty());
}

async fn web_push_retries_and_drops_gone_subscriptions(app: TestApp) {
    let push = PushService::start().await;
    let (org, owner) = app.create_org("Acme", "ada@example.com").await;
    let bob = app.member(org, "bob@example.com", OrgRole::User).await;
    let cy = app.member(org, "cy@example.com", OrgRole::User).await;
    let api = app.api(&app.token(owner).await);
    let busy = push.subscribe();
    device(&app.api(&app.token(bob).await), Some(subscription(&busy))).await;
    let gone = push.subscribe();
    let cy_api = app.api(&app.token(cy).await);
    device(&cy_api, Some(subscription(&gone))).await;
    push.fail_next(&busy, 1, 429, Some(30));
    push.unsubscribe(&gone);
    let sent = send(
        &api,
        org,
        json!({"title": "t", "body": "b", "scope": "users",
        "emails": ["bob@example.com", "cy@example.com"]}),
    )
    .await;
    run_jobs(&app).await;
    assert!(push.received(&busy).is_empty(), "429: not yet");
    let counts = detail(&api, org, &sent["id"]).await["counts"].clone();
    assert_eq!(
        (counts["delivered"].as_i64(), counts["failed"].as_i64()),
        (Some(0), Some(1)),
        "cy's only channel is gone"
    );
    let failed = json(
        api.get(format!(
            "/api/v1/orgs/{org}/notifications/{}/recipients?status=failed",
            sent["id"].as_str().unwrap_or_default()
        ))
        .await,
        200,
    )
    .await;
    assert_eq!(failed["items"][0]["email"], "cy@example.com");
    assert!(failed["items"][0]["last_error"]
        .as_str()
        .is_some_and(|e| e.contains("410")));
    assert_eq!(
        json(cy_api.get("/api/v1/me/devices").await, 200).await["items"][0]["web_push"],
        false
    );
    app.clock.advance(time::Duration::seconds(20));
    run_jobs(&app).await;
    assert!(
        push.received(&busy).is_empty(),
        "Retry-After: 30 is honoured"
    );
    app.clock.advance(time::Duration::seconds(15));
    run_jobs(&app).await;
    assert_eq!(push.received(&busy).len(), 1);
    assert_eq!(push.attempts(&busy), 2);
    assert_eq!(
        detail(&api, org, &sent["id"]).await["counts"]["delivered"],
        1
    );
}

async fn a_member_disabled_before_a_retry_is_not_pushed(app: TestApp) {
    let push = PushService::start().await;
    let (org, owner) = app.create_org("Acme", "ada@example.com").await;
    let bob = app.member(org, "bob@example.com", OrgRole::User).await;
    let api = app.api(&app.token(owner).await);
    let sub = push.subscribe();
    device(&app.api(&app.token(bob).await), Some(subscription(&sub))).await;
    push.fail_next(&sub, 1, 503, None);
    let body = json!({"title": "t", "body": "b", "scope": "users", "emails": ["bob@example.com"]});
    let sent = send(&api, org, body).await;
    run_jobs(&app).await;
    assert_eq!(push.attempts(&sub), 1);
    json(
        api.post_empty(format!("/api/v1/orgs/{org}/users/{bob}/disable"))
            .await,
        200,
    )
    .await;
    app.clock.advance(time::Duration::minutes(5));
    run_jobs(&app).await;
    assert_eq!(
        push.attempts(&sub),
        1,
        "no second attempt for a disabled member"
    );
    assert_eq!(detail(&api, org, &sent["id"]).await["counts"]["failed"], 1);
}

async fn a_subscription_dropped_before_a_retry_ends_the_pushes(app: TestApp) {
    let push = PushService::start().await;
    let (org, owner) = app.create_org("Acme", "ada@example.com").await;
    let bob = app.member(org, "bob@example.com", OrgRole::User).await;
    let api = app.api(&app.token(owner).await);
    let sub = push.subscribe();
    let dev = device(&app.api(&app.token(bob).await), Some(subscription(&sub))).await;
    push.fail_next(&sub, 1, 503, None);
    let body = json!({"title": "t", "body": "b", "scope": "users", "emails": ["bob@example.com"]});
    let sent = send(&api, org, body).await;
    run_jobs(&app).await;
    assert_eq!(
        app.api(&dev)
            .delete("/api/v1/app/devices/current/push")
            .await
            .status(),
        204
    );
    app.clock.advance(time::Duration::minutes(5));
    run_jobs(&app).await;
    assert_eq!(
        push.attempts(&sub),
        1,
        "nothing is posted to a dropped subscription"
    );
    assert_eq!(detail(&api, org, &sent["id"]).await["counts"]["failed"], 1);
    // Nothing is left to try: no job keeps coming back for it.
    app.clock.advance(time::Duration::hours(2));
    let mut conn = app.store().read().await.expect("a connection");
    let queued =
        muster_store::jobs::count_by_status(&mut conn, muster_store::jobs::JobStatus::Queued)
            .await
            .expect("count");
    assert_eq!(queued, 0);
}
