//! `/api/v1/me/tokens`: the caller's personal access tokens.

use crate::error::AppResult;
use crate::features::auth::caller::Caller;
use crate::features::tokens::service as tokens;
use crate::http::extract::{AppJson, ClientIp};
use crate::http::problem::Problem;
use crate::state::AppState;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;
use muster_domain::TokenId;
use muster_store::tokens::Token;
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use utoipa::ToSchema;

/// A token as its owner sees it in lists: never the secret.
#[derive(Debug, Serialize, ToSchema)]
pub struct TokenView {
    pub id: TokenId,
    pub name: String,
    /// The first characters of the secret, to recognize it.
    pub prefix: String,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339::option")]
    pub last_used_at: Option<OffsetDateTime>,
    /// After this the token is refused; each use keeps at least 14 days.
    #[serde(with = "time::serde::rfc3339")]
    pub lease_expires_at: OffsetDateTime,
}

impl From<Token> for TokenView {
    fn from(token: Token) -> Self {
        TokenView {
            id: token.id,
            name: token.name,
            prefix: token.prefix,
            created_at: token.created_at,
            last_used_at: token.last_used_at,
            lease_expires_at: token.lease_expires_at,
        }
    }
}

/// A new token, with its secret: shown this once, stored only as a hash.
#[derive(Debug, Serialize, ToSchema)]
pub struct CreatedTokenView {
    #[serde(flatten)]
    pub view: TokenView,
    /// The secret, `mst_pat_…`: send it as `Authorization: Bearer <token>`.
    pub token: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct TokenList {
    pub items: Vec<TokenView>,
    /// Always null: a person has at most 50 tokens, one page.
    pub next_cursor: Option<String>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewTokenRequest {
    /// What the token is for, e.g. "CI pipeline".
    #[schema(min_length = 1, max_length = 100, pattern = r"\S")]
    pub name: String,
}

/// Your tokens, newest first.
#[utoipa::path(get, path = "/me/tokens", tag = "me",
    responses((status = 200, body = TokenList), (status = 401, body = Problem)))]
pub async fn list_tokens(
    State(state): State<AppState>,
    caller: Caller,
) -> AppResult<Json<TokenList>> {
    let mut conn = state.store.read().await?;
    let items = muster_store::tokens::list_for_user(&mut conn, caller.user_id).await?;
    Ok(Json(TokenList {
        items: items.into_iter().map(TokenView::from).collect(),
        next_cursor: None,
    }))
}

/// Create a token. Its secret is in this answer only.
#[utoipa::path(post, path = "/me/tokens", tag = "me", request_body = NewTokenRequest,
    responses((status = 201, body = CreatedTokenView), (status = 401, body = Problem),
              (status = 409, body = Problem, description = "Too many tokens"),
              (status = 422, body = Problem)))]
pub async fn create_token(
    State(state): State<AppState>,
    caller: Caller,
    ClientIp(ip): ClientIp,
    AppJson(request): AppJson<NewTokenRequest>,
) -> AppResult<(StatusCode, Json<CreatedTokenView>)> {
    let (secret, token) =
        tokens::create(&state, caller.user_id, &request.name, Some(ip.to_string())).await?;
    Ok((
        StatusCode::CREATED,
        Json(CreatedTokenView {
            view: token.into(),
            token: secret.expose().to_owned(),
        }),
    ))
}

/// Move the token's lease 14 days further.
#[utoipa::path(post, path = "/me/tokens/{id}/extend", tag = "me",
    params(("id" = TokenId, Path, description = "The token's id")),
    responses((status = 200, body = TokenView), (status = 401, body = Problem),
              (status = 404, body = Problem)))]
pub async fn extend_token(
    State(state): State<AppState>,
    caller: Caller,
    ClientIp(ip): ClientIp,
    Path(id): Path<String>,
) -> AppResult<Json<TokenView>> {
    let id = parse_id(&id)?;
    let token = tokens::extend(&state, caller.user_id, id, Some(ip.to_string())).await?;
    Ok(Json(token.into()))
}

/// Delete the token: it stops working at once.
#[utoipa::path(delete, path = "/me/tokens/{id}", tag = "me",
    params(("id" = TokenId, Path, description = "The token's id")),
    responses((status = 204), (status = 401, body = Problem), (status = 404, body = Problem)))]
pub async fn delete_token(
    State(state): State<AppState>,
    caller: Caller,
    ClientIp(ip): ClientIp,
    Path(id): Path<String>,
) -> AppResult<StatusCode> {
    let id = parse_id(&id)?;
    tokens::delete(&state, caller.user_id, id, Some(ip.to_string())).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// An id that is not even well-formed names no token of yours: 404.
fn parse_id(raw: &str) -> AppResult<TokenId> {
    raw.parse().map_err(|_| crate::error::AppError::NotFound)
}
