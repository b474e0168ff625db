//! The correlation IDs of a selection, the most recently active first, read
//! as the entries are met newest first (see [`correlations`]).

use super::{bind, EntryPosition, Filter, Param, Where};
use crate::batch;
use crate::dialect::Dialect;
use crate::error::parse_stored;
use crate::time_ms::{from_ms, to_ms};
use crate::{Conn, Result};
use muster_domain::{OrgId, SolutionId, UserId};
use time::OffsetDateTime;

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
