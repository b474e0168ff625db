//! The worker: a lane per job kind claims due jobs in batches and runs them
//! concurrently (up to the kind's limit), records each outcome, and retries
//! failures with exponential backoff. Several workers (in one or many
//! instances) never run the same job at once: claiming is one atomic statement.

use super::queue::JobError;
use super::registry::Registry;
use crate::state::AppState;
use muster_store::{jobs, StoreError};
use std::sync::Arc;
use std::time::Duration as StdDuration;
use time::{Duration, OffsetDateTime};
use tokio::sync::{mpsc, watch, OwnedSemaphorePermit, Semaphore};

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
    /// Jobs of kinds that are not background work, under way in this worker.
    foreground: Arc<Foreground>,
}

/// A count of foreground jobs under way, and a signal when it falls to zero.
#[derive(Default)]
struct Foreground {
    running: std::sync::atomic::AtomicUsize,
    idle: tokio::sync::Notify,
}

impl Foreground {
    fn busy(&self) -> bool {
        self.running.load(std::sync::atomic::Ordering::SeqCst) > 0
    }
}

/// A foreground job under way; counted until dropped, panic or not.
struct ForegroundJob(Arc<Foreground>);

impl ForegroundJob {
    fn start(foreground: &Arc<Foreground>) -> Self {
        foreground
            .running
            .fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        ForegroundJob(foreground.clone())
    }
}

impl Drop for ForegroundJob {
    fn drop(&mut self) {
        if self
            .0
            .running
            .fetch_sub(1, std::sync::atomic::Ordering::SeqCst)
            == 1
        {
            self.0.idle.notify_waiters();
        }
    }
}

impl Worker {
    pub fn new(state: AppState, registry: Registry) -> Self {
        Self {
            state,
            registry: Arc::new(registry),
            foreground: Arc::default(),
        }
    }

    /// Runs until `shutdown` turns true: a lane per job kind, so that no kind
    /// waits behind another's backlog; housekeeping every ten minutes; and on
    /// PostgreSQL a listener that wakes the lanes when any instance queues a
    /// job. Jobs under way are finished first.
    pub async fn run(self, shutdown: watch::Receiver<bool>) {
        // What this instance had claimed when it last stopped runs again now:
        // its process is gone, so nobody else will finish it before the lease.
        match self
            .state
            .store
            .take_back_claims(&self.state.instance, self.state.now())
            .await
        {
            Ok(0) => {}
            Ok(taken) => tracing::info!(
                jobs = taken,
                "took back the jobs this instance had claimed when it stopped"
            ),
            Err(error) => {
                tracing::warn!(%error, "could not take back this instance's claimed jobs; they run again after their lease")
            }
        }
        let mut tasks = tokio::task::JoinSet::new();
        for lane in self.registry.lanes() {
            let lane = Lane::new(self.clone(), lane.kind, lane.concurrency, lane.background);
            tasks.spawn(lane.run(shutdown.clone()));
        }
        tasks.spawn(self.clone().housekeeping(shutdown.clone()));
        for (name, every, chore) in self.registry.periodic() {
            let period = every(&self.state.settings);
            let run = self
                .clone()
                .periodic(name, period, chore.clone(), shutdown.clone());
            tasks.spawn(run);
        }
        if self.state.store.backend().has_notify() {
            tasks.spawn(listen(self.state.settings.database_url(), shutdown));
        }
        while tasks.join_next().await.is_some() {}
        tracing::info!("worker stopped");
    }

    async fn housekeeping(self, mut shutdown: watch::Receiver<bool>) {
        while !*shutdown.borrow() {
            self.maintain(self.state.now()).await;
            tokio::select! {
                _ = tokio::time::sleep(to_std(MAINTENANCE_EVERY)) => {}
                changed = shutdown.changed() => if changed.is_err() { break },
            }
        }
    }

    async fn periodic(
        self,
        name: &'static str,
        period: std::time::Duration,
        chore: super::registry::Chore,
        mut shutdown: watch::Receiver<bool>,
    ) {
        while !*shutdown.borrow() {
            if let Err(error) = chore(self.state.clone(), self.state.now()).await {
                tracing::warn!(
                    chore = name,
                    error = format!("{error:#}"),
                    "periodic work failed"
                );
            }
            tokio::select! {
                _ = tokio::time::sleep(period) => {}
                changed = shutdown.changed() => if changed.is_err() { break },
            }
        }
    }

    /// The periodic chores once, as [`Worker::run`] does every period; for
    /// tests and the benchmark.
    pub async fn tick(&self, now: OffsetDateTime) {
        for (name, _, chore) in self.registry.periodic() {
            if let Err(error) = chore(self.state.clone(), now).await {
                tracing::warn!(
                    chore = name,
                    error = format!("{error:#}"),
                    "periodic work failed"
                );
            }
        }
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
        let Some(job) = self
            .state
            .store
            .claim_job(&self.state.instance, now, lease(&self.state))
            .await?
        else {
            return Ok(false);
        };
        let outcome = self.execute(&job).await;
        self.record(&job, outcome).await?;
        Ok(true)
    }

    /// Writes how an attempt ended: done, retried after a backoff, or failed.
    async fn record(
        &self,
        job: &jobs::ClaimedJob,
        outcome: Result<(), JobError>,
    ) -> Result<(), StoreError> {
        let now = self.state.now();
        let mut conn = self.state.store.write().await?;
        match outcome {
            Ok(()) => jobs::succeed(&mut conn, job.id, job.attempts, now).await?,
            Err(JobError::Retry(error)) if job.attempts < job.max_attempts => {
                let run_at = now + backoff(job.attempts);
                tracing::warn!(job = %job.id, kind = %job.kind, attempt = job.attempts, %error, %run_at, "job failed; will retry");
                jobs::retry_at(&mut conn, job.id, job.attempts, &error, run_at, now).await?;
            }
            Err(error) => {
                tracing::error!(job = %job.id, kind = %job.kind, attempt = job.attempts, %error, "job failed for good");
                jobs::fail(&mut conn, job.id, job.attempts, &error.to_string(), now).await?;
            }
        }
        Ok(())
    }

    /// Runs due jobs until none is left; for the CLI and tests.
    pub async fn run_until_idle(&self) -> Result<usize, StoreError> {
        let mut ran = 0;
        while self.run_next().await? {
            ran += 1;
        }
        Ok(ran)
    }

    /// Runs the job in a task of its own, so that a panic in it is a failed
    /// attempt (retried with backoff) instead of a job left running.
    async fn execute(&self, job: &jobs::ClaimedJob) -> Result<(), JobError> {
        let run = self
            .registry
            .run(self.state.clone(), job.id, &job.kind, &job.payload);
        match tokio::spawn(run).await {
            Ok(outcome) => outcome,
            Err(stopped) => Err(JobError::Retry(format!("the job stopped: {stopped}"))),
        }
    }
}

/// The jobs of one kind: claimed in batches of as many as there are free
/// places (up to the kind's concurrency), each run in its own task, and claimed
/// again as soon as a place frees up, a job of the kind is queued, or the poll
/// interval passes.
struct Lane {
    worker: Worker,
    kind: &'static str,
    concurrency: usize,
    background: bool,
    places: Arc<Semaphore>,
    finished: mpsc::Sender<Finished>,
}

/// A job that ran, waiting for its outcome to be written. It keeps its place
/// in the lane until then, so that no more jobs are under way (sent but not
/// yet recorded, say) than the kind's concurrency.
struct Finished {
    job: jobs::ClaimedJob,
    outcome: Result<(), JobError>,
    _place: OwnedSemaphorePermit,
}

impl Lane {
    fn new(worker: Worker, kind: &'static str, concurrency: usize, background: bool) -> Self {
        let (finished, outcomes) = mpsc::channel(concurrency);
        tokio::spawn(record_outcomes(worker.clone(), outcomes));
        Lane {
            worker,
            kind,
            concurrency,
            background,
            places: Arc::new(Semaphore::new(concurrency)),
            finished,
        }
    }

    async fn run(self, mut shutdown: watch::Receiver<bool>) {
        let poll = self.worker.state.settings.worker_poll;
        let waker = super::queue::waker(self.kind);
        while !*shutdown.borrow() {
            // Listen before claiming, so that a job queued meanwhile is not missed.
            let woken = waker.notified();
            tokio::pin!(woken);
            woken.as_mut().enable();
            if self.background {
                let foreground_done = self.worker.foreground.idle.notified();
                tokio::pin!(foreground_done);
                foreground_done.as_mut().enable();
                if self.worker.foreground.busy() {
                    tokio::select! {
                        _ = &mut foreground_done => {}
                        _ = tokio::time::sleep(poll) => {}
                        changed = shutdown.changed() => if changed.is_err() { break },
                    }
                    continue;
                }
            }
            let free = self.places.available_permits();
            let claimed = if free == 0 { 0 } else { self.claim(free).await };
            if claimed > 0 && claimed == free {
                continue;
            }
            let full = free == 0 || claimed == free;
            tokio::select! {
                _ = &mut woken => {}
                _ = tokio::time::sleep(poll) => {}
                changed = shutdown.changed() => if changed.is_err() { break },
                Ok(_) = self.places.clone().acquire_owned(), if full => {}
            }
        }
        // Jobs under way finish first.
        let all = u32::try_from(self.concurrency).unwrap_or(u32::MAX);
        let _ = self.places.acquire_many(all).await;
        tracing::debug!(kind = self.kind, "lane stopped");
    }

    /// Claims up to `free` jobs and starts each; how many were claimed.
    async fn claim(&self, free: usize) -> usize {
        let state = &self.worker.state;
        let claimed = match state
            .store
            .claim_jobs(&state.instance, self.kind, free, state.now(), lease(state))
            .await
        {
            Ok(claimed) => claimed,
            Err(error) => {
                tracing::warn!(kind = self.kind, %error, "could not claim jobs");
                return 0;
            }
        };
        let count = claimed.len();
        for job in claimed {
            let Ok(place) = self.places.clone().acquire_owned().await else {
                break;
            };
            let worker = self.worker.clone();
            let finished = self.finished.clone();
            let foreground =
                (!self.background).then(|| ForegroundJob::start(&self.worker.foreground));
            tokio::spawn(async move {
                let outcome = worker.execute(&job).await;
                drop(foreground);
                let done = Finished {
                    job,
                    outcome,
                    _place: place,
                };
                // Closed only once the lane is gone; the lease then runs out
                // and the job is tried again.
                let _ = finished.send(done).await;
            });
        }
        count
    }
}

/// Writes the outcomes of a lane's jobs: every success that is waiting in one
/// statement (one at a time when the lane is quiet, many when it is busy),
/// retries and failures one by one.
async fn record_outcomes(worker: Worker, mut outcomes: mpsc::Receiver<Finished>) {
    let mut ready = Vec::new();
    while outcomes.recv_many(&mut ready, 256).await > 0 {
        let (succeeded, other): (Vec<Finished>, Vec<Finished>) =
            ready.drain(..).partition(|done| done.outcome.is_ok());
        if !succeeded.is_empty() {
            let done: Vec<_> = succeeded
                .iter()
                .map(|d| (d.job.id, d.job.attempts))
                .collect();
            record_successes(&worker, &done).await;
        }
        for done in other {
            if let Err(error) = worker.record(&done.job, done.outcome).await {
                tracing::warn!(job = %done.job.id, %error, "could not record the outcome of a job");
            }
        }
    }
}

/// Writes successes, trying again a few times (the jobs keep their places
/// meanwhile): a job whose success is not written runs again after its lease.
async fn record_successes(worker: &Worker, done: &[(muster_domain::JobId, i64)]) {
    let mut wait = StdDuration::from_millis(100);
    for attempt in 1..=5 {
        let written = async {
            let mut conn = worker.state.store.write().await?;
            jobs::succeed_many(&mut conn, done, worker.state.now()).await
        };
        match written.await {
            Ok(()) => return,
            Err(error) if attempt == 5 => {
                tracing::warn!(%error, jobs = done.len(), "could not record finished jobs; they run again after their lease");
            }
            Err(error) => {
                tracing::warn!(%error, jobs = done.len(), "could not record finished jobs; trying again");
                tokio::time::sleep(wait).await;
                wait *= 2;
            }
        }
    }
}

/// On PostgreSQL: wakes this process's lanes whenever any instance queues a
/// job (the database notifies at commit). Without it, lanes still poll.
async fn listen(database_url: String, mut shutdown: watch::Receiver<bool>) {
    let mut listener = loop {
        match jobs::listen(&database_url).await {
            Ok(listener) => break listener,
            Err(error) => {
                tracing::warn!(%error, "cannot listen for queued jobs; polling only, retrying in 10 s");
                tokio::select! {
                    _ = tokio::time::sleep(StdDuration::from_secs(10)) => {}
                    _ = shutdown.changed() => return,
                }
            }
        }
    };
    loop {
        tokio::select! {
            received = listener.recv() => match received {
                Ok(notification) => super::queue::wake(notification.payload()),
                Err(error) => {
                    tracing::warn!(%error, "lost the job notifications; polling until they are back");
                    tokio::time::sleep(StdDuration::from_secs(1)).await;
                }
            },
            _ = shutdown.changed() => return,
        }
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
