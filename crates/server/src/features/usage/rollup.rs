//! The rollup: a job that rewrites the daily figures of every day that may
//! have changed (today, the days not closed yet, days late events came for),
//! queued every `MUSTER_ROLLUP_INTERVAL`; and the deletion of raw events past
//! each organization's retention, which leaves the figures alone.

use crate::jobs::{JobError, JobKind};
use crate::state::AppState;
use muster_domain::usage::Day;
use muster_domain::JobId;
use muster_store::{usage, StoreError};
use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;
use time::{Duration, OffsetDateTime};

#[derive(Debug, Serialize, Deserialize)]
pub struct RollUp {}

impl JobKind for RollUp {
    const KIND: &'static str = "usage.rollup";
    const MAX_ATTEMPTS: i64 = 3;
    const BACKGROUND: bool = true;
}

/// How long after a day ends its events may still be on their way (a call
/// under way at midnight): until then the day is rolled up again.
const SETTLE: Duration = Duration::minutes(5);
/// Raw events deleted per transaction, and transactions per run.
const RETENTION_BATCH: i64 = 5000;
const RETENTION_BATCHES_PER_RUN: usize = 100;

/// The days a rollup at `now` rewrites for an organization that keeps raw
/// events from `first_kept`: from the day after the last closed one (before
/// the first rollup, every day kept) up to today, and the days its late events
/// came for; none before `first_kept`.
pub fn days_to_roll(
    now: OffsetDateTime,
    closed: Option<Day>,
    late: &[Day],
    first_kept: Day,
) -> BTreeSet<Day> {
    let today = Day::of(now);
    let first = closed.map_or(first_kept, |d| d.plus(1)).max(first_kept);
    let mut days: BTreeSet<Day> = (first.0..=today.0).map(Day).collect();
    days.extend(
        late.iter()
            .copied()
            .filter(|d| *d >= first_kept && *d <= today),
    );
    days
}

pub async fn run(state: &AppState, _id: JobId, _job: RollUp) -> Result<(), JobError> {
    let now = state.now();
    let today = Day::of(now);
    let (closed, late, retentions) = {
        let mut conn = state.store.read().await?;
        (
            usage::closed_through(&mut conn).await?,
            usage::late_days(&mut conn).await?,
            usage::retentions(&mut conn).await?,
        )
    };
    for retention in &retentions {
        let org_late: Vec<Day> = late
            .iter()
            .filter(|l| l.org_id == retention.org_id)
            .map(|l| l.day)
            .collect();
        // A day the organization no longer keeps raw events of is final.
        for day in days_to_roll(now, closed, &org_late, retention.first_kept(today)) {
            // The day is read beside the writer; only its figures are written,
            // and an idle organization costs a read, not a write transaction.
            let events = {
                let mut conn = state.store.read().await?;
                usage::read_day(&mut conn, retention.org_id, day).await?
            };
            if let Some(events) = events {
                let mut tx = state.store.begin().await?;
                usage::write_day(&mut tx, retention.org_id, day, events, now).await?;
                tx.commit().await.map_err(StoreError::from)?;
            }
        }
    }
    {
        let mut tx = state.store.begin().await?;
        usage::close_through(&mut tx, Day::of(now - SETTLE).plus(-1)).await?;
        for day in late {
            usage::clear_late_day(&mut tx, day, now - SETTLE).await?;
        }
        tx.commit().await.map_err(StoreError::from)?;
    }
    delete_past_retention(state, now, &retentions).await
}

async fn delete_past_retention(
    state: &AppState,
    now: OffsetDateTime,
    retentions: &[usage::Retention],
) -> Result<(), JobError> {
    let mut batches = 0;
    for retention in retentions {
        let org_id = &retention.org_id;
        let first_kept = retention.first_kept(Day::of(now));
        if first_kept > retention.kept_from {
            // Final before any of it goes, so no rollup rewrites a day half gone.
            let mut tx = state.store.begin().await?;
            usage::keep_from(&mut tx, *org_id, first_kept).await?;
            tx.commit().await.map_err(StoreError::from)?;
        }
        // Only batches that deleted something count against the run, so
        // organizations with nothing to delete never starve the ones after.
        while batches < RETENTION_BATCHES_PER_RUN {
            let mut tx = state.store.begin().await?;
            let deleted =
                usage::delete_before(&mut tx, *org_id, first_kept, RETENTION_BATCH).await?;
            tx.commit().await.map_err(StoreError::from)?;
            if deleted > 0 {
                batches += 1;
            }
            if deleted < u64::try_from(RETENTION_BATCH).unwrap_or(u64::MAX) {
                break;
            }
        }
    }
    // What is left goes with the next run, a minute on.
    Ok(())
}

/// Every rollup interval: a rollup unless one is waiting already.
pub async fn queue(state: AppState, now: OffsetDateTime) -> anyhow::Result<()> {
    let mut tx = state.store.begin().await?;
    if !muster_store::jobs::has_pending(&mut tx, RollUp::KIND).await? {
        crate::jobs::enqueue(&mut tx, &RollUp {}, now).await?;
    }
    // The runs of the last hour stay to be looked at; older ones go.
    muster_store::jobs::forget_succeeded(&mut tx, RollUp::KIND, now - Duration::HOUR).await?;
    tx.commit().await.map_err(StoreError::from)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use muster_domain::usage::parse_day;

    fn at(text: &str) -> OffsetDateTime {
        muster_domain::log::parse_time(text).expect("a time")
    }

    fn day(text: &str) -> Day {
        parse_day(text).expect("a day")
    }

    #[test]
    fn the_first_rollup_covers_every_day_still_kept() {
        let days = days_to_roll(at("2026-12-04T10:00:00Z"), None, &[], day("2026-11-28"));
        assert_eq!(days.first(), Some(&day("2026-11-28")));
        assert_eq!(days.last(), Some(&day("2026-12-04")));
        assert_eq!(days.len(), 7);
    }

    #[test]
    fn after_downtime_every_day_since_the_last_closed_one_is_rolled_up() {
        let days = days_to_roll(
            at("2026-12-04T10:00:00Z"),
            Some(day("2026-11-30")),
            &[],
            day("2026-09-06"),
        );
        assert_eq!(days.len(), 4, "1, 2, 3 and 4 December");
        // Never further back than the organization keeps raw events.
        let days = days_to_roll(
            at("2026-12-04T10:00:00Z"),
            Some(day("2026-01-01")),
            &[],
            day("2026-11-28"),
        );
        assert_eq!(days.first(), Some(&day("2026-11-28")));
    }

    #[test]
    fn days_late_events_came_for_are_rolled_up_again() {
        let late = [day("2026-11-01"), day("2026-01-01"), day("2026-12-09")];
        let days = days_to_roll(
            at("2026-12-04T10:00:00Z"),
            Some(day("2026-12-03")),
            &late,
            day("2026-09-06"),
        );
        assert_eq!(
            days.into_iter().collect::<Vec<_>>(),
            vec![day("2026-11-01"), day("2026-12-04")]
        );
    }
}
