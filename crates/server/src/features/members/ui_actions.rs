//! The actions of a member's page, one handler each: change the org role,
//! disable or enable, remove (or leave), re-invite and revoke. Each ends with a
//! redirect back to the page (or to the list, after a removal) saying what
//! happened; a refusal is said there too.

use crate::error::{AppError, AppResult};
use crate::features::invitations::service as invites;
use crate::features::members::service as members;
use crate::http::ui::error::{UiError, UiResult};
use crate::http::ui::flash::Flash;
use crate::http::ui::layout::{OrgPage, UiForm};
use crate::state::AppState;
use axum::extract::{Path, State};
use axum::response::{IntoResponse, Redirect, Response};
use muster_domain::permission::Capability;
use muster_domain::{OrgRole, UserId};
use muster_store::{invitations, orgs, StoreError, Tx};
use serde::Deserialize;

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct ActionForm {
    csrf_token: String,
    role: String,
    language: String,
    confirm: String,
}

/// What a done action tells the viewer.
enum Done {
    /// Back to the member's page with this notice.
    Notice(&'static str),
    /// The member is gone: to the list (or home, for someone who left).
    Removed,
}

/// The CSRF check, then the member the path names.
fn target(view: &OrgPage, form: &ActionForm, user: &str) -> UiResult<UserId> {
    view.viewer.check_csrf(&form.csrf_token)?;
    user.parse().map_err(|_| UiError::not_found())
}

/// 403 (said on the page) unless the viewer's role has `capability`.
fn allowed(view: &OrgPage, capability: Capability) -> AppResult<()> {
    if view.scope.can(capability) {
        Ok(())
    } else {
        Err(AppError::forbidden_role())
    }
}

/// Commits what succeeded and redirects; a refusal is rolled back and said on
/// the member's page.
async fn finish(
    state: &AppState,
    view: &OrgPage,
    user_id: UserId,
    tx: Tx,
    result: AppResult<Done>,
) -> UiResult<Response> {
    let back = format!("/orgs/{}/users/{user_id}", view.org.id);
    match result {
        Ok(done) => {
            tx.commit().await.map_err(StoreError::from)?;
            Ok(match done {
                Done::Removed if user_id == view.viewer.user.id => {
                    Redirect::to("/").into_response()
                }
                Done::Removed => {
                    Redirect::to(&format!("/orgs/{}/users?notice=removed", view.org.id))
                        .into_response()
                }
                Done::Notice(notice) => Flash::notice(notice).redirect(state, &back),
            })
        }
        Err(error @ (AppError::Internal(_) | AppError::NotFound)) => Err(error.into()),
        Err(error) => Ok(Flash::error(error.user_message()).redirect(state, &back)),
    }
}

pub async fn change_role(
    State(state): State<AppState>,
    view: OrgPage,
    Path((_, user)): Path<(String, String)>,
    UiForm(form): UiForm<ActionForm>,
) -> UiResult<Response> {
    let user_id = target(&view, &form, &user)?;
    let mut tx = state.store.begin().await?;
    let result = async {
        let role = form
            .role
            .parse::<OrgRole>()
            .map_err(|e| AppError::invalid("role", e.to_string()))?;
        allowed(&view, Capability::ChangeMemberRole)?;
        members::change_role(&mut tx, &state, view.org.id, &view.actor(), user_id, role).await?;
        Ok(Done::Notice("The role was changed."))
    }
    .await;
    finish(&state, &view, user_id, tx, result).await
}

async fn set_disabled(
    state: AppState,
    view: OrgPage,
    user: &str,
    form: ActionForm,
    disable: bool,
) -> UiResult<Response> {
    let user_id = target(&view, &form, user)?;
    let mut tx = state.store.begin().await?;
    let result = async {
        allowed(&view, Capability::DisableOrRemoveMember)?;
        let actor = view.actor();
        members::set_disabled(&mut tx, &state, view.org.id, &actor, user_id, disable).await?;
        Ok(Done::Notice(if disable {
            "The member was disabled."
        } else {
            "The member was enabled."
        }))
    }
    .await;
    finish(&state, &view, user_id, tx, result).await
}

pub async fn disable(
    State(state): State<AppState>,
    view: OrgPage,
    Path((_, user)): Path<(String, String)>,
    UiForm(form): UiForm<ActionForm>,
) -> UiResult<Response> {
    set_disabled(state, view, &user, form, true).await
}

pub async fn enable(
    State(state): State<AppState>,
    view: OrgPage,
    Path((_, user)): Path<(String, String)>,
    UiForm(form): UiForm<ActionForm>,
) -> UiResult<Response> {
    set_disabled(state, view, &user, form, false).await
}

/// Removes a member, or (one's own page) leaves the organization.
pub async fn remove(
    State(state): State<AppState>,
    view: OrgPage,
    Path((_, user)): Path<(String, String)>,
    UiForm(form): UiForm<ActionForm>,
) -> UiResult<Response> {
    let user_id = target(&view, &form, &user)?;
    let mut tx = state.store.begin().await?;
    let result = async {
        if form.confirm != "yes" {
            return Err(AppError::invalid(
                "confirm",
                "tick the box to confirm the removal",
            ));
        }
        if user_id != view.viewer.user.id {
            allowed(&view, Capability::DisableOrRemoveMember)?;
        }
        members::remove(&mut tx, &state, view.org.id, &view.actor(), user_id).await?;
        Ok(Done::Removed)
    }
    .await;
    finish(&state, &view, user_id, tx, result).await
}

pub async fn reinvite(
    State(state): State<AppState>,
    view: OrgPage,
    Path((_, user)): Path<(String, String)>,
    UiForm(form): UiForm<ActionForm>,
) -> UiResult<Response> {
    let user_id = target(&view, &form, &user)?;
    let mut tx = state.store.begin().await?;
    let result = async {
        allowed(&view, Capability::ManageInvitations)?;
        let org = orgs::find(&mut tx, view.org.id).await?;
        let language = Some(form.language.as_str()).filter(|l| !l.is_empty());
        invites::reinvite(&mut tx, &state, &org, &view.actor(), user_id, language).await?;
        Ok(Done::Notice("A new invitation was sent."))
    }
    .await;
    finish(&state, &view, user_id, tx, result).await
}

/// Revokes the member's pending invitation: they are removed.
pub async fn revoke(
    State(state): State<AppState>,
    view: OrgPage,
    Path((_, user)): Path<(String, String)>,
    UiForm(form): UiForm<ActionForm>,
) -> UiResult<Response> {
    let user_id = target(&view, &form, &user)?;
    let mut tx = state.store.begin().await?;
    let result = async {
        allowed(&view, Capability::ManageInvitations)?;
        if form.confirm != "yes" {
            return Err(AppError::invalid(
                "confirm",
                "tick the box to confirm revoking the invitation",
            ));
        }
        let org = orgs::find(&mut tx, view.org.id).await?;
        let invitation = invitations::latest(&mut tx, view.org.id, user_id)
            .await?
            .ok_or(AppError::NotFound)?;
        invites::revoke(&mut tx, &state, &org, &view.actor(), invitation.id).await?;
        Ok(Done::Removed)
    }
    .await;
    finish(&state, &view, user_id, tx, result).await
}
