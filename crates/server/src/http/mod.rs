//! The HTTP surface: REST API, web UI, health checks, and the layers around
//! them (security headers, problem+json for every bare error, tracing).

pub mod api;
pub mod contract;
pub mod extract;
pub mod health;
pub mod problem;
pub mod serve;
pub mod ui;

use crate::error::AppError;
use crate::state::AppState;
use axum::body::Body;
use axum::extract::Request;
use axum::http::{header, HeaderValue, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::Router;
use problem::{problem_response, Problem, PROBLEM_JSON};
use tower_http::set_header::SetResponseHeaderLayer;
use tower_http::trace::TraceLayer;

const CSP: &str = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; \
                   connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

pub fn app(state: AppState) -> Router {
    // Browsers keep to https for a year once they reached Muster over it.
    let https = state.settings.public_url().starts_with("https://");
    let (api, _) = api::router();
    let api = api
        .fallback(|| async { AppError::NotFound })
        .layer(middleware::from_fn(problem_for_bare_errors));
    let app = Router::new()
        .route("/healthz", axum::routing::get(health::healthz))
        .route("/readyz", axum::routing::get(health::readyz))
        .nest("/api/v1", api)
        .merge(ui::router().layer(middleware::from_fn_with_state(
            state.clone(),
            ui::flash::layer,
        )))
        .fallback(ui::shell::not_found)
        .with_state(state)
        .layer(axum::extract::DefaultBodyLimit::max(extract::BODY_LIMIT))
        .layer(SetResponseHeaderLayer::if_not_present(
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static(CSP),
        ))
        .layer(SetResponseHeaderLayer::if_not_present(
            header::X_CONTENT_TYPE_OPTIONS,
            HeaderValue::from_static("nosniff"),
        ))
        .layer(SetResponseHeaderLayer::if_not_present(
            header::REFERRER_POLICY,
            HeaderValue::from_static("same-origin"),
        ))
        .layer(SetResponseHeaderLayer::if_not_present(
            header::X_FRAME_OPTIONS,
            HeaderValue::from_static("DENY"),
        ))
        // Pages and API answers are a person's own and may show a secret (a
        // new token, a device token): no cache keeps them. Static files set
        // their own.
        .layer(SetResponseHeaderLayer::if_not_present(
            header::CACHE_CONTROL,
            HeaderValue::from_static("no-store"),
        ));
    let app = if https {
        app.layer(SetResponseHeaderLayer::overriding(
            header::STRICT_TRANSPORT_SECURITY,
            HeaderValue::from_static("max-age=31536000"),
        ))
    } else {
        app
    };
    app.layer(TraceLayer::new_for_http().make_span_with(|request: &Request<Body>| {
            // The path only (query strings may carry cursors and searches), with
            // secrets in it masked.
            tracing::info_span!("http", method = %request.method(), path = %loggable_path(request.uri().path()))
        }))
}

/// Errors that axum produces itself (405, 413, a rejection we did not map) come
/// as plain text or empty; clients of the API always get problem+json.
async fn problem_for_bare_errors(request: Request, next: Next) -> Response {
    let response = next.run(request).await;
    let status = response.status();
    if !(status.is_client_error() || status.is_server_error()) {
        return response;
    }
    let is_problem = response
        .headers()
        .get(header::CONTENT_TYPE)
        .is_some_and(|v| v.as_bytes().starts_with(PROBLEM_JSON.as_bytes()));
    if is_problem {
        return response;
    }
    let (parts, body) = response.into_parts();
    let text = axum::body::to_bytes(body, 4096)
        .await
        .map(|b| String::from_utf8_lossy(&b).trim().to_owned())
        .unwrap_or_default();
    let title = status.canonical_reason().unwrap_or("Error").to_owned();
    let detail = if text.is_empty() {
        match status {
            StatusCode::METHOD_NOT_ALLOWED => "this method is not allowed on this path".to_owned(),
            _ => title.to_lowercase(),
        }
    } else {
        text
    };
    let problem = Problem {
        kind: format!("/problems/http-{}", status.as_u16()),
        title,
        status: status.as_u16(),
        detail,
        errors: None,
        mfa_required: None,
    };
    let mut fixed = problem_response(status, &problem);
    for (name, value) in parts.headers.iter() {
        if name == header::ALLOW || name == header::RETRY_AFTER {
            fixed.headers_mut().insert(name.clone(), value.clone());
        }
    }
    fixed.into_response()
}

/// Paths whose next segment is a secret (a setup or invite token).
const SECRET_SEGMENT_AFTER: &[&str] = &[
    "/setup/",
    "/invite/",
    "/api/v1/invitations/",
    "/reset/",
    "/api/v1/auth/password-reset/",
    "/email-confirm/",
    "/api/v1/auth/email-confirm/",
];

/// `path` with any token in it replaced by `…`, for logs.
pub fn loggable_path(path: &str) -> std::borrow::Cow<'_, str> {
    for prefix in SECRET_SEGMENT_AFTER {
        if let Some(rest) = path.strip_prefix(prefix) {
            let tail = rest.find('/').map_or("", |at| &rest[at..]);
            return format!("{prefix}…{tail}").into();
        }
    }
    path.into()
}

#[cfg(test)]
mod tests {
    use super::loggable_path;

    #[test]
    fn tokens_never_reach_the_log() {
        assert_eq!(loggable_path("/setup/abc123"), "/setup/…");
        assert_eq!(loggable_path("/invite/abc123"), "/invite/…");
        assert_eq!(
            loggable_path("/api/v1/invitations/abc123/accept"),
            "/api/v1/invitations/…/accept"
        );
        assert_eq!(loggable_path("/reset/abc123"), "/reset/…");
        assert_eq!(
            loggable_path("/api/v1/auth/password-reset/abc123"),
            "/api/v1/auth/password-reset/…"
        );
        assert_eq!(loggable_path("/email-confirm/abc123"), "/email-confirm/…");
        assert_eq!(
            loggable_path("/api/v1/auth/email-confirm/abc123"),
            "/api/v1/auth/email-confirm/…"
        );
        assert_eq!(loggable_path("/reset"), "/reset");
        assert_eq!(loggable_path("/orgs/x/users"), "/orgs/x/users");
    }
}
