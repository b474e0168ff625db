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
use std::time::Duration;
use web_push_native::p256::{self, elliptic_curve::sec1::ToEncodedPoint};
use web_push_native::Auth;

use crate::push_protocol::{
    bad_request, base64url, check_content, decrypt, header_text, optional_header, parse_vapid, ttl,
    unauthorized, unix_now, verify_jwt_uncached, Keys, Refusal, URGENCIES,
};

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

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|e| e.into_inner())
}

fn random_id() -> String {
    B64.encode(rand::random::<[u8; 16]>())
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

#[cfg(test)]
mod tests {
    use super::*;
    use anyhow::Result;
    use web_push_native::jwt_simple::prelude::{
        Claims, ECDSAP256KeyPairLike, ECDSAP256PublicKeyLike, ES256KeyPair,
    };
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
