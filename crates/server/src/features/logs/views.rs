//! Log entries, correlations and levels as the API shows them.

use super::service::{Ingested, LevelInForce, Rejected};
use muster_domain::log::Level;
use muster_domain::{DeviceId, SolutionId, UserId};
use muster_store::logs::{Correlation, Entry, Override};
use serde::Serialize;
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;
use utoipa::ToSchema;

pub fn rfc3339(at: OffsetDateTime) -> String {
    at.format(&Rfc3339).unwrap_or_default()
}

#[derive(Debug, Serialize, ToSchema)]
pub struct IngestResult {
    /// Entries written.
    pub accepted: usize,
    /// Entries below the logging level in force, not written.
    pub dropped: usize,
    /// Entries refused, by their index in the call.
    pub rejected: Vec<RejectedView>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct RejectedView {
    pub index: usize,
    pub field: String,
    pub message: String,
}

impl From<Rejected> for RejectedView {
    fn from(r: Rejected) -> Self {
        RejectedView {
            index: r.index,
            field: r.field,
            message: r.message,
        }
    }
}

impl From<Ingested> for IngestResult {
    fn from(i: Ingested) -> Self {
        IngestResult {
            accepted: i.accepted,
            dropped: i.dropped,
            rejected: i.rejected.into_iter().map(RejectedView::from).collect(),
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum LevelSource {
    /// The organization's setting.
    Organization,
    /// Set for this member by an administrator, for a while.
    Member,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct AppConfig {
    /// Send entries of this level and above; the server drops the rest.
    pub log_level: Level,
    pub log_level_source: LevelSource,
    /// When a member's level ends (then the organization's applies again).
    #[serde(with = "time::serde::rfc3339::option")]
    pub log_level_until: Option<OffsetDateTime>,
}

impl From<LevelInForce> for AppConfig {
    fn from(l: LevelInForce) -> Self {
        AppConfig {
            log_level: l.level,
            log_level_source: if l.member_override.is_some() {
                LevelSource::Member
            } else {
                LevelSource::Organization
            },
            log_level_until: l.member_override,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct NamedRef<T> {
    pub id: T,
    /// Null once it was deleted.
    pub name: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct UserRef {
    pub id: UserId,
    /// Null once the account was deleted.
    pub email: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct EntryView {
    pub id: i64,
    /// When it happened on the device.
    #[serde(with = "time::serde::rfc3339")]
    pub time: OffsetDateTime,
    /// When the server received it.
    #[serde(with = "time::serde::rfc3339")]
    pub received_at: OffsetDateTime,
    pub level: Level,
    pub category: Option<String>,
    pub message: String,
    pub correlation_id: String,
    #[schema(value_type = Option<NamedRef<SolutionId>>)]
    pub solution: Option<NamedRef<SolutionId>>,
    pub user: UserRef,
    #[schema(value_type = Option<NamedRef<DeviceId>>)]
    pub device: Option<NamedRef<DeviceId>>,
    #[schema(value_type = Option<Object>)]
    pub context: Option<serde_json::Value>,
}

pub fn level_of(rank: i64) -> Level {
    Level::from_rank(rank).unwrap_or(Level::Fatal)
}

impl From<Entry> for EntryView {
    fn from(e: Entry) -> Self {
        EntryView {
            id: e.id,
            time: e.time,
            received_at: e.received_at,
            level: level_of(e.level),
            category: e.category,
            message: e.message,
            correlation_id: e.correlation_id,
            solution: e.solution.map(|(id, name)| NamedRef { id, name }),
            user: UserRef {
                id: e.user_id,
                email: e.user_email,
            },
            device: e.device.map(|(id, name)| NamedRef { id, name }),
            context: e
                .context
                .as_deref()
                .and_then(|c| serde_json::from_str(c).ok()),
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct EntryList {
    pub items: Vec<EntryView>,
    pub next_cursor: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct CorrelationView {
    pub correlation_id: String,
    /// Entries of the selection with this correlation ID.
    pub entries: i64,
    #[serde(with = "time::serde::rfc3339")]
    pub first_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    pub last_at: OffsetDateTime,
    pub highest_level: Level,
    pub user: Option<UserRef>,
    #[schema(value_type = Option<NamedRef<SolutionId>>)]
    pub solution: Option<NamedRef<SolutionId>>,
}

impl From<Correlation> for CorrelationView {
    fn from(c: Correlation) -> Self {
        CorrelationView {
            correlation_id: c.correlation_id,
            entries: c.entries,
            first_at: c.first_at,
            last_at: c.last_at,
            highest_level: level_of(c.highest_level),
            user: c.user.map(|(id, email)| UserRef { id, email }),
            solution: c.solution.map(|(id, name)| NamedRef { id, name }),
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct CorrelationList {
    pub items: Vec<CorrelationView>,
    pub next_cursor: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct MemberLevel {
    /// The member's apps log at this level until `until`; null: the organization's.
    pub level: Option<Level>,
    #[serde(with = "time::serde::rfc3339::option")]
    pub until: Option<OffsetDateTime>,
}

impl From<Option<Override>> for MemberLevel {
    fn from(o: Option<Override>) -> Self {
        MemberLevel {
            level: o.as_ref().and_then(|o| Level::parse(&o.level)),
            until: o.map(|o| o.until),
        }
    }
}
