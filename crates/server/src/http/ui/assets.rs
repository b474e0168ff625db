//! The stylesheet and script, compiled into the binary.

use axum::http::header;
use axum::response::IntoResponse;

const CACHE: &str = "public, max-age=3600";

pub async fn css() -> impl IntoResponse {
    (
        [
            (header::CONTENT_TYPE, "text/css; charset=utf-8"),
            (header::CACHE_CONTROL, CACHE),
        ],
        include_str!("../../../static/app.css"),
    )
}

pub async fn js() -> impl IntoResponse {
    (
        [
            (header::CONTENT_TYPE, "text/javascript; charset=utf-8"),
            (header::CACHE_CONTROL, CACHE),
        ],
        include_str!("../../../static/app.js"),
    )
}

/// The compose form's time zone and the live inbox.
pub async fn notifications_js() -> impl IntoResponse {
    (
        [
            (header::CONTENT_TYPE, "text/javascript; charset=utf-8"),
            (header::CACHE_CONTROL, CACHE),
        ],
        include_str!("../../../static/notifications.js"),
    )
}
