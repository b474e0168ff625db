//! Usage events and their daily rollup: recording events (in the transaction
//! of whatever caused them), the rollup's bookkeeping, retention, and reading
//! the daily figures.

mod daily;
mod rollup;

pub use daily::{counted_since, custom_totals, daily, DailyRow};
pub use rollup::{read_day, write_day, DayEvents, WHOLE_ORG};

use crate::batch::{self, Cell};
use crate::time_ms::to_ms;
use crate::{Conn, Result};
use muster_domain::usage::{Day, Kind};
use muster_domain::{OrgId, UserId};
use time::OffsetDateTime;

/// One event to record, or a count of like events.
#[derive(Debug, Clone, PartialEq)]
pub struct NewEvent {
    pub org_id: OrgId,
    pub kind: Kind,
    pub time: OffsetDateTime,
    /// The person who acted, if anyone did.
    pub user_id: Option<UserId>,
    pub solution_id: Option<String>,
    /// A custom event's name, or the token of API calls.
    pub name: Option<String>,
    pub count: i64,
    pub properties: Option<String>,
}

impl NewEvent {
    /// One event of `kind` by `user` now, in the whole organization.
    pub fn by(org_id: OrgId, kind: Kind, user: Option<UserId>, at: OffsetDateTime) -> NewEvent {
        NewEvent {
            org_id,
            kind,
            time: at,
            user_id: user,
            solution_id: None,
            name: None,
            count: 1,
            properties: None,
        }
    }

    pub fn in_solution(mut self, solution: Option<String>) -> NewEvent {
        self.solution_id = solution;
        self
    }

    pub fn times(mut self, count: i64) -> NewEvent {
        self.count = count;
        self
    }
}

const COLUMNS: [&str; 9] = [
    "org_id",
    "day",
    "time",
    "kind",
    "name",
    "solution_id",
    "user_id",
    "count",
    "properties",
];

/// Records `events` received at `now`. A day before the day received (an
/// app that was offline) is marked to be rolled up again.
pub async fn record(conn: &mut Conn, events: Vec<NewEvent>, now: OffsetDateTime) -> Result<()> {
    if events.is_empty() {
        return Ok(());
    }
    let today = Day::of(now);
    let late: std::collections::BTreeSet<(String, i64)> = events
        .iter()
        .filter(|e| Day::of(e.time) < today)
        .map(|e| (e.org_id.to_string(), Day::of(e.time).0))
        .collect();
    let rows = events
        .into_iter()
        .map(|e| {
            vec![
                Cell::Text(e.org_id.to_string()),
                Cell::Int(Day::of(e.time).0),
                Cell::Int(to_ms(e.time)),
                Cell::Text(e.kind.as_str().to_owned()),
                Cell::MaybeText(e.name),
                Cell::MaybeText(e.solution_id),
                Cell::MaybeText(e.user_id.map(|u| u.to_string())),
                Cell::Int(e.count),
                Cell::MaybeText(e.properties),
            ]
        })
        .collect();
    batch::insert_wide(conn, "usage_events", &COLUMNS, rows, 9000).await?;
    for (org, day) in late {
        sqlx::query(
            "INSERT INTO usage_late_days (org_id, day, marked_at) VALUES ($1, $2, $3) \
             ON CONFLICT (org_id, day) DO UPDATE SET marked_at = CASE \
             WHEN excluded.marked_at > usage_late_days.marked_at THEN excluded.marked_at \
             ELSE usage_late_days.marked_at END",
        )
        .bind(org)
        .bind(day)
        .bind(to_ms(now))
        .execute(&mut *conn)
        .await?;
    }
    Ok(())
}

/// One event; see [`record`].
pub async fn record_one(conn: &mut Conn, event: NewEvent, now: OffsetDateTime) -> Result<()> {
    record(conn, vec![event], now).await
}

/// `event` for each organization where `user` is an active member (a sign-in
/// is one in every organization of the person).
pub async fn record_in_orgs_of(
    conn: &mut Conn,
    user: UserId,
    kind: Kind,
    now: OffsetDateTime,
) -> Result<()> {
    let orgs: Vec<(String,)> =
        sqlx::query_as("SELECT org_id FROM memberships WHERE user_id = $1 AND status = 'active'")
            .bind(user.to_string())
            .fetch_all(&mut *conn)
            .await?;
    let mut events = Vec::with_capacity(orgs.len());
    for (org,) in orgs {
        let org_id = crate::error::parse_stored("memberships.org_id", &org)?;
        events.push(NewEvent::by(org_id, kind, Some(user), now));
    }
    record(conn, events, now).await
}

/// `count` deliveries of a notification, in its organization.
pub async fn record_deliveries(
    conn: &mut Conn,
    notification: muster_domain::NotificationId,
    count: i64,
    now: OffsetDateTime,
) -> Result<()> {
    if count <= 0 {
        return Ok(());
    }
    let (org,): (String,) = sqlx::query_as("SELECT org_id FROM notifications WHERE id = $1")
        .bind(notification.to_string())
        .fetch_one(&mut *conn)
        .await?;
    let org_id = crate::error::parse_stored("notifications.org_id", &org)?;
    let event = NewEvent::by(org_id, Kind::NotificationDelivered, None, now).times(count);
    record_one(conn, event, now).await
}

/// The last day rolled up after it ended, if any was.
pub async fn closed_through(conn: &mut Conn) -> Result<Option<Day>> {
    let row: Option<(i64,)> =
        sqlx::query_as("SELECT closed_through FROM usage_rollup_state WHERE id = 1")
            .fetch_optional(&mut *conn)
            .await?;
    Ok(row.map(|(day,)| Day(day)))
}

/// Days up to `day` are rolled up for good (it never moves back).
pub async fn close_through(conn: &mut Conn, day: Day) -> Result<()> {
    sqlx::query(
        "INSERT INTO usage_rollup_state (id, closed_through) VALUES (1, $1) \
         ON CONFLICT (id) DO UPDATE SET closed_through = excluded.closed_through \
         WHERE usage_rollup_state.closed_through < excluded.closed_through",
    )
    .bind(day.0)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// An organization's day that late events arrived for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LateDay {
    pub org_id: OrgId,
    pub day: Day,
}

/// Every organization's days that late events arrived for.
pub async fn late_days(conn: &mut Conn) -> Result<Vec<LateDay>> {
    let rows: Vec<(String, i64)> =
        sqlx::query_as("SELECT org_id, day FROM usage_late_days ORDER BY org_id, day")
            .fetch_all(&mut *conn)
            .await?;
    rows.into_iter()
        .map(|(org, day)| {
            Ok(LateDay {
                org_id: crate::error::parse_stored("usage_late_days.org_id", &org)?,
                day: Day(day),
            })
        })
        .collect()
}

/// Forgets that a day had late events, unless one came after `marked_before`.
pub async fn clear_late_day(
    conn: &mut Conn,
    late: LateDay,
    marked_before: OffsetDateTime,
) -> Result<()> {
    sqlx::query("DELETE FROM usage_late_days WHERE org_id = $1 AND day = $2 AND marked_at < $3")
        .bind(late.org_id.to_string())
        .bind(late.day.0)
        .bind(to_ms(marked_before))
        .execute(&mut *conn)
        .await?;
    Ok(())
}

/// How long an organization keeps raw events, and since when it has them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Retention {
    pub org_id: OrgId,
    pub days: i64,
    /// The days before it are final: their raw events were deleted.
    pub kept_from: Day,
}

impl Retention {
    /// The first day whose raw events are kept at `today`.
    pub fn first_kept(&self, today: Day) -> Day {
        today.plus(1 - self.days).max(self.kept_from)
    }
}

/// Every organization's retention.
pub async fn retentions(conn: &mut Conn) -> Result<Vec<Retention>> {
    let rows: Vec<(String, i64, i64)> = sqlx::query_as(
        "SELECT id, usage_retention_days, usage_kept_from FROM organizations ORDER BY id",
    )
    .fetch_all(&mut *conn)
    .await?;
    rows.into_iter()
        .map(|(id, days, kept_from)| {
            Ok(Retention {
                org_id: crate::error::parse_stored("organizations.id", &id)?,
                days,
                kept_from: Day(kept_from),
            })
        })
        .collect()
}

/// The organization's retention.
pub async fn retention(conn: &mut Conn, org_id: OrgId) -> Result<Retention> {
    let (days, kept_from): (i64, i64) = sqlx::query_as(
        "SELECT usage_retention_days, usage_kept_from FROM organizations WHERE id = $1",
    )
    .bind(org_id.to_string())
    .fetch_optional(&mut *conn)
    .await?
    .ok_or(crate::StoreError::NotFound)?;
    Ok(Retention {
        org_id,
        days,
        kept_from: Day(kept_from),
    })
}

/// Makes the days before `day` final, before their raw events are deleted
/// (it never moves back, so a longer retention later does not reopen them).
pub async fn keep_from(conn: &mut Conn, org_id: OrgId, day: Day) -> Result<()> {
    sqlx::query(
        "UPDATE organizations SET usage_kept_from = $2 WHERE id = $1 AND usage_kept_from < $2",
    )
    .bind(org_id.to_string())
    .bind(day.0)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// Deletes up to `limit` of the organization's raw events of days before
/// `first_kept`; returns how many went.
pub async fn delete_before(
    conn: &mut Conn,
    org_id: OrgId,
    first_kept: Day,
    limit: i64,
) -> Result<u64> {
    let row = crate::dialect::Dialect::of(conn).row_address();
    let sql = format!(
        "DELETE FROM usage_events WHERE {row} IN (SELECT {row} FROM usage_events \
         WHERE org_id = $1 AND day < $2 LIMIT $3)"
    );
    let done = sqlx::query(&sql)
        .bind(org_id.to_string())
        .bind(first_kept.0)
        .bind(limit)
        .execute(&mut *conn)
        .await?;
    Ok(done.rows_affected())
}
