//! The pages of one's account: "Forgot your password?" (`/reset`), the page
//! behind a reset link (`/reset/{token}`), Password, email and sessions
//! (`/me/security`) with its forms, and the page behind an email
//! confirmation link (`/email-confirm/{token}`).

use super::email::{self, CONFIRM_LINK_GONE};
use super::service::{self, RESET_LINK_GONE};
use crate::error::AppError;
use crate::features::auth::session;
use crate::features::auth::ui::CsrfForm;
use crate::features::auth::ui::{form_token, form_token_matches};
use crate::features::invitations::service::format_time;
use crate::features::two_factor::service as two_factor;
use crate::http::extract::ClientIp;
use crate::http::ui::error::{message_page, page, UiError, UiResult};
use crate::http::ui::flash::Flash;
use crate::http::ui::layout::{field_errors, render_page, UiForm, UiUser};
use crate::state::AppState;
use axum::extract::{Path, Query, State};
use axum::http::{StatusCode, Uri};
use axum::response::{IntoResponse, Redirect, Response};
use axum_extra::extract::CookieJar;
use minijinja::{context, Value};
use serde::Deserialize;

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct RequestForm {
    csrf_token: String,
    email: String,
}

pub async fn show_request(State(state): State<AppState>, jar: CookieJar) -> UiResult {
    let (jar, csrf_token) = form_token(&state, jar);
    let body = page(
        "reset_request.html",
        context! { csrf_token, email => "", errors => context! {}, sent => false },
    )?;
    Ok((jar, body).into_response())
}

/// Asks for the link; the page reads the same whether or not the address has
/// an account.
pub async fn submit_request(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    jar: CookieJar,
    UiForm(form): UiForm<RequestForm>,
) -> UiResult {
    if !form_token_matches(&state, &jar, &form.csrf_token) {
        return Err(UiError::csrf());
    }
    let (status, errors, sent) = match service::request_reset(&state, &form.email, ip).await {
        Ok(()) => (StatusCode::OK, context! {}, true),
        Err(AppError::Invalid(invalid)) => (
            StatusCode::UNPROCESSABLE_ENTITY,
            field_errors(&invalid),
            false,
        ),
        Err(error @ AppError::Throttled { .. }) => (
            StatusCode::TOO_MANY_REQUESTS,
            context! { form => error.user_message() },
            false,
        ),
        Err(other) => return Err(other.into()),
    };
    let (jar, csrf_token) = form_token(&state, jar);
    let body = page(
        "reset_request.html",
        context! { csrf_token, email => form.email, errors, sent },
    )?;
    Ok((status, jar, body).into_response())
}

fn link_gone() -> Response {
    message_page(
        StatusCode::GONE,
        "This reset link cannot be used",
        &[
            "It was used already, was replaced by a newer one or has run out (a link works for an hour).",
            "Ask for a new one on the sign-in page: Forgot your password?",
        ],
        None,
    )
}

pub async fn show_reset(
    State(state): State<AppState>,
    jar: CookieJar,
    Path(token): Path<String>,
) -> UiResult {
    if !service::reset_link_works(&state, &token).await? {
        return Ok(link_gone());
    }
    let (jar, csrf_token) = form_token(&state, jar);
    let body = page(
        "reset_password.html",
        context! { csrf_token, token, errors => context! {} },
    )?;
    Ok((jar, body).into_response())
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct ResetForm {
    csrf_token: String,
    password: String,
}

pub async fn submit_reset(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    jar: CookieJar,
    Path(token): Path<String>,
    UiForm(form): UiForm<ResetForm>,
) -> UiResult {
    if !form_token_matches(&state, &jar, &form.csrf_token) {
        return Err(UiError::csrf());
    }
    match service::complete_reset(&state, &token, &form.password, ip).await {
        Ok(()) => Ok((
            jar.add(session::removal_cookie(&state)),
            Redirect::to("/signin?message=password-reset"),
        )
            .into_response()),
        Err(AppError::Invalid(invalid)) => {
            let (jar, csrf_token) = form_token(&state, jar);
            let body = page(
                "reset_password.html",
                context! { csrf_token, token, errors => field_errors(&invalid) },
            )?;
            Ok((StatusCode::UNPROCESSABLE_ENTITY, jar, body).into_response())
        }
        Err(AppError::Gone(message)) if message == RESET_LINK_GONE => Ok(link_gone()),
        Err(other) => Err(other.into()),
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct SecurityQuery {
    /// What just happened: `password`, `session` or `others`.
    done: String,
    /// The organization whose Management sent the viewer here.
    required: String,
}

/// What the page says after a change; fixed texts, nothing from the address.
fn notice(done: &str) -> Option<&'static str> {
    match done {
        "password" => Some("Your password was changed. Your other sessions were signed out."),
        "session" => Some("The session was signed out."),
        "others" => Some("Every other session was signed out."),
        _ => None,
    }
}

/// The forms of the page with what was typed and its errors, beyond the
/// password form's `errors`.
#[derive(Default)]
pub(crate) struct SecurityForms {
    pub email: Option<Value>,
    /// Errors of the form that turns two-factor sign-in off.
    pub two_factor: Option<Value>,
    /// The organization (by id) that sent the viewer here to turn
    /// two-factor sign-in on.
    pub required_by: Option<String>,
}

pub(crate) async fn render(
    state: &AppState,
    viewer: &UiUser,
    path: &str,
    notice: Option<&str>,
    errors: Value,
    forms: SecurityForms,
) -> UiResult<String> {
    let email_form = forms.email.unwrap_or_else(blank_email_form);
    let status = two_factor::status(state, viewer.user.id).await?;
    let required_by = forms.required_by.and_then(|id| {
        viewer
            .memberships
            .iter()
            .find(|m| m.org_id.to_string() == id)
            .map(|m| m.org_name.clone())
    });
    let two_factor = context! {
        on => status.since.is_some(),
        since => status.since.map(format_time),
        codes_left => status.recovery_codes_left,
        errors => forms.two_factor.unwrap_or_else(|| context! {}),
        required_by,
    };
    let sessions = service::list_sessions(state, &viewer.caller).await?;
    let now = state.now();
    let sessions: Vec<Value> = sessions
        .iter()
        .map(|s| {
            context! {
                id => s.id,
                browser => s.browser,
                address => s.address,
                created => format_time(s.created_at),
                last_seen => format_time(s.last_seen_at),
                last_seen_relative => crate::http::ui::when::relative(s.last_seen_at, now),
                current => s.current,
            }
        })
        .collect();
    render_page(
        state,
        viewer,
        path,
        "security.html",
        context! { sessions, notice, errors, email_form, two_factor, email => viewer.user.email },
    )
    .await
}

pub async fn show_security(
    State(state): State<AppState>,
    viewer: UiUser,
    uri: Uri,
    Query(query): Query<SecurityQuery>,
    flash: Flash,
) -> UiResult {
    let notice = flash.notice.as_deref().or(notice(&query.done));
    let forms = SecurityForms {
        required_by: Some(query.required),
        two_factor: flash.error.map(|error| context! { form => error }),
        ..SecurityForms::default()
    };
    let html = render(&state, &viewer, uri.path(), notice, context! {}, forms).await?;
    Ok(axum::response::Html(html).into_response())
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct PasswordForm {
    csrf_token: String,
    current_password: String,
    new_password: String,
}

pub async fn change_password(
    State(state): State<AppState>,
    viewer: UiUser,
    ClientIp(ip): ClientIp,
    UiForm(form): UiForm<PasswordForm>,
) -> UiResult {
    viewer.check_csrf(&form.csrf_token)?;
    let changed = service::change_password(
        &state,
        &viewer.caller,
        &form.current_password,
        &form.new_password,
        ip,
    )
    .await;
    let (status, errors) = match changed {
        Ok(_) => return Ok(Redirect::to("/me/security?done=password").into_response()),
        Err(AppError::Invalid(invalid)) => {
            (StatusCode::UNPROCESSABLE_ENTITY, field_errors(&invalid))
        }
        Err(error @ AppError::Throttled { .. }) => (
            StatusCode::TOO_MANY_REQUESTS,
            context! { form => error.user_message() },
        ),
        Err(other) => return Err(other.into()),
    };
    let html = render(
        &state,
        &viewer,
        "/me/security",
        None,
        errors,
        SecurityForms::default(),
    )
    .await?;
    Ok((status, axum::response::Html(html)).into_response())
}

/// The email form as it first shows: empty, no errors.
fn blank_email_form() -> Value {
    context! { form => EmailForm::default(), errors => context! {} }
}

#[derive(Debug, Default, Deserialize, serde::Serialize)]
#[serde(default)]
pub struct EmailForm {
    #[serde(skip_serializing)]
    csrf_token: String,
    email: String,
    #[serde(skip_serializing)]
    password: String,
}

/// Asks for a new email; the link goes to that address.
pub async fn change_email(
    State(state): State<AppState>,
    viewer: UiUser,
    ClientIp(ip): ClientIp,
    UiForm(form): UiForm<EmailForm>,
) -> UiResult {
    viewer.check_csrf(&form.csrf_token)?;
    let asked =
        email::request_change(&state, &viewer.caller, &form.email, &form.password, ip).await;
    let (status, errors) = match asked {
        Ok(()) => {
            let notice = format!(
                "We mailed a link to {}. Your email changes once you open it (within 24 hours).",
                form.email.trim()
            );
            return Ok(Flash::notice(notice).redirect(&state, "/me/security"));
        }
        Err(AppError::Invalid(invalid)) => {
            (StatusCode::UNPROCESSABLE_ENTITY, field_errors(&invalid))
        }
        Err(AppError::Conflict(message)) => (StatusCode::CONFLICT, context! { email => message }),
        Err(error @ AppError::Throttled { .. }) => (
            StatusCode::TOO_MANY_REQUESTS,
            context! { email_form => error.user_message() },
        ),
        Err(other) => return Err(other.into()),
    };
    let forms = SecurityForms {
        email: Some(context! { errors, form => form }),
        ..SecurityForms::default()
    };
    let html = render(&state, &viewer, "/me/security", None, context! {}, forms).await?;
    Ok((status, axum::response::Html(html)).into_response())
}

fn confirm_link_gone() -> Response {
    message_page(
        StatusCode::GONE,
        "This confirmation link cannot be used",
        &[
            "It was used already, was replaced by a newer one or has run out (a link works for 24 hours).",
            "Ask for the change again under My profile → Password and sessions.",
        ],
        None,
    )
}

/// The page behind the link: what it confirms, and a button (a mail
/// scanner that opens the link changes nothing).
pub async fn show_email_confirm(
    State(state): State<AppState>,
    jar: CookieJar,
    Path(token): Path<String>,
) -> UiResult {
    let Some(new_email) = email::pending(&state, &token).await? else {
        return Ok(confirm_link_gone());
    };
    let (jar, csrf_token) = form_token(&state, jar);
    let body = page(
        "email_confirm.html",
        context! { csrf_token, token, new_email => new_email.as_str() },
    )?;
    Ok((jar, body).into_response())
}

pub async fn submit_email_confirm(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    jar: CookieJar,
    Path(token): Path<String>,
    UiForm(form): UiForm<CsrfForm>,
) -> UiResult {
    if !form_token_matches(&state, &jar, &form.csrf_token) {
        return Err(UiError::csrf());
    }
    match email::confirm(&state, &token, ip).await {
        Ok(new_email) => {
            let done = format!("Your Muster account now uses {new_email}.");
            Ok(message_page(
                StatusCode::OK,
                "Email changed",
                &[done.as_str(), "Sign in with it from now on."],
                None,
            ))
        }
        Err(AppError::Gone(message)) if message == CONFIRM_LINK_GONE => Ok(confirm_link_gone()),
        Err(AppError::Conflict(message)) => Ok(message_page(
            StatusCode::CONFLICT,
            "This email cannot be used",
            &[
                message.as_str(),
                "Ask for the change again with another address.",
            ],
            None,
        )),
        Err(other) => Err(other.into()),
    }
}

/// Signs one session out; signing out the one in use goes to the sign-in page.
pub async fn end_session(
    State(state): State<AppState>,
    viewer: UiUser,
    jar: CookieJar,
    Path(id): Path<String>,
    UiForm(form): UiForm<CsrfForm>,
) -> UiResult {
    viewer.check_csrf(&form.csrf_token)?;
    let current = service::list_sessions(&state, &viewer.caller)
        .await?
        .into_iter()
        .any(|s| s.current && s.id == id);
    match service::end_session(&state, &viewer.caller, &id).await {
        Ok(()) if current => Ok((
            jar.add(session::removal_cookie(&state)),
            Redirect::to("/signin?message=signed-out"),
        )
            .into_response()),
        Ok(()) => Ok(Redirect::to("/me/security?done=session#sessions").into_response()),
        Err(AppError::NotFound) => Err(UiError::not_found()),
        Err(other) => Err(other.into()),
    }
}

pub async fn sign_out_others(
    State(state): State<AppState>,
    viewer: UiUser,
    UiForm(form): UiForm<CsrfForm>,
) -> UiResult {
    viewer.check_csrf(&form.csrf_token)?;
    service::end_other_sessions(&state, &viewer.caller).await?;
    Ok(Redirect::to("/me/security?done=others#sessions").into_response())
}
