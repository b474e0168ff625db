//! A real Web Push service on 127.0.0.1 for tests: the push resource of
//! RFC 8030, VAPID (RFC 8292) checks, and aes128gcm message decryption
//! (RFC 8291). It plays both the browser (it holds each subscription's private
//! key and auth secret) and the push service (it accepts `POST /push/{id}`).

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use base64::Engine as _;
use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, SystemTime, UNIX_EPOCH};
use web_push_native::jwt_simple::algorithms::{ECDSAP256PublicKeyLike, ES256PublicKey};
use web_push_native::jwt_simple::claims::NoCustomClaims;
use web_push_native::p256::{self, elliptic_curve::sec1::ToEncodedPoint};
use web_push_native::Auth;

/// RFC 8030 §7.2: a push service must accept at least 4096 bytes; we accept no more.
const MAX_BODY: usize = 4096;
/// RFC 8292 §2: `exp` no more than 24 hours after the request.
const MAX_EXP_AHEAD_SECS: u64 = 24 * 60 * 60;
const URGENCIES: [&str; 4] = ["very-low", "low", "normal", "high"];

/// A Web Push service on `127.0.0.1`, served by axum on a tokio task. Cheap to clone.
#[derive(Clone)]
pub struct PushService {
    inner: Arc<Inner>,
}

/// A subscription as a browser's `PushManager.subscribe()` would give it.
#[derive(Clone, Debug)]
pub struct PushSubscription {
    /// `{origin}/push/{random id}`.
    pub endpoint: String,
    /// The subscription's P-256 public key, uncompressed SEC1, base64url without padding.
    pub p256dh: String,
    /// The 16-byte auth secret, base64url without padding.
    pub auth: String,
    id: String,
}

/// A message the service accepted and decrypted.
#[derive(Clone, Debug)]
pub struct PushReceived {
    /// The decrypted payload.
    pub payload: Vec<u8>,
    /// The `TTL` header (seconds).
    pub ttl: Option<u64>,
    /// The `Urgency` header, if sent.
    pub urgency: Option<String>,
    /// The `Topic` header, if sent.
    pub topic: Option<String>,
    /// The `k=` of the VAPID Authorization header.
    pub vapid_key: String,
}

impl PushReceived {
    /// The payload parsed as JSON; panics with the payload if it is not JSON.
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.payload).unwrap_or_else(|e| {
            let text = String::from_utf8_lossy(&self.payload);
            panic!("push payload is not JSON ({e}): {text}")
        })
    }
}

impl PushSubscription {
    /// What `PushSubscription.toJSON()` gives in a browser.
    pub fn to_json(&self) -> serde_json::Value {
        serde_json::json!({
            "endpoint": self.endpoint,
            "expirationTime": null,
            "keys": { "p256dh": self.p256dh, "auth": self.auth },
        })
    }
}

struct Inner {
    origin: String,
    state: Mutex<ServiceState>,
    /// Verified JWTs by exact token string: the `k` they verified with and their `exp`.
    jwt_cache: Mutex<HashMap<String, (String, u64)>>,
    accepted: AtomicUsize,
}

#[derive(Default)]
struct ServiceState {
    subs: HashMap<String, Sub>,
    expected_key: Option<String>,
    rejections: Vec<String>,
}

struct Sub {
    keys: Arc<Keys>,
    gone: bool,
    failures: VecDeque<(StatusCode, Option<u64>)>,
    attempts: usize,
    received: Vec<PushReceived>,
}

/// A subscription's private key and auth secret.
type Keys = (p256::SecretKey, Auth);
/// A refusal: the status to answer and why.
type Refusal = (StatusCode, String);

fn unauthorized(reason: impl Into<String>) -> Refusal {
    (StatusCode::UNAUTHORIZED, reason.into())
}

fn bad_request(reason: impl Into<String>) -> Refusal {
    (StatusCode::BAD_REQUEST, reason.into())
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|e| e.into_inner())
}

fn random_id() -> String {
    B64.encode(rand::random::<[u8; 16]>())
}

fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or_default()
}

impl PushService {
    /// Binds 127.0.0.1:0 and serves on a tokio task.
    pub async fn start() -> PushService {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("a port for the push service");
        let port = listener.local_addr().expect("a local address").port();
        let service = PushService {
            inner: Arc::new(Inner {
                origin: format!("http://127.0.0.1:{port}"),
                state: Mutex::default(),
                jwt_cache: Mutex::default(),
                accepted: AtomicUsize::new(0),
            }),
        };
        let router = axum::Router::new()
            .route("/push/{id}", post(push_handler))
            .with_state(service.clone());
        tokio::spawn(async move {
            let _ = axum::serve(listener, router).await;
        });
        service
    }

    /// `http://127.0.0.1:PORT`, the `aud` VAPID JWTs must carry.
    pub fn origin(&self) -> String {
        self.inner.origin.clone()
    }

    /// A new subscription with a fresh P-256 key pair and a random auth secret.
    pub fn subscribe(&self) -> PushSubscription {
        let secret = p256::SecretKey::random(&mut rand::rngs::OsRng);
        let public = secret.public_key().to_encoded_point(false);
        let auth: [u8; 16] = rand::random();
        let id = random_id();
        let sub = Sub {
            keys: Arc::new((secret, Auth::clone_from_slice(&auth))),
            gone: false,
            failures: VecDeque::new(),
            attempts: 0,
            received: Vec::new(),
        };
        self.state().subs.insert(id.clone(), sub);
        PushSubscription {
            endpoint: format!("{}/push/{id}", self.inner.origin),
            p256dh: B64.encode(public.as_bytes()),
            auth: B64.encode(auth),
            id,
        }
    }

    /// Only accept VAPID JWTs signed by this key (base64url uncompressed SEC1
    /// point, the `k=` of the Authorization header); others get 403.
    pub fn expect_vapid_key(&self, public_key_b64url: &str) {
        let bytes = B64
            .decode(public_key_b64url)
            .expect("expect_vapid_key takes base64url without padding");
        assert!(
            bytes.len() == 65 && bytes[0] == 4,
            "expect_vapid_key takes an uncompressed P-256 point (65 bytes, 0x04 first)"
        );
        self.state().expected_key = Some(public_key_b64url.to_owned());
    }

    /// The next `times` POSTs to `sub` answer `status` (with `Retry-After`
    /// when given) without recording the message.
    pub fn fail_next(
        &self,
        sub: &PushSubscription,
        times: usize,
        status: u16,
        retry_after_secs: Option<u64>,
    ) {
        let status = StatusCode::from_u16(status).expect("fail_next takes a valid HTTP status");
        self.with_sub(sub, |s| {
            s.failures
                .extend(std::iter::repeat_n((status, retry_after_secs), times))
        });
    }

    /// From now on `sub` answers 410 Gone, as after the user unsubscribed.
    pub fn unsubscribe(&self, sub: &PushSubscription) {
        self.with_sub(sub, |s| s.gone = true);
    }

    /// Messages accepted for `sub`, decrypted, in arrival order.
    pub fn received(&self, sub: &PushSubscription) -> Vec<PushReceived> {
        self.with_sub(sub, |s| s.received.clone())
    }

    /// Total messages accepted over all subscriptions.
    pub fn accepted_count(&self) -> usize {
        self.inner.accepted.load(Ordering::SeqCst)
    }

    /// Requests refused because they broke the protocol, each with its reason.
    pub fn rejections(&self) -> Vec<String> {
        self.state().rejections.clone()
    }

    /// Waits until `accepted_count() >= n` or `timeout` passes; whether it got there.
    pub async fn wait_for_accepted(&self, n: usize, timeout: Duration) -> bool {
        let deadline = tokio::time::Instant::now() + timeout;
        while self.accepted_count() < n {
            if tokio::time::Instant::now() >= deadline {
                return false;
            }
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
        true
    }

    /// POSTs attempted on `sub`'s endpoint: accepted, failed on purpose, or rejected.
    pub fn attempts(&self, sub: &PushSubscription) -> usize {
        self.with_sub(sub, |s| s.attempts)
    }

    fn state(&self) -> MutexGuard<'_, ServiceState> {
        lock(&self.inner.state)
    }

    fn with_sub<T>(&self, sub: &PushSubscription, f: impl FnOnce(&mut Sub) -> T) -> T {
        let mut state = self.state();
        let sub = state.subs.get_mut(&sub.id);
        f(sub.expect("a subscription of this push service"))
    }

    /// Counts the attempt; gives the keys, or the status (and Retry-After) to answer.
    fn begin(&self, id: &str) -> Result<Arc<Keys>, (StatusCode, Option<u64>)> {
        let mut state = self.state();
        let sub = state
            .subs
            .get_mut(id)
            .ok_or((StatusCode::NOT_FOUND, None))?;
        sub.attempts += 1;
        if sub.gone {
            return Err((StatusCode::GONE, None));
        }
        match sub.failures.pop_front() {
            Some(failure) => Err(failure),
            None => Ok(Arc::clone(&sub.keys)),
        }
    }

    fn check(&self, keys: &Keys, head: &HeaderMap, body: Bytes) -> Result<PushReceived, Refusal> {
        let vapid_key = self.check_vapid(head)?;
        let ttl = Some(ttl(head)?);
        check_content(head, body.len())?;
        let urgency = optional_header(head, "urgency", |u| URGENCIES.contains(&u))?;
        let topic = optional_header(head, "topic", |t| t.len() <= 32 && t.chars().all(base64url))?;
        let payload = decrypt(keys, body).map_err(bad_request)?;
        let received = PushReceived {
            payload,
            ttl,
            urgency,
            topic,
            vapid_key,
        };
        Ok(received)
    }

    /// Checks the `Authorization: vapid t=…, k=…` header; gives `k`.
    fn check_vapid(&self, headers: &HeaderMap) -> Result<String, Refusal> {
        let value = header_text(headers, "authorization")?
            .ok_or_else(|| unauthorized("missing Authorization header (RFC 8292 §3)"))?;
        let (token, key) = parse_vapid(value).map_err(unauthorized)?;
        self.verify_jwt(token, key)?;
        let expected = self.state().expected_key.clone();
        match expected {
            Some(expected) if expected != key => Err((
                StatusCode::FORBIDDEN,
                format!("VAPID key {key} is not the expected {expected}"),
            )),
            _ => Ok(key.to_owned()),
        }
    }

    /// Verifies the JWT once per exact token string and key; later uses only check `exp`.
    fn verify_jwt(&self, token: &str, key: &str) -> Result<(), Refusal> {
        let now = unix_now();
        let mut cache = lock(&self.inner.jwt_cache);
        if let Some((cached_key, exp)) = cache.get(token) {
            if cached_key == key && *exp > now {
                return Ok(());
            }
        }
        drop(cache);
        let exp = verify_jwt_uncached(token, key, &self.inner.origin, now).map_err(unauthorized)?;
        cache = lock(&self.inner.jwt_cache);
        if cache.len() > 10_000 {
            cache.clear();
        }
        cache.insert(token.to_owned(), (key.to_owned(), exp));
        Ok(())
    }

    fn accept(&self, id: &str, received: PushReceived) -> Response {
        if let Some(sub) = self.state().subs.get_mut(id) {
            sub.received.push(received);
        }
        self.inner.accepted.fetch_add(1, Ordering::SeqCst);
        let location = format!("{}/message/{}", self.inner.origin, random_id());
        (StatusCode::CREATED, [(header::LOCATION, location)]).into_response()
    }

    fn reject(&self, id: &str, (status, reason): Refusal) -> Response {
        let line = format!("POST /push/{id}: {} {reason}", status.as_u16());
        self.state().rejections.push(line);
        (status, reason).into_response()
    }
}

async fn push_handler(
    State(service): State<PushService>,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let keys = match service.begin(&id) {
        Ok(keys) => keys,
        Err((status, retry_after)) => {
            let retry_after = retry_after.map(|secs| [(header::RETRY_AFTER, secs.to_string())]);
            return (status, retry_after, "refused").into_response();
        }
    };
    match service.check(&keys, &headers, body) {
        Ok(received) => service.accept(&id, received),
        Err(refusal) => service.reject(&id, refusal),
    }
}

fn header_text<'a>(headers: &'a HeaderMap, name: &str) -> Result<Option<&'a str>, Refusal> {
    match headers.get(name) {
        None => Ok(None),
        Some(v) => v
            .to_str()
            .map(|s| Some(s.trim()))
            .map_err(|_| bad_request(format!("{name} header is not ASCII"))),
    }
}

/// RFC 8030 §5.2: `TTL` is required, in seconds.
fn ttl(headers: &HeaderMap) -> Result<u64, Refusal> {
    let ttl = header_text(headers, "ttl")?.ok_or_else(|| bad_request("missing TTL header"))?;
    ttl.parse()
        .map_err(|_| bad_request(format!("TTL {ttl:?} is not a number of seconds")))
}

fn base64url(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '-' || c == '_'
}

/// `Content-Encoding: aes128gcm` (RFC 8291) and at most 4096 bytes (RFC 8030 §7.2).
fn check_content(headers: &HeaderMap, len: usize) -> Result<(), Refusal> {
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
fn optional_header(
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
fn parse_vapid(value: &str) -> Result<(&str, &str), String> {
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
fn verify_jwt_uncached(token: &str, key: &str, origin: &str, now: u64) -> Result<u64, String> {
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
fn decrypt((secret, auth): &Keys, body: Bytes) -> Result<Vec<u8>, String> {
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

#[cfg(test)]
mod tests {
    use super::*;
    use anyhow::Result;
    use web_push_native::jwt_simple::prelude::{Claims, ECDSAP256KeyPairLike, ES256KeyPair};
    use web_push_native::{jwt_simple::prelude::Duration as JwtDuration, p256::PublicKey};

    fn ua_keys(sub: &PushSubscription) -> Result<(PublicKey, Auth)> {
        let public = PublicKey::from_sec1_bytes(&B64.decode(&sub.p256dh)?)?;
        Ok((public, Auth::clone_from_slice(&B64.decode(&sub.auth)?)))
    }

    fn k_of(kp: &ES256KeyPair) -> String {
        B64.encode(kp.public_key().public_key().to_bytes_uncompressed())
    }

    fn vapid(kp: &ES256KeyPair, aud: &str) -> Result<String> {
        let claims = Claims::create(JwtDuration::from_hours(12))
            .with_audience(aud)
            .with_subject("mailto:test@example.com");
        Ok(format!("vapid t={}, k={}", kp.sign(claims)?, k_of(kp)))
    }

    /// A service, a subscription, and a correct Authorization header.
    async fn setup() -> Result<(PushService, PushSubscription, String)> {
        let push = PushService::start().await;
        let header = vapid(&ES256KeyPair::generate(), &push.origin())?;
        Ok((push.clone(), push.subscribe(), header))
    }

    const TTL: &[(&str, &str)] = &[("TTL", "60")];

    /// POSTs `text` encrypted as a sender would, with these extra headers.
    async fn post(
        sub: &PushSubscription,
        auth: &str,
        extra: &[(&str, &str)],
        text: &str,
    ) -> Result<reqwest::Response> {
        let (ua_public, ua_auth) = ua_keys(sub)?;
        let body = web_push_native::encrypt(text.into(), &ua_public, &ua_auth)?;
        let mut request = reqwest::Client::new()
            .post(&sub.endpoint)
            .header("Authorization", auth)
            .header("Content-Encoding", "aes128gcm")
            .header("Content-Type", "application/octet-stream");
        for (name, value) in extra {
            request = request.header(*name, *value);
        }
        Ok(request.body(body).send().await?)
    }

    #[tokio::test]
    async fn push_rejects_aud_without_port_and_accepts_a_correct_request() -> Result<()> {
        let (push, sub, header) = setup().await?;
        let (ua_public, ua_auth) = ua_keys(&sub)?;
        let built = web_push_native::WebPushBuilder::new(sub.endpoint.parse()?, ua_public, ua_auth)
            .with_vapid(&ES256KeyPair::generate(), "mailto:test@example.com")
            .build("{}")?;
        let response = reqwest::Client::new().execute(built.try_into()?).await?;
        assert_eq!(response.status(), 401);
        assert!(
            push.rejections()[0].contains("aud"),
            "{:?}",
            push.rejections()
        );

        assert_eq!(post(&sub, &header, TTL, r#"{"n":1}"#).await?.status(), 201);
        let extra = [("TTL", "0"), ("Urgency", "high"), ("Topic", "t-1")];
        let response = post(&sub, &header, &extra, r#"{"n":2}"#).await?;
        assert_eq!(response.status(), 201);
        let location = response.headers()["location"].to_str()?;
        assert!(location.starts_with(&format!("{}/message/", push.origin())));
        let received = push.received(&sub);
        assert_eq!(
            (received[0].ttl, received[1].json()["n"].as_i64()),
            (Some(60), Some(2))
        );
        assert_eq!(received[1].urgency.as_deref(), Some("high"));
        assert_eq!((push.accepted_count(), push.attempts(&sub)), (2, 3));
        assert!(push.wait_for_accepted(2, Duration::from_millis(10)).await);
        assert!(!push.wait_for_accepted(3, Duration::from_millis(10)).await);
        Ok(())
    }

    #[tokio::test]
    async fn push_fail_next_answers_the_scripted_status_then_accepts() -> Result<()> {
        let (push, sub, header) = setup().await?;
        push.fail_next(&sub, 1, 429, Some(7));
        let response = post(&sub, &header, TTL, "hi").await?;
        assert_eq!(response.status(), 429);
        assert_eq!(response.headers()["retry-after"], "7");
        assert_eq!(post(&sub, &header, TTL, "hi").await?.status(), 201);
        assert_eq!(push.received(&sub).len(), 1);
        assert_eq!(push.received(&sub)[0].payload, b"hi");
        Ok(())
    }

    #[tokio::test]
    async fn push_after_unsubscribe_is_gone() -> Result<()> {
        let (push, sub, header) = setup().await?;
        push.unsubscribe(&sub);
        assert_eq!(post(&sub, &header, TTL, "hi").await?.status(), 410);
        assert_eq!(push.attempts(&sub), 1);
        Ok(())
    }

    #[tokio::test]
    async fn push_without_ttl_is_a_bad_request() -> Result<()> {
        let (push, sub, header) = setup().await?;
        assert_eq!(post(&sub, &header, &[], "hi").await?.status(), 400);
        assert!(
            push.rejections()[0].contains("TTL"),
            "{:?}",
            push.rejections()
        );
        assert_eq!(push.accepted_count(), 0);
        Ok(())
    }

    #[tokio::test]
    async fn push_signed_by_another_vapid_key_is_forbidden() -> Result<()> {
        let (push, sub, header) = setup().await?;
        let expected = ES256KeyPair::generate();
        push.expect_vapid_key(&k_of(&expected));
        assert_eq!(post(&sub, &header, TTL, "hi").await?.status(), 403);
        assert!(
            push.rejections()[0].contains("expected"),
            "{:?}",
            push.rejections()
        );
        let header = vapid(&expected, &push.origin())?;
        assert_eq!(post(&sub, &header, TTL, "hi").await?.status(), 201);
        Ok(())
    }
}
