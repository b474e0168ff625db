//! Reading the daily figures, and counting raw events over a recent span.

use crate::batch;
use crate::time_ms::to_ms;
use crate::{Conn, Result, StoreError};
use muster_domain::usage::{Day, Kind, Metric};
use muster_domain::OrgId;
use roaring::RoaringBitmap;
use sqlx::Row;
use time::OffsetDateTime;

/// A day's figures for the organization (`solution_id` empty) or a solution.
#[derive(Debug, Clone, PartialEq)]
pub struct DailyRow {
    pub solution_id: String,
    pub day: Day,
    /// In the order of [`Metric::ALL`].
    pub counts: [i64; Metric::ALL.len()],
    /// The people active that day.
    pub active: RoaringBitmap,
}

/// Keys per statement, well under both databases' parameter limits.
const KEYS_PER_READ: usize = 500;

/// The rows of `solutions` (`""` is the whole organization) from `from` to
/// `to`, by day.
pub async fn daily(
    conn: &mut Conn,
    org_id: OrgId,
    solutions: &[String],
    from: Day,
    to: Day,
) -> Result<Vec<DailyRow>> {
    let metrics: Vec<&str> = Metric::ALL.iter().map(|m| m.as_str()).collect();
    let mut rows = Vec::new();
    for keys in solutions.chunks(KEYS_PER_READ) {
        let sql = format!(
            "SELECT solution_id, day, {}, active FROM usage_daily \
             WHERE org_id = $1 AND day >= $2 AND day <= $3 AND solution_id IN ({}) ORDER BY day",
            metrics.join(", "),
            batch::placeholders(4, keys.len())
        );
        let mut query = sqlx::query(&sql)
            .bind(org_id.to_string())
            .bind(from.0)
            .bind(to.0);
        for key in keys {
            query = query.bind(key);
        }
        for row in query.fetch_all(&mut *conn).await? {
            let mut counts = [0; Metric::ALL.len()];
            for (i, count) in counts.iter_mut().enumerate() {
                *count = row.try_get(i + 2)?;
            }
            let bytes: Vec<u8> = row.try_get(Metric::ALL.len() + 2)?;
            let active = RoaringBitmap::deserialize_from(bytes.as_slice())
                .map_err(|e| StoreError::Corrupt(format!("usage_daily.active: {e}")))?;
            rows.push(DailyRow {
                solution_id: row.try_get(0)?,
                day: Day(row.try_get(1)?),
                counts,
                active,
            });
        }
    }
    rows.sort_by_key(|r| r.day);
    Ok(rows)
}

/// The custom events of `solutions` from `from` to `to` by name, most first,
/// at most `limit`.
pub async fn custom_totals(
    conn: &mut Conn,
    org_id: OrgId,
    solutions: &[String],
    from: Day,
    to: Day,
    limit: i64,
) -> Result<Vec<(String, i64)>> {
    let mut totals: std::collections::BTreeMap<String, i64> = Default::default();
    for keys in solutions.chunks(KEYS_PER_READ) {
        let sql = format!(
            "SELECT name, CAST(SUM(count) AS BIGINT) FROM usage_custom_daily \
             WHERE org_id = $1 AND day >= $2 AND day <= $3 AND solution_id IN ({}) GROUP BY name",
            batch::placeholders(4, keys.len())
        );
        let mut query = sqlx::query_as::<_, (String, i64)>(&sql)
            .bind(org_id.to_string())
            .bind(from.0)
            .bind(to.0);
        for key in keys {
            query = query.bind(key);
        }
        for (name, count) in query.fetch_all(&mut *conn).await? {
            *totals.entry(name).or_default() += count;
        }
    }
    let mut totals: Vec<(String, i64)> = totals.into_iter().collect();
    totals.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    totals.truncate(usize::try_from(limit).unwrap_or(0));
    Ok(totals)
}

/// The organization's raw events of `kind` in the day from `since` (the
/// Overview's last 24 hours), in `solutions` if given: each of the two days it
/// touches is one equality on the index's (org, day, kind), so only that
/// kind's entries are read.
pub async fn counted_since(
    conn: &mut Conn,
    org_id: OrgId,
    kind: Kind,
    since: OffsetDateTime,
    solutions: Option<&[String]>,
) -> Result<i64> {
    let filter = match solutions {
        None => String::new(),
        Some([]) => return Ok(0),
        Some(keys) => format!(
            " AND solution_id IN ({})",
            batch::placeholders(6, keys.len())
        ),
    };
    let sql = format!(
        "SELECT CAST(COALESCE(SUM(count), 0) AS BIGINT) FROM usage_events \
         WHERE org_id = $1 AND day IN ($2, $3) AND kind = $4 AND time >= $5{filter}"
    );
    let mut query = sqlx::query_as::<_, (i64,)>(&sql)
        .bind(org_id.to_string())
        .bind(Day::of(since).0)
        .bind(Day::of(since).plus(1).0)
        .bind(kind.as_str())
        .bind(to_ms(since));
    for key in solutions.unwrap_or_default() {
        query = query.bind(key);
    }
    Ok(query.fetch_one(&mut *conn).await?.0)
}
