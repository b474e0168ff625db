//! A member's inbox: reading it counts items delivered; marking them read
//! counts them opened.

use crate::error::{AppError, AppResult};
use crate::features::auth::caller::Caller;
use crate::page::{Page, PageQuery};
use crate::scope::OrgScope;
use crate::state::AppState;
use muster_domain::InboxItemId;
use muster_store::inbox::{self, Item};
use muster_store::StoreError;
use std::net::IpAddr;

pub async fn page(
    state: &AppState,
    scope: &OrgScope,
    unread: bool,
    query: &PageQuery,
) -> AppResult<Page<Item>> {
    let limit = query.limit()?;
    let before = query.after()?;
    let rows = {
        let mut conn = state.store.read().await?;
        inbox::page_for_user(
            &mut conn,
            scope.user_id(),
            scope.org_id,
            unread,
            before.as_deref(),
            limit,
        )
        .await?
    };
    let page = Page::from_rows(rows, limit, |i| i.id.to_string());
    let ids: Vec<String> = page.items.iter().map(|i| i.id.to_string()).collect();
    if !ids.is_empty() {
        let mut tx = state.store.begin().await?;
        inbox::mark_delivered(&mut tx, &ids, state.now()).await?;
        tx.commit().await.map_err(StoreError::from)?;
    }
    Ok(page)
}

/// Marks one of the caller's items read, if they are still an active member
/// of its organization.
pub async fn read(state: &AppState, caller: &Caller, id: InboxItemId, ip: IpAddr) -> AppResult<()> {
    let mut tx = state.store.begin().await?;
    let item = inbox::find_for_user(&mut tx, caller.user_id, id)
        .await?
        .ok_or(AppError::NotFound)?;
    active_in(&mut tx, caller, &item, ip, state.now()).await?;
    inbox::mark_read(&mut tx, caller.user_id, id, state.now()).await?;
    tx.commit().await.map_err(StoreError::from)?;
    Ok(())
}

pub async fn read_all(state: &AppState, scope: &OrgScope) -> AppResult<u64> {
    let mut tx = state.store.begin().await?;
    let read = inbox::read_all(&mut tx, scope.user_id(), scope.org_id, state.now()).await?;
    tx.commit().await.map_err(StoreError::from)?;
    Ok(read)
}

pub async fn delete(
    state: &AppState,
    caller: &Caller,
    id: InboxItemId,
    ip: IpAddr,
) -> AppResult<()> {
    let mut tx = state.store.begin().await?;
    let item = inbox::find_for_user(&mut tx, caller.user_id, id)
        .await?
        .ok_or(AppError::NotFound)?;
    active_in(&mut tx, caller, &item, ip, state.now()).await?;
    inbox::delete(&mut tx, caller.user_id, id, state.now()).await?;
    tx.commit().await.map_err(StoreError::from)?;
    Ok(())
}

/// An item is the caller's to change only while they are an active member of
/// its organization.
async fn active_in(
    conn: &mut muster_store::Conn,
    caller: &Caller,
    item: &Item,
    ip: IpAddr,
    now: time::OffsetDateTime,
) -> AppResult<()> {
    OrgScope::resolve(conn, caller.clone(), item.org_id, ip, now)
        .await
        .map(drop)
}
