//! Sending one email through the configured transport.

use crate::jobs::{JobError, JobKind};
use crate::mail::{Mail, Transport};
use muster_domain::JobId;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct SendMail {
    pub mail: Mail,
}

impl JobKind for SendMail {
    const KIND: &'static str = "send_mail";
    /// Into the file outbox; through SMTP, `MUSTER_SMTP_CONCURRENCY` (see
    /// `startup::worker`).
    const CONCURRENCY: usize = 16;
    const BACKGROUND: bool = true;
}

/// Delivery is keyed by the job id, so a retried job writes (or sends) the same
/// message, not a second one.
pub async fn run(transport: &Transport, job_id: JobId, job: SendMail) -> Result<(), JobError> {
    transport.send(&job.mail, &job_id.to_string()).await
}
