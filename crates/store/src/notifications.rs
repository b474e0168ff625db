//! Notifications as composed, with the counters of what became of them.

use crate::error::parse_stored;
use crate::time_ms::{from_ms, from_ms_opt, to_ms};
use crate::{Conn, Result};
use muster_domain::notification::{Scope, Status};
use muster_domain::{NotificationId, OrgId, UserId};
use time::OffsetDateTime;

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Counts {
    pub recipients: i64,
    pub delivered: i64,
    pub opened: i64,
    pub failed: i64,
}

#[derive(Debug, Clone)]
pub struct Notification {
    pub id: NotificationId,
    pub org_id: OrgId,
    pub title: String,
    pub body: String,
    pub link: Option<String>,
    /// A JSON object, serialized.
    pub data: Option<String>,
    pub scope: Scope,
    pub status: Status,
    pub scheduled_at: Option<OffsetDateTime>,
    pub sent_at: Option<OffsetDateTime>,
    pub created_by: Option<UserId>,
    /// The author's name and email, if they still exist.
    pub author: Option<(String, String)>,
    pub created_at: OffsetDateTime,
    pub counts: Counts,
    /// The solution, group or user ids its scope names.
    pub targets: Vec<String>,
}

pub struct NewNotification<'a> {
    pub org_id: OrgId,
    pub title: &'a str,
    pub body: &'a str,
    pub link: Option<&'a str>,
    pub data: Option<&'a str>,
    pub scope: Scope,
    pub status: Status,
    pub scheduled_at: Option<OffsetDateTime>,
    pub created_by: UserId,
    pub idempotency_key: Option<&'a str>,
    /// Solution, group or user ids, as the scope says.
    pub targets: &'a [String],
}

const COLUMNS: &str = "n.id, n.org_id, n.title, n.body, n.link, n.data, n.scope, n.status, \
     n.scheduled_at, n.sent_at, n.created_by, u.first_name, u.last_name, u.email, n.created_at, \
     n.recipients, n.delivered, n.opened, n.failed";
const FROM: &str = "notifications n LEFT JOIN users u ON u.id = n.created_by";

#[derive(sqlx::FromRow)]
struct Row {
    id: String,
    org_id: String,
    title: String,
    body: String,
    link: Option<String>,
    data: Option<String>,
    scope: String,
    status: String,
    scheduled_at: Option<i64>,
    sent_at: Option<i64>,
    created_by: Option<String>,
    first_name: Option<String>,
    last_name: Option<String>,
    email: Option<String>,
    created_at: i64,
    recipients: i64,
    delivered: i64,
    opened: i64,
    failed: i64,
}

fn from_row(row: Row) -> Result<Notification> {
    let author = match (row.first_name, row.last_name, row.email) {
        (Some(first), Some(last), Some(email)) => {
            let name = format!("{first} {last}").trim().to_owned();
            Some((if name.is_empty() { email.clone() } else { name }, email))
        }
        _ => None,
    };
    Ok(Notification {
        id: parse_stored("notifications.id", &row.id)?,
        org_id: parse_stored("notifications.org_id", &row.org_id)?,
        title: row.title,
        body: row.body,
        link: row.link,
        data: row.data,
        scope: parse_stored("notifications.scope", &row.scope)?,
        status: parse_stored("notifications.status", &row.status)?,
        scheduled_at: from_ms_opt(row.scheduled_at),
        sent_at: from_ms_opt(row.sent_at),
        created_by: row
            .created_by
            .map(|id| parse_stored("notifications.created_by", &id))
            .transpose()?,
        author,
        created_at: from_ms(row.created_at),
        counts: Counts {
            recipients: row.recipients,
            delivered: row.delivered,
            opened: row.opened,
            failed: row.failed,
        },
        targets: Vec::new(),
    })
}

pub async fn insert(
    conn: &mut Conn,
    new: NewNotification<'_>,
    now: OffsetDateTime,
) -> Result<NotificationId> {
    let id = NotificationId::new();
    sqlx::query(
        "INSERT INTO notifications (id, org_id, title, body, link, data, scope, status, scheduled_at, \
         created_by, idempotency_key, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)",
    )
    .bind(id.to_string())
    .bind(new.org_id.to_string())
    .bind(new.title)
    .bind(new.body)
    .bind(new.link)
    .bind(new.data)
    .bind(new.scope.as_str())
    .bind(new.status.as_str())
    .bind(new.scheduled_at.map(to_ms))
    .bind(new.created_by.to_string())
    .bind(new.idempotency_key)
    .bind(to_ms(now))
    .execute(&mut *conn)
    .await?;
    let rows = new
        .targets
        .iter()
        .map(|target| {
            vec![
                crate::batch::Cell::Text(id.to_string()),
                crate::batch::Cell::Text(target.clone()),
            ]
        })
        .collect();
    crate::batch::insert_new(
        conn,
        "notification_targets",
        &["notification_id", "target_id"],
        rows,
    )
    .await?;
    Ok(id)
}

pub async fn find(
    conn: &mut Conn,
    org_id: OrgId,
    id: NotificationId,
) -> Result<Option<Notification>> {
    let row: Option<Row> = sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM {FROM} WHERE n.id = $1 AND n.org_id = $2"
    ))
    .bind(id.to_string())
    .bind(org_id.to_string())
    .fetch_optional(&mut *conn)
    .await?;
    let found: Vec<Notification> = row.map(from_row).transpose()?.into_iter().collect();
    Ok(with_targets(conn, found).await?.pop())
}

/// The notification `user` created with `key`, if any (a retried POST).
pub async fn find_by_idempotency_key(
    conn: &mut Conn,
    org_id: OrgId,
    user: UserId,
    key: &str,
) -> Result<Option<Notification>> {
    let row: Option<Row> = sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM {FROM} WHERE n.org_id = $1 AND n.created_by = $2 AND n.idempotency_key = $3"
    ))
    .bind(org_id.to_string())
    .bind(user.to_string())
    .bind(key)
    .fetch_optional(&mut *conn)
    .await?;
    let found: Vec<Notification> = row.map(from_row).transpose()?.into_iter().collect();
    Ok(with_targets(conn, found).await?.pop())
}

/// Which notifications a history shows.
#[derive(Debug, Clone, Copy, Default)]
pub struct ListFilter {
    pub status: Option<Status>,
    /// Only those this member created.
    pub author: Option<UserId>,
}

/// Newest first, `limit + 1` rows from before `before` (an id).
pub async fn list_page(
    conn: &mut Conn,
    org_id: OrgId,
    filter: ListFilter,
    before: Option<&str>,
    limit: i64,
) -> Result<Vec<Notification>> {
    let rows: Vec<Row> = sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM {FROM} WHERE n.org_id = $1 AND (CAST($2 AS TEXT) IS NULL OR n.status = $2) \
         AND (CAST($3 AS TEXT) IS NULL OR n.id < $3) AND (CAST($4 AS TEXT) IS NULL OR n.created_by = $4) \
         ORDER BY n.id DESC LIMIT $5"
    ))
    .bind(org_id.to_string())
    .bind(filter.status.map(Status::as_str))
    .bind(before)
    .bind(filter.author.map(|id| id.to_string()))
    .bind(limit + 1)
    .fetch_all(&mut *conn)
    .await?;
    let found = rows.into_iter().map(from_row).collect::<Result<Vec<_>>>()?;
    with_targets(conn, found).await
}

/// Moves a notification to `to` if it is in `from`; returns whether it did,
/// so of two racing changes exactly one wins.
pub async fn transition(
    conn: &mut Conn,
    id: NotificationId,
    from: Status,
    to: Status,
    now: OffsetDateTime,
) -> Result<bool> {
    let done = sqlx::query(
        "UPDATE notifications SET status = $3, \
         sent_at = CASE WHEN CAST($3 AS TEXT) = 'sent' THEN $4 ELSE sent_at END \
         WHERE id = $1 AND status = $2",
    )
    .bind(id.to_string())
    .bind(from.as_str())
    .bind(to.as_str())
    .bind(to_ms(now))
    .execute(&mut *conn)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Adds to a notification's counters.
pub async fn add_counts(conn: &mut Conn, id: NotificationId, delta: Counts) -> Result<()> {
    if delta == Counts::default() {
        return Ok(());
    }
    sqlx::query(
        "UPDATE notifications SET recipients = recipients + $2, delivered = delivered + $3, \
         opened = opened + $4, failed = failed + $5 WHERE id = $1",
    )
    .bind(id.to_string())
    .bind(delta.recipients)
    .bind(delta.delivered)
    .bind(delta.opened)
    .bind(delta.failed)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// `found` with the ids each one's scope names, read in one statement.
async fn with_targets(conn: &mut Conn, mut found: Vec<Notification>) -> Result<Vec<Notification>> {
    if found.is_empty() {
        return Ok(found);
    }
    let sql = format!(
        "SELECT notification_id, target_id FROM notification_targets WHERE notification_id IN ({}) \
         ORDER BY target_id",
        crate::batch::placeholders(1, found.len())
    );
    let mut query = sqlx::query_as::<_, (String, String)>(&sql);
    for n in &found {
        query = query.bind(n.id.to_string());
    }
    for (id, target) in query.fetch_all(&mut *conn).await? {
        if let Some(n) = found.iter_mut().find(|n| n.id.to_string() == id) {
            n.targets.push(target);
        }
    }
    Ok(found)
}

/// The organization of a notification (for jobs, which know only its id).
pub async fn org_of(conn: &mut Conn, id: NotificationId) -> Result<OrgId> {
    let (org,): (String,) = sqlx::query_as("SELECT org_id FROM notifications WHERE id = $1")
        .bind(id.to_string())
        .fetch_one(&mut *conn)
        .await?;
    parse_stored("notifications.org_id", &org)
}
