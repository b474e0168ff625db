//! Inbox items: each recipient's copy of a notification, with when it was
//! delivered, read or failed. Every statement that changes one keeps the
//! notification's counters in step, in the same transaction.

use crate::batch::{self, Cell};
use crate::error::parse_stored;
use crate::notifications::{self, Counts, Notification};
use crate::time_ms::{from_ms, from_ms_opt, to_ms};
use crate::usage::NewEvent;
use crate::{Conn, Result};
use muster_domain::usage::Kind;
use muster_domain::{InboxItemId, NotificationId, OrgId, UserId};
use std::collections::BTreeMap;
use time::OffsetDateTime;

/// An inbox item with its notification's content.
#[derive(Debug, Clone)]
pub struct Item {
    pub id: InboxItemId,
    pub notification_id: NotificationId,
    pub org_id: OrgId,
    pub user_id: UserId,
    pub title: String,
    pub body: String,
    pub link: Option<String>,
    pub data: Option<String>,
    pub created_at: OffsetDateTime,
    pub read_at: Option<OffsetDateTime>,
}

const ITEM_COLUMNS: &str =
    "i.id, i.notification_id, i.org_id, i.user_id, n.title, n.body, n.link, \
     n.data, i.created_at, i.read_at";
const ITEM_FROM: &str = "inbox_items i JOIN notifications n ON n.id = i.notification_id";

#[derive(sqlx::FromRow)]
struct ItemRow {
    id: String,
    notification_id: String,
    org_id: String,
    user_id: String,
    title: String,
    body: String,
    link: Option<String>,
    data: Option<String>,
    created_at: i64,
    read_at: Option<i64>,
}

fn item(row: ItemRow) -> Result<Item> {
    Ok(Item {
        id: parse_stored("inbox_items.id", &row.id)?,
        notification_id: parse_stored("inbox_items.notification_id", &row.notification_id)?,
        org_id: parse_stored("inbox_items.org_id", &row.org_id)?,
        user_id: parse_stored("inbox_items.user_id", &row.user_id)?,
        title: row.title,
        body: row.body,
        link: row.link,
        data: row.data,
        created_at: from_ms(row.created_at),
        read_at: from_ms_opt(row.read_at),
    })
}

fn items(rows: Vec<ItemRow>) -> Result<Vec<Item>> {
    rows.into_iter().map(item).collect()
}

/// Writes an inbox item for each of `users` who has none yet for `n`, counts
/// them as recipients, and returns how many were new.
pub async fn insert_items(
    conn: &mut Conn,
    n: &Notification,
    users: &[String],
    now: OffsetDateTime,
) -> Result<u64> {
    let rows = users
        .iter()
        .map(|user| {
            vec![
                Cell::Text(InboxItemId::new().to_string()),
                Cell::Text(n.id.to_string()),
                Cell::Text(n.org_id.to_string()),
                Cell::Text(user.clone()),
                Cell::Int(to_ms(now)),
            ]
        })
        .collect();
    let written = batch::insert_new(
        conn,
        "inbox_items",
        &["id", "notification_id", "org_id", "user_id", "created_at"],
        rows,
    )
    .await?;
    let delta = Counts {
        recipients: i64::try_from(written).unwrap_or(i64::MAX),
        ..Counts::default()
    };
    notifications::add_counts(conn, n.id, delta).await?;
    Ok(written)
}

/// The items of `n` for recipients in `(after, upto]` (user ids) who are still
/// active members and have not deleted them: what a fan-out batch announces.
pub async fn batch_items(
    conn: &mut Conn,
    n: NotificationId,
    after: &str,
    upto: &str,
) -> Result<Vec<Item>> {
    let rows: Vec<ItemRow> = sqlx::query_as(&format!(
        "SELECT {ITEM_COLUMNS} FROM {ITEM_FROM} JOIN memberships m ON m.org_id = i.org_id \
         AND m.user_id = i.user_id JOIN organizations o ON o.id = i.org_id \
         WHERE i.notification_id = $1 AND i.user_id > $2 \
         AND i.user_id <= $3 AND i.deleted_at IS NULL AND m.status = 'active' \
         AND o.deleting_at IS NULL"
    ))
    .bind(n.to_string())
    .bind(after)
    .bind(upto)
    .fetch_all(&mut *conn)
    .await?;
    items(rows)
}

/// A member's inbox in one organization, newest first: `limit + 1` items from
/// before `before` (an item id).
pub async fn page_for_user(
    conn: &mut Conn,
    user: UserId,
    org: OrgId,
    unread_only: bool,
    before: Option<&str>,
    limit: i64,
) -> Result<Vec<Item>> {
    let unread = if unread_only {
        "AND i.read_at IS NULL"
    } else {
        ""
    };
    let rows: Vec<ItemRow> = sqlx::query_as(&format!(
        "SELECT {ITEM_COLUMNS} FROM {ITEM_FROM} WHERE i.user_id = $1 AND i.org_id = $2 \
         AND i.deleted_at IS NULL {unread} AND (CAST($3 AS TEXT) IS NULL OR i.id < $3) \
         ORDER BY i.id DESC LIMIT $4"
    ))
    .bind(user.to_string())
    .bind(org.to_string())
    .bind(before)
    .bind(limit + 1)
    .fetch_all(&mut *conn)
    .await?;
    items(rows)
}

/// The member's items after `after` (an item id), oldest first: what an event
/// stream missed.
pub async fn after_for_user(
    conn: &mut Conn,
    user: UserId,
    org: OrgId,
    after: &str,
    limit: i64,
) -> Result<Vec<Item>> {
    let rows: Vec<ItemRow> = sqlx::query_as(&format!(
        "SELECT {ITEM_COLUMNS} FROM {ITEM_FROM} WHERE i.user_id = $1 AND i.org_id = $2 \
         AND i.deleted_at IS NULL AND i.id > $3 ORDER BY i.id LIMIT $4"
    ))
    .bind(user.to_string())
    .bind(org.to_string())
    .bind(after)
    .bind(limit)
    .fetch_all(&mut *conn)
    .await?;
    items(rows)
}

pub async fn find_for_user(conn: &mut Conn, user: UserId, id: InboxItemId) -> Result<Option<Item>> {
    let row: Option<ItemRow> = sqlx::query_as(&format!(
        "SELECT {ITEM_COLUMNS} FROM {ITEM_FROM} WHERE i.id = $1 AND i.user_id = $2 AND i.deleted_at IS NULL"
    ))
    .bind(id.to_string())
    .bind(user.to_string())
    .fetch_optional(&mut *conn)
    .await?;
    row.map(item).transpose()
}

/// Ids per statement of the `IN (…)` updates.
const CHUNK: usize = 500;

/// Marks items delivered (a device received them): an item that had failed
/// is no longer counted as failed.
pub async fn mark_delivered(conn: &mut Conn, ids: &[String], now: OffsetDateTime) -> Result<()> {
    let mut deltas: BTreeMap<String, Counts> = BTreeMap::new();
    for chunk in ids.chunks(CHUNK) {
        let list = batch::placeholders(2, chunk.len());
        // Each pass changes only rows in its own state, so a failure written
        // between the two is not cleared uncounted.
        for (extra, failed) in [
            ("AND failed_at IS NOT NULL", -1),
            ("AND failed_at IS NULL", 0),
        ] {
            let sql = format!(
                "UPDATE inbox_items SET delivered_at = $1, failed_at = NULL WHERE id IN ({list}) \
                 AND delivered_at IS NULL {extra} RETURNING notification_id"
            );
            let mut query = sqlx::query_as::<_, (String,)>(&sql).bind(to_ms(now));
            for id in chunk {
                query = query.bind(id);
            }
            for (notification,) in query.fetch_all(&mut *conn).await? {
                let delta = deltas.entry(notification).or_default();
                delta.delivered += 1;
                delta.failed += failed;
            }
        }
    }
    for (notification, delta) in &deltas {
        let id = parse_stored("inbox_items.notification_id", notification)?;
        crate::usage::record_deliveries(conn, id, delta.delivered, now).await?;
    }
    apply(conn, deltas).await
}

async fn apply(conn: &mut Conn, deltas: BTreeMap<String, Counts>) -> Result<()> {
    for (notification, delta) in deltas {
        let id = parse_stored("inbox_items.notification_id", &notification)?;
        notifications::add_counts(conn, id, delta).await?;
    }
    Ok(())
}

/// Marks the member's item read (opened, and so delivered); false if it is
/// not theirs.
pub async fn mark_read(
    conn: &mut Conn,
    user: UserId,
    id: InboxItemId,
    now: OffsetDateTime,
) -> Result<bool> {
    let Some(found) = find_for_user(conn, user, id).await? else {
        return Ok(false);
    };
    mark_delivered(conn, &[id.to_string()], now).await?;
    let done = sqlx::query("UPDATE inbox_items SET read_at = $2 WHERE id = $1 AND read_at IS NULL")
        .bind(id.to_string())
        .bind(to_ms(now))
        .execute(&mut *conn)
        .await?;
    if done.rows_affected() == 1 {
        let delta = Counts {
            opened: 1,
            ..Counts::default()
        };
        notifications::add_counts(conn, found.notification_id, delta).await?;
        let opened = NewEvent::by(found.org_id, Kind::NotificationOpened, Some(user), now);
        crate::usage::record_one(conn, opened, now).await?;
    }
    Ok(true)
}

/// Marks every unread item of the member in `org` read; returns how many.
pub async fn read_all(
    conn: &mut Conn,
    user: UserId,
    org: OrgId,
    now: OffsetDateTime,
) -> Result<u64> {
    let rows: Vec<(String, String)> = sqlx::query_as(
        "UPDATE inbox_items SET read_at = $3 WHERE user_id = $1 AND org_id = $2 \
         AND read_at IS NULL AND deleted_at IS NULL RETURNING id, notification_id",
    )
    .bind(user.to_string())
    .bind(org.to_string())
    .bind(to_ms(now))
    .fetch_all(&mut *conn)
    .await?;
    let mut deltas: BTreeMap<String, Counts> = BTreeMap::new();
    let mut ids = Vec::with_capacity(rows.len());
    for (id, notification) in rows {
        deltas.entry(notification).or_default().opened += 1;
        ids.push(id);
    }
    mark_delivered(conn, &ids, now).await?;
    apply(conn, deltas).await?;
    if !ids.is_empty() {
        let opened = NewEvent::by(org, Kind::NotificationOpened, Some(user), now)
            .times(i64::try_from(ids.len()).unwrap_or(i64::MAX));
        crate::usage::record_one(conn, opened, now).await?;
    }
    Ok(ids.len() as u64)
}

/// Takes an item out of the member's inbox (the notification's history keeps
/// its delivery record).
pub async fn delete(
    conn: &mut Conn,
    user: UserId,
    id: InboxItemId,
    now: OffsetDateTime,
) -> Result<bool> {
    let done = sqlx::query(
        "UPDATE inbox_items SET deleted_at = $3 WHERE id = $1 AND user_id = $2 AND deleted_at IS NULL",
    )
    .bind(id.to_string())
    .bind(user.to_string())
    .bind(to_ms(now))
    .execute(&mut *conn)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Records a push error on an item, and counts the item failed when no
/// channel to the person is left (no push pending or sent, nothing delivered).
pub async fn record_push_error(
    conn: &mut Conn,
    item: &str,
    error: &str,
    now: OffsetDateTime,
) -> Result<()> {
    sqlx::query("UPDATE inbox_items SET last_error = $2 WHERE id = $1")
        .bind(item)
        .bind(error)
        .execute(&mut *conn)
        .await?;
    let failed: Vec<(String,)> = sqlx::query_as(
        "UPDATE inbox_items SET failed_at = $2 WHERE id = $1 AND delivered_at IS NULL \
         AND failed_at IS NULL AND NOT EXISTS (SELECT 1 FROM push_deliveries p \
         WHERE p.item_id = inbox_items.id AND p.status IN ('pending', 'sent')) \
         RETURNING notification_id",
    )
    .bind(item)
    .bind(to_ms(now))
    .fetch_all(&mut *conn)
    .await?;
    let mut deltas = BTreeMap::new();
    for (notification,) in failed {
        deltas
            .entry(notification)
            .or_insert_with(Counts::default)
            .failed += 1;
    }
    apply(conn, deltas).await
}

/// Deletes inbox items written before `before` (the notification keeps its
/// counts); returns how many.
pub async fn delete_older_than(conn: &mut Conn, before: OffsetDateTime) -> Result<u64> {
    let done = sqlx::query("DELETE FROM inbox_items WHERE created_at < $1")
        .bind(to_ms(before))
        .execute(&mut *conn)
        .await?;
    Ok(done.rows_affected())
}
