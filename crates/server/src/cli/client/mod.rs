//! Client commands: talk to a running Muster server over its REST API with a
//! personal access token, and print tables (or JSON) for people and scripts.
//!
//! Exit codes: 0 success; 1 the server refused the request, or rows of a bulk
//! invite failed; 2 wrong usage (flags, missing token, unreadable file);
//! 3 the server could not be reached or answered something unexpected.

mod connection;
mod solutions;
mod tokens;
mod users;

pub use connection::{Client, ClientArgs, ClientError, ClientResult};

use clap::Subcommand;
use std::process::ExitCode;

pub use solutions::SolutionsCommand;
pub use tokens::TokensCommand;
pub use users::UsersCommand;

#[derive(Debug, Subcommand)]
pub enum ClientCommand {
    /// Members of the organization.
    #[command(subcommand)]
    Users(UsersCommand),
    /// Solutions of the organization.
    #[command(subcommand)]
    Solutions(SolutionsCommand),
    /// Your personal access tokens.
    #[command(subcommand)]
    Tokens(TokensCommand),
}

pub async fn run(args: ClientArgs, command: ClientCommand) -> ExitCode {
    let result = match Client::new(&args) {
        Ok(client) => match command {
            ClientCommand::Users(command) => users::run(&client, &args, command).await,
            ClientCommand::Solutions(command) => solutions::run(&client, &args, command).await,
            ClientCommand::Tokens(command) => tokens::run(&client, command).await,
        },
        Err(error) => Err(error),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("muster: {error}");
            error.exit_code()
        }
    }
}
