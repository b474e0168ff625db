//! One folder per capability: its service (no HTTP in it), its API routes, its
//! pages and its jobs. See docs/adr/0005-one-folder-per-capability.md.

pub mod account;
pub mod audit_log;
pub mod auth;
pub mod devices;
pub mod invitations;
pub mod invite_templates;
pub mod logs;
pub mod members;
pub mod notifications;
pub mod orgs;
pub mod profile;
pub mod setup;
pub mod solutions;
pub mod tokens;
pub mod two_factor;
pub mod usage;

/// Every feature's job kinds and housekeeping.
pub fn jobs(registry: crate::jobs::Registry) -> crate::jobs::Registry {
    let registry = auth::jobs(registry);
    let registry = account::jobs(registry);
    let registry = tokens::jobs(registry);
    let registry = invitations::jobs(registry);
    let registry = logs::jobs(registry);
    let registry = usage::jobs(registry);
    let registry = orgs::jobs(registry);
    notifications::jobs(registry)
}
