//! Forgotten password (`/auth/password-reset`), a new password
//! (`/me/password`), a new email (`/me/email`, `/auth/email-confirm`) and
//! one's sessions (`/me/sessions`).

use super::email;
use super::service::{self, SessionView};
use crate::error::AppResult;
use crate::features::auth::caller::Caller;
use crate::http::extract::{AppJson, ClientIp};
use crate::http::problem::Problem;
use crate::state::AppState;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

#[derive(Debug, Deserialize, ToSchema)]
pub struct ResetRequest {
    pub email: String,
}

/// Forgot password: mails a link that sets a new one (valid one hour, once).
/// The answer is the same whether or not the address has an account.
#[utoipa::path(post, path = "/auth/password-reset", tag = "auth", request_body = ResetRequest, security(()),
    responses((status = 202), (status = 422, body = Problem), (status = 429, body = Problem)))]
pub async fn request_reset(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    AppJson(request): AppJson<ResetRequest>,
) -> AppResult<StatusCode> {
    service::request_reset(&state, &request.email, ip).await?;
    Ok(StatusCode::ACCEPTED)
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct NewPassword {
    pub password: String,
}

/// Sets a new password with the token of a reset link; every session of the
/// account ends, and a mail tells its owner.
#[utoipa::path(post, path = "/auth/password-reset/{token}", tag = "auth", request_body = NewPassword, security(()),
    params(("token" = String, Path, description = "The token of the reset link")),
    responses((status = 204), (status = 410, body = Problem), (status = 422, body = Problem)))]
pub async fn complete_reset(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    Path(token): Path<String>,
    AppJson(request): AppJson<NewPassword>,
) -> AppResult<StatusCode> {
    service::complete_reset(&state, &token, &request.password, ip).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct PasswordChange {
    pub current_password: String,
    pub new_password: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct SignedOut {
    /// How many other sessions ended.
    pub signed_out: u64,
}

/// Changes your password; your other sessions end.
#[utoipa::path(post, path = "/me/password", tag = "me", request_body = PasswordChange,
    responses((status = 200, body = SignedOut), (status = 401, body = Problem), (status = 403, body = Problem),
              (status = 422, body = Problem), (status = 429, body = Problem)))]
pub async fn change_password(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    caller: Caller,
    AppJson(request): AppJson<PasswordChange>,
) -> AppResult<Json<SignedOut>> {
    let signed_out = service::change_password(
        &state,
        &caller,
        &request.current_password,
        &request.new_password,
        ip,
    )
    .await?;
    Ok(Json(SignedOut { signed_out }))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EmailChange {
    /// The new address.
    pub email: String,
    /// Your current password.
    pub password: String,
}

/// Asks to change your email: a link goes to the new address (valid 24
/// hours, once) and a notice to the current one; nothing changes until the
/// link is used. 409 when another account has the address.
#[utoipa::path(post, path = "/me/email", tag = "me", request_body = EmailChange,
    responses((status = 202), (status = 401, body = Problem), (status = 403, body = Problem),
              (status = 409, body = Problem), (status = 422, body = Problem), (status = 429, body = Problem)))]
pub async fn change_email(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    caller: Caller,
    AppJson(request): AppJson<EmailChange>,
) -> AppResult<StatusCode> {
    email::request_change(&state, &caller, &request.email, &request.password, ip).await?;
    Ok(StatusCode::ACCEPTED)
}

#[derive(Debug, Serialize, ToSchema)]
pub struct EmailConfirmed {
    /// The account's email from now on.
    pub email: String,
}

/// Confirms an email change with the token of its link; the account's email
/// is the new one from now on, and the old address gets a notice.
#[utoipa::path(post, path = "/auth/email-confirm/{token}", tag = "auth", security(()),
    params(("token" = String, Path, description = "The token of the confirmation link")),
    responses((status = 200, body = EmailConfirmed), (status = 409, body = Problem), (status = 410, body = Problem)))]
pub async fn confirm_email(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    Path(token): Path<String>,
) -> AppResult<Json<EmailConfirmed>> {
    let email = email::confirm(&state, &token, ip).await?;
    Ok(Json(EmailConfirmed {
        email: email.as_str().to_owned(),
    }))
}

/// Your signed-in sessions, most recently used first.
#[utoipa::path(get, path = "/me/sessions", tag = "me",
    responses((status = 200, body = [SessionView]), (status = 401, body = Problem)))]
pub async fn list_sessions(
    State(state): State<AppState>,
    caller: Caller,
) -> AppResult<Json<Vec<SessionView>>> {
    Ok(Json(service::list_sessions(&state, &caller).await?))
}

/// Signs one of your sessions out.
#[utoipa::path(delete, path = "/me/sessions/{id}", tag = "me",
    params(("id" = String, Path, description = "The session's id from the list")),
    responses((status = 204), (status = 401, body = Problem), (status = 403, body = Problem),
              (status = 404, body = Problem)))]
pub async fn end_session(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> AppResult<StatusCode> {
    service::end_session(&state, &caller, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Signs out every session of yours but the one making this request.
#[utoipa::path(post, path = "/me/sessions/sign-out-others", tag = "me",
    responses((status = 200, body = SignedOut), (status = 401, body = Problem), (status = 403, body = Problem)))]
pub async fn sign_out_others(
    State(state): State<AppState>,
    caller: Caller,
) -> AppResult<Json<SignedOut>> {
    let signed_out = service::end_other_sessions(&state, &caller).await?;
    Ok(Json(SignedOut { signed_out }))
}
