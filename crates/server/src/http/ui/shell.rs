//! The Management shell: the home redirect and the page for members without a
//! Management role.

use crate::http::ui::error::{message_page, UiError, UiResult};
use crate::http::ui::layout::{OrgPage, UiUser};
use crate::state::AppState;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use minijinja::context;
use muster_domain::MembershipStatus;
use muster_store::memberships::{self, MembershipSummary};

/// `/`: the default organization's overview, or sign-in.
pub async fn home(viewer: Result<UiUser, UiError>) -> UiResult {
    let viewer = match viewer {
        Ok(viewer) => viewer,
        Err(UiError::SignIn { .. }) => return Ok(Redirect::to("/signin").into_response()),
        Err(other) => return Err(other),
    };
    match (viewer.home_org(), viewer.inbox_org()) {
        (Some(org_id), _) => Ok(Redirect::to(&format!("/orgs/{org_id}/overview")).into_response()),
        // Members whose roles are all `user` have their inbox on the web.
        (None, Some(org_id)) => Ok(Redirect::to(&format!("/orgs/{org_id}/inbox")).into_response()),
        (None, None) => Ok(Redirect::to("/no-access").into_response()),
    }
}

#[derive(Debug, Default, serde::Deserialize)]
#[serde(default)]
pub struct NoAccessQuery {
    /// The organization whose page sent a disabled member here.
    disabled: String,
}

/// For members whose roles are all `user`: Management is not for them. For
/// members with no active membership but a disabled one: whom to ask.
pub async fn no_access(
    State(state): State<AppState>,
    viewer: UiUser,
    Query(query): Query<NoAccessQuery>,
) -> UiResult {
    // Came from the pages of an organization where they are disabled.
    let asked: Vec<_> = viewer
        .memberships
        .iter()
        .filter(|m| {
            m.status == MembershipStatus::Disabled && m.org_id.to_string() == query.disabled
        })
        .collect();
    if !asked.is_empty() {
        return disabled_page(&state, &viewer, &asked).await;
    }
    if let Some(org_id) = viewer.home_org() {
        return Ok(Redirect::to(&format!("/orgs/{org_id}/overview")).into_response());
    }
    let active = viewer
        .memberships
        .iter()
        .any(|m| m.status == MembershipStatus::Active);
    let disabled: Vec<_> = viewer
        .memberships
        .iter()
        .filter(|m| m.status == MembershipStatus::Disabled)
        .collect();
    if !active && !disabled.is_empty() {
        return disabled_page(&state, &viewer, &disabled).await;
    }
    let orgs: Vec<String> = viewer
        .memberships
        .iter()
        .filter(|m| m.status == MembershipStatus::Active)
        .map(|m| format!("{} ({})", m.org_name, m.role.label()))
        .collect();
    let where_ = if orgs.is_empty() {
        "You are not an active member of any organization yet.".to_owned()
    } else {
        format!("Your organizations: {}.", orgs.join(", "))
    };
    let paragraphs = [
        "Muster Management is for organization owners, admins and creators.",
        &where_,
        "Your apps and the REST API keep working for you. Ask an owner or admin of your organization if you need access here.",
    ];
    let Some(org_id) = viewer.inbox_org() else {
        return Ok(message_page(
            StatusCode::FORBIDDEN,
            "Management needs another role",
            &paragraphs,
            Some(&viewer.csrf_token),
        ));
    };
    let links = [
        context! { href => format!("/orgs/{org_id}/inbox"), label => "Open your notifications inbox", id => "open-inbox" },
    ];
    let html = crate::http::ui::templates::get()?.render(
        "message.html",
        context! { heading => "Management needs another role", paragraphs, links, csrf_token => viewer.csrf_token },
    )?;
    Ok((StatusCode::FORBIDDEN, axum::response::Html(html)).into_response())
}

/// "Your membership in X is disabled", with whom to ask, and My profile,
/// which stays theirs.
async fn disabled_page(
    state: &AppState,
    viewer: &UiUser,
    disabled: &[&MembershipSummary],
) -> UiResult {
    let mut paragraphs = Vec::new();
    let mut conn = state.store.read().await?;
    for membership in disabled {
        let contacts = memberships::contacts(&mut conn, membership.org_id, 3).await?;
        let whom = contacts
            .iter()
            .map(|(name, email)| format!("{name} <{email}>"))
            .collect::<Vec<_>>()
            .join(", ");
        paragraphs.push(format!(
            "Your membership in {} is disabled, so its pages and its apps are closed to you.",
            membership.org_name
        ));
        paragraphs.push(if whom.is_empty() {
            format!(
                "Ask an owner or admin of {} to enable it again.",
                membership.org_name
            )
        } else {
            format!(
                "Ask an owner or admin of {} to enable it again: {whom}.",
                membership.org_name
            )
        });
    }
    let links = [context! { href => "/me", label => "Open My profile", id => "open-profile" }];
    let html = crate::http::ui::templates::get()?.render(
        "message.html",
        context! { heading => "Your membership is disabled", paragraphs, links, csrf_token => viewer.csrf_token },
    )?;
    Ok((StatusCode::FORBIDDEN, axum::response::Html(html)).into_response())
}

pub async fn org_root(page: OrgPage) -> Response {
    Redirect::to(&format!("/orgs/{}/overview", page.org.id)).into_response()
}

pub async fn not_found() -> UiError {
    UiError::not_found()
}
