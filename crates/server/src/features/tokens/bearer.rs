//! Authenticating `Authorization: Bearer` with a personal access token.

use crate::error::{AppError, AppResult};
use crate::features::auth::caller::{Caller, Via};
use crate::state::AppState;
use muster_domain::token::{self, PatSecret};
use muster_domain::AuditAction;
use muster_store::tokens;
use muster_store::StoreError;
use std::net::IpAddr;
use time::format_description::well_known::Rfc3339;

/// Authenticates a bearer token. A malformed token is refused before any
/// database read, and a token verified in the last second is not read again
/// (see `token_cache.rs`). A use is written (last use, lease, and a
/// `token.used` audit event) at most once a minute per token, whatever the
/// request rate.
pub async fn authenticate(state: &AppState, bearer: &str, ip: IpAddr) -> AppResult<Caller> {
    let secret =
        PatSecret::parse(bearer.trim()).map_err(|e| AppError::Unauthorized(e.to_string()))?;
    let hash = secret.hash();
    let now = state.now();
    let mut token = match state.token_cache.get(&hash, now) {
        Some(token) => token,
        None => {
            let found = {
                let mut conn = state.store.read().await?;
                tokens::find_by_hash(&mut conn, &hash).await?
            };
            let token = found.ok_or_else(|| {
                AppError::Unauthorized("this token is not valid; it may have been deleted".into())
            })?;
            state.token_cache.put(hash.clone(), token.clone(), now);
            token
        }
    };
    if token::is_expired(token.lease_expires_at, now) {
        let when = token.lease_expires_at.format(&Rfc3339).unwrap_or_default();
        return Err(AppError::Unauthorized(format!(
            "this token expired at {when}; extend its lease in My profile or create a new token"
        )));
    }
    if token::usage_write_due(token.last_used_at, now) {
        token.lease_expires_at = token::lease_after_use(token.lease_expires_at, now);
        token.last_used_at = Some(now);
        let mut tx = state.store.begin().await?;
        let wrote = tokens::record_use(
            &mut tx,
            token.id,
            now,
            token.lease_expires_at,
            now - token::USAGE_WRITE_INTERVAL,
        )
        .await?;
        if wrote {
            let ip = Some(ip.to_string());
            super::service::record(
                &mut tx,
                token.user_id,
                AuditAction::TokenUsed,
                &token,
                ip,
                now,
            )
            .await?;
        }
        tx.commit().await.map_err(StoreError::from)?;
        // Read again next time: the use is written, here or by a racing instance.
        state.token_cache.forget_hash(&hash);
    }
    Ok(Caller {
        user_id: token.user_id,
        via: Via::Token { id: token.id },
    })
}
