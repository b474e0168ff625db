//! The Usage page (the last 7, 30 or 90 days or a custom window, the whole
//! organization or one solution, by day, week or month) and a solution's own
//! Usage tab: charts drawn on the server, each with its numbers as a table.

use super::chart::{self, Bar};
use super::reading::{self, Asked, Usage};
use crate::error::AppError;
use crate::features::logs::ui_rows::url;
use crate::http::ui::error::{page, UiResult};
use crate::http::ui::layout::{field_errors, OrgPage};
use crate::scope::OrgScope;
use crate::state::AppState;
use axum::extract::{Query, State};
use axum::http::{StatusCode, Uri};
use axum::response::IntoResponse;
use minijinja::{context, Value};
use muster_domain::permission::{grant, Capability, Grant};
use muster_domain::usage::{format_day, Interval, Metric};
use muster_domain::{Invalid, SolutionId};
use muster_store::usage::WHOLE_ORG;
use serde::Deserialize;

/// The charts of a page, in order; the other figures are in the totals table.
const CHARTED: [Metric; 7] = [
    Metric::ActiveUsers,
    Metric::SignIns,
    Metric::SolutionOpens,
    Metric::ScreenViews,
    Metric::NotificationOpens,
    Metric::ApiCalls,
    Metric::ErrorLogs,
];
const RANGES: [(&str, &str); 4] = [
    ("7", "Last 7 days"),
    ("30", "Last 30 days"),
    ("90", "Last 90 days"),
    ("custom", "Custom"),
];
const INTERVALS: [(&str, &str); 3] = [
    ("day", "By day"),
    ("week", "By week"),
    ("month", "By month"),
];

#[derive(Debug, Default, Clone, Deserialize)]
#[serde(default)]
pub struct UsageQuery {
    /// 7, 30, 90 or custom.
    range: String,
    from: String,
    to: String,
    solution: String,
    interval: String,
}

impl UsageQuery {
    fn custom(&self) -> bool {
        self.range == "custom"
    }

    fn asked(&self) -> Asked {
        let days = match self.range.as_str() {
            "7" => Some(7),
            "90" => Some(90),
            _ => Some(30),
        };
        let (from, to) = if self.custom() {
            (Some(self.from.clone()), Some(self.to.clone()))
        } else {
            (None, None)
        };
        Asked {
            from,
            to,
            days,
            solution: Some(self.solution.clone()),
            interval: Some(self.interval.clone()),
        }
    }

    /// This page with one thing changed.
    fn link(&self, path: &str, change: impl FnOnce(&mut UsageQuery)) -> String {
        let mut q = self.clone();
        change(&mut q);
        let (from, to) = if q.custom() {
            (q.from.as_str(), q.to.as_str())
        } else {
            ("", "")
        };
        url(
            path,
            &[
                ("range", &q.range),
                ("from", from),
                ("to", to),
                ("solution", &q.solution),
                ("interval", &q.interval),
            ],
        )
    }
}

/// The context of one chart: its SVG and its numbers.
fn chart(usage: &Usage, metric: Metric, prefix: &str) -> Value {
    let interval = usage.selection.interval;
    let bars: Vec<Bar> = usage
        .periods
        .iter()
        .map(|p| {
            let label = period_label(interval, p.from, p.to);
            Bar {
                tooltip: format!(
                    "{label}: {} {}",
                    p.value(metric),
                    metric.unit(p.value(metric))
                ),
                label: short_label(interval, p.from),
                value: p.value(metric),
            }
        })
        .collect();
    let id = format!("{prefix}chart-{}", metric.as_str());
    let rows: Vec<Value> = usage
        .periods
        .iter()
        .map(|p| context! { period => period_label(interval, p.from, p.to), value => p.value(metric) })
        .collect();
    context! {
        id,
        metric => metric.as_str(),
        label => metric.label(),
        total => usage.totals.value(metric),
        distinct => metric == Metric::ActiveUsers,
        svg => Value::from_safe_string(chart::bars(&id, metric.label(), &bars)),
        rows,
    }
}

fn short_label(interval: Interval, day: muster_domain::usage::Day) -> String {
    let date = day.date();
    match interval {
        Interval::Month => format!("{} {}", month_name(date.month()), date.year()),
        _ => format!("{} {}", month_name(date.month()), date.day()),
    }
}

fn month_name(month: time::Month) -> &'static str {
    use time::Month::*;
    match month {
        January => "Jan",
        February => "Feb",
        March => "Mar",
        April => "Apr",
        May => "May",
        June => "Jun",
        July => "Jul",
        August => "Aug",
        September => "Sep",
        October => "Oct",
        November => "Nov",
        December => "Dec",
    }
}

fn period_label(
    interval: Interval,
    from: muster_domain::usage::Day,
    to: muster_domain::usage::Day,
) -> String {
    match interval {
        Interval::Day => format_day(from),
        _ => format!("{} to {}", format_day(from), format_day(to)),
    }
}

/// The charts and figures of `usage`, for the page and the solution tab.
pub fn figures(usage: &Usage, prefix: &str) -> Value {
    // Figures of solutions only: the organization's own would read 0.
    let of_solutions = usage.selection.keys.iter().any(|k| k != WHOLE_ORG);
    let shown = |m: &&Metric| !of_solutions || m.of_solutions();
    context! {
        of_solutions,
        charts => CHARTED.iter().filter(shown).map(|m| chart(usage, *m, prefix)).collect::<Vec<_>>(),
        totals => Metric::ALL.iter().filter(shown).map(|m| context! {
            metric => m.as_str(), label => m.label(), total => usage.totals.value(*m),
        }).collect::<Vec<_>>(),
        active => context! { dau => usage.active.day, wau => usage.active.week, mau => usage.active.month },
        custom => usage.custom.iter().map(|(name, total)| context! { name, total }).collect::<Vec<_>>(),
        from => format_day(usage.selection.window.from),
        to => format_day(usage.selection.window.to),
        days => usage.selection.window.days(),
        restricted => usage.selection.restricted,
    }
}

pub async fn show(
    State(state): State<AppState>,
    view: OrgPage,
    uri: Uri,
    Query(query): Query<UsageQuery>,
) -> UiResult {
    view.require(Capability::ViewUsageAndLogs)?;
    let solutions = crate::features::logs::ui::readable_solutions(&state, &view).await?;
    let restricted = grant(view.scope.role, Capability::ViewUsageAndLogs) != Grant::All;
    let (status, shown, invalid) = match reading::usage(&state, &view.scope, &query.asked()).await {
        Ok(usage) => (StatusCode::OK, Some(usage), Invalid::default()),
        Err(AppError::Invalid(invalid)) => (StatusCode::UNPROCESSABLE_ENTITY, None, invalid),
        Err(AppError::Denied(message)) => (
            StatusCode::FORBIDDEN,
            None,
            Invalid::field("solution", message),
        ),
        Err(AppError::NotFound) => (
            StatusCode::NOT_FOUND,
            None,
            Invalid::field("solution", "there is no such solution in this organization"),
        ),
        Err(other) => return Err(other.into()),
    };
    let path = uri.path();
    let range = if RANGES.iter().any(|(v, _)| *v == query.range) {
        query.range.clone()
    } else {
        "30".to_owned()
    };
    let interval = Interval::parse(&query.interval)
        .unwrap_or_default()
        .as_str();
    let csv_url = shown.as_ref().map(|u| {
        let (from, to) = (
            format_day(u.selection.window.from),
            format_day(u.selection.window.to),
        );
        let solution = u
            .selection
            .solution
            .map(|s| s.to_string())
            .unwrap_or_default();
        url(
            &format!("/api/v1/orgs/{}/usage.csv", view.org.id),
            &[
                ("from", &from),
                ("to", &to),
                ("interval", u.selection.interval.as_str()),
                ("solution", &solution),
            ],
        )
    });
    let values = context! {
        figures => shown.as_ref().map(|u| figures(u, "")),
        csv_url,
        ranges => RANGES.iter().map(|(value, label)| context! {
            value, label, current => range == *value,
            url => query.link(path, |q| { q.range = (*value).to_owned(); }),
        }).collect::<Vec<_>>(),
        intervals => INTERVALS.iter().map(|(value, label)| context! { value, label, current => interval == *value }).collect::<Vec<_>>(),
        custom => range == "custom",
        filters => context! { from => query.from.trim(), to => query.to.trim(), solution => query.solution.trim(), range },
        without_solutions => restricted && solutions.is_empty(),
        solutions,
        restricted,
        errors => field_errors(&invalid),
    };
    let response = page("usage.html", view.context("usage", path, values))?;
    Ok((status, response).into_response())
}

/// A solution's Usage tab: its last 30 days, or nothing for a viewer who may
/// not read them.
pub async fn solution_tab(
    state: &AppState,
    scope: &OrgScope,
    id: SolutionId,
    path: &str,
) -> UiResult<Value> {
    let asked = Asked {
        days: Some(30),
        solution: Some(id.to_string()),
        ..Asked::default()
    };
    match reading::usage(state, scope, &asked).await {
        Ok(usage) => Ok(context! {
            figures => figures(&usage, "solution-"),
            usage_url => format!("{path}?range=30&solution={id}"),
        }),
        Err(AppError::Denied(_)) => Ok(Value::UNDEFINED),
        Err(other) => Err(other.into()),
    }
}
