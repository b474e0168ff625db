//! Devices: a user's app installations, each with a token (only its SHA-256 is
//! stored) and optionally a Web Push subscription.

use crate::error::parse_stored;
use crate::time_ms::{from_ms, from_ms_opt, to_ms};
use crate::{Conn, Result};
use muster_domain::{DeviceId, UserId};
use time::OffsetDateTime;

/// Where a push service reaches a device (the browser's `PushSubscription`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Subscription {
    pub endpoint: String,
    pub p256dh: String,
    pub auth: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Device {
    pub id: DeviceId,
    pub user_id: UserId,
    pub name: String,
    pub platform: String,
    pub push: Option<Subscription>,
    pub created_at: OffsetDateTime,
    pub last_seen_at: Option<OffsetDateTime>,
}

type Row = (
    String,
    String,
    String,
    String,
    Option<String>,
    Option<String>,
    Option<String>,
    i64,
    Option<i64>,
);

const COLUMNS: &str =
    "id, user_id, name, platform, push_endpoint, push_p256dh, push_auth, created_at, last_seen_at";

fn from_row(row: Row) -> Result<Device> {
    let (id, user_id, name, platform, endpoint, p256dh, auth, created, seen) = row;
    let push = match (endpoint, p256dh, auth) {
        (Some(endpoint), Some(p256dh), Some(auth)) => Some(Subscription {
            endpoint,
            p256dh,
            auth,
        }),
        _ => None,
    };
    Ok(Device {
        id: parse_stored("devices.id", &id)?,
        user_id: parse_stored("devices.user_id", &user_id)?,
        name,
        platform,
        push,
        created_at: from_ms(created),
        last_seen_at: from_ms_opt(seen),
    })
}

pub struct NewDevice<'a> {
    pub user_id: UserId,
    pub name: &'a str,
    pub platform: &'a str,
    pub token_hash: &'a str,
    pub push: Option<&'a Subscription>,
}

pub async fn insert(conn: &mut Conn, new: NewDevice<'_>, now: OffsetDateTime) -> Result<Device> {
    let id = DeviceId::new();
    sqlx::query(
        "INSERT INTO devices (id, user_id, name, platform, token_hash, push_endpoint, push_p256dh, \
         push_auth, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
    )
    .bind(id.to_string())
    .bind(new.user_id.to_string())
    .bind(new.name)
    .bind(new.platform)
    .bind(new.token_hash)
    .bind(new.push.map(|p| p.endpoint.clone()))
    .bind(new.push.map(|p| p.p256dh.clone()))
    .bind(new.push.map(|p| p.auth.clone()))
    .bind(to_ms(now))
    .execute(&mut *conn)
    .await?;
    Ok(Device {
        id,
        user_id: new.user_id,
        name: new.name.to_owned(),
        platform: new.platform.to_owned(),
        push: new.push.cloned(),
        created_at: from_ms(to_ms(now)),
        last_seen_at: None,
    })
}

pub async fn find_by_hash(conn: &mut Conn, token_hash: &str) -> Result<Option<Device>> {
    let row: Option<Row> = sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM devices WHERE token_hash = $1"
    ))
    .bind(token_hash)
    .fetch_optional(&mut *conn)
    .await?;
    row.map(from_row).transpose()
}

/// A user's devices, newest first (a user holds at most [`MAX_PER_USER`]).
pub async fn list_for_user(conn: &mut Conn, user_id: UserId) -> Result<Vec<Device>> {
    let rows: Vec<Row> = sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM devices WHERE user_id = $1 ORDER BY id DESC"
    ))
    .bind(user_id.to_string())
    .fetch_all(&mut *conn)
    .await?;
    rows.into_iter().map(from_row).collect()
}

/// One of `user_id`'s devices; another user's device is not found.
pub async fn find_for_user(
    conn: &mut Conn,
    user_id: UserId,
    id: DeviceId,
) -> Result<Option<Device>> {
    let row: Option<Row> = sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM devices WHERE id = $1 AND user_id = $2"
    ))
    .bind(id.to_string())
    .bind(user_id.to_string())
    .fetch_optional(&mut *conn)
    .await?;
    row.map(from_row).transpose()
}

/// How many devices one person may register.
pub const MAX_PER_USER: i64 = 100;

pub async fn count_for_user(conn: &mut Conn, user_id: UserId) -> Result<i64> {
    let (n,): (i64,) = sqlx::query_as("SELECT COUNT(*) FROM devices WHERE user_id = $1")
        .bind(user_id.to_string())
        .fetch_one(&mut *conn)
        .await?;
    Ok(n)
}

/// Revokes one of `user_id`'s devices; another user's device is not found.
pub async fn delete_for_user(conn: &mut Conn, user_id: UserId, id: DeviceId) -> Result<bool> {
    let done = sqlx::query("DELETE FROM devices WHERE id = $1 AND user_id = $2")
        .bind(id.to_string())
        .bind(user_id.to_string())
        .execute(&mut *conn)
        .await?;
    Ok(done.rows_affected() == 1)
}

/// Replaces (or with `None` drops) a device's Web Push subscription.
pub async fn set_push(conn: &mut Conn, id: DeviceId, push: Option<&Subscription>) -> Result<bool> {
    let done = sqlx::query(
        "UPDATE devices SET push_endpoint = $2, push_p256dh = $3, push_auth = $4 WHERE id = $1",
    )
    .bind(id.to_string())
    .bind(push.map(|p| p.endpoint.clone()))
    .bind(push.map(|p| p.p256dh.clone()))
    .bind(push.map(|p| p.auth.clone()))
    .execute(&mut *conn)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Drops the subscription the push service said is gone, unless the device
/// has registered a new one meanwhile.
pub async fn drop_push_endpoint(conn: &mut Conn, id: DeviceId, endpoint: &str) -> Result<()> {
    sqlx::query(
        "UPDATE devices SET push_endpoint = NULL, push_p256dh = NULL, push_auth = NULL \
         WHERE id = $1 AND push_endpoint = $2",
    )
    .bind(id.to_string())
    .bind(endpoint)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// Records that the device called, at most once per `interval`.
pub async fn touch(conn: &mut Conn, id: DeviceId, now: OffsetDateTime) -> Result<()> {
    sqlx::query("UPDATE devices SET last_seen_at = $2 WHERE id = $1")
        .bind(id.to_string())
        .bind(to_ms(now))
        .execute(&mut *conn)
        .await?;
    Ok(())
}
