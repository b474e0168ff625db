//! Web sessions: a random id in an HttpOnly cookie, its SHA-256 in the database,
//! a CSRF token bound to the session (derived from its id with the server key,
//! so that no table holds it), inactivity expiry.

use crate::error::AppResult;
use crate::features::auth::caller::{Caller, Via};
use crate::state::AppState;
use axum_extra::extract::cookie::{Cookie, SameSite};
use muster_domain::usage::Kind;
use muster_domain::{secret, UserId};
use muster_store::sessions;
use subtle::ConstantTimeEq;
use time::Duration;

pub const COOKIE: &str = "muster_session";
/// The double-submit cookie that protects forms shown before sign-in.
pub const FORM_COOKIE: &str = "muster_form";

/// The inactivity expiry is written at most this often per session.
const TOUCH_INTERVAL: Duration = Duration::minutes(1);

pub struct NewSession {
    pub cookie: Cookie<'static>,
    pub csrf_token: String,
}

/// Starts a session for `user_id`, ending `previous` (the id in the request's
/// cookie, if any) so a session id is never carried across a sign-in.
pub async fn start(
    state: &AppState,
    user_id: UserId,
    previous: Option<&str>,
    origin: &Origin,
) -> AppResult<NewSession> {
    let id = secret::generate(&mut rand::rngs::OsRng);
    let origin = sessions::Origin {
        public_id: public_id(),
        user_agent: origin.user_agent.clone(),
        ip: origin.ip.to_string(),
    };
    let csrf_token = csrf_token(state, &id);
    let now = state.now();
    let mut tx = state.store.begin().await?;
    if let Some(previous) = previous {
        sessions::delete(&mut tx, &secret::hash(previous)).await?;
    }
    sessions::insert(
        &mut tx,
        &secret::hash(&id),
        user_id,
        &origin,
        now,
        now + ttl(state),
    )
    .await?;
    // A sign-in counts in every organization the person is active in.
    muster_store::usage::record_in_orgs_of(&mut tx, user_id, Kind::SignIn, now).await?;
    tx.commit().await.map_err(muster_store::StoreError::from)?;
    Ok(NewSession {
        cookie: session_cookie(state, id),
        csrf_token,
    })
}

/// The browser and address a sign-in comes from, kept with the session so
/// that its owner can tell their sessions apart.
pub struct Origin {
    pub user_agent: String,
    pub ip: std::net::IpAddr,
}

/// The longest `User-Agent` kept (browsers send 100–200 characters).
const USER_AGENT_MAX: usize = 300;

impl<S: Send + Sync> axum::extract::FromRequestParts<S> for Origin {
    type Rejection = crate::error::AppError;

    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        _state: &S,
    ) -> Result<Self, Self::Rejection> {
        let user_agent = parts
            .headers
            .get(axum::http::header::USER_AGENT)
            .map(|v| {
                String::from_utf8_lossy(v.as_bytes())
                    .chars()
                    .take(USER_AGENT_MAX)
                    .collect()
            })
            .unwrap_or_default();
        let crate::http::extract::ClientIp(ip) = crate::http::extract::ClientIp::from_parts(parts);
        Ok(Origin { user_agent, ip })
    }
}

/// A session's public handle: 16 random hex digits.
fn public_id() -> String {
    use rand::RngCore;
    format!("{:016x}", rand::rngs::OsRng.next_u64())
}

/// The caller behind a session cookie, if the session is live.
pub async fn resolve(state: &AppState, cookie_value: &str) -> AppResult<Option<Caller>> {
    let id_hash = secret::hash(cookie_value);
    let now = state.now();
    let found = {
        let mut conn = state.store.read().await?;
        sessions::find_live(&mut conn, &id_hash, now).await?
    };
    let Some(session) = found else {
        return Ok(None);
    };
    if now - session.last_seen_at >= TOUCH_INTERVAL {
        let mut conn = state.store.write().await?;
        sessions::touch(&mut conn, &id_hash, now, now + ttl(state)).await?;
    }
    Ok(Some(Caller {
        user_id: session.user_id,
        via: Via::Session {
            id_hash,
            csrf_token: csrf_token(state, cookie_value),
        },
    }))
}

pub async fn end(state: &AppState, id_hash: &str) -> AppResult<()> {
    let mut conn = state.store.write().await?;
    sessions::delete(&mut conn, id_hash).await?;
    Ok(())
}

/// The CSRF token of the session whose id is `session_id`.
fn csrf_token(state: &AppState, session_id: &str) -> String {
    state.key.tag("session csrf", session_id)
}

/// Constant-time comparison of a submitted CSRF token with the expected one.
pub fn csrf_matches(expected: &str, submitted: &str) -> bool {
    !expected.is_empty() && bool::from(expected.as_bytes().ct_eq(submitted.as_bytes()))
}

fn ttl(state: &AppState) -> Duration {
    Duration::try_from(state.settings.session_ttl).unwrap_or(Duration::hours(12))
}

/// An HttpOnly cookie for the whole site, `Secure` when Muster is reached
/// over https.
pub fn site_cookie(
    state: &AppState,
    name: &'static str,
    value: String,
    same_site: SameSite,
) -> Cookie<'static> {
    Cookie::build((name, value))
        .path("/")
        .http_only(true)
        .secure(state.settings.secure_cookies())
        .same_site(same_site)
        .build()
}

fn session_cookie(state: &AppState, value: String) -> Cookie<'static> {
    site_cookie(state, COOKIE, value, SameSite::Lax)
}

/// A cookie that removes the session cookie.
pub fn removal_cookie(state: &AppState) -> Cookie<'static> {
    let mut cookie = session_cookie(state, String::new());
    cookie.make_removal();
    cookie
}

/// The double-submit cookie for a form shown before sign-in.
pub fn form_cookie(state: &AppState, value: String) -> Cookie<'static> {
    site_cookie(state, FORM_COOKIE, value, SameSite::Strict)
}
