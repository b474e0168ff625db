//! What the usage API answers.

use super::reading::Usage;
use super::service::Ingested;
use crate::features::logs::views::RejectedView;
use muster_domain::usage::{format_day, Metric};
use muster_domain::{OrgId, SolutionId};
use serde::Serialize;
use utoipa::ToSchema;

#[derive(Debug, Serialize, ToSchema)]
pub struct UsageIngestResult {
    /// Events written.
    pub accepted: usize,
    /// Events refused, by their index in the call.
    pub rejected: Vec<RejectedView>,
}

impl From<Ingested> for UsageIngestResult {
    fn from(i: Ingested) -> Self {
        UsageIngestResult {
            accepted: i.accepted,
            rejected: i.rejected.into_iter().map(RejectedView::from).collect(),
        }
    }
}

/// Distinct people active, each counted once however often they came.
#[derive(Debug, Serialize, ToSchema)]
pub struct ActiveView {
    /// On the window's last day.
    pub dau: i64,
    /// In the 7 days ending with it.
    pub wau: i64,
    /// In the 30 days ending with it.
    pub mau: i64,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct PeriodView {
    /// First day (UTC), `2026-12-01`.
    pub from: String,
    /// Last day, included.
    pub to: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct SeriesView {
    /// active_users, sign_ins, solution_opens, screen_views,
    /// notification_opens, api_calls, error_logs, invitations_sent,
    /// invitations_accepted, notifications_sent, notifications_delivered or
    /// custom_events.
    pub metric: &'static str,
    pub label: &'static str,
    /// One per period. For active users, the distinct people of the period.
    pub values: Vec<i64>,
    /// The whole window; for active users the distinct people in it.
    pub total: i64,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct CustomEventView {
    pub name: String,
    pub total: i64,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct UsageView {
    pub org_id: OrgId,
    pub from: String,
    pub to: String,
    /// day, week (Monday to Sunday) or month; the first and last periods are
    /// cut to the window.
    pub interval: &'static str,
    pub solution_id: Option<SolutionId>,
    /// The figures of your solutions only (a creator's view): sign-ins, API
    /// calls, invitations and notifications belong to the whole organization,
    /// not to a solution, so they are not in them.
    pub restricted: bool,
    pub active: ActiveView,
    pub periods: Vec<PeriodView>,
    pub series: Vec<SeriesView>,
    /// Your apps' own event names, most first (at most 20).
    pub custom_events: Vec<CustomEventView>,
}

impl UsageView {
    pub fn new(org_id: OrgId, usage: Usage) -> UsageView {
        let series = Metric::ALL
            .iter()
            .map(|metric| SeriesView {
                metric: metric.as_str(),
                label: metric.label(),
                values: usage.periods.iter().map(|p| p.value(*metric)).collect(),
                total: usage.totals.value(*metric),
            })
            .collect();
        UsageView {
            org_id,
            from: format_day(usage.selection.window.from),
            to: format_day(usage.selection.window.to),
            interval: usage.selection.interval.as_str(),
            solution_id: usage.selection.solution,
            restricted: usage.selection.restricted,
            active: ActiveView {
                dau: usage.active.day,
                wau: usage.active.week,
                mau: usage.active.month,
            },
            periods: usage
                .periods
                .iter()
                .map(|p| PeriodView {
                    from: format_day(p.from),
                    to: format_day(p.to),
                })
                .collect(),
            series,
            custom_events: usage
                .custom
                .into_iter()
                .map(|(name, total)| CustomEventView { name, total })
                .collect(),
        }
    }
}
