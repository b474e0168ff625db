//! Who a notification goes to, resolved when it is sent, and how each
//! recipient fared, as its sender sees them.

use crate::error::parse_stored;
use crate::notifications::Notification;
use crate::time_ms::from_ms_opt;
use crate::{Conn, Result};
use muster_domain::notification::Scope;
use muster_domain::{InboxItemId, NotificationId, UserId};
use time::OffsetDateTime;

/// The next `limit` recipients of `n` after `after` (a user id; "" to start),
/// in user id order, resolved now: active members only, and for solutions
/// and groups only assignees whose solution role is not `deny`.
pub async fn resolve_after(
    conn: &mut Conn,
    n: &Notification,
    after: &str,
    limit: i64,
) -> Result<Vec<String>> {
    let targets = "SELECT t.target_id FROM notification_targets t WHERE t.notification_id = $2";
    let sql = match n.scope {
        Scope::Org => {
            let rows: Vec<(String,)> = sqlx::query_as(
                "SELECT m.user_id FROM memberships m WHERE m.org_id = $1 AND m.status = 'active' \
                 AND m.user_id > $2 ORDER BY m.user_id LIMIT $3",
            )
            .bind(n.org_id.to_string())
            .bind(after)
            .bind(limit)
            .fetch_all(&mut *conn)
            .await?;
            return Ok(rows.into_iter().map(|(id,)| id).collect());
        }
        Scope::Users => format!(
            "SELECT m.user_id FROM memberships m WHERE m.org_id = $1 AND m.status = 'active' \
             AND m.user_id IN ({targets}) AND m.user_id > $3 ORDER BY m.user_id LIMIT $4"
        ),
        Scope::Solutions => format!(
            "SELECT DISTINCT a.user_id FROM solution_assignments a JOIN memberships m \
             ON m.org_id = a.org_id AND m.user_id = a.user_id WHERE a.org_id = $1 \
             AND a.solution_id IN ({targets}) AND a.role <> 'deny' AND m.status = 'active' \
             AND a.user_id > $3 ORDER BY a.user_id LIMIT $4"
        ),
        Scope::Groups => format!(
            "SELECT DISTINCT g.user_id FROM solution_group_members g JOIN solution_assignments a \
             ON a.solution_id = g.solution_id AND a.user_id = g.user_id JOIN memberships m \
             ON m.org_id = a.org_id AND m.user_id = a.user_id WHERE a.org_id = $1 \
             AND g.group_id IN ({targets}) AND a.role <> 'deny' AND m.status = 'active' \
             AND g.user_id > $3 ORDER BY g.user_id LIMIT $4"
        ),
    };
    let rows: Vec<(String,)> = sqlx::query_as(&sql)
        .bind(n.org_id.to_string())
        .bind(n.id.to_string())
        .bind(after)
        .bind(limit)
        .fetch_all(&mut *conn)
        .await?;
    Ok(rows.into_iter().map(|(id,)| id).collect())
}

/// A recipient as the sender sees them.
#[derive(Debug, Clone)]
pub struct Recipient {
    pub item_id: InboxItemId,
    pub user_id: UserId,
    pub email: String,
    pub name: String,
    pub delivered_at: Option<OffsetDateTime>,
    pub read_at: Option<OffsetDateTime>,
    pub failed_at: Option<OffsetDateTime>,
    pub last_error: Option<String>,
}

/// Which recipients a list shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RecipientFilter {
    All,
    /// Not delivered yet, and not failed.
    Queued,
    Delivered,
    Opened,
    Failed,
}

impl RecipientFilter {
    /// The filter a `?status=` names: blank is all; `None` for an unknown one.
    pub fn named(status: &str) -> Option<RecipientFilter> {
        Some(match status.trim() {
            "" => RecipientFilter::All,
            "queued" => RecipientFilter::Queued,
            "delivered" => RecipientFilter::Delivered,
            "opened" => RecipientFilter::Opened,
            "failed" => RecipientFilter::Failed,
            _ => return None,
        })
    }
}

type RecipientRow = (
    String,
    String,
    String,
    String,
    String,
    Option<i64>,
    Option<i64>,
    Option<i64>,
    Option<String>,
);

/// `limit + 1` recipients of `n` after `after` (an item id), in the order they
/// were written.
pub async fn page(
    conn: &mut Conn,
    n: NotificationId,
    filter: RecipientFilter,
    after: Option<&str>,
    limit: i64,
) -> Result<Vec<Recipient>> {
    let condition = match filter {
        RecipientFilter::All => "",
        RecipientFilter::Queued => "AND i.delivered_at IS NULL AND i.failed_at IS NULL",
        RecipientFilter::Delivered => "AND i.delivered_at IS NOT NULL",
        RecipientFilter::Opened => "AND i.read_at IS NOT NULL",
        RecipientFilter::Failed => "AND i.failed_at IS NOT NULL",
    };
    let rows: Vec<RecipientRow> = sqlx::query_as(&format!(
        "SELECT i.id, i.user_id, u.email, u.first_name, u.last_name, i.delivered_at, i.read_at, \
         i.failed_at, i.last_error FROM inbox_items i JOIN users u ON u.id = i.user_id \
         WHERE i.notification_id = $1 {condition} AND i.id > $2 ORDER BY i.id LIMIT $3"
    ))
    .bind(n.to_string())
    .bind(after.unwrap_or(""))
    .bind(limit + 1)
    .fetch_all(&mut *conn)
    .await?;
    rows.into_iter()
        .map(
            |(id, user, email, first, last, delivered, read, failed, error)| {
                let name = format!("{first} {last}").trim().to_owned();
                Ok(Recipient {
                    item_id: parse_stored("inbox_items.id", &id)?,
                    user_id: parse_stored("inbox_items.user_id", &user)?,
                    name: if name.is_empty() { email.clone() } else { name },
                    email,
                    delivered_at: from_ms_opt(delivered),
                    read_at: from_ms_opt(read),
                    failed_at: from_ms_opt(failed),
                    last_error: error,
                })
            },
        )
        .collect()
}
