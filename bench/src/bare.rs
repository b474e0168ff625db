//! The baseline: a bare axum server answering `GET /api/v1/me` with a fixed JSON
//! body as long as Muster's, in its own process (as Muster is), so the ratio
//! says what authentication and the database cost.

use axum::http::header;
use axum::routing::get;
use axum::Router;

pub async fn serve(port: u16, body_len: usize) -> anyhow::Result<()> {
    // A JSON string of the requested length: {"pad":"xxx…"}.
    let padding = body_len.saturating_sub(r#"{"pad":""}"#.len());
    let body = format!(r#"{{"pad":"{}"}}"#, "x".repeat(padding));
    let app = Router::new().route(
        "/api/v1/me",
        get(move || {
            let body = body.clone();
            async move { ([(header::CONTENT_TYPE, "application/json")], body) }
        }),
    );
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", port)).await?;
    axum::serve(listener, app).await?;
    Ok(())
}
