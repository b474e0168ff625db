//! `/api/v1/me/mfa/totp`: one's own two-factor sign-in.

use super::service::{self, Setup};
use crate::error::{AppError, AppResult};
use crate::features::auth::caller::{Caller, Via};
use crate::http::extract::{AppJson, ClientIp};
use crate::http::problem::Problem;
use crate::state::AppState;
use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use utoipa::ToSchema;

/// Turning two-factor sign-in on takes a signed-in session: a token that
/// leaked must not be able to tie its owner's account to someone else's app.
fn require_session(caller: &Caller) -> AppResult<()> {
    match caller.via {
        Via::Session { .. } => Ok(()),
        _ => Err(AppError::Denied(
            "two-factor sign-in is turned on from a signed-in session, not with a token".into(),
        )),
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct TwoFactorStatus {
    /// Signing in takes a code besides the password.
    pub enabled: bool,
    #[serde(with = "time::serde::rfc3339::option")]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub enabled_at: Option<OffsetDateTime>,
    /// A setup waits for its first code.
    pub pending: bool,
    pub recovery_codes_left: i64,
}

/// Whether your account signs in with two factors.
#[utoipa::path(get, path = "/me/mfa/totp", tag = "me",
    responses((status = 200, body = TwoFactorStatus), (status = 401, body = Problem)))]
pub async fn status(
    State(state): State<AppState>,
    caller: Caller,
) -> AppResult<Json<TwoFactorStatus>> {
    let status = service::status(&state, caller.user_id).await?;
    Ok(Json(TwoFactorStatus {
        enabled: status.since.is_some(),
        enabled_at: status.since,
        pending: status.pending,
        recovery_codes_left: status.recovery_codes_left,
    }))
}

/// Starts setting up two-factor sign-in: a new secret for an authenticator
/// app (typed, as an `otpauth://` link, or scanned as a QR code). Nothing
/// changes at sign-in until a first code confirms it. With a session only;
/// 409 when it is on already.
#[utoipa::path(post, path = "/me/mfa/totp", tag = "me",
    responses((status = 200, body = Setup), (status = 401, body = Problem), (status = 403, body = Problem),
              (status = 409, body = Problem)))]
pub async fn start(State(state): State<AppState>, caller: Caller) -> AppResult<Json<Setup>> {
    require_session(&caller)?;
    Ok(Json(service::start(&state, caller.user_id).await?))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CodeGiven {
    /// The 6-digit code the authenticator app shows now.
    pub code: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct RecoveryCodes {
    /// Each signs in once in place of a code; shown this once only.
    pub recovery_codes: Vec<String>,
}

/// Turns two-factor sign-in on with a first code of the app, and returns
/// ten recovery codes (shown this once). With a session only.
#[utoipa::path(post, path = "/me/mfa/totp/confirm", tag = "me", request_body = CodeGiven,
    responses((status = 200, body = RecoveryCodes), (status = 401, body = Problem), (status = 403, body = Problem),
              (status = 409, body = Problem), (status = 422, body = Problem)))]
pub async fn confirm(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    caller: Caller,
    AppJson(given): AppJson<CodeGiven>,
) -> AppResult<Json<RecoveryCodes>> {
    require_session(&caller)?;
    let recovery_codes = service::confirm(&state, caller.user_id, &given.code, ip).await?;
    Ok(Json(RecoveryCodes { recovery_codes }))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PasswordGiven {
    /// Your password.
    pub password: String,
}

/// Turns two-factor sign-in off (your password confirms it); the secret and
/// the recovery codes stop working.
#[utoipa::path(delete, path = "/me/mfa/totp", tag = "me", request_body = PasswordGiven,
    responses((status = 204), (status = 401, body = Problem), (status = 403, body = Problem),
              (status = 409, body = Problem), (status = 422, body = Problem), (status = 429, body = Problem)))]
pub async fn turn_off(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    caller: Caller,
    AppJson(given): AppJson<PasswordGiven>,
) -> AppResult<StatusCode> {
    service::turn_off(&state, caller.user_id, &given.password, ip).await?;
    Ok(StatusCode::NO_CONTENT)
}
