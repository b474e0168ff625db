//! The invite panel: invite one person, with a language, an org role and
//! solutions to give on joining.

use crate::error::AppError;
use crate::features::invitations::service as invites;
use crate::features::members::ui::{role_options, template_languages};
use crate::http::ui::error::UiResult;
use crate::http::ui::layout::{field_errors, OrgPage, UiForm};
use crate::state::AppState;
use axum::extract::State;
use axum::http::{StatusCode, Uri};
use axum::response::{Html, IntoResponse, Redirect};
use minijinja::{context, Value};
use muster_domain::permission::Capability;
use muster_domain::{Invitee, SolutionId, SolutionRole};
use muster_store::{orgs, StoreError};
use serde::{Deserialize, Serialize};

#[derive(Debug, Default, Deserialize, Serialize)]
#[serde(default)]
pub struct InviteForm {
    #[serde(skip_serializing)]
    csrf_token: String,
    email: String,
    first_name: String,
    last_name: String,
    language: String,
    role: String,
    /// Solutions to give on joining (checkboxes), with one solution role.
    solution_ids: Vec<String>,
    solution_role: String,
}

impl InviteForm {
    /// The solutions to give and their role, or why the lists were not used.
    fn grants(&self) -> Result<Vec<(SolutionId, SolutionRole)>, Value> {
        let role = match self.solution_role.as_str() {
            "" => Ok(SolutionRole::User),
            raw => raw.parse(),
        };
        let ids: Result<Vec<SolutionId>, _> =
            self.solution_ids.iter().map(|raw| raw.parse()).collect();
        match (role, ids) {
            (Ok(role), Ok(ids)) => Ok(ids.into_iter().map(|id| (id, role)).collect()),
            _ => Err(context! { solutions => "choose solutions and a role from the lists" }),
        }
    }
}

/// The panel again with the form as sent and what was wrong with it.
fn refused(error: &AppError) -> Option<(Value, StatusCode)> {
    match error {
        AppError::Conflict(_) | AppError::Denied(_) => Some((
            context! { form => error.to_string() },
            crate::http::problem::status(error),
        )),
        AppError::Invalid(invalid) => {
            Some((field_errors(invalid), StatusCode::UNPROCESSABLE_ENTITY))
        }
        _ => None,
    }
}

async fn invite_page(
    state: &AppState,
    view: &OrgPage,
    path: &str,
    form: &InviteForm,
    errors: Value,
    status: StatusCode,
) -> UiResult {
    let languages = template_languages(state, view).await?;
    let solutions: Vec<Value> = crate::features::solutions::ui::visible_solutions(state, view)
        .await?
        .iter()
        .filter(|s| muster_domain::solution::rights(view.scope.role, s.viewer_role).assign)
        .map(|s| {
            let id = s.id.to_string();
            let checked = form.solution_ids.contains(&id);
            context! { id, name => s.name, checked }
        })
        .collect();
    let html = crate::http::ui::templates::get()?.render(
        "user_invite.html",
        view.context(
            "users",
            path,
            context! {
                form,
                errors,
                languages,
                solutions,
                solution_roles => crate::features::solutions::ui::role_options(),
                roles => role_options(view.scope.role),
                default_language => view.org.default_language,
            },
        ),
    )?;
    Ok((status, Html(html)).into_response())
}

pub async fn invite_form(State(state): State<AppState>, view: OrgPage, uri: Uri) -> UiResult {
    view.require(Capability::ManageInvitations)?;
    let form = InviteForm {
        role: "user".into(),
        ..InviteForm::default()
    };
    invite_page(
        &state,
        &view,
        uri.path(),
        &form,
        context! {},
        StatusCode::OK,
    )
    .await
}

impl InviteForm {
    /// The invitee and the solutions to give, or the errors to show.
    fn parse(&self) -> Result<(Invitee, Vec<(SolutionId, SolutionRole)>), Value> {
        let invitee = Invitee::parse(
            &self.email,
            &self.first_name,
            &self.last_name,
            &self.language,
            &self.role,
        )
        .map_err(|invalid| field_errors(&invalid))?;
        Ok((invitee, self.grants()?))
    }
}

pub async fn invite_submit(
    State(state): State<AppState>,
    view: OrgPage,
    uri: Uri,
    UiForm(form): UiForm<InviteForm>,
) -> UiResult {
    view.require(Capability::ManageInvitations)?;
    view.viewer.check_csrf(&form.csrf_token)?;
    let (invitee, grants) = match form.parse() {
        Ok(parsed) => parsed,
        Err(errors) => {
            let status = StatusCode::UNPROCESSABLE_ENTITY;
            return invite_page(&state, &view, uri.path(), &form, errors, status).await;
        }
    };
    let mut tx = state.store.begin().await?;
    let org = orgs::find(&mut tx, view.org.id).await?;
    let actor = view.actor();
    match invites::invite_with_solutions(&mut tx, &state, &org, &actor, &invitee, &grants).await {
        Ok(_) => {
            tx.commit().await.map_err(StoreError::from)?;
            let to = format!("/orgs/{}/users?notice=invited", view.org.id);
            Ok(Redirect::to(&to).into_response())
        }
        Err(error) => match refused(&error) {
            Some((errors, status)) => {
                invite_page(&state, &view, uri.path(), &form, errors, status).await
            }
            None => Err(error.into()),
        },
    }
}
