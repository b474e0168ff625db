//! The Devices section of My profile: the viewer's app installations, and
//! revoking one (its device token stops working at once).

use super::service;
use crate::features::invitations::service::format_time;
use crate::http::extract::ClientIp;
use crate::http::ui::error::{UiError, UiResult};
use crate::http::ui::layout::{UiForm, UiUser};
use crate::http::ui::when::relative;
use crate::state::AppState;
use axum::extract::{Path, State};
use axum::response::{IntoResponse, Redirect};
use minijinja::{context, Value};
use muster_domain::DeviceId;
use serde::Deserialize;

/// The rows of the Devices table, most recently registered first.
pub async fn device_rows(state: &AppState, viewer: &UiUser) -> UiResult<Vec<Value>> {
    let now = state.now();
    let mut devices = service::list(state, viewer.user.id).await?;
    devices.sort_by_key(|d| std::cmp::Reverse(d.created_at));
    Ok(devices
        .into_iter()
        .map(|d| {
            context! {
                id => d.id.to_string(),
                name => d.name,
                platform => d.platform,
                web_push => d.push.is_some(),
                registered => format_time(d.created_at),
                registered_relative => relative(d.created_at, now),
                last_seen => d.last_seen_at.map(format_time),
                last_seen_relative => d.last_seen_at.map(|at| relative(at, now)),
            }
        })
        .collect())
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct RevokeForm {
    csrf_token: String,
}

/// `POST /me/devices/{id}/revoke`.
pub async fn revoke(
    State(state): State<AppState>,
    viewer: UiUser,
    ClientIp(ip): ClientIp,
    Path(raw): Path<String>,
    UiForm(form): UiForm<RevokeForm>,
) -> UiResult {
    viewer.check_csrf(&form.csrf_token)?;
    let id: DeviceId = raw.parse().map_err(|_| UiError::not_found())?;
    service::revoke(&state, viewer.user.id, id, ip).await?;
    Ok(Redirect::to("/me?device=revoked#devices").into_response())
}
