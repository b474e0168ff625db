//! What a Web Push request must be for the test push service to take it: the
//! headers of RFC 8030, the VAPID authorization of RFC 8292 and the aes128gcm
//! body of RFC 8291, each check giving the status a push service answers.

use axum::body::Bytes;
use axum::http::{HeaderMap, StatusCode};
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use base64::Engine as _;
use std::time::{SystemTime, UNIX_EPOCH};
use web_push_native::jwt_simple::algorithms::{ECDSAP256PublicKeyLike, ES256PublicKey};
use web_push_native::jwt_simple::claims::NoCustomClaims;
use web_push_native::p256;
use web_push_native::Auth;

/// RFC 8030 §7.2: a push service must accept at least 4096 bytes; we accept no more.
pub(crate) const MAX_BODY: usize = 4096;
/// RFC 8292 §2: `exp` no more than 24 hours after the request.
pub(crate) const MAX_EXP_AHEAD_SECS: u64 = 24 * 60 * 60;
pub(crate) const URGENCIES: [&str; 4] = ["very-low", "low", "normal", "high"];

/// A subscription's private key and auth secret.
pub(crate) type Keys = (p256::SecretKey, Auth);
/// A refusal: the status to answer and why.
pub(crate) type Refusal = (StatusCode, String);

pub(crate) fn unauthorized(reason: impl Into<String>) -> Refusal {
    (StatusCode::UNAUTHORIZED, reason.into())
}

pub(crate) fn bad_request(reason: impl Into<String>) -> Refusal {
    (StatusCode::BAD_REQUEST, reason.into())
}

pub(crate) fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or_default()
}

pub(crate) fn header_text<'a>(
    headers: &'a HeaderMap,
    name: &str,
) -> Result<Option<&'a str>, Refusal> {
    match headers.get(name) {
        None => Ok(None),
        Some(v) => v
            .to_str()
            .map(|s| Some(s.trim()))
            .map_err(|_| bad_request(format!("{name} header is not ASCII"))),
    }
}

/// RFC 8030 §5.2: `TTL` is required, in seconds.
pub(crate) fn ttl(headers: &HeaderMap) -> Result<u64, Refusal> {
    let ttl = header_text(headers, "ttl")?.ok_or_else(|| bad_request("missing TTL header"))?;
    ttl.parse()
        .map_err(|_| bad_request(format!("TTL {ttl:?} is not a number of seconds")))
}

pub(crate) fn base64url(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '-' || c == '_'
}

/// `Content-Encoding: aes128gcm` (RFC 8291) and at most 4096 bytes (RFC 8030 §7.2).
pub(crate) fn check_content(headers: &HeaderMap, len: usize) -> Result<(), Refusal> {
    let encoding = header_text(headers, "content-encoding")?;
    if encoding != Some("aes128gcm") {
        let reason = format!("Content-Encoding {encoding:?} is not aes128gcm (RFC 8291)");
        return Err((StatusCode::UNSUPPORTED_MEDIA_TYPE, reason));
    }
    if len > MAX_BODY {
        let reason = format!("body of {len} bytes is over {MAX_BODY} (RFC 8030 §7.2)");
        return Err((StatusCode::PAYLOAD_TOO_LARGE, reason));
    }
    Ok(())
}

/// An optional header that must pass `valid` when present (Urgency RFC 8030 §5.3, Topic §5.4).
pub(crate) fn optional_header(
    headers: &HeaderMap,
    name: &str,
    valid: impl Fn(&str) -> bool,
) -> Result<Option<String>, Refusal> {
    match header_text(headers, name)? {
        Some(v) if !valid(v) => Err(bad_request(format!("{name} {v:?} is invalid"))),
        v => Ok(v.map(str::to_owned)),
    }
}

/// `vapid t=<JWT>, k=<key>` (parameters in any order, optionally quoted) → (t, k).
pub(crate) fn parse_vapid(value: &str) -> Result<(&str, &str), String> {
    let format = "Authorization must be `vapid t=<JWT>, k=<base64url key>` (RFC 8292 §3)";
    let (scheme, params) = value.split_once(' ').ok_or(format)?;
    if !scheme.eq_ignore_ascii_case("vapid") {
        return Err(format!("scheme {scheme:?} is not vapid; {format}"));
    }
    let (mut token, mut key) = (None, None);
    for param in params.split(',') {
        let (name, v) = param.trim().split_once('=').ok_or(format)?;
        let v = v.trim().trim_matches('"');
        match name.trim().to_ascii_lowercase().as_str() {
            "t" => token = Some(v),
            "k" => key = Some(v),
            _ => {}
        }
    }
    match (token, key) {
        (Some(t), Some(k)) => Ok((t, k)),
        _ => Err(format.to_owned()),
    }
}

/// Verifies an ES256 VAPID JWT against `key`; gives its `exp`.
pub(crate) fn verify_jwt_uncached(
    token: &str,
    key: &str,
    origin: &str,
    now: u64,
) -> Result<u64, String> {
    let bytes = B64
        .decode(key)
        .map_err(|e| format!("k is not base64url: {e}"))?;
    if bytes.len() != 65 || bytes[0] != 4 {
        return Err("k is not an uncompressed P-256 point (65 bytes, 0x04 first)".into());
    }
    let public = ES256PublicKey::from_bytes(&bytes).map_err(|e| format!("bad k: {e}"))?;
    let claims = public
        .verify_token::<NoCustomClaims>(token, None)
        .map_err(|e| format!("JWT does not verify as ES256 with k: {e}"))?;
    let aud = claims.audiences.and_then(|a| a.into_string().ok());
    if aud.as_deref() != Some(origin) {
        return Err(format!(
            "JWT aud {aud:?} is not this service's origin {origin:?}"
        ));
    }
    let exp = claims.expires_at.ok_or("JWT has no exp claim")?.as_secs();
    if exp <= now {
        return Err(format!("JWT exp {exp} is in the past (now {now})"));
    }
    if exp > now + MAX_EXP_AHEAD_SECS {
        return Err(format!("JWT exp {exp} is over 24 h ahead (now {now})"));
    }
    match claims.subject.as_deref() {
        Some(sub) if sub.starts_with("mailto:") || sub.starts_with("https:") => Ok(exp),
        other => Err(format!("JWT sub {other:?} is not a mailto: or https: URI")),
    }
}

/// RFC 8291 §4: one aes128gcm record whose keyid is the sender's ephemeral public key.
pub(crate) fn decrypt((secret, auth): &Keys, body: Bytes) -> Result<Vec<u8>, String> {
    if body.len() < 21 {
        return Err("body is shorter than the aes128gcm header".into());
    }
    let rs = u32::from_be_bytes([body[16], body[17], body[18], body[19]]) as usize;
    let idlen = usize::from(body[20]);
    if idlen != 65 {
        return Err(format!(
            "keyid is {idlen} bytes, not a 65-byte P-256 public key"
        ));
    }
    let records = body.len().saturating_sub(21 + idlen);
    if rs < 18 || records == 0 || records > rs {
        return Err(format!(
            "{records} bytes of records for rs {rs}: not one record"
        ));
    }
    web_push_native::decrypt(body.to_vec(), secret, auth)
        .map_err(|e| format!("body does not decrypt with the subscription's keys: {e}"))
}
