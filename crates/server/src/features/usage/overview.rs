//! The Overview: how the organization is doing at a glance (members,
//! solutions, active users today and this week against the week before,
//! notifications, error logs, invitations waiting) and the Quick start steps,
//! each ticked from what the organization has done. The figures are index
//! reads of the organization and 14 rollup rows; none reads raw events beyond
//! one kind on two days.

use super::reading::{self, Asked};
use crate::http::ui::error::{page, UiResult};
use crate::http::ui::flash::Flash;
use crate::http::ui::layout::OrgPage;
use crate::state::AppState;
use axum::extract::State;
use axum::http::Uri;
use minijinja::context;
use muster_domain::permission::{can, grant, Capability, Grant};
use muster_domain::usage::{Day, Kind, Metric};
use muster_store::{memberships, overview};
use time::Duration;

/// An invitation this old without an answer is worth a reminder.
const WAITING: Duration = Duration::days(3);

pub async fn show(
    State(state): State<AppState>,
    view: OrgPage,
    uri: Uri,
    flash: Flash,
) -> UiResult {
    let org_id = view.org.id;
    let now = view.scope.now;
    let role = view.scope.role;
    let whole_org = grant(role, Capability::ViewUsageAndLogs) == Grant::All;
    let mut conn = state.store.read().await?;
    let members = memberships::count_by_status(&mut conn, org_id).await?;
    let waiting = overview::invited_before(&mut conn, org_id, now - WAITING).await?;
    let checklist = overview::checklist(&mut conn, org_id).await?;
    let solutions = if whole_org {
        overview::solutions(&mut conn, org_id).await?
    } else {
        i64::try_from(
            crate::features::logs::ui::readable_solutions(&state, &view)
                .await?
                .len(),
        )
        .unwrap_or(0)
    };
    let activity = if can(role, Capability::ViewUsageAndLogs) {
        let selection = reading::select(&mut conn, &view.scope, &Asked::default()).await?;
        let today = Day::of(now);
        let days = reading::days(
            &mut conn,
            &view.scope,
            &selection.keys,
            today.plus(-13),
            today,
        )
        .await?;
        let this_week = days.period(today.plus(-6), today);
        let week_before = days.period(today.plus(-13), today.plus(-7));
        let solutions_filter = (!whole_org).then_some(selection.keys.as_slice());
        let errors = muster_store::usage::counted_since(
            &mut conn,
            org_id,
            Kind::ErrorLog,
            now - Duration::DAY,
            solutions_filter,
        )
        .await?;
        let active_week = this_week.value(Metric::ActiveUsers);
        let active_before = week_before.value(Metric::ActiveUsers);
        Some(context! {
            today => days.active_in(today, today),
            week => active_week,
            week_before => active_before,
            change => change(active_week, active_before),
            notifications => this_week.value(Metric::NotificationsSent),
            errors,
        })
    } else {
        None
    };
    drop(conn);
    let steps = [
        (
            "template",
            checklist.template,
            "Review the invite template",
            format!("/orgs/{org_id}/settings#invites"),
        ),
        (
            "invite",
            checklist.invitation,
            "Invite your first member",
            format!("/orgs/{org_id}/users"),
        ),
        (
            "solution",
            checklist.solution,
            "Create your first solution",
            format!("/orgs/{org_id}/solutions"),
        ),
        (
            "token",
            checklist.token,
            "Create a personal access token for the REST API",
            "/me#tokens".to_owned(),
        ),
        (
            "notification",
            checklist.notification,
            "Send your first notification",
            format!("/orgs/{org_id}/notifications"),
        ),
    ];
    let done = steps.iter().filter(|s| s.1).count();
    let values = context! {
        notice => flash.notice,
        members => context! { active => members.active, invited => members.invited, disabled => members.disabled },
        waiting,
        solutions,
        whole_org,
        activity,
        steps => steps.iter().map(|(key, done, label, href)| context! { key, done, label, href }).collect::<Vec<_>>(),
        steps_done => done,
        steps_total => steps.len(),
        can_manage_org => can(role, Capability::ManageOrgSettings),
        can_invite => can(role, Capability::ManageInvitations),
        troubleshooting_url => format!("/orgs/{org_id}/troubleshooting?range=day&level=error"),
        usage_url => format!("/orgs/{org_id}/usage?range=7"),
        invited_url => format!("/orgs/{org_id}/users?status=invited"),
    };
    page(
        "overview.html",
        view.context("overview", uri.path(), values),
    )
}

/// "+25%" or "−10%" from `before` to `now`; `None` without a week before.
fn change(now: i64, before: i64) -> Option<String> {
    if before == 0 {
        return None;
    }
    let percent = ((now - before) as f64 / before as f64 * 100.0).round() as i64;
    Some(match percent {
        p if p > 0 => format!("+{p}%"),
        0 => "no change".to_owned(),
        p => format!("\u{2212}{}%", -p),
    })
}

#[cfg(test)]
mod tests {
    use super::change;

    #[test]
    fn changes_read_as_people_say_them() {
        assert_eq!(change(15, 10).as_deref(), Some("+50%"));
        assert_eq!(change(5, 10).as_deref(), Some("\u{2212}50%"));
        assert_eq!(change(10, 10).as_deref(), Some("no change"));
        assert_eq!(change(3, 0), None);
    }
}
