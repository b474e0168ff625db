//! Devices: `POST /api/v1/app/devices` (register), the calling device's Web
//! Push subscription, and `GET/DELETE /api/v1/me/devices…` for their owner.

use super::service::{self, Registration};
use crate::error::{AppError, AppResult};
use crate::features::auth::caller::{Caller, Via};
use crate::http::extract::{AppCaller, AppJson, ClientIp};
use crate::http::problem::Problem;
use crate::state::AppState;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;
use muster_domain::DeviceId;
use muster_store::devices::{Device, Subscription};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use utoipa::ToSchema;

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PushKeys {
    /// The subscription's P-256 public key, base64url.
    pub p256dh: String,
    /// Its 16-byte authentication secret, base64url.
    pub auth: String,
}

/// A browser's `PushSubscription` (its `toJSON()`; `expirationTime` is ignored).
#[derive(Debug, Deserialize, ToSchema)]
pub struct PushInput {
    pub endpoint: String,
    pub keys: PushKeys,
}

impl From<PushInput> for Subscription {
    fn from(input: PushInput) -> Self {
        Subscription {
            endpoint: input.endpoint,
            p256dh: input.keys.p256dh,
            auth: input.keys.auth,
        }
    }
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DeviceInput {
    pub name: String,
    /// web, ios, android or other.
    pub platform: String,
    pub push: Option<PushInput>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct DeviceView {
    pub id: DeviceId,
    pub name: String,
    pub platform: String,
    /// Whether it has a Web Push subscription.
    pub web_push: bool,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339::option")]
    pub last_seen_at: Option<OffsetDateTime>,
}

impl From<Device> for DeviceView {
    fn from(device: Device) -> Self {
        DeviceView {
            id: device.id,
            name: device.name,
            platform: device.platform,
            web_push: device.push.is_some(),
            created_at: device.created_at,
            last_seen_at: device.last_seen_at,
        }
    }
}

/// A new device with its token: shown this once, stored only as a hash.
#[derive(Debug, Serialize, ToSchema)]
pub struct CreatedDevice {
    pub id: DeviceId,
    /// `mst_dev_…`: send it as `Authorization: Bearer <token>` on `/api/v1/app/…`.
    pub token: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct DeviceList {
    pub items: Vec<DeviceView>,
    /// Always null: a person has at most 100 devices, one page.
    pub next_cursor: Option<String>,
}

/// Registers a device of the caller (signed in, or with a personal access
/// token) and returns its device token.
#[utoipa::path(post, path = "/app/devices", tag = "app", request_body = DeviceInput,
    responses((status = 201, body = CreatedDevice), (status = 401, body = Problem),
              (status = 409, body = Problem), (status = 422, body = Problem)))]
pub async fn register_device(
    State(state): State<AppState>,
    caller: Caller,
    ClientIp(ip): ClientIp,
    AppJson(input): AppJson<DeviceInput>,
) -> AppResult<(StatusCode, Json<CreatedDevice>)> {
    let registration = Registration {
        name: input.name,
        platform: input.platform,
        push: input.push.map(Subscription::from),
    };
    let (secret, device) = service::register(&state, caller.user_id, registration, ip).await?;
    let created = CreatedDevice {
        id: device.id,
        token: secret.expose().to_owned(),
    };
    Ok((StatusCode::CREATED, Json(created)))
}

fn calling_device(caller: &Caller) -> AppResult<DeviceId> {
    match caller.via {
        Via::Device { id } => Ok(id),
        _ => Err(AppError::Unauthorized(
            "this call is made with the device's own token (mst_dev_…)".into(),
        )),
    }
}

/// Replaces the calling device's Web Push subscription.
#[utoipa::path(put, path = "/app/devices/current/push", tag = "app", request_body = PushInput,
    responses((status = 204), (status = 401, body = Problem), (status = 422, body = Problem)))]
pub async fn put_push(
    State(state): State<AppState>,
    AppCaller(caller): AppCaller,
    AppJson(input): AppJson<PushInput>,
) -> AppResult<StatusCode> {
    let device = calling_device(&caller)?;
    service::set_push(&state, device, Some(input.into())).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Drops the calling device's Web Push subscription.
#[utoipa::path(delete, path = "/app/devices/current/push", tag = "app",
    responses((status = 204), (status = 401, body = Problem)))]
pub async fn delete_push(
    State(state): State<AppState>,
    AppCaller(caller): AppCaller,
) -> AppResult<StatusCode> {
    let device = calling_device(&caller)?;
    service::set_push(&state, device, None).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The caller's devices, newest first.
#[utoipa::path(get, path = "/me/devices", tag = "me",
    responses((status = 200, body = DeviceList), (status = 401, body = Problem)))]
pub async fn list_devices(
    State(state): State<AppState>,
    caller: Caller,
) -> AppResult<Json<DeviceList>> {
    let items = service::list(&state, caller.user_id).await?;
    Ok(Json(DeviceList {
        items: items.into_iter().map(DeviceView::from).collect(),
        next_cursor: None,
    }))
}

/// Revokes one of the caller's devices: its token stops working at once.
#[utoipa::path(delete, path = "/me/devices/{id}", tag = "me", params(("id" = DeviceId, Path)),
    responses((status = 204), (status = 401, body = Problem), (status = 404, body = Problem)))]
pub async fn delete_device(
    State(state): State<AppState>,
    caller: Caller,
    ClientIp(ip): ClientIp,
    Path(id): Path<String>,
) -> AppResult<StatusCode> {
    let id = id.parse().map_err(|_| AppError::NotFound)?;
    service::revoke(&state, caller.user_id, id, ip).await?;
    Ok(StatusCode::NO_CONTENT)
}
