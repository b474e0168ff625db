use crate::{json, problem};
use muster_domain::OrgRole;
use muster_test_support::{db_tests, TestApp};
use serde_json::json;
use time::Duration;

db_tests!(the_audit_log_filters_pages_and_stays_in_its_organization);

async fn the_audit_log_filters_pages_and_stays_in_its_organization(app: TestApp) {
    let (org, owner) = app.create_org("Acme", "ada@example.com").await;
    let (other, other_owner) = app.create_org("Globex", "grace@example.com").await;
    let creator = app.member(org, "carl@example.com", OrgRole::Creator).await;
    let token = app.token(owner).await;
    let start = app.clock_now();
    for n in 0..3 {
        json(
            app.api(&token)
                .post(
                    format!("/api/v1/orgs/{org}/invitations"),
                    json!({"email": format!("p{n}@example.com")}),
                )
                .await,
            201,
        )
        .await;
        app.clock.advance(Duration::hours(1));
    }
    json(
        app.api(&app.token(other_owner).await)
            .post(
                format!("/api/v1/orgs/{other}/invitations"),
                json!({"email": "secret@example.com"}),
            )
            .await,
        201,
    )
    .await;
    let api = app.api(&token);
    // The token's own (coalesced) uses are audited too: look at invitations.
    let get = |query: String| {
        let query = match query.strip_prefix('?') {
            Some(rest) => format!("?action=invitation.&{rest}"),
            None => "?action=invitation.".to_owned(),
        };
        api.get(format!("/api/v1/orgs/{org}/audit{query}"))
    };
    let all = json(get(String::new()).await, 200).await;
    let targets: Vec<&str> = all["items"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|e| e["target"].as_str())
        .collect();
    assert_eq!(
        targets,
        vec!["p2@example.com", "p1@example.com", "p0@example.com"],
        "newest first, this organization only"
    );
    assert_eq!(all["items"][0]["actor"], "ada@example.com");
    assert_eq!(all["items"][0]["ip"], "127.0.0.1");
    let page = json(get("?limit=2".into()).await, 200).await;
    let cursor = page["next_cursor"].as_str().expect("more").to_owned();
    let rest = json(get(format!("?limit=2&cursor={cursor}")).await, 200).await;
    assert_eq!(rest["items"][0]["target"], "p0@example.com");
    let from = (start + Duration::minutes(30))
        .format(&time::format_description::well_known::Rfc3339)
        .expect("time");
    let to = (start + Duration::minutes(90))
        .format(&time::format_description::well_known::Rfc3339)
        .expect("time");
    let window = json(get(format!("?from={from}&to={to}")).await, 200).await;
    assert_eq!(window["items"].as_array().map(Vec::len), Some(1));
    assert_eq!(window["items"][0]["target"], "p1@example.com");
    let by_actor = json(get("?actor=grace@example.com".into()).await, 200).await;
    assert_eq!(by_actor["items"].as_array().map(Vec::len), Some(0));
    let bad = problem(get("?from=yesterday".into()).await, 422).await;
    assert_eq!(bad["errors"][0]["field"], "from");
    problem(
        app.api(&app.token(creator).await)
            .get(format!("/api/v1/orgs/{org}/audit"))
            .await,
        403,
    )
    .await;
}
