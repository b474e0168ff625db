//! SQLite checkpoints off the writer's path.
//!
//! In WAL mode SQLite copies the log back into the database (a checkpoint) in
//! the commit that fills the log past a threshold, so every few thousand rows a
//! writer would stop to copy and fsync megabytes. The write connection turns
//! that off and this task checkpoints on a connection of its own instead, once
//! a second, in `PASSIVE` mode: it never waits for readers or the writer, and
//! the writer carries on meanwhile.

use crate::Result;
use sqlx::{AnyConnection, Connection, Executor};
use std::time::Duration;
use tokio::task::JoinHandle;

const EVERY: Duration = Duration::from_secs(1);

/// Runs until dropped.
#[derive(Debug)]
pub(crate) struct Checkpointer {
    task: JoinHandle<()>,
}

impl Checkpointer {
    pub(crate) async fn start(url: &str) -> Result<Self> {
        let mut conn = AnyConnection::connect(url).await?;
        let task = tokio::spawn(async move {
            let mut every = tokio::time::interval(EVERY);
            every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                every.tick().await;
                if let Err(error) = conn.execute("PRAGMA wal_checkpoint(PASSIVE)").await {
                    tracing::warn!(%error, "the SQLite checkpoint failed; will try again");
                }
            }
        });
        Ok(Self { task })
    }

    pub(crate) fn stop(&self) {
        self.task.abort();
    }
}

impl Drop for Checkpointer {
    fn drop(&mut self) {
        self.task.abort();
    }
}
