//! The rollup of one organization's day: its events summed per solution and
//! for the whole organization, and the set of people active in each.

use crate::batch::{self, Cell};
use crate::dialect::Dialect;
use crate::time_ms::to_ms;
use crate::{Conn, Result, StoreError};
use futures_util::TryStreamExt;
use muster_domain::usage::{Day, Kind, Metric};
use muster_domain::OrgId;
use roaring::RoaringBitmap;
use std::collections::{BTreeMap, BTreeSet};
use time::OffsetDateTime;

/// Custom event names kept per solution and day; the rest add up under
/// [`OTHER_NAMES`], so an app inventing names cannot grow the table without end.
pub const NAMES_PER_DAY: usize = 100;
/// Not a name an app may send (it has parentheses).
pub const OTHER_NAMES: &str = "(other)";

/// The [`NAMES_PER_DAY`] most counted names of each solution, the rest as one.
fn most_named(custom: BTreeMap<(String, String), i64>) -> BTreeMap<(String, String), i64> {
    let mut by_solution: BTreeMap<String, Vec<(String, i64)>> = BTreeMap::new();
    for ((solution, name), count) in custom {
        by_solution.entry(solution).or_default().push((name, count));
    }
    let mut kept = BTreeMap::new();
    for (solution, mut names) in by_solution {
        names.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
        let rest: i64 = names.iter().skip(NAMES_PER_DAY).map(|(_, c)| c).sum();
        for (name, count) in names.into_iter().take(NAMES_PER_DAY) {
            kept.insert((solution.clone(), name), count);
        }
        if rest > 0 {
            kept.insert((solution, OTHER_NAMES.to_owned()), rest);
        }
    }
    kept
}

/// The organization's own row, beside one per solution.
pub const WHOLE_ORG: &str = "";

#[derive(Default)]
struct Figures {
    counts: [i64; Metric::ALL.len()],
    active: RoaringBitmap,
}

/// An organization's day as its events say, read without holding the writer:
/// the sums per solution, kind and name, and who was active where.
pub struct DayEvents {
    sums: Vec<(Option<String>, String, Option<String>, i64)>,
    /// (solution, person's number) for people numbered already.
    active: Vec<(String, i64)>,
    /// (solution, person) for people who have no number yet.
    unnumbered: Vec<(String, String)>,
}

/// Reads the organization's day from its raw events, on a read connection
/// (under SQLite, a snapshot beside the one writer, which a day of events to
/// sum would otherwise hold for as long as the day is large). `None` when the
/// day has no events (none came, or retention took them): its rows stay.
pub async fn read_day(conn: &mut Conn, org_id: OrgId, day: Day) -> Result<Option<DayEvents>> {
    // One pass over the day's rows, summed and deduplicated here: a GROUP BY
    // or DISTINCT would have SQLite sort the whole day in memory (held by the
    // allocator afterwards, so the server grew with the day), while this
    // holds one entry per solution, kind and name, and per active person.
    let mut sums: BTreeMap<(Option<String>, String, Option<String>), i64> = BTreeMap::new();
    let mut people: BTreeSet<(String, String)> = BTreeSet::new();
    {
        let mut rows = sqlx::query_as::<_, Row>(
            "SELECT solution_id, kind, name, count, user_id FROM usage_events \
             WHERE org_id = $1 AND day = $2",
        )
        .bind(org_id.to_string())
        .bind(day.0)
        .fetch(&mut *conn);
        while let Some((solution, kind, name, count, user)) = rows.try_next().await? {
            if let Some(user) = user {
                if Kind::parse(&kind).is_some_and(Kind::is_activity) {
                    people.insert((solution.clone().unwrap_or_default(), user));
                }
            }
            let sum = sums.entry((solution, kind, name)).or_default();
            *sum = sum.saturating_add(count);
        }
    }
    if let Some(sql) = Dialect::of(conn).release_cache_sql() {
        sqlx::query(sql).execute(&mut *conn).await?;
    }
    if sums.is_empty() {
        return Ok(None);
    }
    let numbers = numbers_of(conn, &people).await?;
    let mut active = Vec::new();
    let mut unnumbered = Vec::new();
    for (solution, user) in people {
        match numbers.get(&user) {
            Some(ordinal) => active.push((solution, *ordinal)),
            None => unnumbered.push((solution, user)),
        }
    }
    Ok(Some(DayEvents {
        sums: sums
            .into_iter()
            .map(|((solution, kind, name), sum)| (solution, kind, name, sum))
            .collect(),
        active,
        unnumbered,
    }))
}

/// A raw event as the rollup reads it: solution, kind, name, count, person.
type Row = (Option<String>, String, Option<String>, i64, Option<String>);

/// The numbers of the people of `people` who have one.
async fn numbers_of(
    conn: &mut Conn,
    people: &BTreeSet<(String, String)>,
) -> Result<BTreeMap<String, i64>> {
    let users: Vec<&str> = people
        .iter()
        .map(|(_, user)| user.as_str())
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    let mut numbers = BTreeMap::new();
    for chunk in users.chunks(PEOPLE_PER_STATEMENT) {
        let select = format!(
            "SELECT user_id, ordinal FROM usage_people WHERE user_id IN ({})",
            batch::placeholders(1, chunk.len())
        );
        let mut query = sqlx::query_as::<_, (String, i64)>(&select);
        for user in chunk {
            query = query.bind(*user);
        }
        numbers.extend(query.fetch_all(&mut *conn).await?);
    }
    Ok(numbers)
}

/// People per statement when numbering the day's newcomers.
const PEOPLE_PER_STATEMENT: usize = 500;

/// Numbers the people of `unnumbered` who have no number yet (and still an
/// account), and returns them as (solution, number).
async fn number_people(
    conn: &mut Conn,
    unnumbered: Vec<(String, String)>,
) -> Result<Vec<(String, i64)>> {
    if unnumbered.is_empty() {
        return Ok(Vec::new());
    }
    let people: Vec<&str> = unnumbered
        .iter()
        .map(|(_, user)| user.as_str())
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    let mut numbers = BTreeMap::new();
    for chunk in people.chunks(PEOPLE_PER_STATEMENT) {
        let list = batch::placeholders(1, chunk.len());
        // On PostgreSQL a conflicting row would still use up a number of the
        // identity, so only the ones read as unnumbered come here.
        let insert = format!(
            "INSERT INTO usage_people (user_id) SELECT id FROM users WHERE id IN ({list}) \
             ON CONFLICT (user_id) DO NOTHING"
        );
        let mut query = sqlx::query(&insert);
        for user in chunk {
            query = query.bind(*user);
        }
        query.execute(&mut *conn).await?;
        let select = format!("SELECT user_id, ordinal FROM usage_people WHERE user_id IN ({list})");
        let mut query = sqlx::query_as::<_, (String, i64)>(&select);
        for user in chunk {
            query = query.bind(*user);
        }
        numbers.extend(query.fetch_all(&mut *conn).await?);
    }
    // A person whose account went meanwhile is no longer counted.
    Ok(unnumbered
        .into_iter()
        .filter_map(|(solution, user)| numbers.get(&user).map(|n| (solution, *n)))
        .collect())
}

/// Rewrites the organization's figures for `day` from what [`read_day`] read,
/// in the caller's (short) write transaction; running it again gives the same
/// rows.
pub async fn write_day(
    conn: &mut Conn,
    org_id: OrgId,
    day: Day,
    events: DayEvents,
    now: OffsetDateTime,
) -> Result<()> {
    if let Some(sql) = Dialect::of(conn).usage_rollup_lock_sql() {
        sqlx::query(sql).execute(&mut *conn).await?;
    }
    let org = org_id.to_string();
    let DayEvents {
        sums,
        mut active,
        unnumbered,
    } = events;
    active.extend(number_people(conn, unnumbered).await?);

    let mut figures: BTreeMap<String, Figures> = BTreeMap::new();
    let mut custom: BTreeMap<(String, String), i64> = BTreeMap::new();
    figures.entry(WHOLE_ORG.to_owned()).or_default();
    for (solution, kind, name, sum) in sums {
        let solution = solution.unwrap_or_default();
        let Some(kind) = Kind::parse(&kind) else {
            continue;
        };
        let metric = kind.metric().index();
        if solution != WHOLE_ORG {
            figures.entry(solution.clone()).or_default().counts[metric] += sum;
        }
        if let Some(whole) = figures.get_mut(WHOLE_ORG) {
            whole.counts[metric] += sum;
        }
        if let (Kind::Custom, Some(name)) = (kind, name) {
            if solution != WHOLE_ORG {
                *custom.entry((solution, name.clone())).or_default() += sum;
            }
            *custom.entry((WHOLE_ORG.to_owned(), name)).or_default() += sum;
        }
    }
    for (solution, ordinal) in active {
        let ordinal = u32::try_from(ordinal).map_err(|_| {
            StoreError::Corrupt(format!("usage_people.ordinal {ordinal} is past 32 bits"))
        })?;
        if solution != WHOLE_ORG {
            figures.entry(solution).or_default().active.insert(ordinal);
        }
        if let Some(whole) = figures.get_mut(WHOLE_ORG) {
            whole.active.insert(ordinal);
        }
    }

    for table in ["usage_daily", "usage_custom_daily"] {
        sqlx::query(&format!(
            "DELETE FROM {table} WHERE org_id = $1 AND day = $2"
        ))
        .bind(&org)
        .bind(day.0)
        .execute(&mut *conn)
        .await?;
    }
    let mut columns = vec!["org_id", "solution_id", "day"];
    columns.extend(Metric::ALL.iter().map(|m| m.as_str()));
    columns.extend(["active", "rolled_at"]);
    let mut rows = Vec::with_capacity(figures.len());
    for (solution, mut f) in figures {
        f.counts[Metric::ActiveUsers.index()] = i64::try_from(f.active.len()).unwrap_or(i64::MAX);
        let mut bytes = Vec::with_capacity(f.active.serialized_size());
        f.active
            .serialize_into(&mut bytes)
            .map_err(|e| StoreError::Corrupt(format!("a set of active people: {e}")))?;
        let mut row = vec![
            Cell::Text(org.clone()),
            Cell::Text(solution),
            Cell::Int(day.0),
        ];
        row.extend(f.counts.iter().map(|c| Cell::Int(*c)));
        row.extend([Cell::Bytes(bytes), Cell::Int(to_ms(now))]);
        rows.push(row);
    }
    batch::insert(conn, "usage_daily", &columns, rows).await?;
    let custom_rows = most_named(custom)
        .into_iter()
        .map(|((solution, name), count)| {
            vec![
                Cell::Text(org.clone()),
                Cell::Text(solution),
                Cell::Int(day.0),
                Cell::Text(name),
                Cell::Int(count),
            ]
        })
        .collect();
    batch::insert(
        conn,
        "usage_custom_daily",
        &["org_id", "solution_id", "day", "name", "count"],
        custom_rows,
    )
    .await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_past_the_most_counted_add_up_as_other() {
        let mut custom = BTreeMap::new();
        for i in 0..(NAMES_PER_DAY + 5) {
            let count = i64::try_from(i).unwrap_or(0) + 1;
            custom.insert((String::new(), format!("n{i:03}")), count);
        }
        custom.insert(("s".to_owned(), "one".to_owned()), 7);
        let kept = most_named(custom);
        assert_eq!(
            kept.len(),
            NAMES_PER_DAY + 2,
            "100 names and (other) for the org, one for s"
        );
        // The five least counted (1 to 5) are one row.
        assert_eq!(
            kept.get(&(String::new(), OTHER_NAMES.to_owned())),
            Some(&15)
        );
        assert_eq!(kept.get(&(String::new(), "n104".to_owned())), Some(&105));
        assert_eq!(kept.get(&("s".to_owned(), "one".to_owned())), Some(&7));
    }
}
