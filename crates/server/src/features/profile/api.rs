//! `GET/PATCH /api/v1/me`: the caller's own profile.

use super::views;
use crate::error::{AppError, AppResult};
use crate::features::auth::caller::Caller;
use crate::features::profile::views::MeView;
use crate::http::extract::AppJson;
use crate::state::AppState;
use axum::extract::State;
use axum::Json;
use muster_domain::{names, Invalid, MembershipStatus, OrgId, Theme};
use muster_store::{memberships, users, StoreError};
use serde::Deserialize;
use utoipa::ToSchema;

/// Your profile and memberships.
#[utoipa::path(get, path = "/me", tag = "me",
    responses((status = 200, body = MeView), (status = 401, body = crate::http::problem::Problem)))]
pub async fn get_me(State(state): State<AppState>, caller: Caller) -> AppResult<Json<MeView>> {
    let mut conn = state.store.read().await?;
    Ok(Json(views::load(&mut conn, caller.user_id).await?))
}

/// Fields to change; absent fields stay as they are.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MeUpdate {
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    /// A BCP 47 language tag such as `en` or `fr-CA`.
    pub language: Option<String>,
    pub theme: Option<Theme>,
    /// Must be an organization where you are an active member.
    pub default_org_id: Option<OrgId>,
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
    let user = users::find(&mut tx, caller.user_id).await?;
    let mut invalid = Invalid::default();
    let first_name = match &update.first_name {
        Some(name) => invalid.check("first_name", names::required_text(name, names::NAME_MAX)),
        None => Some(user.first_name.clone()),
    };
    let last_name = match &update.last_name {
        Some(name) => invalid.check("last_name", names::required_text(name, names::NAME_MAX)),
        None => Some(user.last_name.clone()),
    };
    let language = match &update.language {
        Some(tag) => invalid.check("language", names::language_tag(tag)),
        None => Some(user.language.clone()),
    };
    let default_org_id = match update.default_org_id {
        Some(org_id) => {
            let membership = memberships::find(&mut tx, org_id, caller.user_id).await?;
            if membership.is_some_and(|m| m.status == MembershipStatus::Active) {
                Some(org_id)
            } else {
                invalid.push(
                    "default_org_id",
                    "you are not an active member of this organization",
                );
                None
            }
        }
        None => user.default_org_id,
    };
    invalid.clone().into_result()?;
    let (Some(first_name), Some(last_name), Some(language)) = (first_name, last_name, language)
    else {
        return Err(AppError::Invalid(invalid));
    };
    users::update_profile(
        &mut tx,
        caller.user_id,
        users::ProfileUpdate {
            first_name: &first_name,
            last_name: &last_name,
            language: &language,
            theme: update.theme.unwrap_or(user.theme),
            default_org_id,
        },
        state.now(),
    )
    .await?;
    let view = views::load(&mut tx, caller.user_id).await?;
    tx.commit().await.map_err(StoreError::from)?;
    Ok(Json(view))
}
