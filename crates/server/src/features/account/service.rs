//! One's own account: forgotten password (a single-use link by mail), a new
//! password, and the sessions signed in as oneself. No HTTP here.

use crate::error::{AppError, AppResult};
use crate::features::audit_log::service as audit;
use crate::features::auth::caller::{Caller, Via};
use crate::features::auth::service::confirm_password;
use crate::features::auth::{password, throttle as sign_in_throttle};
use crate::features::invitations::service::format_time;
use crate::mail::job::queue;
use crate::mail::{greeting, Mail};
use crate::state::AppState;
use muster_domain::audit::AuditAction;
use muster_domain::names::check_new_password;
use muster_domain::{secret, user_agent, Email, Invalid};
use muster_store::users::User;
use muster_store::{password_resets, sessions, throttle, users, StoreError};
use serde::Serialize;
use serde_json::json;
use std::net::IpAddr;
use time::{Duration, OffsetDateTime};
use utoipa::ToSchema;

/// How long a reset link works.
pub const RESET_TTL: Duration = Duration::HOUR;
/// Reset mails asked for one address, and requests from one client address,
/// within [`RESET_WINDOW`]; beyond, 429 (whether or not the account exists).
pub const RESETS_PER_ACCOUNT: i64 = 3;
pub const RESETS_PER_ADDRESS: i64 = 20;
pub const RESET_WINDOW: Duration = Duration::minutes(15);

/// Asks for a reset link: mailed when `email` belongs to an account with a
/// password, and nothing said either way.
pub async fn request_reset(state: &AppState, email: &str, ip: IpAddr) -> AppResult<()> {
    let email = Email::parse(email).map_err(|e| AppError::invalid("email", e.to_string()))?;
    let now = state.now();
    let keys = [
        (format!("reset:{email}"), RESETS_PER_ACCOUNT),
        (format!("reset-ip:{ip}"), RESETS_PER_ADDRESS),
    ];
    {
        let mut conn = state.store.read().await?;
        for (key, max) in &keys {
            if throttle::failures(&mut conn, key, now, RESET_WINDOW).await? >= *max {
                return Err(AppError::Throttled {
                    detail: format!(
                        "too many reset requests; try again in {} minutes",
                        RESET_WINDOW.whole_minutes()
                    ),
                    retry_after_secs: RESET_WINDOW.whole_seconds().unsigned_abs(),
                });
            }
        }
    }
    let mut tx = state.store.begin().await?;
    for (key, _) in &keys {
        throttle::record_failure(&mut tx, key, now, RESET_WINDOW).await?;
    }
    let user = users::find_by_email(&mut tx, &email).await?;
    // An invited person without a password joins through the invite link.
    if let Some(user) = user {
        if users::has_password(&mut tx, user.id).await? {
            let token = secret::generate(&mut rand::rngs::OsRng);
            password_resets::insert(
                &mut tx,
                &secret::hash(&token),
                user.id,
                now,
                now + RESET_TTL,
            )
            .await?;
            let link = format!("{}/reset/{token}", state.settings.public_url());
            queue(&mut tx, &state.key, &reset_mail(&user, &link), now).await?;
        }
    }
    tx.commit().await.map_err(StoreError::from)?;
    Ok(())
}

/// Whether a reset link still works (for the page behind it).
pub async fn reset_link_works(state: &AppState, token: &str) -> AppResult<bool> {
    let mut conn = state.store.read().await?;
    Ok(
        password_resets::find_live(&mut conn, &secret::hash(token), state.now())
            .await?
            .is_some(),
    )
}

pub const RESET_LINK_GONE: &str =
    "this reset link was used already, was replaced by a newer one or has run out; ask for a new one";

/// Sets a new password through a reset link: the link is used up, every
/// session of the person ends, a lockout after failed sign-ins is lifted and
/// a mail tells them. A password that will not do leaves the link working.
pub async fn complete_reset(
    state: &AppState,
    token: &str,
    new_password: &str,
    ip: IpAddr,
) -> AppResult<()> {
    check_new_password(new_password).map_err(|e| AppError::invalid("password", e.to_string()))?;
    if !reset_link_works(state, token).await? {
        return Err(AppError::Gone(RESET_LINK_GONE.into()));
    }
    let hash = password::hash(new_password.to_owned())
        .await
        .map_err(AppError::Internal)?;
    let now = state.now();
    let mut tx = state.store.begin().await?;
    let Some(user_id) = password_resets::take(&mut tx, &secret::hash(token), now).await? else {
        return Err(AppError::Gone(RESET_LINK_GONE.into()));
    };
    let user = users::find(&mut tx, user_id).await?;
    users::set_password_hash(&mut tx, user_id, &hash, now).await?;
    sessions::delete_all_but(&mut tx, user_id, None).await?;
    let email = Email::parse(&user.email).map_or_else(|_| user.email.clone(), |e| e.to_string());
    throttle::clear(&mut tx, &sign_in_throttle::account_key(&email)).await?;
    let after = json!({"how": "reset link"});
    audit::record_everywhere(
        &mut tx,
        user_id,
        AuditAction::PasswordReset,
        &user.email,
        after,
        Some(ip.to_string()),
        now,
    )
    .await?;
    queue(&mut tx, &state.key, &changed_mail(state, &user, now), now).await?;
    tx.commit().await.map_err(StoreError::from)?;
    Ok(())
}

/// Changes the caller's password after checking the current one (wrong
/// guesses count as failed sign-ins, so a borrowed session cannot try many).
/// Every other session ends; returns how many.
pub async fn change_password(
    state: &AppState,
    caller: &Caller,
    current: &str,
    new_password: &str,
    ip: IpAddr,
) -> AppResult<u64> {
    let user = {
        let mut conn = state.store.read().await?;
        users::find(&mut conn, caller.user_id).await?
    };
    let mut invalid = Invalid::default();
    invalid.check("new_password", check_new_password(new_password));
    if new_password == current {
        invalid.push(
            "new_password",
            "choose a password other than the current one",
        );
    }
    if !invalid.is_empty() {
        return Err(AppError::Invalid(invalid));
    }
    confirm_password(state, &user, current, "current_password", ip).await?;
    let hash = password::hash(new_password.to_owned())
        .await
        .map_err(AppError::Internal)?;
    let now = state.now();
    let mut tx = state.store.begin().await?;
    users::set_password_hash(&mut tx, user.id, &hash, now).await?;
    let ended = sessions::delete_all_but(&mut tx, user.id, current_session(caller)).await?;
    password_resets::delete_for_user(&mut tx, user.id).await?;
    audit::record_everywhere(
        &mut tx,
        user.id,
        AuditAction::PasswordChanged,
        &user.email,
        json!({"how": "current password", "other_sessions_ended": ended}),
        Some(ip.to_string()),
        now,
    )
    .await?;
    queue(&mut tx, &state.key, &changed_mail(state, &user, now), now).await?;
    tx.commit().await.map_err(StoreError::from)?;
    Ok(ended)
}

/// The session the caller uses, if they came with one (not a token).
fn current_session(caller: &Caller) -> Option<&str> {
    match &caller.via {
        Via::Session { id_hash, .. } => Some(id_hash),
        _ => None,
    }
}

/// One of the caller's sessions.
#[derive(Debug, Serialize, ToSchema)]
pub struct SessionView {
    /// Names the session in `DELETE /me/sessions/{id}`.
    pub id: String,
    /// The browser and system, in a few words ("Firefox on Linux").
    pub browser: String,
    /// The address it signed in from.
    pub address: String,
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub created_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub last_seen_at: OffsetDateTime,
    /// The session this request came with.
    pub current: bool,
}

pub async fn list_sessions(state: &AppState, caller: &Caller) -> AppResult<Vec<SessionView>> {
    let mut conn = state.store.read().await?;
    let current = current_session(caller);
    Ok(
        sessions::list_for_user(&mut conn, caller.user_id, state.now())
            .await?
            .into_iter()
            .map(|s| SessionView {
                current: current == Some(s.id_hash.as_str()),
                browser: user_agent::describe(&s.origin.user_agent),
                address: s.origin.ip,
                id: s.origin.public_id,
                created_at: s.created_at,
                last_seen_at: s.last_seen_at,
            })
            .collect(),
    )
}

/// Ends one of the caller's sessions (the current one too, if they ask).
pub async fn end_session(state: &AppState, caller: &Caller, id: &str) -> AppResult<()> {
    let mut conn = state.store.write().await?;
    if sessions::delete_by_public_id(&mut conn, caller.user_id, id).await? {
        Ok(())
    } else {
        Err(AppError::NotFound)
    }
}

/// Ends every session of the caller but the one in use; returns how many.
pub async fn end_other_sessions(state: &AppState, caller: &Caller) -> AppResult<u64> {
    let mut conn = state.store.write().await?;
    Ok(sessions::delete_all_but(&mut conn, caller.user_id, current_session(caller)).await?)
}

fn reset_mail(user: &User, link: &str) -> Mail {
    Mail {
        to: user.email.clone(),
        subject: "Reset your Muster password".into(),
        text: format!(
            "{}\n\nsomeone, hopefully you, asked to reset the password of your Muster \
             account {}. Open this link within an hour to choose a new one:\n\n{link}\n\n\
             The link works once. If you did not ask for it, ignore this mail: your \
             password stays as it is.\n",
            greeting(&user.first_name),
            user.email
        ),
        html: None,
    }
}

fn changed_mail(state: &AppState, user: &User, now: OffsetDateTime) -> Mail {
    Mail {
        to: user.email.clone(),
        subject: "Your Muster password was changed".into(),
        text: format!(
            "{}\n\nthe password of your Muster account {} was changed on {}. Your \
             other sessions were signed out.\n\nIf you did not change it, reset it now \
             and tell your administrator: {}/reset\n",
            greeting(&user.first_name),
            user.email,
            format_time(now),
            state.settings.public_url()
        ),
        html: None,
    }
}
