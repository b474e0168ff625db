//! The page behind an invite link: a new person sets name and password; someone
//! with an account confirms joining after signing in. A link that no longer works
//! says why.

use crate::error::AppError;
use crate::features::auth::session;
use crate::features::auth::ui::{form_token, form_token_matches};
use crate::features::invitations::accept::{self as invites, Acceptance, LinkError};
use crate::http::ui::error::{message_page, UiError, UiResult};
use crate::http::ui::layout::{field_errors, UiForm, UiUser};
use crate::state::AppState;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum_extra::extract::CookieJar;
use minijinja::{context, Value};
use muster_store::StoreError;
use serde::{Deserialize, Serialize};

fn link_page(error: LinkError) -> Response {
    match error {
        LinkError::Unknown => message_page(
            StatusCode::NOT_FOUND,
            "This invite link is not valid",
            &["Check that you opened the whole link from the email. If it still does not work, ask for a new invitation."],
            None,
        ),
        LinkError::Problem(problem) => message_page(StatusCode::GONE, "This invitation cannot be used", &[problem.message()], None),
    }
}

#[derive(Debug, Default, Deserialize, Serialize)]
#[serde(default)]
pub struct AcceptForm {
    #[serde(skip_serializing)]
    csrf_token: String,
    first_name: String,
    last_name: String,
    #[serde(skip_serializing)]
    password: String,
}

async fn render(
    state: &AppState,
    jar: CookieJar,
    token: &str,
    viewer: Option<&UiUser>,
    form: Option<AcceptForm>,
    errors: Value,
    status: StatusCode,
) -> UiResult {
    let landing = {
        let mut conn = state.store.read().await?;
        invites::landing(&mut conn, state, token).await?
    };
    let landing = match landing {
        Ok(landing) => landing,
        Err(error) => return Ok(link_page(error)),
    };
    let (jar, form_csrf) = form_token(state, jar);
    let signed_in_as = viewer.map(|v| v.user.email.clone());
    let form = form.unwrap_or_else(|| AcceptForm {
        first_name: landing.first_name.clone(),
        last_name: landing.last_name.clone(),
        ..AcceptForm::default()
    });
    let html = crate::http::ui::templates::get()?.render(
        "invite.html",
        context! {
            token,
            organization => landing.org_name,
            email => landing.email,
            inviter => landing.inviter,
            expires_at => crate::features::invitations::service::format_time(landing.invitation.expires_at),
            new_account => landing.new_account,
            signed_in_as,
            session_csrf => viewer.map(|v| v.csrf_token.clone()),
            form_csrf,
            form,
            errors,
        },
    )?;
    Ok((status, jar, Html(html)).into_response())
}

pub async fn show(
    State(state): State<AppState>,
    Path(token): Path<String>,
    jar: CookieJar,
    viewer: Result<UiUser, UiError>,
) -> UiResult {
    render(
        &state,
        jar,
        &token,
        viewer.ok().as_ref(),
        None,
        context! {},
        StatusCode::OK,
    )
    .await
}

/// Who accepts: the signed-in viewer, or a new account from the form. The
/// form's token must be the session's (signed in) or the pre-sign-in cookie's.
fn acceptance(
    state: &AppState,
    viewer: Option<&UiUser>,
    jar: &CookieJar,
    form: &AcceptForm,
) -> UiResult<Acceptance> {
    let new_account = || Acceptance::NewAccount {
        first_name: form.first_name.clone(),
        last_name: form.last_name.clone(),
        password: form.password.clone(),
    };
    match viewer {
        // A signed-in person submitting the new-account form: treat as new.
        Some(viewer) if !form.first_name.is_empty() || !form.password.is_empty() => {
            viewer.check_csrf(&form.csrf_token).or_else(|_| {
                if form_token_matches(state, jar, &form.csrf_token) {
                    Ok(())
                } else {
                    Err(UiError::csrf())
                }
            })?;
            Ok(new_account())
        }
        Some(viewer) => {
            viewer.check_csrf(&form.csrf_token)?;
            Ok(Acceptance::SignedIn(viewer.user.id))
        }
        None if form_token_matches(state, jar, &form.csrf_token) => Ok(new_account()),
        None => Err(UiError::csrf()),
    }
}

/// The errors to show with the form again, or `None` for an error page.
fn refused(error: &AppError) -> Option<(Value, StatusCode)> {
    match error {
        AppError::Invalid(invalid) => {
            Some((field_errors(invalid), StatusCode::UNPROCESSABLE_ENTITY))
        }
        AppError::Unauthorized(_) | AppError::Denied(_) | AppError::Gone(_) => Some((
            context! { form => error.to_string() },
            crate::http::problem::status(error),
        )),
        _ => None,
    }
}

pub async fn accept(
    State(state): State<AppState>,
    origin: session::Origin,
    Path(token): Path<String>,
    jar: CookieJar,
    viewer: Result<UiUser, UiError>,
    UiForm(form): UiForm<AcceptForm>,
) -> UiResult {
    let viewer = viewer.ok();
    let acceptance = acceptance(&state, viewer.as_ref(), &jar, &form)?;
    let signed_in = matches!(acceptance, Acceptance::SignedIn(_));
    let mut tx = state.store.begin().await?;
    let user_id = match invites::accept(&mut tx, &state, &token, acceptance).await {
        Ok((_, user_id)) => user_id,
        Err(error) => {
            drop(tx);
            let Some((errors, status)) = refused(&error) else {
                return Err(error.into());
            };
            return render(
                &state,
                jar,
                &token,
                viewer.as_ref(),
                Some(form),
                errors,
                status,
            )
            .await;
        }
    };
    tx.commit().await.map_err(StoreError::from)?;
    if signed_in {
        return Ok(Redirect::to("/").into_response());
    }
    let previous = jar.get(session::COOKIE).map(|c| c.value().to_owned());
    let new = session::start(&state, user_id, previous.as_deref(), &origin).await?;
    Ok((jar.add(new.cookie), Redirect::to("/")).into_response())
}
