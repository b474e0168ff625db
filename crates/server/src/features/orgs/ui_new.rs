//! "New organization" (`/orgs/new`): any signed-in person creates one and
//! opens it as its owner.

use crate::error::AppError;
use crate::features::orgs::service;
use crate::http::extract::ClientIp;
use crate::http::ui::error::UiResult;
use crate::http::ui::flash::Flash;
use crate::http::ui::layout::{field_errors, render_page, UiForm, UiUser};
use crate::state::AppState;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse};
use minijinja::{context, Value};
use muster_store::StoreError;
use serde::{Deserialize, Serialize};

#[derive(Debug, Default, Deserialize, Serialize)]
#[serde(default)]
pub struct NewOrgForm {
    #[serde(skip_serializing)]
    csrf_token: String,
    name: String,
    description: String,
    default_language: String,
}

async fn new_org_page(
    state: &AppState,
    viewer: &UiUser,
    form: &NewOrgForm,
    errors: Value,
    status: StatusCode,
) -> UiResult {
    let html = render_page(
        state,
        viewer,
        "/orgs/new",
        "org_new.html",
        context! { form, errors },
    )
    .await?;
    Ok((status, Html(html)).into_response())
}

/// The form for a new organization (any signed-in person).
pub async fn new_form(State(state): State<AppState>, viewer: UiUser) -> UiResult {
    let form = NewOrgForm {
        default_language: viewer.user.language.clone(),
        ..NewOrgForm::default()
    };
    new_org_page(&state, &viewer, &form, context! {}, StatusCode::OK).await
}

/// Creates the organization with the signer-in as its owner and opens it.
pub async fn create(
    State(state): State<AppState>,
    viewer: UiUser,
    ClientIp(ip): ClientIp,
    UiForm(form): UiForm<NewOrgForm>,
) -> UiResult {
    viewer.check_csrf(&form.csrf_token)?;
    let new = service::NewOrg {
        name: &form.name,
        description: &form.description,
        default_language: &form.default_language,
    };
    let mut tx = state.store.begin().await?;
    let now = state.now();
    match service::create(&mut tx, viewer.user.id, &new, Some(ip.to_string()), now).await {
        Ok(org_id) => {
            tx.commit().await.map_err(StoreError::from)?;
            let message = format!("{} was created. You are its owner.", form.name.trim());
            Ok(Flash::notice(message).redirect(&state, &format!("/orgs/{org_id}/overview")))
        }
        Err(AppError::Invalid(invalid)) => {
            drop(tx);
            let errors = field_errors(&invalid);
            new_org_page(
                &state,
                &viewer,
                &form,
                errors,
                StatusCode::UNPROCESSABLE_ENTITY,
            )
            .await
        }
        Err(other) => Err(other.into()),
    }
}
