//! Errors of web pages: a redirect to sign-in, or an HTML page that says what
//! happened.

use crate::error::AppError;
use crate::http::problem;
use crate::http::ui::templates;
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Redirect, Response};
use minijinja::context;

#[derive(Debug)]
pub enum UiError {
    /// Not signed in: go to the sign-in page, then back to `next`.
    SignIn {
        next: String,
    },
    /// Somewhere else is the right page (e.g. no Management role: `/no-access`).
    Redirect(String),
    Page {
        status: StatusCode,
        heading: String,
        text: String,
    },
    Internal(anyhow::Error),
}

pub type UiResult<T = Response> = Result<T, UiError>;

impl UiError {
    pub fn not_found() -> Self {
        UiError::Page {
            status: StatusCode::NOT_FOUND,
            heading: "Page not found".into(),
            text: "This page does not exist, or you do not have access to it.".into(),
        }
    }

    pub fn csrf() -> Self {
        UiError::Page {
            status: StatusCode::FORBIDDEN,
            heading: "This form has expired".into(),
            text: "Go back, reload the page and submit the form again.".into(),
        }
    }
}

impl IntoResponse for UiError {
    fn into_response(self) -> Response {
        match self {
            UiError::SignIn { next } => {
                let target = if next == "/" || next.is_empty() {
                    "/signin".to_owned()
                } else {
                    format!("/signin?next={}", urlencode(&next))
                };
                Redirect::to(&target).into_response()
            }
            UiError::Redirect(to) => Redirect::to(&to).into_response(),
            UiError::Page {
                status,
                heading,
                text,
            } => message_page(status, &heading, &[text.as_str()], None),
            UiError::Internal(cause) => {
                tracing::error!(cause = format!("{cause:#}"), "page failed");
                message_page(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "Something went wrong",
                    &["It has been logged. Try again in a moment."],
                    None,
                )
            }
        }
    }
}

pub fn message_page(
    status: StatusCode,
    heading: &str,
    paragraphs: &[&str],
    csrf_token: Option<&str>,
) -> Response {
    let html = templates::get()
        .and_then(|t| t.render("message.html", context! { heading, paragraphs, csrf_token }))
        .unwrap_or_else(|_| heading.to_owned());
    (status, Html(html)).into_response()
}

impl From<AppError> for UiError {
    fn from(error: AppError) -> Self {
        match error.classified() {
            AppError::NotFound => UiError::not_found(),
            AppError::Internal(cause) => UiError::Internal(cause),
            other => UiError::Page {
                status: problem::status(&other),
                heading: problem::title(&other).to_owned(),
                text: other.to_string(),
            },
        }
    }
}

impl From<muster_store::StoreError> for UiError {
    fn from(error: muster_store::StoreError) -> Self {
        AppError::from(error).into()
    }
}

impl From<minijinja::Error> for UiError {
    fn from(error: minijinja::Error) -> Self {
        AppError::from(error).into()
    }
}

/// Percent-encodes a local path for a query parameter.
pub fn urlencode(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for byte in value.bytes() {
        if byte.is_ascii_alphanumeric() || b"-_.~/".contains(&byte) {
            out.push(char::from(byte));
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

/// A redirect target is only ever a path on this site (no open redirects).
pub fn safe_local_path(candidate: &str) -> Option<&str> {
    let ok = candidate.starts_with('/')
        && !candidate.starts_with("//")
        && !candidate.starts_with("/\\")
        && !candidate.chars().any(|c| c.is_control());
    ok.then_some(candidate)
}

/// Renders a template, or the error page.
pub fn page(name: &str, context: minijinja::Value) -> UiResult {
    Ok(Html(templates::get()?.render(name, context)?).into_response())
}
