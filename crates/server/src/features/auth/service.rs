//! Checking a sign-in (password, then the second factor when the account has
//! one), with throttling and no account enumeration; and the password check
//! that guards changes to one's own account.

use crate::error::{AppError, AppResult};
use crate::features::auth::{password, throttle};
use crate::features::two_factor::service as two_factor;
use crate::state::AppState;
use muster_domain::{Email, UserId};
use muster_store::users::{self, User};
use std::net::IpAddr;

pub const SIGN_IN_FAILED: &str = "the email or password is not correct";

/// Where a sign-in stands once its password held.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SignIn {
    /// Every factor held: the person is in.
    Done(UserId),
    /// The account signs in with two factors and no code came.
    CodeNeeded(UserId),
}

/// Checks credentials with throttling; the same answer for an unknown email and a
/// wrong password. An account with two-factor sign-in also needs `code` (a
/// code of its authenticator app or an unused recovery code); without one the
/// sign-in waits for it, and a wrong one counts as a failed sign-in
/// ([`AppError::SecondFactor`]). The account's failures are forgiven only once
/// every factor held.
pub async fn check_credentials(
    state: &AppState,
    email: &str,
    password: &str,
    code: Option<&str>,
    ip: IpAddr,
) -> AppResult<SignIn> {
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
            if !two_factor::second_factor(state, user_id, &email, code, ip).await? {
                return Ok(SignIn::CodeNeeded(user_id));
            }
            throttle::record_success(state, &email).await?;
            return Ok(SignIn::Done(user_id));
        }
    }
    throttle::record_failure(state, &email, ip, user_id).await?;
    Err(AppError::Unauthorized(SIGN_IN_FAILED.into()))
}

/// The second step of a web sign-in whose password held: `code` for the
/// account of `user_id`, throttled as sign-ins are.
pub async fn check_second_step(
    state: &AppState,
    user_id: UserId,
    code: &str,
    ip: IpAddr,
) -> AppResult<()> {
    let user = {
        let mut conn = state.store.read().await?;
        users::find(&mut conn, user_id).await?
    };
    let email = Email::parse(&user.email).map_err(|e| AppError::Internal(e.into()))?;
    throttle::check(state, &email, ip).await?;
    if !two_factor::second_factor(state, user_id, &email, Some(code), ip).await? {
        return Err(AppError::SecondFactor(two_factor::CODE_NEEDED.into()));
    }
    throttle::record_success(state, &email).await?;
    Ok(())
}

/// Checks that `given` is `user`'s password before a change to their account.
/// Throttled as sign-ins are, and a wrong one counts as a failed sign-in (so
/// a borrowed session cannot try many); it is reported on `field`.
pub async fn confirm_password(
    state: &AppState,
    user: &User,
    given: &str,
    field: &str,
    ip: IpAddr,
) -> AppResult<()> {
    let email = Email::parse(&user.email).map_err(|e| AppError::Internal(e.into()))?;
    throttle::check(state, &email, ip).await?;
    let stored = {
        let mut conn = state.store.read().await?;
        users::credentials(&mut conn, &email)
            .await?
            .and_then(|(_, hash)| hash)
    };
    if password::verify(stored, given.to_owned()).await {
        return Ok(());
    }
    throttle::record_failure(state, &email, ip, Some(user.id)).await?;
    let message = if field == "current_password" {
        "this is not your current password"
    } else {
        "this is not your password"
    };
    Err(AppError::invalid(field, message))
}
