//! The usage export: one row per period and a last row for the whole window,
//! a column per figure. Every cell goes through the formula guard, though
//! only dates and numbers are written.

use super::reading::{Period, Usage};
use muster_domain::spreadsheet::safe_cell;
use muster_domain::usage::{format_day, Metric};

fn row(out: &mut String, cells: impl Iterator<Item = String>) {
    let cells: Vec<String> = cells.map(|c| safe_cell(&c).into_owned()).collect();
    out.push_str(&cells.join(","));
    out.push_str("\r\n");
}

fn period_row(out: &mut String, label: &str, period: &Period) {
    let cells = [
        label.to_owned(),
        format_day(period.from),
        format_day(period.to),
    ]
    .into_iter()
    .chain(Metric::ALL.iter().map(|m| period.value(*m).to_string()));
    row(out, cells);
}

pub fn render(usage: &Usage) -> String {
    let mut out = String::new();
    let header = ["period", "from", "to"]
        .into_iter()
        .map(str::to_owned)
        .chain(Metric::ALL.iter().map(|m| m.as_str().to_owned()));
    row(&mut out, header);
    for period in &usage.periods {
        period_row(&mut out, usage.selection.interval.as_str(), period);
    }
    period_row(&mut out, "total", &usage.totals);
    out
}
