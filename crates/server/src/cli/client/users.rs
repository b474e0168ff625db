//! `muster users …`: list, bulk invite from a CSV file, disable, enable, remove.

use super::connection::{field, table, Client, ClientArgs, ClientError, ClientResult};
use clap::Subcommand;
use serde_json::Value;
use std::io::Write;
use std::path::PathBuf;
use std::time::Duration;

#[derive(Debug, Subcommand)]
pub enum UsersCommand {
    /// Members of the organization, by email.
    List {
        /// owner, admin, creator or user.
        #[arg(long)]
        role: Option<String>,
        /// invited, active or disabled.
        #[arg(long)]
        status: Option<String>,
        /// Matches name and email.
        #[arg(long)]
        q: Option<String>,
        /// Print JSON (one array of every member) instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// Invite everybody in a CSV file (email,first_name,last_name,language,role);
    /// shows progress, then the rows that failed.
    Invite {
        #[arg(long, value_name = "FILE")]
        csv: PathBuf,
    },
    /// Disable a member: they can no longer sign in to this organization.
    Disable { email: String },
    /// Enable a disabled member.
    Enable { email: String },
    /// Remove a member from the organization.
    Remove { email: String },
}

pub async fn run(client: &Client, args: &ClientArgs, command: UsersCommand) -> ClientResult {
    let org = client.org_id(args).await?;
    match command {
        UsersCommand::List {
            role,
            status,
            q,
            json,
        } => {
            let members = list(client, &org, role, status, q).await?;
            if json {
                println!("{}", Value::Array(members));
                return Ok(());
            }
            let rows = members.iter().map(|m| {
                vec![
                    field(m, "email"),
                    format!("{} {}", field(m, "first_name"), field(m, "last_name"))
                        .trim()
                        .to_owned(),
                    field(m, "role"),
                    field(m, "status"),
                ]
            });
            println!("{}", table(&["email", "name", "role", "status"], rows));
        }
        UsersCommand::Invite { csv } => invite(client, &org, csv).await?,
        UsersCommand::Disable { email } => {
            let id = find(client, &org, &email).await?;
            client
                .post(&format!("/orgs/{org}/users/{id}/disable"), None)
                .await?;
            println!("Disabled {email}.");
        }
        UsersCommand::Enable { email } => {
            let id = find(client, &org, &email).await?;
            client
                .post(&format!("/orgs/{org}/users/{id}/enable"), None)
                .await?;
            println!("Enabled {email}.");
        }
        UsersCommand::Remove { email } => {
            let id = find(client, &org, &email).await?;
            client.delete(&format!("/orgs/{org}/users/{id}")).await?;
            println!("Removed {email} from the organization.");
        }
    }
    Ok(())
}

/// Every page of the member list.
async fn list(
    client: &Client,
    org: &str,
    role: Option<String>,
    status: Option<String>,
    q: Option<String>,
) -> ClientResult<Vec<Value>> {
    let mut query: Vec<(&str, String)> = vec![("limit", "200".into())];
    query.extend(role.map(|v| ("role", v)));
    query.extend(status.map(|v| ("status", v)));
    query.extend(q.map(|v| ("q", v)));
    let mut members = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let mut params = query.clone();
        params.extend(cursor.take().map(|c| ("cursor", c)));
        let encoded = encode_query(&params);
        let page = client.get(&format!("/orgs/{org}/users?{encoded}")).await?;
        members.extend(page["items"].as_array().cloned().unwrap_or_default());
        match page["next_cursor"].as_str() {
            Some(next) => cursor = Some(next.to_owned()),
            None => return Ok(members),
        }
    }
}

fn encode_query(params: &[(&str, String)]) -> String {
    params
        .iter()
        .map(|(key, value)| {
            let value: String = value
                .bytes()
                .map(|b| {
                    if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
                        char::from(b).to_string()
                    } else {
                        format!("%{b:02X}")
                    }
                })
                .collect();
            format!("{key}={value}")
        })
        .collect::<Vec<_>>()
        .join("&")
}

/// The user id of the member with exactly this email.
async fn find(client: &Client, org: &str, email: &str) -> ClientResult<String> {
    let wanted = email.trim();
    let found = list(client, org, None, None, Some(wanted.to_owned())).await?;
    found
        .iter()
        .find(|m| field(m, "email").eq_ignore_ascii_case(wanted))
        .map(|m| field(m, "user_id"))
        .ok_or_else(|| ClientError::Refused {
            title: "Not found".into(),
            detail: format!("{wanted} is not a member of this organization"),
        })
}

async fn invite(client: &Client, org: &str, path: PathBuf) -> ClientResult {
    let csv = std::fs::read(&path)
        .map_err(|e| ClientError::Usage(format!("cannot read {}: {e}", path.display())))?;
    let accepted = client
        .post_csv(&format!("/orgs/{org}/invitations/bulk"), csv)
        .await?;
    let job_id = field(&accepted, "job_id");
    eprintln!("Uploaded {} rows; job {job_id}.", field(&accepted, "total"));
    let job = loop {
        let job = client.get(&format!("/orgs/{org}/jobs/{job_id}")).await?;
        let status = field(&job, "status");
        eprint!(
            "\r{status}: {} of {} rows",
            field(&job, "processed"),
            field(&job, "total")
        );
        let _ = std::io::stderr().flush();
        if status == "succeeded" || status == "failed" {
            eprintln!();
            break job;
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    };
    if field(&job, "status") == "failed" {
        return Err(ClientError::Incomplete(format!(
            "the bulk invite failed: {}",
            field(&job, "last_error")
        )));
    }
    let errors = job["errors"].as_array().cloned().unwrap_or_default();
    let total = job["total"].as_i64().unwrap_or_default();
    if errors.is_empty() {
        println!("Invited all {total} rows.");
        return Ok(());
    }
    let rows = errors
        .iter()
        .map(|e| vec![field(e, "row"), field(e, "email"), field(e, "message")]);
    println!("{}", table(&["row", "email", "problem"], rows));
    Err(ClientError::Incomplete(format!(
        "{} of {total} rows were not invited (listed above)",
        errors.len()
    )))
}
