//! Muster: a self-hosted management portal for organizations that run mobile
//! app solutions. This crate is the `muster` binary's library: configuration,
//! the capabilities (`features/`), the HTTP API and web UI around them,
//! background jobs, mail and the CLI.

pub mod cli;
pub mod config;
pub mod error;
pub mod features;
pub mod http;
pub mod jobs;
pub mod keys;
pub mod mail;
pub mod page;
pub mod scope;
pub mod startup;
pub mod state;

pub use config::Settings;
pub use state::AppState;
