//! The API's answer to an [`AppError`]: `application/problem+json` (RFC 9457),
//! mapped here in one place.

use crate::error::{AppError, UNAVAILABLE_RETRY_AFTER_SECS};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use muster_domain::FieldError;
use serde::Serialize;

pub const PROBLEM_JSON: &str = "application/problem+json";

/// The body of every error response.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Problem {
    /// A URI reference naming the kind of problem.
    #[serde(rename = "type")]
    pub kind: String,
    pub title: String,
    pub status: u16,
    pub detail: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub errors: Option<Vec<FieldError>>,
    /// `true` when the password was right and a two-factor code (or a
    /// recovery code) must come with it: send `code` with the sign-in.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mfa_required: Option<bool>,
}

pub fn status(error: &AppError) -> StatusCode {
    match error {
        AppError::NotFound => StatusCode::NOT_FOUND,
        AppError::Invalid(_) => StatusCode::UNPROCESSABLE_ENTITY,
        AppError::Denied(_) => StatusCode::FORBIDDEN,
        AppError::Conflict(_) => StatusCode::CONFLICT,
        AppError::Gone(_) => StatusCode::GONE,
        AppError::Unauthorized(_) | AppError::SecondFactor(_) => StatusCode::UNAUTHORIZED,
        AppError::Malformed(_) => StatusCode::BAD_REQUEST,
        AppError::TooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
        AppError::Throttled { .. } => StatusCode::TOO_MANY_REQUESTS,
        AppError::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
        AppError::StorageFull => StatusCode::INSUFFICIENT_STORAGE,
        AppError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
    }
}

/// The short title of the kind of error ("Not allowed").
pub fn title(error: &AppError) -> &'static str {
    slug_and_title(error).1
}

fn slug_and_title(error: &AppError) -> (&'static str, &'static str) {
    match error {
        AppError::Malformed(_) => ("bad-request", "Bad request"),
        AppError::Unauthorized(_) => ("unauthorized", "Not signed in"),
        AppError::SecondFactor(_) => ("two-factor-required", "Two-factor code needed"),
        AppError::Denied(_) => ("forbidden", "Not allowed"),
        AppError::NotFound => ("not-found", "Not found"),
        AppError::Conflict(_) => ("conflict", "Conflict"),
        AppError::Gone(_) => ("gone", "Gone"),
        AppError::Invalid(_) => ("validation", "Invalid input"),
        AppError::TooLarge(_) => ("payload-too-large", "Request too large"),
        AppError::Throttled { .. } => ("rate-limited", "Too many requests"),
        AppError::Unavailable => ("unavailable", "Service unavailable"),
        AppError::StorageFull => ("storage-full", "Storage full"),
        AppError::Internal(_) => ("internal", "Internal error"),
    }
}

pub fn problem(error: &AppError) -> Problem {
    let (slug, title) = slug_and_title(error);
    let detail = match error {
        AppError::NotFound => "the resource does not exist or is not visible to you".to_owned(),
        // The cause is logged, never sent.
        AppError::Internal(_) => "something went wrong on our side; it has been logged".to_owned(),
        AppError::Invalid(invalid) => {
            let fields: Vec<&str> = invalid.0.iter().map(|e| e.field.as_str()).collect();
            format!("check these fields: {}", fields.join(", "))
        }
        other => other.to_string(),
    };
    Problem {
        kind: format!("/problems/{slug}"),
        title: title.to_owned(),
        status: status(error).as_u16(),
        detail,
        errors: match error {
            AppError::Invalid(invalid) => Some(invalid.0.clone()),
            _ => None,
        },
        mfa_required: matches!(error, AppError::SecondFactor(_)).then_some(true),
    }
}

impl IntoResponse for AppError {
    fn into_response(self) -> Response {
        // A database outage that reached here as an internal error is still
        // a 503 or 507 (and logged as a warning there), not a 500.
        let error = self.classified();
        if let AppError::Internal(cause) = &error {
            tracing::error!(cause = format!("{cause:#}"), "request failed");
        }
        let mut response = problem_response(status(&error), &problem(&error));
        let retry_after = match error {
            AppError::Throttled {
                retry_after_secs, ..
            } => Some(retry_after_secs),
            AppError::Unavailable => Some(UNAVAILABLE_RETRY_AFTER_SECS),
            _ => None,
        };
        if let Some(secs) = retry_after {
            if let Ok(value) = HeaderValue::from_str(&secs.to_string()) {
                response.headers_mut().insert(header::RETRY_AFTER, value);
            }
        }
        response
    }
}

/// What an API extractor or handler refuses beyond the services' errors: a
/// body in a format this route does not read.
#[derive(Debug)]
pub enum Rejection {
    App(AppError),
    UnsupportedMediaType(String),
}

impl From<AppError> for Rejection {
    fn from(error: AppError) -> Self {
        Rejection::App(error)
    }
}

impl From<muster_store::StoreError> for Rejection {
    fn from(error: muster_store::StoreError) -> Self {
        Rejection::App(error.into())
    }
}

impl IntoResponse for Rejection {
    fn into_response(self) -> Response {
        match self {
            Rejection::App(error) => error.into_response(),
            Rejection::UnsupportedMediaType(detail) => problem_response(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                &Problem {
                    kind: "/problems/unsupported-media-type".into(),
                    title: "Unsupported media type".into(),
                    status: StatusCode::UNSUPPORTED_MEDIA_TYPE.as_u16(),
                    detail,
                    errors: None,
                    mfa_required: None,
                },
            ),
        }
    }
}

pub fn problem_response(status: StatusCode, problem: &Problem) -> Response {
    let body = serde_json::to_vec(problem).unwrap_or_else(|_| b"{}".to_vec());
    (status, [(header::CONTENT_TYPE, PROBLEM_JSON)], body).into_response()
}
