//! Troubleshooting logs without HTTP: taking a batch from an app, the level an
//! app should log at, and a member's temporary level. Reading is `reading`.

use crate::error::{AppError, AppResult};
use crate::features::audit_log::service as audit;
use crate::features::auth::caller::{Caller, Via};
use crate::scope::OrgScope;
use crate::state::AppState;
use muster_domain::log::{self, CheckedEntry, EntryInput, Level};
use muster_domain::permission::Capability;
use muster_domain::{AuditAction, OrgId, SolutionId, UserId};
use muster_store::logs::{self, NewEntry, Sender};
use muster_store::{memberships, orgs, users, Conn, StoreError};
use serde_json::json;
use std::collections::HashSet;
use time::{Duration, OffsetDateTime};

/// What became of a batch.
#[derive(Debug, Default, PartialEq)]
pub struct Ingested {
    pub accepted: usize,
    pub dropped: usize,
    pub rejected: Vec<Rejected>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Rejected {
    pub index: usize,
    pub field: String,
    pub message: String,
}

/// The level an app of this member should log at, and why.
#[derive(Debug, Clone, PartialEq)]
pub struct LevelInForce {
    pub level: Level,
    /// Set for this member by an administrator, until `until`.
    pub member_override: Option<OffsetDateTime>,
}

pub async fn level_in_force(
    conn: &mut Conn,
    org_id: OrgId,
    org_level: &str,
    user: UserId,
    now: OffsetDateTime,
) -> AppResult<LevelInForce> {
    if let Some(found) = logs::find_override(conn, org_id, user, now).await? {
        if let Some(level) = Level::parse(&found.level) {
            return Ok(LevelInForce {
                level,
                member_override: Some(found.until),
            });
        }
    }
    Ok(LevelInForce {
        level: Level::parse(org_level).unwrap_or(Level::Error),
        member_override: None,
    })
}

/// The level in force for the caller of `scope`.
pub async fn app_config(state: &AppState, scope: &OrgScope) -> AppResult<LevelInForce> {
    let mut conn = state.store.read().await?;
    let org = orgs::find(&mut conn, scope.org_id).await?;
    level_in_force(
        &mut conn,
        scope.org_id,
        &org.logging_level,
        scope.user_id(),
        scope.now,
    )
    .await
}

/// What the rate limit counts a call under: the device, the token or the session.
pub fn rate_key(caller: &Caller) -> String {
    match &caller.via {
        Via::Device { id } => format!("device:{id}"),
        Via::Token { id } => format!("token:{id}"),
        Via::Session { id_hash, .. } => format!("session:{id_hash}"),
    }
}

/// Takes a batch from the caller's app: each entry checked on its own, those
/// below the level in force dropped, the rest written in one transaction with
/// the call's count against the rate limit (a call over it writes nothing).
pub async fn ingest(
    state: &AppState,
    scope: &OrgScope,
    entries: Vec<serde_json::Value>,
) -> AppResult<Ingested> {
    if entries.len() > log::BATCH_MAX {
        return Err(AppError::invalid(
            "entries",
            format!("at most {} entries per call", log::BATCH_MAX),
        ));
    }
    let submitted = i64::try_from(entries.len()).unwrap_or(i64::MAX);
    let now = scope.now;
    let (org, in_force) = {
        let mut conn = state.store.read().await?;
        let org = orgs::find(&mut conn, scope.org_id).await?;
        let in_force = level_in_force(
            &mut conn,
            scope.org_id,
            &org.logging_level,
            scope.user_id(),
            now,
        )
        .await?;
        (org, in_force)
    };
    let retention = Duration::days(org.log_retention_days);
    let mut outcome = Ingested::default();
    let mut kept: Vec<(usize, CheckedEntry)> = Vec::with_capacity(entries.len());
    for (index, value) in entries.into_iter().enumerate() {
        let input: EntryInput = match serde_json::from_value(value) {
            Ok(input) => input,
            Err(_) => {
                outcome.rejected.push(Rejected {
                    index,
                    field: "entry".into(),
                    message: "must be an object with level, message and correlation_id".into(),
                });
                continue;
            }
        };
        match log::check_entry(input, now, retention) {
            Err((field, message)) => outcome.rejected.push(Rejected {
                index,
                field: field.into(),
                message,
            }),
            Ok(entry) if entry.level < in_force.level => outcome.dropped += 1,
            Ok(entry) => kept.push((index, entry)),
        }
    }
    let rows = with_solutions(state, scope.org_id, kept, &mut outcome.rejected).await?;
    outcome.rejected.sort_by_key(|r| r.index);
    outcome.accepted = rows.len();
    let sender = Sender {
        org_id: scope.org_id,
        user_id: scope.user_id(),
        device_id: match scope.caller.via {
            Via::Device { id } => Some(id),
            _ => None,
        },
        received_at: now,
    };
    let key = rate_key(&scope.caller);
    let times: Vec<OffsetDateTime> = rows.iter().map(|r| r.time).collect();
    state
        .log_partitions
        .ensure(&state.store, times.iter().copied())
        .await?;
    match write(state, &key, submitted, sender, rows.clone()).await {
        Err(AppError::Internal(error))
            if error
                .downcast_ref::<muster_store::StoreError>()
                .is_some_and(logs::is_missing_partition) =>
        {
            // Another instance dropped a day this one remembered: make it again.
            state.log_partitions.forget();
            state
                .log_partitions
                .ensure(&state.store, rows.iter().map(|r| r.time))
                .await?;
            write(state, &key, submitted, sender, rows).await?;
        }
        other => other?,
    }
    state
        .log_partitions
        .written(&state.store, times.into_iter());
    Ok(outcome)
}

async fn write(
    state: &AppState,
    key: &str,
    submitted: i64,
    sender: Sender,
    rows: Vec<NewEntry>,
) -> AppResult<()> {
    let limit = i64::try_from(state.settings.app_log_rate).unwrap_or(i64::MAX);
    let mut tx = state.store.begin().await?;
    let sent = logs::count_sent(&mut tx, key, submitted, sender.received_at).await?;
    if sent > limit {
        tx.rollback().await.map_err(StoreError::from)?;
        let retry_after_secs = logs::rate_window_left(sender.received_at);
        return Err(AppError::Throttled {
            detail: format!(
                "at most {limit} log entries per minute from one device or token; \
                 nothing of this call was written, send it again in {retry_after_secs} s"
            ),
            retry_after_secs,
        });
    }
    if !rows.is_empty() {
        let errors = crate::features::usage::service::error_logs(&sender, &rows);
        logs::insert(&mut tx, sender, rows).await?;
        muster_store::usage::record(&mut tx, errors, sender.received_at).await?;
    }
    tx.commit().await.map_err(StoreError::from)?;
    Ok(())
}

/// The kept entries as rows, each naming a solution of the organization (or
/// rejected for one that is not).
async fn with_solutions(
    state: &AppState,
    org_id: OrgId,
    kept: Vec<(usize, CheckedEntry)>,
    rejected: &mut Vec<Rejected>,
) -> AppResult<Vec<NewEntry>> {
    let known = known_solutions(
        state,
        org_id,
        kept.iter().filter_map(|(_, e)| e.solution_id.as_deref()),
    )
    .await?;
    let mut rows = Vec::with_capacity(kept.len());
    for (index, entry) in kept {
        let solution_id = match entry.solution_id.as_deref() {
            None => None,
            Some(id) => match id.parse::<SolutionId>() {
                Ok(parsed) if known.contains(id) => Some(parsed),
                _ => {
                    rejected.push(Rejected {
                        index,
                        field: "solution_id".into(),
                        message: format!("{id} is not a solution of this organization"),
                    });
                    continue;
                }
            },
        };
        rows.push(NewEntry {
            time: entry.time,
            level: entry.level.rank(),
            category: entry.category,
            message: entry.message,
            correlation_id: entry.correlation_id,
            solution_id,
            context: entry.context,
        });
    }
    Ok(rows)
}

/// Those of `named` that are solutions of the organization.
pub async fn known_solutions<'a>(
    state: &AppState,
    org_id: OrgId,
    named: impl Iterator<Item = &'a str>,
) -> AppResult<HashSet<String>> {
    let mut named: Vec<String> = named
        .filter(|id| id.parse::<SolutionId>().is_ok())
        .map(str::to_owned)
        .collect();
    named.sort_unstable();
    named.dedup();
    if named.is_empty() {
        return Ok(HashSet::new());
    }
    let mut conn = state.store.read().await?;
    Ok(logs::solutions_of_org(&mut conn, org_id, &named)
        .await?
        .into_iter()
        .collect())
}

/// A member's temporary logging level, as the member's page shows it.
pub async fn member_level(
    state: &AppState,
    scope: &OrgScope,
    user: UserId,
) -> AppResult<Option<logs::Override>> {
    scope.require(Capability::ManageOrgSettings)?;
    let mut conn = state.store.read().await?;
    member_of(&mut conn, scope.org_id, user).await?;
    Ok(logs::find_override(&mut conn, scope.org_id, user, scope.now).await?)
}

async fn member_of(conn: &mut Conn, org_id: OrgId, user: UserId) -> AppResult<()> {
    match memberships::find(conn, org_id, user).await? {
        Some(m) if m.status != muster_domain::MembershipStatus::Invited => Ok(()),
        _ => Err(AppError::NotFound),
    }
}

/// "Detailed logging for this member for `hours` hours": their apps log at
/// `level` until then, whatever the organization's level.
pub async fn set_member_level(
    state: &AppState,
    scope: &OrgScope,
    user: UserId,
    level: Option<&str>,
    hours: Option<i64>,
) -> AppResult<logs::Override> {
    scope.require(Capability::ManageOrgSettings)?;
    let mut invalid = muster_domain::Invalid::default();
    let level = match level.map(str::trim).filter(|l| !l.is_empty()) {
        None => Some(Level::Debug),
        Some(text) => invalid.check("level", Level::parse(text).ok_or_else(Level::choices)),
    };
    let hours = hours.unwrap_or(log::OVERRIDE_DEFAULT_HOURS);
    if !(1..=log::OVERRIDE_MAX_HOURS).contains(&hours) {
        invalid.push(
            "hours",
            format!("between 1 and {}", log::OVERRIDE_MAX_HOURS),
        );
    }
    let Some(level) = level.filter(|_| invalid.0.is_empty()) else {
        return Err(invalid.into());
    };
    let until = scope.now + Duration::hours(hours);
    let mut tx = state.store.begin().await?;
    member_of(&mut tx, scope.org_id, user).await?;
    logs::set_override(&mut tx, scope.org_id, user, level.as_str(), until).await?;
    let actor = scope.actor(&mut tx).await?;
    let email = users::find(&mut tx, user).await?.email;
    audit::record(
        &mut tx,
        scope.org_id,
        &actor,
        AuditAction::MemberLogLevelSet,
        &email,
        None,
        Some(
            json!({"level": level.as_str(), "until": crate::features::logs::views::rfc3339(until)}),
        ),
        scope.now,
    )
    .await?;
    tx.commit().await.map_err(StoreError::from)?;
    Ok(logs::Override {
        level: level.as_str().to_owned(),
        until,
    })
}

/// Ends a member's temporary level; 404 when there was none.
pub async fn clear_member_level(state: &AppState, scope: &OrgScope, user: UserId) -> AppResult<()> {
    scope.require(Capability::ManageOrgSettings)?;
    let mut tx = state.store.begin().await?;
    member_of(&mut tx, scope.org_id, user).await?;
    if !logs::clear_override(&mut tx, scope.org_id, user).await? {
        return Err(AppError::NotFound);
    }
    let actor = scope.actor(&mut tx).await?;
    let email = users::find(&mut tx, user).await?.email;
    audit::record(
        &mut tx,
        scope.org_id,
        &actor,
        AuditAction::MemberLogLevelCleared,
        &email,
        None,
        None,
        scope.now,
    )
    .await?;
    tx.commit().await.map_err(StoreError::from)?;
    Ok(())
}
