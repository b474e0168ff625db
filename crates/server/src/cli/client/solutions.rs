//! `muster solutions list`: the solutions you can see in the organization.

use super::connection::{field, table, Client, ClientArgs, ClientResult};
use clap::Subcommand;
use serde_json::Value;

#[derive(Debug, Subcommand)]
pub enum SolutionsCommand {
    /// Solutions with their identifier and latest version.
    List {
        /// Print JSON instead of a table.
        #[arg(long)]
        json: bool,
    },
}

pub async fn run(client: &Client, args: &ClientArgs, command: SolutionsCommand) -> ClientResult {
    let org = client.org_id(args).await?;
    match command {
        SolutionsCommand::List { json } => {
            let mut solutions = Vec::new();
            let mut path = format!("/orgs/{org}/solutions?limit=200");
            // Cursors are URL-safe base64: they go into the query as they are.
            loop {
                let page = client.get(&path).await?;
                solutions.extend(page["items"].as_array().cloned().unwrap_or_default());
                match page["next_cursor"].as_str() {
                    Some(next) => {
                        path = format!("/orgs/{org}/solutions?limit=200&cursor={next}");
                    }
                    None => break,
                }
            }
            if json {
                println!("{}", Value::Array(solutions));
                return Ok(());
            }
            let rows = solutions.iter().map(|s| {
                vec![
                    field(s, "identifier"),
                    field(s, "name"),
                    match field(s, "latest_version") {
                        none if none.is_empty() => "none".into(),
                        version => version,
                    },
                    field(s, "id"),
                ]
            });
            println!(
                "{}",
                table(&["identifier", "name", "latest version", "id"], rows)
            );
        }
    }
    Ok(())
}
