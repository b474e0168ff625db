//! "Add solutions": a side panel on a member's page to give them several
//! solutions at once, with one solution role.

use crate::error::AppError;
use crate::features::members::ui::member_row;
use crate::features::solutions::service::assign;
use crate::features::solutions::ui::{role_options, visible_solutions};
use crate::http::ui::error::{page, UiError, UiResult};
use crate::http::ui::flash::Flash;
use crate::http::ui::layout::{OrgPage, UiForm};
use crate::state::AppState;
use axum::extract::{Path, State};
use axum::http::{StatusCode, Uri};
use axum::response::IntoResponse;
use minijinja::{context, Value};
use muster_domain::permission::Capability;
use muster_domain::{SolutionRole, UserId};
use muster_store::StoreError;
use serde::Deserialize;

async fn assignable(
    state: &AppState,
    view: &OrgPage,
    user_id: UserId,
) -> Result<Vec<muster_store::solutions::Solution>, UiError> {
    let visible = visible_solutions(state, view).await?;
    let assigned = {
        let mut conn = state.store.read().await?;
        muster_store::assignments::for_member(&mut conn, view.org.id, user_id).await?
    };
    Ok(visible
        .into_iter()
        .filter(|s| {
            muster_domain::solution::rights(view.scope.role, s.viewer_role).assign
                && !assigned.iter().any(|a| a.solution_id == s.id)
        })
        .collect())
}

async fn solutions_page(
    state: &AppState,
    view: &OrgPage,
    path: &str,
    user_id: UserId,
    error: Option<String>,
) -> UiResult {
    let member = {
        let mut conn = state.store.read().await?;
        muster_store::members::find(&mut conn, view.org.id, user_id)
            .await?
            .ok_or_else(UiError::not_found)?
    };
    let options: Vec<Value> = assignable(state, view, user_id)
        .await?
        .iter()
        .map(|s| context! { id => s.id.to_string(), name => s.name, identifier => s.identifier })
        .collect();
    page(
        "user_solutions.html",
        view.context(
            "users",
            path,
            context! {
                member => member_row(&member, &[]),
                options,
                roles => role_options(),
                error,
            },
        ),
    )
}

/// "Add solutions": a side panel to give a member several solutions at once.
pub async fn solutions_form(
    State(state): State<AppState>,
    view: OrgPage,
    uri: Uri,
    Path((_, user)): Path<(String, String)>,
) -> UiResult {
    view.require(Capability::AssignSolutions)?;
    let user_id: UserId = user.parse().map_err(|_| UiError::not_found())?;
    solutions_page(&state, &view, uri.path(), user_id, None).await
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct AddSolutionsForm {
    csrf_token: String,
    solution_ids: Vec<String>,
    role: String,
}

/// The solution role the form names (default `user`), or what is wrong.
fn chosen_role(form: &AddSolutionsForm) -> Result<SolutionRole, String> {
    if form.solution_ids.is_empty() {
        return Err("Tick at least one solution.".into());
    }
    match form.role.as_str() {
        "" => Ok(SolutionRole::User),
        raw => raw.parse().map_err(|e| format!("Solution role {e}")),
    }
}

fn added(count: usize) -> String {
    if count == 1 {
        "1 solution was added.".to_owned()
    } else {
        format!("{count} solutions were added.")
    }
}

pub async fn add_solutions(
    State(state): State<AppState>,
    view: OrgPage,
    uri: Uri,
    Path((_, user)): Path<(String, String)>,
    UiForm(form): UiForm<AddSolutionsForm>,
) -> UiResult {
    view.viewer.check_csrf(&form.csrf_token)?;
    view.require(Capability::AssignSolutions)?;
    let user_id: UserId = user.parse().map_err(|_| UiError::not_found())?;
    let refuse = |message: String| async {
        let response = solutions_page(&state, &view, uri.path(), user_id, Some(message)).await?;
        Ok((StatusCode::UNPROCESSABLE_ENTITY, response).into_response())
    };
    let role = match chosen_role(&form) {
        Ok(role) => role,
        Err(message) => return refuse(message).await,
    };
    let (actor, mut tx) = (view.actor(), state.store.begin().await?);
    for raw in &form.solution_ids {
        let id = raw.parse().map_err(|_| UiError::not_found())?;
        match assign(&mut tx, &state, view.org.id, &actor, id, user_id, role).await {
            Ok(()) => {}
            Err(error @ (AppError::NotFound | AppError::Internal(_))) => return Err(error.into()),
            // Nothing is kept when one of them is refused.
            Err(error) => return refuse(error.user_message()).await,
        }
    }
    tx.commit().await.map_err(StoreError::from)?;
    let to = format!("/orgs/{}/users/{user_id}", view.org.id);
    Ok(Flash::notice(added(form.solution_ids.len())).redirect(&state, &to))
}
