//! Who is calling: sessions (web UI and API with CSRF), personal access tokens,
//! passwords and sign-in throttling.

pub mod password;
pub mod pat;
pub mod session;
pub mod throttle;
pub mod token_cache;

use muster_domain::{TokenId, UserId};

/// An authenticated user and how they proved it.
#[derive(Debug, Clone)]
pub struct Caller {
    pub user_id: UserId,
    pub via: Via,
}

#[derive(Debug, Clone)]
pub enum Via {
    Session { id_hash: String, csrf_token: String },
    Token { id: TokenId },
}
