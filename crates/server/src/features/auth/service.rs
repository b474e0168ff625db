//! Checking a password sign-in, with throttling and no account enumeration.

use crate::error::{AppError, AppResult};
use crate::features::auth::{password, throttle};
use crate::state::AppState;
use muster_domain::{Email, UserId};
use muster_store::users;
use std::net::IpAddr;

pub const SIGN_IN_FAILED: &str = "the email or password is not correct";

/// Checks credentials with throttling; the same answer for an unknown email and a
/// wrong password.
pub async fn check_credentials(
    state: &AppState,
    email: &str,
    password: &str,
    ip: IpAddr,
) -> AppResult<UserId> {
    let email = Email::parse(email).map_err(|e| AppError::invalid("email", e.to_string()))?;
    throttle::check(state, &email, ip).await?;
    let credentials = {
        let mut conn = state.store.read().await?;
        users::credentials(&mut conn, &email).await?
    };
    let (user_id, hash) = match credentials {
        Some((id, hash)) => (Some(id), hash),
        None => (None, None),
    };
    if password::verify(hash, password.to_owned()).await {
        if let Some(user_id) = user_id {
            throttle::record_success(state, &email).await?;
            return Ok(user_id);
        }
    }
    throttle::record_failure(state, &email, ip, user_id).await?;
    Err(AppError::Unauthorized(SIGN_IN_FAILED.into()))
}
