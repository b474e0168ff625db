//! Behaviour through HTTP, on SQLite and on PostgreSQL.

mod account;
mod audit;
mod auth;
mod bulk;
mod email_change;
mod errors;
mod invitations;
mod jobs;
mod logs;
mod logs_order;
mod me;
mod members;
mod notifications;
mod org_deletion;
mod orgs;
mod permissions;
mod setup;
mod smtp;
mod solutions;
mod templates;
mod tokens;
mod two_factor;
mod ui;
mod ui_logs;
mod ui_notifications;
mod ui_overview;
mod ui_solutions;
mod ui_tokens;
mod ui_usage;
mod ui_users;
mod usage;
mod usage_reading;
mod usage_rollup;

use reqwest::Response;
use serde_json::Value;

/// Asserts an RFC 9457 problem with `status` and returns its body.
pub async fn problem(response: Response, status: u16) -> Value {
    assert_eq!(
        response.status().as_u16(),
        status,
        "status of {}",
        response.url()
    );
    let content_type = response
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    assert_eq!(
        content_type, "application/problem+json",
        "content type of a {status}"
    );
    let body: Value = response.json().await.expect("a JSON problem");
    assert_eq!(body["status"], status);
    assert!(
        body["title"].is_string() && body["detail"].is_string() && body["type"].is_string(),
        "{body}"
    );
    body
}

/// Creates a solution through the API; its id.
pub async fn solution(
    api: &muster_test_support::Api,
    org: muster_domain::OrgId,
    name: &str,
) -> String {
    let created = json(
        api.post(
            format!("/api/v1/orgs/{org}/solutions"),
            serde_json::json!({ "name": name }),
        )
        .await,
        201,
    )
    .await;
    created["id"].as_str().expect("a solution id").to_owned()
}

/// Gives `user` the solution role `role` on `sol` through the API.
pub async fn assign(
    api: &muster_test_support::Api,
    org: muster_domain::OrgId,
    user: muster_domain::UserId,
    sol: &str,
    role: &str,
) {
    json(
        api.put(
            format!("/api/v1/orgs/{org}/users/{user}/solutions/{sol}"),
            serde_json::json!({ "role": role }),
        )
        .await,
        200,
    )
    .await;
}

pub async fn json(response: Response, status: u16) -> Value {
    let url = response.url().clone();
    let actual = response.status().as_u16();
    let body = response.text().await.expect("a body");
    assert_eq!(actual, status, "status of {url}: {body}");
    serde_json::from_str(&body).expect("a JSON body")
}
