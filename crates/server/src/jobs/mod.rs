//! Background jobs: typed payloads over the job table, the worker that runs
//! them, and the registry the features add their kinds and housekeeping to.

pub mod queue;
pub mod registry;
pub mod worker;

pub use queue::{enqueue, enqueue_all, enqueue_at, enqueue_for_org, JobError, JobKind};
pub use registry::Registry;
