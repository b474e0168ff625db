//! What services return when they refuse or fail. It knows nothing of HTTP:
//! the API maps it to problem+json (`http::problem`), the web UI to a page or a
//! message next to a field (`http::ui::error`).

use muster_domain::{Denied, Invalid};
use muster_store::error::{outage_in, Outage};
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
    /// The password holds, and the account signs in with a second factor:
    /// the code is missing or wrong.
    #[error("{0}")]
    SecondFactor(String),
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
    /// The database cannot be reached or refuses work for now (it is
    /// restarting, the connections ran out); nothing was changed.
    #[error("the database is unavailable; try again shortly")]
    Unavailable,
    /// The database has no space left to write; nothing was changed.
    #[error(
        "the server's storage is full; nothing was saved. Try again once space has been freed"
    )]
    StorageFull,
    /// Our fault; the cause chain is logged, never shown.
    #[error("internal error: {0:#}")]
    Internal(anyhow::Error),
}

/// How long a client should wait before trying again after
/// [`AppError::Unavailable`] (the `Retry-After` header).
pub const UNAVAILABLE_RETRY_AFTER_SECS: u64 = 5;

pub type AppResult<T> = Result<T, AppError>;

impl AppError {
    pub fn invalid(field: &str, message: impl Into<String>) -> Self {
        AppError::Invalid(Invalid::field(field, message))
    }

    pub fn forbidden_role() -> Self {
        AppError::Denied("your role in this organization does not allow this".into())
    }

    /// An [`AppError::Internal`] whose cause is the database being out of
    /// reach or out of space becomes [`AppError::Unavailable`] or
    /// [`AppError::StorageFull`] (causes that reached an `anyhow` chain
    /// without going through `From<StoreError>`); anything else is kept.
    pub fn classified(self) -> Self {
        let AppError::Internal(cause) = &self else {
            return self;
        };
        let outage = cause.chain().find_map(outage_in);
        match outage {
            Some(outage) => {
                let error = from_outage(outage);
                log_outage(outage, &format!("{cause:#}"));
                error
            }
            None => self,
        }
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
            other => match other.outage() {
                Some(outage) => {
                    log_outage(outage, &other.to_string());
                    from_outage(outage)
                }
                None => AppError::Internal(anyhow::Error::new(other)),
            },
        }
    }
}

fn from_outage(outage: Outage) -> AppError {
    match outage {
        Outage::Unavailable => AppError::Unavailable,
        Outage::StorageFull => AppError::StorageFull,
    }
}

/// A request refused for want of the database is the operator's concern, not
/// a bug: a warning with the cause (the client gets a 503 or 507).
fn log_outage(outage: Outage, cause: &str) {
    match outage {
        Outage::Unavailable => {
            tracing::warn!(cause, "request refused: the database is unavailable");
        }
        Outage::StorageFull => {
            tracing::warn!(cause, "request refused: the database's storage is full");
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
