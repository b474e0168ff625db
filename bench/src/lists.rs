//! The member-list rows: p50/p99 of each query over HTTP, one request at a time.

use crate::server::Server;
use anyhow::{bail, Context, Result};
use serde_json::Value;
use std::time::{Duration, Instant};

/// Gives every 100th of the first `members` a new solution; its id.
pub async fn solution_with_every_100th(server: &Server, members: usize) -> Result<String> {
    let solution: Value = server
        .http
        .post(format!(
            "{}/api/v1/orgs/{}/solutions",
            server.base, server.org
        ))
        .bearer_auth(&server.token)
        .json(&serde_json::json!({"name": "Bench solution"}))
        .send()
        .await?
        .json()
        .await?;
    let solution = solution["id"].as_str().context("a solution")?.to_owned();
    let mut cursor = String::new();
    let mut assigned = 0;
    while assigned < members / 100 {
        let page = server.get(&users_page(server, 200, &cursor)).await?;
        for member in page["items"].as_array().into_iter().flatten().step_by(100) {
            // The owner made the solution and is its only owner; assigning
            // `user` to them would leave it without one (409).
            if member["role"] == "owner" {
                continue;
            }
            let user = member["user_id"].as_str().context("a user id")?;
            let url = format!(
                "{}/api/v1/orgs/{}/users/{user}/solutions/{solution}",
                server.base, server.org
            );
            let response = server
                .http
                .put(url)
                .bearer_auth(&server.token)
                .json(&serde_json::json!({}))
                .send()
                .await?;
            if !response.status().is_success() {
                bail!("assigning failed: {}", response.status());
            }
            assigned += 1;
        }
        match page["next_cursor"].as_str() {
            Some(next) => cursor = next.to_owned(),
            None => break,
        }
    }
    Ok(solution)
}

fn users_page(server: &Server, limit: usize, cursor: &str) -> String {
    let cursor = if cursor.is_empty() {
        String::new()
    } else {
        format!("&cursor={cursor}")
    };
    format!("/api/v1/orgs/{}/users?limit={limit}{cursor}", server.org)
}

/// (label, p50, p99) of each list query.
pub async fn measure(
    server: &Server,
    solution: &str,
    samples: usize,
) -> Result<Vec<(&'static str, Duration, Duration)>> {
    let mut cursor = String::new();
    let mut walked = 0;
    while walked < 10_000 {
        let page = server.get(&users_page(server, 200, &cursor)).await?;
        walked += page["items"].as_array().map_or(0, Vec::len);
        cursor = page["next_cursor"]
            .as_str()
            .context("fewer than 10,000 members")?
            .to_owned();
    }
    let users = format!("/api/v1/orgs/{}/users", server.org);
    let queries = [
        ("first page", format!("{users}?limit=50")),
        (
            "page 10,000 rows deep",
            format!("{users}?limit=50&cursor={cursor}"),
        ),
        (
            "q= search (one match)",
            format!("{users}?limit=50&q=u04x004242"),
        ),
        (
            "q= search (many matches)",
            format!("{users}?limit=50&q=first1"),
        ),
        (
            "role=&status= filter",
            format!("{users}?limit=50&role=creator&status=invited"),
        ),
        (
            "solution= filter (1% of members)",
            format!("{users}?limit=50&solution={solution}"),
        ),
    ];
    let mut rows = Vec::new();
    for (label, path) in queries {
        for _ in 0..5 {
            server.get(&path).await?;
        }
        let mut times = Vec::with_capacity(samples);
        for _ in 0..samples {
            let t = Instant::now();
            server.get(&path).await?;
            times.push(t.elapsed());
        }
        times.sort();
        rows.push((
            label,
            crate::percentile(&times, 50.0),
            crate::percentile(&times, 99.0),
        ));
    }
    Ok(rows)
}
