//! `GET/PATCH /api/v1/me`: the caller's own profile.

use super::service::{self, MeUpdate};
use super::views;
use crate::error::AppResult;
use crate::features::auth::caller::Caller;
use crate::features::profile::views::MeView;
use crate::http::extract::AppJson;
use crate::state::AppState;
use axum::extract::State;
use axum::Json;
use muster_store::StoreError;

/// Your profile and memberships.
#[utoipa::path(get, path = "/me", tag = "me",
    responses((status = 200, body = MeView), (status = 401, body = crate::http::problem::Problem)))]
pub async fn get_me(State(state): State<AppState>, caller: Caller) -> AppResult<Json<MeView>> {
    let mut conn = state.store.read().await?;
    Ok(Json(views::load(&mut conn, caller.user_id).await?))
}

/// Change your profile.
#[utoipa::path(patch, path = "/me", tag = "me", request_body = MeUpdate,
    responses((status = 200, body = MeView), (status = 401, body = crate::http::problem::Problem),
              (status = 422, body = crate::http::problem::Problem)))]
pub async fn patch_me(
    State(state): State<AppState>,
    caller: Caller,
    AppJson(update): AppJson<MeUpdate>,
) -> AppResult<Json<MeView>> {
    let mut tx = state.store.begin().await?;
    service::update(&mut tx, caller.user_id, &update, state.now()).await?;
    let view = views::load(&mut tx, caller.user_id).await?;
    tx.commit().await.map_err(StoreError::from)?;
    Ok(Json(view))
}
