//! A new email for one's account: asked for with the password, confirmed
//! through a link mailed to the new address (the old one gets a notice), in
//! effect only once confirmed. No HTTP here.

use crate::error::{AppError, AppResult};
use crate::features::audit_log::service as audit;
use crate::features::auth::caller::Caller;
use crate::features::auth::service::confirm_password;
use crate::features::auth::throttle as sign_in_throttle;
use crate::mail::greeting;
use crate::mail::job::queue;
use crate::state::AppState;
use muster_domain::audit::AuditAction;
use muster_domain::{secret, Email};
use muster_store::users::User;
use muster_store::{email_changes, throttle, users, StoreError};
use serde_json::json;
use std::net::IpAddr;
use time::Duration;

/// How long a confirmation link works.
pub const CONFIRM_TTL: Duration = Duration::DAY;
/// Change requests per person within [`REQUEST_WINDOW`]; beyond, 429.
pub const REQUESTS_PER_PERSON: i64 = 5;
pub const REQUEST_WINDOW: Duration = Duration::HOUR;

pub const CONFIRM_LINK_GONE: &str =
    "this confirmation link was used already, was replaced by a newer one or has run out; \
     ask for the change again on My profile";

/// Asks to move the caller's account to `new_email`: checks the password (a
/// wrong one counts as a failed sign-in), and mails a confirmation link to
/// the new address and a notice to the current one. Nothing changes yet.
pub async fn request_change(
    state: &AppState,
    caller: &Caller,
    new_email: &str,
    password_given: &str,
    ip: IpAddr,
) -> AppResult<()> {
    let user = {
        let mut conn = state.store.read().await?;
        users::find(&mut conn, caller.user_id).await?
    };
    let email = Email::parse(new_email).map_err(|e| AppError::invalid("email", e.to_string()))?;
    if email.as_str() == user.email {
        return Err(AppError::invalid("email", "this is your email already"));
    }
    confirm_password(state, &user, password_given, "password", ip).await?;
    let now = state.now();
    let key = format!("email-change:{}", user.id);
    let mut tx = state.store.begin().await?;
    if throttle::failures(&mut tx, &key, now, REQUEST_WINDOW).await? >= REQUESTS_PER_PERSON {
        return Err(AppError::Throttled {
            detail: format!(
                "too many email changes asked for; try again in {} minutes",
                REQUEST_WINDOW.whole_minutes()
            ),
            retry_after_secs: REQUEST_WINDOW.whole_seconds().unsigned_abs(),
        });
    }
    throttle::record_failure(&mut tx, &key, now, REQUEST_WINDOW).await?;
    if users::find_by_email(&mut tx, &email).await?.is_some() {
        return Err(AppError::Conflict("another account has this email".into()));
    }
    let token = secret::generate(&mut rand::rngs::OsRng);
    email_changes::replace(
        &mut tx,
        &secret::hash(&token),
        user.id,
        &email,
        now,
        now + CONFIRM_TTL,
    )
    .await?;
    let base = state.settings.public_url();
    let link = format!("{base}/email-confirm/{token}");
    queue(
        &mut tx,
        &state.key,
        &confirm_mail(&user, &email, &link),
        now,
    )
    .await?;
    queue(&mut tx, &state.key, &notice_mail(&user, &email, &base), now).await?;
    tx.commit().await.map_err(StoreError::from)?;
    Ok(())
}

/// Whether a confirmation link still works, and the address it confirms.
pub async fn pending(state: &AppState, token: &str) -> AppResult<Option<Email>> {
    let mut conn = state.store.read().await?;
    Ok(
        email_changes::find_live(&mut conn, &secret::hash(token), state.now())
            .await?
            .map(|(_, email)| email),
    )
}

/// Confirms a change with its link: the account's email is the new one from
/// now on (sign-in, mails, member lists), the change is in the audit log of
/// each of the person's organizations, and the old address is told. The
/// link stays unused when the address was taken meanwhile (409).
pub async fn confirm(state: &AppState, token: &str, ip: IpAddr) -> AppResult<Email> {
    let now = state.now();
    let hash = secret::hash(token);
    let mut tx = state.store.begin().await?;
    let Some((user_id, email)) = email_changes::find_live(&mut tx, &hash, now).await? else {
        return Err(AppError::Gone(CONFIRM_LINK_GONE.into()));
    };
    let taken = || AppError::Conflict("another account has this email now".into());
    if users::find_by_email(&mut tx, &email).await?.is_some() {
        return Err(taken());
    }
    if email_changes::take(&mut tx, &hash, now).await?.is_none() {
        return Err(AppError::Gone(CONFIRM_LINK_GONE.into()));
    }
    let user = users::find(&mut tx, user_id).await?;
    match users::set_email(&mut tx, user_id, &email, now).await {
        Ok(()) => {}
        Err(StoreError::Conflict(_)) => return Err(taken()),
        Err(other) => return Err(other.into()),
    }
    // The old address's failed sign-ins no longer lock anything.
    throttle::clear(&mut tx, &sign_in_throttle::account_key(&user.email)).await?;
    audit::record_everywhere(
        &mut tx,
        user_id,
        AuditAction::EmailChanged,
        email.as_str(),
        json!({"from": user.email, "to": email.as_str()}),
        Some(ip.to_string()),
        now,
    )
    .await?;
    let base = state.settings.public_url();
    queue(
        &mut tx,
        &state.key,
        &changed_mail(&user, &email, &base),
        now,
    )
    .await?;
    tx.commit().await.map_err(StoreError::from)?;
    Ok(email)
}

fn confirm_mail(user: &User, email: &Email, link: &str) -> crate::mail::Mail {
    crate::mail::Mail {
        to: email.as_str().to_owned(),
        subject: "Confirm your new email for Muster".into(),
        text: format!(
            "{}\n\nyou asked to use this address, {}, for your Muster account (now {}). \
             Open this link within 24 hours to confirm it:\n\n{link}\n\n\
             Until you do, nothing changes. If you did not ask for this, ignore this mail.\n",
            greeting(&user.first_name),
            email,
            user.email,
        ),
        html: None,
    }
}

fn notice_mail(user: &User, email: &Email, base: &str) -> crate::mail::Mail {
    crate::mail::Mail {
        to: user.email.clone(),
        subject: "Your Muster email is about to change".into(),
        text: format!(
            "{}\n\nsomeone signed in as you asked to move your Muster account to {}. \
             It changes only once that address confirms.\n\nIf this was not you, change \
             your password now and tell your administrator: {base}/me/security\n",
            greeting(&user.first_name),
            email,
        ),
        html: None,
    }
}

fn changed_mail(user: &User, email: &Email, base: &str) -> crate::mail::Mail {
    crate::mail::Mail {
        to: user.email.clone(),
        subject: "Your Muster email was changed".into(),
        text: format!(
            "{}\n\nyour Muster account now uses {} instead of this address; sign in with \
             the new one.\n\nIf this was not you, tell your administrator, or reset your \
             password through the new address: {base}/reset\n",
            greeting(&user.first_name),
            email,
        ),
        html: None,
    }
}
