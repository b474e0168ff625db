//! Web Push: one delivery per inbox item and device with a subscription, and
//! the VAPID key pair every instance signs with.

use crate::error::parse_stored;
use crate::time_ms::{from_ms, to_ms};
use crate::{Conn, Result};
use muster_domain::{DeviceId, NotificationId};
use time::OffsetDateTime;

/// Queues a push to every subscribed device of the recipients in
/// `(after, upto]` (user ids) of notification `n`; returns how many.
pub async fn queue_for_batch(
    conn: &mut Conn,
    n: NotificationId,
    after: &str,
    upto: &str,
    now: OffsetDateTime,
) -> Result<u64> {
    let done = sqlx::query(
        "INSERT INTO push_deliveries (item_id, device_id, notification_id, status, attempts, next_at, updated_at) \
         SELECT i.id, d.id, i.notification_id, 'pending', 0, $4, $4 FROM inbox_items i \
         JOIN devices d ON d.user_id = i.user_id WHERE i.notification_id = $1 \
         AND i.user_id > $2 AND i.user_id <= $3 AND d.push_endpoint IS NOT NULL \
         ON CONFLICT DO NOTHING",
    )
    .bind(n.to_string())
    .bind(after)
    .bind(upto)
    .bind(to_ms(now))
    .execute(&mut *conn)
    .await?;
    Ok(done.rows_affected())
}

/// A push that is due, with what it needs to be sent.
#[derive(Debug, Clone)]
pub struct Due {
    pub item_id: String,
    pub device_id: DeviceId,
    /// Empty when the device has dropped its subscription since.
    pub endpoint: String,
    pub p256dh: String,
    pub auth: String,
    /// Attempts made before this one.
    pub attempts: i64,
    /// When the inbox item was written.
    pub item_created_at: OffsetDateTime,
    /// Whether the recipient is still an active member of the organization.
    pub member_active: bool,
}

#[derive(sqlx::FromRow)]
struct DueRow {
    item_id: String,
    device_id: String,
    push_endpoint: Option<String>,
    push_p256dh: Option<String>,
    push_auth: Option<String>,
    attempts: i64,
    created_at: i64,
    status: Option<String>,
}

/// Up to `limit` pushes of `n` that are due at `now`, in a stable order.
pub async fn due(
    conn: &mut Conn,
    n: NotificationId,
    now: OffsetDateTime,
    limit: i64,
) -> Result<Vec<Due>> {
    let rows: Vec<DueRow> = sqlx::query_as(
        "SELECT p.item_id, p.device_id, d.push_endpoint, d.push_p256dh, d.push_auth, p.attempts, \
         i.created_at, m.status FROM push_deliveries p JOIN devices d ON d.id = p.device_id \
         JOIN inbox_items i ON i.id = p.item_id \
         LEFT JOIN memberships m ON m.org_id = i.org_id AND m.user_id = i.user_id \
         WHERE p.notification_id = $1 AND p.status = 'pending' AND p.next_at <= $2 \
         ORDER BY p.next_at, p.item_id, p.device_id LIMIT $3",
    )
    .bind(n.to_string())
    .bind(to_ms(now))
    .bind(limit)
    .fetch_all(&mut *conn)
    .await?;
    rows.into_iter()
        .map(|row| {
            Ok(Due {
                device_id: parse_stored("push_deliveries.device_id", &row.device_id)?,
                item_id: row.item_id,
                endpoint: row.push_endpoint.unwrap_or_default(),
                p256dh: row.push_p256dh.unwrap_or_default(),
                auth: row.push_auth.unwrap_or_default(),
                attempts: row.attempts,
                item_created_at: from_ms(row.created_at),
                member_active: row.status.as_deref() == Some("active"),
            })
        })
        .collect()
}

/// What became of one push.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// The push service accepted it.
    Sent,
    /// Try again at the given time.
    Retry { at: OffsetDateTime, error: String },
    /// The subscription is gone (404/410): the device's subscription is dropped.
    Gone { error: String },
    /// Given up.
    Failed { error: String },
}

impl Outcome {
    fn status(&self) -> &'static str {
        match self {
            Outcome::Sent => "sent",
            Outcome::Retry { .. } => "pending",
            Outcome::Gone { .. } => "gone",
            Outcome::Failed { .. } => "failed",
        }
    }

    pub fn error(&self) -> Option<&str> {
        match self {
            Outcome::Sent => None,
            Outcome::Retry { error, .. } | Outcome::Gone { error } | Outcome::Failed { error } => {
                Some(error)
            }
        }
    }
}

/// Writes the outcome of a push that was `due`.
pub async fn record(
    conn: &mut Conn,
    due: &Due,
    outcome: &Outcome,
    now: OffsetDateTime,
) -> Result<()> {
    let next_at = match outcome {
        Outcome::Retry { at, .. } => to_ms(*at),
        _ => to_ms(now),
    };
    sqlx::query(
        "UPDATE push_deliveries SET status = $3, attempts = attempts + 1, next_at = $4, \
         last_error = $5, updated_at = $6 WHERE item_id = $1 AND device_id = $2",
    )
    .bind(&due.item_id)
    .bind(due.device_id.to_string())
    .bind(outcome.status())
    .bind(next_at)
    .bind(outcome.error())
    .bind(to_ms(now))
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// Writes "sent" for many pushes at once (a round's worth: one statement per
/// few hundred instead of one each).
pub async fn record_sent(conn: &mut Conn, sent: &[&Due], now: OffsetDateTime) -> Result<()> {
    for chunk in sent.chunks(400) {
        let pairs = (0..chunk.len())
            .map(|i| format!("(${}, ${})", 2 * i + 2, 2 * i + 3))
            .collect::<Vec<_>>()
            .join(", ");
        let sql = format!(
            "UPDATE push_deliveries SET status = 'sent', attempts = attempts + 1, next_at = $1, \
             last_error = NULL, updated_at = $1 WHERE (item_id, device_id) IN (VALUES {pairs})"
        );
        let mut query = sqlx::query(&sql).bind(to_ms(now));
        for due in chunk {
            query = query.bind(&due.item_id).bind(due.device_id.to_string());
        }
        query.execute(&mut *conn).await?;
    }
    Ok(())
}

/// When the next retry of `n` is due, if any is left.
pub async fn next_retry(conn: &mut Conn, n: NotificationId) -> Result<Option<OffsetDateTime>> {
    let (at,): (Option<i64>,) = sqlx::query_as(
        "SELECT MIN(next_at) FROM push_deliveries WHERE notification_id = $1 AND status = 'pending'",
    )
    .bind(n.to_string())
    .fetch_one(&mut *conn)
    .await?;
    Ok(at.map(from_ms))
}

/// The stored VAPID key pair (private, public; base64url), writing `generated`
/// first if there is none yet. Instances starting together agree: the first
/// write wins and every one reads it back.
pub async fn vapid_keys(
    conn: &mut Conn,
    generated: (String, String),
    now: OffsetDateTime,
) -> Result<(String, String)> {
    sqlx::query(
        "INSERT INTO vapid_keys (id, private_key, public_key, created_at) VALUES (1, $1, $2, $3) \
         ON CONFLICT DO NOTHING",
    )
    .bind(generated.0)
    .bind(generated.1)
    .bind(to_ms(now))
    .execute(&mut *conn)
    .await?;
    let keys: (String, String) =
        sqlx::query_as("SELECT private_key, public_key FROM vapid_keys WHERE id = 1")
            .fetch_one(&mut *conn)
            .await?;
    Ok(keys)
}

/// Forgets finished pushes (sent, gone, failed) last changed before `before`;
/// returns how many.
pub async fn delete_finished(conn: &mut Conn, before: OffsetDateTime) -> Result<u64> {
    let done =
        sqlx::query("DELETE FROM push_deliveries WHERE status <> 'pending' AND updated_at < $1")
            .bind(to_ms(before))
            .execute(&mut *conn)
            .await?;
    Ok(done.rows_affected())
}
