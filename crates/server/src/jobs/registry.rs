//! The job kinds the worker knows and the housekeeping it runs, each added by
//! the feature that owns it (`features::jobs`), so the worker has no list of
//! its own.

use super::queue::{JobError, JobKind};
use crate::state::AppState;
use muster_domain::JobId;
use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use time::OffsetDateTime;

pub type JobFuture = Pin<Box<dyn Future<Output = Result<(), JobError>> + Send>>;
pub type ChoreFuture = Pin<Box<dyn Future<Output = anyhow::Result<()>> + Send>>;

type Run = Arc<dyn Fn(AppState, JobId, &str) -> JobFuture + Send + Sync>;

/// A kind the worker runs: how, and how many at once.
#[derive(Clone)]
pub struct Lane {
    pub kind: &'static str,
    pub concurrency: usize,
    pub background: bool,
    run: Run,
}
pub type Chore = Arc<dyn Fn(AppState, OffsetDateTime) -> ChoreFuture + Send + Sync>;

/// How often a periodic chore runs, from the settings.
pub type Every = fn(&crate::config::Settings) -> std::time::Duration;

#[derive(Clone, Default)]
pub struct Registry {
    kinds: HashMap<&'static str, Lane>,
    chores: Vec<(&'static str, Chore)>,
    periodic: Vec<(&'static str, Every, Chore)>,
}

impl Registry {
    /// Jobs of kind `J` run with `run`; a payload that does not parse fails for
    /// good.
    pub fn kind<J, F, Fut>(mut self, run: F) -> Self
    where
        J: JobKind + Send + 'static,
        F: Fn(AppState, JobId, J) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<(), JobError>> + Send + 'static,
    {
        let run = Arc::new(run);
        let entry: Run =
            Arc::new(
                move |state, id, payload| match serde_json::from_str::<J>(payload) {
                    Ok(job) => Box::pin(run(state, id, job)),
                    Err(e) => {
                        let error = JobError::Permanent(format!("the payload does not parse: {e}"));
                        Box::pin(async move { Err(error) })
                    }
                },
            );
        let lane = Lane {
            kind: J::KIND,
            concurrency: J::CONCURRENCY.max(1),
            background: J::BACKGROUND,
            run: entry,
        };
        let previous = self.kinds.insert(J::KIND, lane);
        debug_assert!(previous.is_none(), "job kind {} registered twice", J::KIND);
        self
    }

    /// `chore` runs with the worker's housekeeping (every ten minutes); a
    /// failure is logged under `name` and tried again next time.
    pub fn housekeeping<F, Fut>(mut self, name: &'static str, chore: F) -> Self
    where
        F: Fn(AppState, OffsetDateTime) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = anyhow::Result<()>> + Send + 'static,
    {
        self.chores.push((
            name,
            Arc::new(move |state, now| Box::pin(chore(state, now))),
        ));
        self
    }

    /// `chore` runs on its own, at the start and then every `every(settings)`
    /// (for work that cannot wait for housekeeping); a failure is logged under
    /// `name` and tried again next time.
    pub fn every<F, Fut>(mut self, name: &'static str, every: Every, chore: F) -> Self
    where
        F: Fn(AppState, OffsetDateTime) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = anyhow::Result<()>> + Send + 'static,
    {
        self.periodic.push((
            name,
            every,
            Arc::new(move |state, now| Box::pin(chore(state, now))),
        ));
        self
    }

    pub fn periodic(&self) -> impl Iterator<Item = (&'static str, Every, &Chore)> {
        self.periodic
            .iter()
            .map(|(name, every, chore)| (*name, *every, chore))
    }

    /// Runs the job's kind, or fails it for good if no feature knows the kind.
    pub fn run(&self, state: AppState, id: JobId, kind: &str, payload: &str) -> JobFuture {
        match self.kinds.get(kind) {
            Some(lane) => (lane.run)(state, id, payload),
            None => {
                let error = JobError::Permanent(format!("no worker knows the job kind {kind:?}"));
                Box::pin(async move { Err(error) })
            }
        }
    }

    /// Runs `kind` (registered already) with `concurrency` jobs at once.
    pub fn concurrency(mut self, kind: &str, concurrency: usize) -> Self {
        if let Some(lane) = self.kinds.get_mut(kind) {
            lane.concurrency = concurrency.max(1);
        }
        self
    }

    pub fn lanes(&self) -> impl Iterator<Item = &Lane> {
        self.kinds.values()
    }

    pub fn chores(&self) -> impl Iterator<Item = (&'static str, &Chore)> {
        self.chores.iter().map(|(name, chore)| (*name, chore))
    }
}
