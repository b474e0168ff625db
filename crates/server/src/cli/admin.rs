//! `muster admin create-owner` and `muster token create`: work on the database
//! directly, for bootstrapping and automation.

use crate::config::Settings;
use crate::features::auth::password;
use crate::features::tokens::service as pat;
use crate::startup::open_store_as_guest;
use crate::state::AppState;
use anyhow::{bail, Context};
use clap::Subcommand;
use muster_domain::{names, org, Email, SystemClock};
use muster_store::users;
use std::io::Read;
use std::sync::Arc;

#[derive(Debug, Subcommand)]
pub enum AdminCommand {
    /// Create an organization and its first owner (no web setup needed).
    CreateOwner {
        #[arg(long)]
        org: String,
        #[arg(long)]
        email: String,
        #[arg(long)]
        first_name: String,
        #[arg(long)]
        last_name: String,
        /// Read the password from standard input.
        #[arg(long, required = true)]
        password_stdin: bool,
    },
}

#[derive(Debug, Subcommand)]
pub enum TokenCommand {
    /// Create a personal access token for a user; prints only the token.
    Create {
        #[arg(long)]
        email: String,
        #[arg(long)]
        name: String,
    },
}

async fn state(settings: Settings) -> anyhow::Result<AppState> {
    let store = open_store_as_guest(&settings).await?;
    AppState::new(store, settings, Arc::new(SystemClock))
}

pub async fn run_admin(settings: Settings, command: AdminCommand) -> anyhow::Result<()> {
    match command {
        AdminCommand::CreateOwner {
            org: org_name,
            email,
            first_name,
            last_name,
            password_stdin: _,
        } => {
            let org_name = org::name(&org_name).map_err(|e| anyhow::anyhow!("--org: {e}"))?;
            let email = Email::parse(&email).map_err(|e| anyhow::anyhow!("--email: {e}"))?;
            let first_name = names::required_text(&first_name, names::NAME_MAX)
                .map_err(|e| anyhow::anyhow!("--first-name: {e}"))?;
            let last_name = names::required_text(&last_name, names::NAME_MAX)
                .map_err(|e| anyhow::anyhow!("--last-name: {e}"))?;
            let mut input = String::new();
            std::io::stdin()
                .read_to_string(&mut input)
                .context("cannot read the password from standard input")?;
            let password = input.trim_end_matches(['\n', '\r']).to_owned();
            names::check_new_password(&password).map_err(|e| anyhow::anyhow!("password: {e}"))?;
            let hash = password::hash(password).await?;
            let state = state(settings).await?;
            let now = state.now();
            let mut tx = state.store.begin().await?;
            if users::find_by_email(&mut tx, &email).await?.is_some() {
                bail!("a user with the email {email} exists already");
            }
            let user_id = users::insert(
                &mut tx,
                users::NewUser {
                    email: &email,
                    first_name: &first_name,
                    last_name: &last_name,
                    password_hash: Some(&hash),
                    language: "en",
                },
                now,
            )
            .await?;
            let new_org = crate::features::orgs::service::NewOrg {
                name: &org_name,
                description: "",
                default_language: "en",
            };
            let org_id =
                crate::features::orgs::service::create(&mut tx, user_id, &new_org, None, now)
                    .await
                    .map_err(|e| anyhow::anyhow!("{e}"))?;
            tx.commit().await?;
            println!("Created organization {org_name} ({org_id}) with owner {email}.");
            Ok(())
        }
    }
}

pub async fn run_token(settings: Settings, command: TokenCommand) -> anyhow::Result<()> {
    match command {
        TokenCommand::Create { email, name } => {
            let email = Email::parse(&email).map_err(|e| anyhow::anyhow!("--email: {e}"))?;
            let name = names::required_text(&name, names::NAME_MAX)
                .map_err(|e| anyhow::anyhow!("--name: {e}"))?;
            let state = state(settings).await?;
            let mut tx = state.store.begin().await?;
            let user = users::find_by_email(&mut tx, &email)
                .await?
                .with_context(|| format!("no user has the email {email}"))?;
            let (secret, _) = pat::issue(&mut tx, &state, user.id, &name)
                .await
                .map_err(|e| anyhow::anyhow!("{e}"))?;
            tx.commit().await?;
            println!("{}", secret.expose());
            Ok(())
        }
    }
}
