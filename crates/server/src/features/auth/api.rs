//! `POST /api/v1/auth/login` and `/logout`: session sign-in for the API.

use super::service::{self, SignIn};
use crate::error::AppError;
use crate::error::AppResult;
use crate::features::auth::caller::{Caller, Via};
use crate::features::auth::session;
use crate::features::profile::views as me;
use crate::features::profile::views::MeView;
use crate::features::two_factor::service::CODE_NEEDED;
use crate::http::extract::{AppJson, ClientIp};
use crate::http::problem::Problem;
use crate::state::AppState;
use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use axum_extra::extract::CookieJar;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

#[derive(Debug, Deserialize, ToSchema)]
pub struct LoginRequest {
    pub email: String,
    pub password: String,
    /// For an account with two-factor sign-in: the 6-digit code of its
    /// authenticator app, or an unused recovery code. Without it such an
    /// account's sign-in answers 401 with `"mfa_required": true`.
    pub code: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct LoginResponse {
    pub user: MeView,
    /// Send as `X-CSRF-Token` with every state-changing request of this session.
    pub csrf_token: String,
}

/// Sign in: starts a session (cookie) and returns its CSRF token.
#[utoipa::path(post, path = "/auth/login", tag = "auth", request_body = LoginRequest, security(()),
    responses((status = 200, body = LoginResponse), (status = 401, body = Problem),
              (status = 422, body = Problem), (status = 429, body = Problem)))]
pub async fn login(
    State(state): State<AppState>,
    origin: session::Origin,
    ClientIp(ip): ClientIp,
    jar: CookieJar,
    AppJson(request): AppJson<LoginRequest>,
) -> AppResult<(CookieJar, Json<LoginResponse>)> {
    let signed_in = service::check_credentials(
        &state,
        &request.email,
        &request.password,
        request.code.as_deref(),
        ip,
    )
    .await?;
    let user_id = match signed_in {
        SignIn::Done(user_id) => user_id,
        SignIn::CodeNeeded(_) => return Err(AppError::SecondFactor(CODE_NEEDED.into())),
    };
    let previous = jar.get(session::COOKIE).map(|c| c.value().to_owned());
    let new = session::start(&state, user_id, previous.as_deref(), &origin).await?;
    let mut conn = state.store.read().await?;
    let user = me::load(&mut conn, user_id).await?;
    Ok((
        jar.add(new.cookie),
        Json(LoginResponse {
            user,
            csrf_token: new.csrf_token,
        }),
    ))
}

/// Sign out: ends the session.
#[utoipa::path(post, path = "/auth/logout", tag = "auth",
    responses((status = 204), (status = 401, body = Problem), (status = 403, body = Problem)))]
pub async fn logout(
    State(state): State<AppState>,
    caller: Caller,
    jar: CookieJar,
) -> AppResult<(CookieJar, StatusCode)> {
    if let Via::Session { id_hash, .. } = &caller.via {
        session::end(&state, id_hash).await?;
    }
    Ok((
        jar.add(session::removal_cookie(&state)),
        StatusCode::NO_CONTENT,
    ))
}
