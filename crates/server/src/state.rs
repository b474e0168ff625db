//! What every request handler shares.

use crate::config::Settings;
use crate::features::tokens::cache::TokenCache;
use muster_domain::Clock;
use muster_store::Store;
use std::sync::Arc;

#[derive(Clone)]
pub struct AppState(Arc<Inner>);

pub struct Inner {
    pub store: Store,
    pub settings: Settings,
    pub clock: Arc<dyn Clock>,
    /// Recently verified personal access tokens of this instance.
    pub token_cache: TokenCache,
    /// The event streams open on this instance.
    pub hub: std::sync::Arc<crate::features::notifications::hub::Hub>,
    /// The VAPID keys and the HTTP client of Web Push.
    pub push: crate::features::notifications::webpush::Pusher,
    /// The days whose log partition this instance knows to exist (PostgreSQL).
    pub log_partitions: crate::features::logs::partitions::Known,
    /// API calls with a token on this instance, written once a minute.
    pub api_calls: crate::features::usage::api_calls::ApiCalls,
    /// Seals secrets that wait in the database; signs pre-sign-in cookies.
    pub key: crate::keys::ServerKey,
    /// This process's name in the job table.
    pub instance: String,
}

impl AppState {
    /// Also reads (or makes) the server key and instance id (see `keys`).
    pub fn new(store: Store, settings: Settings, clock: Arc<dyn Clock>) -> anyhow::Result<Self> {
        let key = settings.server_key()?;
        let instance = settings.instance()?;
        Ok(Self(Arc::new(Inner {
            store,
            settings,
            clock,
            token_cache: TokenCache::default(),
            hub: Default::default(),
            push: Default::default(),
            log_partitions: Default::default(),
            api_calls: Default::default(),
            key,
            instance,
        })))
    }

    pub fn now(&self) -> time::OffsetDateTime {
        self.0.clock.now()
    }
}

impl std::ops::Deref for AppState {
    type Target = Inner;
    fn deref(&self) -> &Inner {
        &self.0
    }
}
