//! Extractors for API handlers. Every rejection is an [`AppError`], so clients
//! always get problem+json, never axum's plain-text defaults.

use crate::error::{AppError, AppResult};
use crate::features::auth::caller::{Caller, Via};
use crate::features::auth::session;
use crate::features::devices::service as devices;
use crate::features::tokens::bearer;
use crate::http::problem::Rejection;
use crate::scope::OrgScope;
use crate::state::AppState;
use axum::body::Bytes;
use axum::extract::{ConnectInfo, FromRequest, FromRequestParts, Request};
use axum::http::{header, request::Parts, Method};
use axum_extra::extract::CookieJar;
use muster_domain::token::DEVICE_PREFIX;
use muster_domain::OrgId;
use serde::de::DeserializeOwned;
use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};

/// Request bodies larger than this are refused with 413 (bulk uploads have
/// their own limit).
pub const BODY_LIMIT: usize = 1024 * 1024;

/// A JSON body: 415 without a JSON content type, 400 for broken JSON, 422 naming
/// the field for JSON of the wrong shape.
pub struct AppJson<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for AppJson<T> {
    type Rejection = Rejection;

    async fn from_request(req: Request, state: &S) -> Result<Self, Rejection> {
        let is_json = req
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.split(';').next())
            .map(|mime| {
                let mime = mime.trim();
                mime == "application/json"
                    || (mime.starts_with("application/") && mime.ends_with("+json"))
            })
            .unwrap_or(false);
        if !is_json {
            return Err(Rejection::UnsupportedMediaType(
                "send the body as JSON with Content-Type: application/json".into(),
            ));
        }
        let bytes = Bytes::from_request(req, state).await.map_err(|rejection| {
            if rejection.status() == axum::http::StatusCode::PAYLOAD_TOO_LARGE {
                AppError::TooLarge(format!("the body is larger than {} KiB", BODY_LIMIT / 1024))
            } else {
                AppError::Malformed(format!(
                    "could not read the body: {}",
                    rejection.body_text()
                ))
            }
        })?;
        Ok(parse_json(&bytes).map(AppJson)?)
    }
}

pub fn parse_json<T: DeserializeOwned>(bytes: &[u8]) -> AppResult<T> {
    let mut deserializer = serde_json::Deserializer::from_slice(bytes);
    let value = serde_path_to_error::deserialize(&mut deserializer).map_err(|error| {
        let path = error.path().to_string();
        let inner = error.into_inner();
        match inner.classify() {
            serde_json::error::Category::Data => {
                let field = if path == "." { "body".to_owned() } else { path };
                AppError::invalid(&field, strip_position(&inner.to_string()))
            }
            _ => AppError::Malformed(format!("the body is not valid JSON: {inner}")),
        }
    })?;
    deserializer
        .end()
        .map_err(|e| AppError::Malformed(format!("the body is not valid JSON: {e}")))?;
    Ok(value)
}

fn strip_position(message: &str) -> String {
    match message.find(" at line ") {
        Some(at) => message[..at].to_owned(),
        None => message.to_owned(),
    }
}

/// Query parameters; a malformed query is 400 naming the problem.
pub struct AppQuery<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequestParts<S> for AppQuery<T> {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, AppError> {
        let query = parts.uri.query().unwrap_or_default();
        serde_urlencoded_from_str(query).map(AppQuery)
    }
}

fn serde_urlencoded_from_str<T: DeserializeOwned>(query: &str) -> AppResult<T> {
    axum::extract::Query::<T>::try_from_uri(
        &format!("/?{query}")
            .parse()
            .map_err(|_| AppError::Malformed("the query string is malformed".into()))?,
    )
    .map(|q| q.0)
    .map_err(|e| AppError::Malformed(format!("the query string is not valid: {}", e.body_text())))
}

/// The client's address, for throttling.
pub struct ClientIp(pub IpAddr);

impl<S: Send + Sync> FromRequestParts<S> for ClientIp {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, AppError> {
        Ok(ClientIp::from_parts(parts))
    }
}

impl ClientIp {
    pub fn from_parts(parts: &Parts) -> Self {
        let ip = parts
            .extensions
            .get::<ConnectInfo<SocketAddr>>()
            .map(|info| info.0.ip())
            .unwrap_or(IpAddr::from([127, 0, 0, 1]));
        ClientIp(ip)
    }
}

/// An authenticated API caller: a bearer token, or a session cookie plus the
/// `X-CSRF-Token` header on every state-changing request.
impl FromRequestParts<AppState> for Caller {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, AppError> {
        if let Some(cached) = parts.extensions.get::<Caller>() {
            return Ok(cached.clone());
        }
        let caller = authenticate(parts, state).await?;
        parts.extensions.insert(caller.clone());
        Ok(caller)
    }
}

/// A caller of the app-facing API (`/api/v1/app/…`): what [`Caller`] accepts,
/// and device tokens (`mst_dev_…`), which work nowhere else.
#[derive(Debug, Clone)]
pub struct AppCaller(pub Caller);

impl FromRequestParts<AppState> for AppCaller {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, AppError> {
        if let Some(token) = bearer_token(parts)?.filter(|t| t.starts_with(DEVICE_PREFIX)) {
            return Ok(AppCaller(devices::authenticate(state, token).await?));
        }
        Caller::from_request_parts(parts, state)
            .await
            .map(AppCaller)
    }
}

fn bearer_token(parts: &Parts) -> AppResult<Option<&str>> {
    let Some(value) = parts.headers.get(header::AUTHORIZATION) else {
        return Ok(None);
    };
    let value = value
        .to_str()
        .map_err(|_| AppError::Unauthorized("the Authorization header is not readable".into()))?;
    // The scheme's name is case-insensitive (RFC 9110 §11.1).
    match value.split_once(' ') {
        Some((scheme, token)) if scheme.eq_ignore_ascii_case("bearer") => {
            Ok(Some(token.trim_start()))
        }
        _ => Err(AppError::Unauthorized(
            "use Authorization: Bearer <personal access token>".into(),
        )),
    }
}

async fn authenticate(parts: &Parts, state: &AppState) -> AppResult<Caller> {
    if let Some(token) = bearer_token(parts)? {
        if token.starts_with(DEVICE_PREFIX) {
            return Err(AppError::Unauthorized(
                "a device token only works on /api/v1/app/…; use a personal access token".into(),
            ));
        }
        let ClientIp(ip) = ClientIp::from_parts(parts);
        return bearer::authenticate(state, token, ip).await;
    }
    let jar = CookieJar::from_headers(&parts.headers);
    let Some(cookie) = jar.get(session::COOKIE) else {
        return Err(AppError::Unauthorized(
            "sign in, or send Authorization: Bearer <personal access token>".into(),
        ));
    };
    let caller = session::resolve(state, cookie.value())
        .await?
        .ok_or_else(|| AppError::Unauthorized("your session has ended; sign in again".into()))?;
    if changes_state(&parts.method) {
        if let Via::Session { csrf_token, .. } = &caller.via {
            let submitted = parts
                .headers
                .get("x-csrf-token")
                .and_then(|v| v.to_str().ok())
                .unwrap_or_default();
            if !session::csrf_matches(csrf_token, submitted) {
                return Err(AppError::Denied(
                    "missing or wrong X-CSRF-Token header (it is returned by POST /api/v1/auth/login)".into(),
                ));
            }
        }
    }
    Ok(caller)
}

pub fn changes_state(method: &Method) -> bool {
    !matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS)
}

/// The member of the organization named in the path (`{org}`); see
/// [`OrgScope::admit`] for who is one.
impl FromRequestParts<AppState> for OrgScope {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> AppResult<Self> {
        let caller = Caller::from_request_parts(parts, state).await?;
        let ClientIp(ip) = ClientIp::from_parts(parts);
        let org_id = org_in_path(parts, state).await.ok_or(AppError::NotFound)?;
        let mut conn = state.store.read().await?;
        let scope =
            OrgScope::resolve_for_management(&mut conn, caller, org_id, ip, state.now()).await?;
        state.api_calls.count(&scope);
        Ok(scope)
    }
}

/// The organization the path names (`/…/orgs/{org}/…`), if it is an id.
pub async fn org_in_path(parts: &mut Parts, state: &AppState) -> Option<OrgId> {
    let params = axum::extract::Path::<HashMap<String, String>>::from_request_parts(parts, state)
        .await
        .ok()?;
    params.0.get("org")?.parse().ok()
}
