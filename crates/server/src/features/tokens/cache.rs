//! Tokens verified in the last second, so that a client's calls do not each
//! read their token from the database: the read is one hand-off to a database
//! thread (SQLite) or one network round trip (PostgreSQL) per request.
//!
//! What it costs in freshness: a token deleted or extended here is forgotten at
//! once; one deleted through another instance of a cluster works there for at
//! most [`FRESH_FOR`]. An entry whose lease has run out is not used, so a token
//! extended elsewhere is read again. Only tokens that were found are kept (a
//! flood of made-up tokens cannot push real ones out), keyed by the SHA-256 of
//! the secret, never the secret.

use muster_domain::TokenId;
use muster_store::tokens::Token;
use quick_cache::sync::Cache;
use time::{Duration, OffsetDateTime};

/// How long a token read from the database is trusted without reading it again.
pub const FRESH_FOR: Duration = Duration::seconds(1);
/// Tokens in use at once that one instance remembers.
const CAPACITY: usize = 10_000;

pub struct TokenCache {
    entries: Cache<String, Entry>,
}

#[derive(Clone)]
struct Entry {
    token: Token,
    read_at: OffsetDateTime,
}

impl Default for TokenCache {
    fn default() -> Self {
        Self {
            entries: Cache::new(CAPACITY),
        }
    }
}

impl TokenCache {
    /// The token with this hash, if it was read less than [`FRESH_FOR`] ago and
    /// its lease has not run out.
    pub fn get(&self, hash: &str, now: OffsetDateTime) -> Option<Token> {
        let entry = self.entries.get(hash)?;
        let fresh = now - entry.read_at < FRESH_FOR && now >= entry.read_at;
        (fresh && entry.token.lease_expires_at > now).then_some(entry.token)
    }

    /// Remembers a token just read from the database.
    pub fn put(&self, hash: String, token: Token, now: OffsetDateTime) {
        self.entries.insert(
            hash,
            Entry {
                token,
                read_at: now,
            },
        );
    }

    /// Forgets a token whose lease was changed or that was deleted.
    pub fn forget(&self, id: TokenId) {
        self.entries.retain(|_, entry| entry.token.id != id);
    }

    /// Forgets the token with this hash (its use was just written).
    pub fn forget_hash(&self, hash: &str) {
        self.entries.remove(hash);
    }
}
