//! Live delivery: the event streams open on this instance, and the
//! announcements of fan-out batches that feed them.
//!
//! A fan-out job writes inbox items in batches of recipients (a range of user
//! ids). After each batch commits, every instance hears of it: on PostgreSQL
//! through `NOTIFY` on [`CHANNEL`] (sent in the batch's transaction, so at its
//! commit), on SQLite (one instance) directly. An instance with streams open in
//! that organization reads the batch's items once and hands each to the
//! streams of its recipient, then marks them delivered.

use crate::state::AppState;
use muster_domain::{NotificationId, OrgId, UserId};
use muster_store::inbox::{self, Item};
use muster_store::{Conn, StoreError};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use tokio::sync::{mpsc, watch};

/// The PostgreSQL channel of batch announcements.
pub const CHANNEL: &str = "muster_inbox";
/// The PostgreSQL channel on which a member's leaving (disabled, removed) ends
/// their streams in that organization on every instance; the payload is
/// `{org}/{user}`.
pub const LEFT_CHANNEL: &str = "muster_member_left";
/// Items a slow stream may have waiting before it starts over from the database.
const STREAM_BUFFER: usize = 256;
/// Streams one person may hold open at once.
pub const STREAMS_PER_USER: usize = 20;

/// One committed batch of a fan-out: recipients in `(after, upto]`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Batch {
    #[serde(rename = "n")]
    pub notification_id: NotificationId,
    #[serde(rename = "o")]
    pub org_id: OrgId,
    #[serde(rename = "a")]
    pub after: String,
    #[serde(rename = "u")]
    pub upto: String,
}

type Key = (OrgId, UserId);
/// Open streams by organization, then by person: (stream id, its queue).
type Streams = HashMap<OrgId, HashMap<UserId, Vec<(u64, mpsc::Sender<Item>)>>>;

#[derive(Default)]
pub struct Hub {
    streams: Mutex<Streams>,
    next_id: AtomicU64,
    closed: std::sync::atomic::AtomicBool,
}

/// An open stream's place in the hub; leaving it (on drop) closes it there.
pub struct Listener {
    hub: Arc<Hub>,
    key: Key,
    id: u64,
    pub items: mpsc::Receiver<Item>,
}

impl Drop for Listener {
    fn drop(&mut self) {
        self.hub.remove(self.key, self.id);
    }
}

impl Hub {
    /// Opens a stream for `user` in `org`; `None` when they hold too many, or
    /// the instance is shutting down.
    pub fn listen(self: &Arc<Self>, org: OrgId, user: UserId) -> Option<Listener> {
        let (tx, rx) = mpsc::channel(STREAM_BUFFER);
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let mut streams = self.lock();
        if self.closed.load(Ordering::Relaxed) {
            return None;
        }
        let mine = streams.entry(org).or_default().entry(user).or_default();
        if mine.len() >= STREAMS_PER_USER {
            return None;
        }
        mine.push((id, tx));
        Some(Listener {
            hub: self.clone(),
            key: (org, user),
            id,
            items: rx,
        })
    }

    /// Ends every open stream and opens no more (at shutdown).
    pub fn close(&self) {
        let mut streams = self.lock();
        self.closed.store(true, Ordering::Relaxed);
        streams.clear();
    }

    /// How many streams are open on this instance.
    pub fn open_streams(&self) -> usize {
        self.lock()
            .values()
            .flat_map(|users| users.values())
            .map(Vec::len)
            .sum()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Streams> {
        self.streams
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn remove(&self, (org, user): Key, id: u64) {
        let mut streams = self.lock();
        if let Some(users) = streams.get_mut(&org) {
            if let Some(mine) = users.get_mut(&user) {
                mine.retain(|(other, _)| *other != id);
                if mine.is_empty() {
                    users.remove(&user);
                }
            }
            if users.is_empty() {
                streams.remove(&org);
            }
        }
    }

    /// Ends the streams of `user` in `org`.
    pub fn end(&self, org: OrgId, user: UserId) {
        let mut streams = self.lock();
        if let Some(users) = streams.get_mut(&org) {
            users.remove(&user);
            if users.is_empty() {
                streams.remove(&org);
            }
        }
    }

    fn has_streams_in(&self, org: OrgId) -> bool {
        self.lock().contains_key(&org)
    }

    /// Hands `items` to the streams of their recipients; returns the ids of
    /// those that reached at least one stream.
    /// A stream too slow to take an item is dropped: its client reconnects
    /// with `Last-Event-ID` and gets the rest from the inbox.
    fn hand_out(&self, org: OrgId, items: Vec<Item>) -> Vec<String> {
        let mut streams = self.lock();
        let Some(users) = streams.get_mut(&org) else {
            return Vec::new();
        };
        let mut delivered = Vec::new();
        for item in items {
            let Some(mine) = users.get_mut(&item.user_id) else {
                continue;
            };
            let id = item.id.to_string();
            let mut reached = false;
            mine.retain(|(_, tx)| match tx.try_send(item.clone()) {
                Ok(()) => {
                    reached = true;
                    true
                }
                Err(_) => false,
            });
            if reached {
                delivered.push(id);
            }
        }
        users.retain(|_, mine| !mine.is_empty());
        if users.is_empty() {
            streams.remove(&org);
        }
        delivered
    }
}

/// Tells every instance that `batch` is committed: on PostgreSQL in the
/// caller's transaction (heard at its commit). Returns whether the caller
/// must still hand it to this instance's streams itself (SQLite) after commit.
pub async fn announce_in(conn: &mut Conn, batch: &Batch) -> Result<bool, StoreError> {
    let payload = serde_json::to_string(batch).map_err(|e| StoreError::Corrupt(e.to_string()))?;
    Ok(!muster_store::jobs::notify_channel(conn, CHANNEL, &payload).await?)
}

/// Ends `user`'s event streams in `org` (disabled or removed there) on every
/// instance: on PostgreSQL at the commit of the caller's transaction; on
/// SQLite (one instance) at once — if the change is rolled back, the streams
/// reconnect.
pub async fn member_left(
    state: &AppState,
    conn: &mut Conn,
    org: OrgId,
    user: UserId,
) -> Result<(), StoreError> {
    let payload = format!("{org}/{user}");
    if !muster_store::jobs::notify_channel(conn, LEFT_CHANNEL, &payload).await? {
        state.hub.end(org, user);
    }
    Ok(())
}

fn heard(state: &AppState, channel: &str, payload: &str) {
    if channel == LEFT_CHANNEL {
        let parsed = payload
            .split_once('/')
            .and_then(|(org, user)| Some((org.parse().ok()?, user.parse().ok()?)));
        match parsed {
            Some((org, user)) => state.hub.end(org, user),
            None => tracing::warn!("a member-left announcement that does not parse"),
        }
        return;
    }
    let Ok(batch) = serde_json::from_str::<Batch>(payload) else {
        tracing::warn!("an inbox announcement that does not parse");
        return;
    };
    let state = state.clone();
    tokio::spawn(async move {
        if let Err(error) = deliver(&state, &batch).await {
            tracing::warn!(%error, "could not hand a notification to event streams");
        }
    });
}

/// Feeds a committed batch to this instance's streams and marks what they
/// received delivered.
pub async fn deliver(state: &AppState, batch: &Batch) -> Result<(), StoreError> {
    if !state.hub.has_streams_in(batch.org_id) {
        return Ok(());
    }
    let items = {
        let mut conn = state.store.read().await?;
        inbox::batch_items(&mut conn, batch.notification_id, &batch.after, &batch.upto).await?
    };
    let delivered = state.hub.hand_out(batch.org_id, items);
    if delivered.is_empty() {
        return Ok(());
    }
    let mut tx = state.store.begin().await?;
    inbox::mark_delivered(&mut tx, &delivered, state.now()).await?;
    tx.commit().await?;
    Ok(())
}

/// On PostgreSQL: hears every instance's batch announcements and feeds them
/// to this instance's streams, until `shutdown`.
pub async fn listen(state: AppState, mut shutdown: watch::Receiver<bool>) {
    let url = state.settings.database_url();
    let mut listener = loop {
        match muster_store::jobs::listen_on(&url, &[CHANNEL, LEFT_CHANNEL]).await {
            Ok(listener) => break listener,
            Err(error) => {
                tracing::warn!(%error, "cannot listen for notifications; event streams wait, retrying in 5 s");
                tokio::select! {
                    _ = tokio::time::sleep(std::time::Duration::from_secs(5)) => {}
                    _ = shutdown.changed() => return,
                }
            }
        }
    };
    loop {
        tokio::select! {
            received = listener.recv() => match received {
                Ok(message) => heard(&state, message.channel(), message.payload()),
                Err(error) => {
                    tracing::warn!(%error, "lost the inbox announcements; reconnecting");
                    tokio::time::sleep(std::time::Duration::from_secs(1)).await;
                }
            },
            _ = shutdown.changed() => return,
        }
    }
}
