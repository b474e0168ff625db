//! The Management shell: the home redirect and the page for members without a
//! Management role.

use crate::http::ui::error::{message_page, UiError, UiResult};
use crate::http::ui::layout::{OrgPage, UiUser};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use minijinja::context;
use muster_domain::MembershipStatus;

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

/// For members whose roles are all `user`: Management is not for them.
pub async fn no_access(viewer: UiUser) -> UiResult {
    if let Some(org_id) = viewer.home_org() {
        return Ok(Redirect::to(&format!("/orgs/{org_id}/overview")).into_response());
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

pub async fn org_root(page: OrgPage) -> Response {
    Redirect::to(&format!("/orgs/{}/overview", page.org.id)).into_response()
}

pub async fn not_found() -> UiError {
    UiError::not_found()
}
