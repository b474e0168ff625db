//! What services return when they refuse or fail. It knows nothing of HTTP:
//! the API maps it to problem+json (`http::problem`), the web UI to a page or a
//! message next to a field (`http::ui::error`).

use muster_domain::{Denied, Invalid};
use muster_store::StoreError;

#[derive(Debug, thiserror::Error)]
pub enum AppError {
    /// The thing does not exist, or is not visible to the caller.
    #[error("not found")]
    NotFound,
    /// One or more fields are wrong; each says why.
    #[error("{0}")]
    Invalid(Invalid),
    /// The caller is known but may not do this.
    #[error("{0}")]
    Denied(String),
    /// It contradicts what exists (a duplicate, the last owner, a state that
    /// does not allow it).
    #[error("{0}")]
    Conflict(String),
    /// It existed and is over for good (a used or expired link).
    #[error("{0}")]
    Gone(String),
    /// No credentials, or credentials that do not hold.
    #[error("{0}")]
    Unauthorized(String),
    /// Input that cannot be read at all (a cursor we never issued, a CSV
    /// without a header).
    #[error("{0}")]
    Malformed(String),
    /// Input over its size bound.
    #[error("{0}")]
    TooLarge(String),
    /// Too many attempts; try again after the given seconds.
    #[error("{detail}")]
    Throttled {
        detail: String,
        retry_after_secs: u64,
    },
    /// Our fault; the cause chain is logged, never shown.
    #[error("internal error: {0:#}")]
    Internal(anyhow::Error),
}

pub type AppResult<T> = Result<T, AppError>;

impl AppError {
    pub fn invalid(field: &str, message: impl Into<String>) -> Self {
        AppError::Invalid(Invalid::field(field, message))
    }

    pub fn forbidden_role() -> Self {
        AppError::Denied("your role in this organization does not allow this".into())
    }

    /// The error in a sentence for a page: field messages joined, or the detail.
    pub fn user_message(&self) -> String {
        match self {
            AppError::Invalid(invalid) => invalid
                .0
                .iter()
                .map(|e| e.message.clone())
                .collect::<Vec<_>>()
                .join("; "),
            other => other.to_string(),
        }
    }
}

impl From<StoreError> for AppError {
    fn from(error: StoreError) -> Self {
        match error {
            StoreError::NotFound => AppError::NotFound,
            StoreError::Conflict(what) => {
                AppError::Conflict(format!("this conflicts with existing data ({what})"))
            }
            other => AppError::Internal(anyhow::Error::new(other)),
        }
    }
}

impl From<Invalid> for AppError {
    fn from(invalid: Invalid) -> Self {
        AppError::Invalid(invalid)
    }
}

impl From<Denied> for AppError {
    fn from(denied: Denied) -> Self {
        match denied {
            Denied::LastOwner => AppError::Conflict(denied.to_string()),
            other => AppError::Denied(other.to_string()),
        }
    }
}

impl From<minijinja::Error> for AppError {
    fn from(error: minijinja::Error) -> Self {
        AppError::Internal(anyhow::Error::new(error).context("a template failed"))
    }
}
