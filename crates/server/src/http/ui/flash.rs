//! What a page says after a form redirected to it ("The role was changed",
//! "The last owner cannot leave"): carried in a short-lived cookie signed
//! with the server key and bound to the page it is for, never in the address,
//! so that nobody can make a Muster page show text of their choosing by
//! sending a link.

use crate::state::AppState;
use axum::extract::{FromRequestParts, Request, State};
use axum::http::request::Parts;
use axum::http::{header, HeaderValue};
use axum::middleware::Next;
use axum::response::{IntoResponse, Redirect, Response};
use axum_extra::extract::cookie::{Cookie, SameSite};
use axum_extra::extract::CookieJar;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use serde::{Deserialize, Serialize};
use std::convert::Infallible;

const COOKIE: &str = "muster_flash";
/// A message longer than this is cut (a cookie holds about 4 KB).
const MESSAGE_MAX: usize = 600;
/// A flash not shown within this long is dropped.
const TTL: time::Duration = time::Duration::minutes(5);

/// The notice and error for the page being shown, if a form left one.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Flash {
    pub notice: Option<String>,
    pub error: Option<String>,
}

#[derive(Serialize, Deserialize)]
struct Sealed {
    /// The path it is shown on.
    path: String,
    at: i64,
    flash: Flash,
}

impl Flash {
    pub fn notice(text: impl Into<String>) -> Flash {
        Flash {
            notice: Some(cut(text.into())),
            error: None,
        }
    }

    pub fn error(text: impl Into<String>) -> Flash {
        Flash {
            notice: None,
            error: Some(cut(text.into())),
        }
    }

    /// A redirect to `to` (a local path, with query and fragment if any)
    /// whose page shows this flash once.
    pub fn redirect(self, state: &AppState, to: &str) -> Response {
        let path = to.split(['?', '#']).next().unwrap_or(to).to_owned();
        let sealed = Sealed {
            path,
            at: state.now().unix_timestamp(),
            flash: self,
        };
        let json = serde_json::to_vec(&sealed)
            .unwrap_or_else(|_| unreachable!("a flash of strings is always JSON"));
        let value = state.key.sign(&URL_SAFE_NO_PAD.encode(json));
        let cookie = cookie(state, value);
        let mut response = Redirect::to(to).into_response();
        if let Ok(header) = HeaderValue::from_str(&cookie.to_string()) {
            response.headers_mut().append(header::SET_COOKIE, header);
        }
        response
    }
}

fn cut(mut text: String) -> String {
    if let Some((at, _)) = text.char_indices().nth(MESSAGE_MAX) {
        text.truncate(at);
        text.push('…');
    }
    text
}

fn cookie(state: &AppState, value: String) -> Cookie<'static> {
    crate::features::auth::session::site_cookie(state, COOKIE, value, SameSite::Lax)
}

/// The flash for the page at `path`, if the cookie holds one we signed, for
/// this page, in the last [`TTL`].
fn read(state: &AppState, jar: &CookieJar, path: &str) -> Option<Flash> {
    let signed = jar.get(COOKIE)?;
    let encoded = state.key.verify(signed.value())?;
    let json = URL_SAFE_NO_PAD.decode(encoded).ok()?;
    let sealed: Sealed = serde_json::from_slice(&json).ok()?;
    let at = time::OffsetDateTime::from_unix_timestamp(sealed.at).ok()?;
    (sealed.path == path && state.now() - at < TTL).then_some(sealed.flash)
}

/// Hands a page its flash and removes the cookie with the page's answer.
pub async fn layer(State(state): State<AppState>, mut request: Request, next: Next) -> Response {
    let jar = CookieJar::from_headers(request.headers());
    if jar.get(COOKIE).is_none() || request.method() != axum::http::Method::GET {
        return next.run(request).await;
    }
    let Some(flash) = read(&state, &jar, request.uri().path()) else {
        return next.run(request).await;
    };
    request.extensions_mut().insert(flash);
    let mut response = next.run(request).await;
    let mut removal = cookie(&state, String::new());
    removal.make_removal();
    if let Ok(header) = HeaderValue::from_str(&removal.to_string()) {
        response.headers_mut().append(header::SET_COOKIE, header);
    }
    response
}

impl<S: Send + Sync> FromRequestParts<S> for Flash {
    type Rejection = Infallible;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Infallible> {
        Ok(parts.extensions.get::<Flash>().cloned().unwrap_or_default())
    }
}
