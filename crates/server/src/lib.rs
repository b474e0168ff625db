//! Muster: a self-hosted management portal for organizations that run mobile
//! app solutions. This crate is the `muster` binary's library: configuration,
//! HTTP API and web UI, background jobs, mail and the CLI.

pub mod audit;
pub mod auth;
pub mod cli;
pub mod config;
pub mod http;
pub mod invites;
pub mod jobs;
pub mod mail;
pub mod members;
pub mod solutions;
pub mod startup;
pub mod state;
pub mod tokens;

pub use config::Settings;
pub use state::AppState;
