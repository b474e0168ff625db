//! The fan-out job: a notification written to the inbox of each recipient, in
//! batches, then its Web Push deliveries queued.
//!
//! Each batch is one transaction: its inbox items, its pushes and its
//! announcement to the event streams. An item is unique per person and
//! notification, so a run that starts over after a crash (or a second
//! instance that takes over an expired lease) writes nobody twice.

use super::hub::{self, Batch};
use super::webpush::PushNotification;
use crate::jobs::{self, JobError, JobKind};
use crate::state::AppState;
use muster_domain::notification::Status;
use muster_domain::{JobId, NotificationId};
use muster_store::notifications::{self, Notification};
use muster_store::{inbox, push, recipients, StoreError};
use serde::{Deserialize, Serialize};

/// Recipients per transaction.
pub const BATCH: i64 = 2_000;

#[derive(Debug, Serialize, Deserialize)]
pub struct SendNotification {
    pub notification_id: NotificationId,
}

impl JobKind for SendNotification {
    const KIND: &'static str = "notification.send";
    const MAX_ATTEMPTS: i64 = 10;
}

pub async fn run(state: &AppState, _job: JobId, job: SendNotification) -> Result<(), JobError> {
    let Some(n) = start(state, job.notification_id).await? else {
        return Ok(());
    };
    let mut after = String::new();
    loop {
        let mut tx = state.store.begin().await?;
        let users = recipients::resolve_after(&mut tx, &n, &after, BATCH).await?;
        let Some(upto) = users.last().cloned() else {
            break;
        };
        inbox::insert_items(&mut tx, &n, &users, state.now()).await?;
        push::queue_for_batch(&mut tx, n.id, &after, &upto, state.now()).await?;
        let batch = Batch {
            notification_id: n.id,
            org_id: n.org_id,
            after: std::mem::replace(&mut after, upto.clone()),
            upto,
        };
        let local = hub::announce_in(&mut tx, &batch).await?;
        tx.commit().await.map_err(StoreError::from)?;
        if local {
            hub::deliver(state, &batch).await?;
        }
        if (users.len() as i64) < BATCH {
            break;
        }
    }
    finish(state, &n).await
}

/// The notification to send, moved from scheduled to sending; `None` if there
/// is nothing to do (canceled, or already sent by an earlier run).
async fn start(state: &AppState, id: NotificationId) -> Result<Option<Notification>, JobError> {
    let mut tx = state.store.begin().await?;
    let org = match notifications::org_of(&mut tx, id).await {
        Err(StoreError::NotFound) => return Ok(None),
        org => org?,
    };
    let Some(n) = notifications::find(&mut tx, org, id).await? else {
        return Ok(None);
    };
    match n.status {
        Status::Canceled | Status::Sent => return Ok(None),
        Status::Scheduled => {
            let now = state.now();
            // A cancel that won the race keeps it from going out.
            if !notifications::transition(&mut tx, id, Status::Scheduled, Status::Sending, now)
                .await?
            {
                return Ok(None);
            }
        }
        Status::Sending => {}
    }
    tx.commit().await.map_err(StoreError::from)?;
    Ok(Some(n))
}

async fn finish(state: &AppState, n: &Notification) -> Result<(), JobError> {
    let mut tx = state.store.begin().await?;
    if notifications::transition(&mut tx, n.id, Status::Sending, Status::Sent, state.now()).await? {
        let sent = muster_store::usage::NewEvent::by(
            n.org_id,
            muster_domain::usage::Kind::NotificationSent,
            n.created_by,
            state.now(),
        );
        muster_store::usage::record_one(&mut tx, sent, state.now()).await?;
    }
    if let Some(at) = push::next_retry(&mut tx, n.id).await? {
        let job = PushNotification {
            notification_id: n.id,
        };
        jobs::enqueue_at(&mut tx, &job, at.max(state.now()), state.now()).await?;
    }
    tx.commit().await.map_err(StoreError::from)?;
    Ok(())
}
