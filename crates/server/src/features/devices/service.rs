//! Devices as their owner manages them, and authenticating an app's
//! `Authorization: Bearer mst_dev_…`.

use crate::error::{AppError, AppResult};
use crate::features::audit_log::service as audit;
use crate::features::auth::caller::{Caller, Via};
use crate::state::AppState;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use muster_domain::token::DeviceSecret;
use muster_domain::{names, AuditAction, DeviceId, Invalid, UserId};
use muster_store::devices::{self, Device, NewDevice, Subscription};
use muster_store::{Conn, StoreError};
use serde_json::json;
use std::net::IpAddr;
use time::Duration;

pub const PLATFORMS: [&str; 4] = ["web", "ios", "android", "other"];
const ENDPOINT_MAX: usize = 1024;
/// `last_seen_at` is written at most this often per device.
const SEEN_WRITE_INTERVAL: Duration = Duration::minutes(1);

/// A device's registration as sent.
#[derive(Debug, Clone, Default)]
pub struct Registration {
    pub name: String,
    pub platform: String,
    pub push: Option<Subscription>,
}

/// Registers a device of `user_id`; the token is in the answer and nowhere else.
pub async fn register(
    state: &AppState,
    user_id: UserId,
    registration: Registration,
    ip: IpAddr,
) -> AppResult<(DeviceSecret, Device)> {
    let mut invalid = Invalid::default();
    let name = invalid.check(
        "name",
        names::required_text(&registration.name, names::NAME_MAX),
    );
    if !PLATFORMS.contains(&registration.platform.as_str()) {
        invalid.push("platform", "one of web, ios, android, other");
    }
    if let Some(push) = &registration.push {
        check_subscription(state, push, &mut invalid);
    }
    invalid.into_result()?;
    let name = name.unwrap_or_default();
    let mut tx = state.store.begin().await?;
    if devices::count_for_user(&mut tx, user_id).await? >= devices::MAX_PER_USER {
        return Err(AppError::Conflict(format!(
            "you already have {} devices; revoke one you no longer use in My profile",
            devices::MAX_PER_USER
        )));
    }
    let secret = DeviceSecret::generate(&mut rand::rngs::OsRng);
    let new = NewDevice {
        user_id,
        name: &name,
        platform: &registration.platform,
        token_hash: &secret.hash(),
        push: registration.push.as_ref(),
    };
    let device = devices::insert(&mut tx, new, state.now()).await?;
    record(&mut tx, &device, AuditAction::DeviceRegistered, ip, state).await?;
    tx.commit().await.map_err(StoreError::from)?;
    Ok((secret, device))
}

/// Replaces (or with `None` drops) the calling device's Web Push subscription.
pub async fn set_push(
    state: &AppState,
    device: DeviceId,
    push: Option<Subscription>,
) -> AppResult<()> {
    if let Some(push) = &push {
        let mut invalid = Invalid::default();
        check_subscription(state, push, &mut invalid);
        invalid.into_result()?;
    }
    let mut conn = state.store.write().await?;
    if !devices::set_push(&mut conn, device, push.as_ref()).await? {
        return Err(AppError::Unauthorized(
            "this device has been revoked".into(),
        ));
    }
    Ok(())
}

pub async fn list(state: &AppState, user_id: UserId) -> AppResult<Vec<Device>> {
    let mut conn = state.store.read().await?;
    Ok(devices::list_for_user(&mut conn, user_id).await?)
}

/// Revokes one of the caller's devices: its token stops working at once.
pub async fn revoke(state: &AppState, user_id: UserId, id: DeviceId, ip: IpAddr) -> AppResult<()> {
    let mut tx = state.store.begin().await?;
    let device = devices::find_for_user(&mut tx, user_id, id)
        .await?
        .ok_or(AppError::NotFound)?;
    devices::delete_for_user(&mut tx, user_id, id).await?;
    record(&mut tx, &device, AuditAction::DeviceRevoked, ip, state).await?;
    tx.commit().await.map_err(StoreError::from)?;
    Ok(())
}

async fn record(
    conn: &mut Conn,
    device: &Device,
    action: AuditAction,
    ip: IpAddr,
    state: &AppState,
) -> AppResult<()> {
    let target = format!("device \"{}\" ({})", device.name, device.platform);
    let after = json!({ "name": device.name, "platform": device.platform, "web_push": device.push.is_some() });
    let ip = Some(ip.to_string());
    audit::record_everywhere(
        conn,
        device.user_id,
        action,
        &target,
        after,
        ip,
        state.now(),
    )
    .await
}

/// A subscription a browser's `PushManager` could have given: an `https` endpoint
/// (or loopback `http` where allowed), a P-256 public key and a 16-byte secret.
fn check_subscription(state: &AppState, push: &Subscription, invalid: &mut Invalid) {
    if let Err(message) = check_endpoint(&push.endpoint, state.settings.push_allow_loopback) {
        invalid.push("push.endpoint", message);
    }
    let key = URL_SAFE_NO_PAD.decode(push.p256dh.trim_end_matches('='));
    let valid_key = key
        .ok()
        .and_then(|bytes| web_push_native::p256::PublicKey::from_sec1_bytes(&bytes).ok());
    if valid_key.is_none() {
        invalid.push("push.keys.p256dh", "not a base64url P-256 public key");
    }
    let auth = URL_SAFE_NO_PAD.decode(push.auth.trim_end_matches('='));
    if auth.map(|a| a.len()) != Ok(16) {
        invalid.push("push.keys.auth", "not a base64url 16-byte secret");
    }
}

fn check_endpoint(endpoint: &str, allow_loopback: bool) -> Result<(), String> {
    if endpoint.len() > ENDPOINT_MAX {
        return Err(format!("at most {ENDPOINT_MAX} characters"));
    }
    let url = url::Url::parse(endpoint).map_err(|e| format!("not a URL: {e}"))?;
    let loopback = match url.host() {
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        Some(url::Host::Domain(d)) => d == "localhost",
        None => return Err("the endpoint has no host".into()),
    };
    // Push services are public: an address of a private network is not one
    // (the server would post to it on the subscriber's behalf). Names are
    // checked again, resolved, when a push is sent (`webpush::PublicOnly`).
    let private = match url.host() {
        Some(url::Host::Ipv4(ip)) => !ip.is_loopback() && !is_public(ip.into()),
        Some(url::Host::Ipv6(ip)) => !ip.is_loopback() && !is_public(ip.into()),
        _ => false,
    };
    if private {
        return Err("push endpoints on private networks are not accepted".into());
    }
    match url.scheme() {
        "https" if !loopback || allow_loopback => Ok(()),
        "http" if loopback && allow_loopback => Ok(()),
        _ if loopback => Err("push endpoints on this machine are not accepted".into()),
        _ => Err("a push endpoint is an https:// URL".into()),
    }
}

/// Whether `ip` is on the public internet: not loopback, private, link-local,
/// shared (100.64/10), benchmarking (198.18/15), unspecified, broadcast or
/// unique-local, including IPv4 addresses written as IPv6.
pub fn is_public(ip: std::net::IpAddr) -> bool {
    use std::net::IpAddr;
    let v4 = match ip {
        IpAddr::V4(v4) => v4,
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => v4,
            None => {
                return !(v6.is_loopback()
                    || v6.is_unspecified()
                    || v6.is_unique_local()
                    || v6.is_unicast_link_local()
                    || v6.is_multicast())
            }
        },
    };
    let [a, b, ..] = v4.octets();
    !(v4.is_loopback()
        || v4.is_private()
        || v4.is_link_local()
        || v4.is_unspecified()
        || v4.is_broadcast()
        || v4.is_multicast()
        || a == 0
        || (a == 100 && (64..128).contains(&b))
        || (a == 198 && (18..20).contains(&b)))
}

/// The caller behind a device token. A malformed token is refused before any
/// database read; the device's last use is written at most once a minute.
pub async fn authenticate(state: &AppState, bearer: &str) -> AppResult<Caller> {
    let secret =
        DeviceSecret::parse(bearer.trim()).map_err(|e| AppError::Unauthorized(e.to_string()))?;
    let now = state.now();
    let device = {
        let mut conn = state.store.read().await?;
        devices::find_by_hash(&mut conn, &secret.hash()).await?
    }
    .ok_or_else(|| {
        AppError::Unauthorized("this device token is not valid; it may have been revoked".into())
    })?;
    if device
        .last_seen_at
        .is_none_or(|seen| now - seen >= SEEN_WRITE_INTERVAL)
    {
        let mut conn = state.store.write().await?;
        devices::touch(&mut conn, device.id, now).await?;
    }
    Ok(Caller {
        user_id: device.user_id,
        via: Via::Device { id: device.id },
    })
}

/// Whether the credential behind a long-lived request (an event stream) still
/// holds: the device is registered, the token not deleted or expired, the
/// session not ended.
pub async fn still_valid(state: &AppState, caller: &Caller) -> AppResult<bool> {
    let mut conn = state.store.read().await?;
    let now = state.now();
    Ok(match &caller.via {
        Via::Device { id } => devices::find_for_user(&mut conn, caller.user_id, *id)
            .await?
            .is_some(),
        Via::Token { id } => muster_store::tokens::find_for_user(&mut conn, caller.user_id, *id)
            .await?
            .is_some_and(|t| !muster_domain::token::is_expired(t.lease_expires_at, now)),
        Via::Session { id_hash, .. } => muster_store::sessions::find_live(&mut conn, id_hash, now)
            .await?
            .is_some(),
    })
}

#[cfg(test)]
mod tests {
    use super::check_endpoint;

    #[test]
    fn endpoints_are_public_https_unless_loopback_is_allowed() {
        assert!(check_endpoint("https://push.example.com/x", false).is_ok());
        assert!(check_endpoint("http://push.example.com/x", false).is_err());
        assert!(check_endpoint("http://127.0.0.1:9/x", false).is_err());
        assert!(check_endpoint("https://localhost/x", false).is_err());
        assert!(check_endpoint("http://127.0.0.1:9/x", true).is_ok());
        assert!(check_endpoint("http://push.example.com/x", true).is_err());
        assert!(check_endpoint("not a url", true).is_err());
        for private in [
            "https://10.0.0.5/x",
            "https://192.168.1.1/x",
            "https://169.254.169.254/x",
            "https://[fd00::1]/x",
            "https://0.0.0.0/x",
            "https://[::ffff:169.254.169.254]/x",
            "https://100.64.0.1/x",
        ] {
            assert!(check_endpoint(private, true).is_err(), "{private}");
        }
    }
}
