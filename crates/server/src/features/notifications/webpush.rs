//! Web Push (RFC 8030) to every device with a subscription: the payload
//! encrypted for the subscription (RFC 8291, aes128gcm), the request signed
//! with the organization-independent VAPID key (RFC 8292, ES256), retried with
//! backoff on 429 and 5xx (honouring Retry-After); 404 and 410 drop the
//! subscription.

use super::views::InboxItemView;
use crate::config::Settings;
use crate::features::devices::service::is_public;
use crate::jobs::{self, JobError, JobKind};
use crate::state::AppState;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use futures_util::stream::{self, StreamExt};
use muster_domain::{JobId, NotificationId};
use muster_store::notifications::{self, Notification};
use muster_store::push::{self, Due, Outcome};
use muster_store::{devices, inbox, Store, StoreError};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration as StdDuration, Instant};
use time::{Duration, OffsetDateTime};
use tokio::sync::OnceCell;
use web_push_native::jwt_simple::prelude::{
    Claims, Duration as JwtDuration, ECDSAP256KeyPairLike, ECDSAP256PublicKeyLike, ES256KeyPair,
};

/// Attempts per device before a push counts as failed.
pub const MAX_ATTEMPTS: i64 = 5;
/// Pushes read per round of a job.
const ROUND: i64 = 256;
/// How long one run of a push job goes on before it queues the rest.
const RUN_FOR: StdDuration = StdDuration::from_secs(60);
/// The longest wait a push service may ask for.
const MAX_RETRY_AFTER: Duration = Duration::hours(1);
/// How long a push service keeps a message for an offline device.
const TTL_SECS: u64 = 24 * 3600;
/// A signed VAPID token is reused this long (it is valid for 12 hours).
const JWT_REUSE: StdDuration = StdDuration::from_secs(3600);
/// The plaintext a push may carry (4,096 bytes encrypted, RFC 8291 §4).
const PAYLOAD_MAX: usize = 3_000;

#[derive(Debug, Serialize, Deserialize)]
pub struct PushNotification {
    pub notification_id: NotificationId,
}

impl JobKind for PushNotification {
    const KIND: &'static str = "notification.push";
    const MAX_ATTEMPTS: i64 = 10;
}

/// The VAPID key pair.
pub struct Vapid {
    key: ES256KeyPair,
    /// The public key as push subscribers need it (`applicationServerKey`):
    /// an uncompressed P-256 point, base64url.
    pub public_key: String,
}

/// Web Push's shared state: the VAPID keys (read from the database once), the
/// HTTP client and the signed tokens per push service.
#[derive(Default)]
pub struct Pusher {
    vapid: OnceCell<Arc<Vapid>>,
    client: OnceLock<reqwest::Client>,
    tokens: Mutex<HashMap<String, (String, Instant)>>,
}

impl Pusher {
    /// The VAPID keys: generated on first start and kept in the database, so
    /// every instance signs with the same ones.
    pub async fn vapid(
        &self,
        store: &Store,
        now: OffsetDateTime,
    ) -> Result<Arc<Vapid>, StoreError> {
        self.vapid
            .get_or_try_init(|| async {
                let fresh = ES256KeyPair::generate();
                let generated = (
                    URL_SAFE_NO_PAD.encode(fresh.to_bytes()),
                    public_key_of(&fresh),
                );
                let mut conn = store.write().await?;
                let (private, public) = push::vapid_keys(&mut conn, generated, now).await?;
                let bytes = URL_SAFE_NO_PAD
                    .decode(&private)
                    .map_err(|e| StoreError::Corrupt(format!("vapid_keys.private_key: {e}")))?;
                let key = ES256KeyPair::from_bytes(&bytes)
                    .map_err(|e| StoreError::Corrupt(format!("vapid_keys.private_key: {e}")))?;
                Ok(Arc::new(Vapid {
                    key,
                    public_key: public,
                }))
            })
            .await
            .cloned()
    }

    fn client(&self, allow_loopback: bool) -> &reqwest::Client {
        self.client.get_or_init(|| {
            reqwest::Client::builder()
                .timeout(StdDuration::from_secs(10))
                .redirect(reqwest::redirect::Policy::none())
                .dns_resolver(Arc::new(PublicOnly { allow_loopback }))
                .build()
                .unwrap_or_default()
        })
    }

    /// `vapid t=…, k=…` for the push service at `origin`, signed at most
    /// once an hour per service.
    fn authorization(&self, vapid: &Vapid, origin: &str, contact: &str) -> Result<String, String> {
        let mut tokens = self.tokens.lock().unwrap_or_else(|p| p.into_inner());
        if let Some((header, at)) = tokens.get(origin) {
            if at.elapsed() < JWT_REUSE {
                return Ok(header.clone());
            }
        }
        let claims = Claims::create(JwtDuration::from_hours(12))
            .with_audience(origin)
            .with_subject(contact);
        let jwt = vapid.key.sign(claims).map_err(|e| e.to_string())?;
        let header = format!("vapid t={jwt}, k={}", vapid.public_key);
        tokens.insert(origin.to_owned(), (header.clone(), Instant::now()));
        Ok(header)
    }

    /// Sends one push and says what became of it.
    async fn send(
        &self,
        vapid: &Vapid,
        settings: &Settings,
        due: &Due,
        payload: &[u8],
        now: OffsetDateTime,
    ) -> Outcome {
        let request = match self.request(vapid, settings, due, payload) {
            Ok(request) => request,
            Err(error) => return Outcome::Failed { error },
        };
        let answer = request.send().await;
        classify(answer, due.attempts, now)
    }

    fn request(
        &self,
        vapid: &Vapid,
        settings: &Settings,
        due: &Due,
        payload: &[u8],
    ) -> Result<reqwest::RequestBuilder, String> {
        let url = url::Url::parse(&due.endpoint).map_err(|e| format!("bad endpoint: {e}"))?;
        let origin = url.origin().ascii_serialization();
        let key = URL_SAFE_NO_PAD
            .decode(due.p256dh.trim_end_matches('='))
            .ok()
            .and_then(|b| web_push_native::p256::PublicKey::from_sec1_bytes(&b).ok())
            .ok_or("the subscription's p256dh key is not valid")?;
        let auth = URL_SAFE_NO_PAD
            .decode(due.auth.trim_end_matches('='))
            .ok()
            .filter(|a| a.len() == 16)
            .ok_or("the subscription's auth secret is not valid")?;
        let auth = web_push_native::Auth::clone_from_slice(&auth);
        let body =
            web_push_native::encrypt(payload.to_vec(), &key, &auth).map_err(|e| e.to_string())?;
        let authorization = self.authorization(vapid, &origin, &settings.push_contact)?;
        Ok(self
            .client(settings.push_allow_loopback)
            .post(url)
            .header("TTL", TTL_SECS)
            .header("Urgency", "normal")
            .header("Content-Encoding", "aes128gcm")
            .header("Content-Type", "application/octet-stream")
            .header("Authorization", authorization)
            .body(body))
    }
}

/// Resolves push services' names to public addresses only (loopback too where
/// allowed), so a name that points into a private network is never posted to.
struct PublicOnly {
    allow_loopback: bool,
}

impl reqwest::dns::Resolve for PublicOnly {
    fn resolve(&self, name: reqwest::dns::Name) -> reqwest::dns::Resolving {
        let allow_loopback = self.allow_loopback;
        let host = format!("{}:0", name.as_str());
        Box::pin(async move {
            let addresses: Vec<std::net::SocketAddr> = tokio::net::lookup_host(host)
                .await?
                .filter(|a| is_public(a.ip()) || (allow_loopback && a.ip().is_loopback()))
                .collect();
            if addresses.is_empty() {
                return Err("the push service's name has no public address".into());
            }
            Ok(Box::new(addresses.into_iter()) as reqwest::dns::Addrs)
        })
    }
}

fn public_key_of(key: &ES256KeyPair) -> String {
    URL_SAFE_NO_PAD.encode(key.public_key().public_key().to_bytes_uncompressed())
}

/// The push service's answer as an outcome: 2xx sent; 404/410 gone; 429 and
/// 5xx (and no answer) again later; any other refusal final.
fn classify(
    answer: reqwest::Result<reqwest::Response>,
    attempts: i64,
    now: OffsetDateTime,
) -> Outcome {
    let (error, asked) = match answer {
        Ok(response) if response.status().is_success() => return Outcome::Sent,
        Ok(response) => {
            let status = response.status();
            let error = format!("the push service answered {status}");
            if matches!(status.as_u16(), 404 | 410) {
                return Outcome::Gone { error };
            }
            if !(status.as_u16() == 429 || status.is_server_error()) {
                return Outcome::Failed { error };
            }
            (error, retry_after(&response))
        }
        Err(e) => (
            format!("the push service did not answer: {}", e.without_url()),
            None,
        ),
    };
    if attempts + 1 >= MAX_ATTEMPTS {
        return Outcome::Failed {
            error: format!("{error} ({MAX_ATTEMPTS} attempts)"),
        };
    }
    let backoff = Duration::seconds(5 << attempts.clamp(0, 10));
    let wait = asked
        .unwrap_or(backoff)
        .clamp(Duration::ZERO, MAX_RETRY_AFTER);
    Outcome::Retry {
        at: now + wait,
        error,
    }
}

/// `Retry-After` in seconds (the HTTP-date form falls back to our backoff).
fn retry_after(response: &reqwest::Response) -> Option<Duration> {
    let value = response.headers().get("retry-after")?.to_str().ok()?;
    value.trim().parse::<i64>().ok().map(Duration::seconds)
}

/// The push's plaintext: the inbox item as JSON. When it would not fit in a
/// push, `data` is left out and the body cut, with `"truncated": true`, so
/// the app reads the whole item from its inbox.
pub fn payload(item: &InboxItemView) -> Vec<u8> {
    let full = serde_json::to_vec(item).unwrap_or_default();
    if full.len() <= PAYLOAD_MAX {
        return full;
    }
    let mut short = serde_json::to_value(item).unwrap_or_default();
    short["data"] = serde_json::Value::Null;
    short["truncated"] = serde_json::Value::Bool(true);
    let body: String = item.body.chars().take(300).collect();
    short["body"] = serde_json::Value::String(body);
    serde_json::to_vec(&short).unwrap_or_default()
}

pub async fn run(state: &AppState, _job: JobId, job: PushNotification) -> Result<(), JobError> {
    let vapid = state.push.vapid(&state.store, state.now()).await?;
    let n = {
        let mut conn = state.store.read().await?;
        let org = match notifications::org_of(&mut conn, job.notification_id).await {
            Err(StoreError::NotFound) => return Ok(()),
            org => org?,
        };
        notifications::find(&mut conn, org, job.notification_id).await?
    };
    let Some(n) = n else { return Ok(()) };
    // Well within the job's lease, so no other instance takes it over while
    // it runs; what is left is queued again below.
    let until = Instant::now() + RUN_FOR.min(state.settings.job_lease / 2);
    while Instant::now() < until && round(state, &vapid, &n).await? {}
    let mut tx = state.store.begin().await?;
    if let Some(at) = push::next_retry(&mut tx, n.id).await? {
        jobs::enqueue_at(&mut tx, &job, at.max(state.now()), state.now()).await?;
    }
    tx.commit().await.map_err(StoreError::from)?;
    Ok(())
}

/// Sends the pushes due now (up to a round's worth) and writes what became of
/// them; false when none was due.
async fn round(state: &AppState, vapid: &Vapid, n: &Notification) -> Result<bool, JobError> {
    let now = state.now();
    let due = {
        let mut conn = state.store.read().await?;
        push::due(&mut conn, n.id, now, ROUND).await?
    };
    if due.is_empty() {
        return Ok(false);
    }
    let settings = &state.settings;
    let sends = due.into_iter().map(|d| async move {
        if !d.member_active {
            let error = "no longer an active member of the organization".to_owned();
            return (d, Outcome::Failed { error });
        }
        if d.endpoint.is_empty() {
            let error = "the device dropped its Web Push subscription".to_owned();
            return (d, Outcome::Gone { error });
        }
        let item = InboxItemView::of_push(n, &d);
        let outcome = state
            .push
            .send(vapid, settings, &d, &payload(&item), now)
            .await;
        (d, outcome)
    });
    let outcomes: Vec<(Due, Outcome)> = stream::iter(sends)
        .buffer_unordered(state.settings.push_concurrency)
        .collect()
        .await;
    let mut tx = state.store.begin().await?;
    let (sent, refused): (Vec<_>, Vec<_>) = outcomes
        .iter()
        .partition(|(_, outcome)| *outcome == Outcome::Sent);
    let sent: Vec<&Due> = sent.into_iter().map(|(due, _)| due).collect();
    push::record_sent(&mut tx, &sent, now).await?;
    // Refusals are few; each is written with its own time and error.
    for (due, outcome) in refused {
        push::record(&mut tx, due, outcome, now).await?;
        if let Outcome::Gone { .. } = outcome {
            devices::drop_push_endpoint(&mut tx, due.device_id, &due.endpoint).await?;
        }
        if let Some(error) = outcome.error() {
            inbox::record_push_error(&mut tx, &due.item_id, error, now).await?;
        }
    }
    let delivered: Vec<String> = sent.iter().map(|due| due.item_id.clone()).collect();
    inbox::mark_delivered(&mut tx, &delivered, now).await?;
    tx.commit().await.map_err(StoreError::from)?;
    Ok(true)
}
