//! Sign-in throttling: after too many failures for one account or from one
//! address within the window, sign-in answers 429 until the window passes.

use crate::error::{AppError, AppResult};
use crate::features::audit_log::service as audit;
use crate::state::AppState;
use muster_domain::{AuditAction, Email, UserId};
use muster_store::throttle;
use serde_json::json;
use std::net::IpAddr;
use time::Duration;

pub const WINDOW: Duration = Duration::minutes(15);
pub const MAX_PER_ACCOUNT: i64 = 5;
pub const MAX_PER_ADDRESS: i64 = 50;

/// The counter of an account's failed sign-ins (a reset lifts its lockout).
pub fn account_key(email: &str) -> String {
    format!("account:{email}")
}

fn keys(email: &Email, ip: IpAddr) -> [(String, i64); 2] {
    [
        (account_key(&email.to_string()), MAX_PER_ACCOUNT),
        (format!("ip:{ip}"), MAX_PER_ADDRESS),
    ]
}

/// Refuses the attempt if either counter is full.
pub async fn check(state: &AppState, email: &Email, ip: IpAddr) -> AppResult<()> {
    let now = state.now();
    let mut conn = state.store.read().await?;
    for (key, max) in keys(email, ip) {
        if throttle::failures(&mut conn, &key, now, WINDOW).await? >= max {
            return Err(AppError::Throttled {
                detail: format!(
                    "too many failed sign-in attempts; try again in {} minutes",
                    WINDOW.whole_minutes()
                ),
                retry_after_secs: WINDOW.whole_seconds().unsigned_abs(),
            });
        }
    }
    Ok(())
}

/// Counts a failed sign-in. When the email is someone's (`user`), the failure
/// goes into the audit log of each of their organizations, and so does the
/// lockout the failure starts; at most [`MAX_PER_ACCOUNT`] of them a window,
/// since a locked account's attempts are refused before they count.
pub async fn record_failure(
    state: &AppState,
    email: &Email,
    ip: IpAddr,
    user: Option<UserId>,
) -> AppResult<()> {
    let now = state.now();
    let mut tx = state.store.begin().await?;
    let mut account_failures = 0;
    for (key, max) in keys(email, ip) {
        let failures = throttle::record_failure(&mut tx, &key, now, WINDOW).await?;
        if max == MAX_PER_ACCOUNT {
            account_failures = failures;
        }
    }
    if let Some(user) = user {
        let ip = Some(ip.to_string());
        let target = email.to_string();
        let failed = json!({"failures": account_failures, "of": MAX_PER_ACCOUNT});
        audit::record_everywhere(
            &mut tx,
            user,
            AuditAction::SignInFailed,
            &target,
            failed,
            ip.clone(),
            now,
        )
        .await?;
        if account_failures == MAX_PER_ACCOUNT {
            let until = crate::features::logs::views::rfc3339(now + WINDOW);
            let locked = json!({"locked_until": until});
            audit::record_everywhere(
                &mut tx,
                user,
                AuditAction::AccountLocked,
                &target,
                locked,
                ip,
                now,
            )
            .await?;
        }
    }
    tx.commit().await.map_err(muster_store::StoreError::from)?;
    Ok(())
}

/// A successful sign-in forgives the account's earlier failures.
pub async fn record_success(state: &AppState, email: &Email) -> AppResult<()> {
    let mut conn = state.store.write().await?;
    throttle::clear(&mut conn, &account_key(&email.to_string())).await?;
    Ok(())
}
