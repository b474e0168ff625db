//! `muster tokens list|create|extend|delete`: your personal access tokens.

use super::connection::{field, table, Client, ClientError, ClientResult};
use clap::Subcommand;

#[derive(Debug, Subcommand)]
pub enum TokensCommand {
    /// Your tokens: name, prefix, created, last used, lease.
    List {
        /// Print JSON instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// Create a token and print its secret (shown only this once).
    Create { name: String },
    /// Move a token's lease 14 days further.
    Extend { id: String },
    /// Delete a token; whatever uses it stops working.
    Delete { id: String },
}

pub async fn run(client: &Client, command: TokensCommand) -> ClientResult {
    match command {
        TokensCommand::List { json } => {
            let list = client.get("/me/tokens").await?;
            let items = list["items"].as_array().cloned().unwrap_or_default();
            if json {
                println!("{}", serde_json::Value::Array(items));
                return Ok(());
            }
            let rows = items.iter().map(|t| {
                vec![
                    field(t, "id"),
                    field(t, "name"),
                    format!("{}…", field(t, "prefix")),
                    field(t, "created_at"),
                    match field(t, "last_used_at") {
                        never if never.is_empty() => "never".into(),
                        at => at,
                    },
                    field(t, "lease_expires_at"),
                ]
            });
            println!(
                "{}",
                table(
                    &[
                        "id",
                        "name",
                        "prefix",
                        "created",
                        "last used",
                        "lease expires"
                    ],
                    rows
                )
            );
        }
        TokensCommand::Create { name } => {
            let created = client
                .post("/me/tokens", Some(serde_json::json!({ "name": name })))
                .await?;
            eprintln!(
                "Created token {:?} ({}); its lease expires {}. The secret is shown only now:",
                field(&created, "name"),
                field(&created, "id"),
                field(&created, "lease_expires_at"),
            );
            println!("{}", field(&created, "token"));
        }
        TokensCommand::Extend { id } => {
            let id = token_id(&id)?;
            let token = client
                .post(&format!("/me/tokens/{id}/extend"), None)
                .await?;
            println!(
                "The lease of {:?} now expires {}.",
                field(&token, "name"),
                field(&token, "lease_expires_at")
            );
        }
        TokensCommand::Delete { id } => {
            let id = token_id(&id)?;
            client.delete(&format!("/me/tokens/{id}")).await?;
            println!("Deleted token {id}.");
        }
    }
    Ok(())
}

/// Token ids are UUIDs, as `muster tokens list` shows them.
fn token_id(raw: &str) -> ClientResult<uuid::Uuid> {
    raw.trim().parse().map_err(|_| {
        ClientError::Usage(format!(
            "{raw:?} is not a token id; `muster tokens list` shows the ids"
        ))
    })
}
