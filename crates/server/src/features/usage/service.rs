//! Usage events without HTTP: what an app sends, and the events other
//! capabilities record as they happen (each in its own transaction).

use crate::error::{AppError, AppResult};
use crate::features::logs::service::{known_solutions, rate_key, Rejected};
use crate::scope::OrgScope;
use crate::state::AppState;
use muster_domain::log::Level;
use muster_domain::usage::{self, CheckedEvent, Day, EventInput, Kind};
use muster_store::usage::NewEvent;
use muster_store::{logs, StoreError};
use std::collections::BTreeMap;
use time::Duration;

/// What became of a batch.
#[derive(Debug, Default, PartialEq)]
pub struct Ingested {
    pub accepted: usize,
    pub rejected: Vec<Rejected>,
}

/// Takes a batch from the caller's app: each event checked on its own, the
/// good ones written in one transaction as the caller's.
pub async fn ingest(
    state: &AppState,
    scope: &OrgScope,
    events: Vec<serde_json::Value>,
) -> AppResult<Ingested> {
    if events.len() > usage::BATCH_MAX {
        return Err(AppError::invalid(
            "events",
            format!("at most {} events per call", usage::BATCH_MAX),
        ));
    }
    let now = scope.now;
    let submitted = events.len();
    let kept_days = {
        let mut conn = state.store.read().await?;
        muster_store::usage::retention(&mut conn, scope.org_id).await?
    };
    let retention = Duration::days(kept_days.days);
    let mut outcome = Ingested::default();
    let mut kept: Vec<(usize, CheckedEvent)> = Vec::with_capacity(events.len());
    for (index, value) in events.into_iter().enumerate() {
        let checked = serde_json::from_value::<EventInput>(value)
            .map_err(|_| ("event", "must be an object with a type".to_owned()))
            .and_then(|input| usage::check_event(input, now, retention))
            .and_then(|event| final_day(event, kept_days.kept_from));
        match checked {
            Ok(event) => kept.push((index, event)),
            Err((field, message)) => outcome.rejected.push(Rejected {
                index,
                field: field.into(),
                message,
            }),
        }
    }
    let known = known_solutions(
        state,
        scope.org_id,
        kept.iter().filter_map(|(_, e)| e.solution_id.as_deref()),
    )
    .await?;
    let mut rows = Vec::with_capacity(kept.len());
    for (index, event) in kept {
        if let Some(id) = event.solution_id.as_deref() {
            if !known.contains(id) {
                outcome.rejected.push(Rejected {
                    index,
                    field: "solution_id".into(),
                    message: format!("{id} is not a solution of this organization"),
                });
                continue;
            }
        }
        rows.push(NewEvent {
            org_id: scope.org_id,
            kind: event.kind,
            time: event.time,
            user_id: Some(scope.user_id()),
            solution_id: event.solution_id,
            name: event.name,
            count: 1,
            properties: event.properties,
        });
    }
    outcome.rejected.sort_by_key(|r| r.index);
    outcome.accepted = rows.len();
    // The call counts against the rate limit whole, in the transaction that
    // writes it: a call over the limit writes nothing and uses none of it.
    let key = format!("usage:{}", rate_key(&scope.caller));
    let submitted = i64::try_from(submitted).unwrap_or(i64::MAX);
    let limit = i64::try_from(state.settings.app_usage_rate).unwrap_or(i64::MAX);
    let mut tx = state.store.begin().await?;
    if logs::count_sent(&mut tx, &key, submitted, now).await? > limit {
        tx.rollback().await.map_err(StoreError::from)?;
        let retry_after_secs = logs::rate_window_left(now);
        return Err(AppError::Throttled {
            detail: format!(
                "at most {limit} usage events per minute from one device or token; \
                 nothing of this call was written, send it again in {retry_after_secs} s"
            ),
            retry_after_secs,
        });
    }
    muster_store::usage::record(&mut tx, rows, now).await?;
    tx.commit().await.map_err(StoreError::from)?;
    Ok(outcome)
}

/// The event, unless its day is final: retention deleted that day's raw
/// events (under a shorter retention than today's), so its figures stay as
/// they are.
fn final_day(event: CheckedEvent, kept_from: Day) -> Result<CheckedEvent, usage::EventError> {
    if Day::of(event.time) < kept_from {
        return Err((
            "time",
            format!(
                "is before {}: the raw events of that day were deleted and its figures are final",
                usage::format_day(kept_from)
            ),
        ));
    }
    Ok(event)
}

/// The error (and fatal) entries of a batch of log entries as usage events,
/// recorded with the entries: one count per solution and minute of the
/// entries' time, so "the last 24 hours" agrees with Troubleshooting to the
/// minute however late a batch comes.
pub fn error_logs(sender: &logs::Sender, rows: &[logs::NewEntry]) -> Vec<NewEvent> {
    let mut counts: BTreeMap<(Option<String>, i64), i64> = BTreeMap::new();
    for row in rows.iter().filter(|r| r.level >= Level::Error.rank()) {
        let minute = row.time.unix_timestamp().div_euclid(60);
        *counts
            .entry((row.solution_id.map(|s| s.to_string()), minute))
            .or_default() += 1;
    }
    counts
        .into_iter()
        .map(|((solution, minute), count)| {
            let at = time::OffsetDateTime::from_unix_timestamp(minute * 60)
                .unwrap_or(sender.received_at);
            NewEvent::by(sender.org_id, Kind::ErrorLog, Some(sender.user_id), at)
                .in_solution(solution)
                .times(count)
        })
        .collect()
}
