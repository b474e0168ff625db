//! Log entries: written in batches as apps send them, read newest first by a
//! filter, grouped by correlation ID ([`correlations`]), deleted past each
//! organization's retention. On PostgreSQL the table is partitioned by day
//! ([`partitions`]). A member's temporary level is in [`overrides`], the
//! per-credential counts of the rate limit in [`rate`].

mod correlations;
mod overrides;
mod partitions;
mod rate;

pub use correlations::*;
pub use overrides::*;
pub use partitions::*;
pub use rate::*;

use crate::batch::{self, Cell};
use crate::dialect::Dialect;
use crate::error::parse_stored;
use crate::time_ms::{from_ms, to_ms};
use crate::{Conn, Result};
use muster_domain::{DeviceId, OrgId, SolutionId, UserId};
use time::OffsetDateTime;

/// One entry to write; the user and device are those of the credentials.
#[derive(Debug, Clone)]
pub struct NewEntry {
    pub time: OffsetDateTime,
    pub level: i64,
    pub category: Option<String>,
    pub message: String,
    pub correlation_id: String,
    pub solution_id: Option<SolutionId>,
    pub context: Option<String>,
}

/// Who sent a batch, and when it arrived.
#[derive(Debug, Clone, Copy)]
pub struct Sender {
    pub org_id: OrgId,
    pub user_id: UserId,
    pub device_id: Option<DeviceId>,
    pub received_at: OffsetDateTime,
}

const COLUMNS: &[&str] = &[
    "org_id",
    "time",
    "received_at",
    "level",
    "category",
    "message",
    "correlation_id",
    "solution_id",
    "user_id",
    "device_id",
    "context",
];

/// Writes `entries` of one sender (in the caller's transaction).
pub async fn insert(conn: &mut Conn, sender: Sender, entries: Vec<NewEntry>) -> Result<()> {
    let org = sender.org_id.to_string();
    let user = sender.user_id.to_string();
    let device = sender.device_id.map(|d| d.to_string());
    let received = to_ms(sender.received_at);
    let rows = entries
        .into_iter()
        .map(|e| {
            vec![
                Cell::Text(org.clone()),
                Cell::Int(to_ms(e.time)),
                Cell::Int(received),
                Cell::Int(e.level),
                Cell::MaybeText(e.category),
                Cell::Text(e.message),
                Cell::Text(e.correlation_id),
                Cell::MaybeText(e.solution_id.map(|s| s.to_string())),
                Cell::Text(user.clone()),
                Cell::MaybeText(device.clone()),
                Cell::MaybeText(e.context),
            ]
        })
        .collect();
    batch::insert_wide(
        conn,
        "log_entries",
        COLUMNS,
        rows,
        muster_domain::log::BATCH_MAX * COLUMNS.len(),
    )
    .await
}

/// Which entries a reader asks for, with what they may see already applied.
#[derive(Debug, Clone, Default)]
pub struct Filter {
    pub from: Option<OffsetDateTime>,
    pub to: Option<OffsetDateTime>,
    /// This rank and above.
    pub min_level: Option<i64>,
    pub solution: Option<SolutionId>,
    /// Only entries of these solutions (a creator's); `None`: no restriction.
    pub visible_solutions: Option<Vec<SolutionId>>,
    pub user: Option<UserId>,
    pub correlation_id: Option<String>,
    pub category: Option<String>,
    /// Text in the message, ignoring case.
    pub text: Option<String>,
    /// Matches no entry (e.g. a user filter naming nobody in the organization).
    pub nothing: bool,
}

/// A stored entry with the names a reader needs beside its ids.
#[derive(Debug, Clone)]
pub struct Entry {
    pub id: i64,
    pub time: OffsetDateTime,
    pub received_at: OffsetDateTime,
    pub level: i64,
    pub category: Option<String>,
    pub message: String,
    pub correlation_id: String,
    pub solution: Option<(SolutionId, Option<String>)>,
    pub user_id: UserId,
    /// None once the user is deleted.
    pub user_email: Option<String>,
    pub device: Option<(DeviceId, Option<String>)>,
    pub context: Option<String>,
}

/// Where a page of entries ends: its last (time, id).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EntryPosition {
    pub time_ms: i64,
    pub id: i64,
}

/// The WHERE clause of a filter over `log_entries e`, with its parameters
/// numbered from `$1`.
pub(crate) struct Where {
    pub(crate) sql: String,
    pub(crate) params: Vec<Param>,
}

pub(crate) enum Param {
    Text(String),
    Int(i64),
}

impl Where {
    pub(crate) fn new(org_id: OrgId, filter: &Filter, dialect: Dialect) -> Where {
        let mut w = Where {
            sql: String::from("e.org_id = $1"),
            params: vec![Param::Text(org_id.to_string())],
        };
        if filter.nothing {
            w.sql.push_str(" AND 1 = 0");
        }
        if let Some(from) = filter.from {
            w.and("e.time >= ", Param::Int(to_ms(from)));
        }
        if let Some(to) = filter.to {
            w.and("e.time < ", Param::Int(to_ms(to)));
        }
        if let Some(level) = filter.min_level.filter(|l| *l > 0) {
            w.and("e.level >= ", Param::Int(level));
        }
        if let Some(solution) = filter.solution {
            w.and("e.solution_id = ", Param::Text(solution.to_string()));
        }
        if let Some(visible) = &filter.visible_solutions {
            if visible.is_empty() {
                w.sql.push_str(" AND 1 = 0");
            } else {
                let first = w.params.len() + 1;
                w.sql.push_str(&format!(
                    " AND e.solution_id IN ({})",
                    batch::placeholders(first, visible.len())
                ));
                w.params
                    .extend(visible.iter().map(|s| Param::Text(s.to_string())));
            }
        }
        if let Some(user) = filter.user {
            w.and("e.user_id = ", Param::Text(user.to_string()));
        }
        if let Some(correlation) = &filter.correlation_id {
            w.and("e.correlation_id = ", Param::Text(correlation.clone()));
        }
        if let Some(category) = &filter.category {
            w.and("e.category = ", Param::Text(category.clone()));
        }
        if let Some(text) = &filter.text {
            let like = match dialect {
                Dialect::Sqlite => "e.message LIKE ",
                // Case folded for ASCII letters only, as SQLite's LIKE does:
                // twice as fast as folding by the database's locale.
                Dialect::Postgres => "e.message COLLATE \"C\" ILIKE ",
            };
            w.and(like, Param::Text(format!("%{}%", escape_like(text))));
            w.sql.push_str(" ESCAPE '\\'");
        }
        w
    }

    /// Entries after `position` in the order newest first.
    pub(crate) fn after(&mut self, position: EntryPosition) {
        let (t, i) = (self.next(), self.next() + 1);
        // The first bound is implied by the second; PostgreSQL needs it
        // spelled out to start the index scan there instead of at the top.
        self.sql.push_str(&format!(
            " AND e.time <= ${t} AND (e.time < ${t} OR (e.time = ${t} AND e.id < ${i}))"
        ));
        self.params.push(Param::Int(position.time_ms));
        self.params.push(Param::Int(position.id));
    }

    fn and(&mut self, condition: &str, param: Param) {
        self.params.push(param);
        self.sql
            .push_str(&format!(" AND {condition}${}", self.params.len()));
    }

    pub(crate) fn next(&self) -> usize {
        self.params.len() + 1
    }
}

fn escape_like(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if matches!(c, '%' | '_' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// Binds `params` to a read of entries. On PostgreSQL the statement is not
/// kept prepared: after five runs a kept one gets a generic plan, which
/// cannot know how selective a time range or a text is and picked a scan and
/// sort of the whole day (440 ms) where reading the time index newest first
/// stops after a page (1 ms). Planned with its values, each read plans in
/// about a millisecond.
pub(crate) fn bind<'q, O>(
    mut query: sqlx::query::QueryAs<'q, sqlx::Any, O, sqlx::any::AnyArguments<'q>>,
    params: Vec<Param>,
    dialect: Dialect,
) -> sqlx::query::QueryAs<'q, sqlx::Any, O, sqlx::any::AnyArguments<'q>> {
    query = query.persistent(dialect == Dialect::Sqlite);
    for param in params {
        query = match param {
            Param::Text(v) => query.bind(v),
            Param::Int(v) => query.bind(v),
        };
    }
    query
}

type EntryRow = (
    i64,
    i64,
    i64,
    i64,
    Option<String>,
    String,
    String,
    Option<String>,
    Option<String>,
    String,
    Option<String>,
    Option<String>,
    Option<String>,
    Option<String>,
);

/// Up to `limit` entries matching `filter`, newest first, after `after`.
pub async fn page(
    conn: &mut Conn,
    org_id: OrgId,
    filter: &Filter,
    after: Option<EntryPosition>,
    limit: i64,
) -> Result<Vec<Entry>> {
    let dialect = Dialect::of(conn);
    let mut w = Where::new(org_id, filter, dialect);
    if let Some(after) = after {
        w.after(after);
    }
    let sql = format!(
        "SELECT e.id, e.time, e.received_at, CAST(e.level AS BIGINT), e.category, e.message, e.correlation_id, \
                e.solution_id, s.name, e.user_id, u.email, e.device_id, d.name, e.context \
         FROM log_entries e \
         LEFT JOIN solutions s ON s.id = e.solution_id \
         LEFT JOIN users u ON u.id = e.user_id \
         LEFT JOIN devices d ON d.id = e.device_id \
         WHERE {} ORDER BY e.time DESC, e.id DESC LIMIT {}",
        w.sql,
        limit.max(0)
    );
    let rows = bind(sqlx::query_as::<_, EntryRow>(&sql), w.params, dialect)
        .fetch_all(&mut *conn)
        .await?;
    rows.into_iter().map(entry).collect()
}

fn entry(row: EntryRow) -> Result<Entry> {
    let (id, time, received, level, category, message, correlation_id) =
        (row.0, row.1, row.2, row.3, row.4, row.5, row.6);
    let solution = match row.7 {
        Some(id) => Some((parse_stored("log_entries.solution_id", &id)?, row.8)),
        None => None,
    };
    let device = match row.11 {
        Some(id) => Some((parse_stored("log_entries.device_id", &id)?, row.12)),
        None => None,
    };
    Ok(Entry {
        id,
        time: from_ms(time),
        received_at: from_ms(received),
        level,
        category,
        message,
        correlation_id,
        solution,
        user_id: parse_stored("log_entries.user_id", &row.9)?,
        user_email: row.10,
        device,
        context: row.13,
    })
}

/// Entries of `org_id` older than `before`, at most `limit` of them (the
/// oldest), deleted; returns how many. The batch is bounded by the position of
/// its last entry, so each batch reads only what it deletes.
pub async fn delete_older(
    conn: &mut Conn,
    org_id: OrgId,
    before: OffsetDateTime,
    limit: i64,
) -> Result<u64> {
    let last: Option<(i64, i64)> = sqlx::query_as(
        "SELECT time, id FROM log_entries WHERE org_id = $1 AND time < $2 \
         ORDER BY time, id LIMIT 1 OFFSET $3",
    )
    .bind(org_id.to_string())
    .bind(to_ms(before))
    .bind((limit - 1).max(0))
    .fetch_optional(&mut *conn)
    .await?;
    let done = match last {
        Some((time, id)) => {
            sqlx::query(
                "DELETE FROM log_entries WHERE org_id = $1 AND time <= $2 \
                 AND (time < $2 OR id <= $3)",
            )
            .bind(org_id.to_string())
            .bind(time)
            .bind(id)
            .execute(&mut *conn)
            .await?
        }
        None => {
            sqlx::query("DELETE FROM log_entries WHERE org_id = $1 AND time < $2")
                .bind(org_id.to_string())
                .bind(to_ms(before))
                .execute(&mut *conn)
                .await?
        }
    };
    Ok(done.rows_affected())
}

/// Each organization with its log retention in days.
pub async fn retentions(conn: &mut Conn) -> Result<Vec<(OrgId, i64)>> {
    let rows: Vec<(String, i64)> =
        sqlx::query_as("SELECT id, log_retention_days FROM organizations ORDER BY id")
            .fetch_all(&mut *conn)
            .await?;
    rows.into_iter()
        .map(|(id, days)| Ok((parse_stored("organizations.id", &id)?, days)))
        .collect()
}

/// The solutions of the organization among `ids` (to check what an app names).
pub async fn solutions_of_org(
    conn: &mut Conn,
    org_id: OrgId,
    ids: &[String],
) -> Result<Vec<String>> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let sql = format!(
        "SELECT id FROM solutions WHERE org_id = $1 AND id IN ({})",
        batch::placeholders(2, ids.len())
    );
    let mut query = sqlx::query_as::<_, (String,)>(&sql).bind(org_id.to_string());
    for id in ids {
        query = query.bind(id.clone());
    }
    Ok(query
        .fetch_all(&mut *conn)
        .await?
        .into_iter()
        .map(|(id,)| id)
        .collect())
}

/// The solutions where `user` holds one of `roles` (a creator's visible logs).
pub async fn solutions_with_roles(
    conn: &mut Conn,
    org_id: OrgId,
    user: UserId,
    roles: &[&str],
) -> Result<Vec<SolutionId>> {
    let sql = format!(
        "SELECT solution_id FROM solution_assignments WHERE org_id = $1 AND user_id = $2 \
         AND role IN ({}) ORDER BY solution_id",
        batch::placeholders(3, roles.len())
    );
    let mut query = sqlx::query_as::<_, (String,)>(&sql)
        .bind(org_id.to_string())
        .bind(user.to_string());
    for role in roles {
        query = query.bind(*role);
    }
    query
        .fetch_all(&mut *conn)
        .await?
        .into_iter()
        .map(|(id,)| parse_stored("solution_assignments.solution_id", &id))
        .collect()
}
