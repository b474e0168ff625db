//! Sending one email through the configured transport.

use crate::jobs::Registry;
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
}

/// Delivery is keyed by the job id, so a retried job writes (or sends) the same
/// message, not a second one.
pub async fn run(transport: &Transport, job_id: JobId, job: SendMail) -> Result<(), JobError> {
    transport.send(&job.mail, &job_id.to_string()).await
}

/// Mail goes out through `transport`.
pub fn register(registry: Registry, transport: Transport) -> Registry {
    registry.kind(move |_, job_id, job: SendMail| {
        let transport = transport.clone();
        async move { run(&transport, job_id, job).await }
    })
}
