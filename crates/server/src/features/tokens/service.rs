//! Personal access tokens as their owner manages them. Every change, and the
//! (coalesced) use of a token, is written to the audit log of each organization
//! its owner belongs to, since the token can act in all of them.

use crate::error::{AppError, AppResult};
use crate::features::audit_log::service as audit;
use crate::state::AppState;
use muster_domain::token::PatSecret;
use muster_domain::AuditAction;
use muster_domain::{names, token, Invalid, TokenId, UserId};
use muster_store::tokens::{self, NewToken, Token};
use muster_store::{Conn, StoreError};
use serde_json::json;
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

/// More than this many tokens per person is a sign of a leak, not of use.
pub const MAX_PER_USER: usize = 50;

/// The display name rules of a token.
pub fn check_name(raw: &str) -> Result<String, Invalid> {
    names::required_text(raw, names::NAME_MAX).map_err(|e| Invalid::field("name", e.to_string()))
}

/// Creates a token; the secret is in the answer and nowhere else.
pub async fn create(
    state: &AppState,
    user_id: UserId,
    raw_name: &str,
    ip: Option<String>,
) -> AppResult<(token::PatSecret, Token)> {
    let name = check_name(raw_name)?;
    let mut tx = state.store.begin().await?;
    if tokens::list_for_user(&mut tx, user_id).await?.len() >= MAX_PER_USER {
        return Err(AppError::Conflict(format!(
            "you already have {MAX_PER_USER} tokens; delete one you no longer use first"
        )));
    }
    let (secret, created) = issue(&mut tx, state, user_id, &name).await?;
    record(
        &mut tx,
        user_id,
        AuditAction::TokenCreated,
        &created,
        ip,
        state.now(),
    )
    .await?;
    tx.commit().await.map_err(StoreError::from)?;
    Ok((secret, created))
}

/// Creates a token for `user_id`; the secret is returned once and never stored.
pub async fn issue(
    conn: &mut Conn,
    state: &AppState,
    user_id: UserId,
    name: &str,
) -> AppResult<(PatSecret, Token)> {
    let secret = PatSecret::generate(&mut rand::rngs::OsRng);
    let now = state.now();
    let record = tokens::insert(
        conn,
        NewToken {
            user_id,
            name,
            prefix: secret.display_prefix(),
            token_hash: &secret.hash(),
            lease_expires_at: token::initial_lease(now),
        },
        now,
    )
    .await?;
    Ok((secret, record))
}

/// One of the caller's own tokens; anybody else's is 404.
pub async fn find(state: &AppState, user_id: UserId, id: TokenId) -> AppResult<Token> {
    let mut conn = state.store.read().await?;
    tokens::find_for_user(&mut conn, user_id, id)
        .await?
        .ok_or(AppError::NotFound)
}

/// "Extend lease": two more weeks from the current lease (from now if it
/// already ran out).
pub async fn extend(
    state: &AppState,
    user_id: UserId,
    id: TokenId,
    ip: Option<String>,
) -> AppResult<Token> {
    let now = state.now();
    let mut tx = state.store.begin().await?;
    let mut found = tokens::find_for_user(&mut tx, user_id, id)
        .await?
        .ok_or(AppError::NotFound)?;
    found.lease_expires_at = token::lease_after_extend(found.lease_expires_at, now);
    tokens::set_lease(&mut tx, id, found.lease_expires_at).await?;
    record(
        &mut tx,
        user_id,
        AuditAction::TokenExtended,
        &found,
        ip,
        now,
    )
    .await?;
    tx.commit().await.map_err(StoreError::from)?;
    state.token_cache.forget(id);
    Ok(found)
}

pub async fn delete(
    state: &AppState,
    user_id: UserId,
    id: TokenId,
    ip: Option<String>,
) -> AppResult<()> {
    let mut tx = state.store.begin().await?;
    let found = tokens::find_for_user(&mut tx, user_id, id)
        .await?
        .ok_or(AppError::NotFound)?;
    tokens::delete(&mut tx, id).await?;
    record(
        &mut tx,
        user_id,
        AuditAction::TokenDeleted,
        &found,
        ip,
        state.now(),
    )
    .await?;
    tx.commit().await.map_err(StoreError::from)?;
    state.token_cache.forget(id);
    Ok(())
}

/// Writes `action` on `token` to the audit log of every organization of its
/// owner. The secret never is part of it: only the name and the prefix.
pub async fn record(
    conn: &mut Conn,
    user_id: UserId,
    action: AuditAction,
    token: &Token,
    ip: Option<String>,
    now: OffsetDateTime,
) -> AppResult<()> {
    let target = format!("token \"{}\" ({}…)", token.name, token.prefix);
    let after = json!({
        "name": token.name,
        "prefix": token.prefix,
        "lease_expires_at": token.lease_expires_at.format(&Rfc3339).unwrap_or_default(),
    });
    audit::record_everywhere(conn, user_id, action, &target, after, ip, now).await
}
