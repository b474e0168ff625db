//! Reading usage: the window, interval and solution asked for, narrowed to
//! what the member may see, and the figures of its periods from the daily
//! rollup (active users as a union of each day's people, never a sum).

use crate::error::{AppError, AppResult};
use crate::features::logs::reading::given;
use crate::scope::OrgScope;
use crate::state::AppState;
use muster_domain::permission::{Capability, Grant};
use muster_domain::usage::{self, Day, Interval, Metric, Window};
use muster_domain::{Invalid, SolutionId};
use muster_store::usage::{DailyRow, WHOLE_ORG};
use muster_store::{logs, solutions, Conn};
use roaring::RoaringBitmap;
use std::collections::BTreeMap;

/// Custom event names listed per read.
const CUSTOM_MAX: i64 = 20;

/// What a reader asked for, unchecked.
#[derive(Debug, Clone, Default)]
pub struct Asked {
    pub from: Option<String>,
    pub to: Option<String>,
    /// The last 7, 30 or 90 days (the web page's choices); `from`/`to` win.
    pub days: Option<i64>,
    pub solution: Option<String>,
    pub interval: Option<String>,
}

/// The rows a read covers.
#[derive(Debug, Clone, PartialEq)]
pub struct Selection {
    pub window: Window,
    pub interval: Interval,
    pub solution: Option<SolutionId>,
    /// The rollup rows to add up: the organization's, one solution's, or (for
    /// a creator) each of their solutions'.
    pub keys: Vec<String>,
    /// A creator's figures: their solutions only.
    pub restricted: bool,
}

/// The days of the window asked for: `from`/`to`, or the last `days` days up
/// to today (30 when nothing is asked).
pub fn window(asked: &Asked, today: Day, invalid: &mut Invalid) -> Option<Window> {
    let day = |field: &'static str, text: Option<&str>, invalid: &mut Invalid| {
        text.and_then(|t| {
            let parsed = usage::parse_day(t);
            if parsed.is_none() {
                invalid.push(field, "must be a date like 2026-12-04");
            }
            parsed
        })
    };
    let from = day("from", given(&asked.from), invalid);
    let to = day("to", given(&asked.to), invalid);
    if !invalid.is_empty() {
        return None;
    }
    let days = asked.days.unwrap_or(30);
    let to = to.unwrap_or(today);
    let from = from.unwrap_or_else(|| Window::last(days, to).from);
    match Window::new(from, to) {
        Ok(window) => Some(window),
        Err((field, message)) => {
            invalid.push(field, message);
            None
        }
    }
}

/// What `asked` names, narrowed to what the scope's member may read:
/// everything for owners and admins; for a creator the solutions where they
/// are solution owner, admin or editor (as for logs); `user` members get 403.
pub async fn select(conn: &mut Conn, scope: &OrgScope, asked: &Asked) -> AppResult<Selection> {
    let grant = scope.require(Capability::ViewUsageAndLogs)?;
    let mut invalid = Invalid::default();
    let interval = match given(&asked.interval) {
        None => Interval::Day,
        Some(text) => Interval::parse(text).unwrap_or_else(|| {
            invalid.push("interval", "must be day, week or month");
            Interval::Day
        }),
    };
    let solution = match given(&asked.solution) {
        None => None,
        Some(text) => match text.parse::<SolutionId>() {
            Ok(id) => Some(id),
            Err(_) => {
                invalid.push("solution", "must be a solution id");
                None
            }
        },
    };
    let window = window(asked, Day::of(scope.now), &mut invalid);
    let Some(window) = window.filter(|_| invalid.is_empty()) else {
        return Err(invalid.into());
    };
    if let Some(id) = solution {
        if solutions::find(conn, scope.org_id, id, scope.user_id())
            .await?
            .is_none()
        {
            return Err(AppError::NotFound);
        }
    }
    let (keys, restricted) = match (grant, solution) {
        (Grant::All, None) => (vec![WHOLE_ORG.to_owned()], false),
        (Grant::All, Some(id)) => (vec![id.to_string()], false),
        (_, asked_for) => {
            let visible = logs::solutions_with_roles(
                conn,
                scope.org_id,
                scope.user_id(),
                &["owner", "admin", "editor"],
            )
            .await?;
            match asked_for {
                Some(id) if !visible.contains(&id) => {
                    return Err(AppError::Denied(format!(
                        "you are not owner, admin or editor of solution {id}, so you cannot read its usage"
                    )))
                }
                Some(id) => (vec![id.to_string()], true),
                None => (visible.iter().map(|s| s.to_string()).collect(), true),
            }
        }
    };
    Ok(Selection {
        window,
        interval,
        solution,
        keys,
        restricted,
    })
}

/// One period's figures.
#[derive(Debug, Clone, PartialEq)]
pub struct Period {
    pub from: Day,
    pub to: Day,
    /// In the order of [`Metric::ALL`]; active users are distinct people.
    pub values: [i64; Metric::ALL.len()],
}

impl Period {
    pub fn value(&self, metric: Metric) -> i64 {
        self.values[metric.index()]
    }
}

/// Distinct people active on the last day of the window, in the 7 days and in
/// the 30 days ending with it.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Active {
    pub day: i64,
    pub week: i64,
    pub month: i64,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Usage {
    pub selection: Selection,
    pub periods: Vec<Period>,
    /// The whole window as one period.
    pub totals: Period,
    pub active: Active,
    /// Custom events by name, most first.
    pub custom: Vec<(String, i64)>,
}

/// The days of a read, each the sum of its rows (and the union of their
/// people).
pub struct Days(BTreeMap<Day, ([i64; Metric::ALL.len()], RoaringBitmap)>);

impl Days {
    pub fn of(rows: Vec<DailyRow>) -> Days {
        let mut days: BTreeMap<Day, ([i64; Metric::ALL.len()], RoaringBitmap)> = BTreeMap::new();
        for row in rows {
            let (counts, people) = days.entry(row.day).or_default();
            for (sum, count) in counts.iter_mut().zip(row.counts) {
                *sum += count;
            }
            *people |= row.active;
        }
        Days(days)
    }

    /// The figures of `from..=to`.
    pub fn period(&self, from: Day, to: Day) -> Period {
        let mut values = [0; Metric::ALL.len()];
        let mut people = RoaringBitmap::new();
        for (counts, active) in self.0.range(from..=to).map(|(_, v)| v) {
            for (sum, count) in values.iter_mut().zip(counts) {
                *sum += count;
            }
            people |= active;
        }
        values[Metric::ActiveUsers.index()] = i64::try_from(people.len()).unwrap_or(i64::MAX);
        Period { from, to, values }
    }

    pub fn active_in(&self, from: Day, to: Day) -> i64 {
        self.period(from, to).value(Metric::ActiveUsers)
    }
}

/// The daily rows of `keys` from `from` to `to`, added up by day.
pub async fn days(
    conn: &mut Conn,
    scope: &OrgScope,
    keys: &[String],
    from: Day,
    to: Day,
) -> AppResult<Days> {
    let rows = muster_store::usage::daily(conn, scope.org_id, keys, from, to).await?;
    Ok(Days::of(rows))
}

/// The usage the scope's member asked for.
pub async fn usage(state: &AppState, scope: &OrgScope, asked: &Asked) -> AppResult<Usage> {
    let mut conn = state.store.read().await?;
    let selection = select(&mut conn, scope, asked).await?;
    let Window { from, to } = selection.window;
    // A month back from the window's end, for its monthly active users.
    let read_from = from.min(to.plus(-29));
    let days = days(&mut conn, scope, &selection.keys, read_from, to).await?;
    let periods = selection
        .interval
        .periods(from, to)
        .into_iter()
        .map(|(first, last)| days.period(first, last))
        .collect();
    let custom = muster_store::usage::custom_totals(
        &mut conn,
        scope.org_id,
        &selection.keys,
        from,
        to,
        CUSTOM_MAX,
    )
    .await?;
    Ok(Usage {
        totals: days.period(from, to),
        active: Active {
            day: days.active_in(to, to),
            week: days.active_in(to.plus(-6), to),
            month: days.active_in(to.plus(-29), to),
        },
        periods,
        custom,
        selection,
    })
}
