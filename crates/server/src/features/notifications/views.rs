//! Notifications, recipients and inbox items as the API shows them.

use muster_domain::notification::{Scope, Status};
use muster_domain::{InboxItemId, NotificationId, OrgId, UserId};
use muster_store::inbox::Item;
use muster_store::notifications::{Counts, Notification};
use muster_store::push::Due;
use muster_store::recipients::Recipient;
use serde::Serialize;
use time::OffsetDateTime;
use utoipa::ToSchema;

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct CountsView {
    /// People it was written to.
    pub recipients: i64,
    /// Received on a device: an event stream, an accepted Web Push, or the inbox fetched.
    pub delivered: i64,
    /// Marked read.
    pub opened: i64,
    /// Every channel to the person failed.
    pub failed: i64,
}

impl From<Counts> for CountsView {
    fn from(c: Counts) -> Self {
        CountsView {
            recipients: c.recipients,
            delivered: c.delivered,
            opened: c.opened,
            failed: c.failed,
        }
    }
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct AuthorView {
    pub id: UserId,
    pub name: String,
    pub email: String,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct NotificationView {
    pub id: NotificationId,
    pub org_id: OrgId,
    pub status: Status,
    pub title: String,
    pub body: String,
    pub link: Option<String>,
    #[schema(value_type = Option<Object>)]
    pub data: Option<serde_json::Value>,
    pub scope: Scope,
    /// The solutions, groups or users (ids) the scope names.
    pub targets: Vec<String>,
    #[serde(with = "time::serde::rfc3339::option")]
    pub scheduled_at: Option<OffsetDateTime>,
    #[serde(with = "time::serde::rfc3339::option")]
    pub sent_at: Option<OffsetDateTime>,
    pub created_by: Option<AuthorView>,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    pub counts: CountsView,
}

pub fn parse_data(data: Option<&str>) -> Option<serde_json::Value> {
    data.and_then(|d| serde_json::from_str(d).ok())
}

impl NotificationView {
    pub fn new(n: Notification) -> Self {
        let created_by = match (n.created_by, n.author) {
            (Some(id), Some((name, email))) => Some(AuthorView { id, name, email }),
            _ => None,
        };
        NotificationView {
            id: n.id,
            org_id: n.org_id,
            status: n.status,
            data: parse_data(n.data.as_deref()),
            title: n.title,
            body: n.body,
            link: n.link,
            scope: n.scope,
            targets: n.targets,
            scheduled_at: n.scheduled_at,
            sent_at: n.sent_at,
            created_by,
            created_at: n.created_at,
            counts: n.counts.into(),
        }
    }
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct NotificationList {
    pub items: Vec<NotificationView>,
    pub next_cursor: Option<String>,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct RecipientView {
    pub user_id: UserId,
    pub email: String,
    pub name: String,
    /// queued, delivered, opened or failed.
    pub status: &'static str,
    #[serde(with = "time::serde::rfc3339::option")]
    pub delivered_at: Option<OffsetDateTime>,
    #[serde(with = "time::serde::rfc3339::option")]
    pub opened_at: Option<OffsetDateTime>,
    #[serde(with = "time::serde::rfc3339::option")]
    pub failed_at: Option<OffsetDateTime>,
    pub last_error: Option<String>,
}

impl From<Recipient> for RecipientView {
    fn from(r: Recipient) -> Self {
        let status = if r.read_at.is_some() {
            "opened"
        } else if r.delivered_at.is_some() {
            "delivered"
        } else if r.failed_at.is_some() {
            "failed"
        } else {
            "queued"
        };
        RecipientView {
            user_id: r.user_id,
            email: r.email,
            name: r.name,
            status,
            delivered_at: r.delivered_at,
            opened_at: r.read_at,
            failed_at: r.failed_at,
            last_error: r.last_error,
        }
    }
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct RecipientList {
    pub items: Vec<RecipientView>,
    pub next_cursor: Option<String>,
}

/// An item of a member's inbox; also the payload of its Web Push and of its
/// `notification` event.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct InboxItemView {
    pub id: InboxItemId,
    pub notification_id: NotificationId,
    pub org_id: OrgId,
    pub title: String,
    pub body: String,
    pub link: Option<String>,
    #[schema(value_type = Option<Object>)]
    pub data: Option<serde_json::Value>,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339::option")]
    pub read_at: Option<OffsetDateTime>,
}

impl From<Item> for InboxItemView {
    fn from(i: Item) -> Self {
        InboxItemView {
            id: i.id,
            notification_id: i.notification_id,
            org_id: i.org_id,
            data: parse_data(i.data.as_deref()),
            title: i.title,
            body: i.body,
            link: i.link,
            created_at: i.created_at,
            read_at: i.read_at,
        }
    }
}

impl InboxItemView {
    /// The item a push is for, from its notification.
    pub fn of_push(n: &Notification, due: &Due) -> Self {
        InboxItemView {
            id: due.item_id.parse().unwrap_or_default(),
            notification_id: n.id,
            org_id: n.org_id,
            title: n.title.clone(),
            body: n.body.clone(),
            link: n.link.clone(),
            data: parse_data(n.data.as_deref()),
            created_at: due.item_created_at,
            read_at: None,
        }
    }
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct InboxList {
    pub items: Vec<InboxItemView>,
    pub next_cursor: Option<String>,
}
