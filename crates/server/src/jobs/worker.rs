//! The worker loop: claim a due job, run it, record the outcome; retry failures
//! with exponential backoff. Several workers (in one or many instances) never
//! run the same job at once: claiming is one atomic statement.

use super::queue::JobError;
use super::registry::Registry;
use crate::state::AppState;
use muster_store::{jobs, StoreError};
use std::sync::Arc;
use std::time::Duration as StdDuration;
use time::{Duration, OffsetDateTime};
use tokio::sync::watch;

const BACKOFF_BASE: Duration = Duration::seconds(10);
const BACKOFF_MAX: Duration = Duration::hours(1);
const MAINTENANCE_EVERY: Duration = Duration::minutes(10);

/// When attempt number `attempts` (1-based) failed, the next try waits
/// 10 s, 20 s, 40 s, … up to an hour.
pub fn backoff(attempts: i64) -> Duration {
    let exponent = u32::try_from(attempts.saturating_sub(1).clamp(0, 20)).unwrap_or(20);
    let delay = BACKOFF_BASE * 2_i32.saturating_pow(exponent);
    delay.min(BACKOFF_MAX)
}

/// How long a claimed job is reserved before another worker (of this or
/// another instance) may take it over: `MUSTER_JOB_LEASE`.
pub fn lease(state: &AppState) -> Duration {
    Duration::try_from(state.settings.job_lease).unwrap_or(Duration::minutes(5))
}

/// Runs the jobs of the kinds in its registry (`startup::worker` assembles
/// it from the features).
#[derive(Clone)]
pub struct Worker {
    state: AppState,
    registry: Arc<Registry>,
}

impl Worker {
    pub fn new(state: AppState, registry: Registry) -> Self {
        Self {
            state,
            registry: Arc::new(registry),
        }
    }

    /// Runs until `shutdown` turns true; a job under way is finished first.
    pub async fn run(self, mut shutdown: watch::Receiver<bool>) {
        let poll = self.state.settings.worker_poll;
        let mut last_maintenance: Option<OffsetDateTime> = None;
        loop {
            if *shutdown.borrow() {
                break;
            }
            let now = self.state.now();
            if last_maintenance.is_none_or(|at| now - at >= MAINTENANCE_EVERY) {
                self.maintain(now).await;
                last_maintenance = Some(now);
            }
            let idle = match self.run_next().await {
                Ok(ran) => !ran,
                Err(error) => {
                    tracing::warn!(%error, "the worker could not claim a job");
                    true
                }
            };
            if idle {
                tokio::select! {
                    _ = tokio::time::sleep(poll) => {}
                    _ = shutdown.changed() => {}
                }
            }
        }
        tracing::info!("worker stopped");
    }

    /// Housekeeping, every ten minutes in [`Worker::run`]: fails abandoned jobs,
    /// then runs the chores the features registered.
    pub async fn maintain(&self, now: OffsetDateTime) {
        if let Err(error) = self.state.store.fail_abandoned_jobs(now).await {
            tracing::warn!(%error, "could not fail abandoned jobs");
        }
        for (name, chore) in self.registry.chores() {
            if let Err(error) = chore(self.state.clone(), now).await {
                tracing::warn!(
                    chore = name,
                    error = format!("{error:#}"),
                    "housekeeping failed"
                );
            }
        }
    }

    /// Claims and runs one due job; `false` if none was due.
    pub async fn run_next(&self) -> Result<bool, StoreError> {
        let now = self.state.now();
        let Some(job) = self.state.store.claim_job(now, lease(&self.state)).await? else {
            return Ok(false);
        };
        let outcome = self.execute(&job).await;
        let now = self.state.now();
        let mut conn = self.state.store.write().await?;
        match outcome {
            Ok(()) => jobs::succeed(&mut conn, job.id, now).await?,
            Err(JobError::Retry(error)) if job.attempts < job.max_attempts => {
                let run_at = now + backoff(job.attempts);
                tracing::warn!(job = %job.id, kind = %job.kind, attempt = job.attempts, %error, %run_at, "job failed; will retry");
                jobs::retry_at(&mut conn, job.id, &error, run_at, now).await?;
            }
            Err(error) => {
                tracing::error!(job = %job.id, kind = %job.kind, attempt = job.attempts, %error, "job failed for good");
                jobs::fail(&mut conn, job.id, &error.to_string(), now).await?;
            }
        }
        Ok(true)
    }

    /// Runs due jobs until none is left; for the CLI and tests.
    pub async fn run_until_idle(&self) -> Result<usize, StoreError> {
        let mut ran = 0;
        while self.run_next().await? {
            ran += 1;
        }
        Ok(ran)
    }

    async fn execute(&self, job: &jobs::ClaimedJob) -> Result<(), JobError> {
        self.registry
            .run(self.state.clone(), job.id, &job.kind, &job.payload)
            .await
    }
}

/// For `tokio::time::sleep` in callers that think in `time::Duration`.
pub fn to_std(duration: Duration) -> StdDuration {
    StdDuration::try_from(duration).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_up_to_an_hour() {
        assert_eq!(backoff(1), Duration::seconds(10));
        assert_eq!(backoff(2), Duration::seconds(20));
        assert_eq!(backoff(4), Duration::seconds(80));
        assert_eq!(backoff(30), Duration::hours(1));
    }
}
