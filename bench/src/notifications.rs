//! The notification rows: an organization-wide fan-out into 100,000 inboxes
//! beside one plain multi-row INSERT of the same rows, 1,000 open event
//! streams (in `streams.rs`), and Web Push to a local push service (test-support's) beside the same pushes
//! built with `web_push_native` and sent directly.
//!
//! The members, their devices and their push subscriptions are written
//! straight into the server's database through `muster-store` (the server
//! creates nothing of its own for them, and no invitation mail is queued);
//! everything measured goes through the server's HTTP API and its jobs.

use crate::server::Server;
use crate::streams::{bare_streams, event_streams, STREAM_ROUNDS};
use anyhow::{bail, Context, Result};
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use base64::Engine as _;
use futures_util::stream::{self, StreamExt};
use muster_domain::token::DeviceSecret;
use muster_domain::{InboxItemId, MembershipStatus, OrgId, OrgRole, UserId};
use muster_store::devices::{self, NewDevice, Subscription};
use muster_store::memberships::{self, Membership, NewMembershipRow};
use muster_store::users::{self, NewUserRow};
use muster_store::Store;
use muster_test_support::{PushService, PushSubscription};
use serde_json::{json, Value};
use std::path::Path;
use std::time::{Duration, Instant};
use time::OffsetDateTime;

/// The server's own `push_concurrency` default, used by the direct baseline too.
const PUSH_CONCURRENCY: usize = 64;

pub struct Figures {
    pub recipients: usize,
    pub fanout: Duration,
    pub plain_insert: Duration,
    pub streams: usize,
    pub stream_rounds: usize,
    pub stream_p50: Duration,
    pub stream_p99: Duration,
    pub bare_p50: Duration,
    pub bare_p99: Duration,
    pub stream_rss_kib: f64,
    pub bare_rss_kib: f64,
    pub pushes: usize,
    pub push: Duration,
    pub direct_push: Duration,
}

fn per_second(count: usize, time: Duration) -> f64 {
    count as f64 / time.as_secs_f64().max(1e-9)
}

impl Figures {
    /// (measure, value, target) in the order they are printed.
    pub fn rows(&self) -> Vec<(String, String, String)> {
        let ms = crate::ms;
        let fanout_rate = per_second(self.recipients, self.fanout);
        let insert_rate = per_second(self.recipients, self.plain_insert);
        let push_rate = per_second(self.pushes, self.push);
        let direct_rate = per_second(self.pushes, self.direct_push);
        let n = self.recipients;
        let s = self.streams;
        vec![
            (
                format!("org-wide notification to {n} active members: POST → every inbox item written"),
                ms(self.fanout),
                String::new(),
            ),
            (
                "… inbox deliveries".into(),
                format!("{fanout_rate:.0} /s"),
                "≥ 50,000/s (SQLite)".into(),
            ),
            (
                format!("one multi-row INSERT of the same {n} inbox rows, scratch table with the same keys"),
                format!("{} ({insert_rate:.0} rows/s)", ms(self.plain_insert)),
                String::new(),
            ),
            (
                "fan-out ÷ plain INSERT".into(),
                format!("{:.0}%", 100.0 * fanout_rate / insert_rate.max(1.0)),
                String::new(),
            ),
            (
                format!(
                    "{s} event streams ({s} members, a device token each): POST → event, p50 / p99 of {}",
                    s * self.stream_rounds
                ),
                format!("{} / {}", ms(self.stream_p50), ms(self.stream_p99)),
                "p99 < 500 ms".into(),
            ),
            (
                format!("bare axum SSE on a tokio broadcast, {s} streams: POST → event, p50 / p99"),
                format!("{} / {}", ms(self.bare_p50), ms(self.bare_p99)),
                String::new(),
            ),
            (
                "server RSS per open event stream (VmRSS before opening → after the first event)".into(),
                format!("{:.1} KB", self.stream_rss_kib),
                String::new(),
            ),
            (
                "… bare SSE server's RSS per open stream".into(),
                format!("{:.1} KB", self.bare_rss_kib),
                String::new(),
            ),
            (
                format!(
                    "Web Push to {} devices (local push service): POST → all accepted",
                    self.pushes
                ),
                format!("{} ({push_rate:.0} /s)", ms(self.push)),
                "≥ 2,000/s".into(),
            ),
            (
                format!(
                    "the same {} pushes built with web_push_native, sent directly, {PUSH_CONCURRENCY} at once",
                    self.pushes
                ),
                format!("{} ({direct_rate:.0} /s)", ms(self.direct_push)),
                String::new(),
            ),
            (
                "Web Push ÷ direct".into(),
                format!("{:.0}%", 100.0 * push_rate / direct_rate.max(1.0)),
                String::new(),
            ),
        ]
    }
}

/// Runs the three measures, each server on a fresh database: `members`
/// recipients of the fan-out (the owner among them), `streams` open event
/// streams, `pushes` devices with a push subscription.
pub async fn run(
    bin: &Path,
    postgres: Option<&str>,
    members: usize,
    streams: usize,
    pushes: usize,
) -> Result<Figures> {
    let env = [("MUSTER_PUSH_ALLOW_LOOPBACK", "true".to_owned())];

    // Streams first, in an organization of `streams` members and the owner;
    // then the same organization grown to `members` for the fan-out.
    let server = Server::start(bin, postgres, &env).await?;
    let store = open_store(&server).await?;
    let org: OrgId = server.org.parse().context("the organization's id")?;
    let listeners = add_members(&store, org, "s", streams).await?;
    let tokens = add_devices(&store, &listeners, None).await?;
    let live = event_streams(&server, &tokens).await?;
    let everyone = members.saturating_sub(1 + streams);
    let mut recipients = listeners;
    recipients.extend(add_members(&store, org, "f", everyone).await?);
    store.refresh_statistics().await?;
    let fanout = fan_out(&server, recipients.len() + 1).await?;
    let plain_insert = plain_insert(&store, org, &recipients).await?;
    store.close().await;
    server.stop().await?;

    let bare = bare_streams(streams).await?;
    let (push, direct_push) = web_push(bin, postgres, &env, pushes).await?;

    Ok(Figures {
        recipients: recipients.len() + 1,
        fanout,
        plain_insert,
        streams,
        stream_rounds: STREAM_ROUNDS,
        stream_p50: live.p50,
        stream_p99: live.p99,
        bare_p50: bare.p50,
        bare_p99: bare.p99,
        stream_rss_kib: live.rss_per_stream_kib,
        bare_rss_kib: bare.rss_per_stream_kib,
        pushes,
        push,
        direct_push,
    })
}

/// The server's `DATABASE_URL` (read from its environment), or its SQLite file.
fn database_url(server: &Server) -> String {
    let environ = std::fs::read(format!("/proc/{}/environ", server.pid())).unwrap_or_default();
    environ
        .split(|b| *b == 0)
        .find_map(|entry| entry.strip_prefix(b"DATABASE_URL="))
        .map(|url| String::from_utf8_lossy(url).into_owned())
        .unwrap_or_else(|| format!("sqlite://{}", server.dir.path().join("muster.db").display()))
}

async fn open_store(server: &Server) -> Result<Store> {
    Store::connect(&database_url(server), 2)
        .await
        .context("the benchmark's connection to the server's database")
}

/// `count` new people, active members of `org` with the role user, written
/// 10,000 to a transaction; their ids.
pub(crate) async fn add_members(
    store: &Store,
    org: OrgId,
    prefix: &str,
    count: usize,
) -> Result<Vec<UserId>> {
    let now = OffsetDateTime::now_utc();
    let mut ids = Vec::with_capacity(count);
    let mut start = 0;
    while start < count {
        let end = (start + 10_000).min(count);
        let people: Vec<NewUserRow> = (start..end)
            .map(|n| NewUserRow {
                id: UserId::new(),
                email: format!("{prefix}{n:06}@bench.test"),
                first_name: format!("First{n}"),
                last_name: format!("Last{n}"),
                language: "en".into(),
            })
            .collect();
        let rows: Vec<NewMembershipRow> = people
            .iter()
            .map(|p| NewMembershipRow {
                membership: Membership {
                    org_id: org,
                    user_id: p.id,
                    role: OrgRole::User,
                    status: MembershipStatus::Active,
                    invited_by: None,
                    invited_at: Some(now),
                    joined_at: Some(now),
                },
                email: p.email.clone(),
                first_name: p.first_name.clone(),
                last_name: p.last_name.clone(),
            })
            .collect();
        let mut tx = store.begin().await?;
        users::insert_many(&mut tx, &people, now).await?;
        memberships::insert_many(&mut tx, &rows, now).await?;
        tx.commit().await?;
        ids.extend(people.iter().map(|p| p.id));
        start = end;
    }
    Ok(ids)
}

/// One device for each of `people`, subscribed to `push` when given; the
/// device tokens.
pub(crate) async fn add_devices(
    store: &Store,
    people: &[UserId],
    push: Option<&[PushSubscription]>,
) -> Result<Vec<String>> {
    let now = OffsetDateTime::now_utc();
    let mut tokens = Vec::with_capacity(people.len());
    for (k, chunk) in people.chunks(1_000).enumerate() {
        let mut tx = store.begin().await?;
        for (i, user_id) in chunk.iter().enumerate() {
            let secret = DeviceSecret::generate(&mut rand::rngs::OsRng);
            let subscription = push.map(|subs| {
                let sub = &subs[k * 1_000 + i];
                Subscription {
                    endpoint: sub.endpoint.clone(),
                    p256dh: sub.p256dh.clone(),
                    auth: sub.auth.clone(),
                }
            });
            let new = NewDevice {
                user_id: *user_id,
                name: "Bench phone",
                platform: "web",
                token_hash: &secret.hash(),
                push: subscription.as_ref(),
            };
            devices::insert(&mut tx, new, now).await?;
            tokens.push(secret.expose().to_owned());
        }
        tx.commit().await?;
    }
    Ok(tokens)
}

/// Sends an organization-wide notification; its id.
pub async fn send(server: &Server, title: &str) -> Result<String> {
    let url = format!("{}/api/v1/orgs/{}/notifications", server.base, server.org);
    let response = server
        .http
        .post(url)
        .bearer_auth(&server.token)
        .json(&json!({"title": title, "body": "The benchmark says hello.", "scope": "org"}))
        .send()
        .await?;
    let status = response.status();
    let body: Value = response.json().await?;
    if status.as_u16() != 201 {
        bail!("sending a notification: {status} {body}");
    }
    Ok(body["id"].as_str().context("a notification id")?.to_owned())
}

/// From the POST until the notification is sent with `expected` recipients.
async fn fan_out(server: &Server, expected: usize) -> Result<Duration> {
    let posted = Instant::now();
    let id = send(server, "Fan-out").await?;
    let path = format!("/api/v1/orgs/{}/notifications/{id}", server.org);
    loop {
        let n = server.get(&path).await?;
        let recipients = n["counts"]["recipients"].as_u64().unwrap_or(0) as usize;
        if n["status"] == "sent" {
            if recipients != expected {
                bail!("the notification was sent to {recipients}, not {expected}");
            }
            return Ok(posted.elapsed());
        }
        if posted.elapsed() > Duration::from_secs(300) {
            bail!("{recipients} of {expected} inbox items in 5 minutes");
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// One INSERT of `recipients` rows of the inbox_items columns into a scratch
/// table with the same primary key, unique key and indexes (no foreign keys),
/// as literal values: what the database alone costs for these rows.
async fn plain_insert(store: &Store, org: OrgId, recipients: &[UserId]) -> Result<Duration> {
    use sqlx::Executor;
    let mut conn = store.write().await?;
    let setup = [
        "DROP TABLE IF EXISTS bench_inbox_scratch",
        "CREATE TABLE bench_inbox_scratch (id TEXT PRIMARY KEY, notification_id TEXT NOT NULL, \
         org_id TEXT NOT NULL, user_id TEXT NOT NULL, created_at BIGINT NOT NULL, \
         delivered_at BIGINT, read_at BIGINT, failed_at BIGINT, last_error TEXT, deleted_at BIGINT, \
         UNIQUE (notification_id, user_id))",
        "CREATE INDEX bench_inbox_scratch_user ON bench_inbox_scratch (user_id, org_id, id)",
        "CREATE INDEX bench_inbox_scratch_n ON bench_inbox_scratch (notification_id, id)",
    ];
    for sql in setup {
        conn.execute(sql).await?;
    }
    let notification = muster_domain::NotificationId::new().to_string();
    let at = OffsetDateTime::now_utc().unix_timestamp() * 1000;
    let mut sql = String::with_capacity(recipients.len() * 140);
    sql.push_str(
        "INSERT INTO bench_inbox_scratch (id, notification_id, org_id, user_id, created_at) VALUES ",
    );
    for (i, user) in recipients.iter().enumerate() {
        if i > 0 {
            sql.push_str(", ");
        }
        let id = InboxItemId::new();
        sql.push_str(&format!(
            "('{id}', '{notification}', '{org}', '{user}', {at})"
        ));
    }
    let started = Instant::now();
    let done = conn.execute(sql.as_str()).await?;
    let took = started.elapsed();
    if done.rows_affected() != recipients.len() as u64 {
        bail!("the plain INSERT wrote {} rows", done.rows_affected());
    }
    conn.execute("DROP TABLE bench_inbox_scratch").await?;
    Ok(took)
}

/// A server whose `pushes` members each have a device subscribed to a local
/// push service: POST → every push accepted; then the same pushes sent
/// directly to the same service.
async fn web_push(
    bin: &Path,
    postgres: Option<&str>,
    env: &[(&str, String)],
    pushes: usize,
) -> Result<(Duration, Duration)> {
    let push = PushService::start().await;
    let subscriptions: Vec<PushSubscription> = (0..pushes).map(|_| push.subscribe()).collect();
    let server = Server::start(bin, postgres, env).await?;
    let store = open_store(&server).await?;
    let org: OrgId = server.org.parse().context("the organization's id")?;
    let people = add_members(&store, org, "p", pushes).await?;
    add_devices(&store, &people, Some(&subscriptions)).await?;
    store.refresh_statistics().await?;
    store.close().await;
    // The VAPID key is made on first use; make it now, as a running server has.
    server.get("/api/v1/app/push/key").await?;

    let posted = Instant::now();
    send(&server, "Web Push").await?;
    if !push
        .wait_for_accepted(pushes, Duration::from_secs(300))
        .await
    {
        bail!(
            "the push service accepted {} of {pushes} in 5 minutes; refused: {:?}",
            push.accepted_count(),
            push.rejections().first()
        );
    }
    let through_muster = posted.elapsed();
    server.stop().await?;

    let direct = direct_pushes(&push, &subscriptions).await?;
    Ok((through_muster, direct))
}

/// Each subscription's push encrypted with `web_push_native` (RFC 8291) and
/// POSTed with one VAPID header signed once, as the server does,
/// `PUSH_CONCURRENCY` at a time: the push service's own ceiling here.
async fn direct_pushes(push: &PushService, subscriptions: &[PushSubscription]) -> Result<Duration> {
    use web_push_native::jwt_simple::prelude::{
        Claims, Duration as JwtDuration, ECDSAP256KeyPairLike, ECDSAP256PublicKeyLike, ES256KeyPair,
    };
    let key = ES256KeyPair::generate();
    let public = B64.encode(key.public_key().public_key().to_bytes_uncompressed());
    let claims = Claims::create(JwtDuration::from_hours(12))
        .with_audience(push.origin())
        .with_subject("mailto:bench@localhost");
    let authorization = format!(
        "vapid t={}, k={public}",
        key.sign(claims).map_err(|e| anyhow::anyhow!("{e}"))?
    );
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .build()?;
    // About as long as the inbox item JSON the server sends.
    let payload = json!({"id": InboxItemId::new(), "notification_id": InboxItemId::new(),
        "org_id": InboxItemId::new(), "title": "Web Push", "body": "The benchmark says hello.",
        "link": null, "data": null, "created_at": "2026-12-01T12:00:00.000Z", "read_at": null})
    .to_string();
    let accepted_before = push.accepted_count();
    let started = Instant::now();
    let results: Vec<Result<()>> = stream::iter(subscriptions)
        .map(|sub| {
            let (http, authorization, payload) = (&http, &authorization, &payload);
            async move {
                let key = B64.decode(sub.p256dh.trim_end_matches('='))?;
                let key = web_push_native::p256::PublicKey::from_sec1_bytes(&key)
                    .map_err(|e| anyhow::anyhow!("p256dh: {e}"))?;
                let auth = B64.decode(sub.auth.trim_end_matches('='))?;
                let auth = web_push_native::Auth::clone_from_slice(&auth);
                let body = web_push_native::encrypt(payload.as_bytes().to_vec(), &key, &auth)
                    .map_err(|e| anyhow::anyhow!("{e}"))?;
                let answer = http
                    .post(&sub.endpoint)
                    .header("TTL", 86_400)
                    .header("Urgency", "normal")
                    .header("Content-Encoding", "aes128gcm")
                    .header("Content-Type", "application/octet-stream")
                    .header("Authorization", authorization)
                    .body(body)
                    .send()
                    .await?;
                if !answer.status().is_success() {
                    bail!("the push service answered {}", answer.status());
                }
                Ok::<(), anyhow::Error>(())
            }
        })
        .buffer_unordered(PUSH_CONCURRENCY)
        .collect()
        .await;
    let took = started.elapsed();
    for result in results {
        result?;
    }
    let accepted = push.accepted_count() - accepted_before;
    if accepted != subscriptions.len() {
        bail!(
            "{accepted} of {} direct pushes accepted",
            subscriptions.len()
        );
    }
    Ok(took)
}
