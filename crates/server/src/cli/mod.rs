//! The `muster` command line: `serve` (the default), `migrate`, and the admin
//! commands that work on the database directly.

mod admin;
pub mod client;

use crate::config::{Overrides, Settings};
use clap::{Args, Parser, Subcommand};
use muster_domain::SystemClock;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

#[derive(Debug, Parser)]
#[command(
    name = "muster",
    version,
    about = "Muster: manage your organization's users, solutions and tokens"
)]
pub struct Cli {
    #[command(flatten)]
    pub settings: SettingsArgs,
    #[command(flatten)]
    pub client: client::ClientArgs,
    #[command(subcommand)]
    pub command: Option<Command>,
}

/// Flags that override `muster.toml` and `MUSTER_*` variables.
#[derive(Debug, Args)]
pub struct SettingsArgs {
    /// Configuration file.
    #[arg(
        long,
        global = true,
        default_value = "muster.toml",
        env = "MUSTER_CONFIG"
    )]
    pub config: PathBuf,
    /// Address to listen on, e.g. 127.0.0.1:8080.
    #[arg(long, global = true)]
    pub listen: Option<String>,
    /// Directory for muster.db and outbox/.
    #[arg(long, global = true)]
    pub data_dir: Option<PathBuf>,
    /// Public base URL for links in mail.
    #[arg(long, global = true)]
    pub public_url: Option<String>,
    /// sqlite://… or postgres://…
    #[arg(long, global = true)]
    pub database_url: Option<String>,
    /// Session inactivity timeout, e.g. 12h.
    #[arg(long, global = true)]
    pub session_ttl: Option<String>,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Serve the web UI and API, and run background jobs (the default).
    Serve,
    /// Create or update the database schema, then exit.
    Migrate,
    /// Administration on the database itself.
    #[command(subcommand)]
    Admin(admin::AdminCommand),
    /// Personal access tokens, created on the database (for automation).
    #[command(subcommand)]
    Token(admin::TokenCommand),
    #[command(flatten)]
    Client(client::ClientCommand),
}

/// Exit codes: 0 success, 1 the command failed, 2 wrong usage or settings;
/// client commands add 3, the server could not be reached (see `client`).
pub async fn main() -> ExitCode {
    let cli = Cli::parse();
    let command = match cli.command {
        // Client commands need no settings: they talk to a server.
        Some(Command::Client(command)) => return client::run(cli.client, command).await,
        other => other,
    };
    let overrides = Overrides {
        listen: cli.settings.listen.clone(),
        data_dir: cli.settings.data_dir.clone(),
        public_url: cli.settings.public_url.clone(),
        database_url: cli.settings.database_url.clone(),
        session_ttl: cli.settings.session_ttl.clone(),
    };
    let settings = match Settings::load(&cli.settings.config, overrides) {
        Ok(settings) => settings,
        Err(error) => {
            eprintln!("muster: {error}");
            return ExitCode::from(2);
        }
    };
    init_tracing();
    let result = match command.unwrap_or(Command::Serve) {
        Command::Serve => crate::startup::serve(settings, Arc::new(SystemClock)).await,
        Command::Migrate => crate::startup::open_store_as_guest(&settings)
            .await
            .map(|_| {
                println!("The database is up to date.");
            }),
        Command::Admin(command) => admin::run_admin(settings, command).await,
        Command::Token(command) => admin::run_token(settings, command).await,
        Command::Client(command) => return client::run(cli.client, command).await,
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("muster: {error:#}");
            ExitCode::from(1)
        }
    }
}

fn init_tracing() {
    use tracing_subscriber::EnvFilter;
    let filter = EnvFilter::try_from_env("MUSTER_LOG")
        .or_else(|_| EnvFilter::try_from_default_env())
        .unwrap_or_else(|_| EnvFilter::new("info,sqlx=warn,tower_http=info"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .try_init();
}
