//! API calls made with a personal access token, counted in memory per minute
//! and written once a minute: one usage event per token and minute, not a row
//! per call. A crash loses at most the minute not yet written.

use crate::features::auth::caller::Via;
use crate::scope::OrgScope;
use crate::state::AppState;
use muster_domain::usage::Kind;
use muster_domain::{OrgId, TokenId, UserId};
use muster_store::usage::NewEvent;
use std::collections::HashMap;
use std::sync::Mutex;
use time::OffsetDateTime;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
struct Key {
    org: OrgId,
    user: UserId,
    token: TokenId,
    /// Unix minute of the calls.
    minute: i64,
}

#[derive(Debug, Default)]
pub struct ApiCalls {
    counts: Mutex<HashMap<Key, i64>>,
}

impl ApiCalls {
    /// Counts the call `scope` was made for, if a token made it.
    pub fn count(&self, scope: &OrgScope) {
        let Via::Token { id } = scope.caller.via else {
            return;
        };
        let key = Key {
            org: scope.org_id,
            user: scope.user_id(),
            token: id,
            minute: scope.now.unix_timestamp().div_euclid(60),
        };
        *self.lock().entry(key).or_default() += 1;
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<Key, i64>> {
        // A panic elsewhere while counting leaves whole counts behind.
        self.counts.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Everything counted so far, as events; the counts start again.
    fn take(&self) -> HashMap<Key, i64> {
        std::mem::take(&mut *self.lock())
    }

    fn give_back(&self, counts: HashMap<Key, i64>) {
        let mut held = self.lock();
        for (key, count) in counts {
            *held.entry(key).or_default() += count;
        }
    }
}

fn events(counts: &HashMap<Key, i64>) -> Vec<NewEvent> {
    counts
        .iter()
        .map(|(key, count)| {
            let at = OffsetDateTime::from_unix_timestamp(key.minute * 60)
                .unwrap_or(OffsetDateTime::UNIX_EPOCH);
            let mut event = NewEvent::by(key.org, Kind::ApiCall, Some(key.user), at).times(*count);
            event.name = Some(key.token.to_string());
            event
        })
        .collect()
}

/// Writes what was counted; on failure the counts wait for the next time.
pub async fn flush(state: AppState, now: OffsetDateTime) -> anyhow::Result<()> {
    let counts = state.api_calls.take();
    if counts.is_empty() {
        return Ok(());
    }
    let written = async {
        let mut tx = state.store.begin().await?;
        muster_store::usage::record(&mut tx, events(&counts), now).await?;
        tx.commit().await?;
        anyhow::Ok(())
    }
    .await;
    if written.is_err() {
        state.api_calls.give_back(counts);
    }
    written
}
