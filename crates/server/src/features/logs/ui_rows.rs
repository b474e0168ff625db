//! What the log pages share: an entry and a correlation as table rows (an
//! entry with every field of its side panel), the range buttons, the time
//! inputs of a custom range, and the latest entries a solution's or a
//! member's page shows.

use super::reading::{self, Asked};
use super::views::{rfc3339, CorrelationView, EntryView};
use crate::error::AppResult;
use crate::http::ui::error::urlencode;
use crate::page::PageQuery;
use crate::scope::OrgScope;
use crate::state::AppState;
use minijinja::{context, Value};
use muster_domain::log::{named_range, parse_time, Level};
use muster_domain::UserId;
use muster_store::logs::{Correlation, Entry};
use time::macros::format_description;
use time::{OffsetDateTime, PrimitiveDateTime, UtcOffset};

/// The range buttons, in the order they show: (value of `range`, label).
pub const RANGE_BUTTONS: [(&str, &str); 5] = [
    ("hour", "Last hour"),
    ("day", "Last day"),
    ("week", "Last week"),
    ("month", "Last month"),
    ("custom", "Custom"),
];

/// How many entries a solution's or a member's page shows.
pub const LATEST: i64 = 10;

/// A time to the second, as the tables show it.
pub fn clock(at: OffsetDateTime) -> String {
    at.to_offset(UtcOffset::UTC)
        .format(format_description!(
            "[year]-[month]-[day] [hour]:[minute]:[second] UTC"
        ))
        .unwrap_or_else(|_| rfc3339(at))
}

/// A time to the second without the zone, for table cells whose heading says UTC.
pub fn cell_time(at: OffsetDateTime) -> String {
    at.to_offset(UtcOffset::UTC)
        .format(format_description!(
            "[year]-[month]-[day] [hour]:[minute]:[second]"
        ))
        .unwrap_or_else(|_| rfc3339(at))
}

/// The value of an `<input type="datetime-local">` (read as UTC) for `at`.
pub fn local_input(at: OffsetDateTime) -> String {
    at.to_offset(UtcOffset::UTC)
        .format(format_description!(
            "[year]-[month]-[day]T[hour]:[minute]:[second]"
        ))
        .unwrap_or_default()
}

/// A time of the custom range as the API takes it: RFC 3339 as it is, a
/// `datetime-local` value (`2026-12-04T09:30`, seconds optional) read as UTC.
/// Anything else is passed on, so that the service names the field.
pub fn time_param(raw: &str) -> String {
    let raw = raw.trim();
    if raw.is_empty() || parse_time(raw).is_some() {
        return raw.to_owned();
    }
    let minutes = format_description!("[year]-[month]-[day]T[hour]:[minute]");
    let seconds = format_description!("[year]-[month]-[day]T[hour]:[minute]:[second]");
    PrimitiveDateTime::parse(raw, &seconds)
        .or_else(|_| PrimitiveDateTime::parse(raw, &minutes))
        .map(|at| rfc3339(at.assume_utc()))
        .unwrap_or_else(|_| raw.to_owned())
}

/// What an input of the custom range shows for `raw` (what the URL holds).
pub fn input_value(raw: &str) -> String {
    match parse_time(&time_param(raw)) {
        Some(at) => local_input(at),
        None => raw.trim().to_owned(),
    }
}

/// The time range a page asks for, and which range button is in force.
#[derive(Debug, Clone, PartialEq)]
pub struct Range {
    /// `hour`, `day`, `week`, `month` or `custom` (the button shown as
    /// current); a value the page does not know is kept for the service to
    /// name.
    pub mode: String,
    pub range: Option<String>,
    pub from: Option<String>,
    pub to: Option<String>,
}

impl Range {
    /// `range` is one of the buttons' values (blank: the last day); with
    /// `custom`, or without a range, `from` and `to` (either may be blank).
    pub fn read(range: &str, from: &str, to: &str) -> Range {
        let given = |v: &str| Some(time_param(v)).filter(|v| !v.is_empty());
        match range.trim() {
            named if named_range(named).is_some() => Range {
                mode: named.to_owned(),
                range: Some(named.to_owned()),
                from: None,
                to: None,
            },
            "" | "custom" => {
                let (from, to) = (given(from), given(to));
                let custom = range.trim() == "custom" || from.is_some() || to.is_some();
                Range {
                    mode: if custom { "custom" } else { "day" }.to_owned(),
                    range: None,
                    from,
                    to,
                }
            }
            other => Range {
                mode: other.to_owned(),
                range: Some(other.to_owned()),
                from: None,
                to: None,
            },
        }
    }

    /// "in the last day", "between … and …": for headings and empty states.
    pub fn words(&self) -> String {
        let shown = |raw: &Option<String>| raw.as_deref().and_then(parse_time).map(clock);
        match self.mode.as_str() {
            "hour" => "in the last hour".into(),
            "day" => "in the last day".into(),
            "week" => "in the last week".into(),
            "month" => "in the last 30 days".into(),
            "custom" => match (shown(&self.from), shown(&self.to)) {
                (Some(from), Some(to)) => format!("between {from} and {to}"),
                (Some(from), None) => format!("since {from}"),
                (None, Some(to)) => format!("in the day before {to}"),
                (None, None) => "in the last day".into(),
            },
            _ => "in this range".into(),
        }
    }
}

/// A query string of the non-blank `pairs` (no leading `?`).
pub fn query_string(pairs: &[(&str, &str)]) -> String {
    pairs
        .iter()
        .filter(|(_, value)| !value.trim().is_empty())
        .map(|(key, value)| format!("{key}={}", urlencode(value.trim())))
        .collect::<Vec<_>>()
        .join("&")
}

/// `path` with the query of `pairs`.
pub fn url(path: &str, pairs: &[(&str, &str)]) -> String {
    let query = query_string(pairs);
    if query.is_empty() {
        path.to_owned()
    } else {
        format!("{path}?{query}")
    }
}

/// The level filter's choices: "any", then each level "and above".
pub fn level_options() -> Vec<Value> {
    Level::ALL
        .iter()
        .map(|l| context! { value => l.as_str(), label => format!("{l} and above") })
        .collect()
}

/// How the rows of a page link out: to a correlation's entries, and (in
/// Management) to a member's page.
pub struct Links<'a> {
    pub correlation: &'a dyn Fn(&str) -> String,
    pub user: Option<&'a dyn Fn(UserId) -> String>,
}

/// An entry as a row of the table, with every field its side panel shows
/// and the whole entry as the API's JSON for the copy button.
pub fn entry_row(entry: Entry, links: &Links<'_>) -> Value {
    let v = EntryView::from(entry);
    let json = serde_json::to_string_pretty(&v).unwrap_or_default();
    let context = v
        .context
        .as_ref()
        .map(|c| serde_json::to_string_pretty(c).unwrap_or_default());
    context! {
        id => v.id,
        time => cell_time(v.time),
        time_full => rfc3339(v.time),
        received_full => rfc3339(v.received_at),
        level => v.level.as_str(),
        category => v.category,
        message => v.message,
        correlation_id => v.correlation_id,
        correlation_url => (links.correlation)(&v.correlation_id),
        solution => v.solution.as_ref().map(|s| context! { id => s.id.to_string(), name => s.name }),
        user => context! {
            id => v.user.id.to_string(),
            email => v.user.email,
            url => links.user.map(|u| u(v.user.id)),
        },
        device => v.device.as_ref().map(|d| context! { id => d.id.to_string(), name => d.name }),
        context,
        json,
    }
}

/// A correlation ID of the list, summed up.
pub fn correlation_row(c: Correlation, links: &Links<'_>) -> Value {
    let v = CorrelationView::from(c);
    context! {
        correlation_id => v.correlation_id,
        url => (links.correlation)(&v.correlation_id),
        entries => v.entries,
        first_at => cell_time(v.first_at),
        first_full => rfc3339(v.first_at),
        last_at => cell_time(v.last_at),
        last_full => rfc3339(v.last_at),
        highest_level => v.highest_level.as_str(),
        user => v.user.as_ref().map(|u| context! {
            id => u.id.to_string(),
            email => u.email,
            url => links.user.map(|link| link(u.id)),
        }),
        solution => v.solution.as_ref().map(|s| context! { id => s.id.to_string(), name => s.name }),
    }
}

/// The newest `limit` entries of `asked` that the scope's member may read.
pub async fn latest(
    state: &AppState,
    scope: &OrgScope,
    asked: &Asked,
    limit: i64,
) -> AppResult<Vec<Entry>> {
    let mut conn = state.store.read().await?;
    let filter = reading::visible(&mut conn, scope, asked).await?;
    let page = PageQuery {
        limit: Some(limit),
        cursor: None,
    };
    Ok(
        reading::entries_page(&mut conn, scope.org_id, &filter, &page)
            .await?
            .items,
    )
}

/// The Logs tab of a solution's page: its latest entries of the last 30 days
/// and the way to Troubleshooting filtered by it. The caller checked that the
/// viewer may read its logs.
pub async fn solution_tab(
    state: &AppState,
    scope: &OrgScope,
    solution: muster_domain::SolutionId,
) -> AppResult<Value> {
    let id = solution.to_string();
    let asked = Asked {
        range: Some("month".into()),
        solution: Some(id.clone()),
        ..Asked::default()
    };
    let entries = latest(state, scope, &asked, LATEST).await?;
    let base = format!("/orgs/{}/troubleshooting", scope.org_id);
    let correlation = |c: &str| {
        url(
            &base,
            &[("range", "month"), ("solution", &id), ("correlation_id", c)],
        )
    };
    let user = |u: UserId| format!("/orgs/{}/users/{u}", scope.org_id);
    let links = Links {
        correlation: &correlation,
        user: Some(&user),
    };
    Ok(context! {
        entries => entries.into_iter().map(|e| entry_row(e, &links)).collect::<Vec<_>>(),
        troubleshooting_url => url(&base, &[("view", "entries"), ("range", "month"), ("solution", &id)]),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn custom_times_are_read_as_utc() {
        assert_eq!(time_param("2026-12-04T09:30"), "2026-12-04T09:30:00Z");
        assert_eq!(time_param("2026-12-04T09:30:15"), "2026-12-04T09:30:15Z");
        assert_eq!(
            time_param(" 2026-12-04T09:30:00+01:00 "),
            "2026-12-04T09:30:00+01:00"
        );
        assert_eq!(time_param("yesterday"), "yesterday");
        assert_eq!(
            input_value("2026-12-04T09:30:00+01:00"),
            "2026-12-04T08:30:00"
        );
    }

    #[test]
    fn the_range_in_force() {
        let day = Range::read("", "", "");
        assert_eq!((day.mode.as_str(), day.range), ("day", None));
        let hour = Range::read("hour", "2026-12-04T09:30", "");
        assert_eq!(hour.range.as_deref(), Some("hour"));
        assert_eq!(hour.from, None);
        let custom = Range::read("", "2026-12-04T09:30", "");
        assert_eq!(custom.mode, "custom");
        assert_eq!(custom.from.as_deref(), Some("2026-12-04T09:30:00Z"));
        assert_eq!(custom.words(), "since 2026-12-04 09:30:00 UTC");
        let odd = Range::read("year", "", "");
        assert_eq!(odd.range.as_deref(), Some("year"));
    }

    #[test]
    fn blank_values_stay_out_of_urls() {
        assert_eq!(
            url("/p", &[("a", "x y"), ("b", " "), ("c", "é")]),
            "/p?a=x%20y&c=%C3%A9"
        );
        assert_eq!(url("/p", &[("a", "")]), "/p");
    }
}
