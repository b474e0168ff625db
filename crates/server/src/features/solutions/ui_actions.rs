//! The forms of a solution's page in Management, one handler per form, each on
//! its own path under `/orgs/{org}/solutions/{sol}/`. Every handler reads the
//! form, checks it may be sent, runs the service in one transaction and goes
//! back to the tab it came from, saying what happened. The rules live in
//! `crate::features::solutions::service`.

use crate::error::AppError;
use crate::features::solutions::service as solutions;
use crate::features::solutions::ui::SolutionForm;
use crate::http::ui::error::{safe_local_path, UiError, UiResult};
use crate::http::ui::flash::Flash;
use crate::http::ui::layout::{OrgPage, UiForm};
use crate::state::AppState;
use axum::extract::{Path, State};
use axum::response::{IntoResponse, Redirect, Response};
use muster_domain::permission::Capability;
use muster_domain::{GroupId, SolutionId, SolutionRole, UserId};
use muster_store::{StoreError, Tx};
use serde::Deserialize;

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct ActionForm {
    csrf_token: String,
    /// Checkboxes: several users at once.
    user_ids: Vec<String>,
    user_id: String,
    role: String,
    group_id: String,
    name: String,
    identifier: String,
    description: String,
    icon_color: String,
    icon_initials: String,
    version: String,
    notes: String,
    confirm: String,
    /// A local page to go back to instead of the solution's tab.
    return_to: String,
}

/// The `{org}` and `{sol}` segments of every action's path.
type SolutionPath = Path<(String, String)>;

/// Adds the ticked members to the solution with one solution role.
pub async fn assign(
    State(state): State<AppState>,
    view: OrgPage,
    Path((_, sol)): SolutionPath,
    UiForm(form): UiForm<ActionForm>,
) -> UiResult<Response> {
    let id = accept(&view, &form.csrf_token, &sol)?;
    let (org, actor) = (view.org.id, view.actor());
    let mut tx = state.store.begin().await?;
    let result: Result<String, AppError> = async {
        let role = solution_role(&form.role)?;
        let users = ticked(&form.user_ids, "tick at least one person to add")?;
        for raw in users {
            solutions::assign(&mut tx, &state, org, &actor, id, user_id(raw)?, role).await?;
        }
        Ok(format!(
            "Added {} with the role {role}.",
            people(users.len())
        ))
    }
    .await;
    finish(&state, tx, back(&view, &form, id, "users"), result).await
}

/// Changes one assigned member's solution role.
pub async fn role(
    State(state): State<AppState>,
    view: OrgPage,
    Path((_, sol)): SolutionPath,
    UiForm(form): UiForm<ActionForm>,
) -> UiResult<Response> {
    let id = accept(&view, &form.csrf_token, &sol)?;
    let (org, actor) = (view.org.id, view.actor());
    let mut tx = state.store.begin().await?;
    let result: Result<String, AppError> = async {
        let role = solution_role(&form.role)?;
        let user = user_id(&form.user_id)?;
        solutions::assign(&mut tx, &state, org, &actor, id, user, role).await?;
        Ok(format!("The solution role is now {role}."))
    }
    .await;
    finish(&state, tx, back(&view, &form, id, "users"), result).await
}

/// Removes the ticked members from the solution.
pub async fn unassign(
    State(state): State<AppState>,
    view: OrgPage,
    Path((_, sol)): SolutionPath,
    UiForm(form): UiForm<ActionForm>,
) -> UiResult<Response> {
    let id = accept(&view, &form.csrf_token, &sol)?;
    let (org, actor) = (view.org.id, view.actor());
    let mut tx = state.store.begin().await?;
    let result: Result<String, AppError> = async {
        let users = ticked(&form.user_ids, "tick at least one person to remove")?;
        for raw in users {
            solutions::unassign(&mut tx, &state, org, &actor, id, user_id(raw)?).await?;
        }
        Ok(format!(
            "Removed {} from the solution.",
            people(users.len())
        ))
    }
    .await;
    finish(&state, tx, back(&view, &form, id, "users"), result).await
}

/// Creates a group of the solution.
pub async fn group_create(
    State(state): State<AppState>,
    view: OrgPage,
    Path((_, sol)): SolutionPath,
    UiForm(form): UiForm<ActionForm>,
) -> UiResult<Response> {
    let id = accept(&view, &form.csrf_token, &sol)?;
    let (org, actor) = (view.org.id, view.actor());
    let mut tx = state.store.begin().await?;
    let result = crate::features::solutions::groups::create_group(
        &mut tx, &state, org, &actor, id, &form.name,
    )
    .await
    .map(|_| "The group was created.".to_owned());
    finish(&state, tx, back(&view, &form, id, "groups"), result).await
}

/// Deletes a group of the solution.
pub async fn group_delete(
    State(state): State<AppState>,
    view: OrgPage,
    Path((_, sol)): SolutionPath,
    UiForm(form): UiForm<ActionForm>,
) -> UiResult<Response> {
    let id = accept(&view, &form.csrf_token, &sol)?;
    let (org, actor) = (view.org.id, view.actor());
    let mut tx = state.store.begin().await?;
    let result: Result<String, AppError> = async {
        let group = group_id(&form.group_id)?;
        crate::features::solutions::groups::delete_group(&mut tx, &state, org, &actor, id, group)
            .await?;
        Ok("The group was deleted.".to_owned())
    }
    .await;
    finish(&state, tx, back(&view, &form, id, "groups"), result).await
}

/// Adds an assigned member to a group.
pub async fn group_add(
    State(state): State<AppState>,
    view: OrgPage,
    Path((_, sol)): SolutionPath,
    UiForm(form): UiForm<ActionForm>,
) -> UiResult<Response> {
    group_membership(state, view, &sol, form, true).await
}

/// Removes a member from a group.
pub async fn group_remove(
    State(state): State<AppState>,
    view: OrgPage,
    Path((_, sol)): SolutionPath,
    UiForm(form): UiForm<ActionForm>,
) -> UiResult<Response> {
    group_membership(state, view, &sol, form, false).await
}

/// Puts the form's member in (`join`) or out of the form's group.
async fn group_membership(
    state: AppState,
    view: OrgPage,
    sol: &str,
    form: ActionForm,
    join: bool,
) -> UiResult<Response> {
    use crate::features::solutions::groups::{add_to_group, remove_from_group};
    let id = accept(&view, &form.csrf_token, sol)?;
    let (org, actor) = (view.org.id, view.actor());
    let mut tx = state.store.begin().await?;
    let result: Result<String, AppError> = async {
        let (group, user) = (group_id(&form.group_id)?, user_id(&form.user_id)?);
        if join {
            add_to_group(&mut tx, &state, org, &actor, id, group, user).await?;
            Ok("Added to the group.".to_owned())
        } else {
            remove_from_group(&mut tx, &state, org, &actor, id, group, user).await?;
            Ok("Removed from the group.".to_owned())
        }
    }
    .await;
    finish(&state, tx, back(&view, &form, id, "groups"), result).await
}

/// Publishes a version of the solution.
pub async fn publish(
    State(state): State<AppState>,
    view: OrgPage,
    Path((_, sol)): SolutionPath,
    UiForm(form): UiForm<ActionForm>,
) -> UiResult<Response> {
    let id = accept(&view, &form.csrf_token, &sol)?;
    let (org, actor) = (view.org.id, view.actor());
    let mut tx = state.store.begin().await?;
    let (version, notes) = (&form.version, &form.notes);
    let result = solutions::publish(&mut tx, &state, org, &actor, id, version, notes)
        .await
        .map(|version| format!("Version {version} was published."));
    finish(&state, tx, back(&view, &form, id, "versions"), result).await
}

/// Saves the solution's name, identifier, description and icon.
pub async fn edit(
    State(state): State<AppState>,
    view: OrgPage,
    Path((_, sol)): SolutionPath,
    UiForm(form): UiForm<ActionForm>,
) -> UiResult<Response> {
    let id = accept(&view, &form.csrf_token, &sol)?;
    let (org, actor) = (view.org.id, view.actor());
    let mut tx = state.store.begin().await?;
    let input = settings(&form).input();
    let result = solutions::update(&mut tx, &state, org, &actor, id, &input)
        .await
        .map(|()| "The solution was saved.".to_owned());
    finish(&state, tx, back(&view, &form, id, "settings"), result).await
}

/// Deletes the solution once the box is ticked, then goes to the list.
pub async fn delete(
    State(state): State<AppState>,
    view: OrgPage,
    Path((_, sol)): SolutionPath,
    UiForm(form): UiForm<ActionForm>,
) -> UiResult<Response> {
    let id = accept(&view, &form.csrf_token, &sol)?;
    let (org, actor) = (view.org.id, view.actor());
    let mut tx = state.store.begin().await?;
    let result: Result<(), AppError> = async {
        if form.confirm != "yes" {
            let message = "tick the box to confirm the deletion";
            return Err(AppError::invalid("confirm", message));
        }
        solutions::delete(&mut tx, &state, org, &actor, id).await?;
        Ok(())
    }
    .await;
    match result {
        Ok(()) => {
            tx.commit().await.map_err(StoreError::from)?;
            Ok(Redirect::to(&format!("/orgs/{org}/solutions?notice=deleted")).into_response())
        }
        Err(error) => refused(&state, &back(&view, &form, id, "settings"), error),
    }
}

/// What every form checks first, in this order: its CSRF token, then that the
/// viewer may see solutions at all, then the solution's id (404 if not one).
fn accept(view: &OrgPage, csrf_token: &str, sol: &str) -> UiResult<SolutionId> {
    view.viewer.check_csrf(csrf_token)?;
    view.require(Capability::SeeSolutions)?;
    sol.parse().map_err(|_| UiError::not_found())
}

/// Where a form goes back to: the local page in `return_to` (when it has no
/// query of its own), else the solution's `tab`. It always ends in a query.
fn back(view: &OrgPage, form: &ActionForm, id: SolutionId, tab: &str) -> String {
    match safe_local_path(&form.return_to) {
        Some(path) if !path.contains('?') => format!("{path}?from=solution"),
        _ => format!("/orgs/{}/solutions/{id}?tab={tab}", view.org.id),
    }
}

/// Commits and goes `back` with the notice, or goes back with the error.
async fn finish(
    state: &AppState,
    tx: Tx,
    back: String,
    result: Result<String, AppError>,
) -> UiResult<Response> {
    match result {
        Ok(notice) => {
            tx.commit().await.map_err(StoreError::from)?;
            Ok(Flash::notice(notice).redirect(state, &back))
        }
        Err(error) => refused(state, &back, error),
    }
}

/// A refused form: a missing thing is the 404 page and a failure the 500 page;
/// anything else goes `back` with the message. Nothing of it is kept: the
/// transaction is dropped.
fn refused(state: &AppState, back: &str, error: AppError) -> UiResult<Response> {
    match error {
        AppError::Internal(cause) => Err(UiError::Internal(cause)),
        AppError::NotFound => Err(UiError::not_found()),
        error => Ok(Flash::error(error.user_message()).redirect(state, back)),
    }
}

/// The settings fields of the form, read as the create form reads them.
fn settings(form: &ActionForm) -> SolutionForm {
    SolutionForm {
        csrf_token: String::new(),
        name: form.name.clone(),
        identifier: form.identifier.clone(),
        description: form.description.clone(),
        icon_color: form.icon_color.clone(),
        icon_initials: form.icon_initials.clone(),
    }
}

/// The ticked users, refused with `message` when there are none.
fn ticked<'a>(user_ids: &'a [String], message: &str) -> Result<&'a [String], AppError> {
    if user_ids.is_empty() {
        return Err(AppError::invalid("user_ids", message));
    }
    Ok(user_ids)
}

fn user_id(raw: &str) -> Result<UserId, AppError> {
    raw.parse().map_err(|_| AppError::NotFound)
}

fn group_id(raw: &str) -> Result<GroupId, AppError> {
    raw.parse().map_err(|_| AppError::NotFound)
}

fn solution_role(raw: &str) -> Result<SolutionRole, AppError> {
    if raw.is_empty() {
        return Ok(SolutionRole::User);
    }
    raw.parse()
        .map_err(|e: muster_domain::role::UnknownValue| AppError::invalid("role", e.to_string()))
}

fn people(n: usize) -> String {
    if n == 1 {
        "1 person".to_owned()
    } else {
        format!("{n} people")
    }
}
