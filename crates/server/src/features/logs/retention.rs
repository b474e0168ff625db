//! Log retention: a job deletes each organization's entries older than its
//! retention, a bounded batch per transaction; on PostgreSQL whole days past
//! every organization's retention go as partitions.

use crate::jobs::{JobError, JobKind};
use crate::state::AppState;
use muster_domain::JobId;
use muster_store::{logs, StoreError};
use serde::{Deserialize, Serialize};
use time::Duration;

/// Entries deleted per transaction.
const BATCH: i64 = 5000;
/// Batches per run; what is left is for the run queued after it.
const BATCHES_PER_RUN: usize = 200;

#[derive(Debug, Serialize, Deserialize)]
pub struct ApplyRetention {}

impl JobKind for ApplyRetention {
    const KIND: &'static str = "logs.retention";
    const MAX_ATTEMPTS: i64 = 3;
    const BACKGROUND: bool = true;
}

pub async fn run(state: &AppState, _id: JobId, _job: ApplyRetention) -> Result<(), JobError> {
    let now = state.now();
    let retentions = {
        let mut conn = state.store.read().await?;
        logs::retentions(&mut conn).await?
    };
    let longest = retentions
        .iter()
        .map(|(_, days)| *days)
        .max()
        .unwrap_or(muster_domain::org::LOG_RETENTION_MAX_DAYS);
    {
        let mut conn = state.store.write().await?;
        let dropped =
            logs::drop_partitions_before(&mut conn, now - Duration::days(longest)).await?;
        if !dropped.is_empty() {
            state.log_partitions.forget();
            tracing::info!(
                days = dropped.len(),
                "dropped log partitions past retention"
            );
        }
    }
    let mut batches = 0;
    for (org_id, days) in retentions {
        let before = now - Duration::days(days);
        loop {
            if batches == BATCHES_PER_RUN {
                let mut tx = state.store.begin().await?;
                crate::jobs::enqueue(&mut tx, &ApplyRetention {}, now).await?;
                tx.commit().await.map_err(StoreError::from)?;
                return Ok(());
            }
            batches += 1;
            let mut tx = state.store.begin().await?;
            let deleted = logs::delete_older(&mut tx, org_id, before, BATCH).await?;
            tx.commit().await.map_err(StoreError::from)?;
            if deleted < u64::try_from(BATCH).unwrap_or(u64::MAX) {
                break;
            }
        }
    }
    Ok(())
}

/// Housekeeping: partitions for the days ahead, a retention run unless one is
/// waiting, and the counters and levels that ran out.
pub async fn chore(state: AppState, now: time::OffsetDateTime) -> anyhow::Result<()> {
    state.log_partitions.prepare(&state.store, now).await?;
    let mut tx = state.store.begin().await?;
    if !muster_store::jobs::has_pending(&mut tx, ApplyRetention::KIND).await? {
        crate::jobs::enqueue(&mut tx, &ApplyRetention {}, now).await?;
    }
    logs::delete_old_rates(&mut tx, now).await?;
    logs::delete_expired_overrides(&mut tx, now).await?;
    tx.commit().await.map_err(StoreError::from)?;
    Ok(())
}
