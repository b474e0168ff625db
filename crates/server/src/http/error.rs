//! The HTTP edge's one error type, rendered as `application/problem+json`
//! (RFC 9457). Store and domain errors are mapped here, in one place.

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use muster_domain::{Denied, FieldError, Invalid};
use muster_store::StoreError;
use serde::Serialize;

pub const PROBLEM_JSON: &str = "application/problem+json";

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("{0}")]
    BadRequest(String),
    #[error("{0}")]
    Unauthorized(String),
    #[error("{0}")]
    Forbidden(String),
    #[error("not found")]
    NotFound,
    #[error("{0}")]
    Conflict(String),
    #[error("{0}")]
    Gone(String),
    #[error("{0}")]
    Invalid(Invalid),
    #[error("{0}")]
    UnsupportedMediaType(String),
    #[error("{0}")]
    PayloadTooLarge(String),
    #[error("{detail}")]
    TooManyRequests {
        detail: String,
        retry_after_secs: u64,
    },
    #[error("internal error: {0}")]
    Internal(String),
}

pub type ApiResult<T> = Result<T, ApiError>;

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
}

impl ApiError {
    pub fn status(&self) -> StatusCode {
        match self {
            ApiError::BadRequest(_) => StatusCode::BAD_REQUEST,
            ApiError::Unauthorized(_) => StatusCode::UNAUTHORIZED,
            ApiError::Forbidden(_) => StatusCode::FORBIDDEN,
            ApiError::NotFound => StatusCode::NOT_FOUND,
            ApiError::Conflict(_) => StatusCode::CONFLICT,
            ApiError::Gone(_) => StatusCode::GONE,
            ApiError::Invalid(_) => StatusCode::UNPROCESSABLE_ENTITY,
            ApiError::UnsupportedMediaType(_) => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            ApiError::PayloadTooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            ApiError::TooManyRequests { .. } => StatusCode::TOO_MANY_REQUESTS,
            ApiError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    pub fn invalid(field: &str, message: impl Into<String>) -> Self {
        ApiError::Invalid(Invalid::field(field, message))
    }

    /// The error in a sentence for a page: field messages joined, or the detail.
    pub fn user_message(&self) -> String {
        match self {
            ApiError::Invalid(invalid) => invalid
                .0
                .iter()
                .map(|e| e.message.clone())
                .collect::<Vec<_>>()
                .join("; "),
            other => other.to_string(),
        }
    }

    pub fn forbidden_role() -> Self {
        ApiError::Forbidden("your role in this organization does not allow this".into())
    }

    pub fn problem(&self) -> Problem {
        let (slug, title) = match self {
            ApiError::BadRequest(_) => ("bad-request", "Bad request"),
            ApiError::Unauthorized(_) => ("unauthorized", "Not signed in"),
            ApiError::Forbidden(_) => ("forbidden", "Not allowed"),
            ApiError::NotFound => ("not-found", "Not found"),
            ApiError::Conflict(_) => ("conflict", "Conflict"),
            ApiError::Gone(_) => ("gone", "Gone"),
            ApiError::Invalid(_) => ("validation", "Invalid input"),
            ApiError::UnsupportedMediaType(_) => {
                ("unsupported-media-type", "Unsupported media type")
            }
            ApiError::PayloadTooLarge(_) => ("payload-too-large", "Request too large"),
            ApiError::TooManyRequests { .. } => ("rate-limited", "Too many requests"),
            ApiError::Internal(_) => ("internal", "Internal error"),
        };
        let detail = match self {
            ApiError::NotFound => "the resource does not exist or is not visible to you".to_owned(),
            // The cause is logged, never sent.
            ApiError::Internal(_) => {
                "something went wrong on our side; it has been logged".to_owned()
            }
            ApiError::Invalid(invalid) => {
                let fields: Vec<&str> = invalid.0.iter().map(|e| e.field.as_str()).collect();
                format!("check these fields: {}", fields.join(", "))
            }
            other => other.to_string(),
        };
        Problem {
            kind: format!("/problems/{slug}"),
            title: title.to_owned(),
            status: self.status().as_u16(),
            detail,
            errors: match self {
                ApiError::Invalid(invalid) => Some(invalid.0.clone()),
                _ => None,
            },
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        if let ApiError::Internal(cause) = &self {
            tracing::error!(%cause, "request failed");
        }
        let problem = self.problem();
        let mut response = problem_response(self.status(), &problem);
        if let ApiError::TooManyRequests {
            retry_after_secs, ..
        } = self
        {
            if let Ok(value) = HeaderValue::from_str(&retry_after_secs.to_string()) {
                response.headers_mut().insert(header::RETRY_AFTER, value);
            }
        }
        response
    }
}

pub fn problem_response(status: StatusCode, problem: &Problem) -> Response {
    let body = serde_json::to_vec(problem).unwrap_or_else(|_| b"{}".to_vec());
    (status, [(header::CONTENT_TYPE, PROBLEM_JSON)], body).into_response()
}

impl From<StoreError> for ApiError {
    fn from(error: StoreError) -> Self {
        match error {
            StoreError::NotFound => ApiError::NotFound,
            StoreError::Conflict(what) => {
                ApiError::Conflict(format!("this conflicts with existing data ({what})"))
            }
            other => ApiError::Internal(other.to_string()),
        }
    }
}

impl From<Invalid> for ApiError {
    fn from(invalid: Invalid) -> Self {
        ApiError::Invalid(invalid)
    }
}

impl From<Denied> for ApiError {
    fn from(denied: Denied) -> Self {
        match denied {
            Denied::LastOwner => ApiError::Conflict(denied.to_string()),
            other => ApiError::Forbidden(other.to_string()),
        }
    }
}
