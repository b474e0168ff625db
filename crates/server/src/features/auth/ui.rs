//! Sign in and sign out in the browser.

use crate::error::AppError;
use crate::features::auth::caller::Via;
use crate::features::auth::service::{check_credentials, check_second_step, SignIn};
use crate::features::auth::session;
use crate::http::extract::ClientIp;
use crate::http::ui::error::{page, safe_local_path, urlencode, UiError, UiResult};
use crate::http::ui::layout::{UiForm, UiUser};
use crate::state::AppState;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum_extra::extract::CookieJar;
use minijinja::context;
use muster_domain::{secret, UserId};
use serde::Deserialize;

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct SignInQuery {
    next: String,
    message: String,
}

/// A form shown before sign-in is protected by a double-submit cookie: the same
/// value in an HttpOnly cookie and in the form. The value is a random one with
/// its time of issue, signed with the server key, so a value planted in the
/// browser by someone else (a cookie set from a sibling domain, say) is
/// refused unless this server issued it in the last [`FORM_TOKEN_TTL`].
pub fn form_token(state: &AppState, jar: CookieJar) -> (CookieJar, String) {
    match jar.get(session::FORM_COOKIE) {
        Some(cookie) if issued_by_us(state, cookie.value()) => {
            let value = cookie.value().to_owned();
            (jar, value)
        }
        _ => {
            let random = secret::generate(&mut rand::rngs::OsRng);
            let issued = state.now().unix_timestamp();
            let value = state.key.sign(&format!("{random}.{issued}"));
            (jar.add(session::form_cookie(state, value.clone())), value)
        }
    }
}

/// How long a sign-in (or setup, or invitation) form stays good to submit.
const FORM_TOKEN_TTL: time::Duration = time::Duration::hours(12);

fn issued_by_us(state: &AppState, value: &str) -> bool {
    let Some(signed) = state.key.verify(value) else {
        return false;
    };
    let issued = signed
        .rsplit_once('.')
        .and_then(|(_, at)| at.parse::<i64>().ok())
        .and_then(|at| time::OffsetDateTime::from_unix_timestamp(at).ok());
    issued.is_some_and(|at| state.now() - at < FORM_TOKEN_TTL)
}

pub fn form_token_matches(state: &AppState, jar: &CookieJar, submitted: &str) -> bool {
    jar.get(session::FORM_COOKIE).is_some_and(|cookie| {
        issued_by_us(state, cookie.value()) && session::csrf_matches(cookie.value(), submitted)
    })
}

pub async fn show(
    State(state): State<AppState>,
    jar: CookieJar,
    Query(query): Query<SignInQuery>,
) -> UiResult {
    let (jar, csrf_token) = form_token(&state, jar);
    let message = match query.message.as_str() {
        "signed-out" => "You have been signed out.",
        "password-reset" => "Your password was changed. Sign in with the new one.",
        _ => "",
    };
    let body = page(
        "signin.html",
        context! { csrf_token, next => query.next, message, email => "", errors => context! {} },
    )?;
    Ok((jar, body).into_response())
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct SignInForm {
    csrf_token: String,
    next: String,
    email: String,
    password: String,
}

pub async fn submit(
    State(state): State<AppState>,
    origin: session::Origin,
    ClientIp(ip): ClientIp,
    jar: CookieJar,
    UiForm(form): UiForm<SignInForm>,
) -> UiResult {
    if !form_token_matches(&state, &jar, &form.csrf_token) {
        return Err(UiError::csrf());
    }
    let user_id = match check_credentials(&state, &form.email, &form.password, None, ip).await {
        Ok(SignIn::Done(user_id)) => user_id,
        // The password held; the code is asked for on a page of its own.
        Ok(SignIn::CodeNeeded(user_id)) => {
            let cookie = second_step_cookie(&state, user_id);
            let to = format!("/signin/code?next={}", urlencode(&form.next));
            return Ok((jar.add(cookie), Redirect::to(&to)).into_response());
        }
        Err(error) => {
            let (status, errors) = match &error {
                AppError::Invalid(invalid) => (
                    StatusCode::UNPROCESSABLE_ENTITY,
                    context! { email => invalid.message_for("email") },
                ),
                AppError::Unauthorized(_) | AppError::Throttled { .. } => (
                    crate::http::problem::status(&error),
                    context! { form => error.to_string() },
                ),
                _ => return Err(error.into()),
            };
            let (jar, csrf_token) = form_token(&state, jar);
            let html = crate::http::ui::templates::get()?.render(
                "signin.html",
                context! { csrf_token, next => form.next, email => form.email, errors, message => "" },
            )?;
            return Ok((status, jar, Html(html)).into_response());
        }
    };
    let previous = jar.get(session::COOKIE).map(|c| c.value().to_owned());
    let new = session::start(&state, user_id, previous.as_deref(), &origin).await?;
    let target = safe_local_path(&form.next).unwrap_or("/").to_owned();
    Ok((jar.add(new.cookie), Redirect::to(&target)).into_response())
}

/// The cookie that carries a sign-in from its password to its code: the
/// account's id and the time, signed with the server key, for
/// [`SECOND_STEP_TTL`]. It lets its holder try codes, no more.
const SECOND_STEP_COOKIE: &str = "muster_second_step";
const SECOND_STEP_TTL: time::Duration = time::Duration::minutes(5);
/// What the signed value starts with, so that no other value the server
/// signs (a form token, a flash) can pass for one.
const SECOND_STEP_PURPOSE: &str = "second-step:";

fn second_step_cookie(
    state: &AppState,
    user_id: UserId,
) -> axum_extra::extract::cookie::Cookie<'static> {
    let issued = state.now().unix_timestamp();
    let value = state
        .key
        .sign(&format!("{SECOND_STEP_PURPOSE}{user_id}.{issued}"));
    let mut cookie = session::site_cookie(
        state,
        SECOND_STEP_COOKIE,
        value,
        axum_extra::extract::cookie::SameSite::Strict,
    );
    cookie.set_max_age(SECOND_STEP_TTL);
    cookie
}

fn second_step_removal(state: &AppState) -> axum_extra::extract::cookie::Cookie<'static> {
    let mut cookie = session::site_cookie(
        state,
        SECOND_STEP_COOKIE,
        String::new(),
        axum_extra::extract::cookie::SameSite::Strict,
    );
    cookie.make_removal();
    cookie
}

/// The account whose password held in the last [`SECOND_STEP_TTL`].
fn second_step_of(state: &AppState, jar: &CookieJar) -> Option<UserId> {
    let cookie = jar.get(SECOND_STEP_COOKIE)?;
    let signed = state.key.verify(cookie.value())?;
    let (user, at) = signed.strip_prefix(SECOND_STEP_PURPOSE)?.rsplit_once('.')?;
    let at = time::OffsetDateTime::from_unix_timestamp(at.parse().ok()?).ok()?;
    let fresh = state.now() - at < SECOND_STEP_TTL;
    fresh.then(|| user.parse().ok()).flatten()
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct NextQuery {
    next: String,
}

fn code_page(
    state: &AppState,
    jar: CookieJar,
    status: StatusCode,
    next: &str,
    errors: minijinja::Value,
) -> UiResult {
    let (jar, csrf_token) = form_token(state, jar);
    let html = crate::http::ui::templates::get()?
        .render("signin_code.html", context! { csrf_token, next, errors })?;
    Ok((status, jar, Html(html)).into_response())
}

/// The second step of a sign-in: the code.
pub async fn show_code(
    State(state): State<AppState>,
    jar: CookieJar,
    Query(query): Query<NextQuery>,
) -> UiResult {
    if second_step_of(&state, &jar).is_none() {
        return Ok(Redirect::to("/signin").into_response());
    }
    code_page(&state, jar, StatusCode::OK, &query.next, context! {})
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct CodeForm {
    csrf_token: String,
    next: String,
    code: String,
}

pub async fn submit_code(
    State(state): State<AppState>,
    origin: session::Origin,
    ClientIp(ip): ClientIp,
    jar: CookieJar,
    UiForm(form): UiForm<CodeForm>,
) -> UiResult {
    if !form_token_matches(&state, &jar, &form.csrf_token) {
        return Err(UiError::csrf());
    }
    let Some(user_id) = second_step_of(&state, &jar) else {
        let message = "The sign-in took too long. Sign in again.";
        let (jar, csrf_token) = form_token(&state, jar);
        let html = crate::http::ui::templates::get()?.render(
            "signin.html",
            context! { csrf_token, next => form.next, email => "", errors => context! { form => message }, message => "" },
        )?;
        return Ok((StatusCode::UNAUTHORIZED, jar, Html(html)).into_response());
    };
    match check_second_step(&state, user_id, &form.code, ip).await {
        Ok(()) => {}
        Err(AppError::SecondFactor(_)) => {
            let errors = context! { code => "This code is not right, or was used already. Type the code the app shows now, or an unused recovery code." };
            return code_page(&state, jar, StatusCode::UNAUTHORIZED, &form.next, errors);
        }
        Err(error @ AppError::Throttled { .. }) => {
            let errors = context! { form => error.user_message() };
            return code_page(
                &state,
                jar,
                StatusCode::TOO_MANY_REQUESTS,
                &form.next,
                errors,
            );
        }
        Err(other) => return Err(other.into()),
    }
    let previous = jar.get(session::COOKIE).map(|c| c.value().to_owned());
    let new = session::start(&state, user_id, previous.as_deref(), &origin).await?;
    let target = safe_local_path(&form.next).unwrap_or("/").to_owned();
    let jar = jar.add(new.cookie).add(second_step_removal(&state));
    Ok((jar, Redirect::to(&target)).into_response())
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct CsrfForm {
    pub csrf_token: String,
}

pub async fn sign_out(
    State(state): State<AppState>,
    viewer: Result<UiUser, UiError>,
    jar: CookieJar,
    UiForm(form): UiForm<CsrfForm>,
) -> UiResult<Response> {
    if let Ok(viewer) = viewer {
        viewer.check_csrf(&form.csrf_token)?;
        if let Via::Session { id_hash, .. } = &viewer.caller.via {
            session::end(&state, id_hash).await?;
        }
    }
    Ok((
        jar.add(session::removal_cookie(&state)),
        Redirect::to("/signin?message=signed-out"),
    )
        .into_response())
}
