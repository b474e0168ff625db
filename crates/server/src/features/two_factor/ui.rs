//! Two-factor sign-in on My profile → Password and sessions: the setup page
//! (QR code, secret, first code), the recovery codes shown once, and
//! turning it off.

use super::service;
use crate::error::AppError;
use crate::features::account::ui::{render, SecurityForms};
use crate::features::auth::ui::CsrfForm;
use crate::http::extract::ClientIp;
use crate::http::ui::error::UiResult;
use crate::http::ui::flash::Flash;
use crate::http::ui::layout::{field_errors, render_page, UiForm, UiUser};
use crate::state::AppState;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Redirect};
use minijinja::{context, Value};
use serde::Deserialize;

const SECURITY: &str = "/me/security";
const SECTION: &str = "/me/security#two-factor";

/// Starts a setup (a new secret) and shows it.
pub async fn start(
    State(state): State<AppState>,
    viewer: UiUser,
    UiForm(form): UiForm<CsrfForm>,
) -> UiResult {
    viewer.check_csrf(&form.csrf_token)?;
    match service::start(&state, viewer.user.id).await {
        Ok(_) => Ok(Redirect::to("/me/two-factor/setup").into_response()),
        Err(AppError::Conflict(message)) => Ok(Flash::error(message).redirect(&state, SECTION)),
        Err(other) => Err(other.into()),
    }
}

async fn setup_page(
    state: &AppState,
    viewer: &UiUser,
    setup: &service::Setup,
    errors: Value,
) -> UiResult<String> {
    render_page(
        state,
        viewer,
        SECURITY,
        "two_factor_setup.html",
        context! {
            secret => setup.secret,
            otpauth_uri => setup.otpauth_uri,
            qr_svg => Value::from_safe_string(setup.qr_svg.clone()),
            errors,
        },
    )
    .await
}

/// The setup waiting for its first code.
pub async fn show_setup(State(state): State<AppState>, viewer: UiUser) -> UiResult {
    let Some(setup) = service::pending(&state, viewer.user.id).await? else {
        return Ok(Redirect::to(SECTION).into_response());
    };
    let html = setup_page(&state, &viewer, &setup, context! {}).await?;
    Ok(Html(html).into_response())
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct CodeForm {
    csrf_token: String,
    code: String,
}

/// Turns it on with a first code; the recovery codes are shown this once.
pub async fn confirm(
    State(state): State<AppState>,
    viewer: UiUser,
    ClientIp(ip): ClientIp,
    UiForm(form): UiForm<CodeForm>,
) -> UiResult {
    viewer.check_csrf(&form.csrf_token)?;
    match service::confirm(&state, viewer.user.id, &form.code, ip).await {
        Ok(codes) => {
            let html = render_page(
                &state,
                &viewer,
                SECURITY,
                "two_factor_codes.html",
                context! { codes },
            )
            .await?;
            // Shown once: a browser must not keep the page for "back".
            Ok((
                [(axum::http::header::CACHE_CONTROL, "no-store")],
                Html(html),
            )
                .into_response())
        }
        Err(AppError::Invalid(invalid)) => {
            let Some(setup) = service::pending(&state, viewer.user.id).await? else {
                return Ok(Redirect::to(SECTION).into_response());
            };
            let html = setup_page(&state, &viewer, &setup, field_errors(&invalid)).await?;
            Ok((StatusCode::UNPROCESSABLE_ENTITY, Html(html)).into_response())
        }
        Err(AppError::Conflict(message)) => Ok(Flash::error(message).redirect(&state, SECTION)),
        Err(other) => Err(other.into()),
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct PasswordForm {
    csrf_token: String,
    two_factor_password: String,
}

/// Turns it off, the password confirming.
pub async fn turn_off(
    State(state): State<AppState>,
    viewer: UiUser,
    ClientIp(ip): ClientIp,
    UiForm(form): UiForm<PasswordForm>,
) -> UiResult {
    viewer.check_csrf(&form.csrf_token)?;
    let (status, errors) =
        match service::turn_off(&state, viewer.user.id, &form.two_factor_password, ip).await {
            Ok(()) => {
                let notice = "Two-factor sign-in is off: your password alone signs you in now.";
                return Ok(Flash::notice(notice).redirect(&state, SECTION));
            }
            Err(AppError::Invalid(invalid)) => (
                StatusCode::UNPROCESSABLE_ENTITY,
                context! { two_factor_password => invalid.message_for("password") },
            ),
            Err(error @ AppError::Throttled { .. }) => (
                StatusCode::TOO_MANY_REQUESTS,
                context! { form => error.user_message() },
            ),
            Err(AppError::Conflict(message)) => {
                return Ok(Flash::error(message).redirect(&state, SECTION))
            }
            Err(other) => return Err(other.into()),
        };
    let forms = SecurityForms {
        two_factor: Some(errors),
        ..SecurityForms::default()
    };
    let html = render(&state, &viewer, SECURITY, None, context! {}, forms).await?;
    Ok((status, Html(html)).into_response())
}
