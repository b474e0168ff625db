//! PostgreSQL keeps log entries in one partition per day. Each instance
//! remembers the days it has seen made, so an ingest asks the database only for
//! a day it has not written to before (a late entry, or the first of a day).

use muster_store::{logs, Backend, Store};
use std::collections::HashSet;
use std::sync::Mutex;
use time::OffsetDateTime;

/// Days ahead of today whose partitions housekeeping makes.
pub const DAYS_AHEAD: i64 = 7;

#[derive(Debug, Default)]
pub struct Known(Mutex<HashSet<i64>>);

impl Known {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashSet<i64>> {
        self.0
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Makes sure entries at `times` have a partition to go to.
    pub async fn ensure(
        &self,
        store: &Store,
        times: impl Iterator<Item = OffsetDateTime>,
    ) -> muster_store::Result<()> {
        if store.backend() != Backend::Postgres {
            return Ok(());
        }
        let mut missing: Vec<i64> = {
            let known = self.lock();
            times
                .map(logs::day_of)
                .filter(|day| !known.contains(day))
                .collect()
        };
        if missing.is_empty() {
            return Ok(());
        }
        missing.sort_unstable();
        missing.dedup();
        let mut conn = store.write().await?;
        logs::ensure_partitions(&mut conn, &missing).await?;
        self.lock().extend(missing);
        Ok(())
    }

    /// Forgets every day (after a write found one dropped).
    pub fn forget(&self) {
        self.lock().clear();
    }

    /// Makes today's partition and those of the days ahead.
    pub async fn prepare(&self, store: &Store, now: OffsetDateTime) -> muster_store::Result<()> {
        let days = (0..=DAYS_AHEAD).map(|d| now + time::Duration::days(d));
        self.ensure(store, days).await
    }
}
