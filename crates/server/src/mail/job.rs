//! Sending one email through the configured transport.
//!
//! A queued mail may carry a secret (an invite link), so it waits in the job
//! table sealed with the server key, and the job's payload is emptied once the
//! mail is handed over (see `jobs::succeed_many`).

use crate::jobs::{JobError, JobKind};
use crate::keys::ServerKey;
use crate::mail::{Mail, Transport};
use muster_domain::JobId;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct SendMail {
    /// The [`Mail`] as JSON, sealed with the server key.
    pub sealed: String,
}

impl JobKind for SendMail {
    const KIND: &'static str = "send_mail";
    /// Into the file outbox; through SMTP, `MUSTER_SMTP_CONCURRENCY` (see
    /// `startup::worker`).
    const CONCURRENCY: usize = 16;
    const BACKGROUND: bool = true;
}

impl SendMail {
    pub fn new(key: &ServerKey, mail: &Mail) -> Self {
        let json = serde_json::to_vec(mail)
            .unwrap_or_else(|_| unreachable!("a mail of strings is always JSON"));
        Self {
            sealed: key.seal(&json),
        }
    }

    pub fn open(&self, key: &ServerKey) -> Result<Mail, JobError> {
        let json = key.open(&self.sealed).ok_or_else(|| {
            JobError::Permanent(
                "the queued mail does not open with this server's key \
                 (do all instances share MUSTER_SECRET_KEY?)"
                    .into(),
            )
        })?;
        serde_json::from_slice(&json)
            .map_err(|e| JobError::Permanent(format!("the queued mail does not parse: {e}")))
    }
}

/// Queues `mail` in the caller's transaction, sealed with the server key: it
/// goes out only if that commits.
pub async fn queue(
    conn: &mut muster_store::Conn,
    key: &ServerKey,
    mail: &Mail,
    now: time::OffsetDateTime,
) -> Result<JobId, muster_store::StoreError> {
    crate::jobs::enqueue(conn, &SendMail::new(key, mail), now).await
}

/// Delivery is keyed by the job id, so a retried job writes (or sends) the same
/// message, not a second one.
pub async fn run(
    transport: &Transport,
    key: &ServerKey,
    job_id: JobId,
    job: SendMail,
) -> Result<(), JobError> {
    transport.send(&job.open(key)?, &job_id.to_string()).await
}
