//! Log entries: written in batches as apps send them, read newest first by a
//! filter, grouped by correlation ID, deleted past each organization's
//! retention. On PostgreSQL the table is partitioned by day (see
//! [`ensure_partitions`]).

use crate::batch::{self, Cell};
use crate::dialect::Dialect;
use crate::error::parse_stored;
use crate::time_ms::{from_ms, to_ms};
use crate::{Conn, Result};
use muster_domain::{DeviceId, OrgId, SolutionId, UserId};
use time::{Duration, OffsetDateTime};

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
struct Where {
    sql: String,
    params: Vec<Param>,
}

enum Param {
    Text(String),
    Int(i64),
}

impl Where {
    fn new(org_id: OrgId, filter: &Filter, dialect: Dialect) -> Where {
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
    fn after(&mut self, position: EntryPosition) {
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

    fn next(&self) -> usize {
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
fn bind<'q, O>(
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

/// The entries of one correlation ID in a selection, summed up.
#[derive(Debug, Clone)]
pub struct Correlation {
    pub correlation_id: String,
    pub entries: i64,
    pub first_at: OffsetDateTime,
    pub last_at: OffsetDateTime,
    pub highest_level: i64,
    pub user: Option<(UserId, Option<String>)>,
    pub solution: Option<(SolutionId, Option<String>)>,
}

/// Where a page of correlations ends: its last (last_at, correlation ID), and
/// for a page cut short by the scan's bound, where the scan stopped.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CorrelationPosition {
    pub last_ms: i64,
    pub correlation_id: String,
    /// The next page reads the entries before this millisecond.
    pub scan_before_ms: Option<i64>,
}

/// A page of correlation IDs and where the next one starts.
#[derive(Debug, Clone)]
pub struct CorrelationPage {
    pub items: Vec<Correlation>,
    pub next: Option<CorrelationPosition>,
}

type CorrelationRow = (
    String,
    i64,
    i64,
    i64,
    i64,
    Option<String>,
    Option<String>,
    Option<String>,
    Option<String>,
);

/// Entries read per step of the correlation scan.
const SCAN_CHUNK: i64 = 1000;
/// Entries one page reads at most; a page that needs more (few IDs over many
/// entries) ends early and the next goes on from there.
const SCAN_MAX: usize = 50_000;
/// Correlation IDs summed up per statement.
const SUM_CHUNK: usize = 200;
/// Correlation IDs the scan remembers having summed up; past it, one may be
/// summed up again (and is kept once).
const SEEN_MAX: usize = 100_000;

/// Up to `limit` correlation IDs of the entries matching `filter`, the most
/// recently active first, after `after`.
///
/// Grouping the whole selection would cost its every row (a third of a million
/// for a day at 10 million a month); instead the entries are read newest first,
/// as a page of entries is, and each correlation ID is summed up the first time
/// it is met, through the correlation index. The first meeting is at its latest
/// entry, so the order of meeting is the order of the list, and a page costs
/// about as many rows as its correlations have entries, at most [`SCAN_MAX`].
pub async fn correlations(
    conn: &mut Conn,
    org_id: OrgId,
    filter: &Filter,
    after: Option<CorrelationPosition>,
    limit: i64,
) -> Result<CorrelationPage> {
    if let Some(id) = &filter.correlation_id {
        // One ID: summed up directly, whatever the range.
        let items = match after {
            Some(_) => Vec::new(),
            None => sum_up(conn, org_id, filter, std::slice::from_ref(id)).await?,
        };
        return Ok(CorrelationPage { items, next: None });
    }
    let wanted = usize::try_from(limit.max(1)).unwrap_or(1);
    let is_after = |c: &Correlation| match &after {
        None => true,
        Some(a) => {
            let last = to_ms(c.last_at);
            last < a.last_ms || (last == a.last_ms && c.correlation_id < a.correlation_id)
        }
    };
    let mut position = after.as_ref().map(|a| match a.scan_before_ms {
        Some(ms) => EntryPosition {
            time_ms: ms,
            id: i64::MIN,
        },
        // Entries at the cursor's own millisecond may belong to this page.
        None => EntryPosition {
            time_ms: a.last_ms,
            id: i64::MAX,
        },
    });
    let mut seen: std::collections::HashSet<String> = std::collections::HashSet::new();
    let mut found: Vec<Correlation> = Vec::new();
    let mut scanned = 0;
    // Once over the bound, the scan only finishes the millisecond it is in,
    // so that no ID is met on two pages.
    let mut cut_at: Option<i64> = None;
    let newest_first = |a: &Correlation, b: &Correlation| {
        (b.last_at, &b.correlation_id).cmp(&(a.last_at, &a.correlation_id))
    };
    loop {
        let rows = scan(conn, org_id, filter, position, SCAN_CHUNK).await?;
        let exhausted = rows.len() < usize::try_from(SCAN_CHUNK).unwrap_or(0);
        let mut fresh = Vec::new();
        let mut left_the_millisecond = false;
        for (correlation_id, time_ms, id) in rows {
            if cut_at.is_some_and(|ms| time_ms < ms) {
                left_the_millisecond = true;
                break;
            }
            scanned += 1;
            position = Some(EntryPosition { time_ms, id });
            if seen.len() >= SEEN_MAX {
                seen.clear();
            }
            if seen.insert(correlation_id.clone())
                && !found.iter().any(|c| c.correlation_id == correlation_id)
            {
                fresh.push(correlation_id);
            }
        }
        for chunk in fresh.chunks(SUM_CHUNK) {
            let sums = sum_up(conn, org_id, filter, chunk).await?;
            found.extend(sums.into_iter().filter(|c| is_after(c)));
        }
        if exhausted || left_the_millisecond {
            break;
        }
        if found.len() > wanted {
            found.sort_by(newest_first);
            // Unmet IDs end no later than the scan's position: once it is
            // before the last one the page needs, none of them can come first.
            let boundary = to_ms(found[wanted].last_at);
            if position.is_some_and(|p| p.time_ms < boundary) {
                break;
            }
        }
        if cut_at.is_none() && scanned >= SCAN_MAX {
            cut_at = position.map(|p| p.time_ms);
        }
    }
    found.sort_by(newest_first);
    if found.len() > wanted {
        found.truncate(wanted);
        let next = found.last().map(|c| CorrelationPosition {
            last_ms: to_ms(c.last_at),
            correlation_id: c.correlation_id.clone(),
            scan_before_ms: None,
        });
        return Ok(CorrelationPage { items: found, next });
    }
    // Cut short: every ID not met yet ends before the millisecond the scan
    // finished, so the next page reads on from there.
    let next = cut_at.map(|ms| {
        let (last_ms, correlation_id) = match (found.last(), &after) {
            (Some(c), _) => (to_ms(c.last_at), c.correlation_id.clone()),
            (None, Some(a)) => (a.last_ms, a.correlation_id.clone()),
            (None, None) => (i64::MAX, String::new()),
        };
        CorrelationPosition {
            last_ms,
            correlation_id,
            scan_before_ms: Some(ms),
        }
    });
    Ok(CorrelationPage { items: found, next })
}

/// The next entries of a selection, newest first: their correlation IDs and positions.
async fn scan(
    conn: &mut Conn,
    org_id: OrgId,
    filter: &Filter,
    after: Option<EntryPosition>,
    limit: i64,
) -> Result<Vec<(String, i64, i64)>> {
    let dialect = Dialect::of(conn);
    let mut w = Where::new(org_id, filter, dialect);
    if let Some(after) = after {
        w.after(after);
    }
    let sql = format!(
        "SELECT e.correlation_id, e.time, e.id FROM log_entries e WHERE {} \
         ORDER BY e.time DESC, e.id DESC LIMIT {}",
        w.sql,
        limit.max(0)
    );
    Ok(bind(
        sqlx::query_as::<_, (String, i64, i64)>(&sql),
        w.params,
        dialect,
    )
    .fetch_all(&mut *conn)
    .await?)
}

/// Each of `ids` summed up over the entries of the selection.
async fn sum_up(
    conn: &mut Conn,
    org_id: OrgId,
    filter: &Filter,
    ids: &[String],
) -> Result<Vec<Correlation>> {
    let dialect = Dialect::of(conn);
    let mut w = Where::new(org_id, filter, dialect);
    let first = w.next();
    w.sql.push_str(&format!(
        " AND e.correlation_id IN ({})",
        batch::placeholders(first, ids.len())
    ));
    w.params
        .extend(ids.iter().map(|id| Param::Text(id.clone())));
    let sql = format!(
        "SELECT c.correlation_id, c.entries, c.first_at, c.last_at, c.highest_level, \
                c.user_id, u.email, c.solution_id, s.name \
         FROM (SELECT e.correlation_id, COUNT(*) AS entries, MIN(e.time) AS first_at, \
                      MAX(e.time) AS last_at, CAST(MAX(e.level) AS BIGINT) AS highest_level, \
                      MIN(e.user_id) AS user_id, MIN(e.solution_id) AS solution_id \
               FROM log_entries e WHERE {} GROUP BY e.correlation_id) c \
         LEFT JOIN users u ON u.id = c.user_id \
         LEFT JOIN solutions s ON s.id = c.solution_id",
        w.sql
    );
    let rows = bind(sqlx::query_as::<_, CorrelationRow>(&sql), w.params, dialect)
        .fetch_all(&mut *conn)
        .await?;
    rows.into_iter()
        .map(|row| {
            let user = match row.5 {
                Some(id) => Some((parse_stored("log_entries.user_id", &id)?, row.6)),
                None => None,
            };
            let solution = match row.7 {
                Some(id) => Some((parse_stored("log_entries.solution_id", &id)?, row.8)),
                None => None,
            };
            Ok(Correlation {
                correlation_id: row.0,
                entries: row.1,
                first_at: from_ms(row.2),
                last_at: from_ms(row.3),
                highest_level: row.4,
                user,
                solution,
            })
        })
        .collect()
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

/// The day (days since the Unix epoch, UTC) of a time: the partition it goes to.
pub fn day_of(at: OffsetDateTime) -> i64 {
    to_ms(at).div_euclid(86_400_000)
}

fn partition_name(day: i64) -> String {
    format!("log_entries_d{day}")
}

/// PostgreSQL: makes sure the partitions of `days` exist. Instances may do this
/// at once: a transaction-scoped advisory lock lets one create each day (and
/// goes with the transaction, however it ends), the others find it made. A day
/// is made as a table of its own and then attached, which locks the parent
/// only against other schema changes, so reads and inserts go on meanwhile.
pub async fn ensure_partitions(conn: &mut Conn, days: &[i64]) -> Result<()> {
    use sqlx::Connection;
    if Dialect::of(conn) != Dialect::Postgres || days.is_empty() {
        return Ok(());
    }
    let mut tx = conn.begin().await?;
    // 0x6c6f6773 = "logs": one lock for every partition change.
    sqlx::query("SELECT pg_advisory_xact_lock(1819240307)")
        .execute(&mut *tx)
        .await?;
    sqlx::query("SET LOCAL lock_timeout = '10s'")
        .execute(&mut *tx)
        .await?;
    for &day in days {
        let name = partition_name(day);
        let (attached,): (i64,) = sqlx::query_as(
            "SELECT COUNT(*) FROM pg_inherits \
             WHERE inhparent = 'log_entries'::regclass AND inhrelid = to_regclass($1)",
        )
        .bind(&name)
        .fetch_one(&mut *tx)
        .await?;
        if attached > 0 {
            continue;
        }
        sqlx::query(&format!(
            "CREATE TABLE IF NOT EXISTS {name} (LIKE log_entries INCLUDING DEFAULTS INCLUDING CONSTRAINTS)"
        ))
        .execute(&mut *tx)
        .await?;
        sqlx::query(&format!(
            "ALTER TABLE log_entries ATTACH PARTITION {name} FOR VALUES FROM ({}) TO ({})",
            day * 86_400_000,
            (day + 1) * 86_400_000
        ))
        .execute(&mut *tx)
        .await?;
    }
    tx.commit().await?;
    Ok(())
}

/// PostgreSQL: drops the partitions of days wholly before `before`; returns
/// the days dropped. Each is detached concurrently first (reads and inserts
/// of other days go on), then dropped on its own.
pub async fn drop_partitions_before(conn: &mut Conn, before: OffsetDateTime) -> Result<Vec<i64>> {
    if Dialect::of(conn) != Dialect::Postgres {
        return Ok(Vec::new());
    }
    let parts: Vec<(String, bool)> = sqlx::query_as(
        "SELECT c.relname::text, i.inhdetachpending FROM pg_inherits i \
         JOIN pg_class c ON c.oid = i.inhrelid WHERE i.inhparent = 'log_entries'::regclass",
    )
    .fetch_all(&mut *conn)
    .await?;
    let last = day_of(before);
    let mut dropped = Vec::new();
    for (name, pending) in parts {
        let Some(day) = name
            .strip_prefix("log_entries_d")
            .and_then(|d| d.parse::<i64>().ok())
        else {
            continue;
        };
        // The partition of `day` ends at the start of `day + 1`.
        if day >= last {
            continue;
        }
        // A detach cut short (a crash) is finished instead of begun again.
        let detach = if pending { "FINALIZE" } else { "CONCURRENTLY" };
        sqlx::query(&format!(
            "ALTER TABLE log_entries DETACH PARTITION {name} {detach}"
        ))
        .execute(&mut *conn)
        .await?;
        sqlx::query(&format!("DROP TABLE IF EXISTS {name}"))
            .execute(&mut *conn)
            .await?;
        dropped.push(day);
    }
    Ok(dropped)
}

/// PostgreSQL: makes the planner's statistics of a day's partition anew.
pub async fn refresh_statistics(conn: &mut Conn, day: i64) -> Result<()> {
    sqlx::query(&format!("ANALYZE {}", partition_name(day)))
        .execute(&mut *conn)
        .await?;
    Ok(())
}

/// Whether a write failed because its day has no partition (dropped by
/// another instance after this one remembered it).
pub fn is_missing_partition(error: &crate::StoreError) -> bool {
    error.to_string().contains("no partition of relation")
}

/// A temporary logging level for one member.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Override {
    pub level: String,
    pub until: OffsetDateTime,
}

pub async fn set_override(
    conn: &mut Conn,
    org_id: OrgId,
    user_id: UserId,
    level: &str,
    until: OffsetDateTime,
) -> Result<()> {
    sqlx::query(
        "INSERT INTO log_level_overrides (org_id, user_id, level, until) VALUES ($1, $2, $3, $4) \
         ON CONFLICT (org_id, user_id) DO UPDATE SET level = $3, until = $4",
    )
    .bind(org_id.to_string())
    .bind(user_id.to_string())
    .bind(level)
    .bind(to_ms(until))
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// Ends a member's override; whether there was one.
pub async fn clear_override(conn: &mut Conn, org_id: OrgId, user_id: UserId) -> Result<bool> {
    let done = sqlx::query("DELETE FROM log_level_overrides WHERE org_id = $1 AND user_id = $2")
        .bind(org_id.to_string())
        .bind(user_id.to_string())
        .execute(&mut *conn)
        .await?;
    Ok(done.rows_affected() > 0)
}

/// The member's override still in force at `now`.
pub async fn find_override(
    conn: &mut Conn,
    org_id: OrgId,
    user_id: UserId,
    now: OffsetDateTime,
) -> Result<Option<Override>> {
    let row: Option<(String, i64)> = sqlx::query_as(
        "SELECT level, until FROM log_level_overrides WHERE org_id = $1 AND user_id = $2 AND until > $3",
    )
    .bind(org_id.to_string())
    .bind(user_id.to_string())
    .bind(to_ms(now))
    .fetch_optional(&mut *conn)
    .await?;
    Ok(row.map(|(level, until)| Override {
        level,
        until: from_ms(until),
    }))
}

pub async fn delete_expired_overrides(conn: &mut Conn, now: OffsetDateTime) -> Result<u64> {
    let done = sqlx::query("DELETE FROM log_level_overrides WHERE until <= $1")
        .bind(to_ms(now))
        .execute(&mut *conn)
        .await?;
    Ok(done.rows_affected())
}

/// Counts `entries` more for `key` in the minute of `now` and returns the
/// minute's total so far (this call included). The caller refuses the call
/// when it is over the limit and rolls back, so a refused call counts nothing.
pub async fn count_sent(
    conn: &mut Conn,
    key: &str,
    entries: i64,
    now: OffsetDateTime,
) -> Result<i64> {
    let window = to_ms(now).div_euclid(60_000) * 60_000;
    let (total,): (i64,) = sqlx::query_as(
        "INSERT INTO log_rate (key, window_start, entries) VALUES ($1, $2, $3) \
         ON CONFLICT (key) DO UPDATE SET \
           entries = CASE WHEN log_rate.window_start < $2 THEN $3 ELSE log_rate.entries + $3 END, \
           window_start = CASE WHEN log_rate.window_start < $2 THEN $2 ELSE log_rate.window_start END \
         RETURNING entries",
    )
    .bind(key)
    .bind(window)
    .bind(entries)
    .fetch_one(&mut *conn)
    .await?;
    Ok(total)
}

/// Seconds from `now` until the rate window of `now` ends.
pub fn rate_window_left(now: OffsetDateTime) -> u64 {
    let ms = to_ms(now).rem_euclid(60_000);
    u64::try_from((60_000 - ms + 999) / 1000).unwrap_or(60)
}

pub async fn delete_old_rates(conn: &mut Conn, now: OffsetDateTime) -> Result<u64> {
    let done = sqlx::query("DELETE FROM log_rate WHERE window_start < $1")
        .bind(to_ms(now - Duration::minutes(2)))
        .execute(&mut *conn)
        .await?;
    Ok(done.rows_affected())
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
