//! Extractors for API handlers. Every rejection is an [`ApiError`], so clients
//! always get problem+json, never axum's plain-text defaults.

use crate::auth::{self, session, Caller, Via};
use crate::http::error::{ApiError, ApiResult};
use crate::state::AppState;
use axum::body::Bytes;
use axum::extract::{ConnectInfo, FromRequest, FromRequestParts, Request};
use axum::http::{header, request::Parts, Method};
use axum_extra::extract::CookieJar;
use muster_domain::permission::{self, Capability, Grant};
use muster_domain::{MembershipStatus, OrgId, OrgRole};
use muster_store::memberships;
use serde::de::DeserializeOwned;
use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};

/// A JSON body: 415 without a JSON content type, 400 for broken JSON, 422 naming
/// the field for JSON of the wrong shape.
pub struct AppJson<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for AppJson<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, ApiError> {
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
            return Err(ApiError::UnsupportedMediaType(
                "send the body as JSON with Content-Type: application/json".into(),
            ));
        }
        let bytes = Bytes::from_request(req, state).await.map_err(|rejection| {
            if rejection.status() == axum::http::StatusCode::PAYLOAD_TOO_LARGE {
                ApiError::PayloadTooLarge(format!(
                    "the body is larger than {} KiB",
                    crate::http::BODY_LIMIT / 1024
                ))
            } else {
                ApiError::BadRequest(format!(
                    "could not read the body: {}",
                    rejection.body_text()
                ))
            }
        })?;
        parse_json(&bytes).map(AppJson)
    }
}

pub fn parse_json<T: DeserializeOwned>(bytes: &[u8]) -> ApiResult<T> {
    let mut deserializer = serde_json::Deserializer::from_slice(bytes);
    let value = serde_path_to_error::deserialize(&mut deserializer).map_err(|error| {
        let path = error.path().to_string();
        let inner = error.into_inner();
        match inner.classify() {
            serde_json::error::Category::Data => {
                let field = if path == "." { "body".to_owned() } else { path };
                ApiError::invalid(&field, strip_position(&inner.to_string()))
            }
            _ => ApiError::BadRequest(format!("the body is not valid JSON: {inner}")),
        }
    })?;
    deserializer
        .end()
        .map_err(|e| ApiError::BadRequest(format!("the body is not valid JSON: {e}")))?;
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
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, ApiError> {
        let query = parts.uri.query().unwrap_or_default();
        serde_urlencoded_from_str(query).map(AppQuery)
    }
}

fn serde_urlencoded_from_str<T: DeserializeOwned>(query: &str) -> ApiResult<T> {
    axum::extract::Query::<T>::try_from_uri(
        &format!("/?{query}")
            .parse()
            .map_err(|_| ApiError::BadRequest("the query string is malformed".into()))?,
    )
    .map(|q| q.0)
    .map_err(|e| ApiError::BadRequest(format!("the query string is not valid: {}", e.body_text())))
}

/// The client's address, for throttling.
pub struct ClientIp(pub IpAddr);

impl<S: Send + Sync> FromRequestParts<S> for ClientIp {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, ApiError> {
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
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        if let Some(cached) = parts.extensions.get::<Caller>() {
            return Ok(cached.clone());
        }
        let caller = authenticate(parts, state).await?;
        parts.extensions.insert(caller.clone());
        Ok(caller)
    }
}

async fn authenticate(parts: &Parts, state: &AppState) -> ApiResult<Caller> {
    if let Some(value) = parts.headers.get(header::AUTHORIZATION) {
        let value = value.to_str().map_err(|_| {
            ApiError::Unauthorized("the Authorization header is not readable".into())
        })?;
        let token = value.strip_prefix("Bearer ").ok_or_else(|| {
            ApiError::Unauthorized("use Authorization: Bearer <personal access token>".into())
        })?;
        let ClientIp(ip) = ClientIp::from_parts(parts);
        return auth::pat::authenticate(state, token, ip).await;
    }
    let jar = CookieJar::from_headers(&parts.headers);
    let Some(cookie) = jar.get(session::COOKIE) else {
        return Err(ApiError::Unauthorized(
            "sign in, or send Authorization: Bearer <personal access token>".into(),
        ));
    };
    let caller = session::resolve(state, cookie.value())
        .await?
        .ok_or_else(|| ApiError::Unauthorized("your session has ended; sign in again".into()))?;
    if changes_state(&parts.method) {
        if let Via::Session { csrf_token, .. } = &caller.via {
            let submitted = parts
                .headers
                .get("x-csrf-token")
                .and_then(|v| v.to_str().ok())
                .unwrap_or_default();
            if !session::csrf_matches(csrf_token, submitted) {
                return Err(ApiError::Forbidden(
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

/// An active member of the organization named in the path (`{org}`). A
/// non-member gets 404, as if the organization did not exist.
#[derive(Debug, Clone)]
pub struct OrgMember {
    pub caller: Caller,
    pub org_id: OrgId,
    pub role: OrgRole,
    pub ip: IpAddr,
}

impl OrgMember {
    /// The member as the author of a change, for the audit log.
    pub async fn actor(&self, conn: &mut muster_store::Conn) -> ApiResult<crate::audit::Actor> {
        crate::audit::Actor::load(
            conn,
            self.caller.user_id,
            self.role,
            Some(self.ip.to_string()),
        )
        .await
    }

    /// The reach of `capability` for this member, or 403 if none.
    pub fn require(&self, capability: Capability) -> ApiResult<Grant> {
        match permission::grant(self.role, capability) {
            Grant::No => Err(ApiError::forbidden_role()),
            grant => Ok(grant),
        }
    }
}

impl FromRequestParts<AppState> for OrgMember {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let caller = Caller::from_request_parts(parts, state).await?;
        let ClientIp(ip) = ClientIp::from_request_parts(parts, state).await?;
        let params =
            axum::extract::Path::<HashMap<String, String>>::from_request_parts(parts, state)
                .await
                .map_err(|_| ApiError::NotFound)?;
        let org_id: OrgId = params
            .0
            .get("org")
            .and_then(|raw| raw.parse().ok())
            .ok_or(ApiError::NotFound)?;
        let membership = {
            let mut conn = state.store.read().await?;
            memberships::find(&mut conn, org_id, caller.user_id).await?
        };
        let membership = membership.ok_or(ApiError::NotFound)?;
        match membership.status {
            MembershipStatus::Active => Ok(OrgMember {
                caller,
                org_id,
                role: membership.role,
                ip,
            }),
            MembershipStatus::Disabled => Err(ApiError::Forbidden(
                "your membership in this organization is disabled".into(),
            )),
            MembershipStatus::Invited => Err(ApiError::NotFound),
        }
    }
}
