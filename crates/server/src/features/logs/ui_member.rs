//! The Logs section of a member's page: their latest entries the viewer may
//! read, and for owners and admins the switch "Detailed logging for 24 hours"
//! (`service::set_member_level` / `clear_member_level`), whose forms post
//! here and go back to the member's page with a notice by code.

use super::reading::Asked;
use super::service;
use super::ui_rows::{clock, entry_row, latest, url, Links, LATEST};
use crate::error::AppError;
use crate::http::ui::error::{UiError, UiResult};
use crate::http::ui::layout::{OrgPage, UiForm};
use crate::state::AppState;
use axum::extract::{Path, State};
use axum::response::{IntoResponse, Redirect};
use minijinja::{context, Value};
use muster_domain::log::{Level, OVERRIDE_DEFAULT_HOURS};
use muster_domain::permission::Capability;
use muster_domain::{MembershipStatus, UserId};
use serde::Deserialize;

/// What a done (or refused) switch tells the member's page: (notice, error).
pub fn notice(done: &str) -> (Option<&'static str>, Option<&'static str>) {
    match done {
        "log_level_set" => (
            Some("Detailed logging is on: this member's apps send entries of the chosen level and above for 24 hours."),
            None,
        ),
        "log_level_stopped" => (
            Some("Detailed logging is off: this member's apps use the organization's logging level again."),
            None,
        ),
        "log_level_off" => (Some("Detailed logging was already off."), None),
        "log_level_refused" => (
            None,
            Some("Detailed logging was not turned on: choose a level of the list."),
        ),
        _ => (None, None),
    }
}

/// The section's values: `member` is the member the page shows.
pub async fn section(
    state: &AppState,
    view: &OrgPage,
    member: UserId,
    email: &str,
    status: MembershipStatus,
) -> UiResult<Value> {
    let org = view.org.id;
    let scope = &view.scope;
    let asked = Asked {
        range: Some("month".into()),
        user: Some(member.to_string()),
        ..Asked::default()
    };
    let entries = latest(state, scope, &asked, LATEST).await?;
    let can_switch =
        scope.can(Capability::ManageOrgSettings) && status != MembershipStatus::Invited;
    let level = if can_switch {
        service::member_level(state, scope, member).await?
    } else {
        None
    };
    let base = format!("/orgs/{org}/troubleshooting");
    let correlation = |c: &str| url(&base, &[("range", "month"), ("correlation_id", c)]);
    let links = Links {
        correlation: &correlation,
        user: None,
    };
    Ok(context! {
        entries => entries.into_iter().map(|e| entry_row(e, &links)).collect::<Vec<_>>(),
        troubleshooting_url => url(&base, &[("view", "entries"), ("range", "month"), ("user", email)]),
        can_switch,
        level_override => level.map(|o| context! { level => o.level, until => clock(o.until) }),
        levels => Level::ALL.iter().map(|l| l.as_str()).collect::<Vec<_>>(),
        default_level => Level::Debug.as_str(),
        hours => OVERRIDE_DEFAULT_HOURS,
    })
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct LevelForm {
    csrf_token: String,
    level: String,
}

fn member(raw: &str) -> UiResult<UserId> {
    raw.parse().map_err(|_| UiError::not_found())
}

fn back(view: &OrgPage, user: UserId, done: &str) -> axum::response::Response {
    Redirect::to(&format!(
        "/orgs/{}/users/{user}?done={done}#logs",
        view.org.id
    ))
    .into_response()
}

/// `POST /orgs/{org}/users/{user}/log-level`: detailed logging for 24 hours.
pub async fn set_level(
    State(state): State<AppState>,
    view: OrgPage,
    Path((_, user)): Path<(String, String)>,
    UiForm(form): UiForm<LevelForm>,
) -> UiResult {
    view.viewer.check_csrf(&form.csrf_token)?;
    let user = member(&user)?;
    let level = Some(form.level.as_str());
    let done = match service::set_member_level(&state, &view.scope, user, level, None).await {
        Ok(_) => "log_level_set",
        Err(AppError::Invalid(_)) => "log_level_refused",
        Err(other) => return Err(other.into()),
    };
    Ok(back(&view, user, done))
}

/// `POST /orgs/{org}/users/{user}/log-level/stop`: back to the organization's level.
pub async fn stop(
    State(state): State<AppState>,
    view: OrgPage,
    Path((_, user)): Path<(String, String)>,
    UiForm(form): UiForm<LevelForm>,
) -> UiResult {
    view.viewer.check_csrf(&form.csrf_token)?;
    let user = member(&user)?;
    let done = match service::clear_member_level(&state, &view.scope, user).await {
        Ok(()) => "log_level_stopped",
        // No level was set (or the member is not one: their page says so).
        Err(AppError::NotFound) => "log_level_off",
        Err(other) => return Err(other.into()),
    };
    Ok(back(&view, user, done))
}
