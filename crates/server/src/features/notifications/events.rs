//! One event stream: what the member missed (after `Last-Event-ID`), then new
//! items as the hub hands them over, and a heartbeat comment every 15 s. At
//! each heartbeat the stream checks that the member is still active in the
//! organization and its credential (device, token, session) still valid, and
//! ends if not.

use super::views::InboxItemView;
use crate::error::{AppError, AppResult};
use crate::features::devices::service as devices;
use crate::scope::OrgScope;
use crate::state::AppState;
use axum::response::sse::Event;
use futures_util::Stream;
use muster_domain::InboxItemId;
use muster_store::inbox::{self, Item};
use muster_store::{memberships, StoreError};
use std::collections::VecDeque;
use std::convert::Infallible;
use std::time::Duration;

pub const HEARTBEAT: Duration = Duration::from_secs(15);
/// Missed items replayed at most (older ones are in the inbox).
const REPLAY_MAX: i64 = 500;

struct Open {
    state: AppState,
    scope: OrgScope,
    listener: super::hub::Listener,
    pending: VecDeque<Item>,
    heartbeat: tokio::time::Interval,
}

pub async fn open(
    state: AppState,
    scope: OrgScope,
    last: Option<InboxItemId>,
) -> AppResult<impl Stream<Item = Result<Event, Infallible>>> {
    // Listen first, so nothing committed between the replay and now is lost
    // (an item in both is sent once: the replay's copy is skipped below).
    let listener = state
        .hub
        .listen(scope.org_id, scope.user_id())
        .ok_or_else(|| AppError::Throttled {
            detail: format!(
                "at most {} event streams at once",
                super::hub::STREAMS_PER_USER
            ),
            retry_after_secs: 15,
        })?;
    let mut pending = VecDeque::new();
    if let Some(last) = last {
        let missed = {
            let mut conn = state.store.read().await?;
            inbox::after_for_user(
                &mut conn,
                scope.user_id(),
                scope.org_id,
                &last.to_string(),
                REPLAY_MAX,
            )
            .await?
        };
        let ids: Vec<String> = missed.iter().map(|i| i.id.to_string()).collect();
        if !ids.is_empty() {
            let mut tx = state.store.begin().await?;
            inbox::mark_delivered(&mut tx, &ids, state.now()).await?;
            tx.commit().await.map_err(StoreError::from)?;
        }
        pending.extend(missed);
    }
    let mut heartbeat = tokio::time::interval(HEARTBEAT);
    heartbeat.reset();
    let open = Open {
        state,
        scope,
        listener,
        pending,
        heartbeat,
    };
    Ok(futures_util::stream::unfold(
        (open, Vec::<InboxItemId>::new()),
        |(mut open, mut sent)| async move {
            let event = next(&mut open, &mut sent).await?;
            Some((Ok(event), (open, sent)))
        },
    ))
}

/// The next event, or `None` to end the stream.
async fn next(open: &mut Open, sent: &mut Vec<InboxItemId>) -> Option<Event> {
    loop {
        let item = match open.pending.pop_front() {
            Some(item) => item,
            None => tokio::select! {
                item = open.listener.items.recv() => item?,
                _ = open.heartbeat.tick() => {
                    return still_allowed(open).await.then(|| Event::default().comment("heartbeat"));
                }
            },
        };
        // The replay and the hub may both hold an item; and a batch announced
        // again after a crash repeats it. Each goes out once.
        if sent.contains(&item.id) {
            continue;
        }
        if sent.len() >= 1024 {
            sent.drain(..512);
        }
        sent.push(item.id);
        let id = item.id.to_string();
        let view = InboxItemView::from(item);
        let data = serde_json::to_string(&view).unwrap_or_default();
        return Some(Event::default().event("notification").id(id).data(data));
    }
}

async fn still_allowed(open: &Open) -> bool {
    let state = &open.state;
    let active = async {
        let mut conn = state.store.read().await?;
        let membership =
            memberships::find(&mut conn, open.scope.org_id, open.scope.user_id()).await?;
        Ok::<_, AppError>(
            membership.is_some_and(|m| m.status == muster_domain::MembershipStatus::Active),
        )
    };
    let registered = devices::still_valid(state, &open.scope.caller);
    matches!((active.await, registered.await), (Ok(true), Ok(true)))
}
